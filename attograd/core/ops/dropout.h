#pragma once
// dropout: zeroes each element with probability p and scales the rest by 1 / (1 - p).

#include "attograd/core/tensor.h"

namespace ag {

class Generator;

/// Inverted dropout, same shape as x (F.dropout(x, p, training)). Element i is kept when
/// gen.uniform_at(base + i) >= p, base = gen.advance(x.numel()), so the mask depends on the
/// generator's state only, never on the thread count. Under a BatchShardGuard, x is a shard of a
/// larger batch and draws that batch's positions (below). Returns x itself when !training or p == 0, and
/// zeros (drawing nothing) when p == 1; p outside [0, 1] raises.
Tensor dropout(const Tensor& x, float p, bool training, Generator& gen);

/// Rows [offset, offset + rows) of a batch of `total` rows that several processes split (ag::dist):
/// while the guard lives, dropout in this thread takes x (dim 0 a multiple k of `rows`: k rows per
/// sample, e.g. attention heads) as that shard of a batch of total * k rows. It advances the
/// generator by the whole batch's numel and fills element i from base + offset * k * (numel /
/// x.size(0)) + i, so the processes together drop exactly what one process with the whole batch
/// would, and every generator stays in step. Guards do not nest; dropout outside any is unchanged.
/// Claims the stream positions of a dropout mask over `numel` elements whose dim 0 has `rows` rows
/// and returns the position of element 0: gen.advance(numel), or under a BatchShardGuard the
/// shard's place among the whole batch's positions (as above). ag::dropout and the fused attention
/// dropout (multi_head_attention) both draw this way.
uint64_t claim_dropout_positions(Generator& gen, int64_t numel, int64_t rows);

class BatchShardGuard {
 public:
  BatchShardGuard(int64_t offset, int64_t rows, int64_t total);
  ~BatchShardGuard();
  BatchShardGuard(const BatchShardGuard&) = delete;
  BatchShardGuard& operator=(const BatchShardGuard&) = delete;
};

}  // namespace ag
