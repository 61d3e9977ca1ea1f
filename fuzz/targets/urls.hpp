#pragma once
// URLs given on the command line and quoted in messages:
//   store_url   examples/collector/store_url.hpp (store_scheme_of), elasticsearch_options::from_url, and the
//               postgres URL helpers that do not connect (is_postgres_url, pg_take_schema_parameter,
//               pg_url_secrets, pg_parse_target: libpq's PQconninfoParse), and postgres_index::open_url
//               for URLs it refuses before connecting;
//   redact      redact_url and redact_urls_in (include/tributary/redact.hpp).
//
// Input: the whole input is tried as a URL (and as free text). When it has the form
//   SCHEME \n USER \n PASSWORD \n REST [\n TEXT]
// the target also builds `SCHEME://USER:PASSWORD@REST` and checks the property that matters: no message
// and no redacted form shows the password. A password can only be checked where it is one: it holds
// none of / ? # (which end the authority), nor white space in free text; and where the password is also
// part of the rest of the URL (or of a fixed message text) it cannot be told apart, so a message counts
// as showing it only when the same URL with another password of the same shape does not show it.
// redact_url and redact_urls_in are held to more: what they give must not depend on the password at all.

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/index/elasticsearch.hpp>
#include <tributary/index/postgres.hpp>
#include <tributary/redact.hpp>

#include "../../examples/collector/store_url.hpp"
#include "../harness.hpp"

namespace tributary::fuzz {

namespace url_detail {

/// The parts of an input of the form SCHEME\nUSER\nPASSWORD\nREST[\nTEXT], when it has that form.
struct url_parts {
  std::string scheme, user, password, rest, text;
  [[nodiscard]] std::string url() const { return scheme + "://" + user + ":" + password + "@" + rest; }
  [[nodiscard]] std::string url_with_password(const std::string& other) const {
    return scheme + "://" + user + ":" + other + "@" + rest;
  }
  /// What redact_url should give at best: the password hidden, all else as it was.
  [[nodiscard]] std::string ideal() const { return scheme + "://" + user + ":***@" + rest; }
};

inline std::optional<url_parts> parts_of(std::string_view input) {
  const auto lines = split(input, '\n');
  if (lines.size() < 4) return std::nullopt;
  url_parts p{std::string(lines[0]), std::string(lines[1]), std::string(lines[2]), std::string(lines[3]), {}};
  for (std::size_t i = 4; i < lines.size(); ++i) p.text += std::string(i > 4 ? "\n" : "") + std::string(lines[i]);
  if (p.scheme.empty() || detail::url_scheme_length(p.scheme + "://") != p.scheme.size()) return std::nullopt;
  if (p.password.empty() || p.password.find_first_of("/?#") != std::string::npos) return std::nullopt;
  if (p.user.find_first_of("/?#") != std::string::npos) return std::nullopt;
  // A password that "***" or the rest of the URL contains cannot be told from them.
  if (p.ideal().find(p.password) != std::string::npos) return std::nullopt;
  return p;
}

/// Another password of the same shape: each letter and digit replaced by another of its kind (a hex
/// digit by a hex digit, so %-escapes stay as valid or invalid as they were), the rest kept; so the same
/// URL with it takes the same paths through every parser. Equal to `password` when it has no letter or
/// digit, and then nothing can be told from comparing the two.
inline std::string other_password(const std::string& password) {
  std::string other = password;
  for (char& c : other) {
    if (c >= '0' && c <= '9') c = static_cast<char>('0' + (c - '0' + 1) % 10);
    else if (c >= 'a' && c <= 'f') c = static_cast<char>('a' + (c - 'a' + 1) % 6);
    else if (c >= 'A' && c <= 'F') c = static_cast<char>('A' + (c - 'A' + 1) % 6);
    else if (c >= 'g' && c <= 'z') c = static_cast<char>('g' + (c - 'g' + 1) % 20);
    else if (c >= 'G' && c <= 'Z') c = static_cast<char>('G' + (c - 'G' + 1) % 20);
  }
  return other;
}

/// Checks that `message_of(url)` does not show the password (see the top of this file).
template <class F>
void check_hidden(const url_parts& p, std::string_view what, F&& message_of) {
  const std::optional<std::string> m = message_of(p.url());
  if (!m || m->find(p.password) == std::string::npos) return;
  const std::optional<std::string> control = message_of(p.url_with_password(other_password(p.password)));
  if (control && control->find(p.password) != std::string::npos) return;  // the text holds it anyway
  finding(std::string(what) + " shows the password '" + p.password + "' of " + p.url() + ":\n" + *m);
}

/// Checks that `redacted(url)` does not depend on the password at all: the same for another password
/// (of the same length). Stronger than check_hidden, which a redaction that hides only a part of the
/// password passes: what redact_url and redact_urls_in give must say nothing about it.
template <class F>
void check_independent(const url_parts& p, std::string_view what, F&& redacted) {
  const std::string a = redacted(p.url());
  const std::string b = redacted(p.url_with_password(other_password(p.password)));
  if (a != b)
    finding(std::string(what) + " depends on the password '" + p.password + "' of " + p.url() + ":\n" + a +
            "\nwith another password:\n" + b);
}

/// The message of the tributary::error `f` throws, or nullopt.
template <class F>
std::optional<std::string> error_message(std::string_view where, F&& f) {
  if (auto e = expect_errors(where, std::forward<F>(f))) return std::string(e->what());
  return std::nullopt;
}

/// Whether `s` can be part of a URL in free text: white space and control characters end one there, and
/// no URL holds them unescaped. (Other characters that end a URL in text, such as | { } \ ^ " < >, can
/// be in a password as typed, and must not make it show.)
inline bool free_text_safe(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

}  // namespace url_detail

inline void store_url(std::string_view input) {
  using namespace url_detail;
  const std::string raw(input);

  // Any text: only tributary::error, and what is accepted is consistent.
  expect_errors("store_scheme_of", [&] { (void)examples::store_scheme_of(raw); });
  expect_errors("elasticsearch_options::from_url", [&] {
    const auto o = elasticsearch_options::from_url(raw);
    require(o.url.starts_with("http://") || o.url.starts_with("https://"), "from_url accepted '" + raw + "'");
    o.validate();
  });
  const bool postgres = postgres_index::is_postgres_url(raw);
  if (!postgres) expect_errors("postgres_index::open_url", [&] { (void)postgres_index::open_url(raw); });
  expect_errors("pg_url_secrets", [&] { (void)detail::pg_url_secrets(raw); });
  expect_errors("pg_take_schema_parameter", [&] {
    std::string url = raw;
    const auto schema = detail::pg_take_schema_parameter(url);
    require(url.size() <= raw.size(), "pg_take_schema_parameter made the URL longer");
    if (schema) {
      require(url.find("schema=") == std::string::npos || raw.find("schema=") != raw.rfind("schema="),
              "pg_take_schema_parameter left ?schema= in " + url);
      detail::validate_postgres_schema(*schema);
    }
  });
  if (raw.find('\0') == std::string::npos) {
    expect_errors("pg_parse_target", [&] {
      const auto target = detail::pg_parse_target(raw);
      if (!target.password.empty() && target.password.find('*') == std::string::npos)
        require(target.description.find(target.password) == std::string::npos,
                "pg_parse_target's description shows the password: " + target.description);
    });
  }

  // Built URLs: no message shows the password.
  const auto p = parts_of(input);
  if (!p || p->url().find('\0') != std::string::npos) return;
  check_hidden(*p, "store_scheme_of", [](const std::string& url) {
    return error_message("store_scheme_of", [&] { (void)examples::store_scheme_of(url); });
  });
  check_hidden(*p, "elasticsearch_options::from_url", [](const std::string& url) -> std::optional<std::string> {
    std::optional<elasticsearch_options> o;
    if (auto m = error_message("from_url", [&] { o = elasticsearch_options::from_url(url); })) return m;
    return o->url;  // what requests and messages use
  });
  check_hidden(*p, "pg_parse_target", [](const std::string& url) -> std::optional<std::string> {
    std::optional<detail::pg_target> t;
    if (auto m = error_message("pg_parse_target", [&] { t = detail::pg_parse_target(url); })) return m;
    return t->description;
  });
  if (!postgres_index::is_postgres_url(p->url()))
    check_hidden(*p, "postgres_index::open_url", [](const std::string& url) {
      return error_message("open_url", [&] { (void)postgres_index::open_url(url); });
    });
  check_hidden(*p, "pg_take_schema_parameter", [](const std::string& url) {
    return error_message("pg_take_schema_parameter", [&] {
      std::string u = url;
      (void)detail::pg_take_schema_parameter(u);
    });
  });
}

inline void redact(std::string_view input) {
  using namespace url_detail;
  const std::string raw(input);
  const std::string once = redact_url(raw);
  (void)redact_urls_in(raw);
  (void)detail::quote_url(raw);
  if (!detail::is_url(raw)) require(once == raw, "redact_url changed something that is not a URL");

  const auto p = parts_of(input);
  if (!p) return;
  check_independent(*p, "redact_url", [](const std::string& url) { return redact_url(url); });
  check_independent(*p, "quote_url", [](const std::string& url) { return detail::quote_url(url); });
  // In free text a URL ends at white space: a password holding some is not one.
  if (free_text_safe(p->user) && free_text_safe(p->password)) {
    const std::string text = p->text;
    check_independent(*p, "redact_urls_in", [&](const std::string& url) {
      return redact_urls_in(text + " " + url + " " + text);
    });
  }
}

}  // namespace tributary::fuzz
