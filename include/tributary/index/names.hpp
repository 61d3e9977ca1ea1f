#pragma once
// Index and alias names every store accepts: the Elasticsearch rules, enforced by every backend so that
// data can move between stores.

#include <optional>
#include <string>
#include <string_view>

#include <tributary/error.hpp>

namespace tributary {

namespace detail {
[[nodiscard]] inline std::optional<std::string> name_problem(std::string_view name, bool must_be_lowercase) {
  if (name.empty()) return "is empty";
  if (name.size() > 255) return "is longer than 255 bytes";
  if (name == "." || name == "..") return "is '.' or '..'";
  if (name.front() == '-' || name.front() == '_' || name.front() == '+') return "starts with '-', '_' or '+'";
  for (char c : name) {
    if (std::string_view(R"(\/*?"<>| ,#:)").find(c) != std::string_view::npos)
      return std::string("contains the character '") + c + "'";
    if (static_cast<unsigned char>(c) < 0x20) return "contains a control character";
    if (must_be_lowercase && c >= 'A' && c <= 'Z') return "contains an uppercase letter";
  }
  return std::nullopt;
}
}  // namespace detail

/// Throws error(errc::invalid_name) naming the problem unless `name` is a valid index name
/// (lowercase; none of \ / * ? " < > | space , # :; not starting with - _ +; at most 255 bytes).
inline void validate_index_name(std::string_view name) {
  if (auto p = detail::name_problem(name, true))
    throw error(errc::invalid_name, "index name '" + std::string(name) + "' " + *p);
}

/// Alias names follow the index rules except that uppercase is allowed (`apicatalogue-devCollectorWorking`).
inline void validate_alias_name(std::string_view name) {
  if (auto p = detail::name_problem(name, false))
    throw error(errc::invalid_name, "alias name '" + std::string(name) + "' " + *p);
}

}  // namespace tributary
