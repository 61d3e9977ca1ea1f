#pragma once
// The work each benchmark times, as plain functions, so that tests/bench_equivalence_test.cpp checks
// the very code the benchmarks run.
//
//   engine_copy_merge    step 5 of the protocol as the collector does it: peer pages through
//                        peer_page_merger, local documents read from and written to a memory_index
//   baseline_copy_merge  the same copy-merge as a typical C++ implementation would write it:
//                        nlohmann::ordered_json documents and a std::unordered_map of JSON text
//   dom_parse_ceiling    simdjson's DOM parser over the same bytes, doing nothing else
//   plain_sqlite_insert  one prepared INSERT per row in one transaction, the ceiling for sqlite_index

#include <sqlite3.h>

#include <algorithm>
#include <iterator>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <tributary/collector/config.hpp>
#include <tributary/catalogue/document.hpp>
#include <tributary/error.hpp>
#include <tributary/index/memory.hpp>
#include <tributary/catalogue/merge/environment_union.hpp>
#include <tributary/collector/peer_merge.hpp>

#include "catalogue_generator.hpp"

namespace tributary::bench {

inline constexpr std::size_t scan_page_size = 1000;  // the collector's default scan_page

/// The peer's documents cut into scan pages, as the peer's store hands them out.
[[nodiscard]] inline std::vector<std::span<const stored_document>> pages_of(const std::vector<stored_document>& docs,
                                                                            std::size_t page = scan_page_size) {
  std::vector<std::span<const stored_document>> out;
  for (std::size_t at = 0; at < docs.size(); at += page)
    out.emplace_back(docs.data() + at, std::min(page, docs.size() - at));
  return out;
}

/// The peer's documents cut into scan pages as the peer's store's scan hands them out: each page the
/// reader's own, each text with room for a parser's padding (detail::padded_text).
using scanned_pages = std::vector<std::vector<stored_document>>;
[[nodiscard]] inline scanned_pages scan_pages_of(const std::vector<stored_document>& docs,
                                                 std::size_t page = scan_page_size) {
  scanned_pages out;
  for (const auto part : pages_of(docs, page)) {
    auto& p = out.emplace_back();
    p.reserve(part.size());
    for (const auto& d : part) p.push_back({d.id, tributary::detail::padded_text(d.json)});
  }
  return out;
}

// ---- engine -----------------------------------------------------------------------------------------

using merger_counts = peer_page_merger<environment_union>::counts;

/// Copies a peer's pages into `worker` of `store`, as collector.hpp's copy_peer does with a
/// rewrite_store: each page merged a part of `merge_batch` documents at a time (the collector's
/// default), whose text the merger takes over and reads where the scan left it, each local document
/// read where the store keeps it and replaced by its merge.
class engine_copier {
 public:
  engine_copier(memory_index& store, std::string_view worker, const environment_union& merge,
                std::size_t merge_batch = collector_config{}.merge_batch)
      : store_(store), worker_(worker), merger_(merge, std::string(peer_environment), false),
        merge_batch_(merge_batch) {}

  /// Merges and writes one page; its documents are left empty.
  void copy(std::span<stored_document> page) {
    for (std::size_t at = 0; at < page.size(); at += merge_batch_) {
      const auto& ids = merger_.take_over(page.subspan(at, std::min(merge_batch_, page.size() - at)));
      const auto result = store_.rewrite(worker_, ids, [&](std::size_t i, const std::string* local) -> const std::string* {
        auto* w = merger_.merge_one(i, local);
        return w ? &w->json : nullptr;
      });
      if (!result.ok()) throw error(errc::store_unavailable, "bench: rewrite failed: " + result.failures.front().reason);
    }
  }

  [[nodiscard]] const merger_counts& totals() const noexcept { return merger_.totals(); }

 private:
  memory_index& store_;
  std::string_view worker_;
  peer_page_merger<environment_union> merger_;
  std::size_t merge_batch_;
};

/// engine_copier over every page.
inline merger_counts engine_copy_merge(memory_index& store, std::string_view worker, scanned_pages&& pages,
                                       const environment_union& merge = {},
                                       std::size_t merge_batch = collector_config{}.merge_batch) {
  engine_copier copier(store, worker, merge, merge_batch);
  for (auto& page : pages) copier.copy(page);
  return copier.totals();
}

/// A fresh local worker holding `local`.
inline void load_worker(memory_index& store, std::string_view worker, std::span<const stored_document> local) {
  store.create_index(worker);
  for (std::size_t at = 0; at < local.size(); at += 10000)
    (void)store.bulk_write(worker, local.subspan(at, std::min<std::size_t>(10000, local.size() - at)));
}

// ---- baseline ---------------------------------------------------------------------------------------

namespace baseline {

using json = nlohmann::ordered_json;

inline void sort_unique(json& array) {
  std::vector<std::string> v;
  for (const auto& x : array) v.push_back(x.get<std::string>());
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  array = v;
}

inline std::string string_or_empty(const json& o, const char* key) {
  auto it = o.find(key);
  return it == o.end() || !it->is_string() ? std::string() : it->get<std::string>();
}

inline json array_or_empty(const json& o, const char* key) {
  auto it = o.find(key);
  return it == o.end() ? json::array() : *it;
}

/// The detail in the engine's field order, unknown fields dropped.
inline json canonical_detail(const json& d) {
  json out = json::object();
  out["version"] = string_or_empty(d, "version");
  out["title"] = string_or_empty(d, "title");
  out["summary"] = string_or_empty(d, "summary");
  out["description"] = string_or_empty(d, "description");
  out["type"] = string_or_empty(d, "type");
  out["pricing"] = array_or_empty(d, "pricing");
  sort_unique(out["pricing"]);
  out["data"] = array_or_empty(d, "data");
  sort_unique(out["data"]);
  if (auto it = d.find("links"); it != d.end()) out["links"] = *it;
  out["openApiString"] = string_or_empty(d, "openApiString");
  out["collected"] = string_or_empty(d, "collected");
  const json x = d.contains("xroadIdentifier") ? d["xroadIdentifier"] : json::object();
  out["xroadIdentifier"] = {{"instance", string_or_empty(x, "instance")},
                            {"memberClass", string_or_empty(x, "memberClass")},
                            {"memberCode", string_or_empty(x, "memberCode")},
                            {"subsystemCode", string_or_empty(x, "subsystemCode")},
                            {"serviceCode", string_or_empty(x, "serviceCode")}};
  return out;
}

inline json canonical_entry(const json& e) {
  json out = json::object();
  out["environment"] = string_or_empty(e, "environment");
  out["owner"] = string_or_empty(e, "owner");
  out["access"] = array_or_empty(e, "access");
  sort_unique(out["access"]);
  if (e.value("stale", false)) out["stale"] = true;
  std::vector<json> details;
  if (auto it = e.find("details"); it != e.end())
    for (const auto& d : *it) details.push_back(canonical_detail(d));
  std::sort(details.begin(), details.end(), [](const json& a, const json& b) {
    return compare_versions(a["version"].get_ref<const std::string&>(), b["version"].get_ref<const std::string&>()) < 0;
  });
  out["details"] = details;
  return out;
}

/// Entries in precedence order, and the document-level fields derived from them, in the engine's
/// field order.
inline json canonical_document(const std::string& id, std::vector<json> entries, const environment_order& order) {
  std::sort(entries.begin(), entries.end(), [&](const json& a, const json& b) {
    return order.before(a["environment"].get_ref<const std::string&>(), b["environment"].get_ref<const std::string&>());
  });
  json doc = json::object();
  doc["id"] = id;
  std::string title, summary, description, owner;
  json type = json::array(), pricing = json::array(), data = json::array(), access = json::array();
  if (!entries.empty()) {
    owner = entries.front()["owner"].get<std::string>();
    const auto& details = entries.front()["details"];
    if (!details.empty()) {
      const auto& newest = details.back();
      title = newest["title"], summary = newest["summary"], description = newest["description"];
    }
  }
  for (const auto& e : entries) {
    for (const auto& a : e["access"]) access.push_back(a);
    for (const auto& d : e["details"]) {
      if (!d["type"].get_ref<const std::string&>().empty()) type.push_back(d["type"]);
      for (const auto& p : d["pricing"]) pricing.push_back(p);
      for (const auto& x : d["data"]) data.push_back(x);
    }
  }
  sort_unique(type), sort_unique(pricing), sort_unique(data), sort_unique(access);
  doc["title"] = title, doc["summary"] = summary, doc["description"] = description, doc["owner"] = owner;
  doc["type"] = type, doc["pricing"] = pricing, doc["data"] = data, doc["access"] = access;
  doc["environments"] = entries;
  return doc;
}

/// The same copy-merge as engine_copy_merge, over a worker kept as id → JSON text.
inline merger_counts copy_merge(std::unordered_map<std::string, std::string>& worker,
                                std::span<const std::span<const stored_document>> pages,
                                const environment_order& order = {}) {
  merger_counts counts;
  for (const auto page : pages) {
    for (const auto& d : page) {
      const json remote = json::parse(d.json);
      ++counts.read;
      const json* own = nullptr;
      for (const auto& e : remote["environments"])
        if (e["environment"] == peer_environment) own = &e;
      if (!own) continue;
      json entry = canonical_entry(*own);
      entry.erase("stale");
      const std::string id = remote["id"].get<std::string>();
      auto it = worker.find(id);
      std::vector<json> entries;
      if (it != worker.end()) {
        const json local = json::parse(it->second);
        for (const auto& e : local["environments"])
          if (e["environment"] != peer_environment) entries.push_back(canonical_entry(e));
        ++counts.merged;
      } else {
        ++counts.added;
      }
      entries.push_back(std::move(entry));
      worker.insert_or_assign(id, canonical_document(id, std::move(entries), order).dump());
    }
  }
  return counts;
}

}  // namespace baseline

// ---- ceilings ---------------------------------------------------------------------------------------

/// The peer documents and the local documents a copy-merge merges into, one a line: the bytes a
/// copy-merge has to parse.
[[nodiscard]] inline simdjson::padded_string merge_input_ndjson(const catalogue& c) {
  std::string all;
  all.reserve(c.merge_input_bytes() + c.peer.size() + c.local.size());
  for (const auto& d : c.peer) all.append(d.json).push_back('\n');
  // The local documents the peer also has: ids on both sides.
  std::size_t p = 0;
  for (const auto& d : c.local) {
    while (p < c.peer.size() && c.peer[p].id < d.id) ++p;
    if (p < c.peer.size() && c.peer[p].id == d.id) all.append(d.json).push_back('\n');
  }
  return simdjson::padded_string(all);
}

/// Parses every document of `ndjson` with simdjson's DOM parser and returns how many there were.
inline std::size_t dom_parse_ceiling(simdjson::dom::parser& parser, const simdjson::padded_string& ndjson) {
  std::size_t count = 0;
  simdjson::dom::document_stream stream;
  if (auto err = parser.parse_many(ndjson, 4 << 20).get(stream))
    throw error(errc::bad_document, std::string("parse_many: ") + simdjson::error_message(err));
  for (auto doc : stream) {
    if (doc.error()) throw error(errc::bad_document, std::string("parse_many: ") + simdjson::error_message(doc.error()));
    ++count;
  }
  return count;
}

// ---- stores -----------------------------------------------------------------------------------------

/// The plain way to write rows into a tributary SQLite file: one prepared INSERT, bound without
/// copies, stepped per row inside one transaction. The connection uses the pragmas sqlite_index uses.
class plain_sqlite_insert {
 public:
  explicit plain_sqlite_insert(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) throw error(errc::store_unavailable, "bench: cannot open " + path);
    exec("PRAGMA foreign_keys = ON");
    exec("PRAGMA journal_mode = WAL");
    exec("PRAGMA synchronous = FULL");
    const char* sql = "INSERT INTO documents(idx, id, json) VALUES (?1, ?2, ?3)";
    if (sqlite3_prepare_v2(db_, sql, -1, &insert_, nullptr) != SQLITE_OK) fail("prepare");
  }
  plain_sqlite_insert(const plain_sqlite_insert&) = delete;
  plain_sqlite_insert& operator=(const plain_sqlite_insert&) = delete;
  ~plain_sqlite_insert() {
    sqlite3_finalize(insert_);
    sqlite3_close(db_);
  }

  void write(std::string_view index, std::span<const stored_document> docs) {
    exec("BEGIN IMMEDIATE");
    for (const auto& d : docs) {
      sqlite3_bind_text64(insert_, 1, index.data(), index.size(), SQLITE_STATIC, SQLITE_UTF8);
      sqlite3_bind_text64(insert_, 2, d.id.data(), d.id.size(), SQLITE_STATIC, SQLITE_UTF8);
      sqlite3_bind_text64(insert_, 3, d.json.data(), d.json.size(), SQLITE_STATIC, SQLITE_UTF8);
      if (sqlite3_step(insert_) != SQLITE_DONE) fail("insert");
      sqlite3_reset(insert_);
    }
    exec("COMMIT");
  }

 private:
  void exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(sql);
  }
  [[noreturn]] void fail(std::string_view what) {
    throw error(errc::store_unavailable, "bench: plain sqlite " + std::string(what) + ": " + sqlite3_errmsg(db_));
  }
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
};

}  // namespace tributary::bench
