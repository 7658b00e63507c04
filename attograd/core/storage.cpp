#include "attograd/core/storage.h"

#include <cstdlib>
#include <new>

#include "attograd/core/error.h"
#include "attograd/core/profiler.h"

namespace ag {

std::atomic<int64_t> Storage::live_bytes_{0};
std::atomic<int64_t> Storage::peak_bytes_{0};

namespace {
constexpr size_t kAlignment = 64;  // a cache line, and the widest SIMD register (AVX-512)

size_t padded_bytes(int64_t n) {
  const size_t bytes = static_cast<size_t>(n > 0 ? n : 1) * sizeof(float);
  return (bytes + kAlignment - 1) / kAlignment * kAlignment;  // aligned_alloc wants a multiple
}
}  // namespace

Storage::Storage(int64_t n) : size_(n) {
  check(n >= 0, "Storage: negative size {}", n);
  data_ = static_cast<float*>(std::aligned_alloc(kAlignment, padded_bytes(n)));
  if (!data_) throw std::bad_alloc();
  const int64_t live = live_bytes_ += n * static_cast<int64_t>(sizeof(float));
  for (int64_t peak = peak_bytes_.load(std::memory_order_relaxed);
       live > peak && !peak_bytes_.compare_exchange_weak(peak, live, std::memory_order_relaxed);) {
  }
  if (profile::active()) profile::detail::add_bytes(n * static_cast<int64_t>(sizeof(float)));
}

Storage::~Storage() {
  std::free(data_);
  live_bytes_ -= size_ * static_cast<int64_t>(sizeof(float));
}

int64_t Storage::live_bytes() { return live_bytes_.load(); }
int64_t Storage::peak_bytes() { return peak_bytes_.load(); }
void Storage::reset_peak_bytes() { peak_bytes_ = live_bytes_.load(); }

}  // namespace ag
