#pragma once
// Which kind of store a URL names. The executables compose a different basic_collector per kind.

#include <string>
#include <string_view>

#include <tributary/error.hpp>

namespace tributary::examples {

enum class store_scheme { sqlite, postgres, elasticsearch };

[[nodiscard]] inline store_scheme store_scheme_of(std::string_view url) {
  if (url.starts_with("sqlite://")) return store_scheme::sqlite;
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) return store_scheme::postgres;
  if (url.starts_with("http://") || url.starts_with("https://")) return store_scheme::elasticsearch;
  const auto colon = url.find("://");
  const std::string scheme = colon == std::string_view::npos ? std::string("(none)") : std::string(url.substr(0, colon));
  throw error(errc::invalid_config, "store URL '" + std::string(url) + "' has unknown scheme '" + scheme +
                                        "'; supported: sqlite:///path/to/catalogue.db, "
                                        "postgres://user@host:port/db, http(s)://elasticsearch-or-opensearch:9200");
}

}  // namespace tributary::examples
