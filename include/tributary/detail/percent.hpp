#pragma once
// Percent-coding (RFC 3986, section 2.1), written once for every URL and query the engine reads or
// builds. Each caller states what it keeps unescaped and how it treats a malformed escape, so the
// same rules cannot drift apart between a store URL, a server's query string and a client's path.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tributary::detail {

/// RFC 3986 unreserved characters: what every URL component may carry unescaped.
inline constexpr std::string_view url_unreserved =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/// `s` with every byte not in `kept` written as %XX (upper-case hex, as RFC 3986 recommends).
/// Bytes of UTF-8 sequences are escaped one by one, never kept: `kept` is meant for ASCII.
[[nodiscard]] inline std::string percent_encode(std::string_view s, std::string_view kept = url_unreserved) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80 && kept.find(ch) != std::string_view::npos) {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

struct percent_decoding {
  /// '+' means a space, as in application/x-www-form-urlencoded query components; elsewhere it is itself.
  bool plus_as_space = false;
  /// A '%' not followed by two hex digits: by default the text is refused (nullopt); with this set the
  /// characters stay as sent, the lenient reading of a query string a server did not write.
  bool keep_malformed = false;
};

/// The bytes `s` percent-encodes (upper- or lower-case hex; %00 gives a NUL byte, which the caller
/// refuses where it must), or nullopt on a malformed escape unless `how.keep_malformed`.
[[nodiscard]] inline std::optional<std::string> percent_decode(std::string_view s, percent_decoding how = {}) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+' && how.plus_as_space) {
      out += ' ';
    } else if (s[i] != '%') {
      out += s[i];
    } else if (i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else if (how.keep_malformed) {
      out += '%';
    } else {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace tributary::detail
