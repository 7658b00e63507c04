#pragma once
// Shape: the sizes of a tensor's dimensions, printed as "(2, 3)" in messages.

#include <fmt/format.h>

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

namespace ag {

/// The sizes of a tensor's dimensions, outermost first (row-major). A scalar has shape ().
struct Shape : std::vector<int64_t> {
  using std::vector<int64_t>::vector;
  Shape(std::vector<int64_t> v) : std::vector<int64_t>(std::move(v)) {}  // NOLINT: implicit on purpose
  int64_t rank() const { return static_cast<int64_t>(size()); }
};

/// Number of elements of a shape (1 for a scalar).
int64_t numel(const Shape& shape);

/// "(2, 3)"; a scalar is "()".
std::string to_string(const Shape& shape);

inline std::ostream& operator<<(std::ostream& os, const Shape& shape) { return os << to_string(shape); }

/// Row-major strides in elements: strides(2, 3, 4) = (12, 4, 1).
std::vector<int64_t> strides_of(const Shape& shape);

/// Maps a possibly negative dim (-1 = last) of a tensor of `shape` into [0, rank); raises ag::Error
/// naming `op` and the shape if it is out of range.
int64_t normalize_dim(int64_t dim, const Shape& shape, const char* op);

/// NumPy broadcast of two shapes (torch.broadcast_shapes); raises ag::Error naming `op` if incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace ag

template <>
struct fmt::formatter<ag::Shape> : fmt::formatter<std::string> {
  auto format(const ag::Shape& s, fmt::format_context& ctx) const {
    return fmt::formatter<std::string>::format(ag::to_string(s), ctx);
  }
};
