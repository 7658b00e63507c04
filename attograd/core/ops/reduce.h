#pragma once
// Reductions (sum, mean, max, argmax) and the pair sum_to / expand that undo each other's broadcast.

#include <vector>

#include "attograd/core/tensor.h"

namespace ag {

/// Sum of all elements, shape () (torch.sum(x)). Accumulates in double, in a fixed order.
Tensor sum(const Tensor& x);
/// Sum over `dims` (negative counts from the end), keeping them as size 1 if keepdim (torch.sum).
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
/// Mean of all elements, shape () (torch.mean(x)).
Tensor mean(const Tensor& x);
/// Mean over `dims` (torch.mean(x, dims, keepdim)).
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);

/// Largest values along `dim` and where they are (first occurrence on ties) (torch.max(x, dim)).
struct MaxResult {
  Tensor values;      // differentiable: the gradient flows to the position of each max
  IntTensor indices;  // not differentiable
};
MaxResult max(const Tensor& x, int64_t dim, bool keepdim = false);
/// Index of the largest value along `dim` (torch.argmax); not differentiable.
IntTensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);

/// Sums a broadcast tensor back to `shape` (the inverse of broadcasting; the engine applies it to
/// every gradient whose shape differs from its input's). Raises if `shape` does not broadcast to x.
Tensor sum_to(const Tensor& x, const Shape& shape);
/// Broadcasts x to `shape` in new storage (torch.expand(...).contiguous()); dx = sum_to(dy).
Tensor expand(const Tensor& x, const Shape& shape);

}  // namespace ag
