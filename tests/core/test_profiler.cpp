// The profiler (ag::profile) and the graph printer (ag::to_dot): what they record is what ran.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <nlohmann/json.hpp>
#include <thread>

#include "attograd/core/core.h"
#include "tests/test_util.h"

namespace {

using ag::Tensor;
namespace profile = ag::profile;

std::map<std::string, profile::Row> by_name(const std::vector<profile::Row>& rows) {
  std::map<std::string, profile::Row> out;
  for (const profile::Row& r : rows) out[r.name] = r;
  return out;
}

// loss = sum(relu(x W^T + b)) for x (4, 3), W (2, 3), b (2), and its backward.
void small_step(const Tensor& w, const Tensor& b) {
  const Tensor x = ag::full({4, 3}, 0.5f);
  ag::sum(ag::relu(ag::linear(x, w, b))).backward();
}

TEST(Profiler, RecordsEachOpsForwardBackwardCallsFlopsAndBytes) {
  const Tensor w = ag::full({2, 3}, 0.1f).requires_grad_(), b = ag::zeros({2}).requires_grad_();
  EXPECT_FALSE(profile::active());
  profile::Profiler prof;
  EXPECT_TRUE(profile::active());
  small_step(w, b);
  small_step(w, b);
  prof.stop();
  EXPECT_FALSE(profile::active());
  const auto rows = by_name(prof.rows());
  for (const char* name : {"linear", "linear backward", "relu", "relu backward", "sum", "sum backward", "sgemm"})
    ASSERT_TRUE(rows.count(name)) << name << " is missing";
  EXPECT_EQ(rows.at("linear").calls, 2);
  EXPECT_EQ(rows.at("linear backward").calls, 2);
  // Per step: y = x W^T (4 x 2 x 3), and in backward dx = dy W and dW = dy^T x (no dx: x needs no
  // grad, so one product): 2 m n k FLOPs each.
  EXPECT_EQ(rows.at("sgemm").calls, 4);
  EXPECT_DOUBLE_EQ(rows.at("sgemm").flops, 4 * 2.0 * 4 * 2 * 3);
  EXPECT_DOUBLE_EQ(rows.at("linear").flops, 2 * 2.0 * 4 * 2 * 3);  // its products count in it
  // linear allocates its output (4, 2) and nothing else.
  EXPECT_EQ(rows.at("linear").bytes, 2 * 4 * 2 * 4);
  for (const auto& [name, r] : rows) {
    EXPECT_GE(r.total_ms, r.self_ms) << name;
    EXPECT_GE(r.self_ms, 0.0) << name;
  }
  // The linear's total holds its product's time: more than its self time.
  EXPECT_GT(rows.at("linear").total_ms, rows.at("linear").self_ms);
  const std::string table = prof.table();
  ag::testing::expect_mentions(table, {"linear backward", "sgemm", "GFLOP/s", "wall time", "self %"});
}

TEST(Profiler, NothingIsRecordedWithoutAProfiler) {
  const Tensor w = ag::full({2, 3}, 0.1f).requires_grad_(), b = ag::zeros({2}).requires_grad_();
  small_step(w, b);  // before: not seen by the profiler below
  profile::Profiler prof;
  prof.stop();
  small_step(w, b);  // after stop: not seen either
  EXPECT_TRUE(prof.rows().empty());
}

TEST(Profiler, CountsTheSameFlopsAtAnyThreadCount) {
  // Batched products run one per thread with 2 threads, inline with 1; an LSTM's directions too.
  const Tensor a = ag::full({8, 64, 32}, 0.5f), b = ag::full({8, 32, 64}, 0.25f);
  const Tensor x = ag::full({4, 6, 8}, 0.1f).requires_grad_();
  const ag::LSTMWeights w{ag::full({16, 8}, 0.1f).requires_grad_(), ag::full({16, 4}, 0.1f).requires_grad_(), {}, {}};
  const int saved_threads = ag::get_num_threads();
  for (int threads : {1, 2}) {
    ag::set_num_threads(threads);
    profile::Profiler prof;
    ag::matmul(a, b);
    const auto out = ag::lstm_bidirectional_layer(x, ag::IntTensor(ag::Shape{0}), {}, {}, {}, {}, w, w);
    ag::sum(out.forward.output + out.reverse.output).backward();
    const auto rows = by_name(prof.rows());
    EXPECT_DOUBLE_EQ(rows.at("matmul").flops, 2.0 * 8 * 64 * 64 * 32);
    // Per direction: input projection 2 N I 4H, recurrence 2 (N - B) H 4H (no h0 at step 0).
    const double forward = 2 * (2.0 * 24 * 8 * 16 + 2.0 * 20 * 4 * 16);
    EXPECT_DOUBLE_EQ(rows.at("lstm_bidirectional_layer").flops, forward);
    EXPECT_DOUBLE_EQ(rows.at("lstm_bidirectional_layer backward").flops, 2 * forward);
  }
  ag::set_num_threads(saved_threads);
}

TEST(Profiler, RangesNestTheOpsRunInsideThem) {
  profile::Profiler prof;
  {
    profile::Range outer("my step");
    {
      profile::Range inner("my forward");
      ag::exp(ag::ones({1000}));
    }
    ag::tanh(ag::ones({1000}));
  }
  const auto rows = by_name(prof.rows());
  const profile::Row &outer = rows.at("my step"), &inner = rows.at("my forward");
  EXPECT_EQ(outer.calls, 1);
  // Self time is what the range did outside the events nested in it (on the same thread).
  EXPECT_NEAR(outer.self_ms, outer.total_ms - inner.total_ms - rows.at("tanh").total_ms, 1e-3);
  EXPECT_NEAR(inner.self_ms, inner.total_ms - rows.at("exp").total_ms, 1e-3);
  EXPECT_GE(outer.total_ms, inner.total_ms);
}

TEST(Profiler, GroupsByInputShapesWhenAsked) {
  profile::Options options;
  options.record_shapes = true;
  profile::Profiler prof(options);
  ag::relu(ag::ones({2, 3}));
  ag::relu(ag::ones({2, 3}));
  ag::relu(ag::ones({5}));
  const auto rows = prof.rows(profile::SortBy::Calls);
  ASSERT_GE(rows.size(), 2u);
  EXPECT_EQ(rows[0].name, "relu");
  EXPECT_EQ(rows[0].shapes, "[(2, 3)]");
  EXPECT_EQ(rows[0].calls, 2);
  EXPECT_EQ(rows[1].shapes, "[(5)]");
  EXPECT_EQ(rows[1].calls, 1);
  ag::testing::expect_mentions(prof.table(), {"input shapes", "[(2, 3)]"});
}

TEST(Profiler, WritesAChromeTraceWithOneRowPerThread) {
  ag::testing::TempDir dir;
  const std::string path = (dir.path / "trace.json").string();
  const Tensor w = ag::full({2, 3}, 0.1f).requires_grad_(), b = ag::zeros({2}).requires_grad_();
  profile::Profiler prof;
  {
    profile::Range r("main \"step\"");  // quotes must come out escaped
    small_step(w, b);
  }
  std::thread other([] { ag::exp(ag::ones({10})); });
  other.join();
  prof.write_chrome_trace(path);
  std::ifstream in(path);
  const nlohmann::json trace = nlohmann::json::parse(in);  // throws if the JSON is malformed
  std::map<std::string, std::vector<nlohmann::json>> events;
  std::set<int> tids;
  for (const auto& e : trace.at("traceEvents"))
    if (e.at("ph") == "X") {
      events[e.at("name")].push_back(e);
      tids.insert(e.at("tid").get<int>());
    }
  ASSERT_EQ(events["main \"step\""].size(), 1u);
  ASSERT_EQ(events["linear"].size(), 1u);
  EXPECT_EQ(tids.size(), 2u);  // this thread and the other
  EXPECT_NE(events["exp"].at(0).at("tid"), events["linear"].at(0).at("tid"));
  // The linear's forward product lies inside the linear, which lies inside the range.
  auto begin = [](const nlohmann::json& e) { return e.at("ts").get<double>(); };
  auto end = [&](const nlohmann::json& e) { return begin(e) + e.at("dur").get<double>(); };
  const auto& step = events["main \"step\""][0];
  const auto& linear = events["linear"][0];
  EXPECT_LE(begin(step), begin(linear));
  EXPECT_LE(end(linear), end(step) + 1e-3);
  bool product_inside = false;
  for (const auto& g : events["sgemm"])
    product_inside |= begin(g) >= begin(linear) && end(g) <= end(linear) + 1e-3 && g.at("args").at("flops") == 48;
  EXPECT_TRUE(product_inside);
  EXPECT_EQ(linear.at("cat"), "op");
  EXPECT_EQ(events["linear backward"].at(0).at("cat"), "backward");
}

TEST(Profiler, KeepsAtMostMaxTraceEventsButCountsThemAll) {
  profile::Options options;
  options.max_trace_events = 3;
  profile::Profiler prof(options);
  for (int i = 0; i < 10; ++i) ag::relu(ag::ones({4}));
  EXPECT_EQ(by_name(prof.rows()).at("relu").calls, 10);
  EXPECT_EQ(prof.dropped_trace_events(), 7);
  ag::testing::expect_mentions(prof.table(), {"7 events"});
}

TEST(Profiler, OnlyOneAtATimeAndAFreshOneStartsEmpty) {
  {
    profile::Profiler first;
    ag::testing::expect_mentions(ag::testing::error_of([] { profile::Profiler second; }), {"another profiler"});
    ag::relu(ag::ones({4}));
  }
  profile::Profiler again;
  ag::exp(ag::ones({4}));
  const auto rows = by_name(again.rows());
  EXPECT_EQ(rows.count("relu"), 0u);
  EXPECT_EQ(rows.at("exp").calls, 1);
}

TEST(Profiler, ARangeOpenAcrossStopIsDropped) {
  auto prof = std::make_unique<profile::Profiler>();
  {
    profile::Range r("spans the stop");
    prof->stop();
  }
  EXPECT_TRUE(prof->rows().empty());
  prof.reset();
  profile::Profiler next;  // the dangling range left nothing behind in this thread's log
  ag::relu(ag::ones({4}));
  EXPECT_EQ(by_name(next.rows()).at("relu").calls, 1);
}

TEST(Profiler, AnUnwritableTraceIsAnErrorNamingTheFile) {
  profile::Profiler prof;
  ag::relu(ag::ones({4}));
  ag::testing::expect_mentions(ag::testing::error_of([&] { prof.write_chrome_trace("/nonexistent-dir/t.json"); }),
                               {"/nonexistent-dir/t.json"});
}

// ---- to_dot -------------------------------------------------------------------------------------

TEST(ToDot, DrawsOpsLeavesWithTheirNamesAndInputsWithoutGrad) {
  const Tensor w = ag::full({2, 3}, 0.1f).requires_grad_(), b = ag::zeros({2}).requires_grad_();
  const Tensor x = ag::full({4, 3}, 0.5f);
  const Tensor loss = ag::sum(ag::relu(ag::linear(x, w, b)));
  const std::string dot = ag::to_dot(loss, {{"layer.weight", w}, {"layer.bias", b}});
  ag::testing::expect_mentions(dot, {"digraph autograd", "linear\\n(4, 2)", "relu\\n(4, 2)", "sum\\n()",
                                     "layer.weight\\n(2, 3)", "layer.bias\\n(2)", "(4, 3)\\nno grad"});
  // 3 ops, 2 leaves, 1 input without grad; arrows: x, W, b -> linear -> relu -> sum.
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t at = dot.find(what); at != std::string::npos; at = dot.find(what, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("shape=box"), 3u);
  EXPECT_EQ(count("fillcolor=lightblue"), 2u);
  EXPECT_EQ(count("shape=note"), 1u);
  EXPECT_EQ(count("->"), 5u);
}

TEST(ToDot, ALeafAndAFreedGraph) {
  const Tensor w = ag::ones({3}).requires_grad_();
  ag::testing::expect_mentions(ag::to_dot(w, {{"w", w}}), {"w\\n(3)", "lightblue"});
  const Tensor y = ag::sum(ag::exp(w));
  y.backward();
  ag::testing::expect_mentions(ag::to_dot(y), {"sum", "freed by backward"});
  ag::testing::expect_mentions(ag::testing::error_of([] { ag::to_dot(Tensor()); }), {"to_dot", "undefined"});
}

}  // namespace
