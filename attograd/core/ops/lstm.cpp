#include "attograd/core/ops/lstm.h"

#include <Eigen/Core>
#include <algorithm>
#include <cstring>
#include <memory>
#include <numeric>
#include <vector>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/gemm.h"
#include "attograd/core/kernels.h"
#include "attograd/core/ops/elementwise.h"
#include "attograd/core/profiler.h"
#include "attograd/core/threads.h"

namespace ag {

namespace {

using ArrayMap = Eigen::Map<Eigen::ArrayXf>;
using ConstArrayMap = Eigen::Map<const Eigen::ArrayXf>;

// The packed layout (torch's PackedSequence): sequences sorted longest first (ties keep batch
// order), so that at step s the sequences still running are the sorted rows r < count[s]. The rows of
// all steps are stacked, step s from packed row offset[s]: N = sum of the lengths rows in all, and
// no work is spent on pad positions. Row r at step s is sequence order[r] at position s, or at
// length[r] - 1 - s when reverse (each sequence starts from its own last token).
struct Packing {
  int64_t time = 0, steps = 0;  // T, and the longest length
  bool reverse = false;
  std::vector<int64_t> order;   // (B) batch index of sorted row r
  std::vector<int64_t> length;  // (B) length of sorted row r
  std::vector<int64_t> count;   // (steps + 1) rows running at step s; count[steps] = 0
  std::vector<int64_t> offset;  // (steps + 1) first packed row of step s; offset[steps] = N
  int64_t batch() const { return static_cast<int64_t>(order.size()); }
  int64_t rows() const { return offset[steps]; }
  // Row of (sequence order[r], its position at step s) in a (B, T, width) tensor.
  int64_t source_row(int64_t s, int64_t r) const { return order[r] * time + (reverse ? length[r] - 1 - s : s); }
};

Packing make_packing(const IntTensor& lengths, int64_t batch, int64_t time, bool reverse) {
  Packing p;
  p.time = time;
  p.reverse = reverse;
  std::vector<int64_t> len(batch, time);
  if (lengths.numel() > 0) std::copy_n(lengths.data(), batch, len.begin());
  p.order.resize(batch);
  std::iota(p.order.begin(), p.order.end(), 0);
  std::stable_sort(p.order.begin(), p.order.end(), [&](int64_t a, int64_t b) { return len[a] > len[b]; });
  p.length.resize(batch);
  for (int64_t r = 0; r < batch; ++r) p.length[r] = len[p.order[r]];
  p.steps = p.length[0];
  p.count.assign(p.steps + 1, 0);
  p.offset.assign(p.steps + 1, 0);
  for (int64_t s = 0, n = batch; s <= p.steps; ++s) {
    while (n > 0 && p.length[n - 1] <= s) --n;
    p.count[s] = n;
    if (s < p.steps) p.offset[s + 1] = p.offset[s] + n;
  }
  return p;
}

// dst (N, width) = the rows of src (B, T, width) in packed order.
void pack(const float* src, float* dst, const Packing& p, int64_t width) {
  const int64_t grain = kernels::grain_for(p.batch() * width);
  parallel_for(p.steps, grain, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s)
      for (int64_t r = 0; r < p.count[s]; ++r)
        std::memcpy(dst + (p.offset[s] + r) * width, src + p.source_row(s, r) * width, sizeof(float) * width);
  });
}

// dst (B, T, width) = src (N, width) put back at the packed positions, 0 at the pad positions.
void unpack(const float* src, float* dst, const Packing& p, int64_t width) {
  const int64_t grain = kernels::grain_for(p.batch() * width);
  parallel_for(p.steps, grain, [&](int64_t s0, int64_t s1) {
    for (int64_t s = s0; s < s1; ++s)
      for (int64_t r = 0; r < p.count[s]; ++r)
        std::memcpy(dst + p.source_row(s, r) * width, src + (p.offset[s] + r) * width, sizeof(float) * width);
  });
  for (int64_t r = 0; r < p.batch(); ++r)  // pads: t in [length, T) of each sequence
    std::fill(dst + (p.order[r] * p.time + p.length[r]) * width, dst + (p.order[r] + 1) * p.time * width, 0.0f);
}

// dst (B, width) row order[r] = src (B, width) sorted row r (unsort), or the reverse (sort).
void unsort_rows(const float* src, float* dst, const Packing& p, int64_t width) {
  for (int64_t r = 0; r < p.batch(); ++r)
    std::memcpy(dst + p.order[r] * width, src + r * width, sizeof(float) * width);
}
void sort_rows(const float* src, float* dst, const Packing& p, int64_t width) {
  for (int64_t r = 0; r < p.batch(); ++r)
    std::memcpy(dst + r * width, src + p.order[r] * width, sizeof(float) * width);
}

// One step, `rows` rows, G = 4H. a (rows, G) holds the pre-activations on entry and the activated
// gates i, f, g, o on exit; c_prev (rows, H), or null for zeros; c, tc, h (rows, H) out:
//   i, f, o = sigmoid(a_i, a_f, a_o),  g = tanh(a_g),  c = f c_prev + i g,  tc = tanh(c),  h = o tc
void gates_forward(float* a, const float* c_prev, float* c, float* tc, float* h, int64_t rows, int64_t H) {
  for (int64_t r = 0; r < rows; ++r) {
    float* ar = a + r * 4 * H;
    ArrayMap if_gates(ar, 2 * H), g(ar + 2 * H, H), o(ar + 3 * H, H);
    if_gates = if_gates.logistic();  // Eigen's SIMD sigmoid and tanh (std:: ones do not vectorise)
    g = g.tanh();
    o = o.logistic();
    const ConstArrayMap i(ar, H), f(ar + H, H);
    ArrayMap cr(c + r * H, H), tr(tc + r * H, H), hr(h + r * H, H);
    if (c_prev) cr = f * ConstArrayMap(c_prev + r * H, H) + i * g;
    else cr = i * g;
    tr = cr.tanh();
    hr = o * tr;
  }
}

// The same step backward. a (rows, G) the activated gates, tc (rows, H) tanh(c), c_prev (rows, H) or
// null; dh (rows, H) the gradient reaching h; dc (rows, H) in: the gradient reaching c from the
// next step, out: the gradient reaching c_prev; da (rows, G) out: the pre-activations' gradient.
//   dc' = dc + dh o (1 - tc^2),  da_i = dc' g i (1 - i),  da_f = dc' c_prev f (1 - f),
//   da_g = dc' i (1 - g^2),  da_o = dh tc o (1 - o),  dc_prev = dc' f
void gates_backward(const float* a, const float* tc, const float* c_prev, const float* dh, float* dc, float* da,
                    int64_t rows, int64_t H) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* ar = a + r * 4 * H;
    float* dar = da + r * 4 * H;
    const ConstArrayMap i(ar, H), f(ar + H, H), g(ar + 2 * H, H), o(ar + 3 * H, H);
    const ConstArrayMap t(tc + r * H, H), dhr(dh + r * H, H);
    ArrayMap dcr(dc + r * H, H), da_i(dar, H), da_f(dar + H, H), da_g(dar + 2 * H, H), da_o(dar + 3 * H, H);
    dcr += dhr * o * (1.0f - t.square());
    da_i = dcr * g * i * (1.0f - i);
    if (c_prev) da_f = dcr * ConstArrayMap(c_prev + r * H, H) * f * (1.0f - f);
    else da_f.setZero();
    da_g = dcr * i * (1.0f - g.square());
    da_o = dhr * t * o * (1.0f - o);
    dcr *= f;
  }
}

// What the forward pass keeps for the backward pass (packed rows, N = sum of lengths).
struct LSTMTape {
  Packing packing;
  int64_t input_size = 0;  // I
  Tensor gates;   // (N, 4H) activated gates i, f, g, o
  Tensor c, tc;   // (N, H) c and tanh(c) after each step
  Tensor h;       // (N, H) h after each step
  Tensor h0, c0;  // (B, H) initial states in sorted order, undefined for zeros
};

// Which inputs of lstm_layer want a gradient.
struct Needs {
  bool x, h0, c0, w_ih, w_hh, b_ih, b_hh;
};

// What backpropagation through time leaves: the pre-activation gradients of every step and the
// gradients reaching h0 and c0 (sorted rows).
struct TimeGradients {
  Tensor da;                 // (N, 4H)
  kernels::Scratch dh, dc;   // (B, H): dh_prev and dc_prev after step 0
};

// Backward phase 1, backpropagation through time: steps in reverse order, each over its running
// rows (sequences whose last step is s start from dh_n, dc_n), with dy = the gradient of output:
//   dh = dy_s + dh_next,  da_s, dc_prev = gates_backward(dh, dc),  dh_prev = da_s @ W_hh
// dout: gradients of output (B, T, H), h_n and c_n (B, H), each undefined = zeros.
TimeGradients backprop_through_time(const LSTMTape& tape, const Tensor& w_hh, const Grads& dout, bool need_h0) {
  const Packing& p = tape.packing;
  const int64_t B = p.batch(), H = w_hh.size(1), G = 4 * H, N = p.rows();
  const float* dy = dout[0].defined() ? dout[0].data() : nullptr;
  const float* dh_n = dout[1].defined() ? dout[1].data() : nullptr;
  const float* dc_n = dout[2].defined() ? dout[2].data() : nullptr;
  const float *gates = tape.gates.data(), *c = tape.c.data(), *tc = tape.tc.data();
  const float* c0 = tape.c0.defined() ? tape.c0.data() : nullptr;
  const MatrixView whh{w_hh.data(), H, false};

  TimeGradients out{empty({N, G}), kernels::Scratch(B * H), kernels::Scratch(B * H)};
  const kernels::Scratch &dh = out.dh, &dc = out.dc;  // running gradients of h and c, sorted rows
  const int64_t grain = kernels::grain_for(G);
  for (int64_t s = p.steps - 1; s >= 0; --s) {
    const int64_t n = p.count[s], ending = p.count[s + 1];  // rows >= ending take their last step here
    const float* a_s = gates + p.offset[s] * G;
    const float* c_prev = s > 0 ? c + p.offset[s - 1] * H : c0;
    float* da_s = out.da.data() + p.offset[s] * G;
    const bool propagate_h = s > 0 || need_h0;
    parallel_for(n, grain, [&](int64_t r0, int64_t r1) {
      for (int64_t r = std::max(r0, ending); r < r1; ++r) {
        const int64_t b = p.order[r];
        if (dh_n) std::memcpy(&dh[r * H], dh_n + b * H, sizeof(float) * H);
        else std::fill_n(&dh[r * H], H, 0.0f);
        if (dc_n) std::memcpy(&dc[r * H], dc_n + b * H, sizeof(float) * H);
        else std::fill_n(&dc[r * H], H, 0.0f);
      }
      if (dy)
        for (int64_t r = r0; r < r1; ++r)
          ArrayMap(&dh[r * H], H) += ConstArrayMap(dy + p.source_row(s, r) * H, H);
      gates_backward(a_s + r0 * G, tc + (p.offset[s] + r0) * H, c_prev ? c_prev + r0 * H : nullptr, &dh[r0 * H],
                     &dc[r0 * H], da_s + r0 * G, r1 - r0, H);
    });
    if (propagate_h)  // dh_prev (rows, H) = da_s (rows, 4H) @ W_hh (4H, H), W_hh packed once for all steps
      sgemm_shared_b(n, H, G, {da_s, G, false}, whh, w_hh.storage(), dh.data(), H, /*accumulate=*/false);
  }
  return out;
}

// Backward phase 2, the input and weight gradients: a few large GEMMs over all steps at once,
//   dW_ih = da^T @ x,  dx = da @ W_ih,  dW_hh = da^T @ h_prev,  db_ih = db_hh = sum_rows(da)
// with h_prev of step s the h of step s - 1 (h0 at step 0, no contribution when h0 is zeros).
// x is given only when W_ih needs its gradient, w_ih only when x does.
Grads input_and_weight_gradients(const LSTMTape& tape, const Tensor& x, const Tensor& w_ih, const TimeGradients& time,
                       const Needs& need) {
  const Packing& p = tape.packing;
  const int64_t B = p.batch(), T = p.time, I = tape.input_size, G = time.da.size(1), H = G / 4, N = p.rows();
  const Tensor& da = time.da;
  Tensor dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh;
  if (need.x || need.w_ih) {
    if (need.w_ih) {  // (4H, I) = da^T (4H, N) @ x packed (N, I)
      kernels::Scratch xp(N * I);
      pack(x.data(), xp.data(), p, I);
      dw_ih = empty({G, I});
      sgemm(G, I, N, {da.data(), G, true}, {xp.data(), I, false}, dw_ih.data(), I, false);
    }
    if (need.x) {  // (N, I) = da (N, 4H) @ W_ih (4H, I), then unpacked to (B, T, I)
      kernels::Scratch dxp(N * I);
      sgemm(N, I, G, {da.data(), G, false}, {w_ih.data(), I, false}, dxp.data(), I, false);
      dx = empty({B, T, I});
      unpack(dxp.data(), dx.data(), p, I);
    }
  }
  if (need.w_hh) {  // (4H, H) = da^T (4H, N) @ h_prev (N, H); step 0 only when h0 is given
    dw_hh = empty({G, H});
    const int64_t first = tape.h0.defined() ? 0 : B;  // packed row where the nonzero h_prev start
    if (first == N) {
      dw_hh.zero_();
    } else {
      kernels::Scratch h_prev((N - first) * H);
      if (first == 0) std::memcpy(h_prev.data(), tape.h0.data(), sizeof(float) * B * H);
      for (int64_t s = 1; s < p.steps; ++s)  // step s reads the first count[s] rows of step s - 1
        std::memcpy(&h_prev[(p.offset[s] - first) * H], tape.h.data() + p.offset[s - 1] * H,
                    sizeof(float) * p.count[s] * H);
      sgemm(G, H, N - first, {da.data() + first * G, G, true}, {h_prev.data(), H, false}, dw_hh.data(), H, false);
    }
  }
  if (need.b_ih || need.b_hh) {
    Tensor db = empty({G});
    kernels::column_sums(da.data(), db.data(), N, G);
    if (need.b_ih) db_ih = db;
    if (need.b_hh) db_hh = need.b_ih ? db.clone() : db;
  }
  if (need.h0) {
    dh0 = empty({B, H});
    unsort_rows(time.dh.data(), dh0.data(), p, H);
  }
  if (need.c0) {
    dc0 = empty({B, H});
    unsort_rows(time.dc.data(), dc0.data(), p, H);
  }
  return Grads{dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh};
}

// The backward pass of one layer-direction: the two phases above.
Grads lstm_backward(const LSTMTape& tape, const Tensor& x, const Tensor& w_ih, const Tensor& w_hh, const Grads& dout,
                    const Needs& need) {
  return input_and_weight_gradients(tape, x, w_ih, backprop_through_time(tape, w_hh, dout, need.h0), need);
}

void check_inputs(const Tensor& x, const IntTensor& lengths, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
                  const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  check(x.defined() && w_ih.defined() && w_hh.defined(), "lstm_layer: the input or a weight is undefined");
  check(x.dim() == 3 && x.size(0) > 0 && x.size(1) > 0,
        "lstm_layer: input must be (B, T, I) with B, T >= 1, got {}", x.shape());
  check(w_ih.dim() == 2 && w_ih.size(0) % 4 == 0 && w_ih.size(0) > 0,
        "lstm_layer: weight_ih must be (4H, I), got {}", w_ih.shape());
  const int64_t B = x.size(0), T = x.size(1), I = x.size(2), H = w_ih.size(0) / 4;
  check(w_ih.size(1) == I, "lstm_layer: input {} does not match weight_ih {}", x.shape(), w_ih.shape());
  check(w_hh.shape() == Shape{4 * H, H}, "lstm_layer: weight_hh {} does not match weight_ih {} (expected ({}, {}))",
        w_hh.shape(), w_ih.shape(), 4 * H, H);
  for (const Tensor* b : {&b_ih, &b_hh})
    check(!b->defined() || b->shape() == Shape{4 * H}, "lstm_layer: {} {} does not match weight_ih {} (expected ({}))",
          b == &b_ih ? "bias_ih" : "bias_hh", shape_of(*b), w_ih.shape(), 4 * H);
  for (const Tensor* s : {&h0, &c0})
    check(!s->defined() || s->shape() == Shape{B, H}, "lstm_layer: {} {} does not match (B, H) = ({}, {})",
          s == &h0 ? "h0" : "c0", shape_of(*s), B, H);
  if (lengths.numel() == 0 && lengths.dim() == 1) return;  // no lengths: every sequence runs T steps
  check(lengths.shape() == Shape{B}, "lstm_layer: lengths {} does not match input {} (expected ({}))",
        lengths.shape(), x.shape(), B);
  for (int64_t b = 0; b < B; ++b)
    check(lengths.data()[b] >= 1 && lengths.data()[b] <= T,
          "lstm_layer: lengths[{}] = {} is out of [1, {}] (input {})", b, lengths.data()[b], T, x.shape());
}

}  // namespace

// Per step s, for the rows still running (packed layout, see Packing):
//   a = x_t W_ih^T + b_ih + b_hh + h_{t-1} W_hh^T,  (i, f, g, o) = (sig, sig, tanh, sig)(a),
//   c_t = f c_{t-1} + i g,  h_t = o tanh(c_t);
// the x W_ih^T part for all steps is one GEMM up front. Backward: see lstm_backward.
namespace {

// The forward pass of one layer-direction, recording nothing: outputs and what backward needs.
struct ForwardPass {
  std::shared_ptr<LSTMTape> tape;
  Tensor output, h_n, c_n;
};

// share_w_ih: keep W_ih's packed form for the next call (nothing is recorded, so the weights stay as
// they are: decoding runs an LSTMCell once per step). Decided by the caller: grad mode is the calling
// thread's, and this may run on a worker.
ForwardPass run_forward(const Tensor& x, const IntTensor& lengths, const Tensor& h0, const Tensor& c0,
                        const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh, bool reverse,
                        bool share_w_ih) {
  const int64_t B = x.size(0), T = x.size(1), I = x.size(2), H = w_hh.size(1), G = 4 * H;
  auto tape = std::make_shared<LSTMTape>();
  tape->packing = make_packing(lengths, B, T, reverse);
  tape->input_size = I;
  const Packing& p = tape->packing;
  const int64_t N = p.rows();

  // Input projection of every step: gates (N, 4H) = b_ih + b_hh, then += x packed (N, I) @ W_ih^T.
  tape->gates = empty({N, G});
  float* gates = tape->gates.data();
  {
    std::vector<float> bias(G, 0.0f);
    if (b_ih.defined()) std::transform(bias.begin(), bias.end(), b_ih.data(), bias.begin(), std::plus<>());
    if (b_hh.defined()) std::transform(bias.begin(), bias.end(), b_hh.data(), bias.begin(), std::plus<>());
    parallel_for(N, kernels::grain_for(G), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) std::copy(bias.begin(), bias.end(), gates + r * G);
    });
    kernels::Scratch xp(N * I);
    pack(x.data(), xp.data(), p, I);
    const MatrixView wih_t{w_ih.data(), I, true};
    if (share_w_ih) sgemm_shared_b(N, G, I, {xp.data(), I, false}, wih_t, w_ih.storage(), gates, G, /*accumulate=*/true);
    else sgemm(N, G, I, {xp.data(), I, false}, wih_t, gates, G, /*accumulate=*/true);
  }
  if (h0.defined()) {
    tape->h0 = empty({B, H});
    sort_rows(h0.data(), tape->h0.data(), p, H);
  }
  if (c0.defined()) {
    tape->c0 = empty({B, H});
    sort_rows(c0.data(), tape->c0.data(), p, H);
  }

  // The recurrence: per step one GEMM h_prev (n, H) @ W_hh^T (H, 4H), with W_hh^T packed once for
  // all steps (sgemm_shared_b; it is the same matrix at every step), then the gate kernel split over
  // the step's rows. Inside lstm_bidirectional_layer's sections both run on the section's thread.
  tape->c = empty({N, H});
  tape->tc = empty({N, H});
  tape->h = empty({N, H});
  float* c = tape->c.data();
  float* tc = tape->tc.data();
  float* h = tape->h.data();
  const MatrixView whh_t{w_hh.data(), H, true};
  const int64_t grain = kernels::grain_for(G);
  for (int64_t s = 0; s < p.steps; ++s) {
    float* a_s = gates + p.offset[s] * G;
    const float* h_prev = s > 0 ? h + p.offset[s - 1] * H : (h0.defined() ? tape->h0.data() : nullptr);
    const float* c_prev = s > 0 ? c + p.offset[s - 1] * H : (c0.defined() ? tape->c0.data() : nullptr);
    const int64_t o = p.offset[s] * H;
    if (h_prev)  // a (rows, 4H) += h_prev (rows, H) @ W_hh^T (H, 4H)
      sgemm_shared_b(p.count[s], G, H, {h_prev, H, false}, whh_t, w_hh.storage(), a_s, G, /*accumulate=*/true);
    parallel_for(p.count[s], grain, [&](int64_t r0, int64_t r1) {
      gates_forward(a_s + r0 * G, c_prev ? c_prev + r0 * H : nullptr, c + o + r0 * H, tc + o + r0 * H,
                    h + o + r0 * H, r1 - r0, H);
    });
  }

  // Outputs: h of every step back in (B, T, H), zeros at pads; the states after each last step.
  ForwardPass out{tape, empty({B, T, H}), empty({B, H}), empty({B, H})};
  unpack(h, out.output.data(), p, H);
  for (int64_t r = 0; r < B; ++r) {
    const int64_t last = p.offset[p.length[r] - 1] + r;  // packed row of row r's last step
    std::memcpy(out.h_n.data() + p.order[r] * H, h + last * H, sizeof(float) * H);
    std::memcpy(out.c_n.data() + p.order[r] * H, c + last * H, sizeof(float) * H);
  }
  return out;
}

Needs needs_of(const Tensor& x, const Tensor& h0, const Tensor& c0, const LSTMWeights& w) {
  return Needs{x.requires_grad(),
               h0.defined() && h0.requires_grad(),
               c0.defined() && c0.requires_grad(),
               w.weight_ih.requires_grad(),
               w.weight_hh.requires_grad(),
               w.bias_ih.defined() && w.bias_ih.requires_grad(),
               w.bias_hh.defined() && w.bias_hh.requires_grad()};
}

// FLOPs of a forward pass (for the profiler): the input projection of every packed row, x (N, I) @
// W_ih^T, and the recurrent products h_prev (rows, H) @ W_hh^T of every step that has an h_prev.
double input_flops(const LSTMTape& t) {
  return 2.0 * static_cast<double>(t.packing.rows() * t.input_size * t.gates.size(1));
}
double recurrent_flops(const LSTMTape& t, bool has_h0) {
  const int64_t first_rows = has_h0 || t.packing.steps == 0 ? 0 : t.packing.count[0];  // step 0 without h0
  const double H = static_cast<double>(t.gates.size(1) / 4);
  return 2.0 * static_cast<double>(t.packing.rows() - first_rows) * H * 4.0 * H;
}

// True when w_ih's packed form should be kept between calls: nothing is recorded (the weights cannot
// change within a decode or an evaluation) and it is a parameter.
bool shares_weights(const Tensor& w_ih) { return !grad_enabled() && w_ih.is_leaf() && w_ih.requires_grad(); }

// Two threads for the two directions when the thread count allows, else one after the other.
bool run_directions_concurrently() { return get_num_threads() >= 2 && !omp_in_parallel(); }

}  // namespace

LSTMLayerOutput lstm_layer(const Tensor& x, const IntTensor& lengths, const Tensor& h0, const Tensor& c0,
                           const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                           bool reverse) {
  const profile::OpScope scope("lstm_layer", {&x, &h0, &c0});
  check_inputs(x, lengths, h0, c0, w_ih, w_hh, b_ih, b_hh);
  detail::init_threads_once();
  const ForwardPass f = run_forward(x, lengths, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, shares_weights(w_ih));
  const Needs need = needs_of(x, h0, c0, {w_ih, w_hh, b_ih, b_hh});
  std::vector<Tensor> outs = record_multi(
      reverse ? "lstm_layer_reverse" : "lstm_layer", {x, h0, c0, w_ih, w_hh, b_ih, b_hh}, {f.output, f.h_n, f.c_n},
      [tape = f.tape, sx = Saved(need.w_ih ? x : Tensor()), sw_ih = Saved(need.x ? w_ih : Tensor()),
       sw_hh = Saved(w_hh), need](const Grads& dout) {  // its products are sgemm events
        return lstm_backward(*tape, *sx, *sw_ih, *sw_hh, dout, need);
      });
  return {outs[0], outs[1], outs[2]};
}

// Both directions as one node. Forward: the two recurrences run at once, one per thread, each
// sequential over its steps (one synchronisation per layer instead of one per step, so a busy
// machine slows it gracefully). Backward: likewise, then dx = dx_forward + dx_reverse.
BidirectionalLSTMOutput lstm_bidirectional_layer(const Tensor& x, const IntTensor& lengths, const Tensor& h0_forward,
                                                 const Tensor& c0_forward, const Tensor& h0_reverse,
                                                 const Tensor& c0_reverse, const LSTMWeights& forward,
                                                 const LSTMWeights& reverse) {
  const profile::OpScope scope("lstm_bidirectional_layer", {&x, &h0_forward, &c0_forward});
  check_inputs(x, lengths, h0_forward, c0_forward, forward.weight_ih, forward.weight_hh, forward.bias_ih,
               forward.bias_hh);
  check_inputs(x, lengths, h0_reverse, c0_reverse, reverse.weight_ih, reverse.weight_hh, reverse.bias_ih,
               reverse.bias_hh);
  detail::init_threads_once();
  ForwardPass f, r;
  const bool share_f = shares_weights(forward.weight_ih), share_r = shares_weights(reverse.weight_ih);
  const profile::GemmEventsOff counted_here;  // the products may run on two threads: counted below
#pragma omp parallel sections num_threads(2) if (run_directions_concurrently())
  {
#pragma omp section
    f = run_forward(x, lengths, h0_forward, c0_forward, forward.weight_ih, forward.weight_hh, forward.bias_ih,
                    forward.bias_hh, false, share_f);
#pragma omp section
    r = run_forward(x, lengths, h0_reverse, c0_reverse, reverse.weight_ih, reverse.weight_hh, reverse.bias_ih,
                    reverse.bias_hh, true, share_r);
  }
  const double forward_flops = input_flops(*f.tape) + recurrent_flops(*f.tape, h0_forward.defined()) +
                               input_flops(*r.tape) + recurrent_flops(*r.tape, h0_reverse.defined());
  profile::add_flops(forward_flops);
  const Needs need_f = needs_of(x, h0_forward, c0_forward, forward), need_r = needs_of(x, h0_reverse, c0_reverse, reverse);
  const bool need_w_ih = need_f.w_ih || need_r.w_ih, need_x = need_f.x;
  std::vector<Tensor> outs = record_multi(
      "lstm_bidirectional_layer",
      {x, h0_forward, c0_forward, forward.weight_ih, forward.weight_hh, forward.bias_ih, forward.bias_hh, h0_reverse, c0_reverse,
       reverse.weight_ih, reverse.weight_hh, reverse.bias_ih, reverse.bias_hh},
      {f.output, f.h_n, f.c_n, r.output, r.h_n, r.c_n},
      [tape_f = f.tape, tape_r = r.tape, sx = Saved(need_w_ih ? x : Tensor()),
       sw_ih_f = Saved(need_x ? forward.weight_ih : Tensor()), sw_hh_f = Saved(forward.weight_hh),
       sw_ih_r = Saved(need_x ? reverse.weight_ih : Tensor()), sw_hh_r = Saved(reverse.weight_hh), need_f,
       need_r, flops = 2 * forward_flops](const Grads& dout) {
        // Read every saved tensor here, outside the threads: a version mismatch raises.
        const Tensor &x = *sx, &w_ih_f = *sw_ih_f, &w_hh_f = *sw_hh_f, &w_ih_r = *sw_ih_r, &w_hh_r = *sw_hh_r;
        profile::add_flops(flops);  // dh_prev, dW_hh, dW_ih and dx: twice the forward's products
        const profile::GemmEventsOff counted_here;
        Grads gf, gr;
#pragma omp parallel sections num_threads(2) if (run_directions_concurrently())
        {
#pragma omp section
          gf = lstm_backward(*tape_f, x, w_ih_f, w_hh_f, {dout[0], dout[1], dout[2]}, need_f);
#pragma omp section
          gr = lstm_backward(*tape_r, x, w_ih_r, w_hh_r, {dout[3], dout[4], dout[5]}, need_r);
        }
        const Tensor dx = gf[0].defined() ? gf[0] + gr[0] : Tensor();
        return Grads{dx, gf[1], gf[2], gf[3], gf[4], gf[5], gf[6], gr[1], gr[2], gr[3], gr[4], gr[5], gr[6]};
      });
  return {{outs[0], outs[1], outs[2]}, {outs[3], outs[4], outs[5]}};
}

}  // namespace ag
