// The one percent-coding of the engine (detail/percent.hpp): its edge cases, for every caller at once.

#include <gtest/gtest.h>

#include <string>
#include <tributary/detail/percent.hpp>

using tributary::detail::percent_decode;
using tributary::detail::percent_encode;

TEST(PercentEncode, KeepsUnreservedAndEscapesEverythingElseInUpperCaseHex) {
  EXPECT_EQ(percent_encode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(percent_encode("a b/c?d=e&f+g%h"), "a%20b%2Fc%3Fd%3De%26f%2Bg%25h");
  EXPECT_EQ(percent_encode(std::string("\0\x7f", 2)), "%00%7F");
  EXPECT_EQ(percent_encode(""), "");
}

TEST(PercentEncode, EscapesEveryByteOfAUtf8Sequence) {
  EXPECT_EQ(percent_encode("\xc3\xa4\xe2\x82\xac"), "%C3%A4%E2%82%AC");  // "ä€"
  // Even when the caller's kept set holds the byte: kept is for ASCII.
  EXPECT_EQ(percent_encode("\xc3", "\xc3"), "%C3");
}

TEST(PercentEncode, KeepsExactlyTheGivenSet) {
  EXPECT_EQ(percent_encode("a/b c", "abc/"), "a/b%20c");
  EXPECT_EQ(percent_encode("abc", ""), "%61%62%63");
}

TEST(PercentDecode, ReadsUpperAndLowerCaseHex) {
  EXPECT_EQ(percent_decode("%2f%2F%aB%Ab"), "//\xab\xab");
  EXPECT_EQ(percent_decode("plain"), "plain");
  EXPECT_EQ(percent_decode(""), "");
}

TEST(PercentDecode, GivesNulAndUtf8BytesAsTheyAre) {
  EXPECT_EQ(percent_decode("a%00b"), std::string("a\0b", 3));
  EXPECT_EQ(percent_decode("%C3%A4%e2%82%ac"), "\xc3\xa4\xe2\x82\xac");
  EXPECT_EQ(percent_decode("\xc3\xa4"), "\xc3\xa4");  // unescaped bytes pass through
}

TEST(PercentDecode, RefusesAMalformedEscapeUnlessAskedToKeepIt) {
  for (const char* bad : {"%", "%4", "a%", "ab%4", "%g1", "%1g", "%-1", "% 1"}) {
    EXPECT_EQ(percent_decode(bad), std::nullopt) << bad;
    EXPECT_EQ(percent_decode(bad, {.keep_malformed = true}), std::string(bad)) << bad;
  }
  EXPECT_EQ(percent_decode("%%41"), std::nullopt);
  // Kept as sent, and the next escape is still read.
  EXPECT_EQ(percent_decode("%%41", {.keep_malformed = true}), "%A");
  EXPECT_EQ(percent_decode("100%+%41", {.plus_as_space = true, .keep_malformed = true}), "100% A");
}

TEST(PercentDecode, ReadsPlusAsASpaceOnlyInQueryComponents) {
  EXPECT_EQ(percent_decode("a+b%2Bc"), "a+b+c");
  EXPECT_EQ(percent_decode("a+b%2Bc", {.plus_as_space = true}), "a b+c");
}

TEST(PercentCoding, DecodingAnEncodingGivesEveryByteBack) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  EXPECT_EQ(percent_decode(percent_encode(all)), all);
  EXPECT_EQ(percent_decode(percent_encode(all), {.plus_as_space = true}), all);
}
