#pragma once
// The server a PostgreSQL store URL names, and the secrets in it: errors name the server as
// postgres://user@host:port/dbname (pg_parse_target), and every message libpq gives is scrubbed of the
// URL's password and secret parameters, as written and as libpq read them, before anyone sees it.
// Also tributary's own `schema` URL parameter and the check of a schema name.

#include <libpq-fe.h>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tributary/error.hpp>
#include <tributary/redact.hpp>

namespace tributary::detail {

/// A libpq message without the line end it carries.
[[nodiscard]] inline std::string pg_trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

/// Replaces every occurrence of `secret` in `text`.
[[nodiscard]] inline std::string pg_scrub(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) text.replace(at, secret.size(), "***");
  return text;
}

/// The secrets a connection string carries as written, found without libpq: a URL's userinfo password
/// and the values of parameters redact_url hides, or the values of secret-named keywords of libpq's
/// `host=h password=x` form. libpq's parse errors quote the URL (redact_urls_in handles that) or a
/// malformed part of it alone, such as `"q%zzsecret"`, which only scrubbing these catches.
[[nodiscard]] inline std::vector<std::string> pg_url_secrets(std::string_view url) {
  std::vector<std::string> out;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    // keyword = value ..., a value plain or in single quotes.
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    std::size_t i = 0;
    while (i < url.size()) {
      while (i < url.size() && space(url[i])) ++i;
      const auto key_begin = i;
      while (i < url.size() && url[i] != '=' && !space(url[i])) ++i;
      const auto key = url.substr(key_begin, i - key_begin);
      while (i < url.size() && space(url[i])) ++i;
      if (i >= url.size() || url[i] != '=') continue;
      ++i;
      while (i < url.size() && space(url[i])) ++i;
      std::string_view value;
      if (i < url.size() && url[i] == '\'') {
        const auto value_begin = ++i;
        for (; i < url.size() && url[i] != '\''; ++i)
          if (url[i] == '\\') ++i;
        i = std::min(i, url.size());
        value = url.substr(value_begin, i - value_begin);
        if (i < url.size()) ++i;
      } else {
        const auto value_begin = i;
        while (i < url.size() && !space(url[i])) ++i;
        value = url.substr(value_begin, i - value_begin);
      }
      if (!value.empty() && secret_parameter(key)) out.emplace_back(value);
    }
    return out;
  }
  const auto rest = url.substr(scheme_end + 3);
  const auto authority = rest.substr(0, rest.find_first_of("/?"));
  // The user info ends at the last @ of the authority, libpq's at the first @ before any /: when the
  // password libpq reads (and may quote in an error) is another, it is a secret too (the longer first).
  const auto libpq_authority = rest.substr(0, rest.find('/'));
  std::vector<std::string_view> userinfos;
  const auto rfc_at = authority.rfind('@'), libpq_at = libpq_authority.find('@');
  if (rfc_at != std::string_view::npos) userinfos.push_back(authority.substr(0, rfc_at));
  if (libpq_at != std::string_view::npos) userinfos.push_back(libpq_authority.substr(0, libpq_at));
  if (userinfos.size() == 2 && userinfos[1].size() > userinfos[0].size()) std::swap(userinfos[0], userinfos[1]);
  for (const auto userinfo : userinfos)
    if (const auto colon = userinfo.find(':'); colon != std::string_view::npos && colon + 1 < userinfo.size())
      if (out.empty() || out.back() != userinfo.substr(colon + 1)) out.emplace_back(userinfo.substr(colon + 1));
  // What lies between libpq's @ and the last one is the end of the password as written (me:p@ss@db), and
  // libpq reads it as the host, which its connection errors quote; after a colon in it (after the ] of
  // an IPv6 address) as the port, which libpq reads on past the last @ to the next / ? or , and quotes
  // whole in its parse errors ("invalid percent-encoded token").
  if (rfc_at != std::string_view::npos && libpq_at < rfc_at && rfc_at - libpq_at > 1) {
    const auto between = authority.substr(libpq_at + 1, rfc_at - libpq_at - 1);
    out.emplace_back(between);
    const auto host = libpq_authority.substr(libpq_at + 1);
    const auto bracket = host.starts_with('[') ? host.find(']') : std::string_view::size_type{0};
    const auto colon = bracket == std::string_view::npos ? bracket : host.find(':', bracket);
    if (colon != std::string_view::npos && colon + 1 < between.size())
      out.emplace_back(host.substr(colon + 1, host.find_first_of("/?,", colon + 1) - (colon + 1)));
  }
  const auto query = rest.find('?');
  for (auto params = query == std::string_view::npos ? std::string_view() : rest.substr(query + 1); !params.empty();) {
    const auto amp = params.find('&');
    const auto pair = params.substr(0, amp);
    params = amp == std::string_view::npos ? std::string_view() : params.substr(amp + 1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && eq + 1 < pair.size() && secret_parameter(pair.substr(0, eq)))
      out.emplace_back(pair.substr(eq + 1));
  }
  return out;
}

/// Takes tributary's own `schema` query parameter out of a postgres:// URL (libpq refuses parameters it
/// does not know) and returns its value, or nullopt when the URL has none. The other parameters stay,
/// in order. One URL then names everything a collector needs, also for a peer's store.
[[nodiscard]] inline std::optional<std::string> pg_take_schema_parameter(std::string& url) {
  const auto query = url.find('?');
  if (query == std::string::npos || url.find("://") == std::string::npos) return std::nullopt;
  std::optional<std::string> schema;
  std::string kept;
  std::string_view rest = std::string_view(url).substr(query + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.starts_with("schema=")) {
      if (schema)
        throw error(errc::invalid_config, "postgres store URL names the schema twice (?schema=" + *schema + " and " +
                                              std::string(pair) + ")");
      schema = std::string(pair.substr(7));
    } else if (!pair.empty()) {
      kept += kept.empty() ? "" : "&";
      kept += pair;
    }
  }
  if (schema) url = url.substr(0, kept.empty() ? query : query + 1) + kept;
  return schema;
}

/// libpq's parse errors quote the input or a piece of it, cut where libpq stopped reading: "missing "="
/// after "..."" ends its token at white space, so the piece can hold the beginning of a secret that no
/// scrub of the whole secret finds. Each piece the message quotes is found in the input (the longest
/// match that ends before a quote of the message) and shown with every byte of a secret in it masked,
/// wherever in the input it lies; the rest of the message is left as it is.
[[nodiscard]] inline std::string pg_mask_quoted_input(std::string_view message, std::string_view input,
                                                      const std::vector<std::string>& secrets) {
  std::vector<bool> secret(input.size(), false);
  for (const auto& s : secrets)
    if (!s.empty())
      for (auto at = input.find(s); at != std::string_view::npos; at = input.find(s, at + 1))
        std::fill_n(secret.begin() + static_cast<std::ptrdiff_t>(at), s.size(), true);
  std::string out;
  std::size_t i = 0;
  while (i < message.size()) {
    out += message[i];
    if (message[i++] != '"') continue;
    std::size_t piece = 0;
    for (std::size_t j = 0; j < input.size(); ++j) {
      std::size_t n = 0;
      while (i + n < message.size() && j + n < input.size() && message[i + n] == input[j + n]) ++n;
      while (n > piece && (i + n >= message.size() || message[i + n] != '"')) --n;
      piece = std::max(piece, n);
    }
    if (piece == 0) continue;
    const auto text = message.substr(i, piece);
    std::vector<bool> hide(piece, false);
    for (auto at = input.find(text); at != std::string_view::npos; at = input.find(text, at + 1))
      for (std::size_t k = 0; k < piece; ++k) hide[k] = hide[k] || secret[at + k];
    for (std::size_t k = 0; k < piece; ++k) {
      if (!hide[k]) out += text[k];
      else if (k == 0 || !hide[k - 1]) out += "***";
    }
    i += piece;
  }
  return out;
}

/// Whether libpq reads a URL's user info up to another @ than RFC 3986 does (the first before any /, not
/// the last of the authority).
[[nodiscard]] inline bool pg_userinfo_ambiguous(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return false;
  const auto rest = url.substr(scheme_end + 3);
  const auto authority = rest.substr(0, rest.find_first_of("/?"));
  return authority.rfind('@') != rest.substr(0, rest.find('/')).find('@');
}

/// What errors call the server: postgres://user@host:port/dbname, from libpq's own parse of the URL.
struct pg_target {
  std::string description;
  std::string password;  // to scrub from messages; empty when none was given
  /// The secrets the URL carries as written (pg_url_secrets). Where libpq reads the URL otherwise (an @
  /// in the user name, as in user@server:password@host), the password it was meant to be is among them.
  std::vector<std::string> url_secrets;
  /// `text` with every secret of the URL scrubbed.
  [[nodiscard]] std::string scrub(std::string text) const {
    for (const auto& secret : url_secrets) text = pg_scrub(std::move(text), secret);
    return pg_scrub(std::move(text), password);
  }
};

[[nodiscard]] inline pg_target pg_parse_target(const std::string& url) {
  pg_target t;
  char* message = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &message);
  if (options == nullptr) {
    std::string why = message != nullptr ? pg_trim(message) : "out of memory";
    PQfreemem(message);
    // A URL is quoted redacted; libpq's keyword form, which redact_url leaves alone, not at all. The
    // secrets go first: redact_urls_in ends a URL at a space or control character, so it would leave in
    // sight the rest of a password after one (or after one in the user name).
    if (!is_url(url)) why = pg_scrub(std::move(why), url);
    const auto secrets = pg_url_secrets(url);
    why = pg_mask_quoted_input(why, url, secrets);
    for (const auto& secret : secrets) why = pg_scrub(std::move(why), secret);
    if (is_url(url)) why = redact_urls_in(why);
    throw error(errc::invalid_config, "postgres store URL is malformed: " + why);
  }
  std::map<std::string, std::string, std::less<>> found;
  for (auto* o = options; o->keyword != nullptr; ++o)
    if (o->val != nullptr) found[o->keyword] = o->val;
  PQconninfoFree(options);
  if (auto it = found.find("password"); it != found.end()) t.password = it->second;
  auto get = [&](std::string_view key) { auto it = found.find(key); return it == found.end() ? std::string() : it->second; };
  const auto user = get("user"), host = get("host"), port = get("port"), dbname = get("dbname");
  t.description = "postgres://" + (user.empty() ? std::string() : user + "@") + host +
                  (port.empty() ? std::string() : ":" + port) + "/" + dbname;
  // With an @ in the user info as written, libpq's user, password and host are other than the URL's
  // (me:p@ss@db: password "p", host "ss@db"), and a description built from them would show the rest of
  // the password: the URL as written is described instead, redacted.
  if (pg_userinfo_ambiguous(url)) t.description = redact_url(url);
  t.url_secrets = pg_url_secrets(url);
  t.description = t.scrub(std::move(t.description));
  return t;
}

inline void validate_postgres_schema(std::string_view schema) {
  const bool ok = !schema.empty() && schema.size() <= 63 && !(schema.front() >= '0' && schema.front() <= '9') &&
                  !schema.starts_with("pg_") &&
                  std::all_of(schema.begin(), schema.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                  });
  if (!ok)
    throw error(errc::invalid_config, "postgres schema name '" + std::string(schema) +
                                          "' is not valid: use [a-z_][a-z0-9_]*, at most 63 bytes, not starting with pg_");
}

}  // namespace tributary::detail
