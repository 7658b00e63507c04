#include "attograd/data/padding.h"

#include <algorithm>

#include "attograd/core/error.h"

namespace ag::data {

Padded pad_sequences(const std::vector<std::vector<int64_t>>& sequences, int64_t maxlen, Side padding, Side truncating,
                     int64_t value) {
  check(maxlen > 0, "pad_sequences: maxlen must be positive, got {}", maxlen);
  const int64_t n = static_cast<int64_t>(sequences.size());
  Padded out{IntTensor::full({n, maxlen}, value), IntTensor({n})};
  for (int64_t r = 0; r < n; ++r) {
    const std::vector<int64_t>& s = sequences[r];
    const int64_t len = std::min<int64_t>(static_cast<int64_t>(s.size()), maxlen);
    const auto first = truncating == Side::Pre ? s.end() - len : s.begin();  // which len ids survive
    int64_t* row = out.ids.data() + r * maxlen + (padding == Side::Pre ? maxlen - len : 0);
    std::copy(first, first + len, row);
    out.lengths.data()[r] = len;
  }
  return out;
}

}  // namespace ag::data
