#pragma once
// A platform's settings, declared once at compile time; parsing, validation, defaults, the schema that
// GET /platforms/get answers and the redacted echo all come from that one declaration.
//
//   struct storage_target {
//     using settings_concept = jobs::settings_tag;
//     std::string hostname;
//     std::int64_t port = 0;
//     jobs::secret password;
//     static constexpr auto settings() {
//       return std::tuple{jobs::setting("hostname", &storage_target::hostname),
//                         jobs::setting("port", &storage_target::port).between(1, 65535).defaults_to(3306),
//                         jobs::setting("password", &storage_target::password)};
//     }
//   };
//   struct report_settings {
//     using settings_concept = jobs::settings_tag;
//     jobs::date start_date, end_date;
//     std::string format;
//     storage_target storage;
//     static constexpr auto settings() {
//       return std::tuple{jobs::setting("start_date", &report_settings::start_date).describe("first day"),
//                         jobs::setting("end_date", &report_settings::end_date).defaults_to("yesterday"),
//                         jobs::enumeration("format", &report_settings::format, {"csv", "json"}),
//                         jobs::setting("storage", &report_settings::storage)};
//     }
//   };
//   const auto s = jobs::parse_settings<report_settings>(body, clock.now());   // or settings_error
//
// Why our own declaration rather than Boost.Describe: Debian 12 ships Boost 1.74 and Describe came in
// 1.77; a tuple of member pointers with their metadata is plain C++20, carries what Describe cannot
// (defaults, bounds, the values of an enumeration, descriptions), and costs a consumer nothing.
// settings() is a static member function rather than a static data member so that its body is a
// complete-class context.
//
// The kind of a setting follows from its member's type: std::string (string, or enumeration when
// declared with jobs::enumeration), an integral type (integer), double (number), bool (boolean),
// jobs::date, jobs::secret, or a struct that opts in with settings_tag (a nested object). A setting is
// required unless it has a default or is declared .optional() (then the member keeps its initial value).
//
// Validation is complete: every missing, mistyped, out-of-range or unknown setting is named, with why,
// in one settings_error, at any depth ("storage.port: must be an integer between 1 and 65535"). A
// secret's value is never part of a message, a schema or an echo (it is shown as "***").
//
// Dates: "YYYY-MM-DD", or relative: "today", "yesterday", "N days back", "N weeks back" (N a whole
// number; "1 day back" too), resolved against the time given to parse_settings (the caller's clock,
// so tests run in virtual time). The echo keeps what was written, so a job stored with "yesterday" and
// parsed again when it runs means the day before the run.

#include <array>
#include <charconv>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <simdjson.h>

#include <tributary/detail/excerpt.hpp>
#include <tributary/detail/json_text.hpp>
#include <tributary/detail/opt_in.hpp>
#include <tributary/error.hpp>

namespace tributary::jobs {

struct settings_tag {};

/// A secret setting's value. It has no output operator and no conversion: reading it is explicit.
class secret {
 public:
  secret() = default;
  explicit secret(std::string value) : value_(std::move(value)) {}
  [[nodiscard]] const std::string& reveal() const noexcept { return value_; }
  [[nodiscard]] bool empty() const noexcept { return value_.empty(); }

 private:
  std::string value_;
};

/// A date setting: the day it resolved to, and what was written (kept for the echo).
struct date {
  std::chrono::sys_days day{};
  std::string spec;
};

/// SettingsStruct: a struct of settings.
///   using settings_concept = jobs::settings_tag;
///   static constexpr auto settings()   a std::tuple of jobs::setting(...) / jobs::enumeration(...)
template <class T>
concept settings_struct = tributary::detail::opts_in<T, settings_tag, typename T::settings_concept> &&
  std::is_default_constructible_v<T> && requires { T::settings(); };

enum class setting_kind { string, integer, number, boolean, enumeration, date, secret, object };

[[nodiscard]] constexpr std::string_view to_string(setting_kind k) noexcept {
  switch (k) {
    case setting_kind::string: return "string";
    case setting_kind::integer: return "integer";
    case setting_kind::number: return "number";
    case setting_kind::boolean: return "boolean";
    case setting_kind::enumeration: return "enumeration";
    case setting_kind::date: return "date";
    case setting_kind::secret: return "secret";
    case setting_kind::object: return "object";
  }
  return "unknown";
}

namespace detail {
template <class M>
inline constexpr bool integer_member = std::integral<M> && !std::same_as<M, bool>;

template <class M>
consteval setting_kind kind_of() {
  if constexpr (std::same_as<M, std::string>) return setting_kind::string;
  else if constexpr (std::same_as<M, bool>) return setting_kind::boolean;
  else if constexpr (integer_member<M>) return setting_kind::integer;
  else if constexpr (std::same_as<M, double>) return setting_kind::number;
  else if constexpr (std::same_as<M, date>) return setting_kind::date;
  else if constexpr (std::same_as<M, secret>) return setting_kind::secret;
  else if constexpr (settings_struct<M>) return setting_kind::object;
  else static_assert(sizeof(M) == 0, "jobs::setting: the member must be std::string, an integer, double, bool, "
                                     "jobs::date, jobs::secret or a settings_struct (see jobs/settings.hpp)");
}

/// What a default is written as: text for strings and dates, the value for numbers; none for secrets
/// and objects (a secret with a default would be a secret in the source code).
template <class M>
using default_of = std::conditional_t<
  std::same_as<M, std::string> || std::same_as<M, date>, std::string_view,
  std::conditional_t<std::same_as<M, bool>, bool,
    std::conditional_t<integer_member<M>, std::int64_t, std::conditional_t<std::same_as<M, double>, double, std::monostate>>>>;
}  // namespace detail

/// One setting: its name, the member it fills and what is known about it. Built by jobs::setting() and
/// jobs::enumeration(), refined with the constexpr modifiers below.
template <class T, class M, std::size_t N = 0>
struct setting_decl {
  using owner_type = T;
  using member_type = M;
  static constexpr setting_kind kind = N > 0 ? setting_kind::enumeration : detail::kind_of<M>();

  std::string_view name;
  M T::*member;
  std::array<std::string_view, N> choices{};
  std::string_view description{};
  bool required = true;
  bool has_default = false;
  detail::default_of<M> fallback{};
  std::int64_t minimum = std::numeric_limits<std::int64_t>::min();
  std::int64_t maximum = std::numeric_limits<std::int64_t>::max();

  [[nodiscard]] constexpr setting_decl describe(std::string_view text) const {
    auto s = *this;
    s.description = text;
    return s;
  }
  [[nodiscard]] constexpr setting_decl defaults_to(detail::default_of<M> value) const
    requires(!std::same_as<detail::default_of<M>, std::monostate>)
  {
    auto s = *this;
    s.fallback = value;
    s.has_default = true;
    s.required = false;
    return s;
  }
  [[nodiscard]] constexpr setting_decl optional() const {
    auto s = *this;
    s.required = false;
    return s;
  }
  [[nodiscard]] constexpr setting_decl between(std::int64_t lo, std::int64_t hi) const
    requires detail::integer_member<M>
  {
    auto s = *this;
    s.minimum = lo;
    s.maximum = hi;
    return s;
  }
};

template <class T, class M>
[[nodiscard]] constexpr setting_decl<T, M> setting(std::string_view name, M T::*member) {
  return {name, member};
}

/// A string setting that must be one of `choices`.
template <class T, std::size_t N>
[[nodiscard]] constexpr setting_decl<T, std::string, N> enumeration(std::string_view name, std::string T::*member,
                                                                    const std::string_view (&choices)[N]) {
  setting_decl<T, std::string, N> s{name, member};
  for (std::size_t i = 0; i < N; ++i) s.choices[i] = choices[i];
  return s;
}

/// One problem with the settings: where ("storage.port") and why.
struct setting_problem {
  std::string setting;
  std::string problem;
};

/// Every problem found in one set of settings. what(): all of them, "; "-separated.
class settings_error : public error {
 public:
  explicit settings_error(std::vector<setting_problem> problems)
      : error(errc::invalid_config, describe(problems)), problems_(std::move(problems)) {}
  [[nodiscard]] const std::vector<setting_problem>& problems() const noexcept { return problems_; }

 private:
  static std::string describe(const std::vector<setting_problem>& problems) {
    std::string out = "invalid settings: ";
    for (std::size_t i = 0; i < problems.size(); ++i) out += (i ? "; " : "") + problems[i].setting + ": " + problems[i].problem;
    return out;
  }
  std::vector<setting_problem> problems_;
};

/// "2024-03-01": the ISO form of a day.
[[nodiscard]] inline std::string iso_date(std::chrono::sys_days day) {
  const std::chrono::year_month_day ymd{day};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

/// The day `spec` means at `now` (UTC); nullopt when it is not one of the forms in the header comment.
[[nodiscard]] inline std::optional<std::chrono::sys_days> resolve_date(std::string_view spec,
                                                                       std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  const sys_days today = floor<days>(now);
  if (spec == "today") return today;
  if (spec == "yesterday") return today - days(1);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (spec.size() == 10 && spec[4] == '-' && spec[7] == '-') {
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
      if (!digit(spec[i])) return std::nullopt;
    int y = 0;
    unsigned m = 0, d = 0;
    std::from_chars(spec.data(), spec.data() + 4, y);
    std::from_chars(spec.data() + 5, spec.data() + 7, m);
    std::from_chars(spec.data() + 8, spec.data() + 10, d);
    const year_month_day ymd{year{y}, month{m}, day{d}};
    if (!ymd.ok()) return std::nullopt;
    return sys_days{ymd};
  }
  // "N days back", "N weeks back" (singular unit accepted), N at most 100000 so that nothing overflows.
  const auto space = spec.find(' ');
  if (space == 0 || space == std::string_view::npos || space > 6) return std::nullopt;
  unsigned n = 0;
  const auto [end, ec] = std::from_chars(spec.data(), spec.data() + space, n);
  if (ec != std::errc() || end != spec.data() + space || n > 100000) return std::nullopt;
  const std::string_view unit = spec.substr(space + 1);
  if (unit == "days back" || unit == "day back") return today - days(n);
  if (unit == "weeks back" || unit == "week back") return today - days(7 * std::int64_t{n});
  return std::nullopt;
}

namespace detail {

using tributary::detail::append_quoted;

inline constexpr std::string_view date_forms = "YYYY-MM-DD, today, yesterday, N days back or N weeks back";

inline std::string join_path(std::string_view path, std::string_view name) {
  return path.empty() ? std::string(name) : std::string(path) + "." + std::string(name);
}

/// At most `max` bytes of text a client sent, for a message (tributary::detail::excerpt: whole UTF-8
/// characters, U+FFFD for the rest, "..." when cut).
inline std::string excerpt(std::string_view s, std::size_t max = 64) { return tributary::detail::excerpt(s, max); }

/// A member name a client sent, for a message: its excerpt, or "" written out when it is empty (a
/// problem must name what it is about).
inline std::string key_name(std::string_view key) { return key.empty() ? std::string("\"\"") : excerpt(key); }

/// A value a client sent, shortened, for a message (never a secret's).
inline std::string quoted_excerpt(std::string_view s) {
  std::string out = "'";
  out += excerpt(s);
  out += '\'';
  return out;
}

template <settings_struct T>
void read_object(simdjson::dom::element e, const std::string& path, std::chrono::system_clock::time_point now, T& out,
                 std::vector<setting_problem>& problems);

template <class Decl, class M>
void read_value(const Decl& d, simdjson::dom::element v, const std::string& at, std::chrono::system_clock::time_point now,
                M& out, std::vector<setting_problem>& problems) {
  auto bad = [&](std::string why) { problems.push_back({at, std::move(why)}); };
  if constexpr (Decl::kind == setting_kind::enumeration) {
    std::string choices;
    for (std::size_t i = 0; i < d.choices.size(); ++i) choices += (i ? ", " : "") + std::string(d.choices[i]);
    if (!v.is_string()) return bad("must be one of " + choices);
    const std::string_view s = v.get_string().value_unsafe();
    for (const auto c : d.choices)
      if (c == s) {
        out = std::string(s);
        return;
      }
    bad("must be one of " + choices + " (got " + quoted_excerpt(s) + ")");
  } else if constexpr (Decl::kind == setting_kind::string) {
    if (!v.is_string()) return bad("must be a string");
    out = std::string(v.get_string().value_unsafe());
  } else if constexpr (Decl::kind == setting_kind::secret) {
    if (!v.is_string()) return bad("must be a string (a secret)");
    out = secret(std::string(v.get_string().value_unsafe()));
  } else if constexpr (Decl::kind == setting_kind::boolean) {
    if (!v.is_bool()) return bad("must be true or false");
    out = v.get_bool().value_unsafe();
  } else if constexpr (Decl::kind == setting_kind::number) {
    if (!v.is_number()) return bad("must be a number");
    out = v.get_double().value_unsafe();
  } else if constexpr (Decl::kind == setting_kind::integer) {
    const std::int64_t lo = std::max<std::int64_t>(d.minimum, std::numeric_limits<M>::min());
    const std::int64_t hi = static_cast<std::int64_t>(
      std::min<std::uint64_t>(static_cast<std::uint64_t>(d.maximum), static_cast<std::uint64_t>(std::numeric_limits<M>::max())));
    const bool bounded = lo != std::numeric_limits<std::int64_t>::min() || hi != std::numeric_limits<std::int64_t>::max();
    const std::string range = bounded ? " between " + std::to_string(lo) + " and " + std::to_string(hi) : "";
    if (!v.is_int64()) return bad("must be an integer" + range);
    const std::int64_t n = v.get_int64().value_unsafe();
    if (n < lo || n > hi) return bad("must be an integer" + range + " (got " + std::to_string(n) + ")");
    out = static_cast<M>(n);
  } else if constexpr (Decl::kind == setting_kind::date) {
    if (!v.is_string()) return bad(std::string("must be a date: ") + std::string(date_forms));
    const std::string_view s = v.get_string().value_unsafe();
    const auto day = resolve_date(s, now);
    if (!day) return bad(std::string("must be a date: ") + std::string(date_forms) + " (got " + quoted_excerpt(s) + ")");
    out = date{*day, std::string(s)};
  } else {
    read_object(v, at, now, out, problems);
  }
}

template <class Decl, class M>
void apply_default(const Decl& d, std::chrono::system_clock::time_point now, M& out) {
  if constexpr (Decl::kind == setting_kind::date) out = date{*resolve_date(d.fallback, now), std::string(d.fallback)};
  else if constexpr (Decl::kind == setting_kind::string || Decl::kind == setting_kind::enumeration) out = std::string(d.fallback);
  else if constexpr (Decl::kind == setting_kind::secret || Decl::kind == setting_kind::object) (void)out;
  else out = static_cast<M>(d.fallback);
}

template <settings_struct T>
void read_object(simdjson::dom::element e, const std::string& path, std::chrono::system_clock::time_point now, T& out,
                 std::vector<setting_problem>& problems) {
  if (!e.is_object()) {
    problems.push_back({path.empty() ? "settings" : path, "must be an object"});
    return;
  }
  const simdjson::dom::object obj = e.get_object().value_unsafe();
  constexpr auto decls = T::settings();
  std::apply([&](const auto&... d) {
    auto one = [&](const auto& decl) {
      const std::string at = join_path(path, decl.name);
      simdjson::dom::element v;
      if (obj.at_key(decl.name).get(v) == simdjson::SUCCESS) {
        read_value(decl, v, at, now, out.*(decl.member), problems);
      } else if (decl.has_default) {
        apply_default(decl, now, out.*(decl.member));
      } else if (decl.required) {
        std::string what(to_string(decl.kind));
        if constexpr (std::remove_cvref_t<decltype(decl)>::kind == setting_kind::date) what += " (" + std::string(date_forms) + ")";
        problems.push_back({at, "missing: a required " + what});
      }
    };
    (one(d), ...);
  }, decls);
  // Unknown and repeated names: a typo must not pass silently as "the default applied".
  std::vector<std::string_view> seen;
  for (const auto member : obj) {
    const std::string_view key = member.key;
    const bool known = std::apply([&](const auto&... d) { return ((d.name == key) || ...); }, decls);
    bool repeated = false;
    for (const auto s : seen) repeated = repeated || s == key;
    seen.push_back(key);
    if (repeated) {
      problems.push_back({join_path(path, key_name(key)), "given more than once"});
    } else if (!known) {
      std::string names;
      std::apply([&](const auto&... d) { ((names += (names.empty() ? "" : ", ") + std::string(d.name)), ...); }, decls);
      problems.push_back({join_path(path, key_name(key)), "unknown setting (known: " + names + ")"});
    }
  }
}

template <settings_struct T>
void append_schema(std::string& out);

template <class Decl>
void append_one_schema(std::string& out, const Decl& d) {
  append_quoted(out, d.name);
  out += ":{\"type\":\"";
  out += to_string(Decl::kind);
  out += "\",\"required\":";
  out += d.required ? "true" : "false";
  if (!d.description.empty()) {
    out += ",\"description\":";
    append_quoted(out, d.description);
  }
  if constexpr (Decl::kind == setting_kind::enumeration) {
    out += ",\"values\":[";
    for (std::size_t i = 0; i < d.choices.size(); ++i) {
      if (i) out += ',';
      append_quoted(out, d.choices[i]);
    }
    out += ']';
  }
  if constexpr (Decl::kind == setting_kind::integer) {
    if (d.minimum != std::numeric_limits<std::int64_t>::min()) out += ",\"minimum\":" + std::to_string(d.minimum);
    if (d.maximum != std::numeric_limits<std::int64_t>::max()) out += ",\"maximum\":" + std::to_string(d.maximum);
  }
  if constexpr (Decl::kind == setting_kind::date) out += ",\"formats\":[\"YYYY-MM-DD\",\"today\",\"yesterday\",\"N days back\",\"N weeks back\"]";
  if (d.has_default) {
    out += ",\"default\":";
    if constexpr (std::same_as<std::remove_cvref_t<decltype(d.fallback)>, std::string_view>) append_quoted(out, d.fallback);
    else if constexpr (std::same_as<std::remove_cvref_t<decltype(d.fallback)>, bool>) out += d.fallback ? "true" : "false";
    else if constexpr (std::same_as<std::remove_cvref_t<decltype(d.fallback)>, std::int64_t>) out += std::to_string(d.fallback);
    else if constexpr (std::same_as<std::remove_cvref_t<decltype(d.fallback)>, double>) {
      char buf[32];
      const auto r = std::to_chars(buf, buf + sizeof buf, d.fallback);
      out.append(buf, r.ptr);
    }
  }
  if constexpr (Decl::kind == setting_kind::object) {
    out += ",\"settings\":";
    append_schema<typename Decl::member_type>(out);
  }
  out += '}';
}

template <settings_struct T>
void append_schema(std::string& out) {
  out += '{';
  bool first = true;
  std::apply([&](const auto&... d) { ((out += first ? "" : ",", first = false, append_one_schema(out, d)), ...); }, T::settings());
  out += '}';
}

template <settings_struct T>
void append_values(std::string& out, const T& v, bool reveal_secrets);

template <class D, class M>
void append_value(std::string& out, const D&, const M& m, bool reveal_secrets) {
  if constexpr (D::kind == setting_kind::string || D::kind == setting_kind::enumeration) append_quoted(out, m);
  else if constexpr (D::kind == setting_kind::secret) append_quoted(out, reveal_secrets ? std::string_view(m.reveal()) : "***");
  else if constexpr (D::kind == setting_kind::date) append_quoted(out, m.spec.empty() ? iso_date(m.day) : m.spec);
  else if constexpr (D::kind == setting_kind::boolean) out += m ? "true" : "false";
  else if constexpr (D::kind == setting_kind::integer) out += std::to_string(m);
  else if constexpr (D::kind == setting_kind::number) {
    char buf[32];
    // -0 is written 0: JSON's "-0" reads back as the integer 0, and the echo must be a fixed point.
    const auto r = std::to_chars(buf, buf + sizeof buf, m == 0 ? 0.0 : static_cast<double>(m));
    out.append(buf, r.ptr);
  } else append_values(out, m, reveal_secrets);
}

template <settings_struct T>
void append_values(std::string& out, const T& v, bool reveal_secrets) {
  out += '{';
  bool first = true;
  const T initial{};
  auto one = [&](const auto& d) {
    const auto& m = v.*(d.member);
    // An optional setting left at its initial value is left out, as if it was not sent: written out, it
    // could fail its own validation when the worker parses it again (an enumeration's "", a bounded
    // integer's 0, a nested object's empty members).
    if (!d.required && !d.has_default) {
      std::string value, unset;
      append_value(value, d, m, true);
      append_value(unset, d, initial.*(d.member), true);
      if (value == unset) return;
    }
    if (!first) out += ',';
    first = false;
    append_quoted(out, d.name);
    out += ':';
    append_value(out, d, m, reveal_secrets);
  };
  std::apply([&](const auto&... d) { (one(d), ...); }, T::settings());
  out += '}';
}

}  // namespace detail

/// Parses and validates `json` (an object of settings) at time `now`. Throws settings_error naming every
/// problem; a body that is not JSON at all is one problem, "settings: not valid JSON".
template <settings_struct T>
[[nodiscard]] T parse_settings(simdjson::dom::element settings, std::chrono::system_clock::time_point now) {
  T out{};
  std::vector<setting_problem> problems;
  detail::read_object(settings, "", now, out, problems);
  if (!problems.empty()) throw settings_error(std::move(problems));
  return out;
}

template <settings_struct T>
[[nodiscard]] T parse_settings(std::string_view json, std::chrono::system_clock::time_point now) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(simdjson::padded_string(json)).get(doc) != simdjson::SUCCESS)
    throw settings_error(std::vector<setting_problem>{{"settings", "not valid JSON"}});
  return parse_settings<T>(doc, now);
}

/// The schema of T's settings as GET /platforms/get shows it: for each setting, in declaration order,
/// {"type", "required", "description"?, "default"?, "values"? (enumeration), "minimum"/"maximum"?
/// (integer), "formats" (date), "settings" (object)}.
template <settings_struct T>
[[nodiscard]] std::string settings_schema() {
  std::string out;
  detail::append_schema<T>(out);
  return out;
}

/// The settings as JSON, defaults applied, every secret "***": what answers, lists and logs show. An
/// optional setting (no default) still at its initial value is left out.
template <settings_struct T>
[[nodiscard]] std::string redacted_settings_json(const T& value) {
  std::string out;
  detail::append_values(out, value, false);
  return out;
}

/// The settings as JSON with secrets in clear: what a worker is handed to parse again at run time. Only
/// for the job store; never for an answer or a log.
template <settings_struct T>
[[nodiscard]] std::string settings_json_with_secrets(const T& value) {
  std::string out;
  detail::append_values(out, value, true);
  return out;
}

}  // namespace tributary::jobs
