#pragma once
// Helpers shared by the test suites.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"

namespace ag::testing {

/// The message of the ag::Error that f() raises; "" and a test failure when it raises none.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const ag::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ag::Error was raised";
  return "";
}

/// Expects every one of `parts` (an op name, a shape...) to appear in an error message.
inline void expect_mentions(const std::string& message, const std::vector<std::string>& parts) {
  for (const std::string& part : parts)
    EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' is missing from: " << message;
}

}  // namespace ag::testing
