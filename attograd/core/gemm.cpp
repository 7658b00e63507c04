#include "attograd/core/gemm.h"

#include <Eigen/Core>
#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <omp.h>
#include <unordered_map>
#include <vector>

#include "attograd/core/profiler.h"
#include "attograd/core/storage.h"
#include "attograd/core/threads.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define AG_PACKED_GEMM 1
#endif

namespace ag {

namespace {

// Eigen's product, for small matrices (packing would cost more than it saves) and for CPUs without
// AVX2. Eigen threads it itself, except inside a parallel region.
void eigen_gemm(int64_t m, int64_t n, int64_t k, MatrixView a, MatrixView b, float* c, int64_t ldc, bool accumulate) {
  using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Stride = Eigen::OuterStride<>;
  using ConstMap = Eigen::Map<const RowMajor, 0, Stride>;
  Eigen::Map<RowMajor, 0, Stride> out(c, m, n, Stride(ldc));
  const ConstMap am = a.transposed ? ConstMap(a.data, k, m, Stride(a.ld)) : ConstMap(a.data, m, k, Stride(a.ld));
  const ConstMap bm = b.transposed ? ConstMap(b.data, n, k, Stride(b.ld)) : ConstMap(b.data, k, n, Stride(b.ld));
  auto run = [&](const auto& lhs, const auto& rhs) {
    if (accumulate) out.noalias() += lhs * rhs;
    else out.noalias() = lhs * rhs;
  };
  if (a.transposed && b.transposed) run(am.transpose(), bm.transpose());
  else if (a.transposed) run(am.transpose(), bm);
  else if (b.transposed) run(am, bm.transpose());
  else run(am, bm);
}

#ifdef AG_PACKED_GEMM

// The packed GEMM (the BLIS design). C is computed in MR x NR tiles, each held in 12 AVX registers
// while the micro-kernel streams a k-slice of MR rows of A and NR columns of B:
//   tile += sum over p of  A[rows, p] (MR) outer B[p, cols] (NR),  one FMA per register per p.
// To feed it from cache, A and B are copied ("packed") into the order the kernel reads them:
//   for each block of NC columns of C (jc)
//     for each slice of KC of the k dimension (pc): pack B[pc, jc] into NR-wide panels (fits L3)
//       for each block of MC rows of C (ic, one thread each): pack A[ic, pc] into MR-tall panels (L2)
//         for each NR panel of B (its KC x NR floats stay in L1), for each MR panel of A: kernel.
// Each C element is summed over p in the same order (pc slices in turn), whatever the threads.
constexpr int64_t MR = 6, NR = 16;         // 6 x 16 floats = 12 registers of 8
constexpr int64_t KC = 256, MC = 144, NC = 3072;

// A float buffer aligned to 64 bytes that grows and is kept for the thread's next product.
float* buffer(std::vector<float>& storage, int64_t floats) {
  if (static_cast<int64_t>(storage.size()) < floats + 16) storage.resize(floats + 16);
  auto address = reinterpret_cast<uintptr_t>(storage.data());
  return reinterpret_cast<float*>((address + 63) & ~uintptr_t{63});
}

// Transposes the 8 x 8 matrix whose rows are the 8 registers, in place.
void transpose_8x8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int q = 0; q < 8; q += 2) {  // interleave pairs of rows: t = a0 b0 a1 b1 | a4 b4 a5 b5, ...
    t[q] = _mm256_unpacklo_ps(r[q], r[q + 1]);
    t[q + 1] = _mm256_unpackhi_ps(r[q], r[q + 1]);
  }
  for (int q = 0; q < 8; q += 4) {  // then pairs of pairs: u = a0 b0 c0 d0 | a4 b4 c4 d4, ...
    u[q] = _mm256_shuffle_ps(t[q], t[q + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[q + 1] = _mm256_shuffle_ps(t[q], t[q + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[q + 2] = _mm256_shuffle_ps(t[q + 1], t[q + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[q + 3] = _mm256_shuffle_ps(t[q + 1], t[q + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int q = 0; q < 4; ++q) {  // and the 128-bit halves of rows 0-3 with those of rows 4-7
    r[q] = _mm256_permute2f128_ps(u[q], u[q + 4], 0x20);
    r[q + 4] = _mm256_permute2f128_ps(u[q], u[q + 4], 0x31);
  }
}

// op(A)[i0 .. i0+mc, p0 .. p0+kc] -> panels of MR rows, each kc columns of MR floats (0 past row m).
void pack_a(MatrixView a, int64_t m, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* out) {
  static_assert(MR == 6, "the vector paths below move 6 floats per p");
  for (int64_t i = i0; i < i0 + mc; i += MR, out += MR * kc) {
    const int64_t rows = std::min(MR, m - i);
    if (a.transposed && rows == MR) {  // op(A)[i, p] = stored[p, i]: the MR values of one p are adjacent
      for (int64_t p = 0; p < kc; ++p) std::memcpy(out + p * MR, a.data + (p0 + p) * a.ld + i, MR * sizeof(float));
    } else if (a.transposed) {
      for (int64_t p = 0; p < kc; ++p) {
        const float* src = a.data + (p0 + p) * a.ld + i;
        for (int64_t r = 0; r < MR; ++r) out[p * MR + r] = r < rows ? src[r] : 0.0f;
      }
    } else if (rows == MR) {  // a full panel: 8 columns of the 6 rows at a time, transposed in registers
      int64_t p = 0;
      for (; p + 8 <= kc; p += 8) {
        __m256 block[8];
        for (int r = 0; r < 8; ++r)
          block[r] = r < MR ? _mm256_loadu_ps(a.data + (i + r) * a.ld + p0 + p) : _mm256_setzero_ps();
        transpose_8x8(block);  // block[q] = column p + q: the 6 values (and 2 zeros) of one p
        for (int q = 0; q < 8; ++q) {  // 4 + 2 floats (a masked store is slow on AMD's cores)
          float* dst = out + (p + q) * MR;
          _mm_storeu_ps(dst, _mm256_castps256_ps128(block[q]));
          _mm_storel_pi(reinterpret_cast<__m64*>(dst + 4), _mm256_extractf128_ps(block[q], 1));
        }
      }
      for (; p < kc; ++p)
        for (int64_t r = 0; r < MR; ++r) out[p * MR + r] = a.data[(i + r) * a.ld + p0 + p];
    } else {
      for (int64_t r = 0; r < MR; ++r) {
        if (r >= rows) {
          for (int64_t p = 0; p < kc; ++p) out[p * MR + r] = 0.0f;
          continue;
        }
        const float* src = a.data + (i + r) * a.ld + p0;
        for (int64_t p = 0; p < kc; ++p) out[p * MR + r] = src[p];
      }
    }
  }
}

// op(B)[p0 .. p0+kc, j0 .. j0+nc] -> panels of NR columns, each kc rows of NR floats (0 past column n).
// Panels [panel_begin, panel_end) only, so threads can share the work.
void pack_b(MatrixView b, int64_t n, int64_t j0, int64_t p0, int64_t kc, int64_t panel_begin, int64_t panel_end,
            float* out) {
  for (int64_t panel = panel_begin; panel < panel_end; ++panel) {
    const int64_t j = j0 + panel * NR, cols = std::min(NR, n - j);
    float* dst = out + panel * NR * kc;
    if (b.transposed) {  // op(B)[p, j] = stored[j, p]
      int64_t done = 0;  // rows p of the panel written so far
      if (cols == NR)    // a full panel: 8 x 8 blocks at a time, transposed in registers
        for (; done + 8 <= kc; done += 8)
          for (int64_t half = 0; half < NR; half += 8) {
            __m256 block[8];  // rows j + half .. + 8 of the stored matrix, columns p0 + done .. + 8
            for (int q = 0; q < 8; ++q) block[q] = _mm256_loadu_ps(b.data + (j + half + q) * b.ld + p0 + done);
            transpose_8x8(block);
            for (int q = 0; q < 8; ++q) _mm256_storeu_ps(dst + (done + q) * NR + half, block[q]);
          }
      for (int64_t col = 0; col < NR; ++col)  // the rest, float by float
        for (int64_t p = done; p < kc; ++p) dst[p * NR + col] = col < cols ? b.data[(j + col) * b.ld + p0 + p] : 0.0f;
    } else {
      for (int64_t p = 0; p < kc; ++p) {
        const float* src = b.data + (p0 + p) * b.ld + j;
        if (cols == NR) std::memcpy(dst + p * NR, src, NR * sizeof(float));
        else
          for (int64_t col = 0; col < NR; ++col) dst[p * NR + col] = col < cols ? src[col] : 0.0f;
      }
    }
  }
}

// c (MR x NR, rows ldc apart) = [c +] a_panel^T b_panel over kc steps.
void micro_kernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool add) {
  __m256 acc[MR][2];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; ++p, a += MR, b += NR) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a + r);
      acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    float* row = c + r * ldc;
    if (add) {
      acc[r][0] = _mm256_add_ps(_mm256_loadu_ps(row), acc[r][0]);
      acc[r][1] = _mm256_add_ps(_mm256_loadu_ps(row + 8), acc[r][1]);
    }
    _mm256_storeu_ps(row, acc[r][0]);
    _mm256_storeu_ps(row + 8, acc[r][1]);
  }
}

// The MR x NR tiles of C[i0 .. i0+mc, j0 .. j0+nc] from packed A and B; tiles cut by the edges of C
// go through a full-size scratch tile.
void macro_kernel(int64_t mc, int64_t nc, int64_t kc, const float* pa, const float* pb, float* c, int64_t ldc,
                  bool add) {
  alignas(64) float tile[MR * NR];
  for (int64_t j = 0; j < nc; j += NR) {
    const int64_t cols = std::min(NR, nc - j);
    const float* b_panel = pb + (j / NR) * NR * kc;
    for (int64_t i = 0; i < mc; i += MR) {
      const int64_t rows = std::min(MR, mc - i);
      const float* a_panel = pa + (i / MR) * MR * kc;
      float* ct = c + i * ldc + j;
      if (rows == MR && cols == NR) {
        micro_kernel(kc, a_panel, b_panel, ct, ldc, add);
        continue;
      }
      micro_kernel(kc, a_panel, b_panel, tile, NR, false);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t col = 0; col < cols; ++col) ct[r * ldc + col] = (add ? ct[r * ldc + col] : 0.0f) + tile[r * NR + col];
    }
  }
}

// Where block (j0, p0) of B starts in a B packed whole (pack_whole_b): the blocks of NC columns in
// turn, each its KC-row slices in turn; every block before column j0 is NC wide and k deep.
int64_t packed_offset(int64_t n, int64_t k, int64_t j0, int64_t p0) {
  const int64_t nc = std::min(NC, n - j0), width = (nc + NR - 1) / NR * NR;
  return j0 * k + p0 * width;
}

// op(B) (k, n) packed in the order packed_gemm reads it, all of it (for a B that many products
// share), into `storage`; returns where it starts (64-byte aligned).
const float* pack_whole_b(MatrixView b, int64_t n, int64_t k, std::vector<float>& storage) {
  float* out = buffer(storage, (n + NR - 1) / NR * NR * k);
  for (int64_t j0 = 0; j0 < n; j0 += NC) {
    const int64_t panels = (std::min(NC, n - j0) + NR - 1) / NR;
    for (int64_t p0 = 0; p0 < k; p0 += KC)
      pack_b(b, n, j0, p0, std::min(KC, k - p0), 0, panels, out + packed_offset(n, k, j0, p0));
  }
  return out;
}

// C = op(A) op(B) [+ C]; packed_b: op(B) packed whole, or null to pack it here block by block.
void packed_gemm(int64_t m, int64_t n, int64_t k, MatrixView a, MatrixView b, const float* packed_b, float* c,
                 int64_t ldc, bool accumulate) {
  const int threads = omp_in_parallel() ? 1 : get_num_threads();
  // Blocks of at most MC rows of C, as many as a multiple of the thread count so that the threads
  // get equal shares (3 blocks on 2 threads would leave one thread idle a third of the time).
  const int64_t at_least = (m + MC - 1) / MC;
  const int64_t wanted = (at_least + threads - 1) / threads * threads;
  const int64_t mc_max = std::max(MR, ((m + wanted - 1) / wanted + MR - 1) / MR * MR);
  const int64_t row_blocks = (m + mc_max - 1) / mc_max;
  const int64_t nc_max = std::min(NC, (n + NR - 1) / NR * NR);
  static thread_local std::vector<float> b_storage;
  float* pb = packed_b ? nullptr : buffer(b_storage, KC * nc_max);

  // Few rows (a decoding step, an LSTM step): one block of rows, packed once and shared, and the
  // threads take B's panels in turns instead, so each reads its part of B, not all of it. Every
  // element is summed as in the row split below: the same tiles, the same order.
  if (threads > 1 && m <= MC && n >= 2 * threads * NR) {
    static thread_local std::vector<float> shared_a;
    float* pa = buffer(shared_a, (m + MR - 1) / MR * MR * KC);
#pragma omp parallel num_threads(threads)
    for (int64_t j0 = 0; j0 < n; j0 += NC) {
      const int64_t nc = std::min(NC, n - j0), panels = (nc + NR - 1) / NR;
      for (int64_t p0 = 0; p0 < k; p0 += KC) {
        const int64_t kc = std::min(KC, k - p0);
        const bool add = accumulate || p0 > 0;
        const float* block = packed_b ? packed_b + packed_offset(n, k, j0, p0) : pb;
        if (!packed_b) {
#pragma omp for schedule(static) nowait
          for (int64_t panel = 0; panel < panels; ++panel) pack_b(b, n, j0, p0, kc, panel, panel + 1, pb);
        }
#pragma omp single
        pack_a(a, m, 0, m, p0, kc, pa);  // its barrier also waits for the panels of B
#pragma omp for schedule(static)
        for (int64_t panel = 0; panel < panels; ++panel)
          macro_kernel(m, std::min(NR, nc - panel * NR), kc, pa, block + panel * NR * kc, c + j0 + panel * NR, ldc, add);
      }
    }
    return;
  }

#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    static thread_local std::vector<float> a_storage;
    float* pa = buffer(a_storage, mc_max * KC);
    for (int64_t j0 = 0; j0 < n; j0 += NC) {
      const int64_t nc = std::min(NC, n - j0), panels = (nc + NR - 1) / NR;
      for (int64_t p0 = 0; p0 < k; p0 += KC) {
        const int64_t kc = std::min(KC, k - p0);
        const bool add = accumulate || p0 > 0;
        const float* block = packed_b ? packed_b + packed_offset(n, k, j0, p0) : pb;
        if (!packed_b) {
#pragma omp for schedule(static)
          for (int64_t panel = 0; panel < panels; ++panel) pack_b(b, n, j0, p0, kc, panel, panel + 1, pb);
        }
#pragma omp for schedule(static)
        for (int64_t row_block = 0; row_block < row_blocks; ++row_block) {
          const int64_t i0 = row_block * mc_max, mc = std::min(mc_max, m - i0);
          pack_a(a, m, i0, mc, p0, kc, pa);
          macro_kernel(mc, nc, kc, pa, block, c + i0 * ldc + j0, ldc, add);
        }
      }
    }
  }
}

// Below this many multiply-adds, packing costs more than it saves.
constexpr int64_t kPackedWork = 1 << 17;

#endif  // AG_PACKED_GEMM

}  // namespace

void sgemm(int64_t m, int64_t n, int64_t k, MatrixView a, MatrixView b, float* c, int64_t ldc, bool accumulate) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // an empty sum
    if (!accumulate)
      for (int64_t i = 0; i < m; ++i) std::fill_n(c + i * ldc, n, 0.0f);
    return;
  }
  detail::init_threads_once();
  const profile::GemmScope event(m, n, k);
#ifdef AG_PACKED_GEMM
  if (m * n * k >= kPackedWork) {
    packed_gemm(m, n, k, a, b, nullptr, c, ldc, accumulate);
    return;
  }
#endif
  eigen_gemm(m, n, k, a, b, c, ldc, accumulate);
}

#ifdef AG_PACKED_GEMM
namespace {

// B operands packed whole, by the address of their first element and their layout: each entry
// remembers the storage
// (to notice when it is gone, and its memory perhaps reused), the version it was packed at and the
// layout, and is replaced when any of them no longer matches.
struct PackedWeight {
  std::weak_ptr<Storage> storage;
  uint64_t version;
  int64_t ld, n, k;
  bool transposed;
  std::vector<float> floats;
  const float* panels = nullptr;  // in floats, aligned
};

class PackedWeights {
 public:
  std::shared_ptr<const PackedWeight> get(MatrixView b, const std::shared_ptr<Storage>& storage, int64_t n,
                                          int64_t k) {
    {
      std::lock_guard lock(mutex_);
      auto it = entries_.find({b.data, b.transposed});
      if (it != entries_.end()) {
        const PackedWeight& e = *it->second;
        if (e.storage.lock() == storage && e.version == storage->version() && e.ld == b.ld && e.n == n &&
            e.k == k && e.transposed == b.transposed)
          return it->second;
      }
    }
    auto packed = std::make_shared<PackedWeight>(PackedWeight{storage, storage->version(), b.ld, n, k, b.transposed, {}, nullptr});
    packed->panels = pack_whole_b(b, n, k, packed->floats);
    std::lock_guard lock(mutex_);
    std::erase_if(entries_, [](const auto& entry) { return entry.second->storage.expired(); });
    entries_[{b.data, b.transposed}] = packed;
    return packed;
  }

 private:
  struct Key {  // a weight is read both ways: W^T in forward, W in backward
    const float* data;
    bool transposed;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const { return std::hash<const float*>()(k.data) ^ (k.transposed ? 1 : 0); }
  };
  std::mutex mutex_;
  std::unordered_map<Key, std::shared_ptr<const PackedWeight>, KeyHash> entries_;
};

PackedWeights& packed_weights() {
  static PackedWeights cache;
  return cache;
}

}  // namespace
#endif

void sgemm_shared_b(int64_t m, int64_t n, int64_t k, MatrixView a, MatrixView b,
                    const std::shared_ptr<Storage>& b_storage, float* c, int64_t ldc, bool accumulate) {
#ifdef AG_PACKED_GEMM
  if (m > 0 && n > 0 && k > 0 && m * n * k >= kPackedWork && b_storage) {
    detail::init_threads_once();
    const profile::GemmScope event(m, n, k);
    const std::shared_ptr<const PackedWeight> packed = packed_weights().get(b, b_storage, n, k);
    packed_gemm(m, n, k, a, b, packed->panels, c, ldc, accumulate);
    return;
  }
#endif
  sgemm(m, n, k, a, b, c, ldc, accumulate);
}

}  // namespace ag
