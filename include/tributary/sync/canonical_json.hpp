#pragma once
// RFC 8785 (JSON Canonicalization Scheme) canonical form of a JSON text, and its SHA-256 as lowercase
// hex: the identity of an item in the collector API (SYNC.md). Link tributary::sync (OpenSSL's libcrypto).
//
//   canonical_json(R"({"b": 2, "a": [1.50, "\u20ac"]})")   -> {"a":[1.5,"€"],"b":2}
//   canonical_hash(text)                                    -> 64 lowercase hex digits
//
// The rules, from RFC 8785 section 3.2: no whitespace; object members sorted by their names as arrays
// of UTF-16 code units (recursively; arrays keep their order); strings written as ECMAScript's
// JSON.stringify writes them (only '"', '\\' and controls escaped, \b \t \n \f \r short, others as
// \u00xx in lowercase hex, everything else as UTF-8); numbers as IEEE 754 doubles written by
// ECMAScript's Number.prototype.toString; literals as they are.
//
// What cannot be canonicalized is refused with error(errc::bad_document) naming the problem and its
// byte offset: a text that is not JSON (RFC 8259), invalid UTF-8, a lone surrogate escape, a
// duplicate member name (I-JSON, RFC 7493), a number too large for a double, nesting deeper than
// max_canonical_depth. A number too small for a double is 0, as JSON.parse reads it.
//
// Why our own parser instead of simdjson: simdjson's DOM refuses integers beyond 64 bits (the RFC's
// own 295147905179352830000), and its On Demand API leaves trailing content unchecked in the version
// we build against; canonicalization needs every byte read exactly, so the grammar is spelled out here.

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>

namespace tributary {

/// Deepest nesting of arrays and objects canonical_json accepts: the parser recurses once per level.
inline constexpr std::size_t max_canonical_depth = 256;

namespace detail {

/// Appends `x` as ECMAScript's Number::toString writes it (ECMA-262, Number::toString, radix 10):
/// the shortest digits that read back to `x` (std::to_chars gives those, nearest to x among equals),
/// in plain notation for decimal exponents -7 < n <= 21 and in exponent notation otherwise. -0 is "0".
/// `x` must be finite.
inline void append_ecmascript_number(std::string& out, double x) {
  if (x == 0) {  // both zeros
    out += '0';
    return;
  }
  std::array<char, 32> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), x, std::chars_format::scientific);
  std::string_view sci(buf.data(), static_cast<std::size_t>(r.ptr - buf.data()));  // "-d.ddde+XX"
  if (sci.front() == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  const std::size_t e = sci.find('e');
  std::string digits;  // s of the spec: k digits, no leading or trailing zero
  digits += sci[0];
  if (e > 1) digits.append(sci.substr(2, e - 2));
  int exponent = 0;  // x = 0.d1d2... * 10^n with n = exponent + 1
  const std::string_view exp_text = sci.substr(e + 1);
  std::from_chars(exp_text.data() + (exp_text.front() == '+' ? 1 : 0), exp_text.data() + exp_text.size(), exponent);
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;
  if (k <= n && n <= 21) {  // an integer: the digits, then n - k zeros
    out += digits;
    out.append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {  // a point inside the digits
    out.append(digits, 0, static_cast<std::size_t>(n));
    out += '.';
    out.append(digits, static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {  // 0.000ddd
    out += "0.";
    out.append(static_cast<std::size_t>(-n), '0');
    out += digits;
  } else {  // d.ddde+X or de-X
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out += 'e';
    out += n - 1 < 0 ? '-' : '+';
    out += std::to_string(n - 1 < 0 ? -(n - 1) : n - 1);
  }
}

/// A member name as UTF-16 code units: RFC 8785 sorts by these, which differs from UTF-8 byte order
/// for characters above U+FFFF against U+E000..U+FFFF.
inline std::u16string utf16_of(std::string_view utf8) {
  std::u16string out;
  out.reserve(utf8.size());
  for (std::size_t i = 0; i < utf8.size();) {  // input is valid UTF-8: the parser checked it
    const auto b = static_cast<unsigned char>(utf8[i]);
    std::uint32_t cp;
    std::size_t len;
    if (b < 0x80) cp = b, len = 1;
    else if (b < 0xE0) cp = b & 0x1Fu, len = 2;
    else if (b < 0xF0) cp = b & 0x0Fu, len = 3;
    else cp = b & 0x07u, len = 4;
    for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3Fu);
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out += static_cast<char16_t>(0xD800 + (cp >> 10));
      out += static_cast<char16_t>(0xDC00 + (cp & 0x3FF));
    } else {
      out += static_cast<char16_t>(cp);
    }
  }
  return out;
}

/// A strict RFC 8259 parser that writes the canonical form as it reads.
class canonical_writer {
 public:
  explicit canonical_writer(std::string_view text) : text_(text) {}

  void run(std::string& out) {
    skip_space();
    value(out, 0);
    skip_space();
    if (pos_ != text_.size()) fail("unexpected content after the JSON value");
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw error(errc::bad_document, "cannot canonicalize: " + what + " at byte " + std::to_string(pos_));
  }
  [[nodiscard]] bool at_end() const noexcept { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const noexcept { return at_end() ? '\0' : text_[pos_]; }
  void skip_space() noexcept {
    while (!at_end() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  void expect_literal(std::string_view word, std::string& out) {
    if (text_.substr(pos_, word.size()) != word) fail("invalid literal");
    pos_ += word.size();
    out += word;
  }

  void value(std::string& out, std::size_t depth) {
    if (at_end()) fail("unexpected end of the text");
    switch (peek()) {
      case '{': object(out, depth + 1); break;
      case '[': array(out, depth + 1); break;
      case '"': quoted_string(out); break;
      case 't': expect_literal("true", out); break;
      case 'f': expect_literal("false", out); break;
      case 'n': expect_literal("null", out); break;
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) number(out);
        else fail("unexpected character");
    }
  }

  void array(std::string& out, std::size_t depth) {
    if (depth > max_canonical_depth) fail("nesting deeper than " + std::to_string(max_canonical_depth));
    ++pos_;
    out += '[';
    skip_space();
    if (peek() == ']') {
      ++pos_;
      out += ']';
      return;
    }
    for (bool first = true;; first = false) {
      if (!first) out += ',';
      skip_space();
      value(out, depth);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        out += ']';
        return;
      }
      fail("expected ',' or ']' in an array");
    }
  }

  void object(std::string& out, std::size_t depth) {
    if (depth > max_canonical_depth) fail("nesting deeper than " + std::to_string(max_canonical_depth));
    ++pos_;
    // Members are written to `out` as they come ("name":value, comma-separated) and put in order
    // afterwards only when they were not: no buffer per member.
    struct member {
      std::string name;  // decoded
      std::size_t begin, end;  // of "name":value in `out`
    };
    std::vector<member> members;
    out += '{';
    const std::size_t body = out.size();
    skip_space();
    if (peek() == '}') {
      ++pos_;
    } else {
      for (;;) {
        skip_space();
        if (peek() != '"') fail("expected a member name");
        if (!members.empty()) out += ',';
        member m{string(), out.size(), 0};
        append_quoted(out, m.name);
        out += ':';
        skip_space();
        if (peek() != ':') fail("expected ':' after a member name");
        ++pos_;
        skip_space();
        value(out, depth);
        m.end = out.size();
        members.push_back(std::move(m));
        skip_space();
        if (peek() == ',') {
          ++pos_;
          continue;
        }
        if (peek() == '}') {
          ++pos_;
          break;
        }
        fail("expected ',' or '}' in an object");
      }
    }
    const auto before = [](const member& a, const member& b) { return utf16_less(a.name, b.name); };
    if (!std::is_sorted(members.begin(), members.end(), before)) {
      const std::string written = out.substr(body);
      std::sort(members.begin(), members.end(), before);
      out.resize(body);
      for (std::size_t i = 0; i < members.size(); ++i) {
        if (i) out += ',';
        out.append(written, members[i].begin - body, members[i].end - members[i].begin);
      }
    }
    const auto dup = std::adjacent_find(members.begin(), members.end(), [](const member& a, const member& b) { return a.name == b.name; });
    if (dup != members.end()) {
      std::string quoted;
      append_quoted(quoted, dup->name);
      fail("duplicate member name " + quoted.substr(0, 80));
    }
    out += '}';
  }

  /// RFC 8785's order of member names: as arrays of UTF-16 code units. That is the order of the UTF-8
  /// bytes unless a name holds a character from U+E000 (lead byte 0xEE and above), where characters
  /// above U+FFFF (surrogate pairs in UTF-16) sort before U+E000..U+FFFF.
  static bool utf16_less(const std::string& a, const std::string& b) {
    const auto high = [](const std::string& s) {
      return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0xEE; });
    };
    if (!high(a) && !high(b)) return a < b;  // std::string compares as unsigned char
    return utf16_of(a) < utf16_of(b);
  }

  std::uint32_t hex4() {
    if (pos_ + 4 > text_.size()) fail("truncated \\u escape");
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = text_[pos_++];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= static_cast<std::uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') v |= static_cast<std::uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') v |= static_cast<std::uint32_t>(h - 'A' + 10);
      else fail("bad \\u escape");
    }
    return v;
  }

  /// A string's decoded UTF-8 content; pos_ at its opening quote.
  std::string string() {
    std::string s;
    read_string(s);
    return s;
  }
  /// Appends a string value in its canonical form, quotes included; pos_ at its opening quote.
  void quoted_string(std::string& out) {
    out += '"';
    read_string<true>(out);
    out += '"';
  }

  /// Appends a string's decoded UTF-8 content to `s`; pos_ at its opening quote. With `Escaped`, what
  /// an escape decodes to is appended as append_escaped writes it, so that the result is the string's
  /// canonical body in one pass: the rest (printable ASCII but '"' and '\\', UTF-8 sequences) is written
  /// as it comes either way, append_escaped leaving it alone.
  template <bool Escaped = false>
  void read_string(std::string& s) {
    ++pos_;
    for (;;) {
      // Printable ASCII other than '"' and '\\' stands for itself: taken a run at a time.
      const std::size_t run = pos_;
      while (pos_ < text_.size()) {
        const auto b = static_cast<unsigned char>(text_[pos_]);
        if (b < 0x20 || b >= 0x80 || b == '"' || b == '\\') break;
        ++pos_;
      }
      s.append(text_.data() + run, pos_ - run);
      if (at_end()) fail("unterminated string");
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return;
      }
      if (c < 0x20) fail("unescaped control character in a string");
      if (c == '\\') {
        ++pos_;
        const char e = peek();
        ++pos_;
        std::string decoded;  // one character: short enough to need no allocation
        switch (e) {
          case '"': decoded += '"'; break;
          case '\\': decoded += '\\'; break;
          case '/': decoded += '/'; break;
          case 'b': decoded += '\b'; break;
          case 'f': decoded += '\f'; break;
          case 'n': decoded += '\n'; break;
          case 'r': decoded += '\r'; break;
          case 't': decoded += '\t'; break;
          case 'u': {
            std::uint32_t cp = hex4();
            if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone low surrogate escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              if (text_.substr(pos_, 2) != "\\u") fail("lone high surrogate escape");
              pos_ += 2;
              const std::uint32_t lo = hex4();
              if (lo < 0xDC00 || lo > 0xDFFF) fail("high surrogate escape not followed by a low one");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            append_utf8(decoded, cp);
            break;
          }
          default: --pos_, fail("bad escape in a string");
        }
        if constexpr (Escaped) append_escaped(s, decoded);
        else s += decoded;
        continue;
      }
      if (c < 0x80) {
        s += static_cast<char>(c);
        ++pos_;
        continue;
      }
      // A UTF-8 sequence, checked as RFC 3629 defines it: no overlong forms, no surrogates, at most U+10FFFF.
      std::size_t len;
      std::uint32_t cp, min;
      if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1Fu, min = 0x80;
      else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0Fu, min = 0x800;
      else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07u, min = 0x10000;
      else fail("invalid UTF-8");
      if (pos_ + len > text_.size()) fail("truncated UTF-8 sequence");
      for (std::size_t k = 1; k < len; ++k) {
        const auto cc = static_cast<unsigned char>(text_[pos_ + k]);
        if ((cc & 0xC0) != 0x80) fail("invalid UTF-8");
        cp = (cp << 6) | (cc & 0x3Fu);
      }
      if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail("invalid UTF-8");
      s.append(text_.substr(pos_, len));
      pos_ += len;
    }
  }

  void number(std::string& out) {
    const std::size_t start = pos_;
    auto digits = [&] {
      const std::size_t from = pos_;
      while (!at_end() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      return pos_ - from;
    };
    if (peek() == '-') ++pos_;
    const std::size_t int_start = pos_;
    const std::size_t int_digits = digits();
    if (int_digits == 0) fail("a number needs digits");
    if (int_digits > 1 && text_[int_start] == '0') fail("leading zero in a number");
    std::size_t frac_start = pos_, frac_digits = 0;
    if (peek() == '.') {
      ++pos_;
      frac_start = pos_;
      frac_digits = digits();
      if (frac_digits == 0) fail("a fraction needs digits");
    }
    long long exp10 = 0;  // the written exponent, saturated: only its sign and size matter below
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      bool negative = false;
      if (peek() == '+' || peek() == '-') negative = text_[pos_++] == '-';
      const std::size_t exp_start = pos_;
      if (digits() == 0) fail("an exponent needs digits");
      for (std::size_t i = exp_start; i < pos_; ++i) exp10 = std::min(exp10 * 10 + (text_[i] - '0'), 1'000'000'000LL);
      if (negative) exp10 = -exp10;
    }
    const std::string_view token = text_.substr(start, pos_ - start);
    double x = 0;
    const auto r = std::from_chars(token.data(), token.data() + token.size(), x);
    if (r.ec == std::errc::result_out_of_range) {
      // Out of range either way: too large is refused, too small reads as 0 (JSON.parse does the same).
      // The decimal exponent of the first significant digit tells which.
      long long lead = -1;
      for (std::size_t i = int_start; i < int_start + int_digits && lead < 0; ++i)
        if (text_[i] != '0') lead = static_cast<long long>(int_start + int_digits - i) - 1;
      for (std::size_t i = frac_start; i < frac_start + frac_digits && lead < 0; ++i)
        if (text_[i] != '0') lead = -static_cast<long long>(i - frac_start) - 1;
      if (lead + exp10 >= 0) {
        pos_ = start;
        fail("number " + std::string(token.substr(0, 40)) + " is too large for a double");
      }
      x = 0;
    } else if (r.ec != std::errc{} || r.ptr != token.data() + token.size() || !std::isfinite(x)) {
      pos_ = start;
      fail("unreadable number");
    }
    append_ecmascript_number(out, x);
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

inline constexpr char lower_hex_digits[] = "0123456789abcdef";

}  // namespace detail

/// Appends the RFC 8785 canonical form of the JSON text `json` to `out`. Throws error(errc::bad_document)
/// naming the problem and its byte offset; `out` may then hold part of the form.
inline void append_canonical_json(std::string& out, std::string_view json) {
  detail::canonical_writer(json).run(out);
}

/// The RFC 8785 canonical form of `json`; see append_canonical_json.
[[nodiscard]] inline std::string canonical_json(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  append_canonical_json(out, json);
  return out;
}

/// SHA-256 of `bytes` (OpenSSL EVP). Throws error(errc::invalid_config) if libcrypto cannot compute it
/// (a FIPS provider without SHA-256, say).
[[nodiscard]] inline std::array<unsigned char, 32> sha256(std::string_view bytes) {
  std::array<unsigned char, 32> md{};
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, EVP_sha256(), nullptr) != 1 || len != md.size())
    throw error(errc::invalid_config, "sha256: OpenSSL's EVP_Digest failed");
  return md;
}

/// Lowercase hex of `bytes`.
[[nodiscard]] inline std::string to_hex(std::span<const unsigned char> bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const unsigned char b : bytes) {
    out += detail::lower_hex_digits[b >> 4];
    out += detail::lower_hex_digits[b & 0xF];
  }
  return out;
}

/// SHA-256 of `bytes` as 64 lowercase hex digits.
[[nodiscard]] inline std::string sha256_hex(std::string_view bytes) { return to_hex(sha256(bytes)); }

/// An item's canonical form and its hash, the id it is stored under.
struct canonical_item {
  std::string json;  ///< RFC 8785 canonical form
  std::string hash;  ///< SHA-256 of `json`, 64 lowercase hex digits
};

/// The canonical form of `json` and its SHA-256; throws as append_canonical_json.
[[nodiscard]] inline canonical_item canonicalize(std::string_view json) {
  canonical_item item{canonical_json(json), {}};
  item.hash = sha256_hex(item.json);
  return item;
}

/// The SHA-256 of the canonical form of `json`, as 64 lowercase hex digits.
[[nodiscard]] inline std::string canonical_hash(std::string_view json) { return canonicalize(json).hash; }

/// True when `s` is a hash as the API spells it: exactly 64 lowercase hex digits.
[[nodiscard]] inline bool is_canonical_hash(std::string_view s) noexcept {
  return s.size() == 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace tributary
