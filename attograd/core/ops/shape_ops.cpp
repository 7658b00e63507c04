#include "attograd/core/ops/shape_ops.h"

#include <algorithm>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/kernels.h"
#include "attograd/core/profiler.h"

namespace ag {

namespace {

// A tensor viewed as (outer, n, inner) around one of its dims.
struct Slab {
  int64_t outer = 1, n = 1, inner = 1;
};

Slab slab_of(const Shape& shape, int64_t dim) {
  Slab s;
  for (int64_t d = 0; d < dim; ++d) s.outer *= shape[d];
  s.n = shape[dim];
  for (int64_t d = dim + 1; d < shape.rank(); ++d) s.inner *= shape[d];
  return s;
}

// dst[o, d0 + j * dstep, :] = src[o, s0 + j * sstep, :] for o < outer, j < len, with src viewed as
// (outer, ns, inner) and dst as (outer, nd, inner).
void copy_rows(const float* src, int64_t ns, int64_t s0, int64_t sstep, float* dst, int64_t nd, int64_t d0,
               int64_t dstep, int64_t outer, int64_t len, int64_t inner) {
  if (outer == 0 || len == 0 || inner == 0) return;
  if (sstep == 1 && dstep == 1) {
    // Each o copies one contiguous run; split the flat range [0, outer * run) evenly across threads.
    const int64_t run = len * inner;
    parallel_for(outer * run, kernels::kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end;) {
        const int64_t o = t / run, at = t % run, count = std::min(run - at, end - t);
        std::copy_n(src + (o * ns + s0) * inner + at, count, dst + (o * nd + d0) * inner + at);
        t += count;
      }
    });
    return;
  }
  parallel_for(outer * len, kernels::grain_for(inner), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t o = r / len, j = r % len;
      std::copy_n(src + (o * ns + s0 + j * sstep) * inner, inner, dst + (o * nd + d0 + j * dstep) * inner);
    }
  });
}

// Offsets in x and y of the multi-index `flat` over dims of the given sizes (outermost first).
inline void offsets_of(int64_t flat, const std::vector<int64_t>& sizes, const std::vector<int64_t>& x_strides,
                       const std::vector<int64_t>& y_strides, int64_t& x_off, int64_t& y_off) {
  x_off = 0, y_off = 0;
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
    const int64_t coord = flat % sizes[d];
    flat /= sizes[d];
    x_off += coord * x_strides[d];
    y_off += coord * y_strides[d];
  }
}

// y = x with dims permuted (y's dim i is x's dim perm[i]); x (shape), y contiguous.
// The output dims are first simplified: size-1 dims dropped, and neighbours that are also neighbours
// in x merged. Then either the innermost output dim is contiguous in x (copy runs, parallel over
// rows), or it is strided and 32 x 32 tiles of the plane (q, last) are transposed, q being the
// output dim that is contiguous in x, so that reads and writes both stay in cache.
void permute_copy(const float* x, float* y, const Shape& shape, const std::vector<int64_t>& perm) {
  const int64_t total = numel(shape);
  if (total == 0) return;
  const std::vector<int64_t> x_strides = strides_of(shape);
  std::vector<int64_t> sizes, in;  // merged output dims and their strides in x
  for (int64_t p : perm) {
    if (shape[p] == 1) continue;
    if (!sizes.empty() && in.back() == x_strides[p] * shape[p]) {
      sizes.back() *= shape[p];
      in.back() = x_strides[p];
    } else {
      sizes.push_back(shape[p]);
      in.push_back(x_strides[p]);
    }
  }
  if (sizes.empty() || (sizes.size() == 1 && in[0] == 1)) {  // the order of the elements is unchanged
    std::copy_n(x, total, y);
    return;
  }
  const int64_t rank = static_cast<int64_t>(sizes.size()), last = rank - 1;
  const std::vector<int64_t> out = strides_of(Shape(sizes));

  if (in[last] == 1) {  // contiguous runs of sizes[last]
    const int64_t run = sizes[last];
    const std::vector<int64_t> outer_sizes(sizes.begin(), sizes.end() - 1);
    parallel_for(total / run, kernels::grain_for(run), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        int64_t xo, yo;
        offsets_of(r, outer_sizes, in, out, xo, yo);
        std::copy_n(x + xo, run, y + yo);
      }
    });
    return;
  }

  constexpr int64_t kTile = 32;
  const int64_t q = std::find(in.begin(), in.end(), 1) - in.begin();  // exists: x's innermost dim
  const int64_t nq = sizes[q], nl = sizes[last], yq = out[q], xl = in[last];
  std::vector<int64_t> other_sizes, other_in, other_out;  // every output dim but q and last
  for (int64_t d = 0; d < last; ++d)
    if (d != q) other_sizes.push_back(sizes[d]), other_in.push_back(in[d]), other_out.push_back(out[d]);
  const int64_t q_tiles = (nq + kTile - 1) / kTile, planes = total / (nq * nl);
  parallel_for(planes * q_tiles, kernels::grain_for(kTile * nl), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      int64_t xo, yo;
      offsets_of(t / q_tiles, other_sizes, other_in, other_out, xo, yo);
      const int64_t q0 = (t % q_tiles) * kTile, q1 = std::min(nq, q0 + kTile);
      for (int64_t l0 = 0; l0 < nl; l0 += kTile) {
        const int64_t l1 = std::min(nl, l0 + kTile);
        for (int64_t iq = q0; iq < q1; ++iq) {
          const float* src = x + xo + iq;
          float* dst = y + yo + iq * yq;
          for (int64_t il = l0; il < l1; ++il) dst[il] = src[il * xl];
        }
      }
    }
  });
}

// y = x with dims permuted;  dx = dy permuted back by the inverse permutation
Tensor permute_as(const Tensor& x, const std::vector<int64_t>& perm, const char* op) {
  Shape shape(perm.size());
  std::vector<int64_t> inverse(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    shape[i] = x.shape()[perm[i]];
    inverse[perm[i]] = static_cast<int64_t>(i);
  }
  Tensor y = empty(shape);
  permute_copy(x.data(), y.data(), x.shape(), perm);
  return record(op, {x}, y, [inverse, op](const Tensor& dy) { return Grads{permute_as(dy, inverse, op)}; });
}

// y = x[.., start + j * step, ..] for j < len along dim d;  dx = zeros with dy scattered back there
Tensor slice_as(const Tensor& x, int64_t d, int64_t start, int64_t len, int64_t step, const char* op) {
  const Slab s = slab_of(x.shape(), d);
  Shape shape = x.shape();
  shape[d] = len;
  Tensor y = empty(shape);
  copy_rows(x.data(), s.n, start, step, y.data(), len, 0, 1, s.outer, len, s.inner);
  return record(op, {x}, y, [x_shape = x.shape(), s, start, len, step](const Tensor& dy) {
    Tensor dx = zeros(x_shape);
    copy_rows(dy.data(), len, 0, 1, dx.data(), s.n, start, step, s.outer, len, s.inner);
    return Grads{dx};
  });
}

// Consecutive pieces of x along dim d with the given sizes (already checked to sum to its size).
std::vector<Tensor> split_as(const Tensor& x, int64_t d, const std::vector<int64_t>& sizes, const char* op) {
  std::vector<Tensor> pieces;
  pieces.reserve(sizes.size());
  int64_t start = 0;
  for (int64_t size : sizes) {
    pieces.push_back(slice_as(x, d, start, size, 1, op));
    start += size;
  }
  return pieces;
}

void check_defined(const Tensor& x, const char* op) { check(x.defined(), "{}: the tensor is undefined", op); }

}  // namespace

// ---- rearranging --------------------------------------------------------------------------------

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  const profile::OpScope scope("permute", {&x});
  check_defined(x, "permute");
  check(static_cast<int64_t>(dims.size()) == x.dim(), "permute: dims {} do not match a tensor of shape {}",
        Shape(dims), x.shape());
  std::vector<int64_t> perm(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    perm[i] = normalize_dim(dims[i], x.shape(), "permute");
    check(!seen[perm[i]], "permute: dims {} are not a permutation of the dims of a tensor of shape {}", Shape(dims),
          x.shape());
    seen[perm[i]] = true;
  }
  return permute_as(x, perm, "permute");
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  const profile::OpScope scope("transpose", {&x});
  check_defined(x, "transpose");
  const int64_t a = normalize_dim(d0, x.shape(), "transpose"), b = normalize_dim(d1, x.shape(), "transpose");
  std::vector<int64_t> perm(x.dim());
  for (int64_t d = 0; d < x.dim(); ++d) perm[d] = d;
  std::swap(perm[a], perm[b]);
  return permute_as(x, perm, "transpose");
}

// ---- size-1 dims (reshapes: no copy; the gradient is reshaped back by Tensor::reshape) -----------

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  check_defined(x, "unsqueeze");
  const int64_t rank = x.dim();
  check(dim >= -(rank + 1) && dim <= rank, "unsqueeze: dim {} is out of range for a tensor of shape {}", dim,
        x.shape());
  Shape shape = x.shape();
  shape.insert(shape.begin() + (dim < 0 ? dim + rank + 1 : dim), 1);
  return x.reshape(shape);
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  check_defined(x, "squeeze");
  if (x.dim() == 0) {  // as torch: dim 0 or -1 of a 0-dim tensor is allowed and changes nothing
    check(dim == 0 || dim == -1, "squeeze: dim {} is out of range for a tensor of shape ()", dim);
    return x.reshape({});
  }
  const int64_t d = normalize_dim(dim, x.shape(), "squeeze");
  Shape shape = x.shape();
  if (shape[d] == 1) shape.erase(shape.begin() + d);
  return x.reshape(shape);
}

Tensor squeeze(const Tensor& x) {
  check_defined(x, "squeeze");
  Shape shape;
  for (int64_t size : x.shape())
    if (size != 1) shape.push_back(size);
  return x.reshape(shape);
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  check_defined(x, "flatten");
  if (x.dim() == 0) return x.reshape({1});
  const int64_t s = normalize_dim(start_dim, x.shape(), "flatten"), e = normalize_dim(end_dim, x.shape(), "flatten");
  check(s <= e, "flatten: start_dim {} comes after end_dim {} in a tensor of shape {}", start_dim, end_dim,
        x.shape());
  Shape shape(x.shape().begin(), x.shape().begin() + s);
  int64_t merged = 1;
  for (int64_t d = s; d <= e; ++d) merged *= x.shape()[d];
  shape.push_back(merged);
  shape.insert(shape.end(), x.shape().begin() + e + 1, x.shape().end());
  return x.reshape(shape);
}

// ---- joining ------------------------------------------------------------------------------------

// y = the inputs side by side along dim;  dx_i = the slice of dy that input i filled
Tensor concat(const std::vector<Tensor>& tensors, int64_t dim) {
  const profile::OpScope scope("concat", {});
  check(!tensors.empty(), "concat: the list of tensors is empty");
  for (size_t i = 0; i < tensors.size(); ++i) check(tensors[i].defined(), "concat: tensor {} is undefined", i);
  const Shape& first = tensors[0].shape();
  check(first.rank() > 0, "concat: tensor 0 has shape (); 0-dim tensors cannot be concatenated");
  const int64_t d = normalize_dim(dim, first, "concat");
  std::vector<int64_t> sizes;
  Shape shape = first;
  shape[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Shape& s = tensors[i].shape();
    bool match = s.rank() == first.rank();
    for (int64_t k = 0; match && k < s.rank(); ++k) match = k == d || s[k] == first[k];
    check(match, "concat: tensor {} has shape {} but tensor 0 has shape {}; they may differ only in dim {}", i, s,
          first, dim);
    sizes.push_back(s[d]);
    shape[d] += s[d];
  }
  const Slab slab = slab_of(shape, d);
  Tensor y = empty(shape);
  int64_t start = 0;
  for (size_t i = 0; i < tensors.size(); start += sizes[i], ++i)
    copy_rows(tensors[i].data(), sizes[i], 0, 1, y.data(), slab.n, start, 1, slab.outer, sizes[i], slab.inner);

  std::vector<bool> need(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) need[i] = tensors[i].requires_grad();
  return record("concat", tensors, y, [sizes, need, slab, first, d](const Tensor& dy) {
    Grads grads(sizes.size());
    Shape piece = first;
    int64_t start = 0;
    for (size_t i = 0; i < sizes.size(); start += sizes[i], ++i) {
      if (!need[i]) continue;
      piece[d] = sizes[i];
      grads[i] = empty(piece);
      copy_rows(dy.data(), slab.n, start, 1, grads[i].data(), sizes[i], 0, 1, slab.outer, sizes[i], slab.inner);
    }
    return grads;
  });
}

// y = concat of the inputs, each unsqueezed at dim;  composed (no extra copy), so dx comes from concat
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  const profile::OpScope scope("stack", {});
  check(!tensors.empty(), "stack: the list of tensors is empty");
  for (size_t i = 0; i < tensors.size(); ++i) check(tensors[i].defined(), "stack: tensor {} is undefined", i);
  const Shape& first = tensors[0].shape();
  const int64_t rank = first.rank();
  check(dim >= -(rank + 1) && dim <= rank, "stack: dim {} is out of range for tensors of shape {}", dim, first);
  for (size_t i = 1; i < tensors.size(); ++i)
    check(tensors[i].shape() == first, "stack: tensor {} has shape {} but tensor 0 has shape {}", i,
          tensors[i].shape(), first);
  const int64_t d = dim < 0 ? dim + rank + 1 : dim;
  std::vector<Tensor> pieces;
  pieces.reserve(tensors.size());
  for (const Tensor& t : tensors) pieces.push_back(unsqueeze(t, d));
  return concat(pieces, d);
}

// ---- cutting ------------------------------------------------------------------------------------

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  const profile::OpScope scope("narrow", {&x});
  check_defined(x, "narrow");
  const int64_t d = normalize_dim(dim, x.shape(), "narrow"), n = x.shape()[d];
  check(start >= -n && start <= n, "narrow: start {} is out of range for dim {} of shape {}", start, dim, x.shape());
  const int64_t s = start < 0 ? start + n : start;
  check(length >= 0 && s + length <= n, "narrow: start {} + length {} exceeds dim {} of shape {}", start, length, dim,
        x.shape());
  return slice_as(x, d, s, length, 1, "narrow");
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  const profile::OpScope scope("slice", {&x});
  check_defined(x, "slice");
  const int64_t d = normalize_dim(dim, x.shape(), "slice"), n = x.shape()[d];
  check(step >= 1, "slice: step must be positive, got {} (shape {})", step, x.shape());
  auto clamp = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
  const int64_t s = clamp(start), e = clamp(end);
  const int64_t length = e > s ? (e - s + step - 1) / step : 0;
  return slice_as(x, d, s, length, step, "slice");
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  const profile::OpScope scope("split", {&x});
  check_defined(x, "split");
  const int64_t d = normalize_dim(dim, x.shape(), "split");
  check(!sizes.empty(), "split: the list of sizes is empty (shape {})", x.shape());
  int64_t total = 0;
  for (int64_t size : sizes) {
    check(size >= 0, "split: negative size in {} (shape {})", Shape(sizes), x.shape());
    total += size;
  }
  check(total == x.shape()[d], "split: sizes {} sum to {} but dim {} of shape {} has size {}", Shape(sizes), total,
        dim, x.shape(), x.shape()[d]);
  return split_as(x, d, sizes, "split");
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  check_defined(x, "split");
  const int64_t d = normalize_dim(dim, x.shape(), "split"), n = x.shape()[d];
  check(split_size > 0, "split: split_size must be positive, got {} (shape {})", split_size, x.shape());
  std::vector<int64_t> sizes;
  for (int64_t start = 0; start < n; start += split_size) sizes.push_back(std::min(split_size, n - start));
  if (sizes.empty()) sizes.push_back(0);  // an empty dim gives one empty piece, as torch
  return split_as(x, d, sizes, "split");
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  check_defined(x, "chunk");
  const int64_t d = normalize_dim(dim, x.shape(), "chunk"), n = x.shape()[d];
  check(chunks > 0, "chunk: chunks must be positive, got {} (shape {})", chunks, x.shape());
  if (n == 0) return split_as(x, d, std::vector<int64_t>(chunks, 0), "chunk");  // as torch: `chunks` empty pieces
  const int64_t size = (n + chunks - 1) / chunks;
  std::vector<int64_t> sizes;
  for (int64_t start = 0; start < n; start += size) sizes.push_back(std::min(size, n - start));
  return split_as(x, d, sizes, "chunk");
}

}  // namespace ag
