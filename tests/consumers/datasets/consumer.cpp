// A host project's collector of its own records: weather stations and how many readings each
// environment holds. Only the engine's generic headers are used (collector/, index/, transport/,
// clock/); nothing of the X-Road catalogue. Runs dev, then prod, on one SQLite file, reads the merged
// result back and checks that no stored document carries an X-Road field. Exit 0 when all holds.

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include <tributary/clock/wall.hpp>
#include <tributary/collector/collector.hpp>
#include <tributary/collector/reader.hpp>
#include <tributary/collector/wait/no_wait.hpp>
#include <tributary/detail/json_text.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/transport/loopback.hpp>

namespace {

struct reading_count {
  std::string environment;
  std::int64_t readings = 0;
  bool stale = false;
};
struct station {
  std::string id, name;
  std::vector<reading_count> entries;
};

struct station_record {
  using record_model_concept = tributary::record_model_tag;
  using document = station;
  using entry = reading_count;
  struct parser {
    parser() = default;  // not an aggregate: dom::parser's default constructor is explicit
    simdjson::dom::parser dom;
    void parse(std::string_view json, station& into) {
      simdjson::dom::element root;
      simdjson::dom::array entries;
      std::string_view id, name;
      if (dom.parse(json.data(), json.size()).get(root) || root["id"].get(id) || root["name"].get(name) ||
          root["entries"].get(entries))
        throw tributary::error(tributary::errc::bad_document, "not a station");
      into = station{std::string(id), std::string(name), {}};
      for (simdjson::dom::element e : entries) {
        std::string_view env;
        std::int64_t readings = 0;
        bool stale = false;
        if (e["environment"].get(env) || e["readings"].get(readings) || e["stale"].get(stale))
          throw tributary::error(tributary::errc::bad_document, "not a station entry");
        into.entries.push_back({std::string(env), readings, stale});
      }
    }
    void parse_owned(std::string&& json, station& into) { parse(json, into); }
  };
  static std::string_view id(const station& s) { return s.id; }
  static std::vector<reading_count>& entries(station& s) { return s.entries; }
  static const std::vector<reading_count>& entries(const station& s) { return s.entries; }
  static std::string_view environment(const reading_count& e) { return e.environment; }
  static void mark_stale(reading_count& e) { e.stale = true; }
  static void write(std::string& out, const station& s) {
    using tributary::detail::append_quoted;
    out += "{\"id\":", append_quoted(out, s.id), out += ",\"name\":", append_quoted(out, s.name);
    out += ",\"entries\":[";
    for (std::size_t i = 0; i < s.entries.size(); ++i) {
      out += i ? ",{\"environment\":" : "{\"environment\":", append_quoted(out, s.entries[i].environment);
      out += ",\"readings\":" + std::to_string(s.entries[i].readings);
      out += s.entries[i].stale ? ",\"stale\":true}" : ",\"stale\":false}";
    }
    out += "]}";
  }
};
static_assert(tributary::record_model<station_record>);

/// One entry per environment, kept in environment order; a station only a peer has is kept.
struct station_merge {
  using merge_strategy_concept = tributary::merge_strategy_tag;
  using record_model = station_record;
  void merge(station& local, const reading_count& remote) const {
    std::erase_if(local.entries, [&](const reading_count& e) { return e.environment == remote.environment; });
    local.entries.push_back(remote);
    std::sort(local.entries.begin(), local.entries.end(),
              [](const reading_count& a, const reading_count& b) { return a.environment < b.environment; });
  }
  std::optional<station> adopt(const station& remote_doc, const reading_count& remote) const {
    return station{remote_doc.id, remote_doc.name, {remote}};
  }
};

/// Stations of one environment, held in memory: one provider, "stations".
struct station_source {
  using source_concept = tributary::source_tag;
  using record_model = station_record;
  std::string environment;
  std::vector<std::pair<std::string, std::int64_t>> stations;  // id, readings

  template <class Transport>
  std::vector<tributary::provider> list_providers(Transport&) {
    return {{"stations", "Weather stations"}};
  }
  template <class Transport, class F>
  void collect(Transport&, std::span<const tributary::provider> providers, std::size_t, F&& on_outcome) {
    for (const auto& p : providers) {
      tributary::basic_provider_outcome<station> out;
      for (const auto& [id, readings] : stations) out.records.push_back({id, "Station " + id, {{environment, readings, false}}});
      on_outcome(p, std::move(out));
    }
  }
};

}  // namespace

int main() {
  const auto path = std::filesystem::temp_directory_path() / ("tributary-consumer-" + std::to_string(::getpid()) + ".db");
  int failures = 0;
  auto check = [&](bool ok, const std::string& what) {
    if (!ok) std::cerr << "FAILED: " << what << "\n", ++failures;
  };
  {
    tributary::loopback_transport transport;
    tributary::wall_clock clock;
    const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::int64_t>>>> runs{
        {"dev", {{"tartu", 10}, {"valga", 4}}}, {"prod", {{"tartu", 12}, {"narva", 7}}}};
    for (const auto& [env, stations] : runs) {
      tributary::sqlite_index store(path.string());
      tributary::collector_config config;
      config.environment = env;
      config.peers = {{env == "dev" ? "prod" : "dev", ""}};
      config.read_alias = "stations";
      tributary::basic_collector<tributary::loopback_transport, tributary::sqlite_index, station_merge, tributary::no_wait>
          collector(config, transport, store);
      station_source source{env, stations};
      const auto report = collector.run(source, clock);
      std::cout << report.summary();
      check(report.ok, env + " run");
    }

    tributary::sqlite_index store(path.string());
    const auto reader = tributary::open_records<station_record>(store, "stations");
    std::vector<std::string> seen;
    reader.for_each([&](const station& s) {
      std::string envs;
      for (const auto& e : s.entries) envs += " " + e.environment + "=" + std::to_string(e.readings);
      seen.push_back(s.id + envs);
    });
    for (const auto& s : seen) std::cout << s << "\n";
    check(seen == std::vector<std::string>{"narva prod=7", "tartu dev=10 prod=12", "valga dev=4"}, "merged stations");

    // Every stored document, of every index, holds the station's fields and nothing of X-Road.
    simdjson::dom::parser parser;
    for (const auto& index : store.list_indices("stations"))
      for (const auto& doc : store.scan(index, "", 1000).documents) {
        for (const char* xroad : {"openApiString", "xroadIdentifier", "details", "owner", "serviceCode", "pricing"})
          check(doc.json.find(xroad) == std::string::npos, index + ": " + doc.json + " holds " + xroad);
        std::set<std::string> keys;
        for (auto field : parser.parse(doc.json).get_object()) keys.emplace(field.key);
        check(keys == std::set<std::string>{"id", "name", "entries"}, index + ": " + doc.json);
      }
  }
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path.string() + suffix);
  std::cout << (failures ? "consumer: FAILED\n" : "consumer: ok\n");
  return failures ? 1 : 0;
}
