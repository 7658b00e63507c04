#pragma once
// Tensor: a cheap handle to a contiguous row-major float32 array with a shape and autograd state;
// IntTensor: the integer tensor that token ids, class targets, indices and masks travel in.

#include <fmt/format.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "attograd/core/shape.h"
#include "attograd/core/storage.h"

namespace ag {

class Node;
class Generator;
struct TensorImpl;

/// A handle to a float32 tensor: copying it shares the data (like a Python reference to a
/// torch.Tensor). Data is always contiguous and row-major; ops that rearrange data copy it.
/// A default-constructed Tensor is "undefined" (holds nothing), as a missing gradient is.
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim() const { return shape().rank(); }
  /// Size of dimension d (negative counts from the end), as torch's x.size(d).
  int64_t size(int64_t d) const;
  int64_t numel() const;

  /// Raw pointer to the first element, for reading, and for filling a fresh tensor that nothing has
  /// saved yet (a kernel's output). It does not bump the version counter: to change an existing
  /// tensor (a parameter, a gradient, an optimizer's state), write through mutable_data() or use the
  /// in-place ops below.
  float* data() const;
  /// Raw pointer for changing the tensor in place: bumps the version counter first, so a backward
  /// that saved this tensor before the write raises instead of reading the new values (see Saved in
  /// attograd/core/autograd.h). Raises, as the in-place ops do, if the tensor requires grad while
  /// grad mode is on. Call it again for writes after a later forward has saved the tensor.
  float* mutable_data() const;
  std::vector<float> to_vector() const;
  /// The value of a one-element tensor (torch's x.item()).
  float item() const;
  /// Element at a full index, e.g. x.at({i, j}); negative indices count from the end.
  float at(std::initializer_list<int64_t> index) const;

  const std::shared_ptr<Storage>& storage() const;
  /// The storage's version: bumped by every in-place write (see Saved in attograd/core/autograd.h).
  uint64_t version() const;

  // --- autograd -----------------------------------------------------------------------------
  bool requires_grad() const;
  /// Marks a leaf as a parameter whose gradient backward() accumulates; returns *this.
  Tensor requires_grad_(bool on = true) const;
  /// True for tensors made by the user (not by a recorded op).
  bool is_leaf() const;
  /// The gradient accumulated by backward() (undefined until then, and after zero_grad()).
  Tensor grad() const;
  /// Drops the accumulated gradient (torch's zero_grad(set_to_none=True)).
  void zero_grad() const;
  /// The node that made this tensor (null for leaves and for tensors made without grad).
  const std::shared_ptr<Node>& grad_fn() const;
  /// Backpropagates from this tensor. Without `grad` the tensor must hold one element (a loss).
  void backward(const Tensor& grad = {}, bool retain_graph = false) const;
  /// The same data, cut from the graph (shares storage and version counter), like torch's detach().
  Tensor detach() const;
  /// A copy in new storage; differentiable (dx = dy).
  Tensor clone() const;

  /// The same data with another shape, no copy; one dim may be -1. Differentiable. (torch reshape/view)
  Tensor reshape(Shape shape) const;
  Tensor view(Shape shape) const { return reshape(std::move(shape)); }

  // --- in place: not recorded on the tape; each bumps the version counter ---------------------
  /// Raises if the tensor requires grad while grad mode is on (optimizers use NoGradGuard).
  Tensor& fill_(float value);
  Tensor& zero_() { return fill_(0.0f); }
  /// Copies src (same number of elements) into this tensor's storage.
  Tensor& copy_(const Tensor& src);
  /// this += alpha * other (same shape).
  Tensor& add_(const Tensor& other, float alpha = 1.0f);
  /// this *= s.
  Tensor& mul_(float s);
  /// Element at a full index := value.
  Tensor& set(std::initializer_list<int64_t> index, float value);

  /// True when both handles refer to the same tensor (not merely equal values).
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  TensorImpl& checked_impl(const char* what) const;
  void check_inplace(const char* op) const;
  // The one place that writes in place: checks that `op` may change this tensor, bumps the version.
  float* writable(const char* op) const;
  std::shared_ptr<TensorImpl> impl_;
};

/// What a Tensor handle points at. Internal: use Tensor's methods.
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  bool requires_grad = false;
  std::shared_ptr<Node> grad_fn;  // set by record() on op outputs; null for leaves
  int output_nr = 0;              // which output of grad_fn this tensor is (ops with several outputs)
  Tensor grad;                    // accumulated by backward() into leaves
};

/// An integer (int64) tensor for token ids, class targets, indices and masks (nonzero = true).
/// Not differentiable; contiguous and row-major like Tensor, and likewise a shared handle.
class IntTensor {
 public:
  IntTensor() : IntTensor(Shape{0}) {}
  /// Zeros of the given shape.
  explicit IntTensor(Shape shape);
  /// `values` in row-major order; values.size() must equal numel(shape).
  IntTensor(std::vector<int64_t> values, Shape shape);
  /// Every element `value` (a named factory: IntTensor({2, 3}, {7}) would read as values).
  static IntTensor full(Shape shape, int64_t value);

  const Shape& shape() const { return shape_; }
  int64_t dim() const { return shape_.rank(); }
  int64_t size(int64_t d) const;
  int64_t numel() const { return static_cast<int64_t>(data_->size()); }
  int64_t* data() const { return data_->data(); }
  std::vector<int64_t> to_vector() const { return *data_; }
  int64_t item() const;
  int64_t at(std::initializer_list<int64_t> index) const;
  /// Same data, another shape (one dim may be -1); no copy.
  IntTensor reshape(Shape shape) const;

 private:
  std::shared_ptr<std::vector<int64_t>> data_;
  Shape shape_;
};

// --- creation -------------------------------------------------------------------------------
/// Uninitialised tensor (torch.empty).
Tensor empty(Shape shape);
Tensor zeros(Shape shape);
Tensor ones(Shape shape);
Tensor full(Shape shape, float value);
Tensor zeros_like(const Tensor& x);
Tensor ones_like(const Tensor& x);
/// A tensor holding `values` in row-major order; values.size() must equal numel(shape).
Tensor from_data(std::vector<float> values, Shape shape);
/// A 0-dim tensor holding one value (torch.tensor(v)).
Tensor scalar(float value);
/// [0, 1, ..., n-1] as float (torch.arange(n)).
Tensor arange(int64_t n);
/// [start, start+step, ...) up to end (exclusive), as torch.arange(start, end, step).
Tensor arange(float start, float end, float step = 1.0f);
/// Uniform in [0, 1) from `gen` (torch.rand).
Tensor rand(Shape shape, Generator& gen);
/// Standard normal from `gen` (torch.randn).
Tensor randn(Shape shape, Generator& gen);
/// Uniform in [low, high) from `gen` (torch.empty(shape).uniform_(low, high)).
Tensor uniform(Shape shape, float low, float high, Generator& gen);
/// Normal with the given mean and std from `gen` (torch.empty(shape).normal_(mean, std)).
Tensor normal(Shape shape, float mean, float std, Generator& gen);

/// Readable text of a tensor: values (elided past 6 per dim), shape and grad state.
std::string to_string(const Tensor& x);
std::string to_string(const IntTensor& x);
inline std::ostream& operator<<(std::ostream& os, const Tensor& x) { return os << to_string(x); }
inline std::ostream& operator<<(std::ostream& os, const IntTensor& x) { return os << to_string(x); }

/// The shape of t, or () when t is undefined: for error messages, which format their arguments
/// even when the check passes.
Shape shape_of(const Tensor& t);

// --- memory accounting (leak tests) ---------------------------------------------------------
/// Bytes of float storage alive right now.
int64_t live_storage_bytes();

}  // namespace ag

template <>
struct fmt::formatter<ag::Tensor> : fmt::formatter<std::string> {
  auto format(const ag::Tensor& t, fmt::format_context& ctx) const {
    return fmt::formatter<std::string>::format(ag::to_string(t), ctx);
  }
};
template <>
struct fmt::formatter<ag::IntTensor> : fmt::formatter<std::string> {
  auto format(const ag::IntTensor& t, fmt::format_context& ctx) const {
    return fmt::formatter<std::string>::format(ag::to_string(t), ctx);
  }
};
