#pragma once
// The tape: record() attaches a backward node to an op's output; Tensor::backward() walks the nodes
// in reverse topological order, iteratively, and hands each input its gradient.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "attograd/core/tensor.h"

namespace ag {

/// One gradient per input of an op; an undefined Tensor means "no gradient for this input".
using Grads = std::vector<Tensor>;
/// Maps the gradient of an op's output to the gradients of its inputs. A gradient may have the
/// broadcast shape of the output: the engine sums it back to the input's shape.
using BackwardFn = std::function<Grads(const Tensor& grad_output)>;
/// The same for an op with several outputs: one gradient per output, undefined for an output that
/// no gradient reached (treat it as zeros).
using MultiBackwardFn = std::function<Grads(const Grads& grad_outputs)>;

/// Where an input's gradient goes: the node that made it, or the leaf that accumulates it.
struct Edge {
  std::shared_ptr<Node> node;         // input made by an op
  int output = 0;                     // ... as that op's output number `output`
  std::shared_ptr<TensorImpl> leaf;   // input is a leaf that requires grad
  Shape shape;                        // the input's shape (gradients are reduced to it)
};

/// A recorded op on the tape: its name, where its inputs' gradients go, and its backward function.
class Node {
 public:
  Node(std::string name, std::vector<Edge> inputs, int num_outputs, MultiBackwardFn backward);
  ~Node();  // tears down long chains iteratively (a recursive teardown overflows the stack)
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const std::string& name() const { return name_; }
  const std::vector<Edge>& inputs() const { return inputs_; }
  int num_outputs() const { return num_outputs_; }
  /// False once a backward() without retain_graph has run through this node and freed it.
  bool alive() const { return static_cast<bool>(backward_); }

  /// Number of Node objects alive in the process (leak tests).
  static int64_t live_count();

 private:
  friend void run_backward(const Tensor&, const Tensor&, bool);
  std::string name_;
  std::vector<Edge> inputs_;
  int num_outputs_;
  MultiBackwardFn backward_;
};

/// Records `output = name(inputs)` on the tape and returns `output`, now carrying a grad_fn, when
/// grad mode is on and some input requires grad; otherwise returns `output` untouched. The backward
/// function must capture only detached data (Saved below), never a tensor that points back at its
/// own node. This is how every op in attograd, and a user's own op, joins autograd.
Tensor record(std::string name, const std::vector<Tensor>& inputs, Tensor output, BackwardFn backward);

/// record() for an op with several outputs (an LSTM's outputs and final states): every output gets
/// the same node, and backward receives one gradient per output (undefined where none arrived).
std::vector<Tensor> record_multi(std::string name, const std::vector<Tensor>& inputs, std::vector<Tensor> outputs,
                                 MultiBackwardFn backward);

/// Computes gradients of `root` (torch.autograd.backward); the engine behind Tensor::backward.
void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph);

/// Watches backward passes in this thread while a BackwardObserverGuard holds it: a gradient
/// reducer (ag::dist) starts communicating a parameter's gradient the moment it is final instead of
/// after the whole pass (PyTorch's post-accumulate-grad hooks). The engine calls, in order:
///   begin(leaves): once the graph is known, with every leaf that requires grad it can reach;
///   leaf_ready(leaf): when the leaf's gradient is final (every node using it has run; its grad may
///     still be undefined, when none of them gave it one);
///   after_node(): after each node's backward (where nonblocking communication can make progress).
/// A backward from a leaf root calls begin({root}) and leaf_ready(root).
class BackwardObserver {
 public:
  virtual ~BackwardObserver() = default;
  virtual void begin(const std::vector<TensorImpl*>& leaves) = 0;
  virtual void leaf_ready(TensorImpl& leaf) = 0;
  virtual void after_node() {}
};

/// Installs `observer` for the backward passes of this thread for its lifetime; guards nest.
class BackwardObserverGuard {
 public:
  explicit BackwardObserverGuard(BackwardObserver* observer);
  ~BackwardObserverGuard();
  BackwardObserverGuard(const BackwardObserverGuard&) = delete;
  BackwardObserverGuard& operator=(const BackwardObserverGuard&) = delete;

 private:
  BackwardObserver* previous_;
};

/// A tensor saved for backward: the detached data plus the storage version it had when saved.
/// Reading it (operator* / ->) raises ag::Error if an in-place op has changed it since, so an
/// in-place write between forward and backward can never give a silently wrong gradient.
class Saved {
 public:
  Saved() = default;
  explicit Saved(const Tensor& t) : data_(t.defined() ? t.detach() : Tensor()), version_(t.defined() ? t.version() : 0) {}
  const Tensor& operator*() const;
  const Tensor* operator->() const { return &**this; }

 private:
  Tensor data_;
  uint64_t version_ = 0;
};

/// True while operations are recorded (the default); see NoGradGuard.
bool grad_enabled();

/// Anomaly detection (torch.autograd.set_detect_anomaly): while it is on, every op recorded on the
/// tape checks its outputs for NaN, and backward checks every gradient an op returns for NaN and
/// Inf, raising ag::Error that names the first op at fault (and, in forward, an input that was NaN
/// already). Forward tolerates Inf, which attention masks use on purpose (-inf before a softmax).
/// Off by default: it reads every value of every op. Process-wide.
void set_detect_anomaly(bool on);
bool detect_anomaly_enabled();

/// Turns anomaly detection on for its lifetime (torch.autograd.detect_anomaly()); guards nest.
class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard();
  ~DetectAnomalyGuard();
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};

/// Turns recording off in this thread for its lifetime (torch.no_grad()); guards nest.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace ag
