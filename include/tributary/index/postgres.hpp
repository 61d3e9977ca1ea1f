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
// Schema (version 4, in <schema>.meta; every table lives in one schema, "tributary" unless configured):
//   indices(name, changes, sealed)         concrete indices; `changes` is the last change position given
//                                          out, `sealed` whether the index's table has its keys
//   documents(idx, id, json, seq)          partitioned by idx: each index's rows are the table
//                                          documents_<md5 of its name>; `json` is the text exactly as
//                                          written, `seq` the position of the row's write
//   aliases(alias, idx)                    keyed by (alias, idx)
// An index's table is filled without keys, appending (so that filling a fresh worker costs what a plain
// COPY does), and sealed when something first needs them (pg_connection::seal): a read, an
// insert_if_absent, or an alias moving to it with documents. Sealing keeps the newest row of each id and
// builds the unique key of ids and the key of positions, and an alias that moves to it builds its
// search index. Before, readers see the newest row of each id, as after.
// An older schema is migrated in place, in one transaction, by the first connection that may create the
// schema; one with create_schema = false reads it as it is (version 1 without changes_since) and
// writes nothing.
// Names and ids are `text COLLATE "C"`: they compare bytewise, as std::string does, so keyset paging
// and prefix listing agree with memory_index. A name or id must be valid UTF-8 without NUL to be stored.
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

#include <libpq-fe.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <tributary/concepts.hpp>
#include <tributary/detail/json_syntax.hpp>
#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>
#include <tributary/index/alias_table.hpp>
#include <tributary/index/types.hpp>
#include <tributary/index/names.hpp>
#include <tributary/redact.hpp>

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
  /// create the schema builds the one search index of the schema (documents_search, over every index)
  /// when it connects, before it writes anything, so every document any index holds is searchable; it
  /// refuses a schema whose search index covers other fields.
  std::vector<std::string> search_fields;
};

namespace detail {

inline constexpr int postgres_schema_version = 4;

/// Tables of schema version 1, as every store before the change cursor was created (those also had the
/// search index over the catalogue's fields, now built only when postgres_options::search_fields asks);
/// `{s}` is the quoted schema name. A new store runs it and then the migrations, so new and migrated
/// stores are alike.
inline constexpr const char* postgres_schema_ddl = R"sql(
CREATE TABLE {s}.meta (
  key   text COLLATE "C" PRIMARY KEY,
  value text NOT NULL
);
CREATE TABLE {s}.indices (
  name text COLLATE "C" PRIMARY KEY
);
CREATE TABLE {s}.documents (
  idx  text COLLATE "C" NOT NULL,
  id   text COLLATE "C" NOT NULL,
  json text NOT NULL,
  body jsonb GENERATED ALWAYS AS (json::jsonb) STORED,
  PRIMARY KEY (idx, id)
);
CREATE TABLE {s}.aliases (
  alias text COLLATE "C" NOT NULL,
  idx   text COLLATE "C" NOT NULL REFERENCES {s}.indices(name),
  PRIMARY KEY (alias, idx)
);
CREATE INDEX aliases_by_index ON {s}.aliases(idx);
INSERT INTO {s}.meta(key, value) VALUES ('schema_version', '1');
)sql";

/// Version 1 to 2: change positions. Existing documents get positions in id order (they were written
/// before positions existed, so any order will do). ADD COLUMN with a constant default rewrites no row.
inline constexpr const char* postgres_migration_v2 = R"sql(
ALTER TABLE {s}.indices ADD COLUMN changes bigint NOT NULL DEFAULT 0;
ALTER TABLE {s}.documents ADD COLUMN seq bigint NOT NULL DEFAULT 0;
UPDATE {s}.documents d SET seq = r.n
  FROM (SELECT idx, id, row_number() OVER (PARTITION BY idx ORDER BY id) AS n FROM {s}.documents) r
  WHERE d.idx = r.idx AND d.id = r.id;
UPDATE {s}.indices i SET changes = coalesce((SELECT max(seq) FROM {s}.documents d WHERE d.idx = i.name), 0);
CREATE INDEX documents_changes ON {s}.documents(idx, seq);
UPDATE {s}.meta SET value = '2' WHERE key = 'schema_version';
)sql";

/// Version 2 to 3: no JSONB column. Parsing every document into JSONB as it was written halved the
/// speed of a bulk write; the documents are checked as JSON by the writer instead
/// (pg_jsonb_problem), and each index's search index parses them once, when it is built (when an
/// alias first moves to the index). Dropping the column drops the schema-wide search index over it;
/// prepare_search_index builds the per-index ones of the indices that carry an alias.
inline constexpr const char* postgres_migration_v3 = R"sql(
DROP INDEX IF EXISTS {s}.documents_search;
ALTER TABLE {s}.documents DROP COLUMN IF EXISTS body;
DELETE FROM {s}.meta WHERE key = 'search_vector';
UPDATE {s}.meta SET value = '3' WHERE key = 'schema_version';
)sql";

/// Version 3 to 4: each index's documents in a table of their own, documents_<md5 of the index name>,
/// attached to `documents` as its LIST partition of that name (readers still say `WHERE idx = $1` and
/// read that table alone). An index is written without keys until something needs them (postgres_index
/// seals it, pg_seal), so that filling a fresh worker costs what a plain COPY does; the migrated indices
/// had keys and keep them (sealed). Their search indexes are built again as version 3 built them.
inline constexpr const char* postgres_migration_v4 = R"sql(
ALTER TABLE {s}.documents RENAME TO documents_v3;
CREATE TABLE {s}.documents (
  idx  text COLLATE "C" NOT NULL,
  id   text COLLATE "C" NOT NULL,
  json text NOT NULL,
  seq  bigint NOT NULL DEFAULT 0
) PARTITION BY LIST (idx);
-- LZ4 compresses the TOASTed documents several times faster than the default pglz (bulk writes of 1.5 KB
-- documents ran 15% faster); a server built without it keeps pglz. The partitions copy the setting.
DO $$
BEGIN
  EXECUTE 'ALTER TABLE {s}.documents ALTER COLUMN json SET COMPRESSION lz4';
EXCEPTION WHEN others THEN NULL;
END
$$;
ALTER TABLE {s}.indices ADD COLUMN sealed boolean NOT NULL DEFAULT false;
DO $$
DECLARE
  i record;
BEGIN
  FOR i IN SELECT name, 'documents_' || md5(name) AS part FROM {s}.indices LOOP
    EXECUTE format('CREATE TABLE {s}.%I (LIKE {s}.documents INCLUDING ALL)', i.part);
    EXECUTE format('INSERT INTO {s}.%I (idx, id, json, seq) SELECT idx, id, json, seq FROM {s}.documents_v3 '
                   'WHERE idx = %L', i.part, i.name);
    EXECUTE format('CREATE UNIQUE INDEX %I ON {s}.%I (id)', i.part || '_id', i.part);
    EXECUTE format('CREATE INDEX %I ON {s}.%I (seq)', i.part || '_seq', i.part);
    EXECUTE format('ALTER TABLE {s}.documents ATTACH PARTITION {s}.%I FOR VALUES IN (%L)', i.part, i.name);
  END LOOP;
END
$$;
UPDATE {s}.indices SET sealed = true;
DROP TABLE {s}.documents_v3;
DELETE FROM {s}.meta WHERE key = 'search_vector';
UPDATE {s}.meta SET value = '4' WHERE key = 'schema_version';
)sql";


// Type OIDs of the parameters we send (pg_type.dat; stable across versions).
inline constexpr Oid pg_oid_bytea = 17;
inline constexpr Oid pg_oid_int8 = 20;
inline constexpr Oid pg_oid_text = 25;
inline constexpr Oid pg_oid_text_array = 1009;

/// True when PostgreSQL can store `s` as text: valid UTF-8 (no overlongs, surrogates or values past
/// U+10FFFF) without NUL bytes.
[[nodiscard]] inline bool pg_storable_text(std::string_view s) noexcept {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1Fu;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0Fu;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07u;
    else return false;
    if (n - i < len) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

/// True when some number in `json` could be beyond the bounds of PostgreSQL's numeric though simdjson
/// read it: numeric refuses an exponent past INT_MAX / 2 and more than 16383 digits after the point
/// (exponent applied), which a finite double can only reach through an exponent of five or more digits
/// or through 6385 or more digits in a row. A scan eight bytes at a time: most text holds no digit.
[[nodiscard]] inline bool pg_numeric_may_refuse(std::string_view json) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
  const char* const begin = json.data();
  const char* const end = begin + json.size();
  std::size_t run = 0;  // digits in a row so far
  char before = 0;      // the byte before the run, or the 'e' of "e+"/"e-"
  auto exceeds = [&] { return run >= 6385 || (run >= 5 && (before == 'e' || before == 'E')); };
  for (const char* p = begin; p < end;) {
    if (run == 0 && end - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      const std::uint64_t x = w ^ (ones * '0');                     // a digit byte becomes 0..9
      const std::uint64_t ten_or_more = ((x & ~high) + ones * 0x76) & high;  // no carry between bytes
      if ((~ten_or_more & ~x & high) == 0) {                          // no digit in these eight bytes
        before = p[7];
        p += 8;
        continue;
      }
    }
    if (static_cast<unsigned char>(*p - '0') < 10) {
      ++run;
    } else {
      if (exceeds()) return true;
      run = 0;
      const bool sign_of_exponent = (*p == '+' || *p == '-') && (before == 'e' || before == 'E') && p > begin &&
                                    (p[-1] == 'e' || p[-1] == 'E');
      if (!sign_of_exponent) before = *p;
    }
    ++p;
  }
  return exceeds();
}

/// Why PostgreSQL's jsonb would refuse `json`, or nullopt when it takes it. Documents are stored as
/// text and parsed into JSONB only when an index's search index is built, so the writer checks them
/// as they arrive: JSON by simdjson's parser, which also refuses what the text column would (bytes that
/// are not UTF-8, a NUL byte) and nesting deeper than 1024 levels; numbers as numeric takes them, which
/// is more than 64-bit integers and doubles, up to numeric's own bounds; and no escaped NUL (backslash
/// u0000), which jsonb cannot hold. `parser` is reused across the documents of a write.
[[nodiscard]] inline std::optional<std::string> pg_jsonb_problem(simdjson::dom::parser& parser, std::string_view json) {
  const auto parsed = parser.parse(json.data(), json.size(), true);
  if (parsed.error() && parsed.error() != simdjson::NUMBER_ERROR)
    return std::string("document is not valid json: ") + simdjson::error_message(parsed.error());
  if (parsed.error() || pg_numeric_may_refuse(json)) {
    // The grammar, and numeric's bounds as its input function has them ("value overflows numeric format").
    static constexpr decimal_limits numeric{.max_exponent = 1'073'741'822,
                                            .max_integer_digits = 131'072,
                                            .max_fraction_digits = 16'383};
    if (!pg_storable_text(json)) return "document is not valid json: it is not UTF-8 text without NUL bytes";
    if (auto problem = json_syntax_problem(json, parser.max_depth(), numeric))
      return "document is not valid json: " + *problem;
  }
  for (auto at = json.find("\\u0000"); at != std::string_view::npos; at = json.find("\\u0000", at + 1)) {
    std::size_t backslashes = 0;  // an escaped backslash followed by "u0000" is text, not the escape
    while (at >= backslashes + 1 && json[at - backslashes - 1] == '\\') ++backslashes;
    if (backslashes % 2 == 0) return "document holds the escape \\u0000, which PostgreSQL's jsonb cannot store";
  }
  return std::nullopt;
}

/// The search expression over `fields` (postgres_options::search_fields), spelt the same for the
/// documents_search index and for search(), so the planner uses the index. Empty for no fields. A field
/// is a string literal in it: its quotes are doubled, and one that is empty or not UTF-8 text is refused.
[[nodiscard]] inline std::string pg_search_vector(std::span<const std::string> fields) {
  std::string out;
  for (const auto& field : fields) {
    if (field.empty() || !pg_storable_text(field))
      throw error(errc::invalid_config, "postgres search field '" + field + "' must be non-empty UTF-8 text");
    out += out.empty() ? "to_tsvector('simple'::regconfig, " : " || ' ' || ";
    out += "coalesce((json::jsonb)->>'";
    for (const char c : field) out += c == '\'' ? std::string("''") : std::string(1, c);
    out += "', '')";
  }
  return out.empty() ? out : out + ")";
}

/// The smallest byte string greater than every string starting with `prefix`; nullopt when there is none.
[[nodiscard]] inline std::optional<std::string> pg_prefix_successor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty() && static_cast<unsigned char>(s.back()) == 0xFF) s.pop_back();
  if (s.empty()) return std::nullopt;
  s.back() = static_cast<char>(static_cast<unsigned char>(s.back()) + 1);
  return s;
}

inline void pg_put_u32(std::string& out, std::uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                     static_cast<char>(v)};
  out.append(b, 4);
}
inline void pg_put_u16(std::string& out, std::uint16_t v) {
  const char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(b, 2);
}

/// A one-dimensional text[] in PostgreSQL's binary array format (array_recv): no quoting, no escaping.
[[nodiscard]] inline std::string pg_binary_text_array(std::span<const std::string_view> items) {
  std::size_t bytes = 20;
  for (auto v : items) bytes += 4 + v.size();
  std::string out;
  out.reserve(bytes);
  pg_put_u32(out, items.empty() ? 0 : 1);  // dimensions
  pg_put_u32(out, 0);                      // no NULL elements
  pg_put_u32(out, pg_oid_text);
  if (!items.empty()) {
    pg_put_u32(out, static_cast<std::uint32_t>(items.size()));
    pg_put_u32(out, 1);  // lower bound
  }
  for (auto v : items) {
    pg_put_u32(out, static_cast<std::uint32_t>(v.size()));
    out.append(v);
  }
  return out;
}

/// Parameters of one statement, all sent in binary format with explicit types: text needs neither a
/// terminating NUL nor escaping, and the server still checks its encoding.
class pg_params {
 public:
  pg_params& text(std::string_view v) { return add(pg_oid_text, v); }
  pg_params& bytea(std::string_view v) { return add(pg_oid_bytea, v); }
  pg_params& int8(std::int64_t v) {
    std::string b;
    pg_put_u32(b, static_cast<std::uint32_t>(static_cast<std::uint64_t>(v) >> 32));
    pg_put_u32(b, static_cast<std::uint32_t>(static_cast<std::uint64_t>(v)));
    return add(pg_oid_int8, owned_.emplace_back(std::move(b)));
  }
  pg_params& text_array(std::span<const std::string_view> items) {
    return add(pg_oid_text_array, owned_.emplace_back(pg_binary_text_array(items)));
  }

  [[nodiscard]] int size() const noexcept { return static_cast<int>(types_.size()); }
  [[nodiscard]] const Oid* types() const noexcept { return types_.data(); }
  [[nodiscard]] const char* const* values() const noexcept { return values_.data(); }
  [[nodiscard]] const int* lengths() const noexcept { return lengths_.data(); }
  [[nodiscard]] const int* formats() const noexcept { return formats_.data(); }

 private:
  pg_params& add(Oid type, std::string_view v) {
    if (v.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
      throw error(errc::invalid_config, "a PostgreSQL parameter is larger than 2 GB");
    types_.push_back(type);
    values_.push_back(v.data() != nullptr ? v.data() : "");  // a null pointer would mean SQL NULL
    lengths_.push_back(static_cast<int>(v.size()));
    formats_.push_back(1);
    return *this;
  }

  std::vector<Oid> types_;
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
  std::deque<std::string> owned_;  // a deque: growing it never moves the strings values_ points into
};

struct pg_result_deleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using pg_result = std::unique_ptr<PGresult, pg_result_deleter>;

[[nodiscard]] inline int pg_rows(const pg_result& r) { return PQntuples(r.get()); }
[[nodiscard]] inline std::string_view pg_view(const pg_result& r, int row, int column) {
  return {PQgetvalue(r.get(), row, column), static_cast<std::size_t>(PQgetlength(r.get(), row, column))};
}
[[nodiscard]] inline std::string pg_text(const pg_result& r, int row, int column) { return std::string(pg_view(r, row, column)); }
[[nodiscard]] inline bool pg_null(const pg_result& r, int row, int column) {
  return PQgetisnull(r.get(), row, column) != 0;
}
[[nodiscard]] inline bool pg_bool(const pg_result& r, int row, int column) {
  return !pg_null(r, row, column) && PQgetvalue(r.get(), row, column)[0] == 't';
}
[[nodiscard]] inline std::uint64_t pg_affected(const pg_result& r) {
  const char* n = PQcmdTuples(r.get());
  return n == nullptr || *n == '\0' ? 0 : std::stoull(n);
}

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

[[nodiscard]] inline std::string pg_trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

[[nodiscard]] inline bool pg_retryable(std::string_view sqlstate) {
  return sqlstate == "40001" || sqlstate == "40P01";  // serialization failure, deadlock: rolled back
}

/// Replaces every occurrence of `secret` in `text`.
[[nodiscard]] inline std::string pg_scrub(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) text.replace(at, secret.size(), "***");
  return text;
}

/// The secrets a connection string carries as written, found without libpq: a URL's userinfo password
/// and the values of parameters redact_url hides, or the values of secret-named keywords of libpq's
/// `host=h password=x` form. libpq's parse errors quote the URL (redact_urls_in handles that) or a
/// malformed part of it alone, such as `"q%zzsecret"`, which only scrubbing these catches.
[[nodiscard]] inline std::vector<std::string> pg_url_secrets(std::string_view url) {
  std::vector<std::string> out;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    // keyword = value ..., a value plain or in single quotes.
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    std::size_t i = 0;
    while (i < url.size()) {
      while (i < url.size() && space(url[i])) ++i;
      const auto key_begin = i;
      while (i < url.size() && url[i] != '=' && !space(url[i])) ++i;
      const auto key = url.substr(key_begin, i - key_begin);
      while (i < url.size() && space(url[i])) ++i;
      if (i >= url.size() || url[i] != '=') continue;
      ++i;
      while (i < url.size() && space(url[i])) ++i;
      std::string_view value;
      if (i < url.size() && url[i] == '\'') {
        const auto value_begin = ++i;
        for (; i < url.size() && url[i] != '\''; ++i)
          if (url[i] == '\\') ++i;
        i = std::min(i, url.size());
        value = url.substr(value_begin, i - value_begin);
        if (i < url.size()) ++i;
      } else {
        const auto value_begin = i;
        while (i < url.size() && !space(url[i])) ++i;
        value = url.substr(value_begin, i - value_begin);
      }
      if (!value.empty() && secret_parameter(key)) out.emplace_back(value);
    }
    return out;
  }
  const auto rest = url.substr(scheme_end + 3);
  const auto authority = rest.substr(0, rest.find_first_of("/?"));
  // The user info ends at the last @ of the authority, libpq's at the first @ before any /: when the
  // password libpq reads (and may quote in an error) is another, it is a secret too (the longer first).
  const auto libpq_authority = rest.substr(0, rest.find('/'));
  std::vector<std::string_view> userinfos;
  const auto rfc_at = authority.rfind('@'), libpq_at = libpq_authority.find('@');
  if (rfc_at != std::string_view::npos) userinfos.push_back(authority.substr(0, rfc_at));
  if (libpq_at != std::string_view::npos) userinfos.push_back(libpq_authority.substr(0, libpq_at));
  if (userinfos.size() == 2 && userinfos[1].size() > userinfos[0].size()) std::swap(userinfos[0], userinfos[1]);
  for (const auto userinfo : userinfos)
    if (const auto colon = userinfo.find(':'); colon != std::string_view::npos && colon + 1 < userinfo.size())
      if (out.empty() || out.back() != userinfo.substr(colon + 1)) out.emplace_back(userinfo.substr(colon + 1));
  // What lies between libpq's @ and the last one is the end of the password as written (me:p@ss@db), and
  // libpq reads it as the host, which its connection errors quote; after a colon in it (after the ] of
  // an IPv6 address) as the port, which libpq reads on past the last @ to the next / ? or , and quotes
  // whole in its parse errors ("invalid percent-encoded token").
  if (rfc_at != std::string_view::npos && libpq_at < rfc_at && rfc_at - libpq_at > 1) {
    const auto between = authority.substr(libpq_at + 1, rfc_at - libpq_at - 1);
    out.emplace_back(between);
    const auto host = libpq_authority.substr(libpq_at + 1);
    const auto bracket = host.starts_with('[') ? host.find(']') : std::string_view::size_type{0};
    const auto colon = bracket == std::string_view::npos ? bracket : host.find(':', bracket);
    if (colon != std::string_view::npos && colon + 1 < between.size())
      out.emplace_back(host.substr(colon + 1, host.find_first_of("/?,", colon + 1) - (colon + 1)));
  }
  const auto query = rest.find('?');
  for (auto params = query == std::string_view::npos ? std::string_view() : rest.substr(query + 1); !params.empty();) {
    const auto amp = params.find('&');
    const auto pair = params.substr(0, amp);
    params = amp == std::string_view::npos ? std::string_view() : params.substr(amp + 1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && eq + 1 < pair.size() && secret_parameter(pair.substr(0, eq)))
      out.emplace_back(pair.substr(eq + 1));
  }
  return out;
}

/// Takes tributary's own `schema` query parameter out of a postgres:// URL (libpq refuses parameters it
/// does not know) and returns its value, or nullopt when the URL has none. The other parameters stay,
/// in order. One URL then names everything a collector needs, also for a peer's store.
[[nodiscard]] inline std::optional<std::string> pg_take_schema_parameter(std::string& url) {
  const auto query = url.find('?');
  if (query == std::string::npos || url.find("://") == std::string::npos) return std::nullopt;
  std::optional<std::string> schema;
  std::string kept;
  std::string_view rest = std::string_view(url).substr(query + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.starts_with("schema=")) {
      if (schema)
        throw error(errc::invalid_config, "postgres store URL names the schema twice (?schema=" + *schema + " and " +
                                              std::string(pair) + ")");
      schema = std::string(pair.substr(7));
    } else if (!pair.empty()) {
      kept += kept.empty() ? "" : "&";
      kept += pair;
    }
  }
  if (schema) url = url.substr(0, kept.empty() ? query : query + 1) + kept;
  return schema;
}

/// Whether libpq reads a URL's user info up to another @ than RFC 3986 does (the first before any /, not
/// the last of the authority).
[[nodiscard]] inline bool pg_userinfo_ambiguous(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return false;
  const auto rest = url.substr(scheme_end + 3);
  const auto authority = rest.substr(0, rest.find_first_of("/?"));
  return authority.rfind('@') != rest.substr(0, rest.find('/')).find('@');
}

/// What errors call the server: postgres://user@host:port/dbname, from libpq's own parse of the URL.
struct pg_target {
  std::string description;
  std::string password;  // to scrub from messages; empty when none was given
  /// The secrets the URL carries as written (pg_url_secrets). Where libpq reads the URL otherwise (an @
  /// in the user name, as in user@server:password@host), the password it was meant to be is among them.
  std::vector<std::string> url_secrets;
  /// `text` with every secret of the URL scrubbed.
  [[nodiscard]] std::string scrub(std::string text) const {
    for (const auto& secret : url_secrets) text = pg_scrub(std::move(text), secret);
    return pg_scrub(std::move(text), password);
  }
};

[[nodiscard]] inline pg_target pg_parse_target(const std::string& url) {
  pg_target t;
  char* message = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &message);
  if (options == nullptr) {
    std::string why = message != nullptr ? pg_trim(message) : "out of memory";
    PQfreemem(message);
    // A URL is quoted redacted; libpq's keyword form, which redact_url leaves alone, not at all. The
    // secrets go first: redact_urls_in ends a URL at a space or control character, so it would leave in
    // sight the rest of a password after one (or after one in the user name).
    if (!is_url(url)) why = pg_scrub(std::move(why), url);
    for (const auto& secret : pg_url_secrets(url)) why = pg_scrub(std::move(why), secret);
    if (is_url(url)) why = redact_urls_in(why);
    throw error(errc::invalid_config, "postgres store URL is malformed: " + why);
  }
  std::map<std::string, std::string, std::less<>> found;
  for (auto* o = options; o->keyword != nullptr; ++o)
    if (o->val != nullptr) found[o->keyword] = o->val;
  PQconninfoFree(options);
  if (auto it = found.find("password"); it != found.end()) t.password = it->second;
  auto get = [&](std::string_view key) { auto it = found.find(key); return it == found.end() ? std::string() : it->second; };
  const auto user = get("user"), host = get("host"), port = get("port"), dbname = get("dbname");
  t.description = "postgres://" + (user.empty() ? std::string() : user + "@") + host +
                  (port.empty() ? std::string() : ":" + port) + "/" + dbname;
  // With an @ in the user info as written, libpq's user, password and host are other than the URL's
  // (me:p@ss@db: password "p", host "ss@db"), and a description built from them would show the rest of
  // the password: the URL as written is described instead, redacted.
  if (pg_userinfo_ambiguous(url)) t.description = redact_url(url);
  t.url_secrets = pg_url_secrets(url);
  t.description = t.scrub(std::move(t.description));
  return t;
}

inline void validate_postgres_schema(std::string_view schema) {
  const bool ok = !schema.empty() && schema.size() <= 63 && !(schema.front() >= '0' && schema.front() <= '9') &&
                  !schema.starts_with("pg_") &&
                  std::all_of(schema.begin(), schema.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                  });
  if (!ok)
    throw error(errc::invalid_config, "postgres schema name '" + std::string(schema) +
                                          "' is not valid: use [a-z_][a-z0-9_]*, at most 63 bytes, not starting with pg_");
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
    exec_simple("CREATE INDEX IF NOT EXISTS documents_search_" + pg_text(md5, 0, 0) + " ON {s}.documents_" +
                pg_text(md5, 0, 0) + " USING gin ((" + std::string(expression) + "))");
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
    const std::string part = "documents_" + pg_text(r, 0, 0), table = "{s}." + part;
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
  int version_ = 0;  ///< of the schema found: the current one, or 1 or 2 for a reader of an old store
  PGconn* conn_ = nullptr;
  std::mutex mu_;
};

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
      const std::string table = "{s}.documents_" + detail::pg_text(r, 0, 0);
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
      const auto last = newest_of_each_id(docs, std::move(all));
      // An older write of an id is not sent; checked all the same, since a refused one is reported.
      std::vector<bool> sent(docs.size());
      for (const auto i : last) sent[i] = true;
      bool clean = true;
      for (std::size_t i = 0; i < docs.size() && clean; ++i) clean = sent[i] || !refused(parser, docs[i]);
      if (clean) {
        try {
          write("writing documents", true, [&](detail::pg_connection& c) {
            copy_rows(c, index, docs, last, reserve_for_write(c, index, last.size()), &parser);
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
      if (auto problem = refused(parser, docs[i])) checked.failures.push_back({i, docs[i].id, std::move(*problem), false});
      else sendable.push_back(i);
    }
    const auto last = newest_of_each_id(docs, sendable);

    try {
      write("writing documents", true, [&](detail::pg_connection& c) {
        const auto target = reserve_for_write(c, index, last.size());
        if (c.options().bulk_method == postgres_bulk_method::copy) copy_rows(c, index, docs, last, target);
        else insert_rows(c, index, docs, last, target);
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
          if (!item_error(e.sqlstate)) throw;
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
      if (auto problem = refused(parser, docs[i])) {
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
        in_batches(docs, sendable, [&](std::span<const std::string_view> ids, std::span<const std::string_view> jsons,
                                       std::size_t from) {
          const auto offset = base + static_cast<std::int64_t>(from);
          detail::pg_result r;
          try {
            // In ordinal order, so that of an id repeated in the batch the first is inserted.
            r = c.exec("INSERT INTO " + target.table + " (idx, id, json, seq) SELECT $1, d.id, d.json, $4 + d.n "
                       "FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS d(id, json, n) ORDER BY d.n "
                       "ON CONFLICT (id) DO NOTHING RETURNING seq",
                       detail::pg_params().text(index).text_array(ids).text_array(jsons).int8(offset));
          } catch (const detail::pg_server_error& e) {
            if (item_error(e.sqlstate)) throw detail::pg_bad_item{};
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
          if (!item_error(e.sqlstate)) throw;
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
        c.exec_simple("DROP TABLE {s}.documents_" + detail::pg_text(gone, row, 0));
    });
  }

  /// Documents of `index` whose postgres_options::search_fields hold the words of `text` (web-search
  /// syntax: words are ANDed, "quoted phrases", `or`, -excluded; case-insensitive, no stemming), best
  /// ranked first, ties by id; at most `limit`. Served by the documents_search GIN index. Refused with
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
  // PostgreSQL's largest field is 1 GB; the margin leaves room for the row around it.
  static constexpr std::size_t max_document_bytes = (std::size_t{1} << 30) - (std::size_t{1} << 20);
  // Bytes of documents per INSERT statement with the array_insert method.
  static constexpr std::size_t insert_batch_bytes = std::size_t{32} << 20;

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

  /// Where a write goes: the index's table, the position before the write's, and whether the table
  /// has its keys (pg_connection::seal).
  struct write_target {
    std::string table;
    std::int64_t base = 0;
    bool sealed = false;
    /// What an INSERT into the table adds so that a row replaces the one of its id: nothing while the
    /// table has no keys, where the newest position of an id is its document.
    [[nodiscard]] const char* upsert() const {
      return sealed ? " ON CONFLICT (id) DO UPDATE SET json = excluded.json, seq = excluded.seq" : "";
    }
  };

  /// reserve_positions for a bulk write of `count` documents, sealing the index first when the write is
  /// smaller than postgres_options::append_min_documents.
  static write_target reserve_for_write(detail::pg_connection& c, std::string_view index, std::size_t count) {
    auto target = reserve_positions(c, index, count);
    if (!target.sealed && count < c.options().append_min_documents) {
      c.seal(index);
      target.sealed = true;
    }
    return target;
  }

  /// Takes `count` change positions of `index`: the row lock this takes (to the end of the transaction)
  /// orders writers to one index, so positions commit in order. errc::not_found for a missing index.
  static write_target reserve_positions(detail::pg_connection& c, std::string_view index, std::size_t count) {
    if (!detail::pg_storable_text(index)) missing(index);
    auto r = c.exec("UPDATE {s}.indices SET changes = changes + $2 WHERE name = $1 "
                    "RETURNING changes - $2, md5(name), sealed",
                    detail::pg_params().text(index).int8(static_cast<std::int64_t>(count)));
    if (detail::pg_rows(r) == 0) missing(index);
    return {"{s}.documents_" + detail::pg_text(r, 0, 1), std::stoll(detail::pg_text(r, 0, 0)), detail::pg_bool(r, 0, 2)};
  }

  /// Of `rows` (positions in docs), the last of each id, in order: the last write of an id wins, as if
  /// the items were written in order, with one upsert per id (a statement cannot update a row twice),
  /// sent in the batch's order, which gives the positions.
  static std::vector<std::size_t> newest_of_each_id(std::span<const stored_document> docs, std::vector<std::size_t> rows) {
    std::stable_sort(rows.begin(), rows.end(), [&](std::size_t a, std::size_t b) { return docs[a].id < docs[b].id; });
    std::vector<std::size_t> last;
    last.reserve(rows.size());
    for (std::size_t k = 0; k < rows.size(); ++k)
      if (k + 1 == rows.size() || docs[rows[k + 1]].id != docs[rows[k]].id) last.push_back(rows[k]);
    std::sort(last.begin(), last.end());
    return last;
  }

  /// Why a document cannot be stored, checked before the server sees it; nullopt when it can.
  static std::optional<std::string> refused(simdjson::dom::parser& parser, const stored_document& d) {
    if (d.id.empty()) return "document has an empty id";
    if (!detail::pg_storable_text(d.id)) return "document id is not valid UTF-8 text (or holds a NUL byte)";
    if (d.json.size() > max_document_bytes) return "document is larger than PostgreSQL's 1 GB field limit";
    return detail::pg_jsonb_problem(parser, d.json);
  }


  /// Errors that blame one document rather than the store: data exceptions (bad JSON, a NUL byte, an
  /// unsupported escape) and limits (a tsvector or index row too large).
  [[nodiscard]] static bool item_error(std::string_view sqlstate) {
    return sqlstate.starts_with("22") || sqlstate.starts_with("54");
  }

  /// Copied straight into the index's table when no row there can be replaced: it has no keys yet
  /// (the newest position of an id wins) or was never written (position 0); otherwise into the
  /// session's staging table, then upserted from it.
  /// `check`: each document is checked (refused) before it is sent, and the first refused one stops
  /// the COPY with pg_bad_item.
  static void copy_rows(detail::pg_connection& c, std::string_view index, std::span<const stored_document> docs,
                        std::span<const std::size_t> rows, const write_target& target,
                        simdjson::dom::parser* check = nullptr) {
    const bool fresh = !target.sealed || target.base == 0;
    const auto base = target.base;
    try {
      // Binary COPY: every field is a length and raw bytes, so nothing is escaped.
      c.copy_in(fresh ? "COPY " + target.table + " (idx, id, json, seq) FROM STDIN (FORMAT binary)"
                      : std::string("COPY pg_temp.tributary_load (id, json, seq) FROM STDIN (FORMAT binary)"),
                [&](std::string& buffer, auto&& send) {
        buffer.append("PGCOPY\n\xff\r\n\0", 11);
        detail::pg_put_u32(buffer, 0);  // flags
        detail::pg_put_u32(buffer, 0);  // header extension length
        std::int64_t position = base;
        for (const auto i : rows) {
          const auto& d = docs[i];
          if (check != nullptr && refused(*check, d)) throw detail::pg_bad_item{};
          detail::pg_put_u16(buffer, fresh ? 4 : 3);
          if (fresh) {
            detail::pg_put_u32(buffer, static_cast<std::uint32_t>(index.size()));
            buffer.append(index);
          }
          detail::pg_put_u32(buffer, static_cast<std::uint32_t>(d.id.size()));
          buffer.append(d.id);
          detail::pg_put_u32(buffer, static_cast<std::uint32_t>(d.json.size()));
          if (d.json.size() >= (std::size_t{1} << 16)) send(d.json);  // a large document goes out uncopied
          else buffer.append(d.json);
          detail::pg_put_u32(buffer, 8);
          const auto seq = static_cast<std::uint64_t>(++position);
          detail::pg_put_u32(buffer, static_cast<std::uint32_t>(seq >> 32));
          detail::pg_put_u32(buffer, static_cast<std::uint32_t>(seq));
          if (buffer.size() >= (std::size_t{1} << 20)) send({});
        }
        detail::pg_put_u16(buffer, 0xFFFF);  // trailer
      });
      if (fresh) return;
      c.exec("INSERT INTO " + target.table + " (idx, id, json, seq) SELECT $1, id, json, seq FROM pg_temp.tributary_load" +
               target.upsert(),
             detail::pg_params().text(index));
    } catch (const detail::pg_server_error& e) {
      if (item_error(e.sqlstate)) throw detail::pg_bad_item{};
      throw;
    }
  }

  static void insert_rows(detail::pg_connection& c, std::string_view index, std::span<const stored_document> docs,
                          std::span<const std::size_t> rows, const write_target& target) {
    in_batches(docs, rows, [&](std::span<const std::string_view> ids, std::span<const std::string_view> jsons,
                               std::size_t from) {
      try {
        c.exec("INSERT INTO " + target.table + " (idx, id, json, seq) SELECT $1, d.id, d.json, $4 + d.n "
               "FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS d(id, json, n)" + target.upsert(),
               detail::pg_params().text(index).text_array(ids).text_array(jsons).int8(
                   target.base + static_cast<std::int64_t>(from)));
      } catch (const detail::pg_server_error& e) {
        if (item_error(e.sqlstate)) throw detail::pg_bad_item{};
        throw;
      }
    });
  }

  /// Calls send(ids, jsons, from) for consecutive runs of the documents docs[rows[...]], each at most
  /// insert_batch_bytes (one larger document goes alone); `from` is the run's first position in rows.
  template <class Send>
  static void in_batches(std::span<const stored_document> docs, std::span<const std::size_t> rows, Send&& send) {
    std::vector<std::string_view> ids, jsons;
    std::size_t from = 0, bytes = 0;
    auto flush = [&] {
      if (ids.empty()) return;
      send(std::span<const std::string_view>(ids), std::span<const std::string_view>(jsons), from);
      from += ids.size();
      ids.clear();
      jsons.clear();
      bytes = 0;
    };
    for (const auto i : rows) {
      if (bytes > 0 && bytes + docs[i].json.size() > insert_batch_bytes) flush();
      ids.push_back(docs[i].id);
      jsons.push_back(docs[i].json);
      bytes += docs[i].id.size() + docs[i].json.size();
    }
    flush();
  }

  std::unique_ptr<detail::pg_connection> conn_;
};

static_assert(index_backend<postgres_index> && exists_many_store<postgres_index> &&
              insert_if_absent_store<postgres_index> && document_delete_store<postgres_index> &&
              change_cursor_store<postgres_index> && padded_text_store<postgres_index>);

}  // namespace tributary
