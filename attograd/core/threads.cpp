#include "attograd/core/threads.h"

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <mutex>

#include "attograd/core/error.h"
#if defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace ag {

namespace {
constexpr unsigned kFlushToZero = 0x8000;     // MXCSR bit 15: denormal results become 0
constexpr unsigned kDenormalsAreZero = 0x0040;  // MXCSR bit 6: denormal inputs read as 0

std::atomic<bool> threads_configured{false};

void flush_denormals_in_this_thread() {
#if defined(__SSE__)
  _mm_setcsr(_mm_getcsr() | kFlushToZero | kDenormalsAreZero);
#endif
}
}  // namespace

void set_num_threads(int n) {
  check(n >= 1 && n <= kMaxThreads, "set_num_threads: {} threads; attograd runs on 1 to {}", n, kMaxThreads);
  threads_configured = true;
  omp_set_num_threads(n);
  Eigen::setNbThreads(n);
  flush_denormals_in_this_thread();
  // libgomp keeps its workers alive between parallel regions, so setting their MXCSR once sticks.
#pragma omp parallel num_threads(n)
  flush_denormals_in_this_thread();
}

int get_num_threads() { return omp_get_max_threads(); }

bool denormals_flushed() {
#if defined(__SSE__)
  return (_mm_getcsr() & (kFlushToZero | kDenormalsAreZero)) == (kFlushToZero | kDenormalsAreZero);
#else
  return false;
#endif
}

namespace detail {
void init_threads_once() {
  if (threads_configured.load(std::memory_order_relaxed)) return;
  static std::once_flag once;  // the user has not called set_num_threads: use OpenMP's default
  std::call_once(once, [] {
    if (!threads_configured) set_num_threads(std::min(omp_get_max_threads(), kMaxThreads));
  });
}
}  // namespace detail

}  // namespace ag
