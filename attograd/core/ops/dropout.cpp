#include "attograd/core/ops/dropout.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "attograd/core/autograd.h"
#include "attograd/core/error.h"
#include "attograd/core/kernels.h"
#include "attograd/core/profiler.h"
#include "attograd/core/random.h"

namespace ag {

namespace {
struct Shard {
  int64_t offset = 0, rows = 0, total = 0;  // rows 0: not sharded
};
thread_local Shard batch_shard;
}  // namespace

BatchShardGuard::BatchShardGuard(int64_t offset, int64_t rows, int64_t total) {
  check(batch_shard.rows == 0, "BatchShardGuard: a shard is set already (guards do not nest)");
  check(rows > 0 && offset >= 0 && offset + rows <= total,
        "BatchShardGuard: rows [{}, {}) are not a part of a batch of {}", offset, offset + rows, total);
  batch_shard = {offset, rows, total};
}
BatchShardGuard::~BatchShardGuard() { batch_shard = {}; }

uint64_t claim_dropout_positions(Generator& gen, int64_t numel, int64_t rows) {
  const Shard s = batch_shard;
  if (s.rows == 0) return gen.advance(static_cast<uint64_t>(numel));
  // This tensor is rows [offset, offset + rows) x k of a larger batch: k rows per sample (heads).
  check(rows % s.rows == 0, "dropout: a tensor of {} rows along dim 0 is not a shard of {} samples (a multiple of them)",
        rows, s.rows);
  const int64_t per_sample = numel / s.rows;
  return gen.advance(static_cast<uint64_t>(per_sample * s.total)) + static_cast<uint64_t>(s.offset * per_sample);
}

// y = x * m / (1 - p), m[i] = [u(base + i) >= p];  dx = dy * m / (1 - p)
Tensor dropout(const Tensor& x, float p, bool training, Generator& gen) {
  const profile::OpScope scope("dropout", {&x});
  check(p >= 0.0f && p <= 1.0f, "dropout: probability p = {} is not in [0, 1] (x {})", p, x.shape());
  if (!training || p == 0.0f) return x;
  if (p == 1.0f) {  // nothing survives: y = 0, dx = 0
    return record("dropout", {x}, zeros(x.shape()), [shape = x.shape()](const Tensor&) { return Grads{zeros(shape)}; });
  }

  // x, y (n); the mask (n), one byte per element, is kept only when backward will need it.
  const int64_t n = x.numel();
  const bool keep_mask = grad_enabled() && x.requires_grad();
  const uint64_t base = claim_dropout_positions(gen, n, x.dim() >= 1 ? x.size(0) : 1);
  const uint64_t seed = gen.seed();
  const float scale = 1.0f / (1.0f - p);
  auto mask = std::make_shared<std::vector<uint8_t>>(keep_mask ? n : 0);
  Tensor y = empty(x.shape());
  const float* px = x.data();
  float* py = y.data();
  uint8_t* pm = mask->data();
  const float drop = p, keep_scale = scale;  // locals: the loops below need not reload them
  parallel_for(n, kernels::kGrain, [&](int64_t begin, int64_t end) {
    // u[i] = gen.uniform_at(base + i), bit for bit (the dropout tests check this), a chunk at a time.
    constexpr int64_t kChunk = 512;
    alignas(64) float u[kChunk];
    for (int64_t c = begin; c < end; c += kChunk) {
      const int64_t len = std::min(kChunk, end - c);
      Generator::uniforms(seed, base + static_cast<uint64_t>(c), len, u);
      // Separate loops over unaliased pointers, with the product taken unconditionally and then
      // selected (a dropped element is 0 even where x is Inf or NaN), so that each vectorises.
      const float* __restrict xs = px + c;
      float* __restrict ys = py + c;
      for (int64_t j = 0; j < len; ++j) {
        const float kept = xs[j] * keep_scale;
        ys[j] = u[j] >= drop ? kept : 0.0f;
      }
      if (keep_mask) {
        uint8_t* __restrict ms = pm + c;
        for (int64_t j = 0; j < len; ++j) ms[j] = u[j] >= drop;
      }
    }
  });
  return record("dropout", {x}, y, [mask, scale](const Tensor& dy) {
    Tensor dx = empty(dy.shape());
    const float* __restrict pg = dy.data();
    const uint8_t* __restrict pm = mask->data();
    float* __restrict pd = dx.data();
    parallel_for(dy.numel(), kernels::kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const float kept = pg[i] * scale;
        pd[i] = pm[i] != 0 ? kept : 0.0f;
      }
    });
    return Grads{dx};
  });
}

}  // namespace ag
