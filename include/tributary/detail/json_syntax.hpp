#pragma once
// A JSON grammar check (RFC 8259) that reads no number's value: for stores that keep numbers as
// decimal text (PostgreSQL's jsonb), where simdjson's refusal of integers beyond 64 bits and of doubles
// out of range would refuse documents the store takes.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::detail {

/// Bounds on a number's decimal form, as a store that keeps numbers as decimals has them.
struct decimal_limits {
  std::int64_t max_exponent;         // |exponent| as written, whatever the digits
  std::int64_t max_integer_digits;   // digits before the point from the first nonzero one, exponent applied
  std::int64_t max_fraction_digits;  // digits after the point as written (zeros count), exponent applied
};

/// Why `text` is not one JSON value (RFC 8259: whitespace, then a value, then whitespace), or nullopt.
/// Strings hold no control character, only the escapes of the grammar, and \u escapes that pair their
/// surrogates; numbers follow the grammar and stay within `limits`; nesting deeper than `max_depth` is
/// refused. UTF-8 validity of the bytes is the caller's check.
[[nodiscard]] inline std::optional<std::string> json_syntax_problem(std::string_view text, std::size_t max_depth,
                                                                    const decimal_limits& limits) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  auto at = [&](std::string what) { return what + " at byte " + std::to_string(i); };
  auto skip_space = [&] {
    while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
  };
  auto digits = [&] {
    const std::size_t from = i;
    while (i < n && text[i] >= '0' && text[i] <= '9') ++i;
    return static_cast<std::int64_t>(i - from);
  };
  auto hex4 = [&](std::uint32_t& v) {
    if (n - i < 4) return false;
    v = 0;
    for (std::size_t k = 0; k < 4; ++k, ++i) {
      const char h = text[i];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= static_cast<std::uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') v |= static_cast<std::uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') v |= static_cast<std::uint32_t>(h - 'A' + 10);
      else return false;
    }
    return true;
  };
  // After the opening quote; leaves i after the closing one.
  auto string = [&]() -> std::optional<std::string> {
    bool high_surrogate = false;  // the previous character was a \u escape of a high surrogate
    while (true) {
      if (i >= n) return at("unterminated string");
      const auto c = static_cast<unsigned char>(text[i]);
      if (c == '"' || c != '\\') {
        if (high_surrogate) return at("a high surrogate escape without its low surrogate");
        ++i;
        if (c == '"') return std::nullopt;
        if (c < 0x20) return at("a control character in a string");
        continue;
      }
      if (++i >= n) return at("unterminated string");
      const char e = text[i++];
      if (e == 'u') {
        std::uint32_t v = 0;
        if (!hex4(v)) return at("a \\u escape without four hex digits");
        const bool low = v >= 0xDC00 && v <= 0xDFFF;
        if (low != high_surrogate) return at(low ? "a low surrogate escape without its high surrogate"
                                                 : "a high surrogate escape without its low surrogate");
        high_surrogate = v >= 0xD800 && v <= 0xDBFF;
        continue;
      }
      if (high_surrogate) return at("a high surrogate escape without its low surrogate");
      if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't')
        return at("an unknown escape in a string");
    }
  };
  auto number = [&]() -> std::optional<std::string> {
    if (text[i] == '-') ++i;
    const std::size_t int_start = i;
    const std::int64_t int_digits = digits();
    if (int_digits == 0) return at("a number without digits");
    if (int_digits > 1 && text[int_start] == '0') return at("a number with a leading zero");
    const std::size_t int_end = i;
    std::int64_t fraction_digits = 0;
    if (i < n && text[i] == '.') {
      ++i;
      fraction_digits = digits();
      if (fraction_digits == 0) return at("a number without digits after its point");
    }
    // Digits before the point counted from the first nonzero one (0.001 has -2); none when all are zero.
    std::optional<std::int64_t> weight;
    for (std::size_t k = int_start; k < i && !weight; ++k) {
      if (text[k] == '.' || text[k] == '0') continue;
      weight = k < int_end ? static_cast<std::int64_t>(int_end - k) : -static_cast<std::int64_t>(k - int_end - 1);
    }
    std::int64_t exponent = 0;
    if (i < n && (text[i] == 'e' || text[i] == 'E')) {
      ++i;
      const bool negative = i < n && text[i] == '-';
      if (i < n && (text[i] == '+' || text[i] == '-')) ++i;
      const std::size_t exp_start = i;
      if (digits() == 0) return at("a number without digits in its exponent");
      for (std::size_t k = exp_start; k < i; ++k)  // saturates well past any limit
        exponent = exponent > (std::int64_t{1} << 40) ? exponent : exponent * 10 + (text[k] - '0');
      if (negative) exponent = -exponent;
    }
    if (exponent > limits.max_exponent || -exponent > limits.max_exponent) return at("a number's exponent too large");
    if (weight && *weight + exponent > limits.max_integer_digits) return at("a number too large");
    if (fraction_digits - exponent > limits.max_fraction_digits) return at("a number with too many digits after its point");
    return std::nullopt;
  };
  // A member's name and its colon, leaving i at its value.
  auto member_name = [&]() -> std::optional<std::string> {
    if (i >= n || text[i] != '"') return at("a member name expected");
    ++i;
    if (auto p = string()) return p;
    skip_space();
    if (i >= n || text[i] != ':') return at("':' expected");
    ++i;
    skip_space();
    return std::nullopt;
  };
  auto literal = [&](std::string_view word) {
    if (text.substr(i, word.size()) != word) return false;
    i += word.size();
    return true;
  };

  std::vector<char> open;  // the containers we are in: '{' or '['
  skip_space();
  while (true) {
    // A value.
    if (i >= n) return at("a value expected");
    const char c = text[i];
    if (c == '{' || c == '[') {
      if (open.size() >= max_depth) return at("nesting deeper than " + std::to_string(max_depth));
      open.push_back(c);
      ++i;
      skip_space();
      if (i < n && text[i] == (c == '{' ? '}' : ']')) {
        open.pop_back();
        ++i;
      } else {
        if (c == '{')
          if (auto p = member_name()) return p;
        continue;
      }
    } else if (c == '"') {
      ++i;
      if (auto p = string()) return p;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      if (auto p = number()) return p;
    } else if (!literal("true") && !literal("false") && !literal("null")) {
      return at("a value expected");
    }
    // After a value: close containers, or go on to the next element or member.
    while (true) {
      skip_space();
      if (open.empty()) {
        if (i != n) return at("text after the value");
        return std::nullopt;
      }
      if (i >= n) return at("unterminated " + std::string(open.back() == '{' ? "object" : "array"));
      const char close = open.back() == '{' ? '}' : ']';
      if (text[i] == close) {
        open.pop_back();
        ++i;
        continue;
      }
      if (text[i] != ',') return at(std::string("',' or '") + close + "' expected");
      ++i;
      skip_space();
      if (open.back() == '{')
        if (auto p = member_name()) return p;
      break;
    }
  }
}

}  // namespace tributary::detail
