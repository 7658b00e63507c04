#include "attograd/core/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/random.h"
#include "attograd/core/threads.h"

namespace ag {

namespace {

std::shared_ptr<TensorImpl> make_impl(Shape shape) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(numel(shape));
  impl->shape = std::move(shape);
  return impl;
}

// Row-major offset of a full index, with bounds checks that name the tensor's shape.
int64_t offset_of(const Shape& shape, std::initializer_list<int64_t> index, const char* what) {
  check(static_cast<int64_t>(index.size()) == shape.rank(), "{}: index of {} dims for a tensor of shape {}",
        what, index.size(), shape);
  int64_t offset = 0, d = 0;
  for (int64_t i : index) {
    check(i >= -shape[d] && i < shape[d], "{}: index {} is out of range for dim {} of shape {}", what, i,
          d, shape);
    offset = offset * shape[d] + (i < 0 ? i + shape[d] : i);
    ++d;
  }
  return offset;
}

// Resolves a single -1 in a requested shape against the element count.
Shape infer_shape(Shape requested, int64_t count, const Shape& from, const char* op) {
  int64_t known = 1, infer_at = -1;
  for (int64_t d = 0; d < requested.rank(); ++d) {
    if (requested[d] == -1) {
      check(infer_at < 0, "{}: only one dim may be -1 in {}", op, requested);
      infer_at = d;
    } else {
      check(requested[d] >= 0, "{}: negative size in {}", op, requested);
      known *= requested[d];
    }
  }
  if (infer_at >= 0) {
    check(known > 0 && count % known == 0, "{}: cannot reshape {} into {}", op, from, requested);
    requested[infer_at] = count / known;
  }
  check(numel(requested) == count, "{}: cannot reshape {} ({} elements) into {}", op, from, count, requested);
  return requested;
}

}  // namespace

// ---- Tensor -------------------------------------------------------------------------------------

TensorImpl& Tensor::checked_impl(const char* what) const {
  check(impl_ != nullptr, "{}: the tensor is undefined (default-constructed, or a missing gradient)", what);
  return *impl_;
}

const Shape& Tensor::shape() const { return checked_impl("shape").shape; }
int64_t Tensor::size(int64_t d) const { return shape()[normalize_dim(d, shape(), "size")]; }
int64_t Tensor::numel() const { return ag::numel(shape()); }
float* Tensor::data() const { return checked_impl("data").storage->data(); }
const std::shared_ptr<Storage>& Tensor::storage() const { return checked_impl("storage").storage; }
uint64_t Tensor::version() const { return storage()->version(); }

std::vector<float> Tensor::to_vector() const { return std::vector<float>(data(), data() + numel()); }

float Tensor::item() const {
  check(numel() == 1, "item: the tensor of shape {} has {} elements, not one", shape(), numel());
  return data()[0];
}

float Tensor::at(std::initializer_list<int64_t> index) const { return data()[offset_of(shape(), index, "at")]; }

bool Tensor::requires_grad() const { return checked_impl("requires_grad").requires_grad; }

Tensor Tensor::requires_grad_(bool on) const {
  TensorImpl& impl = checked_impl("requires_grad_");
  check(impl.grad_fn == nullptr,
        "requires_grad_: only leaves can be marked; this tensor was made by '{}' (use detach() first)",
        impl.grad_fn ? impl.grad_fn->name() : "");
  impl.requires_grad = on;
  return *this;
}

bool Tensor::is_leaf() const { return checked_impl("is_leaf").grad_fn == nullptr; }
Tensor Tensor::grad() const { return checked_impl("grad").grad; }
void Tensor::zero_grad() const { checked_impl("zero_grad").grad = Tensor(); }
const std::shared_ptr<Node>& Tensor::grad_fn() const { return checked_impl("grad_fn").grad_fn; }

void Tensor::backward(const Tensor& grad, bool retain_graph) const { run_backward(*this, grad, retain_graph); }

Tensor Tensor::detach() const {
  const TensorImpl& src = checked_impl("detach");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = src.storage;  // shared data and version counter
  impl->shape = src.shape;
  return Tensor(std::move(impl));
}

// y = x (a copy);  dx = dy
Tensor Tensor::clone() const {
  Tensor y(make_impl(shape()));
  std::memcpy(y.data(), data(), sizeof(float) * numel());
  return record("clone", {*this}, y, [](const Tensor& dy) { return Grads{dy}; });
}

// y = x viewed with another shape (shared storage);  dx = dy reshaped back to x's shape
Tensor Tensor::reshape(Shape new_shape) const {
  const TensorImpl& src = checked_impl("reshape");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = src.storage;
  impl->shape = infer_shape(std::move(new_shape), numel(), shape(), "reshape");
  return record("reshape", {*this}, Tensor(std::move(impl)),
                [old = shape()](const Tensor& dy) { return Grads{dy.reshape(old)}; });
}

void Tensor::check_inplace(const char* op) const {
  check(!(requires_grad() && grad_enabled()),
        "{}: in-place change of a tensor of shape {} that requires grad while grad mode is on; wrap it "
        "in NoGradGuard (as optimizers do) or use the out-of-place op", op, shape());
}

float* Tensor::writable(const char* op) const {
  check_inplace(op);
  storage()->bump_version();
  return data();
}

float* Tensor::mutable_data() const { return writable("mutable_data"); }

Tensor& Tensor::fill_(float value) {
  std::fill_n(writable("fill_"), numel(), value);
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check(src.numel() == numel(), "copy_: source of shape {} into a tensor of shape {}", src.shape(), shape());
  std::memmove(writable("copy_"), src.data(), sizeof(float) * numel());
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, float alpha) {
  check(other.shape() == shape(), "add_: shape {} into a tensor of shape {}", other.shape(), shape());
  float* y = writable("add_");
  const float* x = other.data();
  parallel_for(numel(), 1 << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] += alpha * x[i];
  });
  return *this;
}

Tensor& Tensor::mul_(float s) {
  float* y = writable("mul_");
  parallel_for(numel(), 1 << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] *= s;
  });
  return *this;
}

Tensor& Tensor::set(std::initializer_list<int64_t> index, float value) {
  const int64_t offset = offset_of(shape(), index, "set");
  writable("set")[offset] = value;
  return *this;
}

// ---- IntTensor ----------------------------------------------------------------------------------

IntTensor::IntTensor(Shape shape)
    : data_(std::make_shared<std::vector<int64_t>>(ag::numel(shape), 0)), shape_(std::move(shape)) {}

IntTensor IntTensor::full(Shape shape, int64_t value) {
  IntTensor t(std::move(shape));
  std::fill(t.data_->begin(), t.data_->end(), value);
  return t;
}

IntTensor::IntTensor(std::vector<int64_t> values, Shape shape) : shape_(std::move(shape)) {
  check(static_cast<int64_t>(values.size()) == ag::numel(shape_), "IntTensor: {} values for shape {}",
        values.size(), shape_);
  data_ = std::make_shared<std::vector<int64_t>>(std::move(values));
}

int64_t IntTensor::size(int64_t d) const { return shape_[normalize_dim(d, shape_, "size")]; }

int64_t IntTensor::item() const {
  check(numel() == 1, "item: the IntTensor of shape {} has {} elements, not one", shape_, numel());
  return (*data_)[0];
}

int64_t IntTensor::at(std::initializer_list<int64_t> index) const { return (*data_)[offset_of(shape_, index, "at")]; }

IntTensor IntTensor::reshape(Shape shape) const {
  IntTensor out = *this;
  out.shape_ = infer_shape(std::move(shape), numel(), shape_, "reshape");
  return out;
}

// ---- creation -----------------------------------------------------------------------------------

Tensor empty(Shape shape) {
  for (int64_t d : shape) check(d >= 0, "empty: negative size in shape {}", shape);
  return Tensor(make_impl(std::move(shape)));
}

Tensor full(Shape shape, float value) {
  Tensor t = empty(std::move(shape));
  std::fill_n(t.data(), t.numel(), value);
  return t;
}

Tensor zeros(Shape shape) { return full(std::move(shape), 0.0f); }
Tensor ones(Shape shape) { return full(std::move(shape), 1.0f); }
Tensor zeros_like(const Tensor& x) { return zeros(x.shape()); }
Tensor ones_like(const Tensor& x) { return ones(x.shape()); }

Tensor from_data(std::vector<float> values, Shape shape) {
  check(static_cast<int64_t>(values.size()) == numel(shape), "from_data: {} values for shape {}",
        values.size(), shape);
  Tensor t = empty(std::move(shape));
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

Tensor scalar(float value) { return full(Shape{}, value); }

Tensor arange(int64_t n) { return arange(0.0f, static_cast<float>(n)); }

Tensor arange(float start, float end, float step) {
  check(step != 0.0f, "arange: step is zero");
  const double count = std::ceil((static_cast<double>(end) - start) / step);
  Tensor t = empty({std::max<int64_t>(0, static_cast<int64_t>(count))});
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = start + step * static_cast<float>(i);
  return t;
}

Tensor uniform(Shape shape, float low, float high, Generator& gen) {
  Tensor t = empty(std::move(shape));
  gen.fill_uniform(t.data(), t.numel(), low, high);
  return t;
}

Tensor normal(Shape shape, float mean, float std, Generator& gen) {
  Tensor t = empty(std::move(shape));
  gen.fill_normal(t.data(), t.numel(), mean, std);
  return t;
}

Tensor rand(Shape shape, Generator& gen) { return uniform(std::move(shape), 0.0f, 1.0f, gen); }
Tensor randn(Shape shape, Generator& gen) { return normal(std::move(shape), 0.0f, 1.0f, gen); }

Shape shape_of(const Tensor& t) { return t.defined() ? t.shape() : Shape{}; }

int64_t live_storage_bytes() { return Storage::live_bytes(); }

// ---- printing -----------------------------------------------------------------------------------

namespace {

constexpr int64_t kEdgeItems = 3;  // a dim longer than 2 * kEdgeItems shows its first and last 3

template <class T, class Format>
void print_dim(std::string& out, const T* data, const Shape& shape, int64_t d, int64_t offset,
               int indent, Format&& format) {
  const std::vector<int64_t> strides = strides_of(shape);
  const int64_t n = shape[d];
  out += '[';
  for (int64_t i = 0; i < n; ++i) {
    if (n > 2 * kEdgeItems && i == kEdgeItems) {
      out += d + 1 == shape.rank() ? "..., " : fmt::format("...,\n{:{}}", "", indent + 1);
      i = n - kEdgeItems;
    }
    if (d + 1 == shape.rank()) out += format(data[offset + i]);
    else print_dim(out, data, shape, d + 1, offset + i * strides[d], indent + 1, format);
    if (i + 1 < n) out += d + 1 == shape.rank() ? ", " : fmt::format(",\n{:{}}", "", indent + 1);
  }
  out += ']';
}

template <class T, class Format>
std::string print_values(const T* data, const Shape& shape, int indent, Format&& format) {
  if (shape.rank() == 0) return format(data[0]);
  std::string out;
  print_dim(out, data, shape, 0, 0, indent, format);
  return out;
}

}  // namespace

std::string to_string(const Tensor& x) {
  if (!x.defined()) return "tensor(undefined)";
  std::string s = "tensor(" + print_values(x.data(), x.shape(), 7, [](float v) { return fmt::format("{:.4f}", v); });
  s += ", shape=" + to_string(x.shape());
  if (x.grad_fn()) s += ", grad_fn=" + x.grad_fn()->name();
  else if (x.requires_grad()) s += ", requires_grad";
  return s + ")";
}

std::string to_string(const IntTensor& x) {
  return "IntTensor(" + print_values(x.data(), x.shape(), 10, [](int64_t v) { return std::to_string(v); }) +
         ", shape=" + to_string(x.shape()) + ")";
}

}  // namespace ag
