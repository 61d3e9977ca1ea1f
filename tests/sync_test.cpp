// The write-enabled collector API (SYNC.md, seed 004): RFC 8785 canonical form and its SHA-256 against
// the RFC's own examples; API keys; and the sync server over real loopback HTTP with curl_transport as
// the client, on memory_index and sqlite_index, holding SYNC.md's invariants: an item is stored once
// whatever the interleaving of collectors, nothing stored is modified through the API, a tampered hash
// is never stored, and no request without a valid key or over a limit changes anything.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <tributary/sync/canonical_json.hpp>

#include "support/common.hpp"

namespace tributary {
namespace {

using tributary::testing::contains;
using tributary::testing::thrown_by;

// --- RFC 8785 ---------------------------------------------------------------------------------------

double from_bits(std::uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof d);
  return d;
}
std::string es(double d) {
  std::string out;
  detail::append_ecmascript_number(out, d);
  return out;
}

TEST(CanonicalJson, WritesNumbersAsTheRfcsAppendixB) {
  // RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
  const std::pair<std::uint64_t, const char*> samples[] = {
    {0x0000000000000000, "0"},
    {0x8000000000000000, "0"},  // minus zero
    {0x0000000000000001, "5e-324"},
    {0x8000000000000001, "-5e-324"},
    {0x7fefffffffffffff, "1.7976931348623157e+308"},
    {0xffefffffffffffff, "-1.7976931348623157e+308"},
    {0x4340000000000000, "9007199254740992"},
    {0xc340000000000000, "-9007199254740992"},
    {0x4430000000000000, "295147905179352830000"},
    {0x44b52d02c7e14af5, "9.999999999999997e+22"},
    {0x44b52d02c7e14af6, "1e+23"},
    {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
    {0x444b1ae4d6e2ef4e, "999999999999999700000"},
    {0x444b1ae4d6e2ef4f, "999999999999999900000"},
    {0x444b1ae4d6e2ef50, "1e+21"},
    {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
    {0x3eb0c6f7a0b5ed8d, "0.000001"},
    {0x41b3de4355555553, "333333333.3333332"},
    {0x41b3de4355555554, "333333333.33333325"},
    {0x41b3de4355555555, "333333333.3333333"},
    {0x41b3de4355555556, "333333333.3333334"},
    {0x41b3de4355555557, "333333333.33333343"},
    {0xbecbf647612f3696, "-0.0000033333333333333333"},
    {0x43143ff3c1cb0959, "1424953923781206.2"},
  };
  for (const auto& [bits, text] : samples) {
    EXPECT_EQ(es(from_bits(bits)), text) << std::hex << bits;
    // Read from its own text, each canonicalizes to itself.
    EXPECT_EQ(canonical_json(text), text) << text;
  }
  // Appendix B's invalid ones (NaN, Infinity) cannot be written in JSON; a number that overflows to
  // infinity is refused instead, while one that underflows reads as 0, as JSON.parse reads it.
  EXPECT_TRUE(contains(thrown_by([] { (void)canonical_json("1e400"); }).what(), "too large for a double"));
  EXPECT_TRUE(contains(thrown_by([] { (void)canonical_json("-123456789e301"); }).what(), "too large for a double"));
  EXPECT_EQ(canonical_json("1e-400"), "0");
  EXPECT_EQ(canonical_json("-0.000000e-999999999999999999999"), "0");
  EXPECT_EQ(canonical_json("-0"), "0");
  EXPECT_EQ(canonical_json("-0.0"), "0");
}

TEST(CanonicalJson, MatchesTheRfcsMainExample) {
  // RFC 8785 section 3.2.2 (and its bytes in 3.2.4).
  const std::string input = R"({
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  })";
  EXPECT_EQ(canonical_json(input),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
            "\"string\":\"\xE2\x82\xAC$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

TEST(CanonicalJson, SortsMembersByUtf16CodeUnits) {
  // RFC 8785 section 3.2.3: U+1F600 (a surrogate pair, 0xD83D...) sorts before U+FB33, though its UTF-8
  // bytes (F0 ...) sort after (EF ...).
  const std::string input = R"({
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  })";
  const std::string out = canonical_json(input);
  const char* order[] = {"Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis", "Euro Sign",
                         "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"};
  std::size_t last = 0;
  for (const char* name : order) {
    const auto at = out.find(name);
    ASSERT_NE(at, std::string::npos) << name;
    EXPECT_GT(at, last) << name << " out of order in " << out;
    last = at;
  }
  EXPECT_TRUE(out.starts_with("{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xC2\x80\":\"Control\"")) << out;
  EXPECT_EQ(canonical_json(R"({"b":{"z":1,"y":[{"d":1,"c":2}]},"a":[]})"), R"({"a":[],"b":{"y":[{"c":2,"d":1}],"z":1}})")
      << "sorted recursively; arrays keep their order";
}

TEST(CanonicalJson, EscapesStringsAsEcmaScriptDoes) {
  EXPECT_EQ(canonical_json(R"("\u0000\u001F\b\t\n\f\r\u007f\u2028/\/")"),
            "\"\\u0000\\u001f\\b\\t\\n\\f\\r\x7F\xE2\x80\xA8//\"");
  EXPECT_EQ(canonical_json("\"\xF0\x9F\x98\x80 \\ud83d\\ude00\""), "\"\xF0\x9F\x98\x80 \xF0\x9F\x98\x80\"")
      << "an escaped pair and its UTF-8 are one character";
  EXPECT_EQ(canonical_json(" \t\r\n[ 1 , { } , [ ] , \"\" ]\n"), "[1,{},[],\"\"]");
  EXPECT_EQ(canonical_json("[100, 1.0e2, 0.5e-0, 12345678901234567890]"), "[100,100,0.5,12345678901234567000]");
}

TEST(CanonicalJson, RefusesWhatCannotBeCanonicalizedNamingTheProblem) {
  const std::pair<std::string, const char*> bad[] = {
    {R"({"a":1,"b":2,"a":3})", "duplicate member name \"a\""},
    {R"({"\u0061":1,"a":2})", "duplicate member name"},
    {R"("\udc00")", "lone low surrogate"},
    {R"("\ud800")", "lone high surrogate"},
    {R"("\ud800\u0041")", "not followed by a low one"},
    {"\"\xFF\"", "invalid UTF-8"},
    {"\"\xC0\xAF\"", "invalid UTF-8"},        // overlong '/'
    {"\"\xED\xA0\x80\"", "invalid UTF-8"},    // a surrogate in UTF-8
    {"\"\xF4\x90\x80\x80\"", "invalid UTF-8"},  // above U+10FFFF
    {"\"\xE2\x82\"", "UTF-8"},
    {"\"a\tb\"", "unescaped control character"},
    {"\"\\x\"", "bad escape"},
    {"[1,]", "unexpected character"},
    {"[1 2]", "expected ',' or ']'"},
    {"{\"a\" 1}", "expected ':'"},
    {"{1:2}", "expected a member name"},
    {"01", "leading zero"},
    {"1.", "a fraction needs digits"},
    {"1e+", "an exponent needs digits"},
    {"-", "a number needs digits"},
    {"+1", "unexpected character"},
    {"NaN", "unexpected character"},
    {"tru", "invalid literal"},
    {"nulll", "unexpected content after the JSON value"},
    {"[1] x", "unexpected content after the JSON value"},
    {"", "unexpected end"},
    {"\"abc", "unterminated string"},
  };
  for (const auto& [text, problem] : bad) {
    const error e = thrown_by([&text = text] { (void)canonical_json(text); });
    EXPECT_EQ(e.code(), errc::bad_document) << text;
    EXPECT_TRUE(contains(e.what(), problem)) << text << ": " << e.what();
    EXPECT_TRUE(contains(e.what(), "at byte ")) << e.what();
  }
  std::string deep(max_canonical_depth, '[');
  deep += std::string(max_canonical_depth, ']');
  EXPECT_EQ(canonical_json(deep), deep);
  const error e = thrown_by([&] { (void)canonical_json("[" + deep + "]"); });
  EXPECT_TRUE(contains(e.what(), "nesting deeper than 256")) << e.what();
}

TEST(CanonicalJson, HashesTheCanonicalFormWithSha256) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const auto a = canonicalize(R"({"b": [1.0, "x"], "a": null})");
  EXPECT_EQ(a.json, R"({"a":null,"b":[1,"x"]})");
  EXPECT_EQ(a.hash, sha256_hex(a.json));
  EXPECT_EQ(canonical_hash("{\"a\":null,\"b\":[1e0,\"\\u0078\"]}"), a.hash) << "one item, two spellings, one hash";
  EXPECT_NE(canonical_hash(R"({"a":null,"b":[1,"y"]})"), a.hash);
  EXPECT_TRUE(is_canonical_hash(a.hash));
  EXPECT_FALSE(is_canonical_hash(std::string(64, 'A')));
  EXPECT_FALSE(is_canonical_hash(std::string(63, 'a')));
  EXPECT_FALSE(is_canonical_hash(std::string(64, 'g')));
}

}  // namespace
}  // namespace tributary
