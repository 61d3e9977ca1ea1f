#pragma once
// http_dataset_source: the datasets example's Source (tributary::source, collector/concepts.hpp). It
// reads a JSON-over-HTTP listing through the collector's transport:
//
//   GET {base}/publishers                    {"publishers":[{"id":"stats","name":"Statistics Office"}]}
//   GET {base}/datasets?publisher=ID&page=N  {"datasets":[{"id":"wages-2023","title":"...","tags":[...],
//                                              "license":"...","rows":120,"updated":"..."}],
//                                             "next_page":2}              (null or absent: the last page)
//
// A publisher is a provider: one that fails (an error status, malformed JSON, a dataset without an id)
// is reported as a failed provider and the run goes on; the collector's publish guard decides whether
// what is left is published. Each dataset gets one entry, stamped with `environment` (the Source
// contract: it must be the collector's own; the collector checks it).

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include <tributary/collector/concepts.hpp>
#include <tributary/error.hpp>
#include <tributary/redact.hpp>
#include <tributary/transport/http.hpp>

#include "record.hpp"

namespace datasets {

struct source_options {
  std::string base_url;     ///< e.g. http://127.0.0.1:8080/dev
  std::string environment;  ///< stamped on every entry: the collector's environment
  std::size_t max_pages = 10'000;  ///< per publisher: a listing whose pages never end is a failure, not a hang
};

class http_dataset_source {
 public:
  using source_concept = tributary::source_tag;
  using record_model = dataset_record;
  using outcome = tributary::basic_provider_outcome<dataset>;

  explicit http_dataset_source(source_options options) : options_(std::move(options)) {
    while (!options_.base_url.empty() && options_.base_url.back() == '/') options_.base_url.pop_back();
    if (options_.base_url.empty()) throw tributary::error(tributary::errc::invalid_config, "dataset source: no base URL");
    if (options_.environment.empty())
      throw tributary::error(tributary::errc::invalid_config, "dataset source: no environment");
  }

  template <class Transport>
  std::vector<tributary::provider> list_providers(Transport& transport) {
    const std::string url = options_.base_url + "/publishers";
    auto res = transport.perform(get(url));
    std::string why = failure_of(res);
    std::vector<tributary::provider> out;
    if (why.empty()) {
      simdjson::dom::element root;
      simdjson::dom::array publishers;
      if (auto err = parser_.parse(res.body).get(root))
        why = std::string("malformed JSON: ") + simdjson::error_message(err);
      else if (root["publishers"].get(publishers))
        why = "no 'publishers' array";
      else
        for (simdjson::dom::element p : publishers) {
          std::string_view id, name;
          if (p["id"].get(id) || id.empty()) {
            why = "a publisher without an id";
            break;
          }
          if (p["name"].get(name)) name = id;
          out.push_back({std::string(id), std::string(name)});
        }
    }
    if (!why.empty())  // a transport error names the request already
      throw tributary::error(tributary::errc::source_failed,
                             "listing publishers: " +
                                 (res.error.empty() ? "GET " + tributary::detail::quote_url(url) + ": " + why : why));
    return out;
  }

  /// Collects up to `concurrency` publishers at a time, one page of each in flight per round.
  template <class Transport, class F>
  void collect(Transport& transport, std::span<const tributary::provider> providers, std::size_t concurrency,
               F&& on_outcome) {
    concurrency = std::max<std::size_t>(concurrency, 1);
    for (std::size_t first = 0; first < providers.size(); first += concurrency) {
      const auto group = providers.subspan(first, std::min(concurrency, providers.size() - first));
      std::vector<progress> state(group.size());
      while (true) {
        std::vector<tributary::http_request> requests;
        std::vector<std::size_t> who;
        for (std::size_t i = 0; i < group.size(); ++i) {
          if (state[i].done) continue;
          requests.push_back(get(page_url(group[i].id, state[i].page)));
          who.push_back(i);
        }
        if (requests.empty()) break;
        std::vector<std::string> urls;
        for (const auto& r : requests) urls.push_back(r.url);
        transport.perform_all(std::move(requests), [&](std::size_t k, tributary::http_response&& res) {
          take_page(group[who[k]], state[who[k]], urls[k], res);
        });
      }
      for (std::size_t i = 0; i < group.size(); ++i) on_outcome(group[i], std::move(state[i].result));
    }
  }

 private:
  struct progress {
    std::int64_t page = 1;
    bool done = false;
    outcome result;
  };

  static tributary::http_request get(std::string url) {
    tributary::http_request r;
    r.url = std::move(url);
    r.headers = {{"Accept", "application/json"}};
    return r;
  }

  std::string page_url(const std::string& publisher, std::int64_t page) const {
    std::string url = options_.base_url + "/datasets?publisher=";
    for (unsigned char c : publisher) {  // percent-encode all but unreserved characters
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') url += static_cast<char>(c);
      else {
        static constexpr char hex[] = "0123456789ABCDEF";
        url += '%', url += hex[c >> 4], url += hex[c & 15];
      }
    }
    return url + "&page=" + std::to_string(page);
  }

  static std::string failure_of(const tributary::http_response& res) {
    if (!res.error.empty()) return res.error;
    if (res.status < 200 || res.status >= 300) return "HTTP " + std::to_string(res.status);
    return {};
  }

  /// Adds one page to the publisher's outcome, or fails the publisher saying why.
  void take_page(const tributary::provider& who, progress& st, const std::string& url,
                 const tributary::http_response& res) {
    auto fail = [&](const std::string& why) {
      st.result.records.clear();
      st.result.failure = res.error.empty() ? "GET " + tributary::detail::quote_url(url) + ": " + why : why;
      st.done = true;
    };
    if (auto why = failure_of(res); !why.empty()) return fail(why);
    simdjson::dom::element root;
    simdjson::dom::array items;
    if (auto err = parser_.parse(res.body).get(root)) return fail(std::string("malformed JSON: ") + simdjson::error_message(err));
    if (root["datasets"].get(items)) return fail("no 'datasets' array");
    std::size_t position = 0;
    for (simdjson::dom::element item : items) {
      ++position;
      std::string_view name, title, license, updated;
      std::int64_t rows = 0;
      if (item["id"].get(name) || name.empty()) return fail("dataset #" + std::to_string(position) + " has no id");
      if (item["title"].get(title)) title = name;
      if (item["license"].get(license)) license = "";
      if (item["updated"].get(updated)) updated = "";
      if (auto err = item["rows"].get(rows); err && err != simdjson::NO_SUCH_FIELD)
        return fail("dataset '" + std::string(name) + "': 'rows' must be an integer");
      dataset_entry e;
      e.environment = options_.environment;
      e.title = std::string(title);
      e.license = std::string(license);
      e.updated = std::string(updated);
      e.rows = rows;
      simdjson::dom::array tags;
      if (!item["tags"].get(tags))
        for (simdjson::dom::element t : tags) {
          std::string_view tag;
          if (!t.get(tag)) e.tags.emplace_back(tag);
        }
      dataset d;
      d.id = who.id + "/" + std::string(name);  // publisher-qualified: the same in every environment
      d.environments.push_back(std::move(e));
      st.result.records.push_back(std::move(d));
    }
    std::int64_t next = 0;
    if (root["next_page"].get(next) || next == 0) {
      st.done = true;
    } else if (next <= st.page) {
      fail("next_page " + std::to_string(next) + " does not follow page " + std::to_string(st.page));
    } else if (static_cast<std::size_t>(next) > options_.max_pages) {
      fail("more than " + std::to_string(options_.max_pages) + " pages");
    } else {
      st.page = next;
    }
  }

  source_options options_;
  simdjson::dom::parser parser_;
};

}  // namespace datasets
