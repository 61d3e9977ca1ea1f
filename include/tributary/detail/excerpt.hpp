#pragma once
// Text from elsewhere (a value a client sent, the body of a server's error answer) shortened for a
// message or a log line.

#include <cstddef>
#include <string>
#include <string_view>

namespace tributary::detail {

/// At most `max` bytes of `s` (and "..." when something was left out): whole UTF-8 characters only,
/// each byte that is not part of one replaced by U+FFFD, so that the message stays valid UTF-8 (and
/// valid JSON once quoted) whatever was sent. `one_line`: each run of control characters (an HTML
/// page's line breaks and indentation) becomes one space, so that a log line stays one line.
[[nodiscard]] inline std::string excerpt(std::string_view s, std::size_t max = 64, bool one_line = false) {
  std::string out;
  std::size_t i = 0;
  auto cont = [&](std::size_t k) { return k < s.size() && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80; };
  auto control = [&](std::size_t k) {
    const auto c = static_cast<unsigned char>(s[k]);
    return c < 0x20 || c == 0x7F;
  };
  while (i < s.size()) {
    if (one_line && control(i)) {
      while (i < s.size() && control(i)) ++i;
      if (out.size() + 1 > max) return out.append("...");
      if (!out.empty() && i < s.size()) out += ' ';
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    const auto next = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0;
    std::size_t n = 0;  // the length of a valid character starting here, 0 if none
    if (c < 0x80) n = 1;
    else if (c >= 0xC2 && c <= 0xDF && cont(i + 1)) n = 2;
    else if (c >= 0xE0 && c <= 0xEF && cont(i + 1) && cont(i + 2) && !(c == 0xE0 && next < 0xA0) && !(c == 0xED && next >= 0xA0)) n = 3;
    else if (c >= 0xF0 && c <= 0xF4 && cont(i + 1) && cont(i + 2) && cont(i + 3) && !(c == 0xF0 && next < 0x90) &&
             !(c == 0xF4 && next >= 0x90)) n = 4;
    const std::size_t add = n ? n : 3;
    if (out.size() + add > max) return out.append("...");
    if (n) out.append(s.substr(i, n));
    else out += "\xEF\xBF\xBD";
    i += n ? n : 1;
  }
  return out;
}

}  // namespace tributary::detail
