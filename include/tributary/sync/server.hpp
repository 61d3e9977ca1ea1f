#pragma once
// basic_sync_server<Store, Clock>: the database side of the write-enabled collector API (seed 004,
// SYNC.md), a request handler for basic_http_server. Link tributary::sync.
//
//   sqlite_index store("/var/lib/sync.db");
//   thread_pool pool(8, 256);
//   wall_clock clock;
//   basic_sync_server sync(store, clock, {});                 default limits
//   basic_http_server http(pool, std::move(sync), {.port = 8080, .max_body_bytes = ...});
//
// Endpoints, under /api/v{version}/collector/ (version 1 is the only one so far):
//   PUT  hashes  {"hashes": ["<sha256 hex>", ...]}  -> {"unknown": [...]}      CUP steps 1-3
//                or, with Content-Type: application/octet-stream, the raw 32-byte digests back to back
//                (sync_limits::accept_binary_hashes): the same answer, half the bytes sent
//   PUT  data    {"items": [{"hash": h, "data": {...}}, ...]}                   CUP step 4
//                -> {"results": [{"hash": h, "status": "stored"|"exists"|"rejected"|"failed", "reason"?}],
//                    "stored": n, "exists": n, "rejected": n, "failed": n}
//   GET  limits  -> the limits below, so that clients size their batches
//   GET  slu-update -> [{"vorgang_id": id, "updates": [{"<locator>": "<new value>"}, ...]}, ...]   SLU
//                headers SLU-Cursor: <position>, SLU-More: true|false
//   PUT  slu-update {"acknowledge": <position>} -> {"acknowledged": <position>}
//   POST slu-publish [{"vorgang_id": id, "updates": [...]}, ...] -> {"published": n}   (admin scope)
// An unsupported version is answered 404 with the supported ones.
//
// Outside the versioned API, without a key (sync_server_options::metrics_path and health_path; empty
// turns one off):
//   GET  /metrics  counters in the Prometheus text format (0.0.4): requests by endpoint, method and
//                  status; hashes negotiated and found unknown; items stored, exists, rejected, failed;
//                  requests refused 401, 403 and 429
//   GET  /health   200 {"status":"ok"} when the store answers, 503 {"status":"unavailable"} when not
// Why not /api/v1/collector/health: a load balancer or an orchestrator's probe has no API key and must
// not spend a key's tokens, and the probe is about this process and its store, not about a protocol
// version; the versioned paths stay exactly the protocol's. Neither counts as a request in /metrics.
// Both are read-only and name nothing secret; expose them to the monitoring network only.
//
// Source locator updates: the cursor and its acknowledgement. Each publication is one document, under
// a random id, in its own index (default "sync-slu"), written once with insert-if-absent and never
// again, so the store's change cursor (ChangeCursorStore) lists publications in the order they were
// written, each at a position that never changes. Each key has an acknowledged position, a document
// under its tag in "sync-slu-acks" (0, the beginning, until it acknowledges). GET answers the
// publications after that position, at most max_updates_per_response of them, in publication order
// (one entry per publication: a vorgang may come twice, the later entry newer), with SLU-Cursor the
// position of the last one and SLU-More whether more follow. GET changes nothing: the position moves
// only when the collector sends it back with PUT, after it has applied the updates. Why not advance on
// GET: an answer lost on the way, or a collector that dies before applying it, would lose those updates
// for good; with a separate acknowledgement the worst case is that they come again, and only until one
// acknowledgement gets through. PUT is idempotent (setting the position twice is setting it once) and
// only moves forward: an older position changes nothing and answers the current one, so a retried or
// late PUT never brings back what was acknowledged. A position that no publication holds (nothing the
// server could have handed out) is a 400. The positions are the store's, so they survive a restart of
// the server and are shared by every server on the same store; a new key starts at the beginning and
// sees every publication. One collector per key: two processes sharing a key share one position.
//
// Every request passes, in order: routing (404, 405), the key (401 without a valid X-API-Key, 403
// without the endpoint's scope), the key's token bucket (429 with Retry-After), the body's size and
// shape (413, 400 naming the problem); only then is the store touched, so a request refused at any
// step changes nothing. Store failures are answered 503; bad input is never a 500.
//
// The items live in one index (default "sync-items") keyed by hash, as their RFC 8785 canonical form,
// so every stored document hashes to its id. /hashes asks the store's exists-many (never reading a
// document); /data recomputes each hash from the data (a claimed hash is never trusted) and writes with
// insert-if-absent: the API can only add, and of any number of collectors sending one item at once
// exactly one is told `stored`. Nothing is held between /hashes and /data (SYNC.md, "Statelessness").
//
// Store: a DocumentStore modelling ExistsManyStore, InsertIfAbsentStore and ChangeCursorStore
// (index/concepts.hpp), shared
// by the worker threads (the shipped stores guard themselves). Clock: tributary::clock (concepts.hpp);
// the token buckets run on it, so tests run in virtual time with manual_clock.
//
// Token buckets are per key and per server process: servers sharing a store each allow a key its rate.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <charconv>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <simdjson.h>

#include <tributary/clock/wall.hpp>
#include <tributary/concepts.hpp>
#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>
#include <tributary/index/concepts.hpp>
#include <tributary/index/names.hpp>
#include <tributary/server/concepts.hpp>
#include <tributary/server/message.hpp>
#include <tributary/sync/canonical_json.hpp>
#include <tributary/sync/keys.hpp>
#include <tributary/sync/limits.hpp>
#include <tributary/sync/server_metrics.hpp>
#include <tributary/sync/token_buckets.hpp>

namespace tributary {

struct sync_server_options {
  std::string items_index = "sync-items";
  std::string keys_index = "sync-keys";
  std::string slu_index = "sync-slu";        ///< the published source locator changes
  std::string slu_acks_index = "sync-slu-acks";  ///< each key's acknowledged position
  sync_limits limits;
  std::string metrics_path = "/metrics";  ///< GET: Prometheus text, no key; empty: not served
  std::string health_path = "/health";    ///< GET: 200 when the store answers, else 503; empty: not served
};

namespace detail {

inline server_response sync_error(int status, std::string_view message) {
  std::string body = "{\"error\":";
  append_quoted(body, message);
  body += '}';
  return server_response::json(status, std::move(body));
}

/// True for a Content-Type of application/octet-stream (any case, parameters ignored).
inline bool is_octet_stream(std::optional<std::string_view> content_type) noexcept {
  if (!content_type) return false;
  std::string_view t = content_type->substr(0, content_type->find(';'));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  return equals_ignoring_case(t, "application/octet-stream");
}

/// The parts of /api/v{n}/collector/{endpoint}; nullopt for any other path.
struct sync_route {
  std::string_view version;  ///< the digits after 'v'
  std::string_view endpoint;
};
inline std::optional<sync_route> parse_sync_path(std::string_view path) {
  constexpr std::string_view api = "/api/v", collector = "/collector/";
  if (!path.starts_with(api)) return std::nullopt;
  path.remove_prefix(api.size());
  const std::size_t slash = path.find('/');
  if (slash == 0 || slash == std::string_view::npos) return std::nullopt;
  const std::string_view version = path.substr(0, slash);
  if (!std::all_of(version.begin(), version.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  path.remove_prefix(slash);
  if (!path.starts_with(collector)) return std::nullopt;
  return sync_route{version, path.substr(collector.size())};
}

/// A request refused for its content, with the problem named. Bodies are read with simdjson's On Demand
/// API only after canonical_json's strict check passed, and On Demand leaves numbers unread, so the
/// integers beyond 64 bits that RFC 8785 allows pass through to an item's data.
struct bad_request {
  int status = 400;  ///< 413 for a bound exceeded
  std::string message;
};

}  // namespace detail

template <class Store, class Clock = wall_clock>
class basic_sync_server {
  static_assert(exists_many_store<Store>,
                "basic_sync_server: Store does not model tributary::exists_many_store (see index/concepts.hpp)");
  static_assert(insert_if_absent_store<Store>,
                "basic_sync_server: Store does not model tributary::insert_if_absent_store (see index/concepts.hpp)");
  static_assert(change_cursor_store<Store>,
                "basic_sync_server: Store does not model tributary::change_cursor_store (see index/concepts.hpp)");
  static_assert(clock<Clock>, "basic_sync_server: Clock does not model tributary::clock (see concepts.hpp)");

 public:
  using request_handler_concept = request_handler_tag;
  static constexpr std::string_view supported_versions[] = {"1"};

  /// `store` and `clock` are the caller's and must outlive the server. Creates the items and keys
  /// indices when missing. Throws error(errc::invalid_config) for bad options.
  basic_sync_server(Store& store, Clock& clock, sync_server_options options = {})
      : store_(&store), clock_(&clock), options_(std::move(options)), keys_(store, options_.keys_index),
        buckets_(std::make_unique<detail::token_buckets>()), metrics_(std::make_unique<detail::sync_metrics>()) {
    options_.limits.validate();
    for (const auto* p : {&options_.metrics_path, &options_.health_path})
      if (!p->empty() && (!p->starts_with("/") || p->starts_with("/api/")))
        throw error(errc::invalid_config, "sync_server_options: metrics_path and health_path must start with '/' and not with /api/ ('" + *p + "')");
    const std::string* names[] = {&options_.items_index, &options_.keys_index, &options_.slu_index, &options_.slu_acks_index};
    for (const auto* n : names) validate_index_name(*n);
    for (std::size_t i = 0; i < std::size(names); ++i)
      for (std::size_t j = i + 1; j < std::size(names); ++j)
        if (*names[i] == *names[j])
          throw error(errc::invalid_config, "sync_server_options: the four index names must differ ('" + *names[i] + "' twice)");
    ensure_index(options_.items_index);
    ensure_index(options_.slu_index);
    ensure_index(options_.slu_acks_index);
    keys_.ensure_index();
  }
  [[nodiscard]] basic_key_store<Store>& keys() noexcept { return keys_; }
  [[nodiscard]] const sync_server_options& options() const noexcept { return options_; }
  /// The counters GET /metrics serves, in the Prometheus text format.
  [[nodiscard]] std::string metrics_text() const { return metrics_->prometheus(); }

  server_response handle(server_request& request) {
    if (!options_.metrics_path.empty() && request.path == options_.metrics_path) return metrics(request);
    if (!options_.health_path.empty() && request.path == options_.health_path) return health(request);
    std::string_view endpoint = "other";  // the metrics label; serve() names a known endpoint
    server_response res;
    try {
      res = serve(request, endpoint);
    } catch (const error&) {
      // Only the store and the key records get here; bad input is answered before. The text is not
      // sent: it may name the store's internals.
      res = detail::sync_error(503, "the store is unavailable; retry later");
      res.headers.emplace_back("Retry-After", "1");
    }
    metrics_->request(endpoint, request.method, res.status);
    return res;
  }

 private:
  server_response metrics(const server_request& request) const {
    if (request.method != "GET" && request.method != "HEAD") return method_not_allowed("GET", "metrics");
    auto res = server_response::text(200, metrics_->prometheus(), "text/plain; version=0.0.4");
    res.headers.emplace_back("Cache-Control", "no-store");
    return res;
  }
  // Health: the store answers a cheap question (is the items index there). A store that throws, or
  // lost the index, is unavailable; the reason is not sent (it may name the store's internals).
  server_response health(const server_request& request) const {
    if (request.method != "GET" && request.method != "HEAD") return method_not_allowed("GET", "health");
    bool ok = false;
    try {
      ok = store_->index_exists(options_.items_index);
    } catch (const error&) {
    }
    auto res = ok ? server_response::json(200, "{\"status\":\"ok\"}") : server_response::json(503, "{\"status\":\"unavailable\"}");
    res.headers.emplace_back("Cache-Control", "no-store");
    return res;
  }
  static server_response method_not_allowed(std::string_view allow, std::string_view what) {
    auto res = detail::sync_error(405, "use " + std::string(allow) + " for " + std::string(what));
    res.headers.emplace_back("Allow", std::string(allow));
    return res;
  }

  server_response serve(server_request& request, std::string_view& endpoint_label) {
    const auto route = detail::parse_sync_path(request.path);
    if (!route) return detail::sync_error(404, "not found: the collector API is under /api/v{version}/collector/");
    if (std::find(std::begin(supported_versions), std::end(supported_versions), route->version) == std::end(supported_versions)) {
      std::string body = "{\"error\":";
      detail::append_quoted(body, "API version " + std::string(route->version.substr(0, 20)) + " is not supported");
      body += ",\"supported_versions\":[";
      for (std::size_t i = 0; i < std::size(supported_versions); ++i) body += (i ? "," : "") + std::string(supported_versions[i]);
      body += "]}";
      return server_response::json(404, std::move(body));
    }
    enum class endpoint { hashes, data, limits, slu_read, slu_ack, slu_publish };
    endpoint which;
    std::string_view allow;
    std::string_view scope = collector_scope;
    if (route->endpoint == "hashes") which = endpoint::hashes, allow = "PUT";
    else if (route->endpoint == "data") which = endpoint::data, allow = "PUT";
    else if (route->endpoint == "limits") which = endpoint::limits, allow = "GET", scope = {};
    else if (route->endpoint == "slu-update") which = request.method == "PUT" ? endpoint::slu_ack : endpoint::slu_read, allow = "GET, PUT";
    else if (route->endpoint == "slu-publish") which = endpoint::slu_publish, allow = "POST", scope = admin_scope;
    else return detail::sync_error(404, "no such endpoint; there are hashes, data, limits, slu-update and slu-publish");
    endpoint_label = which == endpoint::hashes ? "hashes" : which == endpoint::data ? "data" : which == endpoint::limits ? "limits"
                   : which == endpoint::slu_publish ? "slu-publish" : "slu-update";
    const bool allowed = request.method == allow.substr(0, allow.find(',')) ||
                         (allow.find(", ") != std::string_view::npos && request.method == allow.substr(allow.find(", ") + 2));
    if (!allowed) {
      auto res = detail::sync_error(405, "use " + std::string(allow) + " for " + std::string(route->endpoint));
      res.headers.emplace_back("Allow", std::string(allow));
      return res;
    }

    // Authentication, then authorization: the presented key is never echoed or logged.
    const auto presented = request.header("X-API-Key");
    if (!presented) return detail::sync_error(401, "missing X-API-Key header");
    const auto key = keys_.verify(*presented);
    if (!key) return detail::sync_error(401, "invalid API key");
    if (!scope.empty() && !key->has_scope(scope))
      return detail::sync_error(403, "this key lacks the " + std::string(scope) + " scope");

    const auto& limits = options_.limits;
    if (const auto wait = buckets_->take(key->tag, clock_->now(), limits.requests_per_second, limits.burst)) {
      auto res = detail::sync_error(429, "rate limit: " + format_rate() + " requests per second per key, burst " +
                                             std::to_string(static_cast<long long>(limits.burst)));
      res.headers.emplace_back("Retry-After", std::to_string(wait->count()));
      return res;
    }
    if (which == endpoint::limits) return server_response::json(200, limits_json());
    if (which == endpoint::slu_read) return slu_read(key->tag);

    if (request.body.size() > limits.max_body_bytes)
      return detail::sync_error(413, "body larger than max_body_bytes " + std::to_string(limits.max_body_bytes));
    if (which == endpoint::hashes && limits.accept_binary_hashes && detail::is_octet_stream(request.header("Content-Type"))) {
      try {
        return binary_hashes(request);
      } catch (const detail::bad_request& bad) {
        return detail::sync_error(bad.status, bad.message);
      }
    }
    // The whole body must be I-JSON before anything in it is read: a duplicate name (two "hash"es in
    // an item, say) would otherwise be read one way here and another way elsewhere.
    try {
      (void)canonical_json(request.body);
    } catch (const error& e) {
      return detail::sync_error(400, std::string("body is not valid JSON: ") + e.what());
    }
    try {
      switch (which) {
        case endpoint::hashes: return hashes(request);
        case endpoint::data: return data(request);
        case endpoint::slu_ack: return slu_ack(request, key->tag);
        default: return slu_publish(request);
      }
    } catch (const detail::bad_request& bad) {
      return detail::sync_error(bad.status, bad.message);
    } catch (const simdjson::simdjson_error& e) {  // not expected after the check above; still input's fault
      return detail::sync_error(400, std::string("body could not be read: ") + e.what());
    }
  }

  // CUP steps 1-3: the collector sends hashes, the database compares them with what it stores and
  // answers the ones it does not know.
  server_response hashes(server_request& request) {
    simdjson::ondemand::parser parser;
    simdjson::padded_string body(request.body);
    simdjson::ondemand::document doc = parser.iterate(body);
    std::vector<std::string> hashes;
    bool seen = false;
    for (simdjson::ondemand::field field : object_of(doc, "the body")) {
      if (field.unescaped_key().value() != "hashes") continue;
      seen = true;
      simdjson::ondemand::value v = field.value();
      if (v.type() != simdjson::ondemand::json_type::array) throw detail::bad_request{400, "\"hashes\" must be an array"};
      for (simdjson::ondemand::value h : v.get_array()) {
        const std::string at = "hashes[" + std::to_string(hashes.size()) + "]";
        if (hashes.size() == options_.limits.max_hashes_per_request)
          throw too_many("hashes", options_.limits.max_hashes_per_request);
        hashes.push_back(hash_of(h, at));
      }
    }
    if (!seen) throw detail::bad_request{400, "missing \"hashes\""};
    return answer_hashes(hashes);
  }

  // CUP steps 1-3 with the hashes as raw digests: the same question, 32 bytes a hash.
  server_response binary_hashes(server_request& request) {
    constexpr std::size_t digest = 32;
    const std::string& body = request.body;
    if (body.size() % digest != 0)
      throw detail::bad_request{400, "a binary /hashes body (application/octet-stream) is whole 32-byte SHA-256 digests; " +
                                         std::to_string(body.size()) + " bytes is not"};
    if (body.size() / digest > options_.limits.max_hashes_per_request)
      throw too_many("hashes", options_.limits.max_hashes_per_request);
    std::vector<std::string> hashes;
    hashes.reserve(body.size() / digest);
    for (std::size_t at = 0; at < body.size(); at += digest)
      hashes.push_back(to_hex(std::span(reinterpret_cast<const unsigned char*>(body.data() + at), digest)));
    return answer_hashes(hashes);
  }

  server_response answer_hashes(const std::vector<std::string>& hashes) {
    const auto present = store_->exists(options_.items_index, hashes);
    std::string out = "{\"unknown\":[";
    std::unordered_set<std::string_view> answered;  // a hash sent twice is answered once
    answered.reserve(hashes.size());
    bool first = true;
    for (std::size_t i = 0; i < hashes.size(); ++i) {
      if (present[i] || !answered.insert(hashes[i]).second) continue;
      out += first ? "\"" : ",\"";
      out += hashes[i];
      out += '"';
      first = false;
    }
    out += "]}";
    metrics_->negotiated(hashes.size(), answered.size());
    return server_response::json(200, std::move(out));
  }

  // CUP step 4: the data of the unknown hashes. Each item's hash is recomputed from its data.
  server_response data(server_request& request) {
    simdjson::ondemand::parser parser;
    simdjson::padded_string body(request.body);
    simdjson::ondemand::document doc = parser.iterate(body);
    struct item {
      std::string hash;
      std::string rejected;  // the reason, when rejected
      std::size_t slot = 0;  // position in `accepted`
    };
    std::vector<item> items;
    std::vector<stored_document> accepted;
    bool seen = false;
    for (simdjson::ondemand::field field : object_of(doc, "the body")) {
      if (field.unescaped_key().value() != "items") continue;
      seen = true;
      simdjson::ondemand::value v = field.value();
      if (v.type() != simdjson::ondemand::json_type::array) throw detail::bad_request{400, "\"items\" must be an array"};
      for (simdjson::ondemand::value element : v.get_array()) {
        if (items.size() == options_.limits.max_items_per_request) throw too_many("items", options_.limits.max_items_per_request);
        const std::string at = "items[" + std::to_string(items.size()) + "]";
        item it;
        std::optional<std::string_view> data_text;
        bool data_is_object = false, has_hash = false;
        if (element.type() != simdjson::ondemand::json_type::object) throw detail::bad_request{400, at + " must be an object"};
        for (simdjson::ondemand::field f : element.get_object()) {
          const std::string_view name = f.unescaped_key().value();
          if (name == "hash") {
            simdjson::ondemand::value h = f.value();
            it.hash = hash_of(h, at + ".hash");
            has_hash = true;
          } else if (name == "data") {
            simdjson::ondemand::value d = f.value();
            data_is_object = d.type() == simdjson::ondemand::json_type::object;
            if (data_is_object) {
              simdjson::ondemand::object o = d.get_object();
              data_text = o.raw_json().value();
            } else {
              data_text = std::string_view();
            }
          }
        }
        if (!has_hash) throw detail::bad_request{400, at + " has no \"hash\""};
        if (!data_text) {
          it.rejected = "malformed: no \"data\"";
        } else if (!data_is_object) {
          it.rejected = "malformed: \"data\" must be an object";
        } else {
          auto canonical = canonicalize(*data_text);  // valid: the whole body was checked
          if (canonical.hash != it.hash) {
            it.rejected = "hash mismatch: the data hashes to " + canonical.hash;
          } else {
            it.slot = accepted.size();
            accepted.push_back({std::move(canonical.hash), std::move(canonical.json)});
          }
        }
        items.push_back(std::move(it));
      }
    }
    if (!seen) throw detail::bad_request{400, "missing \"items\""};

    insert_result written;
    if (!accepted.empty()) written = store_->insert_if_absent(options_.items_index, accepted);
    std::size_t stored = 0, exists = 0, rejected = 0, failed = 0;
    std::string out = "{\"results\":[";
    for (std::size_t i = 0; i < items.size(); ++i) {
      const item& it = items[i];
      out += i ? ",{\"hash\":\"" : "{\"hash\":\"";
      out += it.hash;
      out += "\",\"status\":";
      if (!it.rejected.empty()) {
        ++rejected;
        out += "\"rejected\",\"reason\":";
        detail::append_quoted(out, it.rejected);
      } else if (written.items[it.slot] == insert_result::outcome::inserted) {
        ++stored;
        out += "\"stored\"";
      } else if (written.items[it.slot] == insert_result::outcome::existed) {
        ++exists;
        out += "\"exists\"";
      } else {
        ++failed;
        out += "\"failed\",\"reason\":";
        std::string reason = "the store refused it";
        for (const auto& f : written.failures)
          if (f.position == it.slot) reason = f.reason;
        detail::append_quoted(out, reason);
      }
      out += '}';
    }
    metrics_->items(stored, exists, rejected, failed);
    out += "],\"stored\":" + std::to_string(stored) + ",\"exists\":" + std::to_string(exists) +
           ",\"rejected\":" + std::to_string(rejected) + ",\"failed\":" + std::to_string(failed) + "}";
    return server_response::json(200, std::move(out));
  }

  // SLU step 2: the publications after this key's acknowledged position (see the header comment).
  server_response slu_read(const std::string& tag) {
    const std::uint64_t after = acknowledged(tag);
    const change_page page = store_->changes_since(options_.slu_index, after, options_.limits.max_updates_per_response);
    std::string out = "[";
    for (std::size_t i = 0; i < page.documents.size(); ++i) {
      if (i) out += ',';
      out.append(page.documents[i].json.data(), page.documents[i].json.size());  // stored canonical, by us
    }
    out += ']';
    auto res = server_response::json(200, std::move(out));
    res.headers.emplace_back("SLU-Cursor", std::to_string(page.next));
    res.headers.emplace_back("SLU-More", page.done ? "false" : "true");
    res.headers.emplace_back("Cache-Control", "no-store");
    return res;
  }

  // The collector has applied everything up to a position: it moves forward, never back.
  server_response slu_ack(server_request& request, const std::string& tag) {
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = parser.parse(simdjson::padded_string(request.body));
    if (!doc.is_object()) throw detail::bad_request{400, "the body must be a JSON object"};
    const auto field = doc["acknowledge"];
    if (field.error()) throw detail::bad_request{400, "missing \"acknowledge\" (the SLU-Cursor of a GET /slu-update)"};
    const simdjson::dom::element v = field.value_unsafe();
    if (!v.is_uint64() && !(v.is_int64() && int64_t(v) >= 0))
      throw detail::bad_request{400, "\"acknowledge\" must be a non-negative integer (the SLU-Cursor of a GET /slu-update)"};
    const std::uint64_t position = v.is_uint64() ? std::uint64_t(v) : static_cast<std::uint64_t>(int64_t(v));
    const std::uint64_t current = acknowledged(tag);
    if (position > current) {
      // Only a position some publication holds can have been handed out as SLU-Cursor.
      const change_page at = store_->changes_since(options_.slu_index, position - 1, 1);
      if (at.documents.empty() || at.next != position)
        throw detail::bad_request{400, "\"acknowledge\": " + std::to_string(position) +
                                           " is not a position GET /slu-update hands out"};
      const stored_document ack{tag, "{\"acknowledged\":" + std::to_string(position) + "}"};
      const auto r = store_->bulk_write(options_.slu_acks_index, std::span(&ack, 1));
      if (!r.ok()) throw error(errc::store_unavailable, "sync: storing an acknowledgement failed");
    }
    return server_response::json(200, "{\"acknowledged\":" + std::to_string(std::max(position, current)) + "}");
  }

  // The admin side of SLU: the database, the single source of truth for locators, publishes changes.
  server_response slu_publish(server_request& request) {
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = parser.parse(simdjson::padded_string(request.body));
    if (!doc.is_array())
      throw detail::bad_request{400, "the body must be a JSON array of {\"vorgang_id\": ..., \"updates\": [...]}"};
    std::vector<stored_document> publications;
    for (const simdjson::dom::element entry : simdjson::dom::array(doc)) {
      const std::string at = "[" + std::to_string(publications.size()) + "]";
      if (publications.size() == options_.limits.max_items_per_request) throw too_many("items", options_.limits.max_items_per_request);
      if (!entry.is_object()) throw detail::bad_request{400, at + " must be an object"};
      const auto id = entry["vorgang_id"];
      if (id.error()) throw detail::bad_request{400, at + " has no \"vorgang_id\""};
      if (!id.is_string() && !id.is_int64() && !id.is_uint64())
        throw detail::bad_request{400, at + ".vorgang_id must be a string or an integer"};
      if (id.is_string() && std::string_view(id.value_unsafe()).empty())
        throw detail::bad_request{400, at + ".vorgang_id must not be empty"};
      const auto updates = entry["updates"];
      if (updates.error() || !updates.is_array()) throw detail::bad_request{400, at + ".updates must be an array"};
      std::size_t n = 0;
      for (const simdjson::dom::element u : simdjson::dom::array(updates.value_unsafe())) {
        const std::string uat = at + ".updates[" + std::to_string(n++) + "]";
        if (!u.is_object() || simdjson::dom::object(u).size() == 0)
          throw detail::bad_request{400, uat + " must be an object {\"<locator>\": \"<new value>\"}"};
        for (const auto member : simdjson::dom::object(u))
          if (!member.value.is_string())
            throw detail::bad_request{400, uat + "." + std::string(member.key.substr(0, 64)) + " must be a string (the new value)"};
      }
      if (n == 0) throw detail::bad_request{400, at + ".updates must not be empty"};
      // Only the two members are kept, canonical, so what collectors read is exactly the seed's shape.
      std::string json = "{\"updates\":" + canonical_json(simdjson::minify(updates.value_unsafe())) +
                         ",\"vorgang_id\":" + canonical_json(simdjson::minify(id.value_unsafe())) + "}";
      publications.push_back({to_hex(detail::random_bytes<16>()), std::move(json)});
    }
    // One batch in publication order: the change cursor gives them out in this order.
    if (!publications.empty()) {
      const auto r = store_->insert_if_absent(options_.slu_index, publications);
      if (!r.ok() || r.inserted() != publications.size())
        throw error(errc::store_unavailable, "sync: publishing locator changes failed");
    }
    return server_response::json(200, "{\"published\":" + std::to_string(publications.size()) + "}");
  }

  std::uint64_t acknowledged(const std::string& tag) const {
    const auto found = store_->get(options_.slu_acks_index, std::span(&tag, 1));
    if (!found.front()) return 0;
    const std::string& text = *found.front();
    constexpr std::string_view prefix = "{\"acknowledged\":";
    std::uint64_t position = 0;
    if (!std::string_view(text).starts_with(prefix) ||
        std::from_chars(text.data() + prefix.size(), text.data() + text.size(), position).ec != std::errc())
      throw error(errc::bad_document, "sync: a malformed acknowledgement record");  // not the client's fault: 503
    return position;
  }

  static simdjson::ondemand::object object_of(simdjson::ondemand::document& doc, std::string_view what) {
    if (doc.type() != simdjson::ondemand::json_type::object) throw detail::bad_request{400, std::string(what) + " must be a JSON object"};
    return doc.get_object();
  }
  static std::string hash_of(simdjson::ondemand::value& v, const std::string& at) {
    if (v.type() != simdjson::ondemand::json_type::string) throw detail::bad_request{400, at + " must be a string"};
    const std::string_view h = v.get_string().value();
    if (!is_canonical_hash(h)) throw detail::bad_request{400, at + " must be 64 lowercase hex digits (a SHA-256)"};
    return std::string(h);
  }
  static detail::bad_request too_many(std::string_view what, std::size_t bound) {
    return detail::bad_request{413, "too many " + std::string(what) + ": at most " + std::to_string(bound) + " per request (max_" +
                               std::string(what) + "_per_request)"};
  }

  std::string format_rate() const {
    std::string out;
    detail::append_ecmascript_number(out, options_.limits.requests_per_second);
    return out;
  }
  std::string limits_json() const {
    const auto& l = options_.limits;
    std::string out = "{\"versions\":[1],\"hash\":\"sha256\",\"canonicalization\":\"RFC 8785\"";
    out += l.accept_binary_hashes ? ",\"hash_encodings\":[\"hex\",\"binary\"]" : ",\"hash_encodings\":[\"hex\"]";
    out += ",\"max_hashes_per_request\":" + std::to_string(l.max_hashes_per_request);
    out += ",\"max_items_per_request\":" + std::to_string(l.max_items_per_request);
    out += ",\"max_body_bytes\":" + std::to_string(l.max_body_bytes);
    out += ",\"requests_per_second\":";
    detail::append_ecmascript_number(out, l.requests_per_second);
    out += ",\"burst\":";
    detail::append_ecmascript_number(out, l.burst);
    out += ",\"max_updates_per_response\":" + std::to_string(l.max_updates_per_response);
    out += '}';
    return out;
  }

  void ensure_index(const std::string& name) {
    if (store_->index_exists(name)) return;
    try {
      store_->create_index(name);
    } catch (const error& e) {
      if (e.code() != errc::already_exists) throw;
    }
  }

  Store* store_;
  Clock* clock_;
  sync_server_options options_;
  basic_key_store<Store> keys_;
  std::unique_ptr<detail::token_buckets> buckets_;
  std::unique_ptr<detail::sync_metrics> metrics_;  // behind a pointer: the server is moved into basic_http_server
};

}  // namespace tributary
