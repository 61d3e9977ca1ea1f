#pragma once
// http_to_store: fetches one JSON document over curl_transport and writes its records into an index of
// a store (the stores the collectors take by URL: sqlite://, postgres://, http(s):// Elasticsearch).
//
// The records are the array at `records` (a JSON pointer, "/items"; empty: the body itself), or the
// one object found there. Each is stored with the id its `id_field` member holds (a string or an
// integer); with `id_field` empty, with its position, zero-padded. The index is created when missing;
// records with an id already there replace it. Progress: fetch (started, the bytes received), parse
// (the records found), store (written/total); the result: {"url", "index", "records", "bytes"}. The
// store URL and the bearer token are secret settings; the URL fetched is shown with credentials redacted.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <simdjson.h>

#include <tributary/jobs/platform.hpp>
#include <tributary/jobs/settings.hpp>
#include <tributary/redact.hpp>
#include <tributary/transport/curl.hpp>

#include "collector/cli.hpp"

namespace tributary::examples::jobs_demo {

namespace jobs = tributary::jobs;

struct http_to_store_settings {
  using settings_concept = jobs::settings_tag;
  std::string url, index, records, id_field;
  jobs::secret store, bearer_token;
  std::int64_t timeout_ms = 30000, max_response_mb = 64;
  static constexpr auto settings() {
    using S = http_to_store_settings;
    return std::tuple{
      jobs::setting("url", &S::url).describe("the JSON to fetch: http(s)://..."),
      jobs::setting("store", &S::store).describe("where the records go: sqlite:///PATH, postgres://USER@HOST:PORT/DB or "
                                                 "http(s)://USER:PASS@ELASTICSEARCH:9200"),
      jobs::setting("index", &S::index).describe("the index written (created when missing)"),
      jobs::setting("records", &S::records).defaults_to("").describe("JSON pointer to the records, e.g. /items; "
                                                                     "empty: the whole body"),
      jobs::setting("id_field", &S::id_field).defaults_to("id").describe("the member holding a record's id; "
                                                                         "empty: its position"),
      jobs::setting("bearer_token", &S::bearer_token).optional().describe("sent as Authorization: Bearer"),
      jobs::setting("timeout_ms", &S::timeout_ms).between(1, 3'600'000).defaults_to(30000).describe("the request's timeout"),
      jobs::setting("max_response_mb", &S::max_response_mb).between(1, 4096).defaults_to(64)
        .describe("the largest body accepted, in MiB")};
  }
};

namespace detail {

[[noreturn]] inline void bad_setting(std::string_view setting, const std::string& why) {
  throw jobs::settings_error(std::vector<jobs::setting_problem>{{std::string(setting), why}});
}

/// The records of `body` as stored documents, or why not.
inline std::vector<stored_document> records_of(std::string_view body, const http_to_store_settings& s) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(simdjson::padded_string(body)).get(doc) != simdjson::SUCCESS)
    throw std::runtime_error("the answer is not JSON");
  simdjson::dom::element at = doc;
  if (!s.records.empty() && doc.at_pointer(s.records).get(at) != simdjson::SUCCESS)
    bad_setting("records", "'" + s.records.substr(0, 64) + "' points at nothing in the answer (or is not a JSON pointer)");
  std::vector<simdjson::dom::element> items;
  simdjson::dom::array array;
  if (at.get_array().get(array) == simdjson::SUCCESS) {
    for (const auto e : array) items.push_back(e);
  } else if (at.is_object()) {
    items.push_back(at);
  } else {
    bad_setting("records", "must point at an array of objects or one object");
  }
  std::vector<stored_document> out;
  out.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& e = items[i];
    if (!e.is_object()) throw std::runtime_error("record " + std::to_string(i) + " is not a JSON object");
    std::string id;
    if (s.id_field.empty()) {
      char digits[24];
      std::snprintf(digits, sizeof digits, "%012zu", i);
      id = digits;
    } else {
      simdjson::dom::element v;
      if (e.get_object().value_unsafe().at_key(s.id_field).get(v) != simdjson::SUCCESS)
        throw std::runtime_error("record " + std::to_string(i) + " has no '" + s.id_field.substr(0, 64) + "' (id_field)");
      if (v.is_string()) id = std::string(v.get_string().value_unsafe());
      else if (v.is_int64()) id = std::to_string(v.get_int64().value_unsafe());
      else if (v.is_uint64()) id = std::to_string(v.get_uint64().value_unsafe());
      else throw std::runtime_error("record " + std::to_string(i) + ": its '" + s.id_field.substr(0, 64) + "' is neither a string nor an integer");
      if (id.empty()) throw std::runtime_error("record " + std::to_string(i) + " has an empty id");
    }
    out.push_back({std::move(id), simdjson::minify(e)});
  }
  return out;
}

}  // namespace detail

struct http_to_store_platform {
  using platform_concept = jobs::platform_tag;
  using settings_type = http_to_store_settings;
  static constexpr std::string_view id = "http_to_store", display_name = "JSON over HTTP into a store";
  static constexpr unsigned max_attempts = 2;  // a rerun writes the same ids again: harmless
  static constexpr std::chrono::seconds time_limit{600};
  static constexpr std::size_t batch = 500;

  std::string run(const http_to_store_settings& s, jobs::job_context& context) {
    if (!s.url.starts_with("http://") && !s.url.starts_with("https://")) detail::bad_setting("url", "must start with http:// or https://");
    collector_options o;  // with_stores opens a store by URL as the collectors do
    o.store = s.store.reveal();
    try {
      (void)store_scheme_of(o.store);
    } catch (const error& e) {
      detail::bad_setting("store", e.what());
    }
    const std::string shown_url = redact_url(s.url);

    context.progress("fetch", "started");
    std::atomic<bool> stop{false};
    curl_library curl;
    curl_options transport_options;
    transport_options.total_timeout = std::chrono::milliseconds(s.timeout_ms);
    transport_options.max_response_bytes = static_cast<std::size_t>(s.max_response_mb) << 20;
    transport_options.stop = &stop;
    transport_options.logger = [](curl_log_level, std::string_view) {};  // the failure is the job's error
    curl_transport transport(curl, transport_options);
    http_request request;
    request.url = s.url;
    request.headers.emplace_back("Accept", "application/json");
    if (!s.bearer_token.empty()) request.headers.emplace_back("Authorization", "Bearer " + s.bearer_token.reveal());
    const http_response response = transport.perform(std::move(request));
    if (!response.error.empty()) throw std::runtime_error("GET " + shown_url + ": " + redact_urls_in(response.error));
    if (!response.ok()) throw std::runtime_error("GET " + shown_url + " answered " + std::to_string(response.status));
    context.progress("fetch", "done, " + std::to_string(response.body.size()) + " bytes");
    context.throw_if_canceled();

    context.progress("parse", "started");
    const auto documents = detail::records_of(response.body, s);
    context.progress("parse", std::to_string(documents.size()) + " records");

    context.progress("store", "0/" + std::to_string(documents.size()));
    with_stores(o, curl, false, [&](auto& store, auto&) {
      try {
        if (!store.index_exists(s.index)) store.create_index(s.index);
      } catch (const error& e) {
        if (e.code() == errc::invalid_name) detail::bad_setting("index", e.what());
        if (e.code() != errc::already_exists) throw;  // another job created it meanwhile: fine
      }
      for (std::size_t at = 0; at < documents.size(); at += batch) {
        context.throw_if_canceled();
        const std::size_t n = std::min(batch, documents.size() - at);
        const auto r = store.bulk_write(s.index, std::span<const stored_document>(documents.data() + at, n));
        if (!r.ok())
          throw std::runtime_error("storing record '" + r.failures.front().id.substr(0, 64) + "': " + redact_urls_in(r.failures.front().reason));
        context.progress("store", std::to_string(at + n) + "/" + std::to_string(documents.size()));
      }
      return 0;
    });
    std::string out = "{\"url\":";
    tributary::detail::append_quoted(out, shown_url);
    out += ",\"index\":";
    tributary::detail::append_quoted(out, s.index);
    return out + ",\"records\":" + std::to_string(documents.size()) + ",\"bytes\":" + std::to_string(response.body.size()) + "}";
  }
};

}  // namespace tributary::examples::jobs_demo
