#pragma once
// UsageError: the command line itself is wrong (a value out of range, options that contradict each
// other). Programs print it and exit 2, as for the errors the command-line parser finds itself;
// every other ag::Error means the work failed (exit 1).

#include "attograd/core/error.h"

namespace ag::train {

class UsageError : public Error {
 public:
  using Error::Error;
};

/// Throws UsageError(fmt::format(f, args...)) when `ok` is false.
template <class... Args>
inline void check_usage(bool ok, fmt::format_string<Args...> f, Args&&... args) {
  if (!ok) [[unlikely]]
    throw UsageError(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace ag::train
