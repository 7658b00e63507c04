#pragma once
// One thread knob for OpenMP and Eigen, denormal flushing, and parallel_for.

#include <omp.h>

#include <cstdint>

namespace ag {

/// The most threads set_num_threads() accepts: far more than any CPU has cores, far fewer than the
/// counts at which OpenMP runs out of stacks and crashes.
inline constexpr int kMaxThreads = 1024;

/// Sets the threads used by attograd's kernels (OpenMP) and its GEMMs (Eigen) together, and flushes
/// denormals to zero in every worker (denormal arithmetic is ~100x slower and changes no result that
/// matters in training). torch.set_num_threads. Raises ag::Error for n outside [1, kMaxThreads].
void set_num_threads(int n);
int get_num_threads();

/// True when the calling thread flushes denormal results and inputs to zero (x86 FTZ and DAZ).
bool denormals_flushed();

namespace detail {
/// Applies set_num_threads(default) once per process; called by parallel_for.
void init_threads_once();
}  // namespace detail

/// Runs f(begin, end) over [0, n) split into one contiguous range per thread (static schedule, so
/// a given thread count always makes the same split). Runs inline when n < grain, when one thread
/// is set, or when already inside a parallel region. f must not throw (an exception leaving an
/// OpenMP region terminates the program): validate inputs with ag::check before the loop.
template <class F>
void parallel_for(int64_t n, int64_t grain, F&& f) {
  detail::init_threads_once();
  if (n <= 0) return;
  if (n < grain || omp_get_max_threads() == 1 || omp_in_parallel()) {
    f(int64_t{0}, n);
    return;
  }
#pragma omp parallel
  {
    const int64_t threads = omp_get_num_threads();
    const int64_t chunk = (n + threads - 1) / threads;
    const int64_t begin = omp_get_thread_num() * chunk;
    const int64_t end = begin + chunk < n ? begin + chunk : n;
    if (begin < end) f(begin, end);
  }
}

}  // namespace ag
