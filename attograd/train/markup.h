#pragma once
// Text safe to put inside HTML or SVG (the examples' --explain pages and attention heatmaps).

#include <string>

namespace ag::train {

/// Escapes & < > " ' as character references, and replaces what XML may not hold (bytes that are
/// not well-formed UTF-8, control characters other than tab and newlines) with U+FFFD, so an SVG of
/// any input still parses.
std::string escape_markup(const std::string& text);

}  // namespace ag::train
