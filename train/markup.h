#pragma once
// Text safe to put inside HTML or SVG (the examples' --explain pages and attention heatmaps).

#include <string>

namespace ag::train {

/// Escapes & < > " ' as character references.
std::string escape_markup(const std::string& text);

}  // namespace ag::train
