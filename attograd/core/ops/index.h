#pragma once
// Indexing ops: select rows by integer ids (index_select, embedding, gather) and choose elements by
// an integer mask (masked_fill, where).

#include <cstdint>

#include "attograd/core/tensor.h"

namespace ag {

/// x with dim `dim` replaced by the entries `index` (K,) picks: out.size(dim) = K
/// (torch.index_select(x, dim, index)). Indices must lie in [0, x.size(dim)).
Tensor index_select(const Tensor& x, int64_t dim, const IntTensor& index);

/// Rows of weight (V, D) looked up by ids (...) -> (..., D) (F.embedding). The padding_idx row gets
/// no gradient; a negative padding_idx means none (torch: None). Out-of-range ids raise.
Tensor embedding(const IntTensor& ids, const Tensor& weight, int64_t padding_idx = -1);

/// x (..., C) picked along the last dim by index (..., K) -> (..., K) (torch.gather(x, -1, index)).
/// The leading dims of index must equal those of x (torch allows them to be smaller).
Tensor gather(const Tensor& x, const IntTensor& index);

/// x with `value` where mask (broadcastable to x) is nonzero (torch.Tensor.masked_fill).
Tensor masked_fill(const Tensor& x, const IntTensor& mask, float value);

/// a where cond is nonzero, b elsewhere; all three broadcast together (torch.where(cond, a, b)).
Tensor where(const IntTensor& cond, const Tensor& a, const Tensor& b);

/// The coordinates of flat element `flat` of `shape`, as a Shape so it prints as "(1, 3)"
/// (torch.unravel_index); error messages use it to say where a bad id or target is.
Shape unravel_index(int64_t flat, const Shape& shape);

}  // namespace ag
