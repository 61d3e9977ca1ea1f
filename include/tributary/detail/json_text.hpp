#pragma once
// Minimal JSON text helpers: escaping into a buffer and unescaping a JSON string body.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <tributary/error.hpp>

namespace tributary::detail {

/// Bytes a JSON parser may read past the end of a text (simdjson's SIMDJSON_PADDING): text handed to
/// document_parser with this much spare capacity is parsed where it is, without a padded copy.
inline constexpr std::size_t parse_padding = 64;

/// A copy of `text` with room for a parser's padding: what a store hands out, so that the reader parses
/// the text where it is (document_parser::parse_owned, peer_page_merger::take of an rvalue page).
[[nodiscard]] inline std::string padded_text(std::string_view text) {
  std::string out;
  out.reserve(text.size() + parse_padding);
  out.assign(text.data(), text.size());
  return out;
}

/// True when none of the 8 bytes in `w` needs escaping in a JSON string (control characters, '"'
/// and '\\'). Bytes of UTF-8 sequences (0x80 and up) pass.
[[nodiscard]] inline bool plain_json_word(std::uint64_t w) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
  const std::uint64_t control = (w - ones * 0x20) & ~w & high;  // some byte < 0x20
  const std::uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
  const std::uint64_t quote = (q - ones) & ~q & high, backslash = (b - ones) & ~b & high;
  return (control | quote | backslash) == 0;
}

/// Position of the first character of `s` at or after `from` that needs escaping, or s.size().
/// Scans a word at a time: most text needs no escape at all.
[[nodiscard]] inline std::size_t find_escape(std::string_view s, std::size_t from) noexcept {
  std::size_t i = from;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if (!plain_json_word(w)) break;
  }
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == '"' || c == '\\') return i;
  }
  return s.size();
}

/// Appends `s` to `out` as the body of a JSON string (no quotes), escaping what JSON requires.
inline void append_escaped(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::size_t run = 0;  // start of the current run of characters that need no escaping
  while (true) {
    const std::size_t i = find_escape(s, run);
    out.append(s.data() + run, i - run);
    if (i == s.size()) return;
    run = i + 1;
    const auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: {
        const char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
        out.append(u, 6);
      }
    }
  }
}

inline void append_quoted(std::string& out, std::string_view s) {
  out += '"';
  append_escaped(out, s);
  out += '"';
}

inline void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// Decodes the body of a JSON string (escapes resolved). Throws errc::bad_document on a bad escape.
[[nodiscard]] inline std::string unescape(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  auto hex4 = [&](std::size_t at) -> std::uint32_t {
    if (at + 4 > body.size()) throw error(errc::bad_document, "truncated \\u escape in JSON string");
    std::uint32_t v = 0;
    for (std::size_t k = at; k < at + 4; ++k) {
      const char h = body[k];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= static_cast<std::uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') v |= static_cast<std::uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') v |= static_cast<std::uint32_t>(h - 'A' + 10);
      else throw error(errc::bad_document, "bad \\u escape in JSON string");
    }
    return v;
  };
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\') {
      out += body[i];
      continue;
    }
    if (++i >= body.size()) throw error(errc::bad_document, "JSON string ends in a backslash");
    switch (body[i]) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        std::uint32_t cp = hex4(i + 1);
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < body.size() + 0 && body[i + 1] == '\\' && body[i + 2] == 'u') {
          const std::uint32_t lo = hex4(i + 3);
          if (lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          }
        }
        append_utf8(out, cp);
        break;
      }
      default: throw error(errc::bad_document, std::string("bad escape '\\") + body[i] + "' in JSON string");
    }
  }
  return out;
}

}  // namespace tributary::detail
