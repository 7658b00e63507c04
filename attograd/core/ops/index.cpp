#include "attograd/core/ops/index.h"

#include <algorithm>
#include <cstring>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/kernels.h"
#include "attograd/core/profiler.h"

namespace ag {

Shape unravel_index(int64_t flat, const Shape& shape) {
  Shape coords(shape.size());
  for (int64_t d = shape.rank() - 1; d >= 0; --d) {
    coords[d] = shape[d] > 0 ? flat % shape[d] : 0;
    flat = shape[d] > 0 ? flat / shape[d] : 0;
  }
  return coords;
}

namespace {

// Raises unless every entry of `index` lies in [0, n); `what` completes the message.
void check_indices(const IntTensor& index, int64_t n, const char* op, const char* name, const std::string& what) {
  const int64_t* p = index.data();
  for (int64_t i = 0; i < index.numel(); ++i)
    check(p[i] >= 0 && p[i] < n, "{}: {} {} at position {} is out of range {}", op, name, p[i],
          unravel_index(i, index.shape()), what);
}

// True when p and q broadcast together (NumPy rules).
bool broadcastable(const Shape& p, const Shape& q) {
  for (int64_t i = 1; i <= std::min(p.rank(), q.rank()); ++i)
    if (p[p.rank() - i] != q[q.rank() - i] && p[p.rank() - i] != 1 && q[q.rank() - i] != 1) return false;
  return true;
}

constexpr int64_t kColumnBlock = 64;  // columns one task of scatter_add_rows owns

// dx (outer, n, inner) += dy (outer, k, inner) scattered by index (k):
//   dx[o, index[j], :] += dy[o, j, :] for every j with index[j] != skip.
// dx must be zeroed by the caller. Threads split (o, block of columns) pairs, so no two threads
// write one element, and each element sums its contributions in order of j whatever the thread count.
void scatter_add_rows(const float* dy, const int64_t* index, float* dx, int64_t outer, int64_t k, int64_t n,
                      int64_t inner, int64_t skip) {
  const int64_t blocks = (inner + kColumnBlock - 1) / kColumnBlock;
  parallel_for(outer * blocks, kernels::grain_for(k * kColumnBlock),
               [&](int64_t t0, int64_t t1) {
                 for (int64_t t = t0; t < t1; ++t) {
                   const int64_t o = t / blocks, c0 = (t % blocks) * kColumnBlock;
                   const int64_t width = std::min(kColumnBlock, inner - c0);
                   for (int64_t j = 0; j < k; ++j) {
                     if (index[j] == skip) continue;
                     const float* src = dy + (o * k + j) * inner + c0;
                     float* dst = dx + (o * n + index[j]) * inner + c0;
                     for (int64_t c = 0; c < width; ++c) dst[c] += src[c];
                   }
                 }
               });
}

// out (outer, k, inner) = x (outer, n, inner) with rows picked by index (k): out[o, j, :] = x[o, index[j], :].
void gather_rows(const float* x, const int64_t* index, float* out, int64_t outer, int64_t k, int64_t n, int64_t inner) {
  const int64_t grain = kernels::grain_for(inner);
  parallel_for(outer * k, grain, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t o = r / k, j = r % k;
      std::memcpy(out + r * inner, x + (o * n + index[j]) * inner, sizeof(float) * inner);
    }
  });
}

// Walks a broadcast result row by row (a row is its last dim) and says where each row starts in
// every operand, and how far apart its elements are there (0 where the operand repeats).
class BroadcastRows {
 public:
  BroadcastRows(const Shape& out, const std::vector<Shape>& operands) : out_(out) {
    if (out_.rank() == 0) out_ = Shape{1};
    const int64_t rank = out_.rank();
    for (const Shape& s : operands) {
      std::vector<int64_t> st(rank, 0);
      const std::vector<int64_t> own = strides_of(s);
      for (int64_t d = 0; d < s.rank(); ++d) st[d + rank - s.rank()] = s[d] == 1 ? 0 : own[d];
      strides_.push_back(std::move(st));
    }
  }
  int64_t inner() const { return out_.back(); }
  int64_t rows() const { return inner() > 0 ? numel(out_) / inner() : 0; }
  int64_t step(size_t k) const { return strides_[k].back(); }
  int64_t start(size_t k, int64_t row) const {
    int64_t offset = 0;
    for (int64_t d = out_.rank() - 2; d >= 0; --d) {
      offset += (row % out_[d]) * strides_[k][d];
      row /= out_[d];
    }
    return offset;
  }

 private:
  Shape out_;
  std::vector<std::vector<int64_t>> strides_;
};

// f(row) for every row of a BroadcastRows walk, split over threads.
template <class F>
void for_each_row(const BroadcastRows& walk, F f) {
  parallel_for(walk.rows(), kernels::grain_for(walk.inner()),
               [&](int64_t r0, int64_t r1) {
                 for (int64_t r = r0; r < r1; ++r) f(r);
               });
}

// out = src where (mask != 0) == when, 0 elsewhere; mask broadcasts to src's shape.
Tensor select_by_mask(const Tensor& src, const IntTensor& mask, bool when) {
  const BroadcastRows walk(src.shape(), {mask.shape()});
  Tensor out = empty(src.shape());
  const float* ps = src.data();
  const int64_t* pm = mask.data();
  float* po = out.data();
  const int64_t inner = walk.inner(), sm = walk.step(0);
  for_each_row(walk, [&](int64_t r) {
    const int64_t* m = pm + walk.start(0, r);
    for (int64_t j = 0; j < inner; ++j) po[r * inner + j] = (m[j * sm] != 0) == when ? ps[r * inner + j] : 0.0f;
  });
  return out;
}

}  // namespace

// y = x[.., index[k], ..] along dim;  dx[.., i, ..] = sum over k with index[k] = i of dy[.., k, ..]
Tensor index_select(const Tensor& x, int64_t dim, const IntTensor& index) {
  const profile::OpScope scope("index_select", {&x});
  check(x.dim() >= 1, "index_select: x {} must have at least one dim", x.shape());
  const int64_t d = normalize_dim(dim, x.shape(), "index_select");
  check(index.dim() <= 1, "index_select: index {} must be 1-D (x {})", index.shape(), x.shape());
  const int64_t n = x.shape()[d], k = index.numel();
  check_indices(index, n, "index_select", "index", fmt::format("for dim {} of x {}", d, x.shape()));
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < d; ++i) outer *= x.shape()[i];
  for (int64_t i = d + 1; i < x.dim(); ++i) inner *= x.shape()[i];
  Shape out_shape = x.shape();
  out_shape[d] = k;
  Tensor y = empty(out_shape);
  gather_rows(x.data(), index.data(), y.data(), outer, k, n, inner);
  return record("index_select", {x}, y, [index, shape = x.shape(), outer, k, n, inner](const Tensor& dy) {
    Tensor dx = zeros(shape);
    scatter_add_rows(dy.data(), index.data(), dx.data(), outer, k, n, inner, -1);
    return Grads{dx};
  });
}

// y[.., :] = weight[ids[..], :];  dweight[v, :] = sum over positions with ids = v (v != padding_idx) of dy[.., :]
Tensor embedding(const IntTensor& ids, const Tensor& weight, int64_t padding_idx) {
  const profile::OpScope scope("embedding", {&weight});
  check(weight.dim() == 2, "embedding: weight {} must be 2-D (num_embeddings, embedding_dim)", weight.shape());
  const int64_t vocab = weight.shape()[0], width = weight.shape()[1], count = ids.numel();
  check(padding_idx < vocab, "embedding: padding_idx {} is out of range for a vocabulary of {} (weight {})",
        padding_idx, vocab, weight.shape());
  check_indices(ids, vocab, "embedding", "id",
                fmt::format("for a vocabulary of {} (weight {})", vocab, weight.shape()));
  Shape out_shape = ids.shape();
  out_shape.push_back(width);
  Tensor y = empty(out_shape);
  gather_rows(weight.data(), ids.data(), y.data(), 1, count, vocab, width);
  const int64_t skip = padding_idx < 0 ? -1 : padding_idx;
  return record("embedding", {weight}, y, [ids, shape = weight.shape(), count, skip](const Tensor& dy) {
    Tensor dw = zeros(shape);
    scatter_add_rows(dy.data(), ids.data(), dw.data(), 1, count, shape[0], shape[1], skip);
    return Grads{dw};
  });
}

// y[.., j] = x[.., index[.., j]];  dx[.., c] = sum over j with index[.., j] = c of dy[.., j]
Tensor gather(const Tensor& x, const IntTensor& index) {
  const profile::OpScope scope("gather", {&x});
  check(x.dim() >= 1 && index.dim() == x.dim() &&
            std::equal(x.shape().begin(), x.shape().end() - 1, index.shape().begin()),
        "gather: index {} must match x {} in every dim but the last", index.shape(), x.shape());
  const int64_t c = x.shape().back(), k = index.shape().back();
  check_indices(index, c, "gather", "index", fmt::format("for the last dim of x {}", x.shape()));
  const int64_t rows = k > 0 ? index.numel() / k : 0;
  Tensor y = empty(index.shape());
  const float* px = x.data();
  const int64_t* pi = index.data();
  float* py = y.data();
  parallel_for(rows, kernels::grain_for(k), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t j = 0; j < k; ++j) py[r * k + j] = px[r * c + pi[r * k + j]];
  });
  return record("gather", {x}, y, [index, shape = x.shape(), rows, c, k](const Tensor& dy) {
    Tensor dx = zeros(shape);
    const int64_t* pi = index.data();
    const float* pg = dy.data();
    float* pd = dx.data();
    parallel_for(rows, kernels::grain_for(k), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t j = 0; j < k; ++j) pd[r * c + pi[r * k + j]] += pg[r * k + j];
    });
    return Grads{dx};
  });
}

// y = mask ? value : x;  dx = mask ? 0 : dy
Tensor masked_fill(const Tensor& x, const IntTensor& mask, float value) {
  const profile::OpScope scope("masked_fill", {&x});
  check(broadcastable(x.shape(), mask.shape()) && broadcast_shapes(x.shape(), mask.shape(), "masked_fill") == x.shape(),
        "masked_fill: mask {} does not broadcast to x {}", mask.shape(), x.shape());
  const BroadcastRows walk(x.shape(), {mask.shape()});
  Tensor y = empty(x.shape());
  const float* px = x.data();
  const int64_t* pm = mask.data();
  float* py = y.data();
  const int64_t inner = walk.inner(), sm = walk.step(0);
  for_each_row(walk, [&](int64_t r) {
    const int64_t* m = pm + walk.start(0, r);
    for (int64_t j = 0; j < inner; ++j) py[r * inner + j] = m[j * sm] != 0 ? value : px[r * inner + j];
  });
  return record("masked_fill", {x}, y, [mask](const Tensor& dy) { return Grads{select_by_mask(dy, mask, false)}; });
}

// y = cond ? a : b (all broadcast);  da = cond ? dy : 0, db = cond ? 0 : dy (in y's shape; the engine
// sums them back to the shapes of a and b)
Tensor where(const IntTensor& cond, const Tensor& a, const Tensor& b) {
  const profile::OpScope scope("where", {&a, &b});
  const bool ok = broadcastable(a.shape(), b.shape()) &&
                  broadcastable(broadcast_shapes(a.shape(), b.shape(), "where"), cond.shape());
  check(ok, "where: cond {}, a {} and b {} cannot be broadcast together", cond.shape(), a.shape(), b.shape());
  const Shape out_shape = broadcast_shapes(broadcast_shapes(a.shape(), b.shape(), "where"), cond.shape(), "where");
  const BroadcastRows walk(out_shape, {cond.shape(), a.shape(), b.shape()});
  Tensor y = empty(out_shape);
  const int64_t* pc = cond.data();
  const float* pa = a.data();
  const float* pb = b.data();
  float* py = y.data();
  const int64_t inner = walk.inner(), sc = walk.step(0), sa = walk.step(1), sb = walk.step(2);
  for_each_row(walk, [&](int64_t r) {
    const int64_t* c = pc + walk.start(0, r);
    const float* ra = pa + walk.start(1, r);
    const float* rb = pb + walk.start(2, r);
    for (int64_t j = 0; j < inner; ++j) py[r * inner + j] = c[j * sc] != 0 ? ra[j * sa] : rb[j * sb];
  });
  return record("where", {a, b}, y,
                [cond, need_a = a.requires_grad(), need_b = b.requires_grad()](const Tensor& dy) {
                  return Grads{need_a ? select_by_mask(dy, cond, true) : Tensor(),
                               need_b ? select_by_mask(dy, cond, false) : Tensor()};
                });
}

}  // namespace ag
