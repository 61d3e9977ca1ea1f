#pragma once
// The write-enabled collector API's input (include/tributary/sync/):
//   canonical_json   RFC 8785 canonicalization of any text (what /data recomputes hashes from, and the
//                    check every request body passes first)
//   sync_requests    a request to basic_sync_server over a fresh memory_index: the input's first line
//                    is "METHOD PATH [CONTENT-TYPE]", the rest its body; sent with a key holding both scopes, so the
//                    body reaches the parsers of /hashes, /data, /slu-update and /slu-publish
//
// Properties beyond "no crash":
//   canonical_json: a text it accepts canonicalizes to a fixed point (canonical_json of the output is
//   the output), which simdjson reads (integers beyond 64 bits aside, which simdjson's DOM refuses),
//   with every object's member names strictly increasing as UTF-16 code units; the hash is the SHA-256
//   of the output. A refusal is error(errc::bad_document) naming the byte.
//   sync_requests: every answer is 200, 400, 404, 405 or 413 (input is never a 5xx), its body is JSON
//   (but /metrics, Prometheus text),
//   an error answer names the problem; /hashes answers only hashes it was sent, each once, never the
//   one already stored; /data answers one result per item and the counts add up; after any request
//   every stored item is its own canonical form stored under its hash, and the item stored before the
//   request is still there, unchanged; a refused request (not 200) stores nothing.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include <tributary/clock/manual.hpp>
#include <tributary/index/memory.hpp>
#include <tributary/server/message.hpp>
#include <tributary/sync/canonical_json.hpp>
#include <tributary/sync/server.hpp>

#include "../harness.hpp"

namespace tributary::fuzz {

namespace sync_detail {

/// Member names of every object strictly increasing as UTF-16 code units, at every depth.
inline void check_sorted(simdjson::dom::element e, const std::string& canonical) {
  if (e.is_object()) {
    std::u16string last;
    bool first = true;
    for (const auto member : simdjson::dom::object(e)) {
      std::u16string name = tributary::detail::utf16_of(member.key);
      require(first || last < name, "member names out of RFC 8785 order in " + canonical.substr(0, 200));
      last = std::move(name);
      first = false;
      check_sorted(member.value, canonical);
    }
  } else if (e.is_array()) {
    for (const auto v : simdjson::dom::array(e)) check_sorted(v, canonical);
  }
}

/// True when `text` holds a run of digits that, read as an integer (with the '-' before it), fits
/// neither int64 nor uint64: what simdjson's DOM refuses. Digits inside strings count too, which only
/// makes the check more lenient.
inline bool has_integer_beyond_64_bits(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] < '0' || text[i] > '9') {
      ++i;
      continue;
    }
    const std::size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    const std::string_view run = text.substr(start, i - start);
    const bool negative = start > 0 && text[start - 1] == '-';
    const std::string_view bound = negative ? "9223372036854775808" : "18446744073709551615";
    if (run.size() > bound.size() || (run.size() == bound.size() && run > bound)) return true;
  }
  return false;
}

/// Every document of `index`.
inline std::vector<stored_document> all_documents(const memory_index& store, const std::string& index) {
  std::vector<stored_document> out;
  std::string after;
  for (;;) {
    auto page = store.scan(index, after, 1000);
    out.insert(out.end(), page.documents.begin(), page.documents.end());
    if (page.done) return out;
    after = page.next_after;
  }
}

}  // namespace sync_detail

inline void canonical_json(std::string_view input) {
  const auto refusal = expect_errors("canonical_json", [&] {
    const std::string out = tributary::canonical_json(input);
    require(tributary::canonical_json(out) == out, "canonical form is not a fixed point: " + out.substr(0, 200));
    require(canonicalize(input).hash == sha256_hex(out), "the hash is not the SHA-256 of the canonical form");
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    const auto err = parser.parse(simdjson::padded_string(out)).get(doc);
    // RFC 8785 writes integral doubles beyond 64 bits as plain digits (295147905179352830000), which
    // simdjson's DOM refuses as a number error: that one refusal is expected.
    if (err == simdjson::NUMBER_ERROR && sync_detail::has_integer_beyond_64_bits(out)) return;
    require(!err, std::string("simdjson refuses the canonical form (") + simdjson::error_message(err) + "): " + out.substr(0, 200));
    sync_detail::check_sorted(doc, out);
  });
  if (refusal) {
    require(refusal->code() == errc::bad_document, std::string("refused with another code: ") + refusal->what());
    require(std::string_view(refusal->what()).find(" at byte ") != std::string_view::npos,
            std::string("a refusal that names no byte: ") + refusal->what());
  }
}

inline void sync_requests(std::string_view input) {
  const auto newline = input.find('\n');
  const std::string_view head = input.substr(0, newline);
  const std::string_view body = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  const auto space = head.find(' ');
  if (space == std::string_view::npos) return;
  // An optional third word is the Content-Type ("application/octet-stream": binary hashes).
  const auto second_space = head.find(' ', space + 1);
  const std::string_view content_type = second_space == std::string_view::npos ? std::string_view() : head.substr(second_space + 1);

  memory_index store;
  manual_clock clock;
  sync_server_options options;
  options.limits.max_hashes_per_request = 8;
  options.limits.max_items_per_request = 4;
  options.limits.max_body_bytes = 4096;
  options.limits.max_updates_per_response = 3;
  options.limits.burst = 1000;
  basic_sync_server<memory_index, manual_clock> server(store, clock, options);
  const std::string key = server.keys().create("fuzz", {"collector", "admin"}).key;
  // One item stored before the request: nothing may change it.
  const canonical_item before = canonicalize(R"({"vorgang_id":"v0","titel":"stored before"})");
  const stored_document before_doc{before.hash, before.json};
  require(store.insert_if_absent("sync-items", std::span(&before_doc, 1)).inserted() == 1, "setup: the item was not stored");

  server_request request;
  request.method = std::string(head.substr(0, space));
  request.target = std::string(head.substr(space + 1, second_space == std::string_view::npos ? std::string_view::npos : second_space - space - 1));
  if (!content_type.empty()) request.headers.emplace_back("Content-Type", std::string(content_type));
  request.path = request.target.substr(0, request.target.find('?'));
  request.headers.emplace_back("X-API-Key", key);
  request.body = std::string(body);
  const server_response res = server.handle(request);

  const int s = res.status;
  if (request.path == options.metrics_path && s == 200) {  // Prometheus text, not JSON
    require(res.body.find("tributary_sync_requests_total") != std::string::npos, "metrics without the request counts");
    return;
  }
  require(s == 200 || s == 400 || s == 404 || s == 405 || s == 413, "answered " + std::to_string(s) + ": " + res.body.substr(0, 200));
  const auto body_error = expect_errors("the answer's body", [&] { (void)tributary::canonical_json(res.body); });
  require(!body_error, "the answer is not JSON: " + res.body.substr(0, 200));
  simdjson::dom::parser parser;
  simdjson::dom::element answer;
  const auto parsed = parser.parse(simdjson::padded_string(res.body)).get(answer);
  if (s != 200) {
    std::string_view message;
    require(!parsed && !answer["error"].get(message) && !message.empty(), "a refusal without a message: " + res.body.substr(0, 200));
  }

  const auto items = sync_detail::all_documents(store, "sync-items");
  bool before_seen = false;
  for (const auto& d : items) {
    require(sha256_hex(d.json) == d.id, "a stored item does not hash to its id: " + d.id);
    require(tributary::canonical_json(d.json) == d.json, "a stored item is not canonical: " + d.id);
    if (d.id == before.hash) before_seen = d.json == before.json;
  }
  require(before_seen, "the item stored before the request was changed or removed");
  if (s != 200) require(items.size() == 1, "a refused request stored something");

  if (s != 200 || parsed) return;
  const std::string_view path = request.path;
  if (path.ends_with("/hashes")) {
    std::vector<std::string_view> unknown;
    for (const auto h : simdjson::dom::array(answer["unknown"])) {
      const std::string_view hash(h);
      require(is_canonical_hash(hash), "an unknown hash that is not one");
      bool sent = body.find(hash) != std::string_view::npos;  // JSON: the hex is in the body
      for (std::size_t at = 0; !sent && at + 32 <= body.size(); at += 32)  // binary: the raw digests
        sent = to_hex(std::span(reinterpret_cast<const unsigned char*>(body.data() + at), 32)) == hash;
      require(sent, "answered a hash it was not sent");
      require(hash != before.hash, "answered the stored hash as unknown");
      for (const auto u : unknown) require(u != hash, "a hash answered twice");
      unknown.push_back(hash);
    }
  } else if (path.ends_with("/data")) {
    std::size_t results = 0, stored = 0;
    for (const auto r : simdjson::dom::array(answer["results"])) {
      ++results;
      const std::string_view status(r["status"]);
      if (status == "stored") {
        ++stored;
        const std::string_view hash(r["hash"]);
        bool found = false;
        for (const auto& d : items) found = found || d.id == hash;
        require(found, "told stored, but not in the store");
      }
    }
    const auto count = [&](const char* name) { return static_cast<std::size_t>(std::uint64_t(answer[name])); };
    require(count("stored") == stored, "the stored count differs from the results");
    require(count("stored") + count("exists") + count("rejected") + count("failed") == results, "the counts do not add up");
    require(items.size() == 1 + stored, "stored items that no result reports");
  }
}

}  // namespace tributary::fuzz
