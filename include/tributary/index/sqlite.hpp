#pragma once
// sqlite_index: an index backend in one SQLite file that collectors in several processes use at once.
//
// Link tributary::sqlite. The file runs in WAL mode, so readers never wait for writers and always see
// a committed state: an atomic alias update is seen whole or not at all. Every write is one
// BEGIN IMMEDIATE ... COMMIT transaction (rolled back on any failure) with synchronous=FULL, so a write
// is durable once the call returns. A connection that finds the write lock taken waits up to
// `sqlite_options::busy_timeout`, then throws errc::timed_out.
//
// One instance may be shared by the threads of a process (a mutex guards its connection). Processes
// that fork() should open their sqlite_index after the fork, never carry one into a child: SQLite's
// POSIX locks are per process (see SQLite's "How To Corrupt An SQLite Database File", section 2.6).
//
// Schema (version 2, in PRAGMA user_version; PRAGMA application_id marks the file as tributary's):
//   indices(name, changes)        concrete indices; `changes` is the last change position given out
//   documents(idx, id, json, seq) WITHOUT ROWID, keyed by (idx, id); ids compare bytewise (BINARY);
//                                 `seq` the position of the document's latest write (index on idx, seq)
//   aliases(alias, idx)           WITHOUT ROWID, keyed by (alias, idx)
// A version 1 file (before the change cursor) is migrated in place by the first writer that opens it,
// in one transaction; a read-only connection reads it as it is, without changes_since. Positions come
// from `indices.changes` inside the write transaction, and writes are serialised by SQLite's write
// lock, so positions are committed in order: a reader never sees one before a smaller one.
// Every name and value reaches SQL as a bound parameter; statements are prepared once per connection.

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <tributary/concepts.hpp>
#include <tributary/detail/json_text.hpp>
#include <tributary/detail/percent.hpp>
#include <tributary/error.hpp>
#include <tributary/index/alias_table.hpp>
#include <tributary/index/types.hpp>
#include <tributary/index/names.hpp>
#include <tributary/redact.hpp>

namespace tributary {

struct sqlite_options {
  /// How long an operation waits for another connection's write lock before errc::timed_out.
  std::chrono::milliseconds busy_timeout{std::chrono::seconds(10)};
  /// Open for reading only (SQLITE_OPEN_READONLY), for a reader such as catalogue_query: the file must
  /// exist (errc::not_found otherwise) and be a tributary store (errc::invalid_config otherwise); no
  /// store file is created, the journal mode is never set, no schema is created, and every write operation
  /// throws errc::invalid_config. Reads run alongside the writers of other connections (WAL); like any
  /// connection to a WAL store, a reader opens (creating them when missing) the store's -wal and -shm
  /// files, but it never writes to the store file itself.
  bool read_only = false;
};

namespace detail {

/// Thrown inside the connection when SQLite answers SQLITE_BUSY; the retry loop turns it into a retry
/// or, past the deadline, into errc::timed_out. It never leaves sqlite_index.
struct sqlite_busy {};

inline constexpr int sqlite_schema_version = 2;
inline constexpr int sqlite_application_id = 0x74726962;  // "trib"
static_assert(sqlite_application_id == 1953655138, "the schema script below spells the application id out");

/// Version 1, as every store before the change cursor was created; a new store runs it and then the
/// migrations, so new and migrated stores are alike.
inline constexpr const char* sqlite_schema_v1 = R"sql(
CREATE TABLE IF NOT EXISTS indices (
  name TEXT NOT NULL PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS documents (
  idx  TEXT NOT NULL REFERENCES indices(name) ON DELETE CASCADE,
  id   TEXT NOT NULL,
  json TEXT NOT NULL,
  PRIMARY KEY (idx, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS aliases (
  alias TEXT NOT NULL,
  idx   TEXT NOT NULL REFERENCES indices(name) ON DELETE RESTRICT,
  PRIMARY KEY (alias, idx)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS aliases_by_index ON aliases(idx);
PRAGMA application_id = 1953655138;
PRAGMA user_version = 1;
)sql";

/// Version 1 to 2: change positions. Existing documents get positions in the order of
/// tributary_next_position(), a function of the migrating connection: they were written before
/// positions existed, so any order will do, and the backfill reads each row once.
inline constexpr const char* sqlite_migration_v2 = R"sql(
ALTER TABLE indices ADD COLUMN changes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE documents ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE documents SET seq = tributary_next_position();
UPDATE indices SET changes = (SELECT coalesce(max(seq), 0) FROM documents WHERE idx = indices.name);
CREATE INDEX documents_by_change ON documents(idx, seq);
PRAGMA user_version = 2;
)sql";

/// The smallest string greater than every string starting with `prefix`, or nullopt when there is
/// none (empty prefix, or only 0xFF bytes). Prefix listing is the range [prefix, successor).
[[nodiscard]] inline std::optional<std::string> prefix_successor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty() && static_cast<unsigned char>(s.back()) == 0xFF) s.pop_back();
  if (s.empty()) return std::nullopt;
  s.back() = static_cast<char>(static_cast<unsigned char>(s.back()) + 1);
  return s;
}

class sqlite_connection;

/// A cached prepared statement in use: bound on the way in, reset and unbound on the way out.
class sqlite_query {
 public:
  sqlite_query(sqlite_connection& c, std::string_view sql);
  sqlite_query(const sqlite_query&) = delete;
  sqlite_query& operator=(const sqlite_query&) = delete;
  ~sqlite_query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  sqlite_query& bind(int position, std::string_view text);
  sqlite_query& bind(int position, std::int64_t value);
  /// Steps once: true when a row is ready, false when the statement is done.
  bool next();
  void run() {
    while (next()) {
    }
  }
  /// The column's text, valid until the next step; empty for NULL.
  [[nodiscard]] std::string_view view(int column) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    if (p == nullptr) return {};
    return {p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))};
  }
  [[nodiscard]] std::string text(int column) const { return std::string(view(column)); }
  /// A document's text, with room for a parser's padding (detail::padded_text).
  [[nodiscard]] std::string document_text(int column) const { return detail::padded_text(view(column)); }
  [[nodiscard]] std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }

 private:
  sqlite_connection& conn_;
  sqlite3_stmt* stmt_;
};

class sqlite_connection {
 public:
  sqlite_connection(std::string path, sqlite_options options) : path_(std::move(path)), options_(options) {
    // Our mutex serialises use (NOMUTEX). A reader opens without SQLITE_OPEN_CREATE: a mistyped path
    // must not leave an empty store behind.
    const int flags = (options_.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                      SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close_v2(db_);
      db_ = nullptr;
      std::error_code ec;
      if (options_.read_only && (rc & 0xff) == SQLITE_CANTOPEN && !std::filesystem::exists(path_, ec))
        throw error(errc::not_found, "sqlite database '" + path_ + "' does not exist");
      throw error(errc::store_unavailable, "cannot open sqlite database '" + path_ + "': " + message);
    }
    try {
      sqlite3_extended_result_codes(db_, 1);
      const auto ms = std::clamp<std::chrono::milliseconds::rep>(options_.busy_timeout.count(), 0,
                                                                  std::numeric_limits<int>::max());
      sqlite3_busy_timeout(db_, static_cast<int>(ms));
      configure();
    } catch (...) {
      close();
      throw;
    }
  }
  sqlite_connection(const sqlite_connection&) = delete;
  sqlite_connection& operator=(const sqlite_connection&) = delete;
  ~sqlite_connection() { close(); }

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] bool read_only() const noexcept { return options_.read_only; }
  /// The schema version of the file: the current one, or an older one a read-only connection found.
  [[nodiscard]] int schema() const noexcept { return version_; }
  [[nodiscard]] std::mutex& mutex() noexcept { return mu_; }
  [[nodiscard]] sqlite3* handle() noexcept { return db_; }

  /// The cached statement for `sql`, prepared on first use.
  sqlite3_stmt* prepare(std::string_view sql) {
    if (auto it = statements_.find(sql); it != statements_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                      &stmt, nullptr);
    if (rc != SQLITE_OK) check(rc, "preparing a statement");
    statements_.emplace(std::string(sql), stmt);
    return stmt;
  }

  /// Throws for a failed result code: sqlite_busy for SQLITE_BUSY, errc::store_unavailable otherwise.
  void check(int rc, std::string_view what) const {
    if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return;
    last_failure_ = rc;
    if ((rc & 0xff) == SQLITE_BUSY) throw sqlite_busy{};
    throw error(errc::store_unavailable, "sqlite database '" + path_ + "': " + std::string(what) + ": " +
                                             sqlite3_errmsg(db_) + " (code " + std::to_string(rc) + ")");
  }

  /// Runs `f` until it completes without meeting a busy database, for at most the busy timeout.
  /// `f` must be safe to repeat: a transaction that met SQLITE_BUSY has been rolled back.
  template <class F>
  auto retrying(std::string_view what, F&& f) -> decltype(f()) {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + options_.busy_timeout;
    auto pause = std::chrono::milliseconds(1);
    while (true) {
      try {
        return f();
      } catch (const sqlite_busy&) {
        const auto now = clock::now();
        if (now >= deadline)
          throw error(errc::timed_out, "sqlite database '" + path_ + "': " + std::string(what) +
                                           ": the database stayed locked by another connection for longer than the "
                                           "busy timeout (" + std::to_string(options_.busy_timeout.count()) + " ms)");
        std::this_thread::sleep_for(std::min<clock::duration>(pause, deadline - now));
        pause = std::min(pause * 2, std::chrono::milliseconds(50));
      }
    }
  }

  /// `f` inside one transaction: BEGIN IMMEDIATE for writes (the write lock up front, so the
  /// transaction never has to upgrade and fail midway), BEGIN for reads (one consistent snapshot).
  /// Committed when `f` returns, rolled back when it throws.
  template <class F>
  auto transaction(bool write, std::string_view what, F&& f) -> decltype(f()) {
    return retrying(what, [&]() -> decltype(f()) {
      sqlite_query(*this, write ? "BEGIN IMMEDIATE" : "BEGIN").run();
      rollback_guard guard{*this};
      if constexpr (std::is_void_v<decltype(f())>) {
        f();
        sqlite_query(*this, "COMMIT").run();
        guard.armed = false;
      } else {
        auto result = f();
        sqlite_query(*this, "COMMIT").run();
        guard.armed = false;
        return result;
      }
    });
  }

 private:
  struct rollback_guard {
    sqlite_connection& conn;
    bool armed = true;
    ~rollback_guard() {
      if (armed && sqlite3_get_autocommit(conn.db_) == 0) sqlite3_exec(conn.db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  };

  void exec(const char* sql, std::string_view what) {
    check(sqlite3_exec(db_, sql, nullptr, nullptr, nullptr), what);
  }

  [[nodiscard]] std::int64_t pragma_integer(const char* sql, std::string_view what) {
    sqlite_query q(*this, sql);
    if (!q.next()) throw error(errc::store_unavailable, "sqlite database '" + path_ + "': " + std::string(what) + ": no result");
    return q.integer(0);
  }

  void configure() {
    if (options_.read_only) return configure_read_only();
    retrying("enabling foreign keys", [&] { exec("PRAGMA foreign_keys = ON", "enabling foreign keys"); });
    // Takes effect only on a new file. WITHOUT ROWID rows live whole in the B-tree, and catalogue
    // documents are large: with 16 KiB pages bulk writes of 1 KB documents ran 4x faster than with 4 KiB.
    retrying("setting the page size", [&] { exec("PRAGMA page_size = 16384", "setting the page size"); });
    retrying("setting WAL journal mode", [&] {
      sqlite_query q(*this, "PRAGMA journal_mode = WAL");
      const std::string mode = q.next() ? q.text(0) : std::string();
      if (mode != "wal")
        throw error(errc::store_unavailable,
                    "sqlite database '" + path_ + "': cannot use WAL journal mode (got '" + mode + "')");
    });
    // FULL: in WAL mode NORMAL may lose the last commits on power loss; an acknowledged write must not.
    retrying("setting synchronous mode", [&] { exec("PRAGMA synchronous = FULL", "setting synchronous mode"); });
    retrying("checking the schema", [&] {
      // The three reads of schema_version() in one snapshot: read one by one, they could straddle
      // another process's schema creation and see its tables without its application id.
      if (transaction(false, "reading the schema", [&] { return schema_version(); }) == sqlite_schema_version) return;
      transaction(true, "creating the schema", [&] {
        const int found = schema_version();  // another process may have created or migrated it meanwhile
        if (found == 0) check(sqlite3_exec(db_, sqlite_schema_v1, nullptr, nullptr, nullptr), "creating the schema");
        if (found < 2) migrate_to_2();
      });
    });
    version_ = sqlite_schema_version;
  }

  void migrate_to_2() {
    std::int64_t next = 0;
    auto position = [](sqlite3_context* ctx, int, sqlite3_value**) {
      auto* counter = static_cast<std::int64_t*>(sqlite3_user_data(ctx));
      sqlite3_result_int64(ctx, ++*counter);
    };
    check(sqlite3_create_function(db_, "tributary_next_position", 0, SQLITE_UTF8, &next, position, nullptr, nullptr),
          "registering the migration's function");
    const int rc = sqlite3_exec(db_, sqlite_migration_v2, nullptr, nullptr, nullptr);
    sqlite3_create_function(db_, "tributary_next_position", 0, SQLITE_UTF8, nullptr, nullptr, nullptr, nullptr);
    check(rc, "migrating the schema to version 2");
  }

  /// A reader changes nothing: no journal mode, page size or schema; the file must already hold
  /// tributary's schema. "Not a tributary store" is errc::invalid_config here: the reader was pointed
  /// at the wrong file.
  void configure_read_only() {
    const auto not_ours = [&](const std::string& why) {
      return error(errc::invalid_config, "sqlite database '" + path_ + "' is not a tributary store: " + why);
    };
    try {
      version_ = retrying("checking the schema", [&] {
        return transaction(false, "reading the schema", [&] { return schema_version(); });
      });
      if (version_ == 0) throw not_ours("it is empty");
    } catch (const error& e) {
      if (e.code() == errc::store_unavailable && (last_failure_ & 0xff) == SQLITE_NOTADB)
        throw not_ours("the file is not a database");
      throw;
    }
  }

  /// The version of tributary's schema the file holds (1 or 2), 0 for a new, empty database; throws
  /// for anything else.
  int schema_version() {
    // A writer cannot use the file; a reader was pointed at the wrong one.
    const errc foreign = options_.read_only ? errc::invalid_config : errc::store_unavailable;
    const auto app = pragma_integer("PRAGMA application_id", "reading the application id");
    const auto version = pragma_integer("PRAGMA user_version", "reading the schema version");
    if (app == 0 && version == 0) {
      sqlite_query q(*this, "SELECT count(*) FROM sqlite_master");
      if (q.next() && q.integer(0) == 0) return 0;
      throw error(foreign, "sqlite database '" + path_ + "' is not a tributary store: it holds tables of another application");
    }
    if (app != sqlite_application_id)
      throw error(foreign, "sqlite database '" + path_ + "' is not a tributary store (application id " +
                               std::to_string(app) + ")");
    if (version > sqlite_schema_version)
      throw error(errc::store_unavailable, "sqlite database '" + path_ + "' has schema version " +
                                               std::to_string(version) + ", newer than version " +
                                               std::to_string(sqlite_schema_version) +
                                               " that this tributary understands; upgrade tributary");
    if (version < 1)
      throw error(errc::store_unavailable, "sqlite database '" + path_ + "' has unknown schema version " +
                                               std::to_string(version));
    return static_cast<int>(version);
  }

  void close() noexcept {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    statements_.clear();
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = nullptr;
  }

  std::string path_;
  sqlite_options options_;
  sqlite3* db_ = nullptr;
  mutable int last_failure_ = SQLITE_OK;  ///< the result code check() last threw for
  int version_ = 0;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements_;
  std::mutex mu_;
};

inline sqlite_query::sqlite_query(sqlite_connection& c, std::string_view sql) : conn_(c), stmt_(c.prepare(sql)) {}

inline sqlite_query& sqlite_query::bind(int position, std::string_view text) {
  conn_.check(sqlite3_bind_text64(stmt_, position, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
              "binding a value");
  return *this;
}

inline sqlite_query& sqlite_query::bind(int position, std::int64_t value) {
  conn_.check(sqlite3_bind_int64(stmt_, position, value), "binding a value");
  return *this;
}

inline bool sqlite_query::next() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  conn_.check(rc, "running a statement");
  return false;
}

}  // namespace detail

class sqlite_index {
 public:
  using index_backend_concept = index_backend_tag;
  using exists_many_concept = exists_many_tag;
  using insert_if_absent_concept = insert_if_absent_tag;
  using document_delete_concept = document_delete_tag;
  using change_cursor_concept = change_cursor_tag;
  using padded_text_concept = padded_text_tag;

  /// Opens (creating if missing) the store at `path`. Throws errc::store_unavailable naming the path
  /// and SQLite's message when the file cannot be opened or is not a tributary store. With
  /// `options.read_only`, opens an existing store for reading only (see sqlite_options::read_only).
  explicit sqlite_index(std::string path, sqlite_options options = {})
      : conn_(std::make_unique<detail::sqlite_connection>(std::move(path), options)) {}

  /// `sqlite:///absolute/path.db`, or `sqlite://relative/path.db` (relative to the working directory).
  /// Path characters may be %-escaped. Query strings, fragments and in-memory databases are refused
  /// with errc::invalid_config: the store must be one file that other processes can open.
  [[nodiscard]] static sqlite_index open_url(std::string_view url, sqlite_options options = {}) {
    return sqlite_index(parse_url(url), options);
  }

  /// The file path a `sqlite://` URL names; see open_url.
  [[nodiscard]] static std::string parse_url(std::string_view url) {
    constexpr std::string_view scheme = "sqlite://";
    auto bad = [&](const std::string& why) {
      return error(errc::invalid_config, "sqlite URL " + detail::quote_url(url) + " " + why +
                                             "; expected sqlite:///absolute/path.db or sqlite://relative/path.db");
    };
    const bool has_scheme =
      url.size() >= scheme.size() && std::equal(scheme.begin(), scheme.end(), url.begin(), [](char a, char b) {
        return a == (b >= 'A' && b <= 'Z' ? static_cast<char>(b - 'A' + 'a') : b);
      });
    if (!has_scheme) throw bad("does not start with sqlite://");
    const std::string_view rest = url.substr(scheme.size());
    if (rest.find_first_of("?#") != std::string_view::npos) throw bad("has a query or fragment, which are not supported");
    auto decoded = detail::percent_decode(rest);
    if (!decoded) throw error(errc::invalid_config, "sqlite URL '" + std::string(url) + "' has a malformed %-escape");
    std::string path = std::move(*decoded);
    if (path.empty() || path == "/") throw bad("names no file");
    if (path.back() == '/') throw bad("names a directory, not a file");
    if (path == ":memory:" || path == "/:memory:")
      throw bad("names an in-memory database, which other processes cannot share");
    if (path.find('\0') != std::string::npos) throw bad("contains a NUL byte");
    return path;
  }

  sqlite_index(sqlite_index&&) noexcept = default;
  sqlite_index& operator=(sqlite_index&&) noexcept = default;
  sqlite_index(const sqlite_index&) = delete;
  sqlite_index& operator=(const sqlite_index&) = delete;
  ~sqlite_index() = default;

  [[nodiscard]] const std::string& path() const { return conn().path(); }

  void create_index(std::string_view name) {
    validate_index_name(name);
    write("creating an index", [&] {
      if (index_row_exists(name) || alias_row_exists(name))
        throw error(errc::already_exists, "index '" + std::string(name) + "' already exists");
      query("INSERT INTO indices(name) VALUES (?1)").bind(1, name).run();
    });
  }

  [[nodiscard]] bool index_exists(std::string_view name) const {
    return read("checking an index", [&] { return index_row_exists(name); });
  }

  bulk_result bulk_write(std::string_view index, std::span<const stored_document> docs) {
    return write("writing documents", [&] {
      std::int64_t position = last_position(index);
      bulk_result result;
      for (std::size_t i = 0; i < docs.size(); ++i) {
        const auto& d = docs[i];
        if (auto problem = refused(d)) {
          result.failures.push_back({i, d.id, std::move(*problem), false});
          continue;
        }
        query("INSERT INTO documents(idx, id, json, seq) VALUES (?1, ?2, ?3, ?4) "
              "ON CONFLICT(idx, id) DO UPDATE SET json = excluded.json, seq = excluded.seq")
          .bind(1, index)
          .bind(2, d.id)
          .bind(3, d.json)
          .bind(4, ++position)
          .run();
        ++result.written;
      }
      set_last_position(index, position);
      return result;
    });
  }

  /// Each document in one INSERT ... ON CONFLICT DO NOTHING, all in one transaction: SQLite's write
  /// lock makes the check and the insert one step for every other connection.
  insert_result insert_if_absent(std::string_view index, std::span<const stored_document> docs) {
    return write("inserting documents", [&] {
      std::int64_t position = last_position(index);
      insert_result result;
      result.items.reserve(docs.size());
      for (std::size_t i = 0; i < docs.size(); ++i) {
        const auto& d = docs[i];
        if (auto problem = refused(d)) {
          result.items.push_back(insert_result::outcome::failed);
          result.failures.push_back({i, d.id, std::move(*problem), false});
          continue;
        }
        query("INSERT INTO documents(idx, id, json, seq) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(idx, id) DO NOTHING")
          .bind(1, index)
          .bind(2, d.id)
          .bind(3, d.json)
          .bind(4, position + 1)
          .run();
        const bool inserted = sqlite3_changes(conn().handle()) > 0;
        position += inserted ? 1 : 0;
        result.items.push_back(inserted ? insert_result::outcome::inserted : insert_result::outcome::existed);
      }
      set_last_position(index, position);
      return result;
    });
  }

  delete_result delete_documents(std::string_view index, std::span<const std::string> ids) {
    return write("deleting documents", [&] {
      require_index(index);
      delete_result result;
      result.present.reserve(ids.size());
      for (const auto& id : ids) {
        query("DELETE FROM documents WHERE idx = ?1 AND id = ?2").bind(1, index).bind(2, id).run();
        result.present.push_back(sqlite3_changes(conn().handle()) > 0);
      }
      return result;
    });
  }

  /// Reads ids only: the (idx, id) key, never the document's text.
  [[nodiscard]] std::vector<bool> exists(std::string_view index, std::span<const std::string> ids) const {
    return read("checking documents", [&] {
      require_index(index);
      std::vector<bool> out;
      out.reserve(ids.size());
      for (const auto& id : ids) {
        auto q = query("SELECT 1 FROM documents WHERE idx = ?1 AND id = ?2");
        q.bind(1, index).bind(2, id);
        out.push_back(q.next());
      }
      return out;
    });
  }

  /// Throws errc::store_unavailable on a read-only connection to a version 1 file, which has no
  /// positions until a writer opens (and so migrates) it.
  [[nodiscard]] change_page changes_since(std::string_view index, std::uint64_t after, std::size_t limit) const {
    if (limit == 0) throw error(errc::invalid_config, "change page size must be positive");
    if (conn().schema() < 2)
      throw error(errc::store_unavailable, "sqlite database '" + conn().path() +
                                               "' has schema version 1, without change positions: open it once for "
                                               "writing to migrate it");
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    const auto capped = std::min<std::size_t>(limit, static_cast<std::size_t>(max - 1));
    return read("reading changes", [&] {
      require_index(index);
      change_page page;
      page.next = after;
      if (after >= max) return page;
      auto q = query("SELECT id, json, seq FROM documents WHERE idx = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3");
      q.bind(1, index).bind(2, static_cast<std::int64_t>(after)).bind(3, static_cast<std::int64_t>(capped) + 1);
      while (q.next()) {
        if (page.documents.size() == capped) {
          page.done = false;
          break;
        }
        page.documents.push_back({q.text(0), q.document_text(1)});
        page.next = static_cast<std::uint64_t>(q.integer(2));
      }
      return page;
    });
  }

  [[nodiscard]] std::vector<std::optional<std::string>> get(std::string_view index,
                                                           std::span<const std::string> ids) const {
    return read("reading documents", [&] {
      require_index(index);
      std::vector<std::optional<std::string>> out;
      out.reserve(ids.size());
      for (const auto& id : ids) {
        auto q = query("SELECT json FROM documents WHERE idx = ?1 AND id = ?2");
        q.bind(1, index).bind(2, id);
        out.push_back(q.next() ? std::optional<std::string>(q.document_text(0)) : std::nullopt);
      }
      return out;
    });
  }

  [[nodiscard]] scan_page scan(std::string_view index, std::string_view after_id, std::size_t limit) const {
    if (limit == 0) throw error(errc::invalid_config, "scan page size must be positive");
    // One row more than asked tells whether anything follows the page.
    const auto capped = std::min<std::size_t>(limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max() - 1));
    return read("scanning documents", [&] {
      require_index(index);
      scan_page page;
      auto q = query("SELECT id, json FROM documents WHERE idx = ?1 AND id > ?2 ORDER BY id LIMIT ?3");
      q.bind(1, index).bind(2, after_id).bind(3, static_cast<std::int64_t>(capped) + 1);
      page.done = true;
      while (q.next()) {
        if (page.documents.size() == capped) {
          page.done = false;
          break;
        }
        page.documents.push_back({q.text(0), q.document_text(1)});
      }
      if (!page.documents.empty()) page.next_after = page.documents.back().id;
      return page;
    });
  }

  [[nodiscard]] std::vector<std::string> list_indices(std::string_view prefix) const {
    // A range, not LIKE: '_' and '%' are LIKE wildcards and valid in index names.
    return read("listing indices", [&] {
      std::vector<std::string> out;
      const auto upper = detail::prefix_successor(prefix);
      auto q = upper ? query("SELECT name FROM indices WHERE name >= ?1 AND name < ?2 ORDER BY name")
                     : query("SELECT name FROM indices WHERE name >= ?1 ORDER BY name");
      q.bind(1, prefix);
      if (upper) q.bind(2, *upper);
      while (q.next()) out.push_back(q.text(0));
      return out;
    });
  }

  [[nodiscard]] std::vector<std::string> alias_targets(std::string_view alias) const {
    return read("reading an alias", [&] {
      std::vector<std::string> out;
      auto q = query("SELECT idx FROM aliases WHERE alias = ?1 ORDER BY idx");
      q.bind(1, alias);
      while (q.next()) out.push_back(q.text(0));
      return out;
    });
  }

  [[nodiscard]] std::vector<alias_entry> aliases() const {
    return read("reading aliases", [&] {
      std::vector<alias_entry> out;
      auto q = query("SELECT alias, idx FROM aliases ORDER BY alias, idx");
      while (q.next()) out.push_back({q.text(0), q.text(1)});
      return out;
    });
  }

  /// All actions in one transaction: the rows they touch are read, planned (plan_alias_update) and the
  /// difference written; on any failure none of them is applied.
  void update_aliases(std::span<const alias_action> actions) {
    validate_alias_actions(actions);
    const auto names = names_of_alias_update(actions);
    write("updating aliases", [&] {
      std::vector<alias_entry> rows;
      for (const auto& alias : names.aliases) {
        auto q = query("SELECT idx FROM aliases WHERE alias = ?1");
        q.bind(1, alias);
        while (q.next()) rows.push_back({alias, q.text(0)});
      }
      std::vector<std::string> indices;
      for (const auto& name : names.indices)
        if (index_row_exists(name)) indices.push_back(name);
      const auto plan = plan_alias_update(actions, rows, indices);
      plan.check(actions);
      for (const auto& r : plan.deletes)
        query("DELETE FROM aliases WHERE alias = ?1 AND idx = ?2").bind(1, r.alias).bind(2, r.index).run();
      for (const auto& r : plan.inserts)
        query("INSERT INTO aliases(alias, idx) VALUES (?1, ?2)").bind(1, r.alias).bind(2, r.index).run();
    });
  }

  /// Every name is checked before any index is deleted: a failure deletes nothing.
  void delete_indices(std::span<const std::string> names) {
    for (const auto& name : names) validate_index_name(name);
    write("deleting indices", [&] {
      for (const auto& name : names) {
        if (!index_row_exists(name)) throw error(errc::not_found, "cannot delete index '" + name + "': no such index");
        auto q = query("SELECT alias FROM aliases WHERE idx = ?1 ORDER BY alias LIMIT 1");
        q.bind(1, name);
        if (q.next())
          throw error(errc::conflict, "refusing to delete index '" + name + "': it carries alias '" + q.text(0) + "'");
      }
      for (const auto& name : names) {
        query("DELETE FROM documents WHERE idx = ?1").bind(1, name).run();
        query("DELETE FROM indices WHERE name = ?1").bind(1, name).run();
      }
    });
  }

 private:
  detail::sqlite_connection& conn() const {
    if (!conn_) throw error(errc::store_unavailable, "sqlite_index used after it was moved from");
    return *conn_;
  }

  detail::sqlite_query query(std::string_view sql) const { return detail::sqlite_query(conn(), sql); }

  template <class F>
  auto write(std::string_view what, F&& f) -> decltype(f()) {
    auto& c = conn();
    if (c.read_only())
      throw error(errc::invalid_config,
                  "sqlite database '" + c.path() + "' was opened read-only: " + std::string(what) + " is not allowed");
    std::lock_guard lock(c.mutex());
    return c.transaction(true, what, f);
  }

  template <class F>
  auto read(std::string_view what, F&& f) const -> decltype(f()) {
    auto& c = conn();
    std::lock_guard lock(c.mutex());
    return c.transaction(false, what, f);
  }

  bool index_row_exists(std::string_view name) const {
    auto q = query("SELECT 1 FROM indices WHERE name = ?1");
    q.bind(1, name);
    return q.next();
  }

  bool alias_row_exists(std::string_view name) const {
    auto q = query("SELECT 1 FROM aliases WHERE alias = ?1 LIMIT 1");
    q.bind(1, name);
    return q.next();
  }

  void require_index(std::string_view index) const {
    if (!index_row_exists(index)) throw error(errc::not_found, "no such index '" + std::string(index) + "'");
  }

  /// The index's last change position; errc::not_found for a missing index. Inside a write.
  std::int64_t last_position(std::string_view index) {
    auto q = query("SELECT changes FROM indices WHERE name = ?1");
    q.bind(1, index);
    if (!q.next()) throw error(errc::not_found, "no such index '" + std::string(index) + "'");
    return q.integer(0);
  }

  void set_last_position(std::string_view index, std::int64_t position) {
    query("UPDATE indices SET changes = ?2 WHERE name = ?1 AND changes < ?2").bind(1, index).bind(2, position).run();
  }

  /// Why a document cannot be written, checked before SQL sees it; nullopt when it can.
  std::optional<std::string> refused(const stored_document& d) const {
    const auto max_length = static_cast<std::size_t>(sqlite3_limit(conn().handle(), SQLITE_LIMIT_LENGTH, -1));
    if (d.id.empty()) return "document has an empty id";
    if (d.id.size() > max_length || d.json.size() > max_length) return "document is larger than SQLite's length limit";
    return std::nullopt;
  }

  std::unique_ptr<detail::sqlite_connection> conn_;
};

static_assert(index_backend<sqlite_index> && exists_many_store<sqlite_index> && insert_if_absent_store<sqlite_index> &&
              document_delete_store<sqlite_index> && change_cursor_store<sqlite_index> && padded_text_store<sqlite_index>);

}  // namespace tributary
