#pragma once
// --publish-to URL --api-key-file FILE: after a run activated the merged catalogue, push it downstream
// to a collector API (include/tributary/sync/, seed 004) with basic_sync_client, so that only what the
// database does not have yet is sent: the client asks /hashes, the server answers the unknown ones.
//
// What an item is: one service of the catalogue the read alias points to, its stored document without
// the details' "collected" times. Those change on every run; left in, every service would be a new
// item every run and "only what changed" would be everything. The database gets the service's content;
// an unchanged service is an unchanged item, a changed one a new item (the API only adds).
//
// A publish that fails (the database down, a key refused) is said in the run's report and on stderr,
// and does not fail the run: the catalogue is activated here, and the next run's push sends whatever
// the database still lacks (the protocol is stateless: nothing is remembered between pushes).

#include <algorithm>
#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include <tributary/collector/report.hpp>
#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>
#include <tributary/redact.hpp>
#include <tributary/sync/client.hpp>
#include <tributary/transport/curl.hpp>

namespace tributary::examples {

struct publish_options {
  std::string url;      ///< the collector API's base URL, http(s)://host:port
  std::string api_key;  ///< read from --api-key-file; never printed
  std::string key_file;
  [[nodiscard]] bool enabled() const noexcept { return !url.empty(); }
};

/// Reads the key of --api-key-file: one line, white space around it dropped. Throws
/// error(errc::invalid_config) naming the file (never its content) when it is unreadable or empty.
inline std::string read_api_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw error(errc::invalid_config, "--api-key-file: cannot read '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  std::string key = text.str();
  const auto first = key.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) throw error(errc::invalid_config, "--api-key-file: '" + path + "' holds no key");
  key.erase(0, first);
  key.erase(key.find_last_not_of(" \t\r\n") + 1);
  if (key.find_first_of(" \t\r\n") != std::string::npos)
    throw error(errc::invalid_config, "--api-key-file: '" + path + "' holds more than one line");
  return key;
}

namespace publish_detail {

/// `e` as JSON text, without the "collected" members of objects in environments[].details[].
inline void write_without_collected(std::string& out, simdjson::dom::element e, int level) {
  // level: 0 the document, 1 inside "environments", 2 an environment, 3 inside "details", 4 a detail
  if (e.is_object()) {
    out += '{';
    bool first = true;
    for (const auto member : simdjson::dom::object(e)) {
      if (level == 4 && member.key == "collected") continue;
      if (!first) out += ',';
      first = false;
      tributary::detail::append_quoted(out, member.key);
      out += ':';
      const bool descend = (level == 0 && member.key == "environments") || (level == 2 && member.key == "details");
      write_without_collected(out, member.value, descend ? level + 1 : -1);
    }
    out += '}';
  } else if (e.is_array()) {
    out += '[';
    bool first = true;
    for (const auto v : simdjson::dom::array(e)) {
      if (!first) out += ',';
      first = false;
      write_without_collected(out, v, level == 1 || level == 3 ? level + 1 : -1);
    }
    out += ']';
  } else {
    out += simdjson::minify(e);
  }
}

}  // namespace publish_detail

/// A stored catalogue document as the item the database gets (see the header comment).
inline std::string publishable_item(std::string_view stored) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(simdjson::padded_string(stored)).get(doc) != simdjson::SUCCESS || !doc.is_object())
    throw error(errc::bad_document, "a stored document that is not a JSON object");
  std::string out;
  out.reserve(stored.size());
  publish_detail::write_without_collected(out, doc, 0);
  return out;
}

/// Pushes every document of the index `read_alias` points to (a page of `batch` documents at a time)
/// to the collector API. Throws error naming what failed; the key is never in a message.
template <class Store, class Transport>
sync_report publish_catalogue(const Store& store, const std::string& read_alias, Transport& transport,
                              const publish_options& options, std::size_t batch = 5000) {
  const auto targets = store.alias_targets(read_alias);
  if (targets.size() != 1)
    throw error(errc::not_found, "publish: the alias '" + read_alias + "' points to " + std::to_string(targets.size()) +
                                     " indices, not one");
  basic_sync_client client(transport, {.base_url = options.url, .api_key = options.api_key});
  sync_report total;
  std::string after;
  for (bool done = false; !done;) {
    const auto page = store.scan(targets.front(), after, batch);
    std::vector<std::string> items;
    items.reserve(page.documents.size());
    for (const auto& d : page.documents) items.push_back(publishable_item(d.json));
    const auto r = client.push(items);
    total.items += r.items, total.duplicates += r.duplicates, total.invalid += r.invalid;
    total.skipped_known += r.skipped_known, total.sent += r.sent, total.stored += r.stored;
    total.exists += r.exists, total.rejected += r.rejected, total.failed += r.failed;
    total.hash_requests += r.hash_requests, total.data_requests += r.data_requests, total.bytes_sent += r.bytes_sent;
    total.rejections.insert(total.rejections.end(), r.rejections.begin(), r.rejections.end());
    done = page.done;
    after = page.next_after;
  }
  return total;
}

/// After an activated run: publishes, and says how it went in the report's notes (and on stderr when
/// it failed). Never throws: a failed publish does not fail the run (see the header comment).
template <class Store>
void publish_after_activation(const Store& store, const std::string& read_alias, const curl_library& curl,
                              const publish_options& options, run_report& report) {
  const std::string where = "publish to " + redact_url(options.url);
  try {
    curl_options transport_options;
    transport_options.max_attempts = 5;  // 429 after Retry-After, 503, no answer: the transport retries
    curl_transport transport(curl, transport_options);
    const auto r = publish_catalogue(store, read_alias, transport, options);
    std::string note = where + ": " + std::to_string(r.items) + " services, " + std::to_string(r.skipped_known) +
                       " unchanged (not sent), " + std::to_string(r.sent) + " sent: " + std::to_string(r.stored) +
                       " stored, " + std::to_string(r.exists) + " already there, " + std::to_string(r.rejected + r.failed + r.invalid) +
                       " refused; " + std::to_string(r.bytes_sent) + " bytes";
    for (std::size_t i = 0; i < std::min<std::size_t>(r.rejections.size(), 3); ++i) note += "; " + r.rejections[i].reason;
    report.notes.push_back(std::move(note));
  } catch (const error& e) {
    const std::string message = where + " failed (the next run sends what is missing): " + redact_urls_in(e.what());
    report.notes.push_back(message);
    std::cerr << message << "\n";
  }
}

}  // namespace tributary::examples
