#pragma once
// ag::Error, the one exception attograd throws for bad input, and check(), which raises it.

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace ag {

/// Raised for every user error: the message names the op and the shapes involved,
/// e.g. "linear: input (32, 200, 127) does not match weight (256, 128)".
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Throws ag::Error(fmt::format(f, args...)) when `ok` is false; the message is formatted only then,
/// but, as with any function call, the arguments are evaluated first: pass nothing that is invalid
/// when `ok` holds (e.g. the shape of a tensor that may be undefined).
template <class... Args>
inline void check(bool ok, fmt::format_string<Args...> f, Args&&... args) {
  if (!ok) [[unlikely]]
    throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace ag
