#pragma once
// pad_sequences: id lists to one (N, maxlen) matrix, with Keras's semantics.

#include <cstdint>
#include <vector>

#include "attograd/core/tensor.h"

namespace ag::data {

enum class Side { Pre, Post };

/// A padded batch and each row's number of real (non-padding) ids after truncation.
struct Padded {
  IntTensor ids;      // (N, maxlen)
  IntTensor lengths;  // (N)
};

/// keras.preprocessing.sequence.pad_sequences: a sequence longer than maxlen loses ids at the front
/// (truncating Pre, Keras's default) or at the back (Post); a shorter one is filled with `value` at
/// the front (padding Pre, the default) or the back (Post). LSTM lengths need padding Post.
Padded pad_sequences(const std::vector<std::vector<int64_t>>& sequences, int64_t maxlen, Side padding = Side::Pre,
                     Side truncating = Side::Pre, int64_t value = 0);

}  // namespace ag::data
