#pragma once
// elasticsearch_index<Transport>: an index backend on the REST API of Elasticsearch 7.10+ and 8.x and
// OpenSearch 1.x/2.x, over any tributary::transport (curl_transport in production, loopback_transport
// in tests). It holds a Transport&; the transport owns TLS (verification on in curl_transport).
//
// How the backend's semantics map onto the REST API:
// - Documents are written through `POST /{index}/_bulk?refresh=wait_for` (NDJSON, batched by bytes),
//   so a write is visible to scans before bulk_write returns. Items the cluster rejects with 429 are
//   retried with exponential backoff and full jitter; other failed items are reported in
//   bulk_result::failures as "type: reason". An HTTP 200 with "errors": true is never taken as success.
// - The stored id is also written into the document, as the keyword field `options.id_field` (first
//   member of the object), because sorting on `_id` is disallowed in 8.x. It is stripped again on the
//   way out, so get and scan return the document text exactly as it was written (Elasticsearch returns
//   _source as the bytes it received). Raw line breaks in a document (whitespace between tokens; JSON
//   forbids them inside strings) become spaces, since NDJSON is one document per line.
// - scan(index, after_id, limit) is ONE plain search sorted by the id field with
//   search_after=[after_id]. Not a PIT per call: the scan API is stateless, so a PIT opened and closed
//   per page would cost two extra requests per page and still give no consistency across pages; a
//   single search already reads one consistent view per shard, and keyset paging on a unique key
//   neither repeats nor skips a document that does not change meanwhile. For a consistent view of a
//   whole index use for_each_page(), which holds one point in time (`/_pit` on Elasticsearch,
//   `/_search/point_in_time` on OpenSearch 2.4+) or, where that is missing, a sorted scroll, and
//   always closes it.
// - insert_if_absent sends bulk `create` actions (a 409 version_conflict_engine_exception means the id
//   existed), delete_documents bulk `delete` actions (404 "not_found": absent), exists an `_mget` with
//   `_source=false`. The two writes are sent non-idempotent: repeated by a transport after the cluster
//   applied them, they would misreport what they did.
// - create_index sends the settings and elasticsearch_options::mappings (by default only the id field
//   is mapped): the backend knows no document shape.
// - An alias is not an index for document operations: bulk_write checks first that the name is a
//   concrete index (a bulk would otherwise auto-create it or write through the alias); get and scan
//   compare the `_index` of what comes back.
// - update_aliases is one `POST /_aliases`, which the cluster applies atomically. Removing an alias
//   that is absent fails the whole request on most versions, so the backend reads the alias table
//   first and sends only removals of pairs that exist (remove_everywhere becomes one removal per
//   index, by explicit name, never a wildcard); when the table changed in between the cluster answers
//   404 and the update is re-planned. `must_exist` is sent where the server parses it (Elasticsearch
//   7.11+, OpenSearch 2.12+); elsewhere it is checked against the table that was read.
// - delete_indices names every index explicitly (`DELETE /a,b?expand_wildcards=none`) after checking
//   that each exists and carries no alias. An alias added between that check and the delete goes with
//   the index: Elasticsearch has no conditional delete.
// - Requests whose repetition would change their answer (create index, delete index, alias updates)
//   are marked non-idempotent, so a transport never retries them.
//
// Thread safety: one instance may be used by several threads when its Transport may be (loopback_
// transport may; a curl_transport is used by one thread at a time, so give each thread its own
// elasticsearch_index and curl_transport, or serialise access).
//
// Privileges needed on the cluster: monitor (GET /, _cat/indices), and on the collector's indices
// create_index, write, read, view_index_metadata, manage (aliases, refresh) and delete_index.

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
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
#include <tributary/index/elasticsearch_wire.hpp>
#include <tributary/index/types.hpp>
#include <tributary/index/names.hpp>
#include <tributary/redact.hpp>
#include <tributary/retry.hpp>
#include <tributary/transport/http.hpp>

namespace tributary {

enum class search_engine { elasticsearch, opensearch };

/// What `GET /` says about the server, and the features that follow from it.
struct search_server {
  search_engine engine = search_engine::elasticsearch;
  int major = 0, minor = 0, patch = 0;
  std::string number;  ///< version.number as the server reports it

  [[nodiscard]] bool at_least(int ma, int mi) const noexcept { return major > ma || (major == ma && minor >= mi); }
  /// Elasticsearch 7.10+ (`/{index}/_pit`), OpenSearch 2.4+ (`/{index}/_search/point_in_time`).
  [[nodiscard]] bool has_point_in_time() const noexcept {
    return engine == search_engine::elasticsearch ? at_least(7, 10) : at_least(2, 4);
  }
  /// `must_exist` on remove alias actions: parsed by Elasticsearch since the fix of
  /// elastic/elasticsearch#62642 (7.11 to be safe), by OpenSearch since 2.12 (opensearch-project/OpenSearch#2949).
  [[nodiscard]] bool has_must_exist() const noexcept {
    return engine == search_engine::elasticsearch ? at_least(7, 11) : at_least(2, 12);
  }
  /// Elasticsearch 7.10+ and OpenSearch (a fork of 7.10.2) are supported.
  [[nodiscard]] bool supported() const noexcept {
    return engine == search_engine::opensearch ? major >= 1 : at_least(7, 10);
  }
  [[nodiscard]] std::string describe() const {
    return std::string(engine == search_engine::opensearch ? "OpenSearch " : "Elasticsearch ") + number;
  }

  /// Parses the body of `GET /`. Throws errc::store_unavailable when it is not a server's answer.
  [[nodiscard]] static search_server parse(std::string_view root_json);
};

/// How requests authenticate. The header value is built once, at construction of the backend.
struct elasticsearch_auth {
  enum class kind { none, basic, api_key, bearer };
  kind scheme = kind::none;
  std::string user;    ///< basic: the user name; api_key: the key's id (empty when `secret` is already encoded)
  std::string secret;  ///< basic: the password; api_key: the key, or base64(id:key) as the server issues it; bearer: the token

  [[nodiscard]] static elasticsearch_auth basic(std::string user, std::string password) {
    return {kind::basic, std::move(user), std::move(password)};
  }
  /// The `encoded` value of a create-API-key response: base64 of "id:api_key".
  [[nodiscard]] static elasticsearch_auth api_key(std::string encoded) { return {kind::api_key, {}, std::move(encoded)}; }
  [[nodiscard]] static elasticsearch_auth api_key(std::string id, std::string key) {
    return {kind::api_key, std::move(id), std::move(key)};
  }
  [[nodiscard]] static elasticsearch_auth bearer(std::string token) { return {kind::bearer, {}, std::move(token)}; }

  /// The Authorization header value; empty for kind::none.
  [[nodiscard]] std::string header_value() const;
};

/// When bulk writes become visible to searches.
enum class refresh_policy {
  wait_for,   ///< `refresh=wait_for`: the request returns once a refresh made the writes visible (default)
  immediate,  ///< `refresh=true`: forces a refresh per request; costly on busy clusters
  none,       ///< no refresh: call refresh(index) before scanning or publishing
};

struct elasticsearch_options {
  /// Base URL of the cluster: `https://host:9200`, optionally with a path prefix behind a proxy.
  std::string url;
  elasticsearch_auth auth;
  http_headers headers;  ///< sent with every request (after Accept, Content-Type and Authorization)

  /// A bulk request carries at most this many bytes of NDJSON (a single larger document goes alone).
  std::size_t bulk_max_bytes = 10 * 1024 * 1024;
  /// Attempts per document when the cluster answers 429 for it (or for the whole bulk request, or 503).
  unsigned bulk_max_attempts = 6;
  /// Before retry n wait a uniform draw from [0, min(backoff_cap, backoff_base * 2^(n-1))].
  std::chrono::milliseconds backoff_base{100};
  std::chrono::milliseconds backoff_cap{10'000};
  std::uint64_t seed = 0x65735f6a6974746eULL;  ///< of the jitter RNG
  /// Waits between retries; empty means std::this_thread::sleep_for. Tests record the waits here.
  std::function<void(std::chrono::milliseconds)> sleep;
  refresh_policy refresh = refresh_policy::wait_for;

  std::size_t mget_batch = 1000;      ///< ids per `_mget` request
  std::size_t max_page = 9'999;       ///< largest scan page (index.max_result_window is 10000; one more is asked for)
  std::string keep_alive = "1m";      ///< of points in time and scrolls, per page
  std::string id_field = "tributary_id";  ///< the keyword field that carries the id for sorting

  std::optional<unsigned> number_of_shards;    ///< unset: the cluster's default
  std::optional<unsigned> number_of_replicas;  ///< unset: the cluster's default
  /// The `mappings` object of `PUT /{index}` (JSON), for the documents the user stores (the X-Road
  /// catalogue's is catalogue_elasticsearch_mapping() in <tributary/catalogue/elasticsearch_mapping.hpp>).
  /// It must map `id_field` as a keyword: scans sort on it. Empty: only `id_field` is mapped, every other
  /// field dynamically.
  std::string mappings;
  /// The whole body of `PUT /{index}`, sent as it is; empty: settings above plus `mappings`.
  std::string create_body;
  /// Skips `GET /` (which needs the monitor privilege) when set.
  std::optional<search_server> server;

  /// Throws error(errc::invalid_config) naming the first problem.
  void validate() const;

  /// `http(s)://[user:password@]host[:port][/prefix]`: the URL with basic authentication taken from
  /// its user info (%-escapes decoded). Anything else throws errc::invalid_config.
  [[nodiscard]] static elasticsearch_options from_url(std::string_view url);
};


inline search_server search_server::parse(std::string_view root_json) {
  search_server s;
  try {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(root_json);
    simdjson::dom::element doc = parser.parse(padded);
    simdjson::dom::element version = doc["version"];
    s.number = std::string(std::string_view(version["number"]));
    std::string_view distribution;
    if (version["distribution"].get(distribution) == simdjson::SUCCESS && distribution == "opensearch")
      s.engine = search_engine::opensearch;
  } catch (const simdjson::simdjson_error& e) {
    throw error(errc::store_unavailable,
                std::string("elasticsearch: GET / did not describe a search server (") + e.what() + ")");
  }
  int* parts[] = {&s.major, &s.minor, &s.patch};
  std::size_t at = 0;
  for (int* part : parts) {
    int v = 0;
    bool digits = false;
    while (at < s.number.size() && s.number[at] >= '0' && s.number[at] <= '9') {
      if (v > 99'999'999)  // no version part has ten digits, and the int would overflow
        throw error(errc::store_unavailable, "elasticsearch: GET / did not describe a search server (version.number '" +
                                               s.number + "' is not a version)");
      v = v * 10 + (s.number[at++] - '0');
      digits = true;
    }
    if (!digits) break;
    *part = v;
    if (at < s.number.size() && s.number[at] == '.') ++at;
    else break;
  }
  return s;
}

inline std::string elasticsearch_auth::header_value() const {
  switch (scheme) {
    case kind::none: return {};
    case kind::basic: return "Basic " + detail::es_base64(user + ":" + secret);
    case kind::api_key: return "ApiKey " + (user.empty() ? secret : detail::es_base64(user + ":" + secret));
    case kind::bearer: return "Bearer " + secret;
  }
  return {};
}

inline void elasticsearch_options::validate() const {
  auto fail = [](const std::string& what) { throw error(errc::invalid_config, "elasticsearch_options: " + what); };
  if (!url.starts_with("http://") && !url.starts_with("https://"))
    fail("url " + detail::quote_url(url) + " must start with http:// or https://");
  if (url.find_first_of("?#") != std::string::npos) fail("url " + detail::quote_url(url) + " must not have a query or fragment");
  if (bulk_max_bytes < 1024) fail("bulk_max_bytes must be at least 1024");
  if (bulk_max_attempts == 0) fail("bulk_max_attempts must be at least 1");
  if (backoff_base < std::chrono::milliseconds::zero()) fail("backoff_base must not be negative");
  if (backoff_cap < backoff_base) fail("backoff_cap must not be below backoff_base");
  if (mget_batch == 0) fail("mget_batch must be at least 1");
  if (max_page == 0 || max_page > 9'999) fail("max_page must be between 1 and 9999");
  if (keep_alive.empty()) fail("keep_alive must not be empty");
  if (id_field.empty() || id_field.front() == '_' || id_field.find_first_of("\".") != std::string::npos)
    fail("id_field '" + id_field + "' must be a plain top-level field name");
  if (!mappings.empty()) {
    // Checked here, not by a 400 at the first create_index of a run: and a mapping without the id field
    // as a keyword would be taken, and every scan of its index refused.
    std::string_view type;
    try {
      simdjson::dom::parser parser;
      const simdjson::padded_string padded(mappings);
      simdjson::dom::element m = parser.parse(padded);
      if (!m.is_object()) fail("mappings must be a JSON object");
      if (m.at_key("properties").at_key(id_field).at_key("type").get(type) != simdjson::SUCCESS || type != "keyword")
        fail("mappings must map id_field '" + id_field + "' as {\"type\":\"keyword\"} (scans sort on it)");
    } catch (const simdjson::simdjson_error& e) {
      fail(std::string("mappings is not valid JSON: ") + e.what());
    }
  }
  if ((auth.scheme == elasticsearch_auth::kind::basic || auth.scheme == elasticsearch_auth::kind::bearer ||
       auth.scheme == elasticsearch_auth::kind::api_key) &&
      auth.secret.empty())
    fail("authentication needs a secret (password, key or token)");
}

inline elasticsearch_options elasticsearch_options::from_url(std::string_view url) {
  elasticsearch_options o;
  std::string_view scheme;
  if (url.starts_with("http://")) scheme = "http://";
  else if (url.starts_with("https://")) scheme = "https://";
  else throw error(errc::invalid_config, "elasticsearch URL " + detail::quote_url(url) + " must start with http:// or https://");
  std::string_view rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view info = authority.substr(0, at);
    const auto colon = info.find(':');
    auto decode = [](std::string_view part) {
      auto decoded = detail::percent_decode(part);
      if (!decoded) throw error(errc::invalid_config, "elasticsearch URL user info has a malformed %-escape");
      return std::move(*decoded);
    };
    o.auth = elasticsearch_auth::basic(decode(info.substr(0, colon)),
                                       colon == std::string_view::npos ? std::string() : decode(info.substr(colon + 1)));
    rest = rest.substr(at + 1);
  }
  if (rest.empty() || rest.front() == '/')
    throw error(errc::invalid_config, "elasticsearch URL " + detail::quote_url(url) + " names no host");
  o.url = std::string(scheme) + std::string(rest);
  while (o.url.ends_with('/')) o.url.pop_back();
  o.validate();
  return o;
}

/// Models index_backend, exists_many_store, insert_if_absent_store, document_delete_store and
/// padded_text_store on an Elasticsearch or OpenSearch cluster. See the top of this header.
template <class Transport>
class elasticsearch_index {
  static_assert(transport<Transport>,
                "elasticsearch_index<Transport>: Transport must model tributary::transport (see concepts.hpp)");

 public:
  // No change_cursor_concept: Elasticsearch has no order of writes that a reader can follow. _seq_no
  // is per shard, and a refresh makes writes visible per shard, not in any global order, so a reader
  // paging "after position p" could pass a write that becomes visible later with a smaller position.
  using index_backend_concept = index_backend_tag;
  using exists_many_concept = exists_many_tag;
  using insert_if_absent_concept = insert_if_absent_tag;
  using document_delete_concept = document_delete_tag;
  using padded_text_concept = padded_text_tag;
  using transport_type = Transport;

  /// Validates `options` (errc::invalid_config); sends nothing yet.
  elasticsearch_index(Transport& transport, elasticsearch_options options)
      : transport_(&transport), options_(std::move(options)),
        backoff_(options_.backoff_base, options_.backoff_cap, options_.seed) {
    options_.validate();
    while (options_.url.ends_with('/')) options_.url.pop_back();
    authorization_ = options_.auth.header_value();
  }

  [[nodiscard]] const elasticsearch_options& options() const noexcept { return options_; }

  /// The server, from options or from `GET /` (asked once, then kept). Throws errc::store_unavailable
  /// for a server older than Elasticsearch 7.10.
  [[nodiscard]] search_server server() const {
    std::lock_guard lock(mu_);
    if (!server_) {
      search_server s;
      if (options_.server) {
        s = *options_.server;
      } else {
        auto r = call("GET", "/", {}, true);
        if (!r.ok()) fail(r, "reading the server version (GET /)");
        s = search_server::parse(r.body);
      }
      if (!s.supported())
        throw error(errc::store_unavailable, "elasticsearch: " + s.describe() +
                                                 " is not supported; tributary needs Elasticsearch 7.10+ or OpenSearch");
      server_ = s;
    }
    return *server_;
  }

  /// The body create_index sends by default: explicit settings and options().mappings, or, without
  /// one, a mapping of the id field alone (other fields are mapped dynamically).
  [[nodiscard]] std::string default_create_body() const {
    std::string body = "{";
    if (options_.number_of_shards || options_.number_of_replicas) {
      body += "\"settings\":{\"index\":{";
      if (options_.number_of_shards) body += "\"number_of_shards\":" + std::to_string(*options_.number_of_shards);
      if (options_.number_of_shards && options_.number_of_replicas) body += ',';
      if (options_.number_of_replicas) body += "\"number_of_replicas\":" + std::to_string(*options_.number_of_replicas);
      body += "}},";
    }
    body += "\"mappings\":";
    if (!options_.mappings.empty()) {
      body += options_.mappings;
    } else {
      body += "{\"properties\":{";
      detail::append_quoted(body, options_.id_field);
      body += ":{\"type\":\"keyword\"}}}";
    }
    body += '}';
    return body;
  }

  void create_index(std::string_view name) {
    validate_index_name(name);
    const std::string body = options_.create_body.empty() ? default_create_body() : options_.create_body;
    auto r = call("PUT", "/" + detail::percent_encode(name), body, false);
    if (r.ok()) return;
    const auto f = detail::es_failure_of(r.body);
    // An alias of that name: "Invalid index name [x], already exists as alias".
    if (f.type == "resource_already_exists_exception" ||
        (f.type == "invalid_index_name_exception" && f.reason.find("alias") != std::string::npos))
      throw error(errc::already_exists, "index '" + std::string(name) + "' already exists (" + f.type + ": " + f.reason + ")");
    fail(r, "creating index '" + std::string(name) + "'");
  }

  [[nodiscard]] bool index_exists(std::string_view name) const {
    if (detail::name_problem(name, true)) return false;  // no index can have that name
    auto r = call("GET", "/_cat/indices/" + detail::percent_encode(name) + "?format=json&h=index", {}, true);
    if (r.status == 404) return false;
    if (!r.ok()) fail(r, "checking index '" + std::string(name) + "'");
    const auto found = cat_indices(r.body);
    return std::find(found.begin(), found.end(), name) != found.end();
  }

  bulk_result bulk_write(std::string_view index, std::span<const stored_document> docs) {
    validate_index_name(index);
    require_index(index);  // a bulk request would auto-create a missing index or write through an alias
    bulk_result result;
    auto pending = bulk_items("index", docs, result.failures);
    const auto gave_up = send_bulk(index, std::move(pending), true, false, [&](std::size_t position, const bulk_outcome& o) {
      if (o.status >= 200 && o.status < 300) ++result.written;
      else result.failures.push_back({position, docs[position].id, o.text(), false});
    });
    for (const auto& [position, reason] : gave_up) result.failures.push_back({position, docs[position].id, reason, true});
    std::sort(result.failures.begin(), result.failures.end(),
              [](const auto& a, const auto& b) { return a.position < b.position; });
    return result;
  }

  /// Bulk `create` actions: the cluster writes a document only when its id is absent, and answers 409
  /// version_conflict_engine_exception for one that exists, atomically per document. Sent non-idempotent:
  /// a transport that repeated a request the cluster had applied would turn `inserted` into `existed`.
  insert_result insert_if_absent(std::string_view index, std::span<const stored_document> docs) {
    validate_index_name(index);
    require_index(index);
    insert_result result;
    result.items.assign(docs.size(), insert_result::outcome::failed);
    auto pending = bulk_items("create", docs, result.failures);
    const auto gave_up = send_bulk(index, std::move(pending), false, false, [&](std::size_t position, const bulk_outcome& o) {
      if (o.status >= 200 && o.status < 300) {
        result.items[position] = insert_result::outcome::inserted;
      } else if (o.status == 409 && o.type == "version_conflict_engine_exception") {
        result.items[position] = insert_result::outcome::existed;
      } else {
        result.failures.push_back({position, docs[position].id, o.text(), false});
      }
    });
    for (const auto& [position, reason] : gave_up) result.failures.push_back({position, docs[position].id, reason, true});
    std::sort(result.failures.begin(), result.failures.end(),
              [](const auto& a, const auto& b) { return a.position < b.position; });
    return result;
  }

  /// Bulk `delete` actions; an id the index does not hold answers 404 with result "not_found". Sent
  /// non-idempotent, like insert_if_absent. An id the cluster kept refusing (429s beyond
  /// bulk_max_attempts) or failed to delete throws errc::store_unavailable: deleting again is safe.
  delete_result delete_documents(std::string_view index, std::span<const std::string> ids) {
    validate_index_name(index);
    require_index(index);
    delete_result result;
    result.present.assign(ids.size(), false);
    std::vector<bulk_item> pending;
    std::set<std::string_view> asked;  // a repeated id was present once, the first time
    for (std::size_t i = 0; i < ids.size(); ++i) {
      // An empty id or one over 512 bytes was never stored, and would fail the whole request.
      if (ids[i].empty() || ids[i].size() > 512 || !asked.insert(ids[i]).second) continue;
      std::string lines = "{\"delete\":{\"_id\":";
      detail::append_quoted(lines, ids[i]);
      lines += "}}\n";
      pending.push_back({i, std::move(lines)});
    }
    std::string failure;
    const auto gave_up = send_bulk(index, std::move(pending), false, true, [&](std::size_t position, const bulk_outcome& o) {
      if (o.status >= 200 && o.status < 300) result.present[position] = true;
      else if (o.status != 404 || o.result != "not_found") failure = "'" + ids[position] + "': " + o.text();
    });
    if (!gave_up.empty()) failure = "'" + ids[gave_up.front().first] + "': " + gave_up.front().second;
    if (!failure.empty())
      throw error(errc::store_unavailable, "elasticsearch: deleting documents from '" + std::string(index) + "': " + failure);
    return result;
  }

  /// `_mget` with `_source=false`: which ids the index holds, reading no document.
  [[nodiscard]] std::vector<bool> exists(std::string_view index, std::span<const std::string> ids) const {
    std::vector<bool> out(ids.size(), false);
    multi_get(index, ids, false, [&](std::size_t k, detail::es_hit& h) { out[k] = h.found; });
    return out;
  }

  [[nodiscard]] std::vector<std::optional<std::string>> get(std::string_view index,
                                                           std::span<const std::string> ids) const {
    std::vector<std::optional<std::string>> out(ids.size());
    multi_get(index, ids, true, [&](std::size_t k, detail::es_hit& h) {
      if (h.found) out[k] = detail::es_source_without_id(options_.id_field, ids[k], h.source);
    });
    return out;
  }

  [[nodiscard]] scan_page scan(std::string_view index, std::string_view after_id, std::size_t limit) const {
    if (limit == 0) throw error(errc::invalid_config, "scan page size must be positive");
    validate_index_name(index);
    const std::size_t size = std::min(limit, options_.max_page);
    std::string body = "{\"size\":" + std::to_string(size + 1) + ",\"query\":{\"match_all\":{}},\"sort\":" + sort_clause() +
                       ",\"track_total_hits\":false";
    if (!after_id.empty()) {
      body += ",\"search_after\":[";
      detail::append_quoted(body, after_id);
      body += ']';
    }
    body += '}';
    auto r = call("POST", "/" + detail::percent_encode(index) + "/_search", std::move(body), true);
    if (!r.ok()) fail(r, "scanning '" + std::string(index) + "'");
    auto parsed = detail::es_parse_hits(r.body, {});
    if (parsed.hits.empty()) require_index(index);  // an empty alias target looks like an empty index
    scan_page page;
    page.done = parsed.hits.size() <= size;
    const std::size_t n = std::min(size, parsed.hits.size());
    page.documents.reserve(n);
    for (std::size_t k = 0; k < parsed.hits.size(); ++k) {
      auto& h = parsed.hits[k];
      if (h.index != index) throw not_an_index(index);
      if (k < n) page.documents.push_back({h.id, detail::es_source_without_id(options_.id_field, h.id, h.source)});
    }
    if (!page.documents.empty()) page.next_after = page.documents.back().id;
    return page;
  }

  /// Every document of `index` in id order, in pages of at most `page_size`, all from one consistent
  /// view: a point in time where the server has one, a sorted scroll otherwise. The PIT or scroll is
  /// closed when this returns or throws (also when `on_page` throws).
  ///   on_page(std::vector<stored_document>&&)
  template <class F>
  void for_each_page(std::string_view index, std::size_t page_size, F&& on_page) const {
    if (page_size == 0) throw error(errc::invalid_config, "scan page size must be positive");
    validate_index_name(index);
    require_index(index);
    const std::size_t size = std::min(page_size, options_.max_page);
    const auto s = server();
    if (s.has_point_in_time()) {
      if (auto pit = open_pit(index, s)) {
        pit_pages(index, std::move(*pit), s, size, on_page);
        return;
      }
    }
    scroll_pages(index, size, on_page);
  }

  /// `POST /{index}/_refresh`: everything written so far becomes visible to searches.
  void refresh(std::string_view index) {
    validate_index_name(index);
    auto r = call("POST", "/" + detail::percent_encode(index) + "/_refresh", {}, true);
    if (!r.ok()) fail(r, "refreshing '" + std::string(index) + "'");
  }

  [[nodiscard]] std::vector<std::string> list_indices(std::string_view prefix) const {
    for (char c : prefix)  // no index name contains these: nothing can match, and none may reach the pattern
      if (std::string_view(R"(\/*?"<>| ,#:)").find(c) != std::string_view::npos || static_cast<unsigned char>(c) < 0x20 ||
          (c >= 'A' && c <= 'Z'))
        return {};
    if (!prefix.empty() && (prefix.front() == '-' || prefix.front() == '_' || prefix.front() == '+')) return {};
    const std::string target = "/_cat/indices" + (prefix.empty() ? std::string() : "/" + detail::percent_encode(prefix) + "*") +
                               "?format=json&h=index&expand_wildcards=open,closed";
    auto r = call("GET", target, {}, true);
    if (r.status == 404) return {};
    if (!r.ok()) fail(r, "listing indices");
    auto names = cat_indices(r.body);
    std::erase_if(names, [&](const std::string& n) { return !n.starts_with(prefix); });  // the server's match is a pattern
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
  }

  [[nodiscard]] std::vector<std::string> alias_targets(std::string_view alias) const {
    if (detail::name_problem(alias, false)) return {};  // no alias can have that name
    auto r = call("GET", "/_alias/" + detail::percent_encode(alias), {}, true);
    if (r.status == 404) return {};  // {"error":"alias [x] missing","status":404}
    if (!r.ok()) fail(r, "reading alias '" + std::string(alias) + "'");
    std::vector<std::string> out;
    for (const auto& e : parse_alias_table(r.body))
      if (e.alias == alias) out.push_back(e.index);
    std::sort(out.begin(), out.end());
    return out;
  }

  [[nodiscard]] std::vector<alias_entry> aliases() const {
    auto r = call("GET", "/_alias?expand_wildcards=open,closed", {}, true);
    if (!r.ok()) fail(r, "reading aliases");
    auto out = parse_alias_table(r.body);
    std::sort(out.begin(), out.end());
    return out;
  }

  void update_aliases(std::span<const alias_action> actions) {
    validate_alias_actions(actions);
    // The table is read when a removal may name an absent pair, or must_exist has to be emulated.
    const bool may_be_absent = std::any_of(actions.begin(), actions.end(), [](const alias_action& a) {
      return a.op == alias_action::kind::remove_everywhere || (a.op == alias_action::kind::remove && !a.must_exist);
    });
    const bool any_must_exist = std::any_of(actions.begin(), actions.end(), [](const alias_action& a) {
      return a.op == alias_action::kind::remove && a.must_exist;
    });
    const bool native_must_exist = any_must_exist && server().has_must_exist();
    const bool needs_table = may_be_absent || (any_must_exist && !native_must_exist);
    constexpr int max_plans = 5;
    for (int plan = 1;; ++plan) {
      std::optional<std::set<alias_entry>> table;
      if (needs_table) {
        auto entries = aliases();
        table.emplace(entries.begin(), entries.end());
      }
      const std::string body = alias_request(actions, table ? &*table : nullptr, native_must_exist);
      if (body.empty()) return;  // every action was the removal of an absent pair
      auto r = call("POST", "/_aliases", body, false);
      if (r.ok()) return;
      const auto f = detail::es_failure_of(r.body);
      if (f.type == "aliases_not_found_exception") {
        // A pair we meant to remove is gone: either must_exist failed, or the table changed since we
        // read it. Re-plan from a fresh read; the plan itself reports must_exist failures.
        if (plan < max_plans) continue;
        throw error(errc::conflict, "elasticsearch: alias update kept meeting concurrent changes: " + f.reason);
      }
      if (f.type == "invalid_alias_name_exception")
        throw error(errc::conflict, "elasticsearch: alias update refused: " + f.reason);
      fail(r, "updating aliases");
    }
  }

  /// Every name is checked before anything is deleted: a failure deletes nothing.
  void delete_indices(std::span<const std::string> names) {
    for (const auto& name : names) validate_index_name(name);  // refuses '*', ',' and every other pattern
    std::vector<std::string> unique;
    for (const auto& name : names)
      if (std::find(unique.begin(), unique.end(), name) == unique.end()) unique.push_back(name);
    if (unique.empty()) return;
    const auto existing = list_indices("");
    const auto table = aliases();
    for (const auto& name : unique) {
      if (!std::binary_search(existing.begin(), existing.end(), name))
        throw error(errc::not_found, "cannot delete index '" + name + "': no such index");
      for (const auto& e : table)
        if (e.index == name)
          throw error(errc::conflict, "refusing to delete index '" + name + "': it carries alias '" + e.alias + "'");
    }
    std::string list;
    for (const auto& name : unique) {
      if (!list.empty()) list += ',';
      list += detail::percent_encode(name);
    }
    auto r = call("DELETE", "/" + list + "?expand_wildcards=none", {}, false);
    if (!r.ok()) fail(r, "deleting indices");
  }

 private:
  /// `_mget` of `ids` in batches of mget_batch; on_hit(k, hit) for each id asked (empty ids, never
  /// stored, are not asked). Without `with_source` the server sends no document (`_source=false`).
  template <class OnHit>
  void multi_get(std::string_view index, std::span<const std::string> ids, bool with_source, OnHit&& on_hit) const {
    validate_index_name(index);
    if (ids.empty()) return require_index(index);
    const std::string target = "/" + detail::percent_encode(index) + "/_mget" + (with_source ? "" : "?_source=false");
    for (std::size_t from = 0; from < ids.size(); from += options_.mget_batch) {
      const std::size_t to = std::min(ids.size(), from + options_.mget_batch);
      std::string body = "{\"ids\":[";
      std::vector<std::size_t> asked;
      for (std::size_t i = from; i < to; ++i) {
        if (ids[i].empty()) continue;  // never stored; the server would refuse the request
        if (!asked.empty()) body += ',';
        detail::append_quoted(body, ids[i]);
        asked.push_back(i);
      }
      body += "]}";
      if (asked.empty()) {
        require_index(index);
        continue;
      }
      auto r = call("POST", target, std::move(body), true);
      if (!r.ok()) fail(r, "reading documents from '" + std::string(index) + "'");
      auto parsed = detail::es_parse_hits(r.body, {});
      if (parsed.hits.size() != asked.size())
        throw error(errc::store_unavailable, "elasticsearch: _mget answered " + std::to_string(parsed.hits.size()) +
                                                 " documents for " + std::to_string(asked.size()) + " ids");
      for (std::size_t k = 0; k < asked.size(); ++k) {
        auto& h = parsed.hits[k];
        if (h.failure.type == "index_not_found_exception")
          throw error(errc::not_found, "no such index '" + std::string(index) + "'");
        if (!h.failure.type.empty() || !h.failure.reason.empty())
          throw error(errc::store_unavailable, "elasticsearch: reading '" + ids[asked[k]] + "' from '" +
                                                   std::string(index) + "': " + h.failure.type + ": " + h.failure.reason);
        if (h.index != index) throw not_an_index(index);
        on_hit(asked[k], h);
      }
    }
  }

  /// One action of a bulk request: the position of its item in the caller's batch, and its NDJSON lines.
  struct bulk_item {
    std::size_t position;
    std::string lines;  // action line and (but for delete) source line, each ending in '\n'
  };

  /// How the cluster answered one bulk item.
  struct bulk_outcome {
    std::int64_t status = 200;
    std::string type, reason;
    std::string result;  ///< "created", "updated", "deleted", "not_found", ...; empty when not read
    [[nodiscard]] std::string text() const {
      std::string t = type.empty() ? reason : type + ": " + reason;
      return t.empty() ? "HTTP " + std::to_string(status) : t;
    }
  };

  /// The `verb` actions (index or create) of `docs`; what the cluster would refuse, or reject the whole
  /// request for, goes to `failures` instead.
  std::vector<bulk_item> bulk_items(std::string_view verb, std::span<const stored_document> docs,
                                    std::vector<bulk_result::failure>& failures) const {
    std::vector<bulk_item> pending;
    for (std::size_t i = 0; i < docs.size(); ++i) {
      const auto& d = docs[i];
      if (d.id.empty()) {
        failures.push_back({i, {}, "document has an empty id", false});
        continue;
      }
      if (d.id.size() > 512) {  // the server rejects the whole request for one such id
        failures.push_back(
          {i, d.id, "id is too long, must be no longer than 512 bytes but was: " + std::to_string(d.id.size()), false});
        continue;
      }
      auto source = detail::es_source_with_id(options_.id_field, d.id, d.json);
      if (!source) {
        failures.push_back({i, d.id, "document is not a JSON object", false});
        continue;
      }
      std::string lines = "{\"";
      lines += verb;
      lines += "\":{\"_id\":";
      detail::append_quoted(lines, d.id);
      lines += "}}\n";
      lines += *source;
      lines += '\n';
      pending.push_back({i, std::move(lines)});
    }
    return pending;
  }

  /// Sends `pending` to `index`'s `_bulk` in requests of at most bulk_max_bytes, and calls
  /// on_item(position, outcome) once for each item the cluster answered. Returns the items it gave up
  /// on after bulk_max_attempts answers of 429 (or whole-request 429/503), with the last reason.
  /// `item_results`: read every item's answer even when the response says "errors": false (a delete's
  /// not_found is no error).
  template <class OnItem>
  std::vector<std::pair<std::size_t, std::string>> send_bulk(std::string_view index, std::vector<bulk_item> pending,
                                                             bool idempotent, bool item_results, OnItem&& on_item) {
    std::vector<std::pair<std::size_t, std::string>> gave_up;
    const std::string target = "/" + detail::percent_encode(index) + "/_bulk" + refresh_query();
    for (unsigned attempt = 1; !pending.empty(); ++attempt) {
      std::vector<bulk_item> retry;
      std::vector<std::string> retry_reasons;
      std::size_t from = 0;
      while (from < pending.size()) {
        std::size_t to = from, bytes = 0;
        while (to < pending.size() && (to == from || bytes + pending[to].lines.size() <= options_.bulk_max_bytes))
          bytes += pending[to++].lines.size();
        std::string body;
        body.reserve(bytes);
        for (std::size_t k = from; k < to; ++k) body += pending[k].lines;
        // This loop owns the retries of 429/503 (whole request or per item), up to bulk_max_attempts:
        // the transport retries only failures to connect or receive, and only idempotent requests.
        auto r = call("POST", target, std::move(body), idempotent, "application/x-ndjson", false);
        if (r.status == 429 || r.status == 503) {
          const auto f = detail::es_failure_of(r.body);
          for (std::size_t k = from; k < to; ++k) {
            retry.push_back(std::move(pending[k]));
            retry_reasons.push_back("HTTP " + std::to_string(r.status) + " " + f.type + ": " + f.reason);
          }
        } else if (!r.ok()) {
          if (r.status == 413)
            throw error(errc::store_unavailable, "elasticsearch: a bulk request of " + std::to_string(bytes) +
                                                     " bytes was too large for the server (HTTP 413); lower bulk_max_bytes");
          fail(r, "writing documents to '" + std::string(index) + "'");
        } else {
          take_bulk_items(r.body, index, std::span<bulk_item>(pending.data() + from, to - from), item_results, on_item,
                          retry, retry_reasons);
        }
        from = to;
      }
      if (retry.empty()) break;
      if (attempt >= options_.bulk_max_attempts) {
        for (std::size_t k = 0; k < retry.size(); ++k)
          gave_up.emplace_back(retry[k].position,
                               retry_reasons[k] + " (gave up after " + std::to_string(attempt) + " attempts)");
        break;
      }
      wait(retry_delay(attempt));
      pending = std::move(retry);
    }
    return gave_up;
  }

  http_response call(std::string method, std::string target, std::string body, bool idempotent,
                     std::string_view content_type = "application/json", bool retry_on_status = true) const {
    http_request req;
    req.method = std::move(method);
    req.url = options_.url + target;
    req.idempotent = idempotent;
    req.retry_on_status = retry_on_status;
    req.headers.emplace_back("Accept", "application/json");
    if (!body.empty()) req.headers.emplace_back("Content-Type", std::string(content_type));
    if (!authorization_.empty()) req.headers.emplace_back("Authorization", authorization_);
    for (const auto& h : options_.headers) req.headers.push_back(h);
    req.body = std::move(body);
    const std::string what = req.method + " " + target;
    auto r = transport_->perform(std::move(req));
    // The transport's error quotes the URL, with any credentials written into options_.url.
    if (!r.error.empty()) throw error(errc::store_unavailable, "elasticsearch: " + what + ": " + redact_urls_in(r.error));
    return r;
  }

  [[noreturn]] static void fail(const http_response& r, const std::string& what) {
    const auto f = detail::es_failure_of(r.body);
    errc code = errc::store_unavailable;
    if (f.type == "index_not_found_exception") code = errc::not_found;
    else if (f.type == "resource_already_exists_exception") code = errc::already_exists;
    else if (f.type == "invalid_index_name_exception" || f.type == "invalid_alias_name_exception") code = errc::invalid_name;
    std::string message = "elasticsearch: " + what + ": HTTP " + std::to_string(r.status);
    if (r.status == 401) message += " (authentication failed: check the credentials in elasticsearch_options::auth)";
    if (r.status == 403) message += " (the credentials lack a privilege for this request)";
    if (!f.type.empty()) message += " " + f.type + ":";
    message += " " + f.reason;
    throw error(code, redact_urls_in(message));
  }

  static error not_an_index(std::string_view name) {
    return error(errc::not_found, "no such index '" + std::string(name) + "' (it is an alias, not an index)");
  }

  void require_index(std::string_view index) const {
    if (!index_exists(index)) throw error(errc::not_found, "no such index '" + std::string(index) + "'");
  }

  [[nodiscard]] std::string refresh_query() const {
    switch (options_.refresh) {
      case refresh_policy::wait_for: return "?refresh=wait_for";
      case refresh_policy::immediate: return "?refresh=true";
      case refresh_policy::none: return {};
    }
    return {};
  }

  [[nodiscard]] std::string sort_clause() const {
    std::string s = "[{";
    detail::append_quoted(s, options_.id_field);
    s += ":{\"order\":\"asc\"}}]";
    return s;
  }

  [[nodiscard]] std::chrono::milliseconds retry_delay(unsigned retry) {
    std::lock_guard lock(mu_);
    return backoff_.delay(retry);
  }

  void wait(std::chrono::milliseconds d) const {
    if (options_.sleep) options_.sleep(d);
    else std::this_thread::sleep_for(d);
  }

  static std::vector<std::string> cat_indices(std::string_view body) {
    std::vector<std::string> out;
    try {
      simdjson::dom::parser parser;
      simdjson::padded_string padded(body);
      for (simdjson::dom::element row : parser.parse(padded).get_array())
        out.emplace_back(std::string_view(row["index"]));
    } catch (const simdjson::simdjson_error& e) {
      throw error(errc::store_unavailable, std::string("elasticsearch: malformed _cat/indices response: ") + e.what());
    }
    return out;
  }

  /// {"index":{"aliases":{"alias":{...}}}, ...} as (alias, index) pairs.
  static std::vector<alias_entry> parse_alias_table(std::string_view body) {
    std::vector<alias_entry> out;
    try {
      simdjson::dom::parser parser;
      simdjson::padded_string padded(body);
      for (auto [index, value] : parser.parse(padded).get_object()) {
        simdjson::dom::object names;
        if (value["aliases"].get(names) != simdjson::SUCCESS) continue;
        for (auto [alias, unused] : names) {
          (void)unused;
          out.push_back({std::string(alias), std::string(index)});
        }
      }
    } catch (const simdjson::simdjson_error& e) {
      throw error(errc::store_unavailable, std::string("elasticsearch: malformed alias response: ") + e.what());
    }
    return out;
  }

  /// The `_aliases` body for `actions` planned against `table` (the current pairs, when read); empty
  /// when nothing is left to send. Throws errc::conflict for a must_exist removal the table refutes.
  /// Every action is translated, never reduced to plan_alias_update's difference: an add of a pair
  /// already there is still sent, so the cluster checks its index at the moment it applies the update.
  static std::string alias_request(std::span<const alias_action> actions, std::set<alias_entry>* table,
                                   bool native_must_exist) {
    std::string body = "{\"actions\":[";
    bool any = false;
    auto action = [&](std::string_view verb, std::string_view index, std::string_view alias, bool must_exist) {
      if (any) body += ',';
      any = true;
      body += "{\"";
      body += verb;
      body += "\":{\"index\":";
      detail::append_quoted(body, index);
      body += ",\"alias\":";
      detail::append_quoted(body, alias);
      if (must_exist) body += ",\"must_exist\":true";
      body += "}}";
    };
    for (std::size_t k = 0; k < actions.size(); ++k) {
      const auto& a = actions[k];
      switch (a.op) {
        case alias_action::kind::add:
          action("add", a.index, a.alias, false);
          if (table) table->insert({a.alias, a.index});
          break;
        case alias_action::kind::remove:
          if (table && !table->contains({a.alias, a.index})) {
            if (a.must_exist) throw alias_refusal{alias_refusal::reason::not_on_index, k}.to_error(actions);
            break;  // absent and allowed to be: sending it would fail the whole request
          }
          action("remove", a.index, a.alias, a.must_exist && native_must_exist);
          if (table) table->erase({a.alias, a.index});
          break;
        case alias_action::kind::remove_everywhere:
          if (table) {
            for (auto it = table->begin(); it != table->end();) {
              if (it->alias == a.alias) {
                action("remove", it->index, it->alias, false);
                it = table->erase(it);
              } else {
                ++it;
              }
            }
          }
          break;
      }
    }
    if (!any) return {};
    body += "]}";
    return body;
  }

  template <class OnItem>
  void take_bulk_items(std::string_view body, std::string_view index, std::span<bulk_item> sent, bool item_results,
                       OnItem& on_item, std::vector<bulk_item>& retry, std::vector<std::string>& retry_reasons) const {
    try {
      simdjson::dom::parser parser;
      simdjson::padded_string padded(body);
      simdjson::dom::element doc = parser.parse(padded);
      simdjson::dom::array items = doc["items"];
      if (items.size() != sent.size())
        throw error(errc::store_unavailable, "elasticsearch: _bulk answered " + std::to_string(items.size()) +
                                                 " items for " + std::to_string(sent.size()) + " documents");
      bool errors = true;  // absent: look at every item
      if (doc["errors"].get(errors) != simdjson::SUCCESS) errors = true;
      std::size_t k = 0;
      for (simdjson::dom::element entry : items) {
        bulk_item& it = sent[k++];
        if (!errors && !item_results) {
          on_item(it.position, bulk_outcome{});
          continue;
        }
        simdjson::dom::element outcome;  // a default element has no document: reading it dereferences null
        bool named = false;
        for (auto [verb, value] : entry.get_object()) {
          (void)verb;
          outcome = value;
          named = true;
        }
        if (!named) throw error(errc::store_unavailable, "elasticsearch: malformed _bulk response: an item names no action");
        bulk_outcome o;
        o.status = outcome["status"];
        std::string_view text;
        if (outcome["result"].get(text) == simdjson::SUCCESS) o.result = std::string(text);
        std::string_view written_to;
        if (o.status >= 200 && o.status < 300 && outcome["_index"].get(written_to) == simdjson::SUCCESS && written_to != index)
          throw not_an_index(index);
        simdjson::dom::element e;
        if (outcome["error"].get(e) == simdjson::SUCCESS) {
          if (e.is_string()) o.reason = std::string(std::string_view(e));
          if (e["type"].get(text) == simdjson::SUCCESS) o.type = std::string(text);
          if (e["reason"].get(text) == simdjson::SUCCESS) o.reason = std::string(text);
        }
        if (o.status == 429) {
          retry.push_back(std::move(it));
          retry_reasons.push_back(o.text());
        } else {
          on_item(it.position, o);
        }
      }
    } catch (const simdjson::simdjson_error& e) {
      throw error(errc::store_unavailable, std::string("elasticsearch: malformed _bulk response: ") + e.what());
    }
  }

  // ---- points in time and scrolls ---------------------------------------------------------------

  /// Closes a PIT or scroll when the scan leaves, normally or not. A failed close is not an error of
  /// the scan: the context expires after keep_alive anyway.
  struct closer {
    std::function<void()> close;
    ~closer() {
      try {
        if (close) close();
      } catch (...) {
      }
    }
  };

  /// The PIT id, or nullopt when the server has no PIT endpoint after all (a build without it).
  std::optional<std::string> open_pit(std::string_view index, const search_server& s) const {
    const bool os = s.engine == search_engine::opensearch;
    const std::string target = "/" + detail::percent_encode(index) + (os ? "/_search/point_in_time" : "/_pit") +
                               "?keep_alive=" + options_.keep_alive;
    auto r = call("POST", target, {}, true);
    if (!r.ok()) {
      const auto f = detail::es_failure_of(r.body);
      if ((r.status == 400 || r.status == 404 || r.status == 405) && f.type != "index_not_found_exception" &&
          (f.type.empty() || f.type == "illegal_argument_exception"))
        return std::nullopt;  // "no handler found for uri": fall back to a scroll
      fail(r, "opening a point in time on '" + std::string(index) + "'");
    }
    try {
      simdjson::dom::parser parser;
      simdjson::padded_string padded(r.body);
      std::string_view id = parser.parse(padded)[os ? "pit_id" : "id"];
      return std::string(id);
    } catch (const simdjson::simdjson_error& e) {
      throw error(errc::store_unavailable, std::string("elasticsearch: malformed point-in-time response: ") + e.what());
    }
  }

  template <class F>
  void pit_pages(std::string_view index, std::string pit, const search_server& s, std::size_t size, F& on_page) const {
    const bool os = s.engine == search_engine::opensearch;
    closer guard{[&] {
      std::string body = os ? "{\"pit_id\":[" : "{\"id\":";
      detail::append_quoted(body, pit);
      body += os ? "]}" : "}";
      (void)call("DELETE", os ? "/_search/point_in_time" : "/_pit", std::move(body), true);
    }};
    std::string after;
    while (true) {
      std::string body = "{\"size\":" + std::to_string(size) + ",\"query\":{\"match_all\":{}},\"pit\":{\"id\":";
      detail::append_quoted(body, pit);
      body += ",\"keep_alive\":";
      detail::append_quoted(body, options_.keep_alive);
      body += "},\"sort\":" + sort_clause() + ",\"track_total_hits\":false";
      if (!after.empty()) {
        body += ",\"search_after\":[";
        detail::append_quoted(body, after);
        body += ']';
      }
      body += '}';
      auto r = call("POST", "/_search", std::move(body), true);
      if (!r.ok()) fail(r, "scanning '" + std::string(index) + "' in a point in time");
      auto parsed = detail::es_parse_hits(r.body, "pit_id");
      require_page_size(parsed.hits.size(), size);
      if (!parsed.cursor.empty()) pit = parsed.cursor;  // always continue with the newest id
      const bool last = parsed.hits.size() < size;
      if (!parsed.hits.empty()) {
        after = parsed.hits.back().id;
        on_page(to_documents(index, parsed.hits));
      }
      if (last) return;
    }
  }

  template <class F>
  void scroll_pages(std::string_view index, std::size_t size, F& on_page) const {
    std::string scroll_id;
    closer guard{[&] {
      if (scroll_id.empty()) return;
      std::string body = "{\"scroll_id\":";
      detail::append_quoted(body, scroll_id);
      body += '}';
      (void)call("DELETE", "/_search/scroll", std::move(body), true);
    }};
    auto r = call("POST", "/" + detail::percent_encode(index) + "/_search?scroll=" + options_.keep_alive,
                  "{\"size\":" + std::to_string(size) + ",\"query\":{\"match_all\":{}},\"sort\":" + sort_clause() + "}", true);
    while (true) {
      if (!r.ok()) fail(r, "scrolling '" + std::string(index) + "'");
      auto parsed = detail::es_parse_hits(r.body, "_scroll_id");
      require_page_size(parsed.hits.size(), size);
      if (!parsed.cursor.empty()) scroll_id = parsed.cursor;
      const bool last = parsed.hits.size() < size;
      if (!parsed.hits.empty()) on_page(to_documents(index, parsed.hits));
      if (last) return;
      std::string body = "{\"scroll\":";
      detail::append_quoted(body, options_.keep_alive);
      body += ",\"scroll_id\":";
      detail::append_quoted(body, scroll_id);
      body += '}';
      r = call("POST", "/_search/scroll", std::move(body), true);
    }
  }

  /// More hits than the page size asked for: the server ignored the request, and for_each_page promises
  /// pages of at most page_size.
  static void require_page_size(std::size_t hits, std::size_t size) {
    if (hits > size)
      throw error(errc::store_unavailable, "elasticsearch: asked for a page of " + std::to_string(size) +
                                             " hits, the server answered " + std::to_string(hits));
  }

  std::vector<stored_document> to_documents(std::string_view index, std::vector<detail::es_hit>& hits) const {
    std::vector<stored_document> docs;
    docs.reserve(hits.size());
    for (auto& h : hits) {
      if (h.index != index) throw not_an_index(index);
      docs.push_back({h.id, detail::es_source_without_id(options_.id_field, h.id, h.source)});
    }
    return docs;
  }

  Transport* transport_;
  elasticsearch_options options_;
  std::string authorization_;
  mutable std::mutex mu_;  // guards server_ and backoff_
  mutable std::optional<search_server> server_;
  backoff backoff_;  // the engine's one backoff (retry.hpp): capped, full jitter
};

}  // namespace tributary
