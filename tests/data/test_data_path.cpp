// The default data search (attograd/data/data_path.h): $ATTOGRAD_DATA, the user data folder, then
// the folders a program adds; and the source-tree folder that programs built in this tree add.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "attograd/data/data_path.h"
#include "tests/test_util.h"

namespace {

namespace fs = std::filesystem;
using ag::testing::error_of;
using ag::testing::expect_mentions;
using ag::testing::TempDir;

// Sets (or, with nullopt, unsets) an environment variable for the life of the object.
class EnvHere {
 public:
  EnvHere(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    if (value) ::setenv(name_.c_str(), value->c_str(), 1);
    else ::unsetenv(name_.c_str());
  }
  ~EnvHere() {
    if (old_) ::setenv(name_.c_str(), old_->c_str(), 1);
    else ::unsetenv(name_.c_str());
  }
  EnvHere(const EnvHere&) = delete;
  EnvHere& operator=(const EnvHere&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

TEST(DataPath, TheUserDataFolderIsXdgDataHomeThenTheHomesLocalShare) {
  EnvHere home("HOME", "/home/someone");
  {
    EnvHere xdg("XDG_DATA_HOME", "/somewhere/data");
    EXPECT_EQ(ag::data::user_data_dir(), fs::path("/somewhere/data/attograd"));
  }
  {
    EnvHere xdg("XDG_DATA_HOME", "");  // empty is unset, as the XDG specification says
    EXPECT_EQ(ag::data::user_data_dir(), fs::path("/home/someone/.local/share/attograd"));
  }
  EnvHere xdg("XDG_DATA_HOME", std::nullopt);
  EXPECT_EQ(ag::data::user_data_dir(), fs::path("/home/someone/.local/share/attograd"));
  EnvHere no_home("HOME", std::nullopt);
  EXPECT_TRUE(ag::data::user_data_dir().empty());
}

// The order of the default search, and that a program's own folders come last, once each.
TEST(DataPath, TheDefaultSearchIsTheEnvironmentTheUserFolderThenTheProgramsFolders) {
  EnvHere data("ATTOGRAD_DATA", "/from/env");
  EnvHere xdg("XDG_DATA_HOME", "/from/xdg");
  ag::data::add_fallback_data_dir("/from/program/a");
  ag::data::add_fallback_data_dir("/from/program/b");
  ag::data::add_fallback_data_dir("/from/program/a");
  const std::vector<fs::path> search = ag::data::data_search_path();
  ASSERT_GE(search.size(), 4u);
  EXPECT_EQ(search[0], fs::path("/from/env"));
  EXPECT_EQ(search[1], fs::path("/from/xdg/attograd"));
  const std::vector<fs::path> tail(search.end() - 2, search.end());
  EXPECT_EQ(tail, (std::vector<fs::path>{"/from/program/a", "/from/program/b"}));
  EXPECT_EQ(ag::data::data_search_path("/given"), std::vector<fs::path>{"/given"});
}

TEST(DataPath, TheUserDataFolderIsWhereADatasetIsFoundWithoutEnvironment) {
  TempDir tmp;
  fs::create_directories(tmp.path / "attograd" / "thing");
  EnvHere data("ATTOGRAD_DATA", std::nullopt);
  EnvHere xdg("XDG_DATA_HOME", tmp.path.string());
  auto has_thing = [](const fs::path& dir) { return fs::exists(dir / "thing"); };
  EXPECT_EQ(ag::data::find_data("", "the thing", has_thing, ""), tmp.path / "attograd");
  EnvHere other_xdg("XDG_DATA_HOME", (tmp.path / "elsewhere").string());
  expect_mentions(error_of([&] { ag::data::find_data("", "the thing", has_thing, "Get it from X."); }),
                  {(tmp.path / "elsewhere" / "attograd").string() + " (missing)", "user data folder", "Get it from X."});
}

// Programs and tests built in this tree (this one among them) look in the shared/data folder beside
// the checkout last, with no environment set; the library itself names no such folder.
TEST(DataPath, ProgramsBuiltInThisTreeLookInTheSourceTreesDataFolderLast) {
  EnvHere data("ATTOGRAD_DATA", std::nullopt);
  const std::vector<fs::path> search = ag::data::data_search_path();
  EXPECT_NE(std::find(search.begin(), search.end(), fs::path(ATTOGRAD_SOURCE_TREE_DATA_DIR)), search.end());
  EXPECT_NE(std::string(ATTOGRAD_SOURCE_TREE_DATA_DIR).find("shared/data"), std::string::npos);
}

}  // namespace
