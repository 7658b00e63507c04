// Graph lifetime: nodes are freed after backward and when tensors leave scope, long chains neither
// overflow the stack in backward nor in destruction, and training loops do not leak.
#include <gtest/gtest.h>

#include <memory>

#include "attograd/core/core.h"

namespace {

using ag::Tensor;

TEST(Memory, NodesAreFreedAfterBackwardAndLeavingScope) {
  Tensor w = ag::full({4}, 0.5f).requires_grad_();
  std::vector<std::weak_ptr<ag::Node>> nodes;
  {
    Tensor h = ag::tanh(w * 2.0f);
    Tensor loss = ag::sum(ag::exp(h) + h);
    // Hold weak references to every node of the graph.
    std::vector<std::shared_ptr<ag::Node>> stack{loss.grad_fn()};
    while (!stack.empty()) {
      auto n = stack.back();
      stack.pop_back();
      nodes.push_back(n);
      for (const ag::Edge& e : n->inputs())
        if (e.node) stack.push_back(e.node);
    }
    EXPECT_GE(nodes.size(), 5u);
    loss.backward();
    for (auto& wn : nodes) {
      if (auto n = wn.lock()) {
        EXPECT_FALSE(n->alive()) << n->name() << " kept its backward after backward()";
      }
    }
  }
  for (auto& wn : nodes) EXPECT_TRUE(wn.expired());
}

TEST(Memory, UnusedGraphIsFreedWhenItsTensorsGo) {
  Tensor w = ag::ones({4}).requires_grad_();
  std::weak_ptr<ag::Node> node;
  {
    Tensor y = ag::sigmoid(w);
    node = y.grad_fn();
    EXPECT_FALSE(node.expired());
  }
  EXPECT_TRUE(node.expired());
}

TEST(Memory, TenThousandTrainingStepsEndWhereTheyStarted) {
  ag::Generator gen(0);
  Tensor w = ag::randn({8, 8}, gen).requires_grad_();
  Tensor b = ag::zeros({8}).requires_grad_();
  Tensor x = ag::randn({4, 8}, gen);
  const int64_t nodes_before = ag::Node::live_count();
  const int64_t bytes_before = ag::live_storage_bytes();
  for (int step = 0; step < 10000; ++step) {
    // A small model from core ops: h = tanh(mean_rows(x) * colsum(w) + b), loss = mean(h^2)
    Tensor h = ag::tanh(ag::mean(x, {0}) * ag::sum(w, {0}) + b);
    Tensor loss = ag::mean(h * h);
    loss.backward();
    ag::NoGradGuard no_grad;
    w.add_(w.grad(), -0.01f);
    b.add_(b.grad(), -0.01f);
    w.zero_grad();
    b.zero_grad();
  }
  EXPECT_EQ(ag::Node::live_count(), nodes_before);
  EXPECT_EQ(ag::live_storage_bytes(), bytes_before);
}

TEST(Memory, HundredThousandOpChainBackpropagatesWithoutStackOverflow) {
  Tensor x = ag::full({2}, 1.0f).requires_grad_();
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = y * 1.0f + 0.0f;  // 200,000 nodes deep
  ag::sum(y).backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{1, 1}));
}

TEST(Memory, HundredThousandOpChainIsDestroyedWithoutStackOverflow) {
  const int64_t nodes_before = ag::Node::live_count();
  {
    Tensor x = ag::full({2}, 1.0f).requires_grad_();
    Tensor y = x;
    for (int i = 0; i < 100000; ++i) y = ag::tanh(y);
    EXPECT_GE(ag::Node::live_count() - nodes_before, 100000);
  }  // never backpropagated: the whole chain dies with y
  EXPECT_EQ(ag::Node::live_count(), nodes_before);
}

}  // namespace
