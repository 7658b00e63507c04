#pragma once
// How every attograd program reads its command line. CLI11 itself ends a bad command line with
// exit codes of its own (105 for a value out of range, 106 for a missing option, ...); scripts
// that run these programs should instead see the Unix convention, as argparse and grep give it:
//   0  --help was asked for, and printed;
//   1  the command line was fine but the work failed (a missing file, a bad checkpoint, ...);
//   2  the command line itself is wrong: CLI11's message names the option, then the program exits.
// Header-only, so the train library does not depend on CLI11; only programs that use it include it.
#include <CLI/CLI.hpp>

#include <optional>

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

}  // namespace ag::train
