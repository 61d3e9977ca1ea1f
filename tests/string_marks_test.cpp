// detail::string_marks against a byte-at-a-time reading of the same texts: where each string ends (the
// next quote no backslash escapes) and what lies between, from every position, across block edges and
// in the last, partial block. tests/cmake/native.cmake builds this file a second time for the machine's
// own instruction set, so the wide kernel the benchmarks use (AVX-512 on this machine) is held to the
// same reading as the SSE2 one every x86-64 build uses.

#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/detail/string_marks.hpp>

namespace {

using tributary::detail::string_marks;

/// What the marks should say, read a byte at a time.
struct reference {
  std::vector<bool> escaped, quote;
  explicit reference(std::string_view text) : escaped(text.size()), quote(text.size()) {
    std::size_t run = 0;  // backslashes just before i
    for (std::size_t i = 0; i < text.size(); ++i) {
      escaped[i] = run % 2 == 1;
      quote[i] = text[i] == '"' && !escaped[i];
      run = text[i] == '\\' ? run + 1 : 0;
    }
  }
};

bool is(unsigned marks, std::string_view text, const reference& r, std::size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  return ((marks & string_marks::escaped) && r.escaped[i]) || ((marks & string_marks::control) && c < 0x20) ||
         ((marks & string_marks::high) && c >= 0x80);
}

void expect_marks_read_as_bytes(std::string_view text) {
  string_marks marks;
  marks.mark(text);
  const reference r(text);
  std::size_t next = string_marks::npos;
  for (std::size_t from = text.size() + 1; from-- > 0;) {
    if (from < text.size() && r.quote[from]) next = from;
    ASSERT_EQ(marks.next_quote(from), next) << "from " << from << " in a text of " << text.size();
  }
  for (const unsigned m : {unsigned{string_marks::escaped}, unsigned{string_marks::control}, unsigned{string_marks::high},
                           unsigned{string_marks::escaped | string_marks::control | string_marks::high}}) {
    for (std::size_t from = 0; from <= text.size(); from += 1 + from % 7) {
      bool seen = false;
      for (std::size_t to = from; to <= text.size(); ++to) {
        ASSERT_EQ(marks.any(m, from, to), seen) << "marks " << m << " in [" << from << ", " << to << ")";
        if (to < text.size()) seen = seen || is(m, text, r, to);
      }
    }
  }
  std::vector<std::size_t> escaped, expected;
  EXPECT_TRUE(marks.each_escaped(0, text.size(), [&](std::size_t at) { return escaped.push_back(at), true; }));
  for (std::size_t i = 0; i < text.size(); ++i)
    if (r.escaped[i]) expected.push_back(i);
  EXPECT_EQ(escaped, expected);
}

TEST(StringMarks, AgreeWithAByteAtATimeReadingOfRandomTexts) {
  std::mt19937 rng(20261207);
  // Mostly the bytes that matter, so that runs of backslashes, quotes and control characters meet block
  // edges: the escape carried from one block to the next is where a mask reading goes wrong.
  const std::string alphabet = std::string("\\\\\\\"\"a b\x01\x1f\x7f") + "\x80\xc3\xa4";
  for (int round = 0; round < 400; ++round) {
    std::string text(rng() % 300, ' ');
    for (auto& c : text) c = alphabet[rng() % alphabet.size()];
    expect_marks_read_as_bytes(text);
  }
}

TEST(StringMarks, RunsOfBackslashesAcrossBlockEdges) {
  for (std::size_t run = 0; run < 6; ++run)
    for (std::size_t at = 56; at < 72; ++at) {
      std::string text(at, 'x');
      text += std::string(run, '\\') + "\"" + std::string(70, 'y') + "\"";
      expect_marks_read_as_bytes(text);
      expect_marks_read_as_bytes(text.substr(0, 64));  // ending inside the run or at its quote
      expect_marks_read_as_bytes(text.substr(0, at + run));
    }
}

TEST(StringMarks, TheStorageIsReusedForTextsOfEverySize) {
  string_marks marks;
  marks.mark(std::string(500, 'a') + "\"");
  EXPECT_EQ(marks.next_quote(0), 500u);
  marks.mark("ab\"");  // shorter: nothing of the longer text's marks is left
  EXPECT_EQ(marks.next_quote(0), 2u);
  EXPECT_EQ(marks.next_quote(3), string_marks::npos);
  EXPECT_EQ(marks.next_quote(200), string_marks::npos);
  marks.mark("");
  EXPECT_EQ(marks.next_quote(0), string_marks::npos);
  EXPECT_FALSE(marks.any(string_marks::escaped, 0, 0));
}

}  // namespace
