#pragma once
// basic_sync_client<Transport>: the collector side of the write-enabled collector API (seed 004,
// SYNC.md). Link tributary::sync.
//
//   curl_library curl;
//   curl_transport transport(curl, {});
//   basic_sync_client client(transport, {.base_url = "http://db:8080", .api_key = key});
//   client.pull_locator_updates([&](const locator_update& u) { apply(u); });   SLU, before collecting
//   const sync_report r = client.push(items);                                  CUP, after collecting
//
// push() canonicalizes each item (RFC 8785) and hashes it, reads the server's published limits once
// (GET /limits), then, batch by batch, asks which hashes the server does not know (PUT /hashes, CUP steps
// 1-3) and uploads only those (PUT /data, step 4), every request within the published counts and
// max_body_bytes. An item that is not a JSON object, or larger than a request may be, is reported as
// rejected without being sent; one the server rejects is reported with the server's reason. Nothing is
// dropped silently: every item given ends up in exactly one of the report's counts.
//
// Who retries (retry.hpp, "one owner per concern"): the transport, alone. Every request here is sent
// idempotent with retry_on_status, so curl_transport retries a 429 after its Retry-After (and a 503, and
// a request that got no answer) up to its max_attempts. That is safe because every request is
// idempotent: GETs read; PUT /hashes reads; PUT /data of an item already stored answers `exists` and
// changes nothing; PUT /slu-update sets a position, and setting it twice is setting it once. What still
// fails after the transport's attempts is thrown as error(errc::transport_failed) naming the endpoint,
// the status and the server's message; the API key is never part of a message.
//
// The hashes go as JSON hex, the seed's form, unless the server publishes the "binary" hash encoding
// (and sync_client_options::binary_hashes is left on): then as the raw digests, half the bytes.
//
// pull_locator_updates() reads GET /slu-update page by page, hands each update to the caller and, only
// after the caller returned for the whole page, acknowledges the page's SLU-Cursor (PUT /slu-update). A
// caller that throws acknowledges nothing, so the page comes again on the next call: updates arrive at
// least once, and exactly once when the caller returns normally.
//
// Transport: tributary::transport (concepts.hpp), the caller's, outliving the client.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <simdjson.h>

#include <tributary/concepts.hpp>
#include <tributary/detail/excerpt.hpp>
#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>
#include <tributary/sync/canonical_json.hpp>
#include <tributary/sync/keys.hpp>
#include <tributary/sync/limits.hpp>
#include <tributary/transport/http.hpp>

namespace tributary {

struct sync_client_options {
  std::string base_url;  ///< scheme, host and port: "http://127.0.0.1:8080" (no path)
  std::string api_key;   ///< sent as X-API-Key; never printed
  int version = 1;
  /// Send /hashes as raw 32-byte digests (application/octet-stream) when the server's limits offer the
  /// "binary" hash encoding: 32 bytes a hash instead of 67. The JSON form otherwise, or when false.
  bool binary_hashes = true;
  void validate() const {
    if (!base_url.starts_with("http://") && !base_url.starts_with("https://"))
      throw error(errc::invalid_config, "sync client: base_url must start with http:// or https://");
    if (base_url.ends_with("/")) throw error(errc::invalid_config, "sync client: base_url must not end with '/'");
    if (api_key.empty()) throw error(errc::invalid_config, "sync client: an api_key is needed");
    if (version != 1) throw error(errc::invalid_config, "sync client: only API version 1 is spoken");
  }
};

/// An item that was not stored, and why.
struct sync_rejection {
  std::size_t position = 0;  ///< in the items given to push()
  std::string hash;          ///< empty when the item could not be canonicalized
  std::string reason;
};

/// What push() did. items == duplicates + invalid + skipped_known + sent, and
/// sent == stored + exists + rejected + failed; every invalid, rejected and failed item is in
/// `rejections`.
struct sync_report {
  std::size_t items = 0;          ///< given
  std::size_t duplicates = 0;     ///< the same item (same hash) given earlier in the call: sent once
  std::size_t invalid = 0;        ///< refused here, not sent: not a JSON object, or too large
  std::size_t skipped_known = 0;  ///< the server had them already (told by /hashes): not sent
  std::size_t sent = 0;           ///< uploaded with /data
  std::size_t stored = 0;         ///< of those, newly stored
  std::size_t exists = 0;         ///< stored meanwhile by someone else: success, nothing changed
  std::size_t rejected = 0;       ///< refused by the server (hash mismatch, malformed)
  std::size_t failed = 0;         ///< the server's store refused them; worth sending again
  std::size_t hash_requests = 0, data_requests = 0;
  std::size_t bytes_sent = 0;  ///< request bodies of /hashes and /data
  std::vector<sync_rejection> rejections;
};

/// One entry of GET /slu-update: a vorgang and its changed locators, in the order published.
struct locator_update {
  std::string vorgang_id;  ///< as JSON text: "\"v1\"" for a string, "42" for an integer
  std::vector<std::pair<std::string, std::string>> updates;  ///< locator, new value
};

namespace detail {

inline std::string server_message(const http_response& res) {
  if (res.status == 0) return res.error;
  try {
    simdjson::dom::parser parser;
    const auto doc = parser.parse(simdjson::padded_string(res.body));
    std::string_view message;
    if (!doc["error"].get(message)) return excerpt(message, 500, true);
  } catch (const simdjson::simdjson_error&) {
  }
  return excerpt(res.body, 200, true);  // not our JSON: a proxy's page, one line of whole characters
}

}  // namespace detail

template <class Transport>
class basic_sync_client {
  static_assert(transport<Transport>, "basic_sync_client: Transport does not model tributary::transport (see concepts.hpp)");

 public:
  basic_sync_client(Transport& transport, sync_client_options options) : transport_(&transport), options_(std::move(options)) {
    options_.validate();
  }

  /// The server's limits (GET /limits), read once and kept.
  const sync_limits& limits() {
    if (!limits_) limits_ = read_limits();
    return *limits_;
  }

  /// CUP: sends what the server does not have of `items` (each the JSON text of an object).
  sync_report push(std::span<const std::string> items) {
    const sync_limits& l = limits();
    sync_report report;
    report.items = items.size();

    struct prepared {
      std::size_t position;
      canonical_item item;
    };
    std::vector<prepared> unique;
    std::unordered_set<std::string> seen;
    for (std::size_t i = 0; i < items.size(); ++i) {
      canonical_item c;
      try {
        c = canonicalize(items[i]);
      } catch (const error& e) {
        reject_here(report, i, "", std::string("not canonical JSON: ") + e.what());
        continue;
      }
      if (c.json.empty() || c.json.front() != '{') {
        reject_here(report, i, c.hash, "an item must be a JSON object");
        continue;
      }
      // The smallest /data body that holds it must fit the server's bound.
      if (data_overhead + item_overhead + c.json.size() > l.max_body_bytes) {
        reject_here(report, i, c.hash,
                    "larger than the server's max_body_bytes " + std::to_string(l.max_body_bytes) + " (" +
                        std::to_string(c.json.size()) + " bytes canonical)");
        continue;
      }
      if (!seen.insert(c.hash).second) {
        ++report.duplicates;
        continue;
      }
      unique.push_back({i, std::move(c)});
    }

    // A /hashes body is {"hashes":[...]}: 13 bytes, then 67 per hash ("<64>" and a comma); in binary,
    // 32 bytes per hash and nothing else.
    const bool binary = options_.binary_hashes && server_binary_;
    const std::size_t by_size = binary ? l.max_body_bytes / 32 : l.max_body_bytes > 16 ? (l.max_body_bytes - 16) / 67 : 0;
    const std::size_t per_hashes = std::max<std::size_t>(1, std::min(l.max_hashes_per_request, by_size));
    for (std::size_t at = 0; at < unique.size(); at += per_hashes) {
      const std::size_t end = std::min(unique.size(), at + per_hashes);
      // CUP steps 1-3: which of these does the database not know?
      std::string body;
      if (binary) {
        body.reserve((end - at) * 32);
        for (std::size_t i = at; i < end; ++i) {
          const auto digest = detail::from_hex(unique[i].item.hash);
          body.append(reinterpret_cast<const char*>(digest.data()), digest.size());
        }
      } else {
        body = "{\"hashes\":[";
        for (std::size_t i = at; i < end; ++i) {
          body += i == at ? "\"" : ",\"";
          body += unique[i].item.hash;
          body += '"';
        }
        body += "]}";
      }
      ++report.hash_requests;
      report.bytes_sent += body.size();
      const auto answer = call("PUT", "hashes", std::move(body), binary ? "application/octet-stream" : "application/json");
      std::unordered_set<std::string> unknown;
      try {
        simdjson::dom::parser parser;
        for (const auto h : simdjson::dom::array(parser.parse(simdjson::padded_string(answer.body))["unknown"]))
          unknown.emplace(std::string_view(h));
      } catch (const simdjson::simdjson_error& e) {
        throw error(errc::transport_failed, std::string("sync client: PUT hashes: an answer without \"unknown\": ") + e.what());
      }
      // CUP step 4: the data of the unknown ones, in requests within both bounds.
      std::vector<const prepared*> batch;
      std::size_t batch_bytes = data_overhead;
      auto flush = [&] {
        if (!batch.empty()) upload(batch, report);
        batch.clear();
        batch_bytes = data_overhead;
      };
      for (std::size_t i = at; i < end; ++i) {
        if (!unknown.contains(unique[i].item.hash)) {
          ++report.skipped_known;
          continue;
        }
        const std::size_t size = item_overhead + unique[i].item.json.size();
        if (batch.size() == l.max_items_per_request || batch_bytes + size > l.max_body_bytes) flush();
        batch.push_back(&unique[i]);
        batch_bytes += size;
      }
      flush();
    }
    return report;
  }
  sync_report push(const std::vector<std::string>& items) { return push(std::span<const std::string>(items)); }

  /// SLU: hands every locator update published since the last acknowledged call to `apply`
  /// (void(const locator_update&)), then acknowledges it. Returns how many entries were handed over.
  template <class F>
  std::size_t pull_locator_updates(F&& apply) {
    std::size_t handed = 0;
    for (;;) {
      const auto res = call("GET", "slu-update", "");
      std::vector<locator_update> page;
      try {
        simdjson::dom::parser parser;
        for (const auto entry : simdjson::dom::array(parser.parse(simdjson::padded_string(res.body)))) {
          locator_update u;
          u.vorgang_id = simdjson::minify(entry["vorgang_id"].value());
          for (const auto change : simdjson::dom::array(entry["updates"]))
            for (const auto member : simdjson::dom::object(change))
              u.updates.emplace_back(std::string(member.key), std::string(std::string_view(member.value)));
          page.push_back(std::move(u));
        }
      } catch (const simdjson::simdjson_error& e) {
        throw error(errc::transport_failed, std::string("sync client: GET slu-update: a malformed answer: ") + e.what());
      }
      const std::string cursor(res.header("SLU-Cursor"));
      if (cursor.empty() || !std::all_of(cursor.begin(), cursor.end(), [](char c) { return c >= '0' && c <= '9'; }))
        throw error(errc::transport_failed, "sync client: GET slu-update: no SLU-Cursor in the answer");
      for (const auto& u : page) apply(u);  // throws: nothing acknowledged, the page comes again
      handed += page.size();
      if (!page.empty()) (void)call("PUT", "slu-update", "{\"acknowledge\":" + cursor + "}");
      if (res.header("SLU-More") != "true") return handed;
    }
  }

 private:
  // {"items":[ ... ]} and, per item, {"hash":"<64>","data":} and a comma.
  static constexpr std::size_t data_overhead = 12, item_overhead = 84;

  static void reject_here(sync_report& report, std::size_t position, std::string hash, std::string reason) {
    ++report.invalid;
    report.rejections.push_back({position, std::move(hash), std::move(reason)});
  }

  template <class Prepared>
  void upload(const std::vector<const Prepared*>& batch, sync_report& report) {
    std::string body = "{\"items\":[";
    for (std::size_t i = 0; i < batch.size(); ++i) {
      body += i ? ",{\"hash\":\"" : "{\"hash\":\"";
      body += batch[i]->item.hash;
      body += "\",\"data\":";
      body += batch[i]->item.json;
      body += '}';
    }
    body += "]}";
    ++report.data_requests;
    report.bytes_sent += body.size();
    report.sent += batch.size();
    const auto res = call("PUT", "data", std::move(body));
    try {
      simdjson::dom::parser parser;
      const auto results = simdjson::dom::array(parser.parse(simdjson::padded_string(res.body))["results"]);
      if (results.size() != batch.size()) throw error(errc::transport_failed, "sync client: PUT data: one result per item expected");
      std::size_t i = 0;
      for (const auto r : results) {
        const auto* p = batch[i++];
        const std::string_view status = r["status"];
        if (status == "stored") {
          ++report.stored;
        } else if (status == "exists") {
          ++report.exists;
        } else {
          ++(status == "rejected" ? report.rejected : report.failed);
          std::string_view reason;
          if (r["reason"].get(reason) != simdjson::SUCCESS) reason = "no reason given";
          report.rejections.push_back({p->position, p->item.hash, std::string(status) + ": " + std::string(reason)});
        }
      }
    } catch (const simdjson::simdjson_error& e) {
      throw error(errc::transport_failed, std::string("sync client: PUT data: a malformed answer: ") + e.what());
    }
  }

  sync_limits read_limits() {
    const auto res = call("GET", "limits", "");
    try {
      simdjson::dom::parser parser;
      const auto doc = parser.parse(simdjson::padded_string(res.body));
      sync_limits l;
      l.max_hashes_per_request = std::uint64_t(doc["max_hashes_per_request"]);
      l.max_items_per_request = std::uint64_t(doc["max_items_per_request"]);
      l.max_body_bytes = std::uint64_t(doc["max_body_bytes"]);
      l.requests_per_second = double(doc["requests_per_second"]);
      l.burst = double(doc["burst"]);
      l.validate();
      server_binary_ = false;  // a server from before the binary form publishes no hash_encodings
      simdjson::dom::array encodings;
      if (doc["hash_encodings"].get(encodings) == simdjson::SUCCESS)
        for (const auto e : encodings) server_binary_ = server_binary_ || (e.is_string() && std::string_view(e) == "binary");
      return l;
    } catch (const simdjson::simdjson_error& e) {
      throw error(errc::transport_failed, std::string("sync client: GET limits: a malformed answer: ") + e.what());
    } catch (const error& e) {
      throw error(errc::transport_failed, std::string("sync client: GET limits: unusable limits: ") + e.what());
    }
  }

  /// One request; anything but a 2xx after the transport's attempts is an error naming what failed.
  http_response call(std::string method, std::string_view endpoint, std::string body,
                     std::string_view content_type = "application/json") {
    http_request r;
    r.method = std::move(method);
    r.url = options_.base_url + "/api/v" + std::to_string(options_.version) + "/collector/" + std::string(endpoint);
    r.body = std::move(body);
    r.idempotent = true;  // every request of this API is (see the header comment); the transport retries
    r.retry_on_status = true;
    r.headers.emplace_back("X-API-Key", options_.api_key);
    if (!r.body.empty()) r.headers.emplace_back("Content-Type", std::string(content_type));
    const std::string what = "sync client: " + r.method + " " + r.url;
    http_response res = transport_->perform(std::move(r));
    // The transport's text names the request already.
    if (res.status == 0) throw error(errc::transport_failed, "sync client: no answer: " + res.error);
    if (res.status < 200 || res.status > 299)
      throw error(errc::transport_failed, what + ": HTTP " + std::to_string(res.status) + ": " + detail::server_message(res));
    return res;
  }

  Transport* transport_;
  sync_client_options options_;
  std::optional<sync_limits> limits_;
  bool server_binary_ = false;  // the server's limits offer the binary hash encoding
};

}  // namespace tributary
