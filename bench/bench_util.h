#pragma once
// What the benchmark programs share: the process's peak memory and the FLOPs of a piece of work.
#include <sys/resource.h>

#include <string>

#include "attograd/core/profiler.h"

namespace ag::bench {

/// This process's peak resident set size so far, in MiB (ru_maxrss is in KiB on Linux).
inline double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

/// The floating-point operations f() does, as ag::profile counts them (matrix products, attention,
/// the LSTM's gate products; elementwise work is not counted).
template <class F>
double flops_of(F&& f) {
  profile::Profiler profiler;
  {
    const profile::Range range("bench: measured work");
    f();
  }
  for (const profile::Row& row : profiler.rows())
    if (row.name == "bench: measured work") return row.flops;
  return 0;
}

}  // namespace ag::bench
