#include "attograd/core/ops/matmul.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/gemm.h"
#include "attograd/core/kernels.h"
#include "attograd/core/profiler.h"
#include "attograd/core/threads.h"

namespace ag {

namespace {

// c (m, n) = op(x) (m, k) @ op(y) (k, n), or c += that when `accumulate`. x is stored (m, k), or
// (k, m) when tx (op = transpose); y is stored (k, n), or (n, k) when ty; all contiguous.
void gemm(const float* x, bool tx, const float* y, bool ty, float* c, int64_t m, int64_t k, int64_t n,
          bool accumulate) {
  sgemm(m, n, k, {x, tx ? m : k, tx}, {y, ty ? k : n, ty}, c, n, accumulate);
}

// out[g] (m, n) = sum, over the products p with target[p] == g in increasing p, of
// op(x[x_of[p]]) @ op(y[y_of[p]]), for every g < groups (0 where no product lands). Matrices are
// contiguous: x's (m, k) or (k, m) when tx, y's (k, n) or (n, k) when ty. One thread owns each group
// and adds its products in a fixed order (no atomics, same result run to run). Many groups: parallel
// over groups, one thread per GEMM; fewer groups than threads: one at a time, sgemm threads each GEMM.
void grouped_gemm(const float* x, bool tx, const std::vector<int64_t>& x_of, const float* y, bool ty,
                  const std::vector<int64_t>& y_of, const std::vector<int64_t>& target, int64_t groups, float* out,
                  int64_t m, int64_t k, int64_t n) {
  const int64_t products = static_cast<int64_t>(target.size());
  std::vector<int64_t> first(groups + 1, 0), order(products);  // products of group g: order[first[g] .. first[g+1])
  for (int64_t g : target) ++first[g + 1];
  for (int64_t g = 0; g < groups; ++g) first[g + 1] += first[g];
  std::vector<int64_t> next(first.begin(), first.end() - 1);
  for (int64_t p = 0; p < products; ++p) order[next[target[p]]++] = p;

  auto run_group = [&](int64_t g) {
    float* o = out + g * m * n;
    if (first[g] == first[g + 1]) std::fill_n(o, m * n, 0.0f);
    for (int64_t i = first[g]; i < first[g + 1]; ++i) {
      const int64_t p = order[i];
      gemm(x + x_of[p] * m * k, tx, y + y_of[p] * k * n, ty, o, m, k, n, i > first[g]);
    }
  };
  if (groups < get_num_threads()) {
    for (int64_t g = 0; g < groups; ++g) run_group(g);
    return;
  }
  const int64_t work = std::max<int64_t>(1, products / std::max<int64_t>(groups, 1) * m * n * std::max<int64_t>(k, 1));
  profile::add_flops(2.0 * static_cast<double>(products) * static_cast<double>(m * n * k));
  const profile::GemmEventsOff counted_here;
  parallel_for(groups, kernels::grain_for(work, kernels::kMatrixGrain), [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) run_group(g);
  });
}

// How a matmul walks its batches: product p multiplies a's matrix a_of[p] by b's matrix b_of[p] into
// output matrix p. When b has no batch dims, a's batch dims fold into its rows (m) instead: one GEMM.
struct BatchPlan {
  int64_t m = 0;                      // rows per product (times a's batch count when folded)
  int64_t a_count = 1, b_count = 1;   // matrices in a and in b
  std::vector<int64_t> a_of, b_of, self;  // self[p] = p
};

BatchPlan plan_batches(const Shape& batch_a, const Shape& batch_b, int64_t m) {
  BatchPlan plan;
  if (batch_b.empty()) {
    plan.m = numel(batch_a) * m;
    plan.a_of = plan.b_of = plan.self = {0};
    return plan;
  }
  plan.m = m;
  plan.a_count = numel(batch_a);
  plan.b_count = numel(batch_b);
  const Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  const int64_t rank = batch.rank(), count = numel(batch);
  // Element strides of a's and b's matrices over the output's batch dims (0 where broadcast).
  auto strides_over_batch = [&](const Shape& own) {
    std::vector<int64_t> own_strides = strides_of(own), out(rank, 0);
    for (int64_t d = 0; d < own.rank(); ++d)
      if (own[d] != 1) out[rank - own.rank() + d] = own_strides[d];
    return out;
  };
  const std::vector<int64_t> sa = strides_over_batch(batch_a), sb = strides_over_batch(batch_b);
  plan.a_of.resize(count);
  plan.b_of.resize(count);
  plan.self.resize(count);
  for (int64_t p = 0; p < count; ++p) {
    int64_t ia = 0, ib = 0;
    for (int64_t d = rank - 1, rest = p; d >= 0; --d) {
      const int64_t coord = rest % batch[d];
      rest /= batch[d];
      ia += coord * sa[d];
      ib += coord * sb[d];
    }
    plan.a_of[p] = ia;
    plan.b_of[p] = ib;
    plan.self[p] = p;
  }
  return plan;
}

bool batches_broadcast(const Shape& a, const Shape& b) {
  for (int64_t i = 1; i <= std::min(a.rank(), b.rank()); ++i) {
    const int64_t da = a[a.rank() - i], db = b[b.rank() - i];
    if (da != db && da != 1 && db != 1) return false;
  }
  return true;
}

}  // namespace

// y[p] = a[a_of[p]] @ b[b_of[p]] for every broadcast batch p;
// da[i] = sum over p reading a[i] of dy[p] @ b[b_of[p]]^T,  db[j] = sum over p reading b[j] of a[a_of[p]]^T @ dy[p]
Tensor matmul(const Tensor& a, const Tensor& b) {
  const profile::OpScope scope("matmul", {&a, &b});
  check(a.defined() && b.defined(), "matmul: an operand is undefined");
  check(a.dim() >= 1 && b.dim() >= 1, "matmul: both operands need at least one dim, got shapes {} and {}",
        a.shape(), b.shape());
  // A 1-D a is a row (1, k), a 1-D b a column (k, 1); that dim is then dropped from the result.
  const Shape as = a.dim() == 1 ? Shape{1, a.shape()[0]} : a.shape();
  const Shape bs = b.dim() == 1 ? Shape{b.shape()[0], 1} : b.shape();
  const int64_t m = as[as.rank() - 2], k = as.back(), n = bs.back();
  check(bs[bs.rank() - 2] == k, "matmul: shapes {} and {} cannot be multiplied ({} columns vs {} rows)", a.shape(),
        b.shape(), k, bs[bs.rank() - 2]);
  const Shape batch_a(as.begin(), as.end() - 2), batch_b(bs.begin(), bs.end() - 2);
  check(batches_broadcast(batch_a, batch_b), "matmul: batch dims of shapes {} and {} cannot be broadcast together",
        a.shape(), b.shape());
  Shape out_shape = broadcast_shapes(batch_a, batch_b, "matmul");
  if (a.dim() > 1) out_shape.push_back(m);
  if (b.dim() > 1) out_shape.push_back(n);

  detail::init_threads_once();
  auto plan = std::make_shared<const BatchPlan>(plan_batches(batch_a, batch_b, m));
  const int64_t products = static_cast<int64_t>(plan->self.size());
  Tensor y = empty(out_shape);
  grouped_gemm(a.data(), false, plan->a_of, b.data(), false, plan->b_of, plan->self, products, y.data(), plan->m, k, n);

  const bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return record("matmul", {a, b}, y,
                [sa = Saved(need_b ? a : Tensor()), sb = Saved(need_a ? b : Tensor()), plan, a_shape = a.shape(),
                 b_shape = b.shape(), need_a, need_b, k, n](const Tensor& dy) {
                  const BatchPlan& p = *plan;
                  Tensor da, db;
                  if (need_a) {  // (m, k) = dy (m, n) @ b^T, b stored (k, n)
                    da = empty(a_shape);
                    grouped_gemm(dy.data(), false, p.self, sb->data(), true, p.b_of, p.a_of, p.a_count, da.data(), p.m,
                                 n, k);
                  }
                  if (need_b) {  // (k, n) = a^T (k, m) @ dy (m, n), a stored (m, k)
                    db = empty(b_shape);
                    grouped_gemm(sa->data(), true, p.a_of, dy.data(), false, p.self, p.b_of, p.b_count, db.data(), k,
                                 p.m, n);
                  }
                  return Grads{da, db};
                });
}

namespace {

// y = x W[r]^T + b[r] over x's leading dims flattened into rows, for the weight rows
// r = begin .. begin+count-1 (all of them for linear): one GEMM accumulating onto the bias;
// dx = dy W[r],  dW[r] = dy^T x (zero outside r),  db[r] = dy summed over rows (double, fixed order)
// x (rows, in), W (out, in), y (rows, count). `op` names the op in messages and on the tape.
Tensor linear_through_rows(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t begin,
                           int64_t count) {
  check(x.defined() && weight.defined(), "{}: the input or the weight is undefined", op);
  check(weight.dim() == 2 && x.dim() >= 1 && x.shape().back() == weight.shape()[1],
        "{}: input {} does not match weight {}", op, x.shape(), weight.shape());
  const int64_t in = weight.shape()[1], out = weight.shape()[0];
  check(begin >= 0 && count >= 0 && begin + count <= out, "{}: rows {} .. {} are outside weight {}", op, begin,
        begin + count - 1, weight.shape());
  check(!bias.defined() || bias.shape() == Shape{out}, "{}: bias {} does not match weight {}", op, shape_of(bias),
        weight.shape());
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  const int64_t rows = numel(out_shape);
  out_shape.push_back(count);

  detail::init_threads_once();
  Tensor y = empty(out_shape);
  if (bias.defined()) {  // y starts as the bias rows, and the product is added to it
    const float* pb = bias.data() + begin;
    float* py = y.data();
    parallel_for(rows, kernels::grain_for(count), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) std::copy_n(pb, count, py + r * count);
    });
  }
  // Without recording (decoding, evaluation) a parameter's weight is the same from call to call: its
  // packed form is kept. While training it changes at every step, and packing it is cheap next to
  // the forward and backward products of a batch.
  const MatrixView w_rows{weight.data() + begin * in, in, true};
  if (!grad_enabled() && weight.is_leaf() && weight.requires_grad())
    sgemm_shared_b(rows, count, in, {x.data(), in, false}, w_rows, weight.storage(), y.data(), count, bias.defined());
  else
    sgemm(rows, count, in, {x.data(), in, false}, w_rows, y.data(), count, bias.defined());

  const bool need_x = x.requires_grad(), need_w = weight.requires_grad();
  const bool need_b = bias.defined() && bias.requires_grad();
  return record(op, {x, weight, bias}, y,
                [sx = Saved(need_w ? x : Tensor()), sw = Saved(need_x ? weight : Tensor()), x_shape = x.shape(),
                 w_shape = weight.shape(), need_x, need_w, need_b, rows, in, out, begin, count](const Tensor& dy) {
                  Tensor dx, dw, db;
                  if (need_x) {  // (rows, in) = dy (rows, count) @ W[r] (count, in)
                    dx = empty(x_shape);
                    sgemm(rows, in, count, {dy.data(), count, false}, {sw->data() + begin * in, in, false}, dx.data(),
                          in, false);
                  }
                  if (need_w) {  // W[r] (count, in) = dy^T (count, rows) @ x (rows, in)
                    dw = count == out ? empty(w_shape) : zeros(w_shape);
                    sgemm(count, in, rows, {dy.data(), count, true}, {sx->data(), in, false}, dw.data() + begin * in,
                          in, false);
                  }
                  if (need_b) {
                    db = count == out ? empty({out}) : zeros({out});
                    kernels::column_sums(dy.data(), db.data() + begin, rows, count);
                  }
                  return Grads{dx, dw, db};
                });
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const profile::OpScope scope("linear", {&x, &weight, &bias});
  const int64_t out = weight.defined() && weight.dim() == 2 ? weight.shape()[0] : 1;
  return linear_through_rows("linear", x, weight, bias, 0, out);
}

Tensor linear_rows(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t begin, int64_t count) {
  const profile::OpScope scope("linear_rows", {&x, &weight, &bias});
  return linear_through_rows("linear_rows", x, weight, bias, begin, count);
}

}  // namespace ag
