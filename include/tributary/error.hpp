#pragma once
// The one exception type the engine throws for expected failures, with a code to branch on.

#include <stdexcept>
#include <string>
#include <string_view>

namespace tributary {

enum class errc {
  invalid_config,     ///< a configuration value is missing, out of range or inconsistent
  invalid_name,       ///< an index or alias name breaks the naming rules
  not_found,          ///< an index, alias or document that must exist does not
  already_exists,     ///< creating something that is already there
  conflict,           ///< a concurrent change got in first (alias moved, index carries an alias, ...)
  store_unavailable,  ///< the store cannot be reached or refused the operation
  bad_document,       ///< a stored or received document is malformed
  source_failed,      ///< the source of records failed (listing providers, fetching services)
  transport_failed,   ///< a request could not be completed
  timed_out,          ///< an operation ran out of time
};

[[nodiscard]] constexpr std::string_view to_string(errc c) noexcept {
  switch (c) {
    case errc::invalid_config: return "invalid configuration";
    case errc::invalid_name: return "invalid name";
    case errc::not_found: return "not found";
    case errc::already_exists: return "already exists";
    case errc::conflict: return "conflict";
    case errc::store_unavailable: return "store unavailable";
    case errc::bad_document: return "bad document";
    case errc::source_failed: return "source failed";
    case errc::transport_failed: return "transport failed";
    case errc::timed_out: return "timed out";
  }
  return "unknown error";
}

class error : public std::runtime_error {
 public:
  error(errc code, const std::string& what) : std::runtime_error(what), code_(code) {}
  [[nodiscard]] errc code() const noexcept { return code_; }

 private:
  errc code_;
};

}  // namespace tributary
