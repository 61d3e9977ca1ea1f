#pragma once
// The PostgreSQL store's tables: the DDL of a new store, the migrations of an older one, the name of an
// index's table and the search expression.
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

#include <span>
#include <string>
#include <string_view>

#include <tributary/error.hpp>
#include <tributary/index/postgres/storable.hpp>

namespace tributary::detail {

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
/// seals it, pg_connection::seal), so that filling a fresh worker costs what a plain COPY does; the migrated indices
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

/// The table of an index's documents, by the md5 of its name as the server computes it (md5(name)):
/// documents_<md5>, also the stem of its keys' names. Unqualified: "{s}." before it names it in SQL
/// text. Migration v4 spells the same in SQL ('documents_' || md5(name)).
[[nodiscard]] inline std::string pg_index_table(std::string_view md5) { return "documents_" + std::string(md5); }

/// The search expression over `fields` (postgres_options::search_fields), spelt the same for the
/// indexes' search indexes and for search(), so the planner uses the index. Empty for no fields. A field
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

}  // namespace tributary::detail
