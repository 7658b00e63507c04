// scaled_dot_product_attention, AdditiveAttention and AttentionPooling: values against hand-written
// double-precision loops (AdditiveAttention and AttentionPooling have no torch twin), gradchecks with
// masks, padded == unpadded, fully masked rows, dropout, names and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "attograd/core/core.h"
#include "attograd/nn/attention.h"
#include "tests/test_util.h"

namespace {

using ag::IntTensor;
using ag::Shape;
using ag::Tensor;
using ag::testing::error_of;
using ag::testing::expect_mentions;
using ag::testing::random_leaf;
using ag::testing::expect_equal_rel;
using ag::testing::expect_finite;
using ag::testing::names_of;
namespace nn = ag::nn;

// A random 0/1 mask of `shape` whose last-dim entry 0 is always 0, so no row is fully masked.
IntTensor random_mask(Shape shape, uint64_t seed, float p = 0.4f) {
  ag::Generator gen(seed);
  const Tensor u = ag::rand(shape, gen);
  IntTensor m(shape);
  const int64_t n = shape.back();
  for (int64_t i = 0; i < m.numel(); ++i) m.data()[i] = (i % n != 0 && u.data()[i] < p) ? 1 : 0;
  return m;
}

void expect_near_all(const Tensor& actual, const std::vector<double>& expected, double tol, const std::string& what) {
  ASSERT_EQ(actual.numel(), static_cast<int64_t>(expected.size())) << what;
  for (int64_t i = 0; i < actual.numel(); ++i)
    EXPECT_NEAR(actual.data()[i], expected[i], tol * (1.0 + std::fabs(expected[i]))) << what << " at " << i;
}

// Output and weights in one tensor, so a gradcheck covers both.
Tensor both(const ag::AttentionResult& r) { return ag::concat({ag::flatten(r.output), ag::flatten(r.weights)}); }

std::vector<Tensor> with_parameters(std::vector<Tensor> inputs, const nn::Module& m) {
  for (const Tensor& p : m.parameters()) inputs.push_back(p);
  return inputs;
}

// mask element for weights position (n, i, j) of a (N..., Tq, Tk) problem, broadcasting as NumPy.
bool masked_at(const IntTensor& mask, const Shape& logical, const std::vector<int64_t>& coord) {
  if (mask.numel() == 0) return false;
  int64_t off = 0, stride = 1;
  for (int64_t d = mask.dim() - 1; d >= 0; --d) {
    const int64_t c = coord[logical.rank() - mask.dim() + d];
    off += (mask.shape()[d] == 1 ? 0 : c) * stride;
    stride *= mask.shape()[d];
  }
  return mask.data()[off] != 0;
}

// ---- scaled_dot_product_attention -----------------------------------------------------------------

// softmax(q k^T / sqrt d masked) v in double, q (B1, B2, Tq, d), k (B1, B2, Tk, d), v (B1, B2, Tk, dv).
void naive_sdpa(const Tensor& q, const Tensor& k, const Tensor& v, const IntTensor& mask, std::vector<double>& out,
                std::vector<double>& weights) {
  const int64_t B1 = q.size(0), B2 = q.size(1), tq = q.size(2), d = q.size(3), tk = k.size(2), dv = v.size(3);
  const Shape logical{B1, B2, tq, tk};
  out.assign(B1 * B2 * tq * dv, 0.0);
  weights.assign(B1 * B2 * tq * tk, 0.0);
  for (int64_t a = 0; a < B1; ++a)
    for (int64_t b = 0; b < B2; ++b)
      for (int64_t i = 0; i < tq; ++i) {
        std::vector<double> s(tk);
        double mx = -INFINITY;
        for (int64_t j = 0; j < tk; ++j) {
          double dot = 0;
          for (int64_t e = 0; e < d; ++e) dot += static_cast<double>(q.at({a, b, i, e})) * k.at({a, b, j, e});
          s[j] = masked_at(mask, logical, {a, b, i, j}) ? -INFINITY : dot / std::sqrt(static_cast<double>(d));
          mx = std::max(mx, s[j]);
        }
        double total = 0;
        for (int64_t j = 0; j < tk; ++j) total += s[j] == -INFINITY ? 0.0 : std::exp(s[j] - mx);
        for (int64_t j = 0; j < tk; ++j) {
          const double w = s[j] == -INFINITY ? 0.0 : std::exp(s[j] - mx) / total;
          weights[((a * B2 + b) * tq + i) * tk + j] = w;
          for (int64_t e = 0; e < dv; ++e) out[((a * B2 + b) * tq + i) * dv + e] += w * v.at({a, b, j, e});
        }
      }
}

TEST(ScaledDotProductAttention, MatchesDoubleReferenceForEveryMaskShape) {
  const Tensor q = random_leaf({2, 3, 4, 5}, 1), k = random_leaf({2, 3, 6, 5}, 2), v = random_leaf({2, 3, 6, 7}, 3);
  const std::vector<IntTensor> masks = {IntTensor(),
                                        random_mask({6}, 4),
                                        random_mask({4, 6}, 5),
                                        random_mask({2, 1, 1, 6}, 6),
                                        random_mask({3, 4, 6}, 7),
                                        random_mask({2, 3, 4, 6}, 8)};
  for (const IntTensor& mask : masks) {
    const ag::AttentionResult r = ag::scaled_dot_product_attention(q, k, v, mask);
    std::vector<double> out, weights;
    naive_sdpa(q, k, v, mask, out, weights);
    EXPECT_EQ(r.output.shape(), (Shape{2, 3, 4, 7}));
    EXPECT_EQ(r.weights.shape(), (Shape{2, 3, 4, 6}));
    expect_near_all(r.output, out, 1e-5, "output, mask " + ag::to_string(mask.shape()));
    expect_near_all(r.weights, weights, 1e-5, "weights, mask " + ag::to_string(mask.shape()));
  }
  // Three dims (B, T, d), the common case.
  const Tensor q3 = random_leaf({2, 3, 4}, 9), k3 = random_leaf({2, 5, 4}, 10), v3 = random_leaf({2, 5, 2}, 11);
  const IntTensor kpm = random_mask({2, 1, 5}, 12);
  const ag::AttentionResult r3 = ag::scaled_dot_product_attention(q3, k3, v3, kpm);
  std::vector<double> out, weights;
  naive_sdpa(q3.reshape({1, 2, 3, 4}), k3.reshape({1, 2, 5, 4}), v3.reshape({1, 2, 5, 2}), kpm, out, weights);
  expect_near_all(r3.output, out, 1e-5, "3-D output");
  expect_near_all(r3.weights, weights, 1e-5, "3-D weights");
}

TEST(ScaledDotProductAttention, GradcheckWithMask) {
  const Tensor q = random_leaf({2, 3, 4}, 1), k = random_leaf({2, 5, 4}, 2), v = random_leaf({2, 5, 3}, 3);
  const IntTensor mask = random_mask({2, 3, 5}, 4);
  auto r = ag::gradcheck(
      [&](const std::vector<Tensor>& in) { return both(ag::scaled_dot_product_attention(in[0], in[1], in[2], mask)); },
      {q, k, v});
  EXPECT_TRUE(r) << r.message;
  const IntTensor heads = random_mask({2, 1, 1, 5}, 5);  // (B, 1, 1, Tk) over (B, H, Tq, Tk)
  auto r4 = ag::gradcheck(
      [&](const std::vector<Tensor>& in) { return both(ag::scaled_dot_product_attention(in[0], in[1], in[2], heads)); },
      {random_leaf({2, 2, 3, 4}, 6), random_leaf({2, 2, 5, 4}, 7), random_leaf({2, 2, 5, 3}, 8)});
  EXPECT_TRUE(r4) << r4.message;
}

TEST(ScaledDotProductAttention, FullyMaskedRowGivesZerosAndFiniteGradients) {
  const Tensor q = random_leaf({2, 3, 4}, 1), k = random_leaf({2, 5, 4}, 2), v = random_leaf({2, 5, 3}, 3);
  IntTensor mask({2, 3, 5});
  for (int64_t j = 0; j < 5; ++j) mask.data()[(1 * 3 + 2) * 5 + j] = 1;  // batch 1, query 2 sees nothing
  const ag::AttentionResult r = ag::scaled_dot_product_attention(q, k, v, mask);
  for (int64_t j = 0; j < 5; ++j) EXPECT_EQ(r.weights.at({1, 2, j}), 0.0f);
  for (int64_t e = 0; e < 3; ++e) EXPECT_EQ(r.output.at({1, 2, e}), 0.0f);
  (ag::sum(ag::exp(r.output)) + ag::sum(r.weights * r.weights)).backward();
  expect_finite(q.grad(), "q grad");
  expect_finite(k.grad(), "k grad");
  expect_finite(v.grad(), "v grad");
  for (int64_t e = 0; e < 4; ++e) EXPECT_EQ(q.grad().at({1, 2, e}), 0.0f);
  auto check = ag::gradcheck(
      [&](const std::vector<Tensor>& in) { return both(ag::scaled_dot_product_attention(in[0], in[1], in[2], mask)); },
      {q, k, v});
  EXPECT_TRUE(check) << check.message;
}

TEST(ScaledDotProductAttention, DropoutIsAgDropoutOfTheWeights) {
  const Tensor q = random_leaf({3, 4, 4}, 1), k = random_leaf({3, 6, 4}, 2), v = random_leaf({3, 6, 5}, 3);
  const IntTensor mask = random_mask({3, 1, 6}, 4);
  ag::Generator a(9), b(9);
  const ag::AttentionResult plain = ag::scaled_dot_product_attention(q, k, v, mask);
  const ag::AttentionResult dropped = ag::scaled_dot_product_attention(q, k, v, mask, 0.4f, true, &a);
  const Tensor expected = ag::dropout(plain.weights.detach(), 0.4f, true, b);
  EXPECT_EQ(dropped.weights.to_vector(), expected.to_vector());
  EXPECT_EQ(a.offset(), b.offset());
  const Tensor out = ag::matmul(expected, v.detach());
  expect_equal_rel(dropped.output, out, "output from the dropped weights");
  EXPECT_EQ(ag::scaled_dot_product_attention(q, k, v, mask, 0.4f, false, &a).weights.to_vector(),
            plain.weights.to_vector());
  auto r = ag::gradcheck(
      [&](const std::vector<Tensor>& in) {
        a.set_state(9, 0);
        return both(ag::scaled_dot_product_attention(in[0], in[1], in[2], mask, 0.4f, true, &a));
      },
      {q, k, v});
  EXPECT_TRUE(r) << r.message;
}

TEST(ScaledDotProductAttention, ErrorsNameTheProblem) {
  const Tensor q = random_leaf({2, 3, 4}, 1), k = random_leaf({2, 5, 4}, 2), v = random_leaf({2, 5, 3}, 3);
  const char* op = "scaled_dot_product_attention";
  expect_mentions(error_of([&] {
                    ag::scaled_dot_product_attention(q, random_leaf({2, 5, 3}, 4), v);
                  }),
                  {op, "(2, 3, 4)", "(2, 5, 3)"});
  expect_mentions(error_of([&] {
                    ag::scaled_dot_product_attention(q, k, random_leaf({2, 4, 3}, 4));
                  }),
                  {op, "(2, 5, 4)", "(2, 4, 3)"});
  expect_mentions(error_of([&] {
                    ag::scaled_dot_product_attention(q, random_leaf({3, 5, 4}, 4), v);
                  }),
                  {op, "(3, 5, 4)"});
  expect_mentions(error_of([&] { ag::scaled_dot_product_attention(q, k.reshape({10, 4}), v); }), {op, "(10, 4)"});
  expect_mentions(error_of([&] {
                    ag::scaled_dot_product_attention(q, k, v, IntTensor({4, 5}));
                  }),
                  {op, "mask (4, 5)", "(2, 3, 5)"});
  expect_mentions(error_of([&] {
                    ag::scaled_dot_product_attention(q, k, v, IntTensor({1, 2, 3, 5}));
                  }),
                  {op, "mask (1, 2, 3, 5)", "(2, 3, 5)"});
}

// ---- AdditiveAttention ----------------------------------------------------------------------------

// context and weights of Bahdanau attention in double for query (B, Tq, Dq).
void naive_additive(const nn::AdditiveAttention& att, const Tensor& query, const Tensor& keys, const Tensor& values,
                    const IntTensor& mask, std::vector<double>& context, std::vector<double>& weights) {
  const int64_t B = query.size(0), tq = query.size(1), dq = query.size(2), tk = keys.size(1), dk = keys.size(2);
  const int64_t H = att.query_proj->weight.size(0), dv = values.size(2);
  context.assign(B * tq * dv, 0.0);
  weights.assign(B * tq * tk, 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < tq; ++i) {
      std::vector<double> s(tk);
      double mx = -INFINITY;
      for (int64_t j = 0; j < tk; ++j) {
        double score = 0;
        for (int64_t h = 0; h < H; ++h) {
          double pre = att.key_proj->bias.at({h});
          for (int64_t e = 0; e < dq; ++e)
            pre += static_cast<double>(att.query_proj->weight.at({h, e})) * query.at({b, i, e});
          for (int64_t e = 0; e < dk; ++e)
            pre += static_cast<double>(att.key_proj->weight.at({h, e})) * keys.at({b, j, e});
          score += att.v->weight.at({0, h}) * std::tanh(pre);
        }
        s[j] = mask.numel() > 0 && mask.at({b, j}) != 0 ? -INFINITY : score;
        mx = std::max(mx, s[j]);
      }
      double total = 0;
      for (int64_t j = 0; j < tk; ++j) total += s[j] == -INFINITY ? 0.0 : std::exp(s[j] - mx);
      for (int64_t j = 0; j < tk; ++j) {
        const double w = s[j] == -INFINITY ? 0.0 : std::exp(s[j] - mx) / total;
        weights[(b * tq + i) * tk + j] = w;
        for (int64_t e = 0; e < dv; ++e) context[(b * tq + i) * dv + e] += w * values.at({b, j, e});
      }
    }
}

TEST(AdditiveAttention, NamesFollowTheHeader) {
  nn::AdditiveAttention att(3, 5, 4);
  EXPECT_EQ(names_of(att),
            (std::vector<std::string>{"query_proj.weight", "key_proj.weight", "key_proj.bias", "v.weight"}));
  EXPECT_EQ(att.query_proj->weight.shape(), (Shape{4, 3}));
  EXPECT_EQ(att.key_proj->weight.shape(), (Shape{4, 5}));
  EXPECT_EQ(att.v->weight.shape(), (Shape{1, 4}));
}

TEST(AdditiveAttention, MatchesDoubleReference) {
  ag::manual_seed(31);
  nn::AdditiveAttention att(3, 5, 4);
  const Tensor query = random_leaf({2, 3, 3}, 1), keys = random_leaf({2, 6, 5}, 2), values = random_leaf({2, 6, 2}, 3);
  const IntTensor mask = random_mask({2, 6}, 4);
  std::vector<double> context, weights;
  naive_additive(att, query, keys, values, mask, context, weights);
  const ag::AttentionResult r = att(query, keys, values, mask);
  EXPECT_EQ(r.output.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(r.weights.shape(), (Shape{2, 3, 6}));
  expect_near_all(r.output, context, 1e-5, "context");
  expect_near_all(r.weights, weights, 1e-5, "weights");
  // One decoder step: a (B, Dq) query; values default to the keys.
  const Tensor step = ag::narrow(query, 1, 1, 1);
  naive_additive(att, step, keys, keys, {}, context, weights);
  const ag::AttentionResult one = att(ag::squeeze(step, 1), keys);
  EXPECT_EQ(one.output.shape(), (Shape{2, 5}));
  EXPECT_EQ(one.weights.shape(), (Shape{2, 6}));
  expect_near_all(one.output, context, 1e-5, "one-step context");
  expect_near_all(one.weights, weights, 1e-5, "one-step weights");
}

TEST(AdditiveAttention, ProjectedKeysOncePerSequence) {
  ag::manual_seed(32);
  nn::AdditiveAttention att(3, 5, 4);
  const Tensor query = random_leaf({2, 4, 3}, 1), keys = random_leaf({2, 6, 5}, 2);
  const IntTensor mask = random_mask({2, 6}, 4);
  const ag::AttentionResult all = att(query, keys, keys, mask);
  const Tensor projected = att.project_keys(keys);
  EXPECT_EQ(projected.shape(), (Shape{2, 6, 4}));
  for (int64_t t = 0; t < 4; ++t) {
    const ag::AttentionResult step = att.attend(ag::squeeze(ag::narrow(query, 1, t, 1), 1), projected, keys, mask);
    expect_equal_rel(step.output, ag::squeeze(ag::narrow(all.output, 1, t, 1), 1), "step output");
    expect_equal_rel(step.weights, ag::squeeze(ag::narrow(all.weights, 1, t, 1), 1), "step weights");
  }
}

TEST(AdditiveAttention, GradcheckWithMask) {
  ag::manual_seed(33);
  nn::AdditiveAttention att(3, 4, 5);
  const Tensor query = random_leaf({2, 3, 3}, 1), keys = random_leaf({2, 4, 4}, 2), values = random_leaf({2, 4, 2}, 3);
  const IntTensor mask({0, 0, 0, 0, 0, 1, 0, 1}, {2, 4});
  auto r = ag::gradcheck([&](const std::vector<Tensor>& in) { return both(att(in[0], in[1], in[2], mask)); },
                         with_parameters({query, keys, values}, att));
  EXPECT_TRUE(r) << r.message;
  auto step = ag::gradcheck([&](const std::vector<Tensor>& in) { return both(att(in[0], in[1], {}, mask)); },
                            with_parameters({random_leaf({2, 3}, 4), keys}, att));
  EXPECT_TRUE(step) << step.message;
}

TEST(AdditiveAttention, PaddedEqualsUnpaddedAndFullyMaskedRowIsZero) {
  ag::manual_seed(34);
  nn::AdditiveAttention att(3, 4, 5);
  const Tensor query = random_leaf({2, 3}, 1), keys = random_leaf({2, 6, 4}, 2);
  const IntTensor mask({0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1}, {2, 6});  // batch 0 is 4 long, batch 1 empty
  const ag::AttentionResult r = att(query, keys, keys, mask);
  const Tensor q0 = ag::narrow(query, 0, 0, 1), k0 = ag::narrow(ag::narrow(keys, 0, 0, 1), 1, 0, 4);
  const ag::AttentionResult alone = att(q0, k0);
  expect_equal_rel(ag::narrow(r.output, 0, 0, 1), alone.output, "padded context");
  expect_equal_rel(ag::narrow(ag::narrow(r.weights, 0, 0, 1), 1, 0, 4), alone.weights, "padded weights");
  for (int64_t j = 0; j < 6; ++j) EXPECT_EQ(r.weights.at({1, j}), 0.0f);
  for (int64_t e = 0; e < 4; ++e) EXPECT_EQ(r.output.at({1, e}), 0.0f);
  ag::sum(r.output * r.output + 1.0f).backward();
  for (const auto& [name, p] : att.named_parameters()) expect_finite(p.grad(), name);
  expect_finite(query.grad(), "query grad");
  expect_finite(keys.grad(), "keys grad");
}

TEST(AdditiveAttention, ErrorsNameTheProblem) {
  nn::AdditiveAttention att(3, 4, 5);
  const Tensor query = random_leaf({2, 3}, 1), keys = random_leaf({2, 6, 4}, 2);
  expect_mentions(error_of([&] { att(random_leaf({2, 4}, 3), keys); }), {"AdditiveAttention", "query (2, 4)", "3"});
  expect_mentions(error_of([&] { att(query, random_leaf({2, 6, 3}, 3)); }), {"AdditiveAttention", "keys (2, 6, 3)"});
  expect_mentions(error_of([&] { att(query, keys, random_leaf({2, 5, 2}, 3)); }), {"values (2, 5, 2)", "6"});
  expect_mentions(error_of([&] { att(random_leaf({3, 3}, 3), keys); }), {"(2, 6, 5)", "3"});
  expect_mentions(error_of([&] { att(query, keys, {}, IntTensor({2, 5})); }), {"key_padding_mask (2, 5)", "(2, 6)"});
}

// ---- AttentionPooling -----------------------------------------------------------------------------

// output and weights of attention pooling in double.
void naive_pooling(const nn::AttentionPooling& pool, const Tensor& x, const IntTensor& mask, std::vector<double>& out,
                   std::vector<double>& weights) {
  const int64_t B = x.size(0), T = x.size(1), D = x.size(2);
  out.assign(B * D, 0.0);
  weights.assign(B * T, 0.0);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> e(T);
    double mx = -INFINITY;
    for (int64_t t = 0; t < T; ++t) {
      double s = pool.bias.at({t, 0});
      for (int64_t j = 0; j < D; ++j) s += static_cast<double>(x.at({b, t, j})) * pool.weight.at({j, 0});
      e[t] = mask.numel() > 0 && mask.at({b, t}) != 0 ? -INFINITY : std::tanh(s);
      mx = std::max(mx, e[t]);
    }
    double total = 0;
    for (int64_t t = 0; t < T; ++t) total += e[t] == -INFINITY ? 0.0 : std::exp(e[t] - mx);
    for (int64_t t = 0; t < T; ++t) {
      const double a = e[t] == -INFINITY ? 0.0 : std::exp(e[t] - mx) / total;
      weights[b * T + t] = a;
      for (int64_t j = 0; j < D; ++j) out[b * D + j] += a * x.at({b, t, j});
    }
  }
}

// A pooling layer with weights large enough that the scores differ, and non-zero position biases.
void spread(nn::AttentionPooling& pool, uint64_t seed) {
  ag::NoGradGuard no_grad;
  pool.weight.copy_(random_leaf(pool.weight.shape(), seed, 0.7f));
  pool.bias.copy_(random_leaf(pool.bias.shape(), seed + 1, 0.5f));
}

TEST(AttentionPooling, NamesAndInit) {
  ag::manual_seed(41);
  nn::AttentionPooling pool(128, 200);
  EXPECT_EQ(names_of(pool), (std::vector<std::string>{"weight", "bias"}));
  EXPECT_EQ(pool.weight.shape(), (Shape{128, 1}));
  EXPECT_EQ(pool.bias.shape(), (Shape{200, 1}));
  double sq = 0;
  for (float w : pool.weight.to_vector()) sq += w * w;
  EXPECT_NEAR(std::sqrt(sq / 128.0), 0.05, 0.012);
  for (float b : pool.bias.to_vector()) EXPECT_EQ(b, 0.0f);
}

TEST(AttentionPooling, MatchesDoubleReference) {
  nn::AttentionPooling pool(5, 9);
  spread(pool, 10);
  const Tensor x = random_leaf({3, 7, 5}, 1);
  for (const IntTensor& mask : {IntTensor(), random_mask({3, 7}, 2)}) {
    std::vector<double> out, weights;
    naive_pooling(pool, x, mask, out, weights);
    const ag::AttentionResult r = pool(x, mask);
    EXPECT_EQ(r.output.shape(), (Shape{3, 5}));
    EXPECT_EQ(r.weights.shape(), (Shape{3, 7}));
    expect_near_all(r.output, out, 1e-5, "output");
    expect_near_all(r.weights, weights, 1e-5, "weights");
  }
  // The hot-path size of the IMDB model, split across threads.
  nn::AttentionPooling big(128, 200);
  spread(big, 20);
  const Tensor xb = random_leaf({32, 200, 128}, 3, 0.3f);
  const IntTensor mb = random_mask({32, 200}, 4);
  std::vector<double> out, weights;
  naive_pooling(big, xb, mb, out, weights);
  const ag::AttentionResult rb = big(xb, mb);
  expect_near_all(rb.output, out, 1e-5, "IMDB-sized output");
  expect_near_all(rb.weights, weights, 1e-5, "IMDB-sized weights");
}

TEST(AttentionPooling, GradcheckWithMask) {
  nn::AttentionPooling pool(4, 7);
  spread(pool, 30);
  const Tensor x = random_leaf({3, 5, 4}, 1);
  const IntTensor mask({0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1}, {3, 5});
  auto r = ag::gradcheck([&](const std::vector<Tensor>& in) { return both(pool(in[0], mask)); },
                         {x, pool.weight, pool.bias});
  EXPECT_TRUE(r) << r.message;
  auto no_mask =
      ag::gradcheck([&](const std::vector<Tensor>& in) { return pool(in[0]).output; }, {x, pool.weight, pool.bias});
  EXPECT_TRUE(no_mask) << no_mask.message;
}

TEST(AttentionPooling, PaddedEqualsUnpaddedAndUnusedBiasRowsGetNoGradient) {
  nn::AttentionPooling pool(6, 10);
  spread(pool, 40);
  const Tensor x = random_leaf({2, 8, 6}, 1);
  IntTensor mask({2, 8});
  for (int64_t t = 5; t < 8; ++t) mask.data()[8 + t] = 1;  // batch 1 is 5 long
  const ag::AttentionResult r = pool(x, mask);
  const ag::AttentionResult alone = pool(ag::narrow(ag::narrow(x, 0, 1, 1), 1, 0, 5));
  expect_equal_rel(ag::narrow(r.output, 0, 1, 1), alone.output, "output");
  expect_equal_rel(ag::narrow(ag::narrow(r.weights, 0, 1, 1), 1, 0, 5), alone.weights, "weights");
  ag::sum(r.output * r.output).backward();
  for (int64_t t = 8; t < 10; ++t) EXPECT_EQ(pool.bias.grad().at({t, 0}), 0.0f);
  for (int64_t t = 5; t < 8; ++t)
    for (int64_t j = 0; j < 6; ++j) EXPECT_EQ(x.grad().at({1, t, j}), 0.0f);  // padding gets nothing
}

TEST(AttentionPooling, FullyMaskedRowGivesZerosAndFiniteGradients) {
  nn::AttentionPooling pool(4, 5);
  spread(pool, 50);
  const Tensor x = random_leaf({2, 5, 4}, 1);
  const IntTensor mask({0, 0, 0, 1, 1, 1, 1, 1, 1, 1}, {2, 5});
  const ag::AttentionResult r = pool(x, mask);
  for (int64_t t = 0; t < 5; ++t) EXPECT_EQ(r.weights.at({1, t}), 0.0f);
  for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(r.output.at({1, j}), 0.0f);
  (ag::sum(ag::exp(r.output)) + ag::sum(r.weights * r.weights)).backward();
  expect_finite(x.grad(), "x grad");
  expect_finite(pool.weight.grad(), "weight grad");
  expect_finite(pool.bias.grad(), "bias grad");
}

TEST(AttentionPooling, ErrorsNameTheProblem) {
  nn::AttentionPooling pool(4, 5);
  expect_mentions(error_of([&] { pool(random_leaf({2, 6, 4}, 1)); }), {"AttentionPooling", "6", "max_len 5"});
  expect_mentions(error_of([&] { pool(random_leaf({2, 3, 3}, 1)); }), {"AttentionPooling", "(2, 3, 3)", "4"});
  expect_mentions(error_of([&] { pool(random_leaf({2, 3, 4}, 1), IntTensor({2, 4})); }), {"mask (2, 4)", "(2, 3)"});
  expect_mentions(error_of([] { nn::AttentionPooling(0, 5); }), {"AttentionPooling", "positive"});
}

}  // namespace
