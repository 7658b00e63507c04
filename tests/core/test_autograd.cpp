// The engine: leaves, accumulation, retain_graph, NoGradGuard, error messages.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/test_util.h"
#include "attograd/core/core.h"

namespace {

using ag::testing::error_of;

using ag::Tensor;

TEST(Autograd, SimpleChainRule) {
  // y = sum(x * x + 3x) -> dy/dx = 2x + 3
  Tensor x = ag::from_data({1, -2, 0.5f}, {3}).requires_grad_();
  Tensor y = ag::sum(x * x + 3.0f * x);
  EXPECT_FALSE(y.is_leaf());
  EXPECT_TRUE(y.requires_grad());
  y.backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{5, -1, 4}));
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCallsUntilZeroGrad) {
  Tensor x = ag::from_data({2}, {1}).requires_grad_();
  ag::sum(x * 3.0f).backward();
  ag::sum(x * 3.0f).backward();
  EXPECT_EQ(x.grad().item(), 6.0f);
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
  ag::sum(x * 3.0f).backward();
  EXPECT_EQ(x.grad().item(), 3.0f);
}

TEST(Autograd, DiamondSumsBothPaths) {
  // a used twice: z = a*b + a  ->  dz/da = b + 1
  Tensor a = ag::from_data({1, 2}, {2}).requires_grad_();
  Tensor b = ag::from_data({3, 4}, {2}).requires_grad_();
  Tensor z = ag::sum(a * b + a);
  z.backward();
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{4, 5}));
  EXPECT_EQ(b.grad().to_vector(), (std::vector<float>{1, 2}));
}

TEST(Autograd, LeafGradientNeverAliasesAnotherTensor) {
  // add's backward hands the same dy to both inputs; the two leaves must not share a buffer.
  Tensor a = ag::ones({3}).requires_grad_(), b = ag::ones({3}).requires_grad_();
  (a + b).backward(ag::ones({3}));
  EXPECT_NE(a.grad().storage(), b.grad().storage());
  ag::sum(a * 5.0f).backward();
  EXPECT_EQ(a.grad().to_vector(), (std::vector<float>{6, 6, 6}));
  EXPECT_EQ(b.grad().to_vector(), (std::vector<float>{1, 1, 1}));
}

TEST(Autograd, BackwardWithUpstreamGradient) {
  Tensor x = ag::from_data({1, 2}, {2}).requires_grad_();
  Tensor y = x * 2.0f;
  y.backward(ag::from_data({10, 100}, {2}));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{20, 200}));
}

TEST(Autograd, RetainGraphAllowsASecondBackward) {
  Tensor x = ag::from_data({1}, {1}).requires_grad_();
  Tensor y = ag::sum(ag::exp(x));
  y.backward({}, /*retain_graph=*/true);
  y.backward();
  EXPECT_FLOAT_EQ(x.grad().item(), 2 * std::exp(1.0f));
  const std::string msg = error_of([&] { y.backward(); });
  EXPECT_NE(msg.find("freed"), std::string::npos) << msg;
  EXPECT_NE(msg.find("retain_graph"), std::string::npos) << msg;
}

TEST(Autograd, NoGradGuardRecordsNothing) {
  Tensor x = ag::ones({2}).requires_grad_();
  {
    ag::NoGradGuard guard;
    EXPECT_FALSE(ag::grad_enabled());
    {
      ag::NoGradGuard nested;
    }
    EXPECT_FALSE(ag::grad_enabled());
    Tensor y = x * 2.0f;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
  }
  EXPECT_TRUE(ag::grad_enabled());
  EXPECT_TRUE((x * 2.0f).requires_grad());
}

TEST(Autograd, DetachCutsTheGraph) {
  Tensor x = ag::ones({2}).requires_grad_();
  Tensor y = (x * 2.0f).detach();
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(y.is_leaf());
  Tensor z = ag::sum(y * x);
  z.backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<float>{2, 2}));  // only the direct path
}

TEST(Autograd, ConstantsGetNoGradient) {
  Tensor w = ag::ones({2}).requires_grad_();
  Tensor c = ag::full({2}, 3.0f);
  ag::sum(w * c).backward();
  EXPECT_FALSE(c.grad().defined());
  EXPECT_EQ(w.grad().to_vector(), (std::vector<float>{3, 3}));
}

TEST(Autograd, BackwardFromALeaf) {
  Tensor x = ag::ones({1}).requires_grad_();
  x.backward();
  EXPECT_EQ(x.grad().item(), 1.0f);
}

TEST(Autograd, ReshapeAndCloneGradcheck) {
  ag::Generator gen(3);
  Tensor x = ag::uniform({2, 3, 4}, -1.0f, 1.0f, gen).requires_grad_();
  auto r = ag::gradcheck([](const std::vector<Tensor>& in) { return ag::tanh(in[0].reshape({4, -1})); }, {x});
  EXPECT_TRUE(r.ok) << "reshape: " << r.message;
  r = ag::gradcheck([](const std::vector<Tensor>& in) { return in[0].clone() * in[0]; }, {x});
  EXPECT_TRUE(r.ok) << "clone: " << r.message;
}

TEST(AutogradErrors, NonScalarWithoutUpstreamGradient) {
  Tensor x = ag::ones({2, 3}).requires_grad_();
  Tensor y = x * 2.0f;
  const std::string msg = error_of([&] { y.backward(); });
  EXPECT_NE(msg.find("not a scalar"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(2, 3)"), std::string::npos) << msg;
}

TEST(AutogradErrors, TensorThatNeedsNoGrad) {
  Tensor y = ag::ones({1}) * 2.0f;
  const std::string msg = error_of([&] { y.backward(); });
  EXPECT_NE(msg.find("does not require grad"), std::string::npos) << msg;
}

TEST(AutogradErrors, UpstreamGradientOfTheWrongShape) {
  Tensor x = ag::ones({2}).requires_grad_();
  Tensor y = x * 2.0f;
  const std::string msg = error_of([&] { y.backward(ag::ones({3})); });
  EXPECT_NE(msg.find("(3)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(2)"), std::string::npos) << msg;
}

TEST(AutogradErrors, RequiresGradOnANonLeafAndInPlaceOnAParameter) {
  Tensor x = ag::ones({2}).requires_grad_();
  Tensor y = x * 2.0f;
  EXPECT_THROW(y.requires_grad_(), ag::Error);
  const std::string msg = error_of([&] { x.add_(ag::ones({2})); });
  EXPECT_NE(msg.find("NoGradGuard"), std::string::npos) << msg;
  ag::NoGradGuard guard;  // as an optimizer step does
  x.add_(ag::ones({2}));
  EXPECT_EQ(x.to_vector(), (std::vector<float>{2, 2}));
}

TEST(AutogradErrors, ElementwiseShapeMismatchNamesOpAndShapes) {
  const std::string msg = error_of([] { ag::add(ag::ones({2, 3}), ag::ones({4})); });
  EXPECT_NE(msg.find("add"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(2, 3)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(4)"), std::string::npos) << msg;
  EXPECT_NE(error_of([] { ag::mul(ag::ones({2, 3}), ag::ones({3, 2})); }).find("mul"), std::string::npos);
}

TEST(AutogradErrors, ReduceBadDimNamesOp) {
  const std::string msg = error_of([] { ag::sum(ag::ones({2, 3}), {2}); });
  EXPECT_NE(msg.find("sum"), std::string::npos) << msg;
  EXPECT_NE(msg.find("dim 2"), std::string::npos) << msg;
  EXPECT_NE(error_of([] { ag::max(ag::ones({2, 3}), -3); }).find("max"), std::string::npos);
  EXPECT_NE(error_of([] { ag::expand(ag::ones({2, 3}), {3, 3}); }).find("expand"), std::string::npos);
}

// The engine's observer (attograd/dist's gradient reducer listens this way): begin() lists the
// leaves the graph reaches, leaf_ready() comes once per leaf, after its last use, with its final
// gradient, and after_node() after every node.
struct RecordingObserver : ag::BackwardObserver {
  std::vector<ag::TensorImpl*> reached;
  std::vector<std::pair<ag::TensorImpl*, std::vector<float>>> ready;  // the grad when it was final
  int nodes = 0;
  void begin(const std::vector<ag::TensorImpl*>& leaves) override { reached = leaves; }
  void leaf_ready(ag::TensorImpl& leaf) override {
    ready.push_back({&leaf, leaf.grad.defined() ? leaf.grad.to_vector() : std::vector<float>{}});
  }
  void after_node() override { ++nodes; }
};

TEST(BackwardObserver, SeesEachLeafOnceWithItsFinalGradientAndEveryNode) {
  const Tensor a = ag::testing::random_leaf({3}, 1), b = ag::testing::random_leaf({3}, 2);
  const Tensor unused = ag::testing::random_leaf({2}, 3);
  // a is used three times, at both ends of the graph; b once, late in backward.
  const Tensor y = ag::sum(ag::exp(a * b) + a) + ag::sum(a * a);
  RecordingObserver observer;
  {
    ag::BackwardObserverGuard guard(&observer);
    y.backward();
  }
  ASSERT_EQ(observer.reached.size(), 2u);
  EXPECT_TRUE((observer.reached[0] == a.impl() && observer.reached[1] == b.impl()) ||
              (observer.reached[0] == b.impl() && observer.reached[1] == a.impl()));
  ASSERT_EQ(observer.ready.size(), 2u);
  for (const auto& [leaf, grad] : observer.ready)
    EXPECT_EQ(grad, (leaf == a.impl() ? a : b).grad().to_vector()) << "the gradient grew after leaf_ready";
  EXPECT_GE(observer.nodes, 6);  // exp, two muls, add, two sums, the final add
  EXPECT_EQ(std::count_if(observer.ready.begin(), observer.ready.end(),
                          [&](const auto& r) { return r.first == unused.impl(); }),
            0);
  // Past the guard's scope the observer hears nothing.
  const size_t seen = observer.ready.size();
  ag::sum(a * b).backward();
  EXPECT_EQ(observer.ready.size(), seen);
}

}  // namespace

// Anomaly detection names the first op whose output is NaN (forward) or whose gradient is NaN or
// Inf (backward); off, the same graphs run without a word.
TEST(Autograd, DetectAnomalyNamesTheFirstOpAtFault) {
  const ag::Tensor x = ag::from_data({-1.0f, 4.0f}, {2}).requires_grad_();
  EXPECT_NO_THROW(ag::sum(ag::log(x)));  // NaN, unnoticed without detection
  {
    ag::DetectAnomalyGuard anomaly;
    EXPECT_TRUE(ag::detect_anomaly_enabled());
    ag::testing::expect_mentions(ag::testing::error_of([&] { ag::sum(ag::log(x)); }),
                                 {"anomaly", "'log'", "NaN", "output 0", "(2)", "flat index 0"});
    // An op fed a NaN tensor is told apart from the op that made the NaN.
    const ag::Tensor nan_leaf = ag::from_data({NAN, 1.0f}, {2}).requires_grad_();
    ag::testing::expect_mentions(ag::testing::error_of([&] { ag::exp(nan_leaf); }),
                                 {"anomaly", "'exp'", "received NaN in its input 0"});
    // sqrt at 0 is finite forward, infinite backward.
    const ag::Tensor zero = ag::from_data({0.0f, 4.0f}, {2}).requires_grad_();
    const ag::Tensor y = ag::sum(ag::sqrt(zero));
    ag::testing::expect_mentions(ag::testing::error_of([&] { y.backward(); }),
                                 {"anomaly", "backward of 'sqrt'", "Inf", "input 0", "flat index 0"});
    // -inf in forward is allowed: attention masks use it on purpose.
    const ag::Tensor scores = ag::from_data({-INFINITY, 1.0f}, {1, 2}).requires_grad_();
    EXPECT_NO_THROW(ag::sum(ag::softmax(scores, -1)).backward());
  }
  EXPECT_FALSE(ag::detect_anomaly_enabled()) << "the guard restores the previous mode";
}
