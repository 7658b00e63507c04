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
#include <memory>

#include "attograd/core/storage.h"

namespace ag {

struct MatrixView {
  const float* data;
  int64_t ld;        // floats between the starts of consecutive stored rows
  bool transposed;   // the stored matrix is op()'s transpose
};

void sgemm(int64_t m, int64_t n, int64_t k, MatrixView a, MatrixView b, float* c, int64_t ldc, bool accumulate);

/// sgemm for a B that many products share unchanged, such as a layer's weight while decoding or
/// evaluating: B's packed form is kept (one per B and layout, keyed by its first element's address) and reused
/// until b_storage, the storage B lies in, has a new version (an in-place write) or is gone. Saves
/// packing B at every call, which costs as much as the multiply-adds when A has few rows (a decoding
/// step). The results are those of sgemm, bit for bit.
void sgemm_shared_b(int64_t m, int64_t n, int64_t k, MatrixView a, MatrixView b,
                    const std::shared_ptr<Storage>& b_storage, float* c, int64_t ldc, bool accumulate);

}  // namespace ag
