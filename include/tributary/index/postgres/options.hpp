#pragma once
// postgres_options: where a postgres_index keeps its tables, how it connects and how it writes. A header
// of their own, as the connection (postgres/connection.hpp) holds them too.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace tributary {

/// How bulk_write sends documents. Both upsert in one transaction; bench/postgres_bench.cpp compares them.
enum class postgres_bulk_method {
  copy,           ///< binary COPY into a session temp table, then INSERT ... SELECT ... ON CONFLICT
  array_insert,   ///< INSERT ... SELECT FROM unnest($ids, $jsons) ON CONFLICT, binary text[] parameters
};

struct postgres_options {
  /// The schema holding tributary's tables, created if missing: [a-z_][a-z0-9_]*, at most 63 bytes.
  std::string schema = "tributary";
  /// libpq's connect_timeout, unless the URL sets one. libpq waits at least 2 s.
  std::chrono::seconds connect_timeout{10};
  /// How long a statement waits for another transaction's lock before errc::timed_out.
  std::chrono::milliseconds lock_timeout{std::chrono::seconds(10)};
  /// application_name, unless the URL sets one: names this connection in pg_stat_activity.
  std::string application_name = "tributary";
  postgres_bulk_method bulk_method = postgres_bulk_method::copy;
  /// A bulk write of at least this many documents into an index not yet sealed (read, or published with
  /// documents) appends to its table without keys; a smaller one seals it first, so that small writes
  /// rewriting the same ids (a ledger, a status) do not add a row each until the index is read.
  std::size_t append_min_documents = 256;
  /// false: a missing schema is an error instead of being created, so that a reader or a dry run
  /// never writes.
  bool create_schema = true;
  /// The top-level JSON fields search() reads, in order; none (the default): the store builds no search
  /// index and search() is refused. The store knows no document shape, so its user names them (the
  /// catalogue: catalogue_postgres_options in catalogue/postgres_search.hpp). A connection that may
  /// create the schema records the search expression when it connects and builds each aliased index's
  /// search index; an index gets its own when an alias first moves to it with documents, so every
  /// document reached through an alias is searchable (pg_connection::build_search_index). A schema whose
  /// recorded expression covers other fields is refused.
  std::vector<std::string> search_fields;
};

}  // namespace tributary
