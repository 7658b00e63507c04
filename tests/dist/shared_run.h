#pragma once
// What the distributed training tests share: a folder all ranks name alike, the loss of each step,
// and the comparison of a distributed run's weights with one process's.

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "attograd/core/named_tensors.h"
#include "attograd/dist/dist.h"
#include "attograd/train/callback.h"
#include "attograd/train/run_checkpoint.h"

namespace ag::testing {

// A folder every rank names alike (rank 0's pid): rank 0 makes and removes it.
struct SharedDir {
  std::filesystem::path path;
  explicit SharedDir(const std::string& name) {
    uint64_t pid = static_cast<uint64_t>(::getpid());
    ag::dist::broadcast(&pid, 1);
    path = std::filesystem::temp_directory_path() / ("attograd-dist-" + std::to_string(pid) + "-" + name);
    if (ag::dist::is_main()) {
      std::filesystem::remove_all(path);
      std::filesystem::create_directories(path);
    }
    ag::dist::barrier();
  }
  ~SharedDir() {
    ag::dist::barrier();
    if (ag::dist::is_main()) std::filesystem::remove_all(path);
  }
};

// The loss of every step, as the Trainer reports it (distributed: the global batch's).
struct LossLog : ag::train::Callback {
  std::vector<double> losses;
  void on_step_end(ag::train::Trainer&, const ag::train::StepInfo& s) override { losses.push_back(s.loss); }
};

// Every step's loss of a distributed run within 1e-5 relative of the one-process run's.
inline void expect_same_losses(const LossLog& distributed, const LossLog& reference) {
  ASSERT_EQ(distributed.losses.size(), reference.losses.size());
  for (size_t s = 0; s < distributed.losses.size(); ++s)
    EXPECT_NEAR(distributed.losses[s], reference.losses[s], 1e-5 * std::fabs(reference.losses[s])) << "step " << s + 1;
}

// |a - b| within 1e-5 of |a| plus 1e-6: the float32 rounding of sums taken in another order (each
// rank sums its rows, then the ranks' sums add up), grown over 20 steps of Adam.
// `skip(name, i)` names elements left out, each for a reason its caller states.
inline void expect_close(const ag::NamedTensors& a, const ag::NamedTensors& b,
                         const std::function<bool(const std::string&, int64_t)>& skip = {}) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a[k].first, b[k].first);
    ASSERT_EQ(a[k].second.shape(), b[k].second.shape()) << a[k].first;
    const float* x = a[k].second.data();
    const float* y = b[k].second.data();
    for (int64_t i = 0; i < a[k].second.numel(); ++i) {
      if (skip && skip(a[k].first, i)) continue;
      EXPECT_NEAR(x[i], y[i], 1e-5 * std::fabs(x[i]) + 1e-6) << a[k].first << " element " << i;
    }
  }
}

inline ag::NamedTensors model_of(const std::filesystem::path& checkpoint) {
  return ag::train::load_checkpoint(checkpoint.string(), false).model;
}

}  // namespace ag::testing
