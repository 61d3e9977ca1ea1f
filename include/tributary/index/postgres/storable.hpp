#pragma once
// What a PostgreSQL store can hold, checked before the server sees it: text (UTF-8 without NUL) and
// documents (JSON that jsonb takes). The fuzz target postgres_documents reaches these directly.

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <tributary/detail/json_syntax.hpp>
#include <tributary/index/types.hpp>

namespace tributary::detail {

/// True when PostgreSQL can store `s` as text: valid UTF-8 (no overlongs, surrogates or values past
/// U+10FFFF) without NUL bytes.
[[nodiscard]] inline bool pg_storable_text(std::string_view s) noexcept {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1Fu;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0Fu;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07u;
    else return false;
    if (n - i < len) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

/// True when some number in `json` could be beyond the bounds of PostgreSQL's numeric though simdjson
/// read it: numeric refuses an exponent past INT_MAX / 2 and more than 16383 digits after the point
/// (exponent applied), which a finite double can only reach through an exponent of five or more digits
/// or through 6385 or more digits in a row. A scan eight bytes at a time: most text holds no digit.
[[nodiscard]] inline bool pg_numeric_may_refuse(std::string_view json) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
  const char* const begin = json.data();
  const char* const end = begin + json.size();
  std::size_t run = 0;  // digits in a row so far
  char before = 0;      // the byte before the run, or the 'e' of "e+"/"e-"
  auto exceeds = [&] { return run >= 6385 || (run >= 5 && (before == 'e' || before == 'E')); };
  for (const char* p = begin; p < end;) {
    if (run == 0 && end - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      const std::uint64_t x = w ^ (ones * '0');                     // a digit byte becomes 0..9
      const std::uint64_t ten_or_more = ((x & ~high) + ones * 0x76) & high;  // no carry between bytes
      if ((~ten_or_more & ~x & high) == 0) {                          // no digit in these eight bytes
        before = p[7];
        p += 8;
        continue;
      }
    }
    if (static_cast<unsigned char>(*p - '0') < 10) {
      ++run;
    } else {
      if (exceeds()) return true;
      run = 0;
      const bool sign_of_exponent = (*p == '+' || *p == '-') && (before == 'e' || before == 'E') && p > begin &&
                                    (p[-1] == 'e' || p[-1] == 'E');
      if (!sign_of_exponent) before = *p;
    }
    ++p;
  }
  return exceeds();
}

/// Why PostgreSQL's jsonb would refuse `json`, or nullopt when it takes it. Documents are stored as
/// text and parsed into JSONB only when an index's search index is built, so the writer checks them
/// as they arrive: JSON by simdjson's parser, which also refuses what the text column would (bytes that
/// are not UTF-8, a NUL byte) and nesting deeper than 1024 levels; numbers as numeric takes them, which
/// is more than 64-bit integers and doubles, up to numeric's own bounds; and no escaped NUL (backslash
/// u0000), which jsonb cannot hold. `parser` is reused across the documents of a write.
[[nodiscard]] inline std::optional<std::string> pg_jsonb_problem(simdjson::dom::parser& parser, std::string_view json) {
  const auto parsed = parser.parse(json.data(), json.size(), true);
  if (parsed.error() && parsed.error() != simdjson::NUMBER_ERROR)
    return std::string("document is not valid json: ") + simdjson::error_message(parsed.error());
  if (parsed.error() || pg_numeric_may_refuse(json)) {
    // The grammar, and numeric's bounds as its input function has them ("value overflows numeric format").
    static constexpr decimal_limits numeric{.max_exponent = 1'073'741'822,
                                            .max_integer_digits = 131'072,
                                            .max_fraction_digits = 16'383};
    if (!pg_storable_text(json)) return "document is not valid json: it is not UTF-8 text without NUL bytes";
    if (auto problem = json_syntax_problem(json, parser.max_depth(), numeric))
      return "document is not valid json: " + *problem;
  }
  for (auto at = json.find("\\u0000"); at != std::string_view::npos; at = json.find("\\u0000", at + 1)) {
    std::size_t backslashes = 0;  // an escaped backslash followed by "u0000" is text, not the escape
    while (at >= backslashes + 1 && json[at - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return "document holds the escape \\u0000, which PostgreSQL's jsonb cannot store";
  }
  return std::nullopt;
}

// PostgreSQL's largest field is 1 GB; the margin leaves room for the row around it.
inline constexpr std::size_t pg_max_document_bytes = (std::size_t{1} << 30) - (std::size_t{1} << 20);

/// Why a document cannot be stored, checked before the server sees it; nullopt when it can.
[[nodiscard]] inline std::optional<std::string> pg_document_problem(simdjson::dom::parser& parser, const stored_document& d) {
  if (d.id.empty()) return "document has an empty id";
  if (!pg_storable_text(d.id)) return "document id is not valid UTF-8 text (or holds a NUL byte)";
  if (d.json.size() > pg_max_document_bytes) return "document is larger than PostgreSQL's 1 GB field limit";
  return pg_jsonb_problem(parser, d.json);
}

}  // namespace tributary::detail
