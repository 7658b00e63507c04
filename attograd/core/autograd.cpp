#include "attograd/core/autograd.h"

#include <atomic>
#include <cmath>
#include <unordered_map>

#include "attograd/core/error.h"
#include "attograd/core/ops/elementwise.h"
#include "attograd/core/ops/reduce.h"
#include "attograd/core/profiler.h"

namespace ag {

namespace {
std::atomic<int64_t> live_nodes{0};
thread_local bool grad_mode = true;
thread_local BackwardObserver* backward_observer = nullptr;
std::atomic<bool> anomaly_mode{false};

// The flat index of the first NaN in t (or of the first NaN or Inf, when `inf_too`), or -1.
int64_t first_non_finite(const Tensor& t, bool inf_too) {
  if (!t.defined()) return -1;
  const float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (std::isnan(p[i]) || (inf_too && std::isinf(p[i]))) return i;
  return -1;
}

// Anomaly detection in forward: an op's NaN output, blamed on a NaN input when there is one.
void check_forward_anomaly(const std::string& name, const std::vector<Tensor>& inputs,
                           const std::vector<Tensor>& outputs) {
  for (size_t k = 0; k < outputs.size(); ++k) {
    const int64_t at = first_non_finite(outputs[k], false);
    if (at < 0) continue;
    for (size_t j = 0; j < inputs.size(); ++j)
      if (const int64_t in = first_non_finite(inputs[j], false); in >= 0)
        throw Error(fmt::format("anomaly: '{}' received NaN in its input {} (shape {}) at flat index {}: that "
                                "tensor (data, a parameter, or an op not on the tape) was NaN already",
                                name, j, inputs[j].shape(), in));
    throw Error(fmt::format("anomaly: '{}' produced NaN in its output {} (shape {}) at flat index {} from inputs "
                            "without NaN",
                            name, k, outputs[k].shape(), at));
  }
}
}  // namespace

// ---- Node ---------------------------------------------------------------------------------------

Node::Node(std::string name, std::vector<Edge> inputs, int num_outputs, MultiBackwardFn backward)
    : name_(std::move(name)), inputs_(std::move(inputs)), num_outputs_(num_outputs), backward_(std::move(backward)) {
  ++live_nodes;
}

Node::~Node() {
  --live_nodes;
  // Destroying the head of a 100,000-op chain would otherwise destroy its input, which destroys its
  // input, ... one stack frame per node. Instead, steal the inputs of every node that is about to
  // die (we hold its last reference) onto an explicit stack, so each dies with no inputs left.
  std::vector<std::shared_ptr<Node>> doomed;
  for (Edge& e : inputs_)
    if (e.node) doomed.push_back(std::move(e.node));
  while (!doomed.empty()) {
    std::shared_ptr<Node> n = std::move(doomed.back());
    doomed.pop_back();
    if (n.use_count() == 1) {
      for (Edge& e : n->inputs_)
        if (e.node) doomed.push_back(std::move(e.node));
    }
  }
}

int64_t Node::live_count() { return live_nodes.load(); }

// ---- recording ----------------------------------------------------------------------------------

std::vector<Tensor> record_multi(std::string name, const std::vector<Tensor>& inputs, std::vector<Tensor> outputs,
                                 MultiBackwardFn backward) {
  if (!grad_mode) return outputs;
  bool any_requires_grad = false;
  for (const Tensor& x : inputs) any_requires_grad |= x.defined() && x.requires_grad();
  if (!any_requires_grad) return outputs;
  if (anomaly_mode.load(std::memory_order_relaxed)) check_forward_anomaly(name, inputs, outputs);

  for (const Tensor& y : outputs) {
    check(y.defined() && y.grad_fn() == nullptr, "record({}): every output must be a fresh tensor made by the op", name);
    for (const Tensor& x : inputs)
      check(!y.is_same(x), "record({}): an output is one of the inputs; return a new tensor", name);
  }
  std::vector<Edge> edges;
  edges.reserve(inputs.size());
  for (const Tensor& x : inputs) {
    Edge e;
    if (x.defined()) {
      e.shape = x.shape();
      if (x.grad_fn()) {
        e.node = x.grad_fn();
        e.output = x.impl()->output_nr;
      } else if (x.requires_grad()) {
        e.leaf = x.impl_ptr();
      }
    }
    edges.push_back(std::move(e));
  }
  auto node = std::make_shared<Node>(std::move(name), std::move(edges), static_cast<int>(outputs.size()),
                                     std::move(backward));
  for (size_t k = 0; k < outputs.size(); ++k) {
    outputs[k].impl()->grad_fn = node;
    outputs[k].impl()->output_nr = static_cast<int>(k);
    outputs[k].impl()->requires_grad = true;
  }
  return outputs;
}

Tensor record(std::string name, const std::vector<Tensor>& inputs, Tensor output, BackwardFn backward) {
  return record_multi(std::move(name), inputs, {std::move(output)},
                      [backward = std::move(backward)](const Grads& dy) { return backward(dy[0]); })[0];
}

// ---- the engine ---------------------------------------------------------------------------------

namespace {

// Brings a gradient to the shape of the input it belongs to: an op on broadcast inputs returns
// gradients of the broadcast (output) shape; summing over the broadcast dims undoes that.
Tensor to_input_shape(const Tensor& g, const Shape& shape, const Node& node, size_t input) {
  if (g.shape() == shape) return g;
  bool reducible = g.dim() >= shape.rank();
  for (int64_t d = 0; reducible && d < shape.rank(); ++d) {
    const int64_t gd = g.shape()[g.dim() - shape.rank() + d];
    reducible = shape[d] == gd || shape[d] == 1;
  }
  check(reducible, "{} (backward): gradient of input {} has shape {}, which does not reduce to the input's shape {}",
        node.name(), input, g.shape(), shape);
  return sum_to(g, shape);
}

// The profiler's event for one node's backward: "<op> backward", with the shapes of the op's inputs.
class BackwardEvent {
 public:
  explicit BackwardEvent(const Node& node) : open_(profile::active()) {
    if (!open_) return;
    std::vector<Shape> shapes;
    for (const Edge& e : node.inputs()) shapes.push_back(e.shape);
    profile::detail::open_with_shapes(node.name().c_str(), profile::detail::kBackward, shapes, true);
  }
  ~BackwardEvent() {
    if (open_) profile::detail::close();
  }
  BackwardEvent(const BackwardEvent&) = delete;
  BackwardEvent& operator=(const BackwardEvent&) = delete;

 private:
  bool open_;
};

void accumulate_into_leaf(TensorImpl& leaf, Tensor g) {
  if (!leaf.grad.defined()) {
    // Adopt the buffer when nobody else can see it; otherwise copy, so that the leaf's gradient
    // never aliases another tensor (a later += would change both).
    const bool sole_owner = g.impl_ptr().use_count() == 1 && g.storage().use_count() == 1;
    leaf.grad = sole_owner ? g : g.clone();
  } else {
    leaf.grad.add_(g);
  }
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& grad_output, bool retain_graph) {
  check(root.defined(), "backward: called on an undefined tensor");
  check(root.requires_grad(),
        "backward: the tensor of shape {} does not require grad (none of the tensors it was made "
        "from requires grad, or it was made under NoGradGuard)", root.shape());
  Tensor grad = grad_output;
  if (!grad.defined()) {
    check(root.numel() == 1,
          "backward: the tensor of shape {} is not a scalar; pass its upstream gradient, "
          "x.backward(grad), or reduce it first (e.g. ag::sum)", root.shape());
    grad = ones(root.shape());
  }
  check(grad.shape() == root.shape(), "backward: gradient of shape {} for a tensor of shape {}",
        grad.shape(), root.shape());

  NoGradGuard no_grad;  // backward runs the ops' math without recording it (no double backward)
  BackwardObserver* const observer = backward_observer;
  if (root.is_leaf()) {
    if (observer) observer->begin({root.impl()});
    accumulate_into_leaf(*root.impl(), grad);
    if (observer) observer->leaf_ready(*root.impl());
    return;
  }

  // 1. Count, for every node reachable from the root, how many edges point at it. Iterative DFS:
  //    a BiLSTM over a long review makes graphs far deeper than the call stack.
  //    With an observer, also count each leaf's uses: its gradient is final when the last has run.
  std::unordered_map<Node*, int64_t> dependencies{{root.grad_fn().get(), 0}};
  std::unordered_map<TensorImpl*, int64_t> leaf_uses;
  std::vector<TensorImpl*> leaves;  // in the order first reached
  std::vector<Node*> stack{root.grad_fn().get()};
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const Edge& e : node->inputs())
      if (e.node) {
        auto [it, first_visit] = dependencies.try_emplace(e.node.get(), 0);
        ++it->second;
        if (first_visit) stack.push_back(e.node.get());
      } else if (e.leaf && observer) {
        if (leaf_uses[e.leaf.get()]++ == 0) leaves.push_back(e.leaf.get());
      }
  }
  if (observer) observer->begin(leaves);

  // 2. Kahn's algorithm: a node runs once every node that uses its output has handed it a gradient,
  //    so each node's gradient is complete (summed over all uses) before it runs.
  // Gradients received so far, one slot per output of each node.
  std::unordered_map<Node*, Grads> pending;
  auto slot_of = [&pending](const Edge& e) -> Tensor& {
    Grads& slots = pending[e.node.get()];
    if (slots.empty()) slots.resize(e.node->num_outputs());
    return slots[e.output];
  };
  slot_of(Edge{root.grad_fn(), root.impl()->output_nr, nullptr, {}}) = grad;
  std::vector<std::shared_ptr<Node>> ready{root.grad_fn()};
  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    check(node->alive(),
          "backward: the graph through '{}' was freed by an earlier backward(); pass retain_graph = "
          "true to the first backward() to run backward twice", node->name());
    auto slot = pending.find(node.get());
    Grads g = slot != pending.end() ? std::move(slot->second) : Grads();
    if (slot != pending.end()) pending.erase(slot);
    bool any_gradient = false;
    for (const Tensor& t : g) any_gradient |= t.defined();

    Grads grads(node->inputs().size());
    if (any_gradient) {  // a node whose uses all gave "no gradient" passes none on
      const BackwardEvent event(*node);
      try {
        grads = node->backward_(g);
      } catch (const Error& e) {
        throw Error(fmt::format("{} (backward): {}", node->name(), e.what()));
      }
      check(grads.size() == node->inputs().size(), "{} (backward): returned {} gradients for {} inputs",
            node->name(), grads.size(), node->inputs().size());
      if (anomaly_mode.load(std::memory_order_relaxed))
        for (size_t i = 0; i < grads.size(); ++i)
          if (const int64_t at = first_non_finite(grads[i], true); at >= 0)
            throw Error(fmt::format("anomaly: the backward of '{}' returned {} in the gradient of its input {} "
                                    "(shape {}) at flat index {}",
                                    node->name(), std::isnan(grads[i].data()[at]) ? "NaN" : "Inf", i,
                                    grads[i].shape(), at));
    }
    const profile::OpScope accumulate("accumulate_grad", {});  // summing gradients that meet
    for (size_t i = 0; i < grads.size(); ++i) {
      const Edge& e = node->inputs()[i];
      Tensor gi = std::move(grads[i]);
      if (gi.defined() && (e.node || e.leaf)) gi = to_input_shape(gi, e.shape, *node, i);
      if (e.node) {
        if (gi.defined()) {
          Tensor& acc = slot_of(e);
          acc = acc.defined() ? acc + gi : gi;
        }
        if (--dependencies[e.node.get()] == 0) ready.push_back(e.node);
      } else if (e.leaf) {
        if (gi.defined()) accumulate_into_leaf(*e.leaf, std::move(gi));
        if (observer && --leaf_uses[e.leaf.get()] == 0) observer->leaf_ready(*e.leaf);
      }
    }
    if (!retain_graph) {  // free what this node saved as soon as it has run
      node->backward_ = nullptr;
      node->inputs_.clear();
    }
    if (observer) observer->after_node();
  }
}

BackwardObserverGuard::BackwardObserverGuard(BackwardObserver* observer) : previous_(backward_observer) {
  backward_observer = observer;
}
BackwardObserverGuard::~BackwardObserverGuard() { backward_observer = previous_; }

// ---- saved tensors and grad mode ----------------------------------------------------------------

const Tensor& Saved::operator*() const {
  if (data_.defined())
    check(data_.version() == version_,
          "a tensor of shape {} saved for backward was modified in place (version {} -> {}); an "
          "in-place op (an optimizer step, fill_, masked_fill_...) ran between forward and backward",
          data_.shape(), version_, data_.version());
  return data_;
}

bool grad_enabled() { return grad_mode; }

void set_detect_anomaly(bool on) { anomaly_mode = on; }
bool detect_anomaly_enabled() { return anomaly_mode; }

DetectAnomalyGuard::DetectAnomalyGuard() : previous_(anomaly_mode.exchange(true)) {}
DetectAnomalyGuard::~DetectAnomalyGuard() { anomaly_mode = previous_; }

NoGradGuard::NoGradGuard() : previous_(grad_mode) { grad_mode = false; }
NoGradGuard::~NoGradGuard() { grad_mode = previous_; }

}  // namespace ag
