// escape_markup: what goes into the --explain pages and attention SVGs is always well-formed XML.
#include <gtest/gtest.h>

#include "attograd/train/markup.h"

namespace {

using ag::train::escape_markup;

TEST(Markup, EscapesTheFiveMarkupCharacters) {
  EXPECT_EQ(escape_markup(R"(<b class="x">Tom & Jerry's</b>)"),
            "&lt;b class=&quot;x&quot;&gt;Tom &amp; Jerry&apos;s&lt;/b&gt;");
  EXPECT_EQ(escape_markup("plain words"), "plain words");
}

TEST(Markup, KeepsWellFormedUtf8AndReplacesWhatXmlCannotHold) {
  EXPECT_EQ(escape_markup("Grüße, 日本, \xF0\x9F\x98\x80"), "Grüße, 日本, \xF0\x9F\x98\x80");
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(escape_markup("a\xFF" "b"), "a" + fffd + "b") << "a byte that starts no character";
  EXPECT_EQ(escape_markup("\xC3"), fffd) << "a truncated two-byte character";
  EXPECT_EQ(escape_markup("\xC0\xAF"), fffd + fffd) << "an overlong '/'";
  EXPECT_EQ(escape_markup("\xED\xA0\x80"), fffd + fffd + fffd) << "a UTF-16 surrogate";
  EXPECT_EQ(escape_markup("x\x01y\x1F"), "x" + fffd + "y" + fffd) << "control characters";
  EXPECT_EQ(escape_markup("\xEF\xBF\xBF"), fffd) << "U+FFFF is not an XML character";
  EXPECT_EQ(escape_markup("tab\there\nnew\rline"), "tab\there\nnew\rline");
}

}  // namespace
