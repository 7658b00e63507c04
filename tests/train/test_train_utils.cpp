// Progress bar formatting, the metrics log and its resume behaviour, the interrupt flag.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "attograd/core/error.h"
#include "attograd/train/interrupt.h"
#include "attograd/train/metrics.h"
#include "attograd/train/progress.h"
#include "tests/test_util.h"

namespace {

namespace fs = std::filesystem;
using ag::train::ProgressBar;

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Progress, Formatting) {
  EXPECT_EQ(ProgressBar::format_duration(83), "1:23");
  EXPECT_EQ(ProgressBar::format_duration(3723), "1:02:03");
  EXPECT_EQ(ProgressBar::format_count(5320), "5,320");
  EXPECT_EQ(ProgressBar::format_count(1234567.4), "1,234,567");
  EXPECT_EQ(ProgressBar::format_count(12), "12");
}

TEST(Progress, PlainLinesWhenNotATerminal) {
  const fs::path p = fs::temp_directory_path() / "attograd-progress.txt";
  std::FILE* f = std::fopen(p.c_str(), "w");
  {
    ProgressBar bar("epoch 1/2", 20, "tok", f);
    for (int i = 1; i <= 20; ++i) bar.update(i, "loss 0.5", i * 100.0);
    bar.finish("val acc 90.0%");
  }
  std::fclose(f);
  const std::string text = read_all(p);
  fs::remove(p);
  EXPECT_EQ(text.find('\r'), std::string::npos);  // no terminal control characters in a log file
  int lines = 0;
  for (char c : text) lines += c == '\n';
  EXPECT_EQ(lines, 12);  // the first step, one per 10% after it, and the summary
  EXPECT_NE(text.find("epoch 1/2 20/20 loss 0.5"), std::string::npos) << text;
  EXPECT_NE(text.find("tok/s"), std::string::npos) << text;
  EXPECT_NE(text.find("done: 20 steps"), std::string::npos) << text;
  EXPECT_NE(text.find("val acc 90.0%"), std::string::npos) << text;
}

TEST(MetricsLog, WritesHeaderAppendsAndTrimsRowsAfterAResumePoint) {
  const fs::path p = fs::temp_directory_path() / "attograd-metrics.csv";
  fs::remove(p);
  {
    ag::train::MetricsLog log(p, {"step", "loss"});
    log.append({100, 0.5});
    log.append({200, 0.25});
    log.append({300, 0.125});
  }
  EXPECT_EQ(read_all(p), "step,loss\n100,0.5\n200,0.25\n300,0.125\n");
  {
    ag::train::MetricsLog resumed(p, {"step", "loss"}, /*resume_step=*/200);  // the checkpoint was at 200
    resumed.append({300, 0.1});
  }
  EXPECT_EQ(read_all(p), "step,loss\n100,0.5\n200,0.25\n300,0.1\n");
  EXPECT_THROW(ag::train::MetricsLog(p, {"epoch", "acc"}), ag::Error);
  fs::remove(p);
}

TEST(MetricsLog, ADamagedRowIsAnErrorNamingTheFileAndLine) {
  ag::testing::TempDir tmp;
  const auto p = tmp.path / "metrics.csv";
  std::ofstream(p) << "step,loss\n100,0.5\nabc,0.4\n";
  ag::testing::expect_mentions(
      ag::testing::error_of([&] { ag::train::MetricsLog log(p, {"step", "loss"}, /*resume_step=*/50); }),
      {p.string(), "line 3", "abc,0.4"});
}

TEST(Interrupt, FirstSignalSetsTheFlag) {
  ag::train::install_interrupt_handler();
  EXPECT_FALSE(ag::train::interrupted());
  std::raise(SIGINT);
  EXPECT_TRUE(ag::train::interrupted());
  EXPECT_EQ(ag::train::interrupt_signal(), SIGINT);
  EXPECT_EQ(ag::train::interrupted_exit_code(), 130) << "what shells expect after Ctrl-C";
  ag::train::reset_interrupt();
  std::raise(SIGTERM);
  EXPECT_EQ(ag::train::interrupted_exit_code(), 143);
  ag::train::reset_interrupt();
  EXPECT_EQ(ag::train::interrupted_exit_code(), 0);
  EXPECT_FALSE(ag::train::interrupted());
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

}  // namespace
