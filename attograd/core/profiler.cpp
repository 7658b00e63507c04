#include "attograd/core/profiler.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <omp.h>
#include <unordered_map>

#include "attograd/core/error.h"

namespace ag::profile {

namespace detail {
std::atomic<bool> recording{false};
}  // namespace detail

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

const char* category_name(int kind) {
  switch (kind) {
    case detail::kBackward: return "backward";
    case detail::kGemm: return "gemm";
    case detail::kRange: return "range";
    default: return "op";
  }
}

// Event names (with their shapes and kind) are interned once: events carry a small key.
struct KeyInfo {
  std::string name, shapes;
  int kind;
};

struct Keys {
  std::mutex mutex;
  std::vector<KeyInfo> info;
  std::unordered_map<std::string, int32_t> index;

  int32_t intern(const std::string& name, const std::string& shapes, int kind) {
    std::string id = name;
    id += '\x1f';
    id += shapes;
    id += static_cast<char>('0' + kind);
    std::lock_guard lock(mutex);
    auto [it, fresh] = index.try_emplace(std::move(id), static_cast<int32_t>(info.size()));
    if (fresh) info.push_back({kind == detail::kBackward ? name + " backward" : name, shapes, kind});
    return it->second;
  }
  KeyInfo get(int32_t key) {
    std::lock_guard lock(mutex);
    return info[key];
  }
};
Keys& keys() {
  static Keys k;
  return k;
}

struct OpenEvent {
  int32_t key;
  int64_t start, child_ns = 0;
  double flops = 0;
  int64_t bytes = 0;
};
struct Stat {
  int64_t calls = 0, total_ns = 0, self_ns = 0;
  double flops = 0;
  int64_t bytes = 0;
};
struct TraceEvent {
  int32_t key;
  int64_t start, duration;
  double flops;
  int64_t bytes;
};

// What one thread recorded in the current session. Its own thread writes it, the profiler reads it
// once stopped; the mutex orders the two.
struct ThreadLog {
  std::mutex mutex;
  int tid = 0;
  uint64_t session = 0;
  std::vector<OpenEvent> stack;
  std::unordered_map<int32_t, Stat> stats;
  std::vector<TraceEvent> trace;
  int64_t dropped = 0;
  // Interned keys of this thread: by name pointer (literals) and by content (everything else).
  std::unordered_map<const void*, int32_t> by_pointer[4];
  std::unordered_map<std::string, int32_t> by_content;
};

struct Registry {
  std::mutex mutex;
  std::vector<std::shared_ptr<ThreadLog>> logs;  // every thread that ever recorded, by tid
  std::atomic<uint64_t> session{0};              // the current session (0: none yet)
  Options options;
  std::atomic<int64_t> trace_budget{0};
  std::atomic<bool> alive{false};  // a Profiler exists (recording or not yet read)
};
Registry& registry() {
  static Registry r;
  return r;
}

thread_local std::shared_ptr<ThreadLog> this_thread;
thread_local bool gemm_events_off = false;

// This thread's log, emptied when it last recorded in an earlier session. Called with recording on.
ThreadLog& thread_log() {
  Registry& r = registry();
  if (!this_thread) {
    auto log = std::make_shared<ThreadLog>();
    std::lock_guard lock(r.mutex);
    log->tid = static_cast<int>(r.logs.size());
    r.logs.push_back(log);
    this_thread = std::move(log);
  }
  return *this_thread;
}

// Locks this thread's log for the current session, resetting it if it holds an older one.
std::unique_lock<std::mutex> lock_current(ThreadLog& log) {
  std::unique_lock lock(log.mutex);
  const uint64_t session = registry().session;
  if (log.session != session) {
    log.session = session;
    log.stack.clear();
    log.stats.clear();
    log.trace.clear();
    log.dropped = 0;
  }
  return lock;
}

std::string shapes_text(const std::vector<Shape>& shapes) {
  std::string s = "[";
  for (size_t i = 0; i < shapes.size(); ++i) s += (i ? ", " : "") + fmt::format("{}", shapes[i]);
  return s + "]";
}

void push(ThreadLog& log, int32_t key) { log.stack.push_back({key, now_ns()}); }

int32_t key_by_content(ThreadLog& log, const char* name, const std::string& shapes, int kind) {
  std::string id = fmt::format("{}\x1f{}\x1f{}", name, shapes, kind);
  auto it = log.by_content.find(id);
  if (it != log.by_content.end()) return it->second;
  const int32_t key = keys().intern(name, shapes, kind);
  log.by_content.emplace(std::move(id), key);
  return key;
}

void open_keyed(const char* name, int kind, const std::string* shapes, bool copy_name) {
  ThreadLog& log = thread_log();
  auto lock = lock_current(log);
  if (shapes) return push(log, key_by_content(log, name, *shapes, kind));
  if (copy_name) return push(log, key_by_content(log, name, "", kind));
  auto& cache = log.by_pointer[kind];
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, keys().intern(name, "", kind)).first;
  push(log, it->second);
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (static_cast<unsigned char>(c) < 0x20) out += fmt::format("\\u{:04x}", static_cast<int>(c));
    else out += c;
  }
  return out + "\"";
}

}  // namespace

namespace detail {

void open(const char* name, int kind, std::initializer_list<const Tensor*> inputs, bool copy_name) {
  if (!registry().options.record_shapes) return open_keyed(name, kind, nullptr, copy_name);
  std::vector<Shape> shapes;
  for (const Tensor* t : inputs)
    if (t && t->defined()) shapes.push_back(t->shape());
  const std::string text = shapes_text(shapes);
  open_keyed(name, kind, &text, copy_name);
}

void open_with_shapes(const char* name, int kind, const std::vector<Shape>& shapes, bool copy_name) {
  if (!registry().options.record_shapes) return open_keyed(name, kind, nullptr, copy_name);
  const std::string text = shapes_text(shapes);
  open_keyed(name, kind, &text, copy_name);
}

void close() {
  const int64_t end = now_ns();
  ThreadLog& log = thread_log();
  auto lock = lock_current(log);
  if (log.stack.empty()) return;  // opened before this session began
  const OpenEvent e = log.stack.back();
  log.stack.pop_back();
  const int64_t duration = end - e.start;
  Stat& s = log.stats[e.key];
  s.calls += 1;
  s.total_ns += duration;
  s.self_ns += duration - e.child_ns;
  s.flops += e.flops;
  s.bytes += e.bytes;
  if (!log.stack.empty()) {
    log.stack.back().child_ns += duration;
    log.stack.back().flops += e.flops;
  }
  if (registry().trace_budget.fetch_sub(1, std::memory_order_relaxed) > 0)
    log.trace.push_back({e.key, e.start, duration, e.flops, e.bytes});
  else
    log.dropped += 1;
}

bool open_gemm(int64_t m, int64_t n, int64_t k) {
  if (gemm_events_off || omp_get_level() > 0) return false;
  open_with_shapes("sgemm", kGemm, {Shape{m, k}, Shape{k, n}}, false);
  add_flops(2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k));
  return true;
}

void add_flops(double flops) {
  ThreadLog& log = thread_log();
  auto lock = lock_current(log);
  if (!log.stack.empty()) log.stack.back().flops += flops;
}

void add_bytes(int64_t bytes) {
  ThreadLog& log = thread_log();
  auto lock = lock_current(log);
  if (!log.stack.empty()) log.stack.back().bytes += bytes;
}

}  // namespace detail

bool active() { return detail::recording.load(std::memory_order_relaxed); }

GemmEventsOff::GemmEventsOff() : previous_(gemm_events_off) { gemm_events_off = true; }
GemmEventsOff::~GemmEventsOff() { gemm_events_off = previous_; }

// ---- Profiler -----------------------------------------------------------------------------------

struct Profiler::Result {
  std::vector<Row> rows;      // unsorted, one per key
  std::vector<std::string> categories;
  struct Event {
    int tid;
    std::string name, category, shapes;
    int64_t start, duration;
    double flops;
    int64_t bytes;
  };
  std::vector<Event> events;
  int64_t dropped = 0;
};

Profiler::Profiler(Options options) : options_(options) {
  Registry& r = registry();
  check(!r.alive.exchange(true), "Profiler: another profiler is alive already (one at a time; is ATTOGRAD_PROFILE set?)");
  check(options.max_trace_events >= 0, "Profiler: max_trace_events {} is negative", options.max_trace_events);
  {
    std::lock_guard lock(r.mutex);
    r.session.fetch_add(1);
    r.options = options;
    r.trace_budget = options.max_trace_events;
  }
  running_ = true;
  start_ns_ = now_ns();
  detail::recording = true;
}

Profiler::~Profiler() {
  stop();
  registry().alive = false;
}

void Profiler::stop() {
  if (!running_) return;
  detail::recording = false;
  stop_ns_ = now_ns();
  running_ = false;
  Registry& r = registry();
  auto result = std::make_shared<Result>();
  std::unordered_map<int32_t, size_t> row_of;
  std::unordered_map<int32_t, KeyInfo> info;
  auto key_info = [&](int32_t key) -> const KeyInfo& {
    auto it = info.find(key);
    if (it == info.end()) it = info.emplace(key, keys().get(key)).first;
    return it->second;
  };
  std::vector<std::shared_ptr<ThreadLog>> logs;
  {
    std::lock_guard lock(r.mutex);
    logs = r.logs;
  }
  for (const auto& log : logs) {
    std::lock_guard lock(log->mutex);
    if (log->session != r.session) continue;
    for (const auto& [key, s] : log->stats) {
      auto [it, fresh] = row_of.try_emplace(key, result->rows.size());
      if (fresh) {
        const KeyInfo& k = key_info(key);
        result->rows.push_back(Row{k.name, k.shapes});
        result->categories.push_back(category_name(k.kind));
      }
      Row& row = result->rows[it->second];
      row.calls += s.calls;
      row.total_ms += static_cast<double>(s.total_ns) * 1e-6;
      row.self_ms += static_cast<double>(s.self_ns) * 1e-6;
      row.flops += s.flops;
      row.bytes += s.bytes;
    }
    for (const TraceEvent& e : log->trace) {
      const KeyInfo& k = key_info(e.key);
      result->events.push_back({log->tid, k.name, category_name(k.kind), k.shapes, e.start - start_ns_, e.duration,
                                e.flops, e.bytes});
    }
    result->dropped += log->dropped;
  }
  result_ = std::move(result);
}

double Profiler::wall_ms() const { return static_cast<double>((running_ ? now_ns() : stop_ns_) - start_ns_) * 1e-6; }

int64_t Profiler::dropped_trace_events() const { return result_ ? result_->dropped : 0; }

std::vector<Row> Profiler::rows(SortBy sort) {
  stop();
  std::vector<Row> rows = result_->rows;
  auto value = [sort](const Row& r) {
    switch (sort) {
      case SortBy::TotalTime: return r.total_ms;
      case SortBy::Calls: return static_cast<double>(r.calls);
      case SortBy::Flops: return r.flops;
      default: return r.self_ms;
    }
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) { return value(a) > value(b); });
  return rows;
}

std::string Profiler::table(SortBy sort, int64_t limit) {
  const std::vector<Row> rows = this->rows(sort);
  double self_sum = 0, gemm_flops = 0;
  std::unordered_map<std::string, double> self_by_category;
  for (size_t i = 0; i < result_->rows.size(); ++i) {
    const Row& r = result_->rows[i];
    self_sum += r.self_ms;
    self_by_category[result_->categories[i]] += r.self_ms;
    if (result_->categories[i] == "gemm") gemm_flops += r.flops;
  }
  size_t width = 4;
  for (const Row& r : rows) width = std::max(width, r.name.size());
  width = std::min<size_t>(width, 48);
  const bool shapes = options_.record_shapes;
  std::string out = fmt::format("{:<{}} {:>8} {:>11} {:>7} {:>11} {:>9} {:>9} {:>10}{}\n", "name", width, "calls",
                                "self ms", "self %", "total ms", "GFLOP", "GFLOP/s", "alloc MB",
                                shapes ? "  input shapes" : "");
  const int64_t shown = limit > 0 ? std::min<int64_t>(limit, static_cast<int64_t>(rows.size()))
                                  : static_cast<int64_t>(rows.size());
  for (int64_t i = 0; i < shown; ++i) {
    const Row& r = rows[i];
    const std::string rate = r.flops > 0 && r.total_ms > 0 ? fmt::format("{:.1f}", r.flops / r.total_ms * 1e-6) : "";
    const std::string gflop = r.flops > 0 ? fmt::format("{:.2f}", r.flops * 1e-9) : "";
    out += fmt::format("{:<{}} {:>8} {:>11.2f} {:>6.1f}% {:>11.2f} {:>9} {:>9} {:>10.1f}{}\n",
                       r.name.substr(0, width), width, r.calls, r.self_ms,
                       self_sum > 0 ? 100.0 * r.self_ms / self_sum : 0.0, r.total_ms, gflop, rate,
                       static_cast<double>(r.bytes) / (1 << 20), shapes ? "  " + r.shapes : "");
  }
  if (shown < static_cast<int64_t>(rows.size()))
    out += fmt::format("... {} more rows\n", static_cast<int64_t>(rows.size()) - shown);
  const double wall = wall_ms();
  auto share = [&](const char* category) {
    const double ms = self_by_category[category];
    return fmt::format("{:.1f} ms ({:.1f}%)", ms, wall > 0 ? 100.0 * ms / wall : 0.0);
  };
  out += fmt::format("wall time {:.1f} ms; self time in forward ops {}, in backward {}, in matrix products {}", wall,
                     share("op"), share("backward"), share("gemm"));
  if (self_by_category["gemm"] > 0)
    out += fmt::format(" at {:.1f} GFLOP/s", gemm_flops / self_by_category["gemm"] * 1e-6);
  out += fmt::format(", in ranges (outside any op) {}\n", share("range"));
  if (result_->dropped > 0)
    out += fmt::format("({} events beyond max_trace_events are in the table but not in the trace)\n", result_->dropped);
  return out;
}

void Profiler::write_chrome_trace(const std::string& path) {
  stop();
  std::string json = "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n";
  int threads = 0;
  for (const auto& e : result_->events) threads = std::max(threads, e.tid + 1);
  for (int t = 0; t < threads; ++t)
    json += fmt::format("{{\"ph\": \"M\", \"name\": \"thread_name\", \"pid\": 0, \"tid\": {}, \"args\": {{\"name\": "
                        "\"thread {}\"}}}},\n",
                        t, t);
  for (const auto& e : result_->events) {
    json += fmt::format("{{\"ph\": \"X\", \"pid\": 0, \"tid\": {}, \"name\": {}, \"cat\": \"{}\", \"ts\": {:.3f}, "
                        "\"dur\": {:.3f}, \"args\": {{",
                        e.tid, json_string(e.name), e.category, static_cast<double>(e.start) * 1e-3,
                        static_cast<double>(e.duration) * 1e-3);
    std::string args;
    if (!e.shapes.empty()) args += "\"input shapes\": " + json_string(e.shapes);
    if (e.flops > 0) args += fmt::format("{}\"flops\": {:.0f}", args.empty() ? "" : ", ", e.flops);
    if (e.bytes > 0) args += fmt::format("{}\"bytes allocated\": {}", args.empty() ? "" : ", ", e.bytes);
    json += args + "}},\n";
  }
  json += fmt::format("{{\"ph\": \"M\", \"name\": \"process_name\", \"pid\": 0, \"args\": {{\"name\": \"attograd\"}}}}\n]}}\n");
  std::FILE* f = std::fopen(path.c_str(), "wb");
  check(f != nullptr, "profiler: cannot write the trace to {}", path);
  const bool written = std::fwrite(json.data(), 1, json.size(), f) == json.size();
  const bool closed = std::fclose(f) == 0;
  check(written && closed, "profiler: writing the trace to {} failed (disk full?)", path);
}

// ---- ATTOGRAD_PROFILE ---------------------------------------------------------------------------

namespace {

// Profiles the whole program when ATTOGRAD_PROFILE names a trace file: the table goes to stderr
// and the trace to that file when the program exits.
struct ProgramProfile {
  std::unique_ptr<Profiler> profiler;
  std::string path;
  ProgramProfile() {
    keys();  // made before this object, so destroyed after it reads them at exit
    const char* file = std::getenv("ATTOGRAD_PROFILE");
    if (!file || !*file) return;
    path = file;
    Options options;
    const char* shapes = std::getenv("ATTOGRAD_PROFILE_SHAPES");
    options.record_shapes = shapes && *shapes && std::string(shapes) != "0";
    profiler = std::make_unique<Profiler>(options);
  }
  ~ProgramProfile() {
    if (!profiler) return;
    try {
      std::fputs(profiler->table().c_str(), stderr);
      profiler->write_chrome_trace(path);
      std::fprintf(stderr, "ATTOGRAD_PROFILE: wrote the trace to %s (chrome://tracing, ui.perfetto.dev)\n", path.c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ATTOGRAD_PROFILE: %s\n", e.what());
    }
  }
};
ProgramProfile program_profile;

}  // namespace

}  // namespace ag::profile
