#pragma once
// postgres_index: an index backend in a PostgreSQL database (libpq) that collectors on many hosts share.
//
// Link tributary::postgres. Open it from a store URL:
//
//   auto store = tributary::postgres_index::open_url("postgres://collector@db.example:5432/catalogue");
//   tributary::postgres_index store("postgresql://...", {.schema = "apicatalogue"});
//
//   tributary::postgres_index store("postgres://collector@db.example/catalogue?schema=apicatalogue");
//
// The URL goes to libpq unchanged but for tributary's own `schema` parameter, so every libpq URL
// parameter works (sslmode, sslrootcert, passfile, target_session_attrs, ...) and so do PG* environment
// variables and ~/.pgpass. Errors name the server
// as postgres://user@host:port/dbname: never with the password.
//
// Consistency. Each read is one statement, so it sees one committed state: an alias update is seen whole
// or not at all. Every write is one transaction. The writes that change names (create_index,
// update_aliases, delete_indices) first take a lock on the alias table that only they take, so they run
// one at a time across every process; readers never wait for it. A document write (bulk_write,
// insert_if_absent, delete_documents) takes its change positions from its index's row
// (`indices.changes`), which locks that row to the end of the transaction: writes to one index run one
// at a time, so positions commit in order and a change reader never sees a position before a smaller
// one commits (a sequence would not give that). Writes to different indices do not wait for each
// other; the lock also keeps the index from being deleted under the write.
//
// Connection loss. A read that meets a dropped connection reconnects and runs again, once. A write whose
// connection dropped before COMMIT was sent was not applied, so it reconnects and runs again, once; one
// that lost the connection after sending COMMIT has an unknown outcome and throws errc::store_unavailable
// saying so, except bulk_write, an idempotent upsert, which runs again. Serialization failures and
// deadlocks (rolled back by the server) are retried a few times; waiting longer than
// `postgres_options::lock_timeout` for another transaction's lock throws errc::timed_out.
//
// One instance may be shared by the threads of a process (a mutex guards its connection). Open a new one
// in a child process after fork(): a libpq connection must not be used by two processes.
//
// Every name and value reaches SQL as a parameter, but in the DDL of an index's table, which names it
// as a literal quoted by PQescapeLiteral; the identifiers in SQL text are the schema name, which must
// match [a-z_][a-z0-9_]* and is quoted with PQescapeIdentifier, and names the server made of md5 hex.
//
// In postgres/: options.hpp (postgres_options), schema.hpp (the tables, how an index's table is filled
// and sealed, the migrations of an older schema), target.hpp (the URL and its secrets), connection.hpp
// (the libpq connection), wire.hpp (binary parameters and results), storable.hpp (what the server can
// hold, checked before it is sent) and rows.hpp (how a write's documents reach an index's table).

#include <libpq-fe.h>
#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <tributary/concepts.hpp>
#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>
#include <tributary/index/alias_table.hpp>
#include <tributary/index/names.hpp>
#include <tributary/index/postgres/connection.hpp>
#include <tributary/index/postgres/options.hpp>
#include <tributary/index/postgres/rows.hpp>
#include <tributary/index/postgres/schema.hpp>
#include <tributary/index/postgres/storable.hpp>
#include <tributary/index/postgres/target.hpp>
#include <tributary/index/postgres/wire.hpp>
#include <tributary/index/types.hpp>
#include <tributary/redact.hpp>

namespace tributary {

namespace detail {

/// The smallest byte string greater than every string starting with `prefix`; nullopt when there is none.
[[nodiscard]] inline std::optional<std::string> pg_prefix_successor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty() && static_cast<unsigned char>(s.back()) == 0xFF) s.pop_back();
  if (s.empty()) return std::nullopt;
  s.back() = static_cast<char>(static_cast<unsigned char>(s.back()) + 1);
  return s;
}

}  // namespace detail

class postgres_index {
 public:
  using index_backend_concept = index_backend_tag;
  using exists_many_concept = exists_many_tag;
  using insert_if_absent_concept = insert_if_absent_tag;
  using document_delete_concept = document_delete_tag;
  using change_cursor_concept = change_cursor_tag;
  using padded_text_concept = padded_text_tag;

  /// Connects to the server `url` names: a postgres:// or postgresql:// URL, or any other connection
  /// string libpq accepts. Creates the schema's tables if missing. Throws errc::invalid_config for a
  /// malformed URL or schema name, errc::store_unavailable with the server's message when it cannot
  /// connect or the schema belongs to someone else.
  /// A URL's `schema` query parameter (`postgres://host/db?schema=catalogue`) is tributary's, not
  /// libpq's: it chooses the schema, over `options.schema`.
  explicit postgres_index(std::string url, postgres_options options = {}) {
    if (auto schema = detail::pg_take_schema_parameter(url)) options.schema = std::move(*schema);
    conn_ = std::make_unique<detail::pg_connection>(std::move(url), std::move(options));
  }

  /// `postgres://[user[:password]@][host][:port][/dbname][?param=value&...]`, or postgresql://. Anything
  /// else is refused with errc::invalid_config.
  [[nodiscard]] static postgres_index open_url(std::string_view url, postgres_options options = {}) {
    if (!is_postgres_url(url))
      throw error(errc::invalid_config, "postgres store URL " + detail::quote_url(url) +
                                            "' does not start with postgres:// or postgresql://");
    return postgres_index(std::string(url), std::move(options));
  }

  /// True when `url` starts with postgres:// or postgresql:// (any case).
  [[nodiscard]] static bool is_postgres_url(std::string_view url) noexcept {
    auto starts = [&](std::string_view scheme) {
      return url.size() >= scheme.size() && std::equal(scheme.begin(), scheme.end(), url.begin(), [](char a, char b) {
               return a == (b >= 'A' && b <= 'Z' ? static_cast<char>(b - 'A' + 'a') : b);
             });
    };
    return starts("postgres://") || starts("postgresql://");
  }

  postgres_index(postgres_index&&) noexcept = default;
  postgres_index& operator=(postgres_index&&) noexcept = default;
  postgres_index(const postgres_index&) = delete;
  postgres_index& operator=(const postgres_index&) = delete;
  ~postgres_index() = default;

  /// The server as errors name it: postgres://user@host:port/dbname (never the password).
  [[nodiscard]] const std::string& description() const { return conn().description(); }
  [[nodiscard]] const std::string& schema() const { return conn().options().schema; }

  void create_index(std::string_view name) {
    validate_index_name(name);
    require_storable(name, "index");
    write("creating an index", false, [&](detail::pg_connection& c) {
      lock_names(c);
      auto r = c.exec("INSERT INTO {s}.indices(name) SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM {s}.aliases WHERE alias = $1) "
                      "ON CONFLICT DO NOTHING RETURNING md5(name)",
                      detail::pg_params().text(name));
      if (detail::pg_rows(r) == 0) throw error(errc::already_exists, "index '" + std::string(name) + "' already exists");
      // Its table, without keys (pg_connection::seal), made the partition of its name: ATTACH takes a
      // SHARE UPDATE EXCLUSIVE lock on `documents`, which no reader or writer waits for, where CREATE
      // TABLE ... PARTITION OF would lock them all out for a moment.
      const std::string table = "{s}." + detail::pg_index_table(detail::pg_view(r, 0, 0));
      c.exec_simple("CREATE TABLE " + table + " (LIKE {s}.documents INCLUDING ALL)");
      c.exec_simple("ALTER TABLE {s}.documents ATTACH PARTITION " + table + " FOR VALUES IN (" + c.literal(name) + ")");
    });
  }

  [[nodiscard]] bool index_exists(std::string_view name) const {
    if (!detail::pg_storable_text(name)) return false;
    return read("checking an index", [&](detail::pg_connection& c) {
      auto r = c.exec("SELECT EXISTS (SELECT 1 FROM {s}.indices WHERE name = $1)", detail::pg_params().text(name));
      return detail::pg_bool(r, 0, 0);
    });
  }

  bulk_result bulk_write(std::string_view index, std::span<const stored_document> docs) {
    simdjson::dom::parser parser;
    if (conn().options().bulk_method == postgres_bulk_method::copy) {
      // Each document is checked as it is sent, so that the server stores one part of the COPY while
      // the next is checked; a document it would refuse stops the COPY, and the path below says which.
      std::vector<std::size_t> all(docs.size());
      for (std::size_t i = 0; i < docs.size(); ++i) all[i] = i;
      const auto last = detail::pg_newest_of_each_id(docs, std::move(all));
      // An older write of an id is not sent; checked all the same, since a refused one is reported.
      std::vector<bool> sent(docs.size());
      for (const auto i : last) sent[i] = true;
      bool clean = true;
      for (std::size_t i = 0; i < docs.size() && clean; ++i)
        clean = sent[i] || !detail::pg_document_problem(parser, docs[i]);
      if (clean) {
        try {
          write("writing documents", true, [&](detail::pg_connection& c) {
            detail::pg_copy_rows(c, index, docs, last, reserve_for_write(c, index, last.size()), &parser);
          });
          bulk_result result;
          result.written = docs.size();
          return result;
        } catch (const detail::pg_bad_item&) {
        }
      }
    }
    // What the server would refuse anyway is reported here, item by item; the rest is sent.
    bulk_result checked;
    std::vector<std::size_t> sendable;
    sendable.reserve(docs.size());
    for (std::size_t i = 0; i < docs.size(); ++i) {
      if (auto problem = detail::pg_document_problem(parser, docs[i]))
        checked.failures.push_back({i, docs[i].id, std::move(*problem), false});
      else
        sendable.push_back(i);
    }
    const auto last = detail::pg_newest_of_each_id(docs, sendable);

    try {
      write("writing documents", true, [&](detail::pg_connection& c) {
        const auto target = reserve_for_write(c, index, last.size());
        if (c.options().bulk_method == postgres_bulk_method::copy) detail::pg_copy_rows(c, index, docs, last, target);
        else detail::pg_insert_rows(c, index, docs, last, target);
      });
      checked.written = sendable.size();
      return checked;
    } catch (const detail::pg_bad_item&) {
    }
    // Some document was refused: write item by item, each under a savepoint, to say which.
    return write("writing documents one by one", true, [&](detail::pg_connection& c) {
      bulk_result result = checked;
      const auto target = reserve_for_write(c, index, sendable.size());
      auto position = target.base;
      for (const auto i : sendable) {
        c.exec_simple("SAVEPOINT tributary_item");
        try {
          c.exec("INSERT INTO " + target.table + " (idx, id, json, seq) VALUES ($1, $2, $3, $4)" + target.upsert(),
                 detail::pg_params().text(index).text(docs[i].id).text(docs[i].json).int8(++position));
          c.exec_simple("RELEASE SAVEPOINT tributary_item");
          ++result.written;
        } catch (const detail::pg_server_error& e) {
          if (!detail::pg_item_error(e.sqlstate)) throw;
          c.exec_simple("ROLLBACK TO SAVEPOINT tributary_item");
          result.failures.push_back({i, docs[i].id, "PostgreSQL refused the document: " + e.message, false});
        }
      }
      std::sort(result.failures.begin(), result.failures.end(),
                [](const auto& a, const auto& b) { return a.position < b.position; });
      return result;
    });
  }

  [[nodiscard]] std::vector<std::optional<std::string>> get(std::string_view index,
                                                           std::span<const std::string> ids) const {
    std::vector<std::string_view> wanted;
    wanted.reserve(ids.size());
    for (const auto& id : ids)
      if (detail::pg_storable_text(id)) wanted.push_back(id);
    std::unordered_map<std::string, std::string> found;
    read_index("reading documents", index, [&](detail::pg_connection& c, bool sealed) {
      found.clear();
      // One statement, one snapshot: whether the index exists and its documents agree.
      auto r = c.exec(over_documents(c, sealed, "SELECT i.found, d.id, d.json, i.sealed FROM {i} "
                                                "LEFT JOIN {d} d ON {ready} AND d.idx = $1 AND d.id = ANY ($2::text[])"),
                      detail::pg_params().text(index).text_array(wanted));
      check_state(r, index, sealed);
      for (int row = 0; row < detail::pg_rows(r); ++row)
        if (!detail::pg_null(r, row, 1)) found.emplace(detail::pg_text(r, row, 1), detail::pg_text(r, row, 2));
    });
    std::vector<std::optional<std::string>> out;
    out.reserve(ids.size());
    for (const auto& id : ids) {
      auto it = found.find(id);
      out.push_back(it == found.end() ? std::nullopt : std::optional<std::string>(detail::padded_text(it->second)));
    }
    return out;
  }

  [[nodiscard]] scan_page scan(std::string_view index, std::string_view after_id, std::size_t limit) const {
    if (limit == 0) throw error(errc::invalid_config, "scan page size must be positive");
    // One row more than asked tells whether anything follows the page.
    const auto capped = std::min<std::size_t>(limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max() - 1));
    // An id that cannot be stored (bad UTF-8) still orders among stored ones bytewise: compare bytes.
    const bool text_after = detail::pg_storable_text(after_id);
    return read_index("scanning documents", index, [&](detail::pg_connection& c, bool sealed) {
      detail::pg_params p;
      p.text(index);
      if (text_after) p.text(after_id);
      else p.bytea(after_id);
      p.int8(static_cast<std::int64_t>(capped) + 1);
      auto r = c.exec(over_documents(c, sealed,
                                     text_after
                                       ? "SELECT i.found, d.id, d.json, i.sealed FROM {i} LEFT JOIN LATERAL (SELECT id, json "
                                         "FROM {d} x WHERE {ready} AND idx = $1 AND id > $2 ORDER BY id LIMIT $3) d ON true "
                                         "ORDER BY d.id"
                                       : "SELECT i.found, d.id, d.json, i.sealed FROM {i} LEFT JOIN LATERAL (SELECT id, json "
                                         "FROM {d} x WHERE {ready} AND idx = $1 AND convert_to(id, 'UTF8') > $2 ORDER BY id "
                                         "LIMIT $3) d ON true ORDER BY d.id"),
                      p);
      check_state(r, index, sealed);
      scan_page page;
      page.done = true;
      for (int row = 0; row < detail::pg_rows(r); ++row) {
        if (detail::pg_null(r, row, 1)) continue;
        if (page.documents.size() == capped) {
          page.done = false;
          break;
        }
        page.documents.push_back({detail::pg_text(r, row, 1), detail::padded_text(detail::pg_view(r, row, 2))});
      }
      if (!page.documents.empty()) page.next_after = page.documents.back().id;
      return page;
    });
  }

  /// One INSERT ... ON CONFLICT DO NOTHING per batch: the unique key decides which writer inserts an id,
  /// atomically, and RETURNING says which rows were inserted.
  insert_result insert_if_absent(std::string_view index, std::span<const stored_document> docs) {
    insert_result checked;
    simdjson::dom::parser parser;
    checked.items.assign(docs.size(), insert_result::outcome::existed);
    std::vector<std::size_t> sendable;
    sendable.reserve(docs.size());
    for (std::size_t i = 0; i < docs.size(); ++i) {
      if (auto problem = detail::pg_document_problem(parser, docs[i])) {
        checked.items[i] = insert_result::outcome::failed;
        checked.failures.push_back({i, docs[i].id, std::move(*problem), false});
      } else {
        sendable.push_back(i);
      }
    }
    try {
      return write("inserting documents", false, [&](detail::pg_connection& c) {
        insert_result result = checked;
        const auto target = reserve_positions(c, index, sendable.size());
        if (!target.sealed) c.seal(index);  // the unique key decides
        const auto base = target.base;
        // sendable[from, from + ids.size()) are in the statement
        detail::pg_in_batches(docs, sendable, [&](std::span<const std::string_view> ids,
                                                  std::span<const std::string_view> jsons, std::size_t from) {
          const auto offset = base + static_cast<std::int64_t>(from);
          detail::pg_result r;
          try {
            // In ordinal order, so that of an id repeated in the batch the first is inserted.
            r = c.exec("INSERT INTO " + target.table + " (idx, id, json, seq) SELECT $1, d.id, d.json, $4 + d.n "
                       "FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS d(id, json, n) ORDER BY d.n "
                       "ON CONFLICT (id) DO NOTHING RETURNING seq",
                       detail::pg_params().text(index).text_array(ids).text_array(jsons).int8(offset));
          } catch (const detail::pg_server_error& e) {
            if (detail::pg_item_error(e.sqlstate)) throw detail::pg_bad_item{};
            throw;
          }
          for (int row = 0; row < detail::pg_rows(r); ++row) {
            const auto n = std::stoll(detail::pg_text(r, row, 0)) - offset;  // the 1-based ordinal
            result.items[sendable[from + static_cast<std::size_t>(n) - 1]] = insert_result::outcome::inserted;
          }
        });
        return result;
      });
    } catch (const detail::pg_bad_item&) {
    }
    // Some document was refused: insert item by item, each under a savepoint, to say which.
    return write("inserting documents one by one", false, [&](detail::pg_connection& c) {
      insert_result result = checked;
      const auto target = reserve_positions(c, index, sendable.size());
      if (!target.sealed) c.seal(index);
      auto position = target.base;
      for (const auto i : sendable) {
        c.exec_simple("SAVEPOINT tributary_item");
        try {
          auto r = c.exec("INSERT INTO " + target.table + " (idx, id, json, seq) VALUES ($1, $2, $3, $4) "
                          "ON CONFLICT (id) DO NOTHING",
                          detail::pg_params().text(index).text(docs[i].id).text(docs[i].json).int8(++position));
          c.exec_simple("RELEASE SAVEPOINT tributary_item");
          if (detail::pg_affected(r) > 0) result.items[i] = insert_result::outcome::inserted;
        } catch (const detail::pg_server_error& e) {
          if (!detail::pg_item_error(e.sqlstate)) throw;
          c.exec_simple("ROLLBACK TO SAVEPOINT tributary_item");
          result.items[i] = insert_result::outcome::failed;
          result.failures.push_back({i, docs[i].id, "PostgreSQL refused the document: " + e.message, false});
        }
      }
      std::sort(result.failures.begin(), result.failures.end(),
                [](const auto& a, const auto& b) { return a.position < b.position; });
      return result;
    });
  }

  delete_result delete_documents(std::string_view index, std::span<const std::string> ids) {
    std::vector<std::string_view> storable;
    for (const auto& id : ids)
      if (detail::pg_storable_text(id)) storable.push_back(id);
    std::set<std::string, std::less<>> gone;
    // Not idempotent: run again after a lost COMMIT, it would report the deleted ids absent.
    write("deleting documents", false, [&](detail::pg_connection& c) {
      gone.clear();
      reserve_positions(c, index, 0);  // the writers' lock: rows are never locked in two orders at once
      auto r = c.exec("DELETE FROM {s}.documents WHERE idx = $1 AND id = ANY ($2::text[]) RETURNING id",
                      detail::pg_params().text(index).text_array(storable));
      for (int row = 0; row < detail::pg_rows(r); ++row) gone.insert(detail::pg_text(r, row, 0));
    });
    delete_result result;
    result.present.reserve(ids.size());
    for (const auto& id : ids) result.present.push_back(gone.erase(id) > 0);  // a repeated id was present once
    return result;
  }

  /// Reads ids only (an index-only scan of the key of ids), never the documents.
  [[nodiscard]] std::vector<bool> exists(std::string_view index, std::span<const std::string> ids) const {
    std::vector<std::string_view> wanted;
    for (const auto& id : ids)
      if (detail::pg_storable_text(id)) wanted.push_back(id);
    std::set<std::string, std::less<>> found;
    read_index("checking documents", index, [&](detail::pg_connection& c, bool sealed) {
      found.clear();
      auto r = c.exec(over_documents(c, sealed, "SELECT i.found, d.id, i.sealed FROM {i} "
                                                "LEFT JOIN {d} d ON {ready} AND d.idx = $1 AND d.id = ANY ($2::text[])"),
                      detail::pg_params().text(index).text_array(wanted));
      check_state(r, index, sealed);
      for (int row = 0; row < detail::pg_rows(r); ++row)
        if (!detail::pg_null(r, row, 1)) found.insert(detail::pg_text(r, row, 1));
    });
    std::vector<bool> out;
    out.reserve(ids.size());
    for (const auto& id : ids) out.push_back(found.contains(id));
    return out;
  }

  /// Throws errc::store_unavailable on a connection that found a version 1 schema and may not migrate
  /// it (create_schema = false).
  [[nodiscard]] change_page changes_since(std::string_view index, std::uint64_t after, std::size_t limit) const {
    if (limit == 0) throw error(errc::invalid_config, "change page size must be positive");
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    const auto capped = std::min<std::size_t>(limit, static_cast<std::size_t>(max - 1));
    return read_index("reading changes", index, [&](detail::pg_connection& c, bool sealed) {
      if (c.schema_version() < 2)
        throw error(errc::store_unavailable, c.prefix("reading changes") +
                                               "the schema has version 1, without change positions: open it once "
                                               "with create_schema to migrate it");
      change_page page;
      page.next = after;
      auto r = c.exec(over_documents(c, sealed, "SELECT i.found, d.id, d.json, d.seq, i.sealed FROM {i} LEFT JOIN LATERAL "
                                                "(SELECT id, json, seq FROM {d} x WHERE {ready} AND idx = $1 AND seq > $2 "
                                                "ORDER BY seq LIMIT $3) d ON true ORDER BY d.seq"),
                      detail::pg_params().text(index).int8(static_cast<std::int64_t>(std::min(after, max))).int8(
                        static_cast<std::int64_t>(capped) + 1));
      check_state(r, index, sealed);
      for (int row = 0; row < detail::pg_rows(r); ++row) {
        if (detail::pg_null(r, row, 1)) continue;
        if (page.documents.size() == capped) {
          page.done = false;
          break;
        }
        page.documents.push_back({detail::pg_text(r, row, 1), detail::padded_text(detail::pg_view(r, row, 2))});
        page.next = std::stoull(detail::pg_text(r, row, 3));
      }
      return page;
    });
  }

  [[nodiscard]] std::vector<std::string> list_indices(std::string_view prefix) const {
    // A byte range, not LIKE: '_' and '%' are LIKE wildcards and valid in index names, and a prefix may
    // end inside a UTF-8 sequence.
    const auto upper = detail::pg_prefix_successor(prefix);
    return read("listing indices", [&](detail::pg_connection& c) {
      detail::pg_params p;
      p.bytea(prefix);
      if (upper) p.bytea(*upper);
      auto r = c.exec(upper ? "SELECT name FROM {s}.indices WHERE convert_to(name, 'UTF8') >= $1 "
                              "AND convert_to(name, 'UTF8') < $2 ORDER BY name"
                            : "SELECT name FROM {s}.indices WHERE convert_to(name, 'UTF8') >= $1 ORDER BY name",
                      p);
      std::vector<std::string> out;
      for (int row = 0; row < detail::pg_rows(r); ++row) out.push_back(detail::pg_text(r, row, 0));
      return out;
    });
  }

  [[nodiscard]] std::vector<std::string> alias_targets(std::string_view alias) const {
    if (!detail::pg_storable_text(alias)) return {};
    return read("reading an alias", [&](detail::pg_connection& c) {
      auto r = c.exec("SELECT idx FROM {s}.aliases WHERE alias = $1 ORDER BY idx", detail::pg_params().text(alias));
      std::vector<std::string> out;
      for (int row = 0; row < detail::pg_rows(r); ++row) out.push_back(detail::pg_text(r, row, 0));
      return out;
    });
  }

  [[nodiscard]] std::vector<alias_entry> aliases() const {
    return read("reading aliases", [&](detail::pg_connection& c) {
      auto r = c.exec("SELECT alias, idx FROM {s}.aliases ORDER BY alias, idx");
      std::vector<alias_entry> out;
      for (int row = 0; row < detail::pg_rows(r); ++row) out.push_back({detail::pg_text(r, row, 0), detail::pg_text(r, row, 1)});
      return out;
    });
  }

  /// All actions in one transaction, under the name lock: the rows they touch are read, planned
  /// (plan_alias_update) and the difference written; on any failure none of them is applied.
  void update_aliases(std::span<const alias_action> actions) {
    validate_alias_actions(actions);
    for (const auto& a : actions)
      if (a.op == alias_action::kind::add) require_storable(a.alias, "alias");
    // A name the server cannot hold is no index and carries no alias: it is left out of the reads.
    const auto names = names_of_alias_update(actions);
    auto storable = [](const std::vector<std::string>& all) {
      std::vector<std::string_view> out;
      for (const auto& n : all)
        if (detail::pg_storable_text(n)) out.push_back(n);
      return out;
    };
    const auto aliases = storable(names.aliases);
    const auto index_names = storable(names.indices);
    write("updating aliases", false, [&](detail::pg_connection& c) {
      lock_names(c);
      auto current = c.exec("SELECT alias, idx FROM {s}.aliases WHERE alias = ANY ($1::text[])",
                            detail::pg_params().text_array(aliases));
      std::vector<alias_entry> rows;
      for (int row = 0; row < detail::pg_rows(current); ++row)
        rows.push_back({detail::pg_text(current, row, 0), detail::pg_text(current, row, 1)});
      auto present = c.exec("SELECT name, changes > 0 FROM {s}.indices WHERE name = ANY ($1::text[])",
                            detail::pg_params().text_array(index_names));
      std::vector<std::string> indices;
      std::set<std::string, std::less<>> written;
      for (int row = 0; row < detail::pg_rows(present); ++row) {
        indices.push_back(detail::pg_text(present, row, 0));
        if (detail::pg_bool(present, row, 1)) written.insert(indices.back());
      }
      const auto plan = plan_alias_update(actions, rows, indices);
      plan.check(actions);
      // An index gets its keys and its search index before an alias reaches its documents (seal,
      // build_search_index). One never written has none to reach: it gets them when it is read or an
      // alias moves to it again (a collector's working alias goes on its worker before it is filled).
      if (!plan.inserts.empty()) {
        auto expression = c.exec("SELECT value FROM {s}.meta WHERE key = 'search_vector'");
        std::set<std::string_view> targets;
        for (const auto& e : plan.inserts)
          if (written.contains(e.index)) targets.insert(e.index);
        for (const auto target : targets) {
          c.seal(target);
          if (detail::pg_rows(expression) == 1) c.build_search_index(target, detail::pg_view(expression, 0, 0));
        }
      }
      auto columns = [](const std::vector<alias_entry>& entries, std::vector<std::string_view>& alias_column,
                        std::vector<std::string_view>& index_column) {
        for (const auto& e : entries) alias_column.push_back(e.alias), index_column.push_back(e.index);
      };
      if (!plan.deletes.empty()) {
        std::vector<std::string_view> a, i;
        columns(plan.deletes, a, i);
        c.exec("DELETE FROM {s}.aliases WHERE (alias, idx) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
               detail::pg_params().text_array(a).text_array(i));
      }
      if (!plan.inserts.empty()) {
        std::vector<std::string_view> a, i;
        columns(plan.inserts, a, i);
        c.exec("INSERT INTO {s}.aliases(alias, idx) SELECT * FROM unnest($1::text[], $2::text[])",
               detail::pg_params().text_array(a).text_array(i));
      }
    });
  }

  /// Every name is checked before any index is deleted: a failure deletes nothing.
  void delete_indices(std::span<const std::string> names) {
    for (const auto& name : names) validate_index_name(name);
    if (names.empty()) return;
    std::vector<std::string_view> storable;
    for (const auto& name : names)
      if (detail::pg_storable_text(name)) storable.push_back(name);
    write("deleting indices", false, [&](detail::pg_connection& c) {
      lock_names(c);
      // Row locks first: a bulk write holding its index's row finishes before the documents go, and
      // none starts after.
      auto present = c.exec("SELECT name FROM {s}.indices WHERE name = ANY ($1::text[]) ORDER BY name FOR UPDATE",
                            detail::pg_params().text_array(storable));
      std::set<std::string, std::less<>> existing;
      for (int row = 0; row < detail::pg_rows(present); ++row) existing.insert(detail::pg_text(present, row, 0));
      auto carried = c.exec("SELECT idx, min(alias) FROM {s}.aliases WHERE idx = ANY ($1::text[]) GROUP BY idx",
                            detail::pg_params().text_array(storable));
      std::map<std::string, std::string, std::less<>> alias_of;
      for (int row = 0; row < detail::pg_rows(carried); ++row)
        alias_of.emplace(detail::pg_text(carried, row, 0), detail::pg_text(carried, row, 1));
      for (const auto& name : names) {
        if (!existing.contains(name)) throw error(errc::not_found, "cannot delete index '" + name + "': no such index");
        if (auto it = alias_of.find(name); it != alias_of.end())
          throw error(errc::conflict, "refusing to delete index '" + name + "': it carries alias '" + it->second + "'");
      }
      // Their tables go with them (and their keys and search indexes): dropping a partition locks
      // `documents` whole until the commit, a moment in which readers of other indices wait.
      auto gone = c.exec("DELETE FROM {s}.indices WHERE name = ANY ($1::text[]) RETURNING md5(name)",
                         detail::pg_params().text_array(storable));
      for (int row = 0; row < detail::pg_rows(gone); ++row)
        c.exec_simple("DROP TABLE {s}." + detail::pg_index_table(detail::pg_view(gone, row, 0)));
    });
  }

  /// Documents of `index` whose postgres_options::search_fields hold the words of `text` (web-search
  /// syntax: words are ANDed, "quoted phrases", `or`, -excluded; case-insensitive, no stemming), best
  /// ranked first, ties by id; at most `limit`. Served by the index's GIN search index (documents_search_<md5 of its name>). Refused with
  /// errc::invalid_config when no search field is configured.
  [[nodiscard]] std::vector<stored_document> search(std::string_view index, std::string_view text, std::size_t limit) const {
    if (limit == 0) throw error(errc::invalid_config, "search limit must be positive");
    if (!detail::pg_storable_text(text)) throw error(errc::invalid_config, "search text is not valid UTF-8 text");
    const std::string tsv = detail::pg_search_vector(conn().options().search_fields);
    if (tsv.empty()) throw error(errc::invalid_config, "search needs postgres_options::search_fields: this store has none");
    const auto capped = std::min<std::size_t>(limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max()));
    const std::string statement =
      "SELECT i.found, d.id, d.json, i.sealed FROM {i} LEFT JOIN LATERAL (SELECT id, json, ts_rank(" + tsv + ", q) AS rank "
      "FROM {d} x, websearch_to_tsquery('simple'::regconfig, $2) q WHERE {ready} AND idx = $1 AND " + tsv + " @@ q "
      "ORDER BY rank DESC, id LIMIT $3) d ON true ORDER BY d.rank DESC, d.id";
    return read_index("searching documents", index, [&](detail::pg_connection& c, bool sealed) {
      auto r = c.exec(over_documents(c, sealed, statement),
                      detail::pg_params().text(index).text(text).int8(static_cast<std::int64_t>(capped)));
      check_state(r, index, sealed);
      std::vector<stored_document> out;
      for (int row = 0; row < detail::pg_rows(r); ++row)
        if (!detail::pg_null(r, row, 1)) out.push_back({detail::pg_text(r, row, 1), detail::pg_text(r, row, 2)});
      return out;
    });
  }

  /// The server process of this instance's connection (pg_stat_activity.pid), 0 when not connected.
  [[nodiscard]] int backend_pid() const {
    auto& c = conn();
    std::lock_guard lock(c.mutex());
    return c.backend_pid();
  }

 private:
  detail::pg_connection& conn() const {
    if (!conn_) throw error(errc::store_unavailable, "postgres_index used after it was moved from");
    return *conn_;
  }

  template <class F>
  auto write(std::string_view what, bool idempotent, F&& f) -> decltype(f(std::declval<detail::pg_connection&>())) {
    auto& c = conn();
    std::lock_guard lock(c.mutex());
    if (c.schema_version() < detail::postgres_schema_version)
      throw error(errc::store_unavailable, c.prefix(what) + "the schema has version " + std::to_string(c.schema_version()) +
                                             ", which this tributary only reads: open it once with create_schema to "
                                             "migrate it to version " + std::to_string(detail::postgres_schema_version));
    return c.transact(detail::pg_txn::write, idempotent, what, [&] { return f(c); });
  }

  template <class F>
  auto read(std::string_view what, F&& f) const -> decltype(f(std::declval<detail::pg_connection&>())) {
    auto& c = conn();
    std::lock_guard lock(c.mutex());
    return c.transact(detail::pg_txn::none, true, what, [&] { return f(c); });
  }

  /// `f(connection, sealed)` reads index `index` with a statement of over_documents. A table without
  /// keys is sealed first by a connection that may write the schema; one that may not reads the newest
  /// row of each id instead.
  template <class F>
  auto read_index(std::string_view what, std::string_view index, F&& f) const
    -> decltype(f(std::declval<detail::pg_connection&>(), true)) {
    if (!detail::pg_storable_text(index)) missing(index);
    try {
      return read(what, [&](detail::pg_connection& c) { return f(c, true); });
    } catch (const detail::pg_unsealed&) {
    }
    if (conn().options().create_schema) {
      const_cast<postgres_index*>(this)->write("sealing an index", true, [&](detail::pg_connection& c) { c.seal(index); });
      try {
        return read(what, [&](detail::pg_connection& c) { return f(c, true); });
      } catch (const detail::pg_unsealed&) {  // deleted and created again meanwhile
      }
    }
    return read(what, [&](detail::pg_connection& c) { return f(c, false); });
  }

  /// A read of one index's documents ($1), written with {i} for a row of its state (found, sealed),
  /// {d} for its rows (to be given an alias) and {ready} for when they are read: on the first try
  /// (`sealed`) only when its table has keys, so that a table without them is not read for nothing.
  /// `sealed` false: {d} is the newest row of each id, as a table is before it is sealed.
  static std::string over_documents(const detail::pg_connection& c, bool sealed, std::string_view statement) {
    // A reader of a schema before version 4 has keys and no sealed column.
    const std::string_view state = c.schema_version() < 4
                                     ? "(SELECT count(*) > 0 AS found, true AS sealed FROM {s}.indices WHERE name = $1) i"
                                     : "(SELECT count(*) > 0 AS found, coalesce(bool_and(sealed), false) AS sealed "
                                       "FROM {s}.indices WHERE name = $1) i";
    const std::string_view rows =
      sealed ? "{s}.documents" : "(SELECT DISTINCT ON (id) idx, id, json, seq FROM {s}.documents WHERE idx = $1 ORDER BY id, seq DESC)";
    const std::string_view ready = sealed ? "i.found AND i.sealed" : "i.found";
    std::string out;
    for (std::size_t at = 0; at < statement.size();) {
      if (statement.compare(at, 3, "{i}") == 0) out += state, at += 3;
      else if (statement.compare(at, 3, "{d}") == 0) out += rows, at += 3;
      else if (statement.compare(at, 7, "{ready}") == 0) out += ready, at += 7;
      else out += statement[at++];
    }
    return out;
  }

  /// After a read of over_documents: the index exists, and was read as it is.
  static void check_state(const detail::pg_result& r, std::string_view index, bool sealed) {
    if (detail::pg_rows(r) == 0 || !detail::pg_bool(r, 0, 0)) missing(index);
    if (sealed && !detail::pg_bool(r, 0, PQnfields(r.get()) - 1)) throw detail::pg_unsealed{};
  }

  [[noreturn]] static void missing(std::string_view index) {
    throw error(errc::not_found, "no such index '" + std::string(index) + "'");
  }

  static void require_storable(std::string_view name, std::string_view kind) {
    if (!detail::pg_storable_text(name))
      throw error(errc::invalid_name, std::string(kind) + " name '" + std::string(name) +
                                        "' is not valid UTF-8, which a PostgreSQL store cannot hold");
  }

  /// The lock every name-changing write takes first: they run one at a time, readers never wait.
  static void lock_names(detail::pg_connection& c) { c.exec_simple("LOCK TABLE {s}.aliases IN SHARE ROW EXCLUSIVE MODE"); }

  /// reserve_positions for a bulk write of `count` documents, sealing the index first when the write is
  /// smaller than postgres_options::append_min_documents.
  static detail::pg_write_target reserve_for_write(detail::pg_connection& c, std::string_view index,
                                                   std::size_t count) {
    auto target = reserve_positions(c, index, count);
    if (!target.sealed && count < c.options().append_min_documents) {
      c.seal(index);
      target.sealed = true;
    }
    return target;
  }

  /// Takes `count` change positions of `index`: the row lock this takes (to the end of the transaction)
  /// orders writers to one index, so positions commit in order. errc::not_found for a missing index.
  static detail::pg_write_target reserve_positions(detail::pg_connection& c, std::string_view index,
                                                   std::size_t count) {
    if (!detail::pg_storable_text(index)) missing(index);
    auto r = c.exec("UPDATE {s}.indices SET changes = changes + $2 WHERE name = $1 "
                    "RETURNING changes - $2, md5(name), sealed",
                    detail::pg_params().text(index).int8(static_cast<std::int64_t>(count)));
    if (detail::pg_rows(r) == 0) missing(index);
    return {"{s}." + detail::pg_index_table(detail::pg_view(r, 0, 1)), std::stoll(detail::pg_text(r, 0, 0)),
            detail::pg_bool(r, 0, 2)};
  }


  std::unique_ptr<detail::pg_connection> conn_;
};

static_assert(index_backend<postgres_index> && exists_many_store<postgres_index> &&
              insert_if_absent_store<postgres_index> && document_delete_store<postgres_index> &&
              change_cursor_store<postgres_index> && padded_text_store<postgres_index>);

}  // namespace tributary
