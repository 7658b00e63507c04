// LR schedules: factors against hand computations, torch's StepLR and LambdaLR lrs (fixture), the
// step convention (building applies factor(0)), several groups, and resuming from a saved state.

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "attograd/optim/schedule.h"
#include "attograd/optim/sgd.h"
#include "tests/fixture.h"
#include "tests/test_util.h"

namespace {

using ag::Tensor;
using ag::optim::ParamGroup;
using ag::testing::error_of;
using ag::testing::expect_mentions;

// An optimizer to schedule: two groups with base lrs 0.1 and 0.3.
struct TwoGroups {
  Tensor a = ag::ones({1}).requires_grad_(), b = ag::ones({1}).requires_grad_();
  ag::optim::SGD opt{std::vector<ParamGroup>{{{{"a", a}}, 0.1}, {{{"b", b}}, 0.3}}};
};

std::vector<double> factors(const ag::optim::Scheduler& s, int n) {
  std::vector<double> out;
  for (int i = 0; i < n; ++i) out.push_back(s.factor(i));
  return out;
}

void expect_all_near(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12) << "step " << i;
}

TEST(Schedule, HandComputedFactors) {
  TwoGroups s;
  expect_all_near(factors(ag::optim::ConstantLR(s.opt), 3), {1, 1, 1});
  expect_all_near(factors(ag::optim::StepLR(s.opt, 2, 0.5), 6), {1, 1, 0.5, 0.5, 0.25, 0.25});
  // warmup 2, total 6: 0, 1/2, then (6 - s) / 4 down to 0, and 0 after.
  expect_all_near(factors(ag::optim::WarmupLinear(s.opt, 2, 6), 8), {0, 0.5, 1, 0.75, 0.5, 0.25, 0, 0});
  // warmup 2, total 6, min 0.2: q = (s - 2) / 4; 0.2 + 0.8 (1 + cos(pi q)) / 2.
  const double c1 = 0.2 + 0.4 * (1 + std::cos(std::numbers::pi / 4));
  const double c3 = 0.2 + 0.4 * (1 + std::cos(3 * std::numbers::pi / 4));
  expect_all_near(factors(ag::optim::WarmupCosine(s.opt, 2, 6, 0.2), 8), {0, 0.5, 1, c1, 0.6, c3, 0.2, 0.2});
  // warmup 4: s / 4 up to 1 at s = 4, then sqrt(4 / s).
  expect_all_near(factors(ag::optim::Noam(s.opt, 4), 6), {0, 0.25, 0.5, 0.75, 1, std::sqrt(0.8)});
  EXPECT_NEAR(ag::optim::InverseSqrt(s.opt, 4).factor(16), 0.5, 1e-15);
}

TEST(Schedule, BuildingAppliesStepZeroAndStepScalesEveryGroup) {
  TwoGroups s;
  ag::optim::WarmupLinear sched(s.opt, 2, 6);
  EXPECT_EQ(sched.last_step(), 0);
  EXPECT_EQ(sched.last_lr(), (std::vector<double>{0.0, 0.0}));
  EXPECT_EQ(sched.base_lrs(), (std::vector<double>{0.1, 0.3}));
  sched.step();
  EXPECT_EQ(sched.last_step(), 1);
  EXPECT_DOUBLE_EQ(sched.lr(), 0.05);
  EXPECT_DOUBLE_EQ(s.opt.param_groups()[1].lr, 0.15);
  sched.set_step(3);
  EXPECT_DOUBLE_EQ(s.opt.param_groups()[0].lr, 0.075);
  EXPECT_DOUBLE_EQ(s.opt.param_groups()[1].lr, 0.3 * 0.75);
}

TEST(Schedule, StateRoundTripResumes) {
  TwoGroups first;
  ag::optim::WarmupCosine a(first.opt, 3, 20, 0.1);
  for (int i = 0; i < 7; ++i) a.step();

  TwoGroups second;
  second.opt.param_groups()[0].lr = 5;  // a fresh run with other lrs: the state's base lrs win
  ag::optim::WarmupCosine b(second.opt, 3, 20, 0.1);
  b.load_state_dict(a.state_dict());
  EXPECT_EQ(b.last_step(), 7);
  EXPECT_EQ(b.last_lr(), a.last_lr());
  a.step(), b.step();
  EXPECT_EQ(b.last_lr(), a.last_lr());

  ag::optim::StepLR other(second.opt, 3);
  expect_mentions(error_of([&] { other.load_state_dict(a.state_dict()); }), {"StepLR", "WarmupCosine"});
}

TEST(Schedule, RejectsBadArguments) {
  TwoGroups s;
  expect_mentions(error_of([&] { ag::optim::StepLR(s.opt, 0); }), {"StepLR", "step_size"});
  expect_mentions(error_of([&] { ag::optim::WarmupLinear(s.opt, 5, 5); }), {"WarmupLinear", "total_steps"});
  expect_mentions(error_of([&] { ag::optim::WarmupCosine(s.opt, 1, 5, 2.0); }), {"WarmupCosine", "min_factor"});
  expect_mentions(error_of([&] { ag::optim::InverseSqrt(s.opt, 0); }), {"InverseSqrt", "warmup_steps"});
}

// The lrs torch gives for the same schedule (StepLR itself; LambdaLR with each factor function).
void expect_matches_torch(const std::string& name, ag::optim::Scheduler& sched) {
  const ag::testing::FixtureCase c = ag::testing::Fixture("optim.h5")[name];
  const Tensor lrs = c.output("lrs");
  std::vector<double> got{sched.lr()};
  for (int64_t k = 1; k < lrs.numel(); ++k) sched.step(), got.push_back(sched.lr());
  std::vector<float> as_float(got.begin(), got.end());
  // Both sides compute each lr in double (within a few 2^-53 of each other) and round it to float32
  // once (the fixture holds torch's double, read as float32): at most adjacent floats, 1 ulp <= 2 u |lr|.
  ag::testing::expect_close(ag::from_data(as_float, {lrs.numel()}), lrs, "lr schedule " + name, 2,
                            ag::testing::Scale::Element);
}

TEST(Schedule, MatchesTorch) {
  const Tensor p = ag::ones({1}).requires_grad_();
  {
    ag::optim::SGD opt({{"p", p}}, 0.1);
    ag::optim::StepLR sched(opt, 4, 0.5);
    expect_matches_torch("steplr", sched);
  }
  {
    ag::optim::SGD opt({{"p", p}}, 0.1);
    ag::optim::WarmupLinear sched(opt, 3, 10);
    expect_matches_torch("warmup_linear", sched);
  }
  {
    ag::optim::SGD opt({{"p", p}}, 0.1);
    ag::optim::WarmupCosine sched(opt, 3, 10, 0.1);
    expect_matches_torch("warmup_cosine", sched);
  }
  {
    ag::optim::SGD opt({{"p", p}}, 0.1);
    ag::optim::InverseSqrt sched(opt, 4);
    expect_matches_torch("inverse_sqrt", sched);
  }
}

}  // namespace
