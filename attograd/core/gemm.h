#pragma once
// sgemm: the matrix product behind matmul, linear, the attention projections and the LSTM.
//
//   C (m, n) = op(A) (m, k) @ op(B) (k, n)  [+ C when accumulate]
//
// Row-major with leading dimensions: A is stored (m, k) with rows lda apart, or (k, m) when
// transpose_a; B is stored (k, n) with rows ldb apart, or (n, k) when transpose_b; C's rows are ldc
// apart. Large products run a cache-blocked, packed AVX2/FMA kernel (docs/internals.md, "The GEMM"),
// threaded over blocks of rows of C; small ones, and CPUs without AVX2, use Eigen. Inside a parallel
// region the product runs on the calling thread. Every element of C is summed in the same order
// whatever the thread count, so results do not depend on it.

#include <cstdint>

namespace ag {

struct MatrixView {
  const float* data;
  int64_t ld;        // floats between the starts of consecutive stored rows
  bool transposed;   // the stored matrix is op()'s transpose
};

void sgemm(int64_t m, int64_t n, int64_t k, MatrixView a, MatrixView b, float* c, int64_t ldc, bool accumulate);

}  // namespace ag
