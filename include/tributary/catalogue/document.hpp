#pragma once
// The catalogue document (an X-Road Service), its environment-independent identity, and the
// document-level fields derived from its environment entries.

#include <algorithm>
#include <charconv>
#include <compare>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <range/v3/action/sort.hpp>
#include <range/v3/action/unique.hpp>

#include <tributary/detail/json_text.hpp>

namespace tributary {

/// A JSON string kept in its escaped form, so large opaque strings (`openApiString`) pass through
/// parse, merge and serialize without being decoded and encoded again. The escaped text is immutable.
/// It is either shared (a copy shares it instead of copying it, and a parsed document's large strings
/// are slices of the document's own buffer, which they keep alive, so a megabyte of OpenAPI text is
/// never copied between being read and being written) or, for a short string the parser read, held
/// by value: a document whose strings are all short then keeps no buffer of its own alive, and the
/// parser reuses one buffer for every such document.
class json_string {
 public:
  json_string() = default;
  json_string(const json_string& other) : buffer_(other.buffer_), owned_(other.owned_) { view_from(other); }
  json_string& operator=(const json_string& other) {
    if (this != &other) {
      buffer_ = other.buffer_;
      owned_ = other.owned_;
      view_from(other);
    }
    return *this;
  }
  // A moved-from string is empty, never a view into a buffer it no longer owns.
  json_string(json_string&& other) noexcept : buffer_(std::move(other.buffer_)), owned_(std::move(other.owned_)) {
    view_from(other);
    other.clear();
  }
  json_string& operator=(json_string&& other) noexcept {
    if (this != &other) {
      buffer_ = std::move(other.buffer_);
      owned_.swap(other.owned_);  // the other keeps our storage for its next short string
      view_from(other);
      other.clear();
    }
    return *this;
  }
  ~json_string() = default;

  [[nodiscard]] static json_string from_text(std::string_view text) {
    std::string escaped;
    escaped.reserve(text.size() + text.size() / 16);
    detail::append_escaped(escaped, text);
    return from_escaped(std::move(escaped));
  }
  [[nodiscard]] static json_string from_escaped(std::string escaped) {
    if (escaped.empty()) return {};
    auto buffer = std::make_shared<const std::string>(std::move(escaped));
    const std::string_view view(*buffer);
    return json_string(std::move(buffer), view);
  }
  /// A slice of `buffer`, which must hold the escaped text `slice` points into; it is kept alive.
  [[nodiscard]] static json_string from_shared(std::shared_ptr<const std::string> buffer, std::string_view slice) {
    return slice.empty() ? json_string() : json_string(std::move(buffer), slice);
  }

  /// Makes this string a slice of `buffer` (see from_shared), keeping the storage of a value it held.
  void assign_shared(std::shared_ptr<const std::string> buffer, std::string_view slice) {
    owned_.clear();
    if (slice.empty()) buffer.reset();
    buffer_ = std::move(buffer);
    escaped_ = slice;
  }
  /// Makes this string hold a copy of `escaped`, reusing the storage it has: for short strings, where
  /// a copy is cheaper than keeping a whole document alive.
  void assign_copy(std::string_view escaped) {
    buffer_.reset();
    owned_.assign(escaped.data(), escaped.size());
    escaped_ = owned_;
  }
  /// Empties the string; a value's storage is kept for the next assign_copy.
  void clear() noexcept {
    buffer_.reset();
    owned_.clear();
    escaped_ = {};
  }

  [[nodiscard]] std::string_view escaped() const noexcept { return escaped_; }
  [[nodiscard]] std::string text() const { return detail::unescape(escaped_); }
  [[nodiscard]] bool empty() const noexcept { return escaped_.empty(); }
  /// True when the text is shared with a buffer (a copy of this string copies no text).
  [[nodiscard]] bool shared() const noexcept { return buffer_ != nullptr; }
  friend bool operator==(const json_string& a, const json_string& b) noexcept { return a.escaped_ == b.escaped_; }

 private:
  json_string(std::shared_ptr<const std::string> buffer, std::string_view escaped)
      : buffer_(std::move(buffer)), escaped_(escaped) {}

  /// After buffer_ and owned_ were taken from `other`: a shared slice is the same view, a value is
  /// our own owned_ (its characters may have moved, as short strings live inside the object).
  void view_from(const json_string& other) noexcept {
    escaped_ = buffer_ ? other.escaped_ : std::string_view(owned_);
  }

  std::shared_ptr<const std::string> buffer_;  ///< owns the bytes `escaped_` views, when shared
  std::string owned_;                          ///< the text, when held by value
  std::string_view escaped_;
};

struct xroad_identifier {
  std::string instance, member_class, member_code, subsystem_code, service_code;
  friend bool operator==(const xroad_identifier&, const xroad_identifier&) = default;
};

/// One version of a service as one environment publishes it.
struct service_detail {
  std::string version;  ///< `v2`, `v10.1`, or empty for an unversioned service code
  std::string title, summary, description;
  std::string type;  ///< rest, soap or graphql
  std::vector<std::string> pricing, data;
  std::string links;  ///< `x-links` as raw JSON, empty when absent
  json_string openapi;
  std::string collected;  ///< ISO 8601 UTC time the detail was collected
  xroad_identifier xroad;
  friend bool operator==(const service_detail&, const service_detail&) = default;
};

/// What one environment knows of a service. `stale` marks data copied from a peer that did not finish
/// in time (its last published data).
struct environment_entry {
  std::string environment;
  std::string owner;
  std::vector<std::string> access;  ///< xroad; apigw for public providers
  std::vector<service_detail> details;
  bool stale = false;
  friend bool operator==(const environment_entry&, const environment_entry&) = default;
};

/// The catalogue document. Everything above `environments` is derived from it (see `derive_fields`).
struct service {
  std::string id;
  std::string title, summary, description, owner;
  std::vector<std::string> type, pricing, data, access;
  std::vector<environment_entry> environments;
  friend bool operator==(const service&, const service&) = default;

  [[nodiscard]] const environment_entry* entry(std::string_view env) const noexcept {
    for (const auto& e : environments)
      if (e.environment == env) return &e;
    return nullptr;
  }
  [[nodiscard]] environment_entry* entry(std::string_view env) noexcept {
    for (auto& e : environments)
      if (e.environment == env) return &e;
    return nullptr;
  }
};

// ---- versions ---------------------------------------------------------------------------------------

namespace detail {
/// A version without its `v`/`V` prefix when it is numeric (`10.1`, or empty), else nullopt: every
/// component one or more digits that fit an unsigned long, separated by single dots.
[[nodiscard]] inline std::optional<std::string_view> numeric_version(std::string_view v) noexcept {
  if (!v.empty() && (v.front() == 'v' || v.front() == 'V')) v.remove_prefix(1);
  const std::string_view digits = v;
  while (!v.empty()) {
    unsigned long n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || p == v.data()) return std::nullopt;
    v.remove_prefix(static_cast<std::size_t>(p - v.data()));
    if (v.empty()) break;
    if (v.front() != '.' || v.size() == 1) return std::nullopt;
    v.remove_prefix(1);
  }
  return digits;
}
}  // namespace detail

/// Orders versions numerically by component: v2 < v10 < v10.1; an empty version sorts first.
/// Non-numeric versions fall back to plain string order after the numeric ones. Allocates nothing:
/// it runs inside every sort of a document's details.
[[nodiscard]] inline std::strong_ordering compare_versions(std::string_view a, std::string_view b) {
  const auto na = detail::numeric_version(a), nb = detail::numeric_version(b);
  if (na && nb) {
    // Component by component; a version that runs out first is the smaller (v10 < v10.1).
    std::string_view x = *na, y = *nb;
    while (!x.empty() || !y.empty()) {
      if (x.empty()) return std::strong_ordering::less;
      if (y.empty()) return std::strong_ordering::greater;
      unsigned long cx = 0, cy = 0;
      const char* px = std::from_chars(x.data(), x.data() + x.size(), cx).ptr;
      const char* py = std::from_chars(y.data(), y.data() + y.size(), cy).ptr;
      if (cx != cy) return cx <=> cy;
      x.remove_prefix(static_cast<std::size_t>(px - x.data()));
      y.remove_prefix(static_cast<std::size_t>(py - y.data()));
      if (!x.empty()) x.remove_prefix(1);  // the dot
      if (!y.empty()) y.remove_prefix(1);
    }
    return a <=> b;
  }
  if (na) return std::strong_ordering::less;
  if (nb) return std::strong_ordering::greater;
  return a <=> b;
}

/// A service code split into its base and version suffix: `getPerson-v2.1` → {`getPerson`, `v2.1`}.
/// A code without a `-v<major>[.<minor>[.<patch>]]` suffix has an empty version.
struct versioned_code {
  std::string base;
  std::string version;
};

[[nodiscard]] inline versioned_code split_service_code(std::string_view code) {
  const auto dash = code.rfind("-v");
  if (dash == std::string_view::npos || dash == 0) return {std::string(code), {}};
  const std::string_view suffix = code.substr(dash + 2);
  int parts = 0;
  bool digit_seen = false;
  for (char c : suffix) {
    if (c >= '0' && c <= '9') {
      digit_seen = true;
    } else if (c == '.' && digit_seen) {
      digit_seen = false;
      ++parts;
    } else {
      return {std::string(code), {}};
    }
  }
  if (!digit_seen || parts > 2) return {std::string(code), {}};
  return {std::string(code.substr(0, dash)), std::string(code.substr(dash + 1))};
}

// ---- identity ---------------------------------------------------------------------------------------

/// Member codes that differ between environments for the same member, mapped to one canonical code.
/// Unmapped codes are their own canonical code.
class member_code_mapping {
 public:
  void add(std::string environment, std::string member_code, std::string canonical) {
    map_[{std::move(environment), std::move(member_code)}] = std::move(canonical);
  }
  [[nodiscard]] std::string_view canonical(std::string_view environment, std::string_view member_code) const {
    auto it = map_.find(std::pair<std::string, std::string>(environment, member_code));
    return it == map_.end() ? member_code : std::string_view(it->second);
  }
  [[nodiscard]] bool empty() const noexcept { return map_.empty(); }
  /// The environments the mapping names, sorted, each once.
  [[nodiscard]] std::vector<std::string> environments() const {
    std::vector<std::string> out;
    for (const auto& [key, canonical] : map_)
      if (out.empty() || out.back() != key.first) out.push_back(key.first);
    return out;
  }

 private:
  std::map<std::pair<std::string, std::string>, std::string> map_;
};

/// The environment-independent id of a service: member class, canonical member code, subsystem code
/// and the service code without its version. The X-Road instance is deliberately not part of it.
[[nodiscard]] inline std::string service_id(const xroad_identifier& x, std::string_view environment,
                                            const member_code_mapping& mapping = {}) {
  std::string id;
  const auto code = mapping.canonical(environment, x.member_code);
  const auto base = split_service_code(x.service_code).base;
  id.reserve(x.member_class.size() + code.size() + x.subsystem_code.size() + base.size() + 3);
  id.append(x.member_class).append("/").append(code).append("/").append(x.subsystem_code).append("/").append(base);
  return id;
}

// ---- derived fields ---------------------------------------------------------------------------------

/// Environment precedence, highest first (default prod, staging, dev). Environments not listed rank
/// after the listed ones, by name.
class environment_order {
 public:
  environment_order() : order_{"prod", "staging", "dev"} {}
  explicit environment_order(std::vector<std::string> highest_first) : order_(std::move(highest_first)) {}
  [[nodiscard]] bool before(std::string_view a, std::string_view b) const noexcept {
    const auto ra = rank(a), rb = rank(b);
    return ra != rb ? ra < rb : a < b;
  }
  [[nodiscard]] const std::vector<std::string>& names() const noexcept { return order_; }

 private:
  [[nodiscard]] std::size_t rank(std::string_view env) const noexcept {
    auto it = std::find(order_.begin(), order_.end(), env);
    return static_cast<std::size_t>(it - order_.begin());
  }
  std::vector<std::string> order_;
};

namespace detail {
inline void sort_unique(std::vector<std::string>& v) { v |= ranges::actions::sort | ranges::actions::unique; }
}  // namespace detail

/// Puts a document in canonical form: entries in precedence order, details by version, sets sorted.
inline void canonicalize(service& s, const environment_order& order) {
  std::sort(s.environments.begin(), s.environments.end(),
            [&](const auto& a, const auto& b) { return order.before(a.environment, b.environment); });
  for (auto& e : s.environments) {
    detail::sort_unique(e.access);
    std::sort(e.details.begin(), e.details.end(),
              [](const auto& a, const auto& b) { return compare_versions(a.version, b.version) < 0; });
    for (auto& d : e.details) {
      detail::sort_unique(d.pricing);
      detail::sort_unique(d.data);
    }
  }
}

/// Recomputes the document-level fields from the entries, so they never depend on the order in which
/// environments were merged: title, summary, description and owner come from the newest version of the
/// highest-precedence environment; type, pricing, data and access are unions over every entry.
/// Expects `canonicalize` to have run.
inline void derive_fields(service& s) {
  s.title.clear(), s.summary.clear(), s.description.clear(), s.owner.clear();
  s.type.clear(), s.pricing.clear(), s.data.clear(), s.access.clear();
  if (!s.environments.empty()) {
    const auto& top = s.environments.front();
    s.owner = top.owner;
    if (!top.details.empty()) {
      const auto& newest = top.details.back();
      s.title = newest.title, s.summary = newest.summary, s.description = newest.description;
    }
  }
  for (const auto& e : s.environments) {
    s.access.insert(s.access.end(), e.access.begin(), e.access.end());
    for (const auto& d : e.details) {
      if (!d.type.empty()) s.type.push_back(d.type);
      s.pricing.insert(s.pricing.end(), d.pricing.begin(), d.pricing.end());
      s.data.insert(s.data.end(), d.data.begin(), d.data.end());
    }
  }
  detail::sort_unique(s.type), detail::sort_unique(s.pricing), detail::sort_unique(s.data), detail::sort_unique(s.access);
}

inline void normalize(service& s, const environment_order& order) {
  canonicalize(s, order);
  derive_fields(s);
}

}  // namespace tributary
