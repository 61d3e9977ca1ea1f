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
//   PUT  data    {"items": [{"hash": h, "data": {...}}, ...]}                   CUP step 4
//                -> {"results": [{"hash": h, "status": "stored"|"exists"|"rejected"|"failed", "reason"?}],
//                    "stored": n, "exists": n, "rejected": n, "failed": n}
//   GET  limits  -> the limits below, so that clients size their batches
// An unsupported version is answered 404 with the supported ones.
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
// Store: a DocumentStore modelling ExistsManyStore and InsertIfAbsentStore (index/concepts.hpp), shared
// by the worker threads (the shipped stores guard themselves). Clock: tributary::clock (concepts.hpp);
// the token buckets run on it, so tests run in virtual time with manual_clock.
//
// Token buckets are per key and per server process: servers sharing a store each allow a key its rate.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
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

namespace tributary {

/// What one request may ask, published at GET /api/v1/collector/limits.
struct sync_limits {
  std::size_t max_hashes_per_request = 10'000;
  std::size_t max_items_per_request = 1'000;
  /// Larger bodies are answered 413. Give basic_http_server the same (server_options::max_body_bytes)
  /// so that it refuses them from the head, before reading them.
  std::size_t max_body_bytes = std::size_t{8} << 20;
  double requests_per_second = 10;  ///< each key's token bucket refills at this rate
  double burst = 20;                ///< and holds at most this many tokens (one per request)

  /// Throws error(errc::invalid_config) naming the first problem.
  void validate() const {
    auto fail = [](const std::string& what) { throw error(errc::invalid_config, "sync_limits: " + what); };
    if (max_hashes_per_request == 0) fail("max_hashes_per_request must be at least 1");
    if (max_items_per_request == 0) fail("max_items_per_request must be at least 1");
    if (max_body_bytes == 0) fail("max_body_bytes must be at least 1");
    if (!(requests_per_second > 0) || !std::isfinite(requests_per_second)) fail("requests_per_second must be positive");
    if (!(burst >= 1) || !std::isfinite(burst)) fail("burst must be at least 1");
  }
};

struct sync_server_options {
  std::string items_index = "sync-items";
  std::string keys_index = "sync-keys";
  sync_limits limits;
};

namespace detail {

/// One token bucket per key, on the caller's clock. Buckets exist only for authenticated keys, so
/// their number is bounded by the key store.
class token_buckets {
 public:
  using time_point = std::chrono::system_clock::time_point;

  /// Takes a token for `key` at `now`; when there is none, the whole seconds until there will be
  /// (at least 1, for Retry-After).
  std::optional<std::chrono::seconds> take(const std::string& key, time_point now, double rate, double burst) {
    std::lock_guard lock(mu_);
    auto [it, fresh] = buckets_.try_emplace(key, bucket{burst, now});
    bucket& b = it->second;
    if (!fresh && now > b.last) {
      const double elapsed = std::chrono::duration<double>(now - b.last).count();
      b.tokens = std::min(burst, b.tokens + elapsed * rate);
    }
    if (now > b.last) b.last = now;  // a clock that steps back never refills twice
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return std::nullopt;
    }
    const double wait = std::ceil((1 - b.tokens) / rate);
    return std::chrono::seconds(std::max<long long>(1, static_cast<long long>(wait)));
  }

 private:
  struct bucket {
    double tokens;
    time_point last;
  };
  std::mutex mu_;
  std::unordered_map<std::string, bucket> buckets_;
};

inline server_response sync_error(int status, std::string_view message) {
  std::string body = "{\"error\":";
  append_quoted(body, message);
  body += '}';
  return server_response::json(status, std::move(body));
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
  static_assert(clock<Clock>, "basic_sync_server: Clock does not model tributary::clock (see concepts.hpp)");

 public:
  using request_handler_concept = request_handler_tag;
  static constexpr std::string_view supported_versions[] = {"1"};

  /// `store` and `clock` are the caller's and must outlive the server. Creates the items and keys
  /// indices when missing. Throws error(errc::invalid_config) for bad options.
  basic_sync_server(Store& store, Clock& clock, sync_server_options options = {})
      : store_(&store), clock_(&clock), options_(std::move(options)), keys_(store, options_.keys_index),
        buckets_(std::make_unique<detail::token_buckets>()) {
    options_.limits.validate();
    validate_index_name(options_.items_index);
    if (options_.items_index == options_.keys_index)
      throw error(errc::invalid_config, "sync_server_options: items_index and keys_index must differ");
    ensure_index(options_.items_index);
    keys_.ensure_index();
  }
  [[nodiscard]] basic_key_store<Store>& keys() noexcept { return keys_; }
  [[nodiscard]] const sync_server_options& options() const noexcept { return options_; }

  server_response handle(server_request& request) {
    try {
      return serve(request);
    } catch (const error&) {
      // Only the store and the key records get here; bad input is answered before. The text is not
      // sent: it may name the store's internals.
      auto res = detail::sync_error(503, "the store is unavailable; retry later");
      res.headers.emplace_back("Retry-After", "1");
      return res;
    }
  }

 private:
  server_response serve(server_request& request) {
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
    enum class endpoint { hashes, data, limits };
    endpoint which;
    std::string_view method;
    if (route->endpoint == "hashes") which = endpoint::hashes, method = "PUT";
    else if (route->endpoint == "data") which = endpoint::data, method = "PUT";
    else if (route->endpoint == "limits") which = endpoint::limits, method = "GET";
    else return detail::sync_error(404, "no such endpoint; there are hashes, data and limits");
    if (request.method != method) {
      auto res = detail::sync_error(405, "use " + std::string(method) + " for " + std::string(route->endpoint));
      res.headers.emplace_back("Allow", std::string(method));
      return res;
    }

    // Authentication, then authorization: the presented key is never echoed or logged.
    const auto presented = request.header("X-API-Key");
    if (!presented) return detail::sync_error(401, "missing X-API-Key header");
    const auto key = keys_.verify(*presented);
    if (!key) return detail::sync_error(401, "invalid API key");
    if (which != endpoint::limits && !key->has_scope(collector_scope))
      return detail::sync_error(403, "this key lacks the collector scope");

    const auto& limits = options_.limits;
    if (const auto wait = buckets_->take(key->tag, clock_->now(), limits.requests_per_second, limits.burst)) {
      auto res = detail::sync_error(429, "rate limit: " + format_rate() + " requests per second per key, burst " +
                                             std::to_string(static_cast<long long>(limits.burst)));
      res.headers.emplace_back("Retry-After", std::to_string(wait->count()));
      return res;
    }
    if (which == endpoint::limits) return server_response::json(200, limits_json());

    if (request.body.size() > limits.max_body_bytes)
      return detail::sync_error(413, "body larger than max_body_bytes " + std::to_string(limits.max_body_bytes));
    // The whole body must be I-JSON before anything in it is read: a duplicate name (two "hash"es in
    // an item, say) would otherwise be read one way here and another way elsewhere.
    try {
      (void)canonical_json(request.body);
    } catch (const error& e) {
      return detail::sync_error(400, std::string("body is not valid JSON: ") + e.what());
    }
    try {
      return which == endpoint::hashes ? hashes(request) : data(request);
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
    const auto present = store_->exists(options_.items_index, hashes);
    std::string out = "{\"unknown\":[";
    std::vector<std::string_view> answered;  // a hash sent twice is answered once
    bool first = true;
    for (std::size_t i = 0; i < hashes.size(); ++i) {
      if (present[i] || std::find(answered.begin(), answered.end(), hashes[i]) != answered.end()) continue;
      answered.push_back(hashes[i]);
      out += first ? "\"" : ",\"";
      out += hashes[i];
      out += '"';
      first = false;
    }
    out += "]}";
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
    out += "],\"stored\":" + std::to_string(stored) + ",\"exists\":" + std::to_string(exists) +
           ",\"rejected\":" + std::to_string(rejected) + ",\"failed\":" + std::to_string(failed) + "}";
    return server_response::json(200, std::move(out));
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
    out += ",\"max_hashes_per_request\":" + std::to_string(l.max_hashes_per_request);
    out += ",\"max_items_per_request\":" + std::to_string(l.max_items_per_request);
    out += ",\"max_body_bytes\":" + std::to_string(l.max_body_bytes);
    out += ",\"requests_per_second\":";
    detail::append_ecmascript_number(out, l.requests_per_second);
    out += ",\"burst\":";
    detail::append_ecmascript_number(out, l.burst);
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
};

}  // namespace tributary
