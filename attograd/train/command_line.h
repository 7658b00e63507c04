#pragma once
// How every attograd program reads its command line. CLI11 itself ends a bad command line with
// exit codes of its own (105 for a value out of range, 106 for a missing option, ...); scripts
// that run these programs should instead see the Unix convention, as argparse and grep give it:
//   0  --help was asked for, and printed;
//   1  the command line was fine but the work failed (a missing file, a bad checkpoint, ...);
//   2  the command line itself is wrong: the message names the option, then the program exits.
// Header-only, so the train library does not depend on CLI11; only programs that use it include it.
#include <CLI/CLI.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "attograd/train/option_table.h"
#include "attograd/train/usage_error.h"

namespace ag::train {

/// Exit code for usage errors: an unknown option, a missing required one, a value out of range.
inline constexpr int kUsageError = 2;

/// Parses argv into `app`. Returns nullopt when the program should go on, or the code it should
/// exit with, after --help or a usage error has been printed:
///   if (auto code = ag::train::parse_command_line(app, argc, argv)) return *code;
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kUsageError;  // app.exit prints the help or the error
  }
}

namespace detail {

// The whole of `text` as a T, or nullopt: no leading spaces, nothing left over, no overflow.
template <class T>
std::optional<T> parse_exactly(const std::string& text) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (begin != end && *begin == '+') ++begin;
  T value{};
  const auto [rest, error] = std::from_chars(begin, end, value);
  if (error != std::errc() || rest != end || begin == end) return std::nullopt;
  return value;
}

}  // namespace detail

/// An integer option's check: a whole decimal number in [lo, hi]. CLI11's own conversion clamps
/// "99999999999999999999" to the type's maximum; this refuses it.
inline CLI::Validator integer_in(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        const std::optional<int64_t> v = detail::parse_exactly<int64_t>(text);
        if (v && *v >= lo && *v <= hi) return "";
        return fmt::format("{} is not a whole number from {} to {}", text, lo, hi);
      },
      fmt::format("INT in [{}, {}]", lo, hi));
}

/// A seed's check: a whole number from 0 to 2^64-1. CLI11 reads "-1" into an unsigned as 2^64-1;
/// this refuses it.
inline CLI::Validator unsigned_integer() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (detail::parse_exactly<uint64_t>(text)) return "";
        return fmt::format("{} is not a whole number from 0 to {}", text, std::numeric_limits<uint64_t>::max());
      },
      "UINT64");
}

/// A real option's check: a finite number in the range (nan and inf are refused, whatever the range).
inline CLI::Validator number_in(double lo, double hi, Ends ends = Ends::Closed) {
  const Range range{lo, hi, ends};
  return CLI::Validator(
      [range](std::string& text) -> std::string {
        const std::optional<double> v = detail::parse_exactly<double>(text);
        if (v && range.contains(*v)) return "";
        return fmt::format("{} is not a finite number {}", text, range.describe());
      },
      "NUMBER " + range.describe());
}

/// Raises UsageError when `output` (the value of `option`) is one of `inputs`, which writing it
/// would destroy: the same file by another name too (a symlink, a ./ prefix, a hard link).
inline void check_output_is_not_input(const std::string& option, const std::string& output,
                                      const std::vector<std::string>& inputs) {
  if (output.empty()) return;
  for (const std::string& input : inputs) {
    std::error_code ec;  // false, not an error, when either does not exist
    check_usage(input.empty() || !std::filesystem::equivalent(output, input, ec),
                "{} {} is {}, an input of this command: writing it would destroy it", option, output, input);
  }
}

/// --profile FILE and --profile-shapes on a command (attograd/train/profile_run.h).
inline void add_profile_options(CLI::App& command, std::string& path, bool& shapes) {
  command.add_option("--profile", path,
                     "profile the command: print the time of each op at the end and write a Chrome trace "
                     "(chrome://tracing, ui.perfetto.dev) to this file");
  command.add_flag("--profile-shapes", shapes, "with --profile: a row per op and input shapes")->needs("--profile");
}

/// For `train --resume`: raises UsageError naming the first option given on the command line that
/// is not in `may_change`, since a resumed run keeps its own recipe.
inline void check_resume_options(const CLI::App& train, const std::set<std::string>& may_change) {
  for (const CLI::Option* option : train.get_options())
    check_usage(option->count() == 0 || may_change.count(option->get_name()) > 0,
                "{} cannot be given with --resume: a resumed run keeps the recipe it was started with (only {} "
                "may change); start a new run to change it",
                option->get_name(), fmt::join(may_change, ", "));
}

}  // namespace ag::train
