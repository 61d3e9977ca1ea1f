#pragma once
// pg_connection: the PostgreSQL store's libpq connection. It prepares the schema when it connects
// (postgres/schema.hpp), runs statements with binary parameters (postgres/wire.hpp) and COPY, runs a
// transaction again after a lost connection or a rolled-back conflict, maps server errors to
// tributary::error with every secret of the URL scrubbed (postgres/target.hpp), and seals an index's
// table. The store (postgres_index) holds one and guards it with its mutex.

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#include <tributary/error.hpp>
#include <tributary/index/postgres/options.hpp>
#include <tributary/index/postgres/schema.hpp>
#include <tributary/index/postgres/target.hpp>
#include <tributary/index/postgres/wire.hpp>

namespace tributary::detail {

/// The connection dropped: libpq reports CONNECTION_BAD. Never leaves postgres_index.
struct pg_lost {
  std::string message;
};

/// The server refused a statement; the connection is still good. Never leaves postgres_index.
struct pg_server_error {
  std::string sqlstate;
  std::string message;
};

/// A bulk write met a document the server refuses (bad JSON, a NUL byte, ...): find it item by item.
struct pg_bad_item {};
/// A read found its index's table without keys (pg_connection::seal).
struct pg_unsealed {};

[[nodiscard]] inline bool pg_retryable(std::string_view sqlstate) {
  return sqlstate == "40001" || sqlstate == "40P01";  // serialization failure, deadlock: rolled back
}

enum class pg_txn {
  none,   ///< one statement, autocommit
  read,   ///< REPEATABLE READ, READ ONLY: several statements, one snapshot
  write,  ///< READ COMMITTED; writers serialise through explicit locks
};

class pg_connection {
 public:
  pg_connection(std::string url, postgres_options options)
      : url_(std::move(url)), options_(std::move(options)), target_(pg_parse_target(url_)) {
    validate_postgres_schema(options_.schema);
    if (options_.connect_timeout.count() < 0 || options_.lock_timeout.count() < 0)
      throw error(errc::invalid_config, "postgres timeouts must not be negative");
    connect();
  }
  pg_connection(const pg_connection&) = delete;
  pg_connection& operator=(const pg_connection&) = delete;
  ~pg_connection() { drop(); }

  [[nodiscard]] std::mutex& mutex() noexcept { return mu_; }
  [[nodiscard]] const std::string& description() const noexcept { return target_.description; }
  [[nodiscard]] const postgres_options& options() const noexcept { return options_; }
  [[nodiscard]] int backend_pid() const noexcept { return conn_ != nullptr ? PQbackendPID(conn_) : 0; }
  [[nodiscard]] int schema_version() const noexcept { return version_; }

  /// `sql` with `{s}` replaced by the quoted schema name.
  [[nodiscard]] std::string sql(std::string_view text) const {
    std::string out;
    out.reserve(text.size() + 32);
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text.compare(i, 3, "{s}") == 0) {
        out += schema_sql_;
        i += 2;
      } else {
        out += text[i];
      }
    }
    return out;
  }

  /// Runs one statement; throws pg_lost or pg_server_error.
  pg_result exec(std::string_view statement, const pg_params& params = {}) {
    const std::string text = sql(statement);
    return check(PQexecParams(conn_, text.c_str(), params.size(), params.types(), params.values(), params.lengths(),
                              params.formats(), 0));
  }

  /// Runs statements without parameters (several allowed).
  pg_result exec_simple(std::string_view statements) {
    const std::string text = sql(statements);
    return check(PQexec(conn_, text.c_str()));
  }

  /// COPY ... FROM STDIN. `produce(buffer, send)` appends the stream to `buffer` and calls
  /// `send(view)` whenever it likes: the buffer goes out, then `view` (empty: nothing more) unbuffered.
  template <class Producer>
  void copy_in(std::string_view statement, Producer&& produce) {
    auto started = exec(statement);
    if (PQresultStatus(started.get()) != PGRES_COPY_IN)
      throw pg_server_error{"XX000", "the server did not start a COPY"};
    std::string buffer;
    bool ok = true;
    auto put = [&](std::string_view bytes) {
      if (ok && !bytes.empty() && PQputCopyData(conn_, bytes.data(), static_cast<int>(bytes.size())) != 1) ok = false;
    };
    auto send = [&](std::string_view direct) {
      put(buffer);
      buffer.clear();
      put(direct);
    };
    // A producer that throws leaves the COPY open: the ROLLBACK that follows ends it (libpq's PQexec
    // ends a COPY IN with an error before it sends), on the same connection.
    produce(buffer, send);
    send({});
    if (PQputCopyEnd(conn_, ok ? nullptr : "tributary could not send the data") != 1 || !ok) {
      if (PQstatus(conn_) == CONNECTION_BAD) throw pg_lost{pg_trim(PQerrorMessage(conn_))};
    }
    // The COPY's own result, then nullptr.
    std::optional<pg_server_error> failure;
    std::optional<pg_lost> lost;
    while (PGresult* r = PQgetResult(conn_)) {
      try {
        check(r);
      } catch (const pg_server_error& e) {
        if (!failure) failure = e;
      } catch (const pg_lost& e) {
        lost = e;
        break;
      }
    }
    if (lost) throw *lost;
    if (PQstatus(conn_) == CONNECTION_BAD) throw pg_lost{pg_trim(PQerrorMessage(conn_))};
    if (failure) throw *failure;
    if (!ok) throw pg_server_error{"XX000", "the COPY data could not be sent"};
  }

  /// `f` in a transaction of the given kind (none: as it is). Reconnects and runs `f` again once when
  /// the connection dropped, unless a COMMIT was sent and `idempotent` is false; retries rolled-back
  /// serialization failures and deadlocks. Maps server errors to tributary::error.
  template <class F>
  auto transact(pg_txn kind, bool idempotent, std::string_view what, F&& f) -> decltype(f()) {
    bool reconnected = false;
    int conflicts = 0;
    auto pause = std::chrono::milliseconds(1);
    while (true) {
      bool commit_sent = false;
      try {
        ensure_connected();
        if (kind == pg_txn::read) exec_simple("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        if (kind == pg_txn::write) exec_simple("BEGIN");
        if constexpr (std::is_void_v<decltype(f())>) {
          f();
          if (kind != pg_txn::none) {
            commit_sent = true;
            exec_simple("COMMIT");
          }
          return;
        } else {
          auto result = f();
          if (kind != pg_txn::none) {
            commit_sent = true;
            exec_simple("COMMIT");
          }
          return result;
        }
      } catch (const pg_lost& e) {
        drop();
        if (commit_sent && !idempotent)
          throw error(errc::store_unavailable,
                      prefix(what) + "the connection was lost while committing, so whether the change was applied is "
                                     "unknown: " + e.message);
        if (reconnected)
          throw error(errc::store_unavailable, prefix(what) + "the connection was lost again after reconnecting: " + e.message);
        reconnected = true;
      } catch (const pg_server_error& e) {
        rollback_quietly();
        if (pg_retryable(e.sqlstate) && ++conflicts < 20) {
          std::this_thread::sleep_for(pause);
          pause = std::min(pause * 2, std::chrono::milliseconds(50));
          continue;
        }
        throw to_error(what, e);
      } catch (...) {
        rollback_quietly();
        throw;
      }
    }
  }

  [[nodiscard]] error to_error(std::string_view what, const pg_server_error& e) const {
    std::string text = prefix(what) + e.message + " (SQLSTATE " + e.sqlstate + ")";
    if (e.sqlstate == "55P03" || e.sqlstate == "57014")  // lock_not_available (lock_timeout), query_canceled
      return error(errc::timed_out, text + "; waited longer than the lock timeout (" +
                                        std::to_string(options_.lock_timeout.count()) + " ms)");
    return error(errc::store_unavailable, text);
  }

  [[nodiscard]] std::string prefix(std::string_view what) const {
    return "postgres store '" + target_.description + "' (schema " + options_.schema + "): " + std::string(what) + ": ";
  }

 private:
  pg_result check(PGresult* raw) {
    pg_result r(raw);
    const auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_IN) return r;
    if (conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD)
      throw pg_lost{target_.scrub(pg_trim(r ? PQresultErrorMessage(r.get()) : PQerrorMessage(conn_)))};
    const char* state = r ? PQresultErrorField(r.get(), PG_DIAG_SQLSTATE) : nullptr;
    const char* primary = r ? PQresultErrorField(r.get(), PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    const char* detail = r ? PQresultErrorField(r.get(), PG_DIAG_MESSAGE_DETAIL) : nullptr;
    std::string message = primary != nullptr ? primary : pg_trim(PQerrorMessage(conn_));
    if (detail != nullptr) message += std::string(" (") + detail + ")";
    throw pg_server_error{state != nullptr ? state : "XX000", target_.scrub(std::move(message))};
  }

  void ensure_connected() {
    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) {
      if (PQtransactionStatus(conn_) != PQTRANS_IDLE) rollback_quietly();
      if (conn_ != nullptr) return;
    }
    drop();
    connect();
  }

  void rollback_quietly() noexcept {
    if (conn_ == nullptr) return;
    if (PQstatus(conn_) != CONNECTION_OK) return drop();
    if (PQtransactionStatus(conn_) == PQTRANS_IDLE) return;
    PQclear(PQexec(conn_, "ROLLBACK"));
    if (PQstatus(conn_) != CONNECTION_OK || PQtransactionStatus(conn_) != PQTRANS_IDLE) drop();
  }

  void drop() noexcept {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = nullptr;
  }

  void connect() {
    const std::string timeout = std::to_string(options_.connect_timeout.count());
    // Processed in order, later ones win: ours first, so that the URL may override them; the client
    // encoding last, since every text we send is UTF-8.
    const char* keywords[] = {"connect_timeout", "fallback_application_name", "dbname", "client_encoding", nullptr};
    const char* values[] = {timeout.c_str(), options_.application_name.c_str(), url_.c_str(), "UTF8", nullptr};
    conn_ = PQconnectdbParams(keywords, values, 1);
    if (conn_ == nullptr)
      throw error(errc::store_unavailable, "cannot connect to postgres store '" + target_.description + "': out of memory");
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string why = target_.scrub(pg_trim(PQerrorMessage(conn_)));
      drop();
      throw error(errc::store_unavailable, "cannot connect to postgres store '" + target_.description + "': " + why);
    }
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);  // "already exists, skipping" is not news
    try {
      if (schema_sql_.empty()) {
        char* quoted = PQescapeIdentifier(conn_, options_.schema.data(), options_.schema.size());
        if (quoted == nullptr) throw pg_server_error{"XX000", pg_trim(PQerrorMessage(conn_))};
        schema_sql_ = quoted;
        PQfreemem(quoted);
      }
      exec("SELECT set_config('lock_timeout', $1, false)", pg_params().text(std::to_string(options_.lock_timeout.count())));
      if (!schema_ready_) {
        prepare_schema();
        schema_ready_ = true;
      }
      // The staging table of COPY bulk writes: one per session, emptied at every commit.
      exec_simple("CREATE TEMP TABLE IF NOT EXISTS tributary_load (id text COLLATE \"C\" NOT NULL, json text NOT NULL, "
                  "seq bigint NOT NULL) ON COMMIT DELETE ROWS");
    } catch (const pg_lost& e) {
      drop();
      throw error(errc::store_unavailable, prefix("setting up the connection") + e.message);
    } catch (const pg_server_error& e) {
      rollback_quietly();
      drop();
      throw to_error("setting up the connection", e);
    } catch (...) {
      rollback_quietly();
      drop();
      throw;
    }
  }

  /// Creates the schema and its tables unless they exist; refuses a schema of another application or
  /// of a newer version. An advisory lock serialises processes that start at once.
  void prepare_schema() {
    exec_simple("BEGIN");
    exec("SELECT pg_advisory_xact_lock(1953655138, hashtext($1))", pg_params().text("tributary schema " + options_.schema));
    auto state = exec("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1), to_regclass($2) IS NOT NULL",
                      pg_params().text(options_.schema).text(schema_sql_ + ".meta"));
    const bool schema_exists = pg_bool(state, 0, 0), meta_exists = pg_bool(state, 0, 1);
    if (meta_exists) {
      auto v = exec("SELECT value FROM {s}.meta WHERE key = 'schema_version'");
      const std::string version = pg_rows(v) == 1 ? pg_text(v, 0, 0) : std::string("none");
      if (version == "1" || version == "2" || version == "3") {
        // A store of an earlier version: a connection that may write the schema migrates it, one that
        // only reads reads it as it is (version 1 has no change positions) and writes nothing.
        if (options_.create_schema) {
          if (version == "1") exec_simple(postgres_migration_v2);
          if (version != "3") exec_simple(postgres_migration_v3);
          exec_simple(postgres_migration_v4);
        }
        version_ = options_.create_schema ? postgres_schema_version : version[0] - '0';
      } else if (version != std::to_string(postgres_schema_version)) {
        const bool newer = std::all_of(version.begin(), version.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                           !version.empty() && version.size() < 19 && std::stoll(version) > postgres_schema_version;
        throw error(errc::store_unavailable,
                    prefix("checking the schema") + "schema version " + version +
                      (newer ? ", newer than version " + std::to_string(postgres_schema_version) +
                                 " that this tributary understands; upgrade tributary"
                             : " is not one this tributary knows"));
      } else {
        version_ = postgres_schema_version;
      }
    } else {
      if (!options_.create_schema)
        throw error(errc::not_found, prefix("checking the schema") + "there is no tributary store in schema '" +
                                         options_.schema + "' (not created: this connection only reads)");
      if (schema_exists) {
        auto n = exec("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1",
                      pg_params().text(options_.schema));
        if (pg_text(n, 0, 0) != "0")
          throw error(errc::store_unavailable, prefix("checking the schema") +
                                                 "the schema exists and holds tables of another application; "
                                                 "choose another schema in postgres_options");
      } else {
        exec_simple("CREATE SCHEMA {s}");
      }
      exec_simple(postgres_schema_ddl);
      exec_simple(postgres_migration_v2);
      exec_simple(postgres_migration_v3);
      exec_simple(postgres_migration_v4);
      version_ = postgres_schema_version;
    }
    prepare_search_index();
    exec_simple("COMMIT");
  }

  /// The schema's search expression, recorded in meta by a connection with postgres_options::search_fields,
  /// under prepare_schema's lock. Every index that carries an alias has a search index over it
  /// (build_search_index); a recorded expression over other fields is refused (two users would rebuild
  /// them in turn). A store that had none (new, migrated, or generic until now) gets one for every index
  /// that carries an alias.
  void prepare_search_index() {
    const std::string wanted = pg_search_vector(options_.search_fields);
    if (wanted.empty() || !options_.create_schema) return;
    auto recorded = exec("SELECT value FROM {s}.meta WHERE key = 'search_vector'");
    if (pg_rows(recorded) == 1) {
      if (pg_text(recorded, 0, 0) == wanted) return;
      throw error(errc::invalid_config, prefix("checking the search index") + "the schema's search index reads " +
                                          pg_text(recorded, 0, 0) + ", not " + wanted +
                                          ": every user of a schema must give the same postgres_options::search_fields");
    }
    exec("INSERT INTO {s}.meta(key, value) VALUES ('search_vector', $1)", pg_params().text(wanted));
    auto aliased = exec("SELECT DISTINCT idx FROM {s}.aliases ORDER BY idx");
    for (int row = 0; row < pg_rows(aliased); ++row) build_search_index(pg_text(aliased, row, 0), wanted);
  }

 public:
  /// The search index of one index: a GIN index over `expression` of its table, named
  /// documents_search_<md5 of the name>. An index is written without one (its documents are parsed
  /// once, here, rather than row by row as they are written) and gets it when an alias first moves to
  /// it with documents, in that transaction, so no reader ever reaches them through an alias before
  /// their search index exists. CREATE INDEX holds a SHARE lock on that table alone while it builds:
  /// its readers go on, nobody else waits.
  void build_search_index(std::string_view index, std::string_view expression) {
    auto md5 = exec("SELECT md5($1)", pg_params().text(index));
    exec_simple("CREATE INDEX IF NOT EXISTS documents_search_" + pg_text(md5, 0, 0) + " ON {s}." +
                pg_index_table(pg_view(md5, 0, 0)) + " USING gin ((" + std::string(expression) + "))");
  }

  /// Gives index `index` its keys unless it has them: its table is filled without any (a bulk write
  /// into it appends, its positions saying which row of an id is the newest), and is sealed the first
  /// time something needs them (a read, an insert_if_absent, an alias moving to it with documents):
  /// the older rows of an id go, then the unique key of ids and the key of positions are built, each
  /// in one pass over the table instead of row by row. Takes the index's row lock, as writers do.
  void seal(std::string_view index) {
    auto r = exec("UPDATE {s}.indices SET sealed = true WHERE name = $1 AND NOT sealed RETURNING md5(name)",
                  pg_params().text(index));
    if (pg_rows(r) == 0) return;
    const std::string part = pg_index_table(pg_view(r, 0, 0)), table = "{s}." + part;
    exec_simple("DELETE FROM " + table + " d USING (SELECT id, max(seq) AS newest FROM " + table +
                " GROUP BY id HAVING count(*) > 1) n WHERE d.id = n.id AND d.seq < n.newest");
    exec_simple("CREATE UNIQUE INDEX " + part + "_id ON " + table + " (id)");
    exec_simple("CREATE INDEX " + part + "_seq ON " + table + " (seq)");
  }

  /// `text` as an SQL string literal, for statements that take no parameters (DDL).
  [[nodiscard]] std::string literal(std::string_view text) {
    char* quoted = PQescapeLiteral(conn_, text.data(), text.size());
    if (quoted == nullptr) throw pg_server_error{"XX000", pg_trim(PQerrorMessage(conn_))};
    std::string out = quoted;
    PQfreemem(quoted);
    return out;
  }

 private:
  std::string url_;
  postgres_options options_;
  pg_target target_;
  std::string schema_sql_;
  bool schema_ready_ = false;
  int version_ = 0;  ///< of the schema found: the current one, or 1, 2 or 3 for a reader of an old store
  PGconn* conn_ = nullptr;
  std::mutex mu_;
};

}  // namespace tributary::detail
