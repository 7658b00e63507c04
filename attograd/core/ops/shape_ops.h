#pragma once
// Shape ops: rearranging (transpose, permute), adding and removing size-1 dims, joining (concat,
// stack) and cutting (narrow, slice, split, chunk). No strided views: ops that move data copy it into
// new contiguous storage; unsqueeze, squeeze and flatten only reshape (no copy). Negative dims count
// from the end everywhere.

#include <cstdint>
#include <vector>

#include "attograd/core/tensor.h"

namespace ag {

/// x with dims d0 and d1 swapped, copied (torch.transpose(x, d0, d1).contiguous()).
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
/// x with dims reordered, result dim i = x's dim dims[i], copied (torch.permute(x, dims).contiguous()).
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);

/// x (...) with a size-1 dim inserted at `dim` in [-(rank+1), rank] (torch.unsqueeze); no copy.
Tensor unsqueeze(const Tensor& x, int64_t dim);
/// x without `dim` if that dim has size 1, else x's shape unchanged (torch.squeeze(x, dim)); no copy.
Tensor squeeze(const Tensor& x, int64_t dim);
/// x without any of its size-1 dims (torch.squeeze(x)); no copy.
Tensor squeeze(const Tensor& x);
/// x with dims start_dim..end_dim merged into one (torch.flatten); a 0-dim x gives shape (1); no copy.
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);

/// Tensors of equal shapes except along `dim`, joined along it (torch.cat).
Tensor concat(const std::vector<Tensor>& tensors, int64_t dim = 0);
/// Tensors of one shape (...), joined along a new dim at `dim` in [-(rank+1), rank] (torch.stack).
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);

/// x's elements start .. start+length-1 along `dim` (start < 0 counts from the end), copied (torch.narrow).
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
/// x[..., start:end:step, ...] along `dim`, Python rules (negatives from the end, clamped, step >= 1), copied.
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
/// Consecutive pieces of `split_size` along `dim`, the last one smaller if needed (torch.split).
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
/// Consecutive pieces along `dim` with the given sizes, which must sum to x.size(dim) (torch.split).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim = 0);
/// At most `chunks` pieces of ceil(size / chunks) along `dim`, the last one smaller (torch.chunk).
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);

}  // namespace ag
