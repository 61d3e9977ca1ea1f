#pragma once
// How a write's documents reach an index's table (postgres_index's bulk_write and insert_if_absent):
// which write of an id is sent, binary COPY or batched INSERT ... unnest, and what an INSERT adds to
// replace a row. A table without keys only appends (postgres/schema.hpp): the newest position of an id
// is its document.

#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/index/postgres/connection.hpp>
#include <tributary/index/postgres/storable.hpp>
#include <tributary/index/postgres/wire.hpp>
#include <tributary/index/types.hpp>

namespace tributary::detail {

// Bytes of documents per INSERT statement with the array_insert method.
inline constexpr std::size_t pg_insert_batch_bytes = std::size_t{32} << 20;

/// Where a write goes: the index's table, the position before the write's, and whether the table
/// has its keys (pg_connection::seal).
struct pg_write_target {
  std::string table;
  std::int64_t base = 0;
  bool sealed = false;
  /// What an INSERT into the table adds so that a row replaces the one of its id: nothing while the
  /// table has no keys, where the newest position of an id is its document.
  [[nodiscard]] const char* upsert() const {
    return sealed ? " ON CONFLICT (id) DO UPDATE SET json = excluded.json, seq = excluded.seq" : "";
  }
};

/// Of `rows` (positions in docs), the last of each id, in order: the last write of an id wins, as if
/// the items were written in order, with one upsert per id (a statement cannot update a row twice),
/// sent in the batch's order, which gives the positions.
inline std::vector<std::size_t> pg_newest_of_each_id(std::span<const stored_document> docs, std::vector<std::size_t> rows) {
  std::stable_sort(rows.begin(), rows.end(), [&](std::size_t a, std::size_t b) { return docs[a].id < docs[b].id; });
  std::vector<std::size_t> last;
  last.reserve(rows.size());
  for (std::size_t k = 0; k < rows.size(); ++k)
    if (k + 1 == rows.size() || docs[rows[k + 1]].id != docs[rows[k]].id) last.push_back(rows[k]);
  std::sort(last.begin(), last.end());
  return last;
}

/// Errors that blame one document rather than the store: data exceptions (bad JSON, a NUL byte, an
/// unsupported escape) and limits (a tsvector or index row too large).
[[nodiscard]] inline bool pg_item_error(std::string_view sqlstate) {
  return sqlstate.starts_with("22") || sqlstate.starts_with("54");
}

/// Copied straight into the index's table when no row there can be replaced: it has no keys yet
/// (the newest position of an id wins) or was never written (position 0); otherwise into the
/// session's staging table, then upserted from it.
/// `check`: each document is checked (pg_document_problem) before it is sent, and the first refused one
/// stops the COPY with pg_bad_item.
inline void pg_copy_rows(pg_connection& c, std::string_view index, std::span<const stored_document> docs,
                         std::span<const std::size_t> rows, const pg_write_target& target,
                         simdjson::dom::parser* check = nullptr) {
  const bool fresh = !target.sealed || target.base == 0;
  const auto base = target.base;
  try {
    // Binary COPY: every field is a length and raw bytes, so nothing is escaped.
    c.copy_in(fresh ? "COPY " + target.table + " (idx, id, json, seq) FROM STDIN (FORMAT binary)"
                    : std::string("COPY pg_temp.tributary_load (id, json, seq) FROM STDIN (FORMAT binary)"),
              [&](std::string& buffer, auto&& send) {
      buffer.append("PGCOPY\n\xff\r\n\0", 11);
      pg_put_u32(buffer, 0);  // flags
      pg_put_u32(buffer, 0);  // header extension length
      std::int64_t position = base;
      for (const auto i : rows) {
        const auto& d = docs[i];
        if (check != nullptr && pg_document_problem(*check, d)) throw pg_bad_item{};
        pg_put_u16(buffer, fresh ? 4 : 3);
        if (fresh) {
          pg_put_u32(buffer, static_cast<std::uint32_t>(index.size()));
          buffer.append(index);
        }
        pg_put_u32(buffer, static_cast<std::uint32_t>(d.id.size()));
        buffer.append(d.id);
        pg_put_u32(buffer, static_cast<std::uint32_t>(d.json.size()));
        if (d.json.size() >= (std::size_t{1} << 16)) send(d.json);  // a large document goes out uncopied
        else buffer.append(d.json);
        pg_put_u32(buffer, 8);
        const auto seq = static_cast<std::uint64_t>(++position);
        pg_put_u32(buffer, static_cast<std::uint32_t>(seq >> 32));
        pg_put_u32(buffer, static_cast<std::uint32_t>(seq));
        if (buffer.size() >= (std::size_t{1} << 20)) send({});
      }
      pg_put_u16(buffer, 0xFFFF);  // trailer
    });
    if (fresh) return;
    c.exec("INSERT INTO " + target.table + " (idx, id, json, seq) SELECT $1, id, json, seq FROM pg_temp.tributary_load" +
             target.upsert(),
           pg_params().text(index));
  } catch (const pg_server_error& e) {
    if (pg_item_error(e.sqlstate)) throw pg_bad_item{};
    throw;
  }
}

/// Calls send(ids, jsons, from) for consecutive runs of the documents docs[rows[...]], each at most
/// pg_insert_batch_bytes (one larger document goes alone); `from` is the run's first position in rows.
template <class Send>
void pg_in_batches(std::span<const stored_document> docs, std::span<const std::size_t> rows, Send&& send) {
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
    if (bytes > 0 && bytes + docs[i].json.size() > pg_insert_batch_bytes) flush();
    ids.push_back(docs[i].id);
    jsons.push_back(docs[i].json);
    bytes += docs[i].id.size() + docs[i].json.size();
  }
  flush();
}

inline void pg_insert_rows(pg_connection& c, std::string_view index, std::span<const stored_document> docs,
                           std::span<const std::size_t> rows, const pg_write_target& target) {
  pg_in_batches(docs, rows, [&](std::span<const std::string_view> ids, std::span<const std::string_view> jsons,
                                std::size_t from) {
    try {
      c.exec("INSERT INTO " + target.table + " (idx, id, json, seq) SELECT $1, d.id, d.json, $4 + d.n "
             "FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS d(id, json, n)" + target.upsert(),
             pg_params().text(index).text_array(ids).text_array(jsons).int8(
                 target.base + static_cast<std::int64_t>(from)));
    } catch (const pg_server_error& e) {
      if (pg_item_error(e.sqlstate)) throw pg_bad_item{};
      throw;
    }
  });
}

}  // namespace tributary::detail
