#include "attograd/train/option_table.h"

#include <cmath>
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace {

using ag::testing::error_of;
using ag::testing::expect_mentions;
using json = nlohmann::json;

struct Model {
  int64_t width = 8;
};

struct Options {
  std::string optimizer = "adam";
  double lr = 1e-3;
  int64_t epochs = 0;  // 0: the recipe's; may change on resume
  uint64_t seed = 1;
  int64_t keep = 0;    // optional: configs from before it existed lack it
  bool bleu = true;
  int threads = 0;     // checked, not saved
  Model model;         // checked through a function, not saved
};

ag::train::OptionTable<Options> table() {
  using ag::train::above, ag::train::at_least, ag::train::in;
  ag::train::OptionTable<Options> t;
  t.add("optimizer", &Options::optimizer, ag::train::Choices{{"adam", "sgd"}});
  t.add("lr", &Options::lr, above(0));
  t.add("epochs", &Options::epochs, at_least(1)).may_change_on_resume();
  t.add("seed", &Options::seed);
  t.add("keep", &Options::keep, at_least(0), "0: none").optional();
  t.add("bleu", &Options::bleu);
  t.add("threads", &Options::threads, in(0, 64)).not_saved();
  t.add("model_width", [](auto& o) -> auto& { return o.model.width; }, at_least(1)).not_saved();
  return t;
}

TEST(OptionTable, WritesTheSavedOptionsKeyedAsInTheTable) {
  Options o;
  o.lr = 0.5, o.epochs = 3, o.seed = UINT64_MAX, o.threads = 2;
  const json j = table().to_json(o);
  EXPECT_EQ(j, (json{{"optimizer", "adam"}, {"lr", 0.5}, {"epochs", 3}, {"seed", UINT64_MAX}, {"keep", 0},
                     {"bleu", true}}));
}

TEST(OptionTable, AResumedRunKeepsItsRecipeButMayChangeItsEnd) {
  Options run;
  run.optimizer = "sgd", run.lr = 0.25, run.epochs = 5, run.seed = 9, run.keep = 2, run.bleu = false;
  const json saved = table().to_json(run);

  Options given;  // the command line of `train --resume`: only threads set
  given.threads = 3;
  Options o = table().from_json(saved, given);
  EXPECT_EQ(o.optimizer, "sgd");
  EXPECT_EQ(o.lr, 0.25);
  EXPECT_EQ(o.epochs, 5);  // not given: the run's
  EXPECT_EQ(o.seed, 9u);
  EXPECT_EQ(o.keep, 2);
  EXPECT_FALSE(o.bleu);
  EXPECT_EQ(o.threads, 3);  // not saved: the command line's

  given.epochs = 8;  // --epochs 8: where the resumed run ends
  given.lr = 7;      // not resumable: the run's recipe wins
  o = table().from_json(saved, given);
  EXPECT_EQ(o.epochs, 8);
  EXPECT_EQ(o.lr, 0.25);
}

TEST(OptionTable, AnAbsentOptionalKeyIsTheDefaultAndAnAbsentRequiredOneAnError) {
  json saved = table().to_json(Options{});
  Options given;
  given.keep = 4;
  saved.erase("keep");
  EXPECT_EQ(table().from_json(saved, given).keep, 0);  // the struct's default, not the command line's
  saved.erase("lr");
  expect_mentions(error_of([&] { table().from_json(saved, given); }), {"no \"lr\""});
  expect_mentions(error_of([&] { table().from_json(json::array(), given); }), {"not a JSON object"});
}

TEST(OptionTable, AValueOfTheWrongTypeIsAnErrorNamingTheKey) {
  json saved = table().to_json(Options{});
  saved["lr"] = "fast";
  expect_mentions(error_of([&] { table().from_json(saved, Options{}); }), {"\"lr\"", "\"fast\""});
}

TEST(OptionTable, CheckNamesTheFlagTheValueAndTheRange) {
  const struct {
    void (*spoil)(Options&);
    std::vector<std::string> parts;
  } cases[] = {
      {[](Options& o) { o.lr = 0; }, {"--lr 0 is not a finite number > 0"}},
      {[](Options& o) { o.lr = NAN; }, {"--lr nan"}},
      {[](Options& o) { o.lr = INFINITY; }, {"--lr inf"}},
      {[](Options& o) { o.epochs = 0; }, {"--epochs 0 is not >= 1"}},
      {[](Options& o) { o.keep = -1; }, {"--keep -1 is not >= 0 (0: none)"}},
      {[](Options& o) { o.optimizer = "rmsprop"; }, {"--optimizer rmsprop is not one of adam, sgd"}},
      {[](Options& o) { o.threads = 65; }, {"--threads 65 is not in [0, 64]"}},
      {[](Options& o) { o.model.width = 0; }, {"--model-width 0"}},  // '_' becomes '-'
  };
  for (const auto& c : cases) {
    Options o;
    o.epochs = 1;
    EXPECT_NO_THROW(table().check(o));
    c.spoil(o);
    try {
      table().check(o);
      ADD_FAILURE() << "no UsageError for " << c.parts[0];
    } catch (const ag::train::UsageError& e) {
      expect_mentions(e.what(), c.parts);
    }
  }
}

TEST(OptionTable, RangesDescribeTheirEnds) {
  using ag::train::Ends;
  EXPECT_EQ(ag::train::in(0, 1, Ends::Open).describe(), "in (0, 1)");
  EXPECT_EQ(ag::train::in(0, 1, Ends::OpenHigh).describe(), "in [0, 1)");
  EXPECT_FALSE(ag::train::in(0, 1, Ends::OpenHigh).contains(1));
  EXPECT_TRUE(ag::train::in(0, 1, Ends::OpenHigh).contains(0));
  EXPECT_FALSE(ag::train::in(0, 1, Ends::OpenLow).contains(0));
  EXPECT_FALSE(ag::train::at_least(0).contains(NAN));
}

TEST(OptionTable, AKeyTwiceIsAnError) {
  ag::train::OptionTable<Options> t;
  t.add("lr", &Options::lr);
  expect_mentions(error_of([&] { t.add("lr", &Options::lr); }), {"\"lr\"", "twice"});
}

}  // namespace
