#pragma once
// softmax and log_softmax along any dim: fused, numerically stable kernels (the row max is
// subtracted before exponentiating). A row whose entries are all -inf (fully masked) gives zero
// softmax weights, not NaN as in torch; see softmax.cpp.

#include <cstdint>

#include "attograd/core/tensor.h"

namespace ag {

/// exp(x) / sum(exp(x)) along `dim`, same shape as x (torch.softmax(x, dim)). All -inf row -> zeros.
Tensor softmax(const Tensor& x, int64_t dim);
/// x - log(sum(exp(x))) along `dim`, same shape as x (torch.log_softmax(x, dim)). All -inf row -> -inf,
/// with zero gradient.
Tensor log_softmax(const Tensor& x, int64_t dim);

// Row kernels shared with the losses and the attention kernels (raw pointers to n contiguous
// floats; no autograd).
namespace kernels {
/// Sum of x (n) in double, in a fixed order.
double sum_double(const float* x, int64_t n);
/// Dot product of a (n) and b (n) in double, in a fixed order.
double dot_double(const float* a, const float* b, int64_t n);
/// x = exp(x) over x (n), vectorised.
void exp_inplace(float* x, int64_t n);
/// Largest entry of x (n): -inf when n = 0 or every entry is -inf, NaN when one entry is NaN.
float row_max(const float* x, int64_t n);
/// max and log(sum(exp(x - max))) of x (n), so that log-sum-exp = max + log_sum. scratch (n) is
/// overwritten (with exp(x - max)). An all -inf row gives max = log_sum = -inf.
struct LogSumExp {
  float max;
  double log_sum;
};
LogSumExp log_sum_exp(const float* x, float* scratch, int64_t n);
/// y (n) = softmax(x (n)), zeros when every entry is -inf (a fully masked row); y may be x.
void softmax_row(const float* x, float* y, int64_t n);
}  // namespace kernels

}  // namespace ag
