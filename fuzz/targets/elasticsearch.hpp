#pragma once
// elasticsearch_responses: elasticsearch_index's parsers of what a cluster answers (GET /, _cat/indices,
// _alias, _mget, _search with and without a point in time or scroll, _bulk, error bodies), driven
// through the backend's own operations over a transport that answers from the input.
//
// Input: one character choosing the operation ('a' + n, see below), then the answers to its requests in
// order, separated by the ASCII record separator (0x1e); each answer is a status letter
// (scripted_answers::status_of: '2' 200, '4' 404, 'r' 429, 'e' a transport error, ...) and the body.
// When the answers run out every request fails at the transport, which ends retries and paging.
// Properties: only tributary::error escapes; get answers one slot per id; a scan page holds at most the
// page size and resumes after its last id; every document of a bulk write is either written or failed,
// once; pages of for_each_page are at most the page size.

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/index/elasticsearch.hpp>

#include "../harness.hpp"

namespace tributary::fuzz {

inline void elasticsearch_responses(std::string_view input) {
  if (input.empty()) return;
  constexpr unsigned operations = 12;
  const unsigned c = static_cast<unsigned char>(input.front());
  const unsigned op = (c >= 'a' ? c - 'a' : c) % operations;  // 'a' is the first
  input.remove_prefix(1);
  fake_transport transport(scripted_answers(split(input)));

  elasticsearch_options options;
  options.url = "http://es.fuzz:9200/prefix/";
  options.auth = elasticsearch_auth::basic("elastic", "changeme");
  options.sleep = [](std::chrono::milliseconds) {};
  options.bulk_max_bytes = 1024;  // several bulk requests for the documents below
  options.bulk_max_attempts = 3;
  elasticsearch_index<fake_transport> es(transport, options);

  const std::vector<std::string> ids = {"a", "", "b\"q", "a"};
  std::vector<stored_document> docs = {{"a", R"({"n":1})"},
                                       {"b", "{\n \"multi\": \"line\"\n}"},
                                       {"c", std::string(R"({"pad":")") + std::string(1100, 'p') + "\"}"},
                                       {"", "{}"},
                                       {"d", "[1]"},
                                       {"e", "{}"}};

  expect_errors("elasticsearch_index", [&] {
    switch (op) {
      case 0: (void)es.server(); break;
      case 1: (void)es.index_exists("docs"); break;
      case 2: {
        const auto names = es.list_indices("docs");
        for (const auto& n : names) require(n.starts_with("docs"), "list_indices(\"docs\") gave '" + n + "'");
        break;
      }
      case 3: (void)es.alias_targets("live"); break;
      case 4: (void)es.aliases(); break;
      case 5: {
        const auto got = es.get("docs", ids);
        require(got.size() == ids.size(), "get answered " + std::to_string(got.size()) + " slots for " +
                                              std::to_string(ids.size()) + " ids");
        require(!got[1], "get found a document for the empty id");
        break;
      }
      case 6: {
        const auto page = es.scan("docs", "a", 2);
        require(page.documents.size() <= 2, "scan page of 2 holds " + std::to_string(page.documents.size()));
        require(page.documents.empty() || page.next_after == page.documents.back().id,
                "scan page does not resume after its last id");
        break;
      }
      case 7: {
        es.for_each_page("docs", 2, [](std::vector<stored_document>&& page) {
          require(page.size() <= 2, "for_each_page(2) gave a page of " + std::to_string(page.size()));
        });
        break;
      }
      case 8: {
        const auto result = es.bulk_write("docs", docs);
        std::set<std::size_t> failed;
        for (const auto& f : result.failures) {
          require(f.position < docs.size(), "bulk failure at position " + std::to_string(f.position));
          require(failed.insert(f.position).second, "bulk failure reported twice for one document");
        }
        require(result.written + result.failures.size() == docs.size(),
                "bulk_write: " + std::to_string(result.written) + " written and " +
                  std::to_string(result.failures.size()) + " failed of " + std::to_string(docs.size()));
        break;
      }
      case 9: es.create_index("docs"); break;
      case 10: {
        const std::vector<alias_action> actions = {alias_action::add("docs", "live"), alias_action::remove("old", "live"),
                                                   alias_action::remove_everywhere("env"),
                                                   alias_action::remove("docs", "stale", true)};
        es.update_aliases(actions);
        break;
      }
      case 11: {
        const std::vector<std::string> names = {"old", "older", "old"};
        es.delete_indices(names);
        break;
      }
      default: break;
    }
  });
}

}  // namespace tributary::fuzz
