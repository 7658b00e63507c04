#include "attograd/train/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "attograd/dist/dist.h"

namespace ag::train {

ProgressBar::ProgressBar(std::string label, int64_t total, std::string unit, std::FILE* out)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(std::max<int64_t>(total, 1)),
      out_(dist::rank() == 0 ? out : nullptr),
      terminal_(out_ && ::isatty(::fileno(out_)) != 0),
      start_(std::chrono::steady_clock::now()) {}

double ProgressBar::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string ProgressBar::format_duration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::max(0.0, seconds) + 0.5);
  return s >= 3600 ? fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60) : fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string ProgressBar::format_count(double value) {
  const std::string digits = std::to_string(static_cast<int64_t>(std::llround(value)));
  std::string out;  // digits with a comma before each group of three from the right
  for (size_t i = 0; i < digits.size(); ++i) {
    const size_t left = digits.size() - i;
    if (i > 0 && left % 3 == 0 && digits[i - 1] != '-') out += ',';
    out += digits[i];
  }
  return out;
}

std::string ProgressBar::line(int64_t done, const std::string& metrics, double units) const {
  const double t = elapsed();
  const double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
  std::string bar;
  if (terminal_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(fraction * kWidth);
    bar.assign(1, '[');
    bar.append(filled, '=');
    if (filled < kWidth) bar += '>';
    bar.append(std::max(0, kWidth - filled - 1), ' ');
    bar += "] ";
  }
  std::string rate;
  if (t > 0 && done > 0) {
    rate = units >= 0 ? fmt::format("{} {}/s", format_count(units / t), unit_)
                      : fmt::format("{:.2f} it/s", static_cast<double>(done) / t);
  }
  std::string eta;
  if (done > 0 && done < total_)
    eta = fmt::format("ETA {}", format_duration(t / static_cast<double>(done) * static_cast<double>(total_ - done)));
  return fmt::format("{} {}{}/{} {} {} {}", label_, bar, done, total_, metrics, rate, eta);
}

void ProgressBar::update(int64_t done, const std::string& metrics, double units) {
  done_ = done, metrics_ = metrics, units_ = units;
  if (!out_) return;
  const double t = elapsed();
  if (terminal_) {
    if (t - last_draw_ < 0.1 && done < total_) return;  // redraw at most 10 times a second
    last_draw_ = t;
    fmt::print(out_, "\r\033[K{}", line(done, metrics, units));
  } else {
    const int64_t decile = done * 10 / total_;  // a plain line at each 10%
    if (decile == last_decile_) return;
    last_decile_ = decile;
    fmt::print(out_, "{}\n", line(done, metrics, units));
  }
  std::fflush(out_);
}

void ProgressBar::finish(const std::string& summary) {
  if (!out_) return;
  const double t = elapsed();
  std::string rate = units_ >= 0 && t > 0 ? fmt::format(", {} {}/s", format_count(units_ / t), unit_) : "";
  fmt::print(out_, "{}{} done: {} steps in {}{}{}{}\n", terminal_ ? "\r\033[K" : "", label_, done_, format_duration(t), rate,
             summary.empty() ? "" : ", ", summary);
  std::fflush(out_);
}

}  // namespace ag::train
