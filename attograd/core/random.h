#pragma once
// Generator: a counter-based random stream (Philox4x32-10) whose whole state is (seed, offset).

#include <array>
#include <cstdint>

namespace ag {

/// Random numbers for initialisation, dropout and shuffling. Value number p of the stream is a pure
/// function of (seed, p), so a kernel can fill element i from position offset + i on any thread:
/// results do not depend on the thread count, and saving (seed, offset) saves the generator.
class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}

  uint64_t seed() const { return seed_; }
  /// Stream positions consumed so far.
  uint64_t offset() const { return offset_; }
  /// Restores a state saved from seed() and offset().
  void set_state(uint64_t seed, uint64_t offset) { seed_ = seed, offset_ = offset; }

  /// Claims n positions of the stream and returns the first; fill element i from position base + i.
  uint64_t advance(uint64_t n) {
    const uint64_t base = offset_;
    offset_ += (n + 3) / 4 * 4;  // whole Philox blocks: from an offset that is a multiple of 4 (the
                                 // default), no two draws share a block
    return base;
  }

  /// 32 random bits at stream position p for this seed.
  uint32_t bits_at(uint64_t p) const { return philox(p / 4, seed_)[p % 4]; }
  /// out[i] = uniform_at(first + i) for i < n under `seed`, bit for bit, 32 positions at a time
  /// with AVX2 (8 Philox blocks side by side): the fast path of dropout's masks.
  static void uniforms(uint64_t seed, uint64_t first, int64_t n, float* out);
  /// Uniform in [0, 1) at position p (24 random bits: every float in the range is exact).
  float uniform_at(uint64_t p) const { return static_cast<float>(bits_at(p) >> 8) * 0x1.0p-24f; }

  /// Fills out[0..n) with uniform [low, high) values and advances the stream by n.
  void fill_uniform(float* out, int64_t n, float low, float high);
  /// Fills out[0..n) with normal(mean, std) values (Box-Muller) and advances the stream by 2n.
  void fill_normal(float* out, int64_t n, float mean, float std);
  /// A uniform integer in [0, n) (for shuffles); advances the stream by 2.
  uint64_t next_below(uint64_t n);

  /// The Philox4x32-10 block function (Salmon et al., SC'11): 4 random words for a 64-bit counter
  /// under a 64-bit key (philox4x32 with counter {lo, hi, 0, 0} and key {lo, hi}).
  static std::array<uint32_t, 4> philox(uint64_t counter, uint64_t key);
  /// Philox4x32-10 on its full 128-bit counter and 64-bit key, word 0 the lowest (Random123's layout).
  static std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

/// The generator layers use when none is given: parameter initialisation, nn::Dropout
/// (torch's default generator). Checkpoints save its state.
Generator& default_generator();
/// Reseeds the default generator (torch.manual_seed).
void manual_seed(uint64_t seed);

}  // namespace ag
