#pragma once
// redact_url, redact_urls_in: the one way a URL is shown in a message (errors, warnings, reports, logs),
// so that credentials given in a URL option never reach stderr or a report.
//
//   redact_url("https://collector:s3cret@search.internal:9200/x?token=abc&q=1")
//     == "https://collector:***@search.internal:9200/x?token=***&q=1"
//   redact_urls_in("GET http://u:pw@ss:8443/listClients: Couldn't connect")
//     == "GET http://u:***@ss:8443/listClients: Couldn't connect"
//
// What is hidden: the password of the userinfo (the user stays: it names who connected), and the value
// of every query or fragment parameter whose name suggests a secret (see detail::secret_parameter).
// Hosts, ports and paths stay, so a message still says where. A libpq keyword string
// ("host=h password=x") is not a URL: callers that may hold one scrub it themselves.

#include <cstddef>
#include <string>
#include <string_view>

namespace tributary {

[[nodiscard]] inline std::string redact_urls_in(std::string_view text);

namespace detail {

inline constexpr std::string_view redacted_secret = "***";

[[nodiscard]] constexpr bool url_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
[[nodiscard]] constexpr bool url_digit(char c) noexcept { return c >= '0' && c <= '9'; }
[[nodiscard]] constexpr bool url_scheme_char(char c) noexcept {
  return url_alpha(c) || url_digit(c) || c == '+' || c == '-' || c == '.';
}
[[nodiscard]] constexpr bool url_upper(char c) noexcept { return c >= 'A' && c <= 'Z'; }
[[nodiscard]] constexpr char url_lower(char c) noexcept { return url_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

/// The length of `url`'s scheme when it starts `scheme://` (a letter, then letters, digits, + - .); else 0.
[[nodiscard]] constexpr std::size_t url_scheme_length(std::string_view url) noexcept {
  if (url.empty() || !url_alpha(url[0])) return 0;
  std::size_t i = 1;
  while (i < url.size() && url_scheme_char(url[i])) ++i;
  return url.substr(i, 3) == "://" ? i : 0;
}

/// Whether `text` is `scheme://...`, which redact_url redacts; anything else it returns unchanged.
[[nodiscard]] constexpr bool is_url(std::string_view text) noexcept { return url_scheme_length(text) != 0; }

/// Whether a parameter named `name` carries a secret. Names are split into words at `_`, `-`, `.` and
/// lower-to-upper case changes (accessToken, X-Api-Key); a word token, key, pwd, apikey, auth, sig or
/// signature, or password, passwd or secret anywhere in the name, marks a secret. So `sslpassword`,
/// `client_secret`, `refresh_token` and `X-Amz-Signature` are hidden, while `keyword`, `monkey`,
/// `tokenizer` and libpq's `sslkey` (a file name) are not.
[[nodiscard]] inline bool secret_parameter(std::string_view name) {
  std::string lowered;
  for (char c : name) lowered += url_lower(c);
  for (std::string_view part : {"password", "passwd", "secret"})
    if (lowered.find(part) != std::string::npos) return true;
  auto secret_word = [](std::string_view w) {
    for (std::string_view s : {"token", "key", "pwd", "apikey", "auth", "sig", "signature"})
      if (w == s) return true;
    return false;
  };
  std::string word;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    const bool end = i == name.size();
    const bool separator = !end && (name[i] == '_' || name[i] == '-' || name[i] == '.');
    const bool camel = !end && i > 0 && url_upper(name[i]) && !url_upper(name[i - 1]) && !separator &&
                       name[i - 1] != '_' && name[i - 1] != '-' && name[i - 1] != '.';
    if (end || separator || camel) {
      if (secret_word(word)) return true;
      word.clear();
    }
    if (!end && !separator) word += url_lower(name[i]);
  }
  return false;
}

/// `name=value&...` with every secret value hidden; other values may hold URLs of their own.
[[nodiscard]] inline std::string redact_parameters(std::string_view params) {
  std::string out;
  out.reserve(params.size());
  while (true) {
    const auto amp = params.find('&');
    const auto pair = params.substr(0, amp);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && eq + 1 < pair.size() && secret_parameter(pair.substr(0, eq))) {
      out += pair.substr(0, eq + 1);
      out += redacted_secret;
    } else {
      out += redact_urls_in(pair);
    }
    if (amp == std::string_view::npos) return out;
    out += '&';
    params.remove_prefix(amp + 1);
  }
}

/// Whether `hostport` ends in a valid port or none: `host`, `host:8080`, `[::1]:8080`, `[::1`, `h1:1,h2:2`.
[[nodiscard]] inline bool plausible_host_port(std::string_view hostport) {
  std::string_view port;
  if (!hostport.empty() && hostport.front() == '[') {
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) return true;  // unclosed: malformed, but nothing in it is a password
    const auto after = hostport.substr(close + 1);
    if (after.empty()) return true;
    if (after.front() != ':') return false;
    port = after.substr(1);
  } else {
    const auto colon = hostport.rfind(':');
    if (colon == std::string_view::npos) return true;
    port = hostport.substr(colon + 1);
  }
  for (char c : port)
    if (!url_digit(c)) return false;
  return true;
}

/// Where a URL that starts inside free text ends: at white space, a control character, or a character
/// that cannot be part of a URL and delimits one in messages and JSON.
[[nodiscard]] constexpr bool url_terminator(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f || c == '"' || c == '<' || c == '>' || c == '`' || c == '{' || c == '}' ||
         c == '|' || c == '\\' || c == '^';
}

/// Punctuation that ends a sentence or closes a quote around a URL rather than belonging to it.
[[nodiscard]] constexpr bool url_trailing_punctuation(char c) noexcept {
  return c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?' || c == ')' || c == ']' || c == '\'';
}

}  // namespace detail

/// `url` with the userinfo's password and the values of secret-named query and fragment parameters
/// replaced by `***`; anything that is not `scheme://...` comes back unchanged.
[[nodiscard]] inline std::string redact_url(std::string_view url) {
  using namespace detail;
  const std::size_t scheme = url_scheme_length(url);
  if (scheme == 0) return std::string(url);
  const std::size_t authority_begin = scheme + 3;
  std::size_t authority_end = url.find_first_of("/?#", authority_begin);
  if (authority_end == std::string_view::npos) authority_end = url.size();

  std::string out(url.substr(0, authority_begin));
  const std::string_view authority = url.substr(authority_begin, authority_end - authority_begin);
  std::string_view userinfo;
  std::size_t host_begin = authority_begin;  // in url
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    userinfo = authority.substr(0, at);
    host_begin = authority_begin + at + 1;
  } else if (!plausible_host_port(authority)) {
    // Not a host and port: most likely a password with an unescaped / ? or #. Its userinfo then ends
    // at the next @; with none, everything after the first colon is hidden.
    const auto at_later = url.find('@', authority_end);
    const auto colon = authority.find(':');
    if (at_later == std::string_view::npos) {
      out += authority.substr(0, colon + 1);
      out += redacted_secret;
      return out;
    }
    userinfo = url.substr(authority_begin, at_later - authority_begin);
    host_begin = at_later + 1;
    authority_end = url.find_first_of("/?#", host_begin);
    if (authority_end == std::string_view::npos) authority_end = url.size();
  }
  if (host_begin != authority_begin) {
    const auto colon = userinfo.find(':');
    if (colon != std::string_view::npos && colon + 1 < userinfo.size()) {
      out += userinfo.substr(0, colon + 1);
      out += redacted_secret;
    } else {
      out += userinfo;
    }
    out += '@';
  }
  out += url.substr(host_begin, authority_end - host_begin);

  // Path, then query, then fragment; the parameters of both of the latter are looked at.
  std::string_view rest = url.substr(authority_end);
  const auto hash = rest.find('#');
  const auto query = rest.substr(0, hash).find('?');
  out += redact_urls_in(rest.substr(0, query == std::string_view::npos ? hash : query));
  if (query != std::string_view::npos) {
    out += '?';
    out += redact_parameters(rest.substr(query + 1, hash == std::string_view::npos ? std::string_view::npos : hash - query - 1));
  }
  if (hash != std::string_view::npos) {
    out += '#';
    out += redact_parameters(rest.substr(hash + 1));
  }
  return out;
}

namespace detail {
/// How a message quotes a value that should be a URL: redacted, in single quotes. A value that is not
/// a URL and may hold a password (an @ or =, as in `user:pw@host` or libpq's `host=h password=x`, or
/// `://` after something that is no scheme) is not quoted at all.
[[nodiscard]] inline std::string quote_url(std::string_view value) {
  if (is_url(value) || (value.find_first_of("@=") == std::string_view::npos && value.find("://") == std::string_view::npos))
    return "'" + redact_url(value) + "'";
  return "(not shown: not a URL, and it may hold a password)";
}
}  // namespace detail

/// `text` with every `scheme://...` in it passed through redact_url; the rest unchanged. A URL ends at
/// white space, a quote, `<`, `>` or the like; trailing `.,;:!?)]'` are taken as punctuation around it.
[[nodiscard]] inline std::string redact_urls_in(std::string_view text) {
  using namespace detail;
  std::string out;
  std::size_t copied = 0;  // text[0, copied) is in out
  std::size_t search = 0;
  while (true) {
    const auto sep = text.find("://", search);
    if (sep == std::string_view::npos) break;
    std::size_t begin = sep;
    while (begin > copied && url_scheme_char(text[begin - 1])) --begin;
    while (begin < sep && !url_alpha(text[begin])) ++begin;  // a scheme starts with a letter
    if (begin == sep) {
      search = sep + 3;
      continue;
    }
    std::size_t end = sep + 3;
    // A password as typed may hold a character that ends a URL in text (" < > ` { } | \ ^): while the
    // authority is not over, an @ before the next white space means that the user info goes on to it.
    for (std::size_t authority_checked = end;;) {
      while (end < text.size() && !url_terminator(text[end])) ++end;
      if (text.substr(authority_checked, end - authority_checked).find_first_of("/?#") != std::string_view::npos) break;
      authority_checked = end;
      std::size_t at = end;
      while (at < text.size() && text[at] != '@' && static_cast<unsigned char>(text[at]) > 0x20 && text[at] != 0x7f) ++at;
      if (at == text.size() || text[at] != '@') break;
      end = at + 1;
    }
    while (end > sep + 3 && url_trailing_punctuation(text[end - 1])) --end;
    out += text.substr(copied, begin - copied);
    out += redact_url(text.substr(begin, end - begin));
    copied = search = end;
  }
  if (copied == 0) return std::string(text);
  out += text.substr(copied);
  return out;
}

}  // namespace tributary
