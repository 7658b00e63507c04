#pragma once
// The profiler: where the time of a training step or a decode goes, op by op (torch.profiler).
//
//   ag::profile::Profiler prof;                  // records from here ...
//   { ag::profile::Range r("my step"); step(); } // ... user-named ranges nest around the ops
//   prof.stop();                                 // ... to here (or the end of its scope)
//   fmt::print("{}", prof.table());              // key_averages().table(): one row per op
//   prof.write_chrome_trace("trace.json");       // chrome://tracing or ui.perfetto.dev
//
// Or for a whole program: ATTOGRAD_PROFILE=trace.json ./program prints the table to stderr at exit
// and writes the trace (ATTOGRAD_PROFILE_SHAPES=1 groups the table by input shapes too).
//
// What is recorded, per thread: every op's forward ("linear") and backward ("linear backward") with
// its input shapes, every matrix product (sgemm, with its FLOPs) called outside a parallel region,
// and every Range. Each event has a total time (start to end) and a self time (total minus the
// events nested in it on the same thread), the FLOPs done inside it where known (matrix products,
// attention, the LSTM's gate products) and the tensor bytes it allocated. With no Profiler alive,
// an op pays one relaxed atomic load per scope: nothing measurable (docs/internals.md).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <atomic>
#include <initializer_list>

#include "attograd/core/tensor.h"

namespace ag::profile {

/// How events are grouped, and how many are kept for the trace.
struct Options {
  bool record_shapes = false;               // one table row per (name, input shapes), like
                                            // key_averages(group_by_input_shape=True)
  int64_t max_trace_events = 2'000'000;     // events kept for the trace (the table counts them all)
};

/// One row of the table: the events of one name (and input shapes, when recorded), summed.
struct Row {
  std::string name;      // "linear", "linear backward", "sgemm", or a Range's name
  std::string shapes;    // "[(64, 200, 128), (512, 128), (512)]" when record_shapes; else empty
  int64_t calls = 0;
  double total_ms = 0;   // start to end, summed over calls (nested events included)
  double self_ms = 0;    // total minus the events nested inside, on the same thread
  double flops = 0;      // floating-point operations done inside (nested included), where known
  int64_t bytes = 0;     // tensor storage allocated inside (nested excluded)
};

/// Which column the table is sorted by (descending).
enum class SortBy { SelfTime, TotalTime, Calls, Flops };

/// Records every op on every thread from construction until stop() or destruction. One at a time:
/// a second Profiler while one records raises ag::Error.
class Profiler {
 public:
  explicit Profiler(Options options = {});
  ~Profiler();
  Profiler(const Profiler&) = delete;
  Profiler& operator=(const Profiler&) = delete;

  /// Ends the recording (events still open are dropped); later calls do nothing.
  void stop();
  /// The rows, sorted by `sort`; a running profiler is stopped first.
  std::vector<Row> rows(SortBy sort = SortBy::SelfTime);
  /// The rows as a text table, the first `limit` of them (0: all), then the recorded wall time, the
  /// share of it spent inside ops, and the matrix products' rate.
  std::string table(SortBy sort = SortBy::SelfTime, int64_t limit = 30);
  /// Writes the events as Chrome trace JSON (one row per thread); raises ag::Error naming the file
  /// if it cannot be written.
  void write_chrome_trace(const std::string& path);
  /// Wall time from construction to stop(), in milliseconds.
  double wall_ms() const;
  /// Events beyond max_trace_events, counted in the table but left out of the trace.
  int64_t dropped_trace_events() const;

 private:
  struct Result;
  Options options_;
  bool running_ = false;
  int64_t start_ns_ = 0, stop_ns_ = 0;
  std::shared_ptr<Result> result_;
};

/// True while a Profiler records.
bool active();

namespace detail {
extern std::atomic<bool> recording;
/// Opens an event on this thread; `name` must outlive the profiler (a literal) unless `copy_name`.
void open(const char* name, int kind, std::initializer_list<const Tensor*> inputs, bool copy_name);
void open_with_shapes(const char* name, int kind, const std::vector<Shape>& shapes, bool copy_name);
void close();
bool open_gemm(int64_t m, int64_t n, int64_t k);  // false (nothing opened) where GemmScope says
void add_flops(double flops);
void add_bytes(int64_t bytes);
enum Kind { kOp = 0, kBackward = 1, kGemm = 2, kRange = 3 };
}  // namespace detail

/// Adds FLOPs to the innermost event open on this thread (a kernel that knows its arithmetic).
inline void add_flops(double flops) {
  if (detail::recording.load(std::memory_order_relaxed)) detail::add_flops(flops);
}

/// A user-named range (torch.profiler.record_function): the events inside nest under it.
class Range {
 public:
  explicit Range(const std::string& name) : open_(detail::recording.load(std::memory_order_relaxed)) {
    if (open_) detail::open(name.c_str(), detail::kRange, {}, true);
  }
  ~Range() {
    if (open_) detail::close();
  }
  Range(const Range&) = delete;
  Range& operator=(const Range&) = delete;

 private:
  bool open_;
};

/// An op's forward, from its first line to its return: `const profile::OpScope scope("linear", {&x, &w});`
/// A const char* name must be a string literal; a std::string is copied.
class OpScope {
 public:
  OpScope(const char* name, std::initializer_list<const Tensor*> inputs)
      : open_(detail::recording.load(std::memory_order_relaxed)) {
    if (open_) detail::open(name, detail::kOp, inputs, false);
  }
  OpScope(const std::string& name, std::initializer_list<const Tensor*> inputs)
      : open_(detail::recording.load(std::memory_order_relaxed)) {
    if (open_) detail::open(name.c_str(), detail::kOp, inputs, true);
  }
  ~OpScope() {
    if (open_) detail::close();
  }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

 private:
  bool open_;
};

/// A matrix product C (m, n) = op(A) (m, k) op(B) (k, n): an "sgemm" event with its 2 m n k FLOPs,
/// recorded when called outside any parallel region and GemmEventsOff (inside those, the product is
/// part of its caller's kernel, which counts the FLOPs itself).
class GemmScope {
 public:
  GemmScope(int64_t m, int64_t n, int64_t k)
      : open_(detail::recording.load(std::memory_order_relaxed) && detail::open_gemm(m, n, k)) {}
  ~GemmScope() {
    if (open_) detail::close();
  }
  GemmScope(const GemmScope&) = delete;
  GemmScope& operator=(const GemmScope&) = delete;

 private:
  bool open_;
};

/// While it lives, this thread's matrix products make no events: a kernel that runs its products
/// on several threads counts their FLOPs itself (add_flops), whatever the thread count.
class GemmEventsOff {
 public:
  GemmEventsOff();
  ~GemmEventsOff();
  GemmEventsOff(const GemmEventsOff&) = delete;
  GemmEventsOff& operator=(const GemmEventsOff&) = delete;

 private:
  bool previous_;
};

}  // namespace ag::profile
