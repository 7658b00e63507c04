#include "attograd/core/ops/attention.h"
#include "attograd/core/ops/dropout.h"

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/kernels.h"
#include "attograd/core/ops/softmax.h"
#include "attograd/core/profiler.h"
#include "attograd/core/random.h"
#include "attograd/core/threads.h"

namespace ag {

namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Stride = Eigen::OuterStride<>;
using ConstMat = Eigen::Map<const RowMajor, 0, Stride>;
using Mat = Eigen::Map<RowMajor, 0, Stride>;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// A (rows, cols) matrix at p whose rows lie `stride` floats apart (one head inside packed heads).
ConstMat cmat(const float* p, int64_t rows, int64_t cols, int64_t stride) { return {p, rows, cols, Stride(stride)}; }
Mat mat(float* p, int64_t rows, int64_t cols, int64_t stride) { return {p, rows, cols, Stride(stride)}; }
// Head h of batch b of a (batch, rows, H * width) tensor whose heads are packed in the last dim: a
// (rows, width) matrix whose rows lie H * width apart.
ConstMat head(const float* x, int64_t b, int64_t h, int64_t rows, int64_t width, int64_t H) {
  return cmat(x + (b * rows * H + h) * width, rows, width, H * width);
}
Mat head(float* x, int64_t b, int64_t h, int64_t rows, int64_t width, int64_t H) {
  return mat(x + (b * rows * H + h) * width, rows, width, H * width);
}

bool has_mask(const IntTensor& m) { return m.numel() > 0; }

// Where mask element (matrix p, row i, column j) lives: data[offset[p] + i * row + j * col], the mask
// broadcast (stride 0) over a logical (batch..., Tq, Tk) whose leading dims p walks in row-major order.
struct MaskView {
  const int64_t* data = nullptr;
  std::vector<int64_t> offset;
  int64_t row = 0, col = 0;
  const int64_t* row_ptr(int64_t p, int64_t i) const { return data + offset[p] + i * row; }
};

MaskView view_mask(const IntTensor& mask, const Shape& logical, const char* op) {
  const int64_t rank = logical.rank(), r = mask.dim();
  bool ok = r <= rank;
  for (int64_t d = 0; ok && d < r; ++d) ok = mask.shape()[d] == 1 || mask.shape()[d] == logical[rank - r + d];
  check(ok, "{}: mask {} does not broadcast to the attention weights {}", op, mask.shape(), logical);
  std::vector<int64_t> stride(rank, 0);
  const std::vector<int64_t> own = strides_of(mask.shape());
  for (int64_t d = 0; d < r; ++d)
    if (mask.shape()[d] != 1) stride[rank - r + d] = own[d];
  MaskView view;
  view.data = mask.data();
  view.row = stride[rank - 2];
  view.col = stride[rank - 1];
  const int64_t count = numel(Shape(logical.begin(), logical.end() - 2));
  view.offset.resize(count);
  for (int64_t p = 0; p < count; ++p) {
    int64_t off = 0;
    for (int64_t d = rank - 3, rest = p; d >= 0; --d) {
      off += (rest % logical[d]) * stride[d];
      rest /= logical[d];
    }
    view.offset[p] = off;
  }
  return view;
}

// Dropout's keep decisions, recomputed from (seed, base) in backward instead of stored: element i of
// the weights is kept when uniform(base + i) >= p, exactly as ag::dropout decides it.
struct KeepMask {
  uint64_t seed = 0, base = 0;
  float p = 0;
  // keep[j] = 1 or 0 for elements first .. first + n - 1.
  void fill(uint64_t first, int64_t n, float* keep) const {
    Generator::uniforms(seed, base + first, n, keep);
    for (int64_t j = 0; j < n; ++j) keep[j] = keep[j] >= p ? 1.0f : 0.0f;
  }
};

// The sizes of a multi_head_attention call: H heads, Tq queries, Tk keys, head widths d (q, k) and
// dv (v), the score scale, and dropout's keep decisions and 1 / (1 - p) (drop false: no dropout).
struct HeadSizes {
  int64_t H = 1, tq = 0, tk = 0, d = 0, dv = 0;
  float scale = 1;
  bool drop = false;
  KeepMask keep;
  float keep_scale = 1;
};

// Forward of one (batch, head) pair p = b * H + h, with Q, K, V, O head h's columns of batch b:
//   S = scale Q K^T, masked -> -inf;  P = softmax_rows(S);  W = P * keep / (1 - p_drop);  O = W V
// probs (count, Tq, Tk) gets P; weights (count, Tq, Tk) gets W when dropping (else W is P).
void head_forward(const HeadSizes& z, int64_t p, const float* q, const float* k, const float* v,
                  const std::vector<MaskView>& masks, float* probs, float* weights, float* out) {
  const int64_t b = p / z.H, h = p % z.H, tq = z.tq, tk = z.tk;
  float* P = probs + p * tq * tk;
  mat(P, tq, tk, tk).noalias() = z.scale * (head(q, b, h, tq, z.d, z.H) * head(k, b, h, tk, z.d, z.H).transpose());
  for (int64_t i = 0; i < tq; ++i) {
    float* row = P + i * tk;
    for (const MaskView& m : masks) {
      const int64_t* mr = m.row_ptr(p, i);
      for (int64_t j = 0; j < tk; ++j)
        if (mr[j * m.col] != 0) row[j] = kNegInf;
    }
    kernels::softmax_row(row, row, tk);
  }
  const float* W = P;
  if (z.drop) {
    float* Wd = weights + p * tq * tk;
    z.keep.fill(static_cast<uint64_t>(p * tq * tk), tq * tk, Wd);
    for (int64_t j = 0; j < tq * tk; ++j) Wd[j] *= P[j] * z.keep_scale;
    W = Wd;
  }
  head(out, b, h, tq, z.dv, z.H).noalias() = cmat(W, tq, tk, tk) * head(v, b, h, tk, z.dv, z.H);
}

// What one head's backward reads (the forward's inputs, P and W) and writes (null: not wanted).
// dout and dweights are the gradients reaching the output and the weights, each null for zeros.
struct HeadBackwardData {
  const float *q, *k, *v, *probs, *weights, *dout, *dweights;
  float *dq, *dk, *dv;
};

// Backward of one (batch, head) pair p (dW the gradient reaching the weights output, dO the output's):
//   dW' = dO V^T + dW;  dV = W^T dO;  dP = dW' * keep / (1 - p_drop);
//   dS = P * (dP - rowsum(dP * P)) * scale;  dQ = dS K;  dK = dS^T Q
// scratch holds Tq * Tk floats, twice that when dropping.
void head_backward(const HeadSizes& z, int64_t p, const HeadBackwardData& io, float* scratch) {
  const int64_t b = p / z.H, h = p % z.H, tq = z.tq, tk = z.tk, H = z.H, d = z.d, dv = z.dv;
  const float *P = io.probs + p * tq * tk, *W = io.weights + p * tq * tk;
  const ConstMat Q = head(io.q, b, h, tq, d, H), K = head(io.k, b, h, tk, d, H), V = head(io.v, b, h, tk, dv, H);
  float* dP = scratch;
  Mat dPm = mat(dP, tq, tk, tk);
  if (io.dout) {
    const ConstMat dO = head(io.dout, b, h, tq, dv, H);
    dPm.noalias() = dO * V.transpose();
    if (io.dv) head(io.dv, b, h, tk, dv, H).noalias() = cmat(W, tq, tk, tk).transpose() * dO;
  } else {
    dPm.setZero();
    if (io.dv) head(io.dv, b, h, tk, dv, H).setZero();
  }
  if (io.dweights) dPm += cmat(io.dweights + p * tq * tk, tq, tk, tk);
  if (z.drop) {
    float* kept = dP + tq * tk;
    z.keep.fill(static_cast<uint64_t>(p * tq * tk), tq * tk, kept);
    for (int64_t j = 0; j < tq * tk; ++j) dP[j] *= kept[j] * z.keep_scale;
  }
  for (int64_t i = 0; i < tq; ++i) {  // softmax backward, row by row (masked P = 0 -> dS = 0)
    float* r = dP + i * tk;
    const float* pr = P + i * tk;
    const float dot = static_cast<float>(kernels::dot_double(r, pr, tk));
    for (int64_t j = 0; j < tk; ++j) r[j] = pr[j] * (r[j] - dot) * z.scale;
  }
  if (io.dq) head(io.dq, b, h, tq, d, H).noalias() = dPm * K;
  if (io.dk) head(io.dk, b, h, tk, d, H).noalias() = dPm.transpose() * Q;
}

// The shapes multi_head_attention (and scaled_dot_product_attention, with H = 1) accepts:
// q (..., Tq, H*d), k (..., Tk, H*d), v (..., Tk, H*dv).
void check_attention_inputs(const Tensor& q, const Tensor& k, const Tensor& v, int64_t H, float dropout_p,
                            const char* op) {
  check(q.defined() && k.defined() && v.defined(), "{}: q, k or v is undefined", op);
  check(q.dim() >= 2 && k.dim() == q.dim() && v.dim() == q.dim(),
        "{}: q {}, k {} and v {} need the same rank, at least 2", op, q.shape(), k.shape(), v.shape());
  const Shape batch(q.shape().begin(), q.shape().end() - 2);
  check(
      Shape(k.shape().begin(), k.shape().end() - 2) == batch && Shape(v.shape().begin(), v.shape().end() - 2) == batch,
      "{}: batch dims of q {}, k {} and v {} differ", op, q.shape(), k.shape(), v.shape());
  check(H >= 1, "{}: num_heads must be positive, got {}", op, H);
  check(v.size(-2) == k.size(-2), "{}: k {} and v {} have different lengths", op, k.shape(), v.shape());
  check(k.size(-2) >= 1, "{}: there are no keys to attend to (k {})", op, k.shape());
  check(q.size(-1) == k.size(-1), "{}: q {} and k {} have different feature sizes", op, q.shape(), k.shape());
  check(q.size(-1) % H == 0 && v.size(-1) % H == 0, "{}: feature sizes of q {} and v {} are not divisible by {} heads",
        op, q.shape(), v.shape(), H);
  check(dropout_p >= 0.0f && dropout_p <= 1.0f, "{}: dropout probability {} is not in [0, 1]", op, dropout_p);
}

}  // namespace

// Every (batch, head) pair is independent: head_forward and head_backward above, one pair per
// parallel_for item. q (..., Tq, H*d), k (..., Tk, H*d), v (..., Tk, H*dv), output (..., Tq, H*dv),
// weights (..., H, Tq, Tk).
AttentionResult multi_head_attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t num_heads, float scale,
                                     const std::vector<IntTensor>& masks, float dropout_p, bool training,
                                     Generator* gen) {
  const profile::OpScope scope("multi_head_attention", {&q, &k, &v});
  const char* op = "multi_head_attention";
  check_attention_inputs(q, k, v, num_heads, dropout_p, op);
  HeadSizes z;
  z.H = num_heads, z.tq = q.size(-2), z.tk = k.size(-2), z.d = q.size(-1) / z.H, z.dv = v.size(-1) / z.H;
  z.scale = scale;
  const Shape batch(q.shape().begin(), q.shape().end() - 2);
  const int64_t count = numel(batch) * z.H;  // (batch, head) matrices
  Shape logical = batch;
  logical.insert(logical.end(), {z.H, z.tq, z.tk});
  std::vector<MaskView> views;
  for (const IntTensor& m : masks)
    if (has_mask(m)) views.push_back(view_mask(m, logical, op));

  z.drop = training && dropout_p > 0.0f;
  z.keep = KeepMask{0, 0, dropout_p};
  if (z.drop) {
    Generator& g = gen ? *gen : default_generator();
    z.keep.seed = g.seed();
    z.keep.base = claim_dropout_positions(g, count * z.tq * z.tk, batch.rank() > 0 ? batch[0] : 1);
  }
  z.keep_scale = dropout_p < 1.0f ? 1.0f / (1.0f - dropout_p) : 0.0f;

  Shape out_shape = batch;
  out_shape.insert(out_shape.end(), {z.tq, z.H * z.dv});
  Tensor out = empty(out_shape), probs = empty(logical);
  Tensor weights = z.drop ? empty(logical) : probs;
  const int64_t grain = kernels::grain_for(z.tq * z.tk * (z.d + z.dv), kernels::kMatrixGrain);
  const double flops = 2.0 * static_cast<double>(count * z.tq * z.tk * (z.d + z.dv));  // Q K^T and W V
  profile::add_flops(flops);
  detail::init_threads_once();
  parallel_for(count, grain, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p)
      head_forward(z, p, q.data(), k.data(), v.data(), views, probs.data(), weights.data(), out.data());
  });

  const bool need_q = q.requires_grad(), need_k = k.requires_grad(), need_v = v.requires_grad();
  auto backward = [sq = Saved(q), sk = Saved(k), sv = Saved(v), sp = Saved(probs),
                   sw = Saved(z.drop ? weights : Tensor()), z, count, grain, need_q, need_k, need_v,
                   flops](const Grads& g) {
    profile::add_flops(2 * flops);  // dO V^T, W^T dO, dS K, dS^T Q
    Tensor dq = need_q ? empty(sq->shape()) : Tensor(), dk = need_k ? empty(sk->shape()) : Tensor();
    Tensor dv = need_v ? empty(sv->shape()) : Tensor();
    const float* pp = sp->data();
    const HeadBackwardData io{sq->data(),
                              sk->data(),
                              sv->data(),
                              pp,
                              z.drop ? sw->data() : pp,
                              g[0].defined() ? g[0].data() : nullptr,
                              g[1].defined() ? g[1].data() : nullptr,
                              dq.defined() ? dq.data() : nullptr,
                              dk.defined() ? dk.data() : nullptr,
                              dv.defined() ? dv.data() : nullptr};
    parallel_for(count, grain, [&](int64_t p0, int64_t p1) {
      kernels::Scratch scratch(z.tq * z.tk * (z.drop ? 2 : 1));
      for (int64_t p = p0; p < p1; ++p) head_backward(z, p, io, scratch.data());
    });
    return Grads{dq, dk, dv};
  };
  std::vector<Tensor> outs = record_multi("multi_head_attention", {q, k, v}, {out, weights}, std::move(backward));
  return {outs[0], outs[1]};
}

// The core kernel treats q as one head (H = 1) over the leading dims: the mask gets a size-1 head dim
// in front of its last two, and the weights (..., 1, Tq, Tk) lose it again.
AttentionResult scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const IntTensor& mask,
                                             float dropout_p, bool training, Generator* gen) {
  const char* op = "scaled_dot_product_attention";
  check_attention_inputs(q, k, v, 1, dropout_p, op);
  const Shape batch(q.shape().begin(), q.shape().end() - 2);
  IntTensor m = mask;
  if (mask.numel() > 0) {
    Shape logical = batch;
    logical.insert(logical.end(), {q.size(-2), k.size(-2)});
    bool ok = mask.dim() <= logical.rank();
    for (int64_t d = 0; ok && d < mask.dim(); ++d)
      ok = mask.shape()[d] == 1 || mask.shape()[d] == logical[logical.rank() - mask.dim() + d];
    check(ok, "{}: mask {} does not broadcast to the attention weights {} (..., Tq, Tk)", op, mask.shape(), logical);
    if (mask.dim() > 2) {
      Shape s = mask.shape();
      s.insert(s.end() - 2, int64_t{1});
      m = mask.reshape(s);
    }
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(q.size(-1)));
  AttentionResult r = multi_head_attention(q, k, v, 1, scale, {m}, dropout_p, training, gen);
  Shape w = batch;
  w.insert(w.end(), {q.size(-2), k.size(-2)});
  return {r.output, r.weights.reshape(w)};
}

// e_t = tanh(x_t . w + b_t);  alpha = softmax_t(e, masked t excluded);  out = sum_t alpha_t x_t
// g_t = dalpha_t + dout . x_t;  ds_t = alpha_t (g_t - sum_s alpha_s g_s) (1 - e_t^2);
// dx_t = alpha_t dout + ds_t w;  dw = sum_{b,t} ds_t x_t;  db_t = sum_b ds_t
// x (B, T, D), weight (D, 1), bias (L >= T, 1), mask (B, T), out (B, D), alpha (B, T), e (B, T).
AttentionResult attention_pooling(const Tensor& x, const Tensor& weight, const Tensor& bias, const IntTensor& mask) {
  const profile::OpScope scope("attention_pooling", {&x, &weight, &bias});
  const char* op = "attention_pooling";
  check(x.defined() && weight.defined() && bias.defined(), "{}: x, weight or bias is undefined", op);
  check(x.dim() == 3, "{}: x must be (B, T, D), got {}", op, x.shape());
  const int64_t B = x.size(0), T = x.size(1), D = x.size(2);
  check(weight.dim() >= 1 && weight.dim() <= 2 && weight.numel() == D && weight.shape()[0] == D,
        "{}: weight {} does not match x {} (expected ({}, 1))", op, weight.shape(), x.shape(), D);
  check(bias.dim() >= 1 && bias.dim() <= 2 && bias.numel() == bias.shape()[0], "{}: bias must be (max_len, 1), got {}",
        op, bias.shape());
  const int64_t L = bias.shape()[0];
  check(T <= L, "{}: sequence length {} of x {} exceeds max_len {} (bias {})", op, T, x.shape(), L, bias.shape());
  const bool masked = has_mask(mask);
  check(!masked || mask.shape() == Shape{B, T}, "{}: mask {} must be (B, T) = ({}, {}) for x {}", op, mask.shape(), B,
        T, x.shape());

  Tensor out = empty({B, D}), alpha = empty({B, T}), e = empty({B, T});
  const float *px = x.data(), *pw = weight.data(), *pb = bias.data();
  const int64_t* pm = masked ? mask.data() : nullptr;
  float *po = out.data(), *pa = alpha.data(), *pe = e.data();
  const int64_t grain = kernels::grain_for(T * D);
  parallel_for(B, grain, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const float* xb = px + b * T * D;
      float *ab = pa + b * T, *eb = pe + b * T, *ob = po + b * D;
      for (int64_t t = 0; t < T; ++t) {
        eb[t] = std::tanh(static_cast<float>(kernels::dot_double(xb + t * D, pw, D)) + pb[t]);
        ab[t] = pm && pm[b * T + t] != 0 ? kNegInf : eb[t];
      }
      kernels::softmax_row(ab, ab, T);
      std::fill_n(ob, D, 0.0f);
      for (int64_t t = 0; t < T; ++t)
        if (ab[t] != 0.0f)
          for (int64_t j = 0; j < D; ++j) ob[j] += ab[t] * xb[t * D + j];
    }
  });

  auto backward = [sx = Saved(x), sw = Saved(weight), se = Saved(e), sa = Saved(alpha), w_shape = weight.shape(),
                   b_shape = bias.shape(), B, T, D, grain](const Grads& g) {
    const float *px = sx->data(), *pw = sw->data(), *pe = se->data(), *pa = sa->data();
    const float* pdo = g[0].defined() ? g[0].data() : nullptr;
    const float* pda = g[1].defined() ? g[1].data() : nullptr;
    Tensor dx = empty({B, T, D});
    kernels::Scratch ds(B * T), dw_part(B * D);
    float* pdx = dx.data();
    parallel_for(B, grain, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const float *xb = px + b * T * D, *ab = pa + b * T, *eb = pe + b * T;
        float *sb = ds.data() + b * T, *dxb = pdx + b * T * D, *dwb = dw_part.data() + b * D;
        for (int64_t t = 0; t < T; ++t)
          sb[t] = (pda ? pda[b * T + t] : 0.0f) +
                  (pdo ? static_cast<float>(kernels::dot_double(pdo + b * D, xb + t * D, D)) : 0.0f);
        const float c = static_cast<float>(kernels::dot_double(ab, sb, T));
        std::fill_n(dwb, D, 0.0f);
        for (int64_t t = 0; t < T; ++t) {
          sb[t] = ab[t] * (sb[t] - c) * (1.0f - eb[t] * eb[t]);
          for (int64_t j = 0; j < D; ++j) {
            dxb[t * D + j] = (pdo ? ab[t] * pdo[b * D + j] : 0.0f) + sb[t] * pw[j];
            dwb[j] += sb[t] * xb[t * D + j];
          }
        }
      }
    });
    Tensor dw = empty(w_shape), db = zeros(b_shape);  // sums over the batch in a fixed order
    kernels::column_sums(dw_part.data(), dw.data(), B, D);
    kernels::column_sums(ds.data(), db.data(), B, T);  // bias rows T .. L-1 keep their zero gradient
    return Grads{dx, dw, db};
  };
  std::vector<Tensor> outs = record_multi("attention_pooling", {x, weight, bias}, {out, alpha}, std::move(backward));
  return {outs[0], outs[1]};
}

// s[b,i,j] = sum_h v_h tanh(qp[b,i,h] + kp[b,j,h]);  with t = tanh(qp[b,i] + kp[b,j]) and
// g = ds[b,i,j] v (1 - t^2):  dqp[b,i] = sum_j g,  dkp[b,j] = sum_i g,  dv = sum_{b,i,j} ds[b,i,j] t
// qp (B, Tq, H), kp (B, Tk, H), v (H), s (B, Tq, Tk).
Tensor additive_attention_scores(const Tensor& query_proj, const Tensor& key_proj, const Tensor& v) {
  const profile::OpScope scope("additive_attention_scores", {&query_proj, &key_proj, &v});
  const char* op = "additive_attention_scores";
  check(query_proj.defined() && key_proj.defined() && v.defined(), "{}: an input is undefined", op);
  check(query_proj.dim() == 3 && key_proj.dim() == 3 && query_proj.size(0) == key_proj.size(0) &&
            query_proj.size(2) == key_proj.size(2) && v.numel() == query_proj.size(2),
        "{}: projected queries {} (B, Tq, H), projected keys {} (B, Tk, H) and v {} (H) do not match", op,
        query_proj.shape(), key_proj.shape(), v.shape());
  const int64_t B = query_proj.size(0), tq = query_proj.size(1), tk = key_proj.size(1), H = query_proj.size(2);
  using Arr = Eigen::Map<const Eigen::ArrayXf>;
  Tensor s = empty({B, tq, tk});
  const float *pq = query_proj.data(), *pk = key_proj.data(), *pv = v.data();
  float* ps = s.data();
  const int64_t grain = kernels::grain_for(tk * H);
  parallel_for(B * tq, grain, [&](int64_t r0, int64_t r1) {
    Eigen::ArrayXf t(H);
    const Arr vv(pv, H);
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / tq;
      const Arr qr(pq + r * H, H);
      for (int64_t j = 0; j < tk; ++j) {
        t = (qr + Arr(pk + (b * tk + j) * H, H)).tanh();
        ps[r * tk + j] = (t * vv).sum();
      }
    }
  });
  return record("additive_attention_scores", {query_proj, key_proj, v}, s,
                [sq = Saved(query_proj), sk = Saved(key_proj), sv = Saved(v), B, tq, tk, H](const Tensor& ds) {
                  Tensor dq = empty(sq->shape()), dk = zeros(sk->shape()), dv = empty(sv->shape());
                  kernels::Scratch dv_part(B * H, 0.0f);
                  const float *pq = sq->data(), *pk = sk->data(), *pv = sv->data(), *pds = ds.data();
                  const int64_t grain = kernels::grain_for(tq * tk * H);
                  parallel_for(B, grain, [&](int64_t b0, int64_t b1) {  // one thread owns batch b's rows
                    Eigen::ArrayXf t(H), gr(H);
                    const Arr vv(pv, H);
                    for (int64_t b = b0; b < b1; ++b) {
                      Eigen::Map<Eigen::ArrayXf> dvb(dv_part.data() + b * H, H);
                      for (int64_t i = 0; i < tq; ++i) {
                        const int64_t r = b * tq + i;
                        const Arr qr(pq + r * H, H);
                        Eigen::Map<Eigen::ArrayXf> dqr(dq.data() + r * H, H);
                        dqr.setZero();
                        for (int64_t j = 0; j < tk; ++j) {
                          const float g = pds[r * tk + j];
                          t = (qr + Arr(pk + (b * tk + j) * H, H)).tanh();
                          dvb += g * t;
                          gr = g * vv * (1.0f - t * t);
                          dqr += gr;
                          Eigen::Map<Eigen::ArrayXf>(dk.data() + (b * tk + j) * H, H) += gr;
                        }
                      }
                    }
                  });
                  kernels::column_sums(dv_part.data(), dv.data(), B, H);
                  return Grads{dq, dk, dv};
                });
}

}  // namespace ag
