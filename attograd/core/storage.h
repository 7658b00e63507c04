#pragma once
// Storage: one contiguous, 64-byte aligned float32 buffer shared by the tensors that view it.

#include <atomic>
#include <cstdint>

namespace ag {

/// A float32 buffer with a version counter. Tensors that share a Storage (reshape, detach) share
/// its version: every in-place write bumps it, and a backward node that saved the buffer compares
/// the version it saw with the current one before it trusts the data.
class Storage {
 public:
  /// Allocates n floats, uninitialised (factories fill them).
  explicit Storage(int64_t n);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  float* data() const { return data_; }
  int64_t size() const { return size_; }

  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }

  /// Bytes held by all live Storage objects (for leak tests and memory reports).
  static int64_t live_bytes();
  /// The most live_bytes() has been since the process started or the last reset_peak_bytes()
  /// (torch.cuda.max_memory_allocated, for the CPU's tensors).
  static int64_t peak_bytes();
  static void reset_peak_bytes();

 private:
  float* data_;
  int64_t size_;
  uint64_t version_ = 0;
  static std::atomic<int64_t> live_bytes_;
  static std::atomic<int64_t> peak_bytes_;
};

}  // namespace ag
