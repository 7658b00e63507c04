// One thread knob for OpenMP and Eigen, denormal flushing in every worker, determinism.
#include <gtest/gtest.h>
#include <omp.h>

#include <Eigen/Core>

#include "attograd/core/core.h"
#include "tests/test_util.h"

namespace {

using ag::Tensor;

TEST(Threads, SetNumThreadsSetsOpenMPAndEigenTogether) {
  ag::set_num_threads(1);
  EXPECT_EQ(ag::get_num_threads(), 1);
  EXPECT_EQ(omp_get_max_threads(), 1);
  EXPECT_EQ(Eigen::nbThreads(), 1);
  ag::set_num_threads(2);
  EXPECT_EQ(ag::get_num_threads(), 2);
  EXPECT_EQ(omp_get_max_threads(), 2);
  EXPECT_EQ(Eigen::nbThreads(), 2);
}

TEST(Threads, DenormalsAreFlushedInEveryWorker) {
  ag::set_num_threads(4);  // more workers than cores is fine; each must flush
  std::vector<int> flushed(4, 0), underflow_is_zero(4, 0);
#pragma omp parallel num_threads(4)
  {
    const int t = omp_get_thread_num();
    volatile float tiny = 1e-30f;
    volatile float product = tiny * 1e-10f;  // 1e-40 is denormal: FTZ makes it 0
    flushed[t] = ag::denormals_flushed();
    underflow_is_zero[t] = product == 0.0f;
  }
  for (int t = 0; t < 4; ++t) {
    EXPECT_TRUE(flushed[t]) << "thread " << t;
    EXPECT_TRUE(underflow_is_zero[t]) << "thread " << t;
  }
  EXPECT_TRUE(ag::denormals_flushed());  // the calling thread too
  ag::set_num_threads(2);
}

// A little model: forward and backward with random init, reductions and broadcasting.
std::vector<float> run_once(uint64_t seed) {
  ag::Generator gen(seed);
  Tensor w = ag::randn({64, 300}, gen).requires_grad_();
  Tensor b = ag::randn({300}, gen).requires_grad_();
  Tensor x = ag::randn({64, 1}, gen);
  Tensor h = ag::tanh(x * w + b);
  Tensor loss = ag::mean(ag::sum(h * h, {1}, true) + ag::max(h, 0).values.reshape({1, 300}));
  loss.backward();
  std::vector<float> out = w.grad().to_vector();
  const std::vector<float> gb = b.grad().to_vector();
  out.insert(out.end(), gb.begin(), gb.end());
  out.push_back(loss.item());
  return out;
}

TEST(Threads, SameSeedAndThreadCountGiveBitwiseIdenticalResults) {
  for (int threads : {1, 2}) {
    ag::set_num_threads(threads);
    const std::vector<float> first = run_once(11), second = run_once(11);
    ASSERT_EQ(first.size(), second.size());
    EXPECT_EQ(0, std::memcmp(first.data(), second.data(), first.size() * sizeof(float))) << threads << " threads";
  }
  ag::set_num_threads(2);
}

TEST(Threads, LargeSumDoesNotDependOnThreadCount) {
  ag::Generator gen(3);
  Tensor x = ag::randn({1 << 20}, gen);
  ag::set_num_threads(1);
  const float one = ag::sum(x).item();
  ag::set_num_threads(2);
  const float two = ag::sum(x).item();
  EXPECT_EQ(one, two);
}

}  // namespace

TEST(Threads, AbsurdThreadCountsAreRefused) {
  const int saved = ag::get_num_threads();
  for (int n : {0, -1, ag::kMaxThreads + 1, 1000000})
    ag::testing::expect_mentions(ag::testing::error_of([&] { ag::set_num_threads(n); }),
                                 {"set_num_threads", std::to_string(n)});
  EXPECT_EQ(ag::get_num_threads(), saved) << "a refused count changes nothing";
}
