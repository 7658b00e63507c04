#include "attograd/core/ops/attention.h"

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <vector>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/gemm.h"
#include "attograd/core/kernels.h"
#include "attograd/core/ops/softmax.h"
#include "attograd/core/random.h"
#include "attograd/core/threads.h"

namespace ag {

namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Stride = Eigen::OuterStride<>;
using ConstMat = Eigen::Map<const RowMajor, 0, Stride>;
using Mat = Eigen::Map<RowMajor, 0, Stride>;

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// Multiply-adds below which splitting independent matrices across threads does not pay.
constexpr int64_t kParallelWork = 1 << 16;

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

// row (n) holds scores with masked entries at -inf: row = softmax(row); all -inf -> zeros.
void softmax_in_place(float* row, int64_t n) {
  const float m = kernels::row_max(row, n);
  if (m == kNegInf) {
    std::fill_n(row, n, 0.0f);
    return;
  }
  for (int64_t j = 0; j < n; ++j) row[j] -= m;
  kernels::exp_inplace(row, n);
  const float inv = static_cast<float>(1.0 / kernels::sum_double(row, n));
  for (int64_t j = 0; j < n; ++j) row[j] *= inv;
}

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
    uint64_t block = ~uint64_t{0};
    std::array<uint32_t, 4> words{};
    for (int64_t j = 0; j < n; ++j) {
      const uint64_t pos = base + first + static_cast<uint64_t>(j);
      if (pos / 4 != block) block = pos / 4, words = Generator::philox(block, seed);
      keep[j] = static_cast<float>(words[pos % 4] >> 8) * 0x1.0p-24f >= p ? 1.0f : 0.0f;
    }
  }
};

}  // namespace

// For each batch b and head h (p = b * H + h), with Q, K, V, O head h's columns of batch b:
//   S = scale Q K^T, masked -> -inf;  P = softmax_rows(S);  W = P * keep / (1 - p_drop);  O = W V
// backward (dW the gradient reaching the weights output, dO the output's):
//   dW' = dO V^T + dW;  dV = W^T dO;  dP = dW' * keep / (1 - p_drop);
//   dS = P * (dP - rowsum(dP * P)) * scale;  dQ = dS K;  dK = dS^T Q
// q (..., Tq, H*d), k (..., Tk, H*d), v (..., Tk, H*dv), output (..., Tq, H*dv), weights (..., H, Tq, Tk).
AttentionResult multi_head_attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t num_heads, float scale,
                                     const std::vector<IntTensor>& masks, float dropout_p, bool training,
                                     Generator* gen) {
  const char* op = "multi_head_attention";
  check(q.defined() && k.defined() && v.defined(), "{}: q, k or v is undefined", op);
  check(q.dim() >= 2 && k.dim() == q.dim() && v.dim() == q.dim(),
        "{}: q {}, k {} and v {} need the same rank, at least 2", op, q.shape(), k.shape(), v.shape());
  const Shape batch(q.shape().begin(), q.shape().end() - 2);
  check(
      Shape(k.shape().begin(), k.shape().end() - 2) == batch && Shape(v.shape().begin(), v.shape().end() - 2) == batch,
      "{}: batch dims of q {}, k {} and v {} differ", op, q.shape(), k.shape(), v.shape());
  const int64_t H = num_heads, tq = q.size(-2), tk = k.size(-2);
  check(H >= 1, "{}: num_heads must be positive, got {}", op, H);
  check(v.size(-2) == tk, "{}: k {} and v {} have different lengths", op, k.shape(), v.shape());
  check(tk >= 1, "{}: there are no keys to attend to (k {})", op, k.shape());
  check(q.size(-1) == k.size(-1), "{}: q {} and k {} have different feature sizes", op, q.shape(), k.shape());
  check(q.size(-1) % H == 0 && v.size(-1) % H == 0, "{}: feature sizes of q {} and v {} are not divisible by {} heads",
        op, q.shape(), v.shape(), H);
  check(dropout_p >= 0.0f && dropout_p <= 1.0f, "{}: dropout probability {} is not in [0, 1]", op, dropout_p);
  const int64_t d = q.size(-1) / H, dv = v.size(-1) / H;
  const int64_t count = numel(batch) * H;  // (batch, head) matrices
  Shape logical = batch;
  logical.insert(logical.end(), {H, tq, tk});
  std::vector<MaskView> views;
  for (const IntTensor& m : masks)
    if (has_mask(m)) views.push_back(view_mask(m, logical, op));

  const bool drop = training && dropout_p > 0.0f;
  KeepMask keep{0, 0, dropout_p};
  if (drop) {
    Generator& g = gen ? *gen : default_generator();
    keep.seed = g.seed();
    keep.base = g.advance(static_cast<uint64_t>(count * tq * tk));
  }
  const float keep_scale = dropout_p < 1.0f ? 1.0f / (1.0f - dropout_p) : 0.0f;

  Shape out_shape = batch;
  out_shape.insert(out_shape.end(), {tq, H * dv});
  Tensor out = empty(out_shape), probs = empty(logical);
  Tensor weights = drop ? empty(logical) : probs;
  const float *pq = q.data(), *pk = k.data(), *pv = v.data();
  float *po = out.data(), *pp = probs.data(), *pw = weights.data();
  const int64_t grain = std::max<int64_t>(1, kParallelWork / std::max<int64_t>(1, tq * tk * (d + dv)));
  detail::init_threads_once();
  parallel_for(count, grain, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t b = p / H, h = p % H;
      float* P = pp + p * tq * tk;
      mat(P, tq, tk, tk).noalias() = scale * (head(pq, b, h, tq, d, H) * head(pk, b, h, tk, d, H).transpose());
      for (int64_t i = 0; i < tq; ++i) {
        float* row = P + i * tk;
        for (const MaskView& m : views) {
          const int64_t* mr = m.row_ptr(p, i);
          for (int64_t j = 0; j < tk; ++j)
            if (mr[j * m.col] != 0) row[j] = kNegInf;
        }
        softmax_in_place(row, tk);
      }
      const float* W = P;
      if (drop) {
        float* Wd = pw + p * tq * tk;
        keep.fill(static_cast<uint64_t>(p * tq * tk), tq * tk, Wd);
        for (int64_t j = 0; j < tq * tk; ++j) Wd[j] *= P[j] * keep_scale;
        W = Wd;
      }
      head(po, b, h, tq, dv, H).noalias() = cmat(W, tq, tk, tk) * head(pv, b, h, tk, dv, H);
    }
  });

  const bool need_q = q.requires_grad(), need_k = k.requires_grad(), need_v = v.requires_grad();
  auto backward = [sq = Saved(q), sk = Saved(k), sv = Saved(v), sp = Saved(probs),
                   sw = Saved(drop ? weights : Tensor()), keep, drop, keep_scale, scale, H, tq, tk, d, dv, count, grain,
                   need_q, need_k, need_v](const Grads& g) {
    const Tensor& dout = g[0];
    const Tensor& dweights = g[1];
    Tensor dq = need_q ? empty(sq->shape()) : Tensor(), dk = need_k ? empty(sk->shape()) : Tensor();
    Tensor dvt = need_v ? empty(sv->shape()) : Tensor();
    const float *pq = sq->data(), *pk = sk->data(), *pv = sv->data(), *pp = sp->data();
    const float* pw = drop ? sw->data() : pp;
    const float* pdo = dout.defined() ? dout.data() : nullptr;
    const float* pdw = dweights.defined() ? dweights.data() : nullptr;
    parallel_for(count, grain, [&](int64_t p0, int64_t p1) {
      kernels::Scratch scratch(tq * tk * (drop ? 2 : 1));
      float* dP = scratch.data();
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t b = p / H, h = p % H;
        const float *P = pp + p * tq * tk, *W = pw + p * tq * tk;
        const ConstMat Q = head(pq, b, h, tq, d, H), K = head(pk, b, h, tk, d, H), V = head(pv, b, h, tk, dv, H);
        Mat dPm = mat(dP, tq, tk, tk);
        if (pdo) {
          const ConstMat dO = head(pdo, b, h, tq, dv, H);
          dPm.noalias() = dO * V.transpose();
          if (dvt.defined()) head(dvt.data(), b, h, tk, dv, H).noalias() = cmat(W, tq, tk, tk).transpose() * dO;
        } else {
          dPm.setZero();
          if (dvt.defined()) head(dvt.data(), b, h, tk, dv, H).setZero();
        }
        if (pdw) dPm += cmat(pdw + p * tq * tk, tq, tk, tk);
        if (drop) {
          float* kept = dP + tq * tk;
          keep.fill(static_cast<uint64_t>(p * tq * tk), tq * tk, kept);
          for (int64_t j = 0; j < tq * tk; ++j) dP[j] *= kept[j] * keep_scale;
        }
        for (int64_t i = 0; i < tq; ++i) {  // softmax backward, row by row (masked P = 0 -> dS = 0)
          float* r = dP + i * tk;
          const float* pr = P + i * tk;
          const float dot = static_cast<float>(kernels::dot_double(r, pr, tk));
          for (int64_t j = 0; j < tk; ++j) r[j] = pr[j] * (r[j] - dot) * scale;
        }
        if (dq.defined()) head(dq.data(), b, h, tq, d, H).noalias() = dPm * K;
        if (dk.defined()) head(dk.data(), b, h, tk, d, H).noalias() = dPm.transpose() * Q;
      }
    });
    return Grads{dq, dk, dvt};
  };
  std::vector<Tensor> outs = record_multi("multi_head_attention", {q, k, v}, {out, weights}, std::move(backward));
  return {outs[0], outs[1]};
}

// e_t = tanh(x_t . w + b_t);  alpha = softmax_t(e, masked t excluded);  out = sum_t alpha_t x_t
// g_t = dalpha_t + dout . x_t;  ds_t = alpha_t (g_t - sum_s alpha_s g_s) (1 - e_t^2);
// dx_t = alpha_t dout + ds_t w;  dw = sum_{b,t} ds_t x_t;  db_t = sum_b ds_t
// x (B, T, D), weight (D, 1), bias (L >= T, 1), mask (B, T), out (B, D), alpha (B, T), e (B, T).
AttentionResult attention_pooling(const Tensor& x, const Tensor& weight, const Tensor& bias, const IntTensor& mask) {
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
  const int64_t grain = std::max<int64_t>(1, kernels::kGrain / std::max<int64_t>(1, T * D));
  parallel_for(B, grain, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const float* xb = px + b * T * D;
      float *ab = pa + b * T, *eb = pe + b * T, *ob = po + b * D;
      for (int64_t t = 0; t < T; ++t) {
        eb[t] = std::tanh(static_cast<float>(kernels::dot_double(xb + t * D, pw, D)) + pb[t]);
        ab[t] = pm && pm[b * T + t] != 0 ? kNegInf : eb[t];
      }
      softmax_in_place(ab, T);
      std::fill_n(ob, D, 0.0f);
      for (int64_t t = 0; t < T; ++t)
        if (ab[t] != 0.0f)
          for (int64_t j = 0; j < D; ++j) ob[j] += ab[t] * xb[t * D + j];
    }
  });

  auto backward = [sx = Saved(x), sw = Saved(weight), se = Saved(e), sa = Saved(alpha), w_shape = weight.shape(),
                   b_shape = bias.shape(), B, T, D, L, grain](const Grads& g) {
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
    Tensor dw = empty(w_shape), db = zeros(b_shape);
    for (int64_t j = 0; j < D; ++j) {  // fixed order over the batch: the same sums every run
      double acc = 0;
      for (int64_t b = 0; b < B; ++b) acc += dw_part[b * D + j];
      dw.data()[j] = static_cast<float>(acc);
    }
    for (int64_t t = 0; t < T && t < L; ++t) {
      double acc = 0;
      for (int64_t b = 0; b < B; ++b) acc += ds[b * T + t];
      db.data()[t] = static_cast<float>(acc);
    }
    return Grads{dx, dw, db};
  };
  std::vector<Tensor> outs = record_multi("attention_pooling", {x, weight, bias}, {out, alpha}, std::move(backward));
  return {outs[0], outs[1]};
}

// s[b,i,j] = sum_h v_h tanh(qp[b,i,h] + kp[b,j,h]);  with t = tanh(qp[b,i] + kp[b,j]) and
// g = ds[b,i,j] v (1 - t^2):  dqp[b,i] = sum_j g,  dkp[b,j] = sum_i g,  dv = sum_{b,i,j} ds[b,i,j] t
// qp (B, Tq, H), kp (B, Tk, H), v (H), s (B, Tq, Tk).
Tensor additive_attention_scores(const Tensor& query_proj, const Tensor& key_proj, const Tensor& v) {
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
  const int64_t grain = std::max<int64_t>(1, kernels::kGrain / std::max<int64_t>(1, tk * H));
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
                  const int64_t grain = std::max<int64_t>(1, kernels::kGrain / std::max<int64_t>(1, tq * tk * H));
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
                  for (int64_t h = 0; h < H; ++h) {
                    double acc = 0;
                    for (int64_t b = 0; b < B; ++b) acc += dv_part[b * H + h];
                    dv.data()[h] = static_cast<float>(acc);
                  }
                  return Grads{dq, dk, dv};
                });
}

// y = x W[r]^T + b[r] for the rows r = begin .. begin+count-1;
// dx = dy W[r],  dW[r] = dy^T x (zero elsewhere),  db[r] = sum over rows of dy (zero elsewhere)
// x (rows, in), W (out, in), y (rows, count).
Tensor linear_rows(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t begin, int64_t count) {
  const char* op = "linear_rows";
  check(x.defined() && weight.defined(), "{}: the input or the weight is undefined", op);
  check(weight.dim() == 2 && x.dim() >= 1 && x.shape().back() == weight.shape()[1],
        "{}: input {} does not match weight {}", op, x.shape(), weight.shape());
  const int64_t in = weight.shape()[1], out = weight.shape()[0];
  check(begin >= 0 && count >= 1 && begin + count <= out, "{}: rows {} .. {} are outside weight {}", op, begin,
        begin + count - 1, weight.shape());
  check(!bias.defined() || bias.shape() == Shape{out}, "{}: bias {} does not match weight {}", op,
        bias.defined() ? bias.shape() : Shape{}, weight.shape());
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  const int64_t rows = numel(out_shape);
  out_shape.push_back(count);
  detail::init_threads_once();
  Tensor y = empty(out_shape);
  if (bias.defined())  // y starts as the bias rows, and the product is added to it
    for (int64_t r = 0; r < rows; ++r) std::copy_n(bias.data() + begin, count, y.data() + r * count);
  sgemm(rows, count, in, {x.data(), in, false}, {weight.data() + begin * in, in, true}, y.data(), count,
        bias.defined());

  const bool need_x = x.requires_grad(), need_w = weight.requires_grad(),
             need_b = bias.defined() && bias.requires_grad();
  return record("linear_rows", {x, weight, bias}, y,
                [sx = Saved(need_w ? x : Tensor()), sw = Saved(need_x ? weight : Tensor()), x_shape = x.shape(),
                 w_shape = weight.shape(), need_x, need_w, need_b, rows, in, out, begin, count](const Tensor& dy) {
                  Tensor dx, dw, db;
                  if (need_x) {  // (rows, in) = dy (rows, count) @ W[r] (count, in)
                    dx = empty(x_shape);
                    sgemm(rows, in, count, {dy.data(), count, false}, {sw->data() + begin * in, in, false}, dx.data(),
                          in, false);
                  }
                  if (need_w) {  // W[r] (count, in) = dy^T (count, rows) @ x (rows, in)
                    dw = zeros(w_shape);
                    sgemm(count, in, rows, {dy.data(), count, true}, {sx->data(), in, false}, dw.data() + begin * in,
                          in, false);
                  }
                  if (need_b) {  // column sums in double, rows in order
                    db = zeros({out});
                    std::vector<double> acc(count, 0.0);
                    for (int64_t r = 0; r < rows; ++r)
                      for (int64_t j = 0; j < count; ++j) acc[j] += dy.data()[r * count + j];
                    for (int64_t j = 0; j < count; ++j) db.data()[begin + j] = static_cast<float>(acc[j]);
                  }
                  return Grads{dx, dw, db};
                });
}

}  // namespace ag
