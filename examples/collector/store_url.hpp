#pragma once
// Which kind of store a URL names. The executables compose a different basic_collector per kind.

#include <string>
#include <string_view>

#include <tributary/catalogue/elasticsearch_mapping.hpp>
#include <tributary/catalogue/postgres_search.hpp>
#include <tributary/error.hpp>
#include <tributary/index/elasticsearch.hpp>
#include <tributary/redact.hpp>

namespace tributary::examples {

enum class store_scheme { sqlite, postgres, elasticsearch };

[[nodiscard]] inline store_scheme store_scheme_of(std::string_view url) {
  if (url.starts_with("sqlite://")) return store_scheme::sqlite;
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) return store_scheme::postgres;
  if (url.starts_with("http://") || url.starts_with("https://")) return store_scheme::elasticsearch;
  // Quoted redacted; libpq's "host=h password=x" (not a URL here) is not quoted at all.
  const std::string scheme = detail::is_url(url) ? std::string(url.substr(0, url.find("://"))) : std::string("(none)");
  throw error(errc::invalid_config, "store URL " + detail::quote_url(url) + " has unknown scheme '" + scheme +
                                        "'; supported: sqlite:///path/to/catalogue.db, "
                                        "postgres://user@host:port/db, http(s)://elasticsearch-or-opensearch:9200");
}

/// The options of an Elasticsearch or OpenSearch store at `url` (elasticsearch_options::from_url), with
/// the catalogue's mapping for the indices the collector creates: the backend itself maps no field
/// but the id.
[[nodiscard]] inline elasticsearch_options elasticsearch_store_options(std::string_view url) {
  auto options = elasticsearch_options::from_url(url);
  options.mappings = catalogue_elasticsearch_mapping(options.id_field);
  return options;
}

/// The options of a PostgreSQL store, with the catalogue's search fields: a connection that may write
/// builds the search index when it connects, before the collector writes a worker index.
[[nodiscard]] inline postgres_options postgres_store_options(bool read_only) {
  auto options = catalogue_postgres_options();
  options.create_schema = !read_only;
  return options;
}

}  // namespace tributary::examples
