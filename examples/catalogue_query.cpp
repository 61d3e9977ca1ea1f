// catalogue_query: lists and searches the catalogue behind the read alias.
//
//   catalogue_query --store sqlite:///tmp/catalogue.db list
//   catalogue_query --store sqlite:///tmp/catalogue.db search person
//   catalogue_query --store sqlite:///tmp/catalogue.db show GOV/70000310/kir-public/getPerson
//   catalogue_query --store sqlite:///tmp/catalogue.db summary      (one JSON line)
//
// Every store the collectors take: sqlite://, postgres:// (?schema=NAME for another schema than
// tributary) and http(s):// (Elasticsearch or OpenSearch). A SQLite store is opened read-only: the file
// must exist and be a tributary store.

#include <algorithm>
#include <cctype>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <tributary/catalogue/service_record.hpp>
#include <tributary/collector/reader.hpp>
#include <tributary/index/elasticsearch.hpp>
#include <tributary/index/postgres.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/transport/curl.hpp>
#include <tributary/collector/naming.hpp>
#include <tributary/redact.hpp>

#include "collector/store_url.hpp"

namespace {

constexpr std::string_view usage =
    "usage: catalogue_query --store URL [--alias NAME] [--ca-file PEM] (list | search TEXT | show ID | summary)\n"
    "\n"
    "  --store URL   sqlite:///path/catalogue.db, postgres://user@host:port/db[?schema=NAME],\n"
    "                or http(s)://user:pass@elasticsearch:9200\n"
    "  --ca-file PEM CA certificates for an https:// store\n"
    "\n"
    "  list          every service: id, environments, title\n"
    "  search TEXT   services whose id, title, owner or description contains TEXT (case-insensitive)\n"
    "  show ID       one service as JSON\n"
    "  summary       one JSON line: services in the catalogue, per environment, in several, and which\n"
    "                environment's worker the alias points to\n";

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

/// Answers `command` from the catalogue behind `alias` in `store`; the exit code.
template <class Store>
int run_query(const Store& store, const std::string& alias, const std::string& command, const std::string& argument) {
  const auto reader = tributary::open_records<tributary::service_record>(store, alias);
  const auto& index = reader.index();
  if (command == "show") {
    // The stored text as it is: what the collector wrote, not a re-serialisation of it.
    const auto docs = reader.get_json(std::vector<std::string>{argument});
    if (!docs.front()) {
      std::cerr << "catalogue_query: no service '" << argument << "'\n";
      return 1;
    }
    std::cout << *docs.front() << "\n";
    return 0;
  }
  if (command == "summary") {
    std::size_t total = 0, several = 0;
    std::map<std::string, std::size_t> by_env;
    reader.for_each([&](const tributary::service& s) {
      ++total;
      if (s.environments.size() > 1) ++several;
      for (const auto& e : s.environments) ++by_env[e.environment];
    });
    std::string activated_by;
    for (const std::string env : {"dev", "staging", "prod"})
      if (tributary::protocol_names{alias, env}.worker_time(index)) activated_by = env;
    std::cout << "{\"catalogue\": " << total << ", \"by_environment\": {";
    bool first = true;
    for (const std::string env : {"dev", "staging", "prod"}) {
      std::cout << (first ? "" : ", ") << "\"" << env << "\": " << by_env[env];
      first = false;
    }
    std::cout << "}, \"in_several\": " << several << ", \"activated_by\": \"" << activated_by << "\"}\n";
    return 0;
  }
  const auto needle = lower(argument);
  std::size_t shown = 0;
  reader.for_each([&](const tributary::service& s) {
    if (command == "search" && lower(s.id + " " + s.title + " " + s.owner + " " + s.description).find(needle) == std::string::npos)
      return;
    std::string envs;
    for (const auto& e : s.environments) envs += (envs.empty() ? "" : ",") + e.environment + (e.stale ? "(stale)" : "");
    std::cout << s.id << "  [" << envs << "]  " << s.title << "\n";
    ++shown;
  });
  std::cout << shown << " service(s) in " << index << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string store_url, alias = "apicatalogue", ca_file, command, argument;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << usage;
      return 0;
    } else if ((a == "--store" || a == "--alias" || a == "--ca-file") && i + 1 < argc) {
      (a == "--store" ? store_url : a == "--alias" ? alias : ca_file) = argv[++i];
    } else if (command.empty()) {
      command = a;
    } else if (argument.empty()) {
      argument = a;
    } else {
      std::cerr << "catalogue_query: unexpected argument '" << a << "'\n\n" << usage;
      return 2;
    }
  }
  if (store_url.empty() || command.empty() || ((command == "search" || command == "show") && argument.empty()) ||
      (command != "list" && command != "search" && command != "show" && command != "summary")) {
    std::cerr << usage;
    return 2;
  }
  try {
    switch (tributary::examples::store_scheme_of(store_url)) {
      case tributary::examples::store_scheme::sqlite:
        // Read-only: a mistyped path is an error, not a new empty store, and another application's file
        // keeps its journal mode and bytes.
        return run_query(tributary::sqlite_index::open_url(store_url, tributary::sqlite_options{.read_only = true}),
                         alias, command, argument);
      case tributary::examples::store_scheme::postgres: {
        tributary::postgres_options read_only;  // a mistyped ?schema= must not create one
        read_only.create_schema = false;
        return run_query(tributary::postgres_index::open_url(store_url, read_only), alias, command, argument);
      }
      case tributary::examples::store_scheme::elasticsearch: {
        tributary::curl_library curl;
        tributary::curl_options options;
        options.ca_file = ca_file;
        tributary::curl_transport transport(curl, options);
        return run_query(tributary::elasticsearch_index<tributary::curl_transport>(
                             transport, tributary::elasticsearch_options::from_url(store_url)),
                         alias, command, argument);
      }
    }
    return 1;
  } catch (const tributary::error& e) {
    // The backends name URLs redacted already; this catches any message that would not.
    std::cerr << "catalogue_query: " << tributary::redact_urls_in(e.what()) << "\n";
    return 1;
  }
}
