#pragma once
// The command line shared by the per-environment collectors (collector_dev, collector_staging,
// collector_prod): parse options, choose the store by URL, compose a basic_collector, show progress,
// print the report. Each executable is one line that names its environment.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/clock/wall.hpp>
#include <tributary/collector.hpp>
#include <tributary/index/elasticsearch.hpp>
#include <tributary/index/postgres.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/merge/environment_union.hpp>
#include <tributary/source/xroad.hpp>
#include <tributary/transport/curl.hpp>
#include <tributary/wait/fixed_interval.hpp>

#include "collector/store_url.hpp"

namespace tributary::examples {

inline constexpr std::string_view collector_usage =
    "usage: collector_ENV --store URL --xroad URL --client ID [options]\n"
    "\n"
    "Collects the environment's X-Road services into a fresh worker index, publishes it, waits for the\n"
    "other environments' collectors, merges their services in and switches `apicatalogue` to it.\n"
    "\n"
    "  --store URL            where the catalogue lives: sqlite:///path/catalogue.db,\n"
    "                         postgres://user@host:port/db[?schema=NAME], or\n"
    "                         http(s)://user:pass@elasticsearch:9200\n"
    "  --xroad URL            the security server, e.g. http://127.0.0.1:8080\n"
    "  --client ID            this collector's X-Road client {instance}/{class}/{code}/{subsystem}\n"
    "  --member-codes FILE    JSON mapping of member codes that differ between environments\n"
    "  --peers LIST           comma-separated peer environments (default: the others of dev,staging,prod)\n"
    "  --peer-store ENV=URL   read peer ENV's aliases and documents from another store\n"
    "  --read-alias NAME      the read alias (default apicatalogue)\n"
    "  --poll-interval SEC    how often to look at running peers (default 5)\n"
    "  --wait-deadline SEC    one deadline for all peers (default 180)\n"
    "  --stale-after SEC      a working alias older than this is a dead run's (default 3600)\n"
    "  --skip-late-peers      leave out peers still running at the deadline (default: copy their last\n"
    "                         published data, marked stale)\n"
    "  --concurrency N        providers collected at once (default 16)\n"
    "  --timeout-ms N         per-request timeout (default 30000)\n"
    "  --ca-file FILE         trust this PEM bundle for TLS\n"
    "  --insecure             do not verify TLS certificates (logged as a warning; never in production)\n"
    "  --report-json FILE     write the run report as JSON to FILE (- for stdout)\n"
    "  --quiet                no progress output\n"
    "  --help                 this text\n"
    "\n"
    "Exit status: 0 when the run succeeded, 1 when it failed (the report says why), 2 on bad usage.\n";

struct collector_options {
  std::string environment;
  std::string store, xroad, client, member_codes, read_alias = "apicatalogue", report_json;
  std::vector<std::string> peers;
  std::map<std::string, std::string> peer_stores;
  long poll_interval_s = 5, wait_deadline_s = 180, stale_after_s = 3600, timeout_ms = 30000;
  std::size_t concurrency = 16;
  bool skip_late_peers = false, quiet = false, insecure = false;
  std::string ca_file;
};

[[noreturn]] inline void usage_error(const std::string& env, const std::string& message) {
  std::cerr << "collector_" << env << ": " << message << "\n\n" << collector_usage;
  std::exit(2);
}

inline long parse_number(const std::string& env, const std::string& flag, const std::string& v, long min) {
  try {
    std::size_t used = 0;
    const long n = std::stol(v, &used);
    if (used != v.size() || n < min) throw std::invalid_argument(v);
    return n;
  } catch (const std::exception&) {
    usage_error(env, flag + " needs a whole number of at least " + std::to_string(min) + ", not '" + v + "'");
  }
}

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) out.push_back(std::move(cur)), cur.clear();
    else cur += c;
  }
  out.push_back(std::move(cur));
  return out;
}

inline collector_options parse_collector_options(int argc, char** argv, const std::string& env) {
  collector_options o;
  o.environment = env;
  for (const std::string other : {"dev", "staging", "prod"})
    if (other != env) o.peers.push_back(other);
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(env, flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") {
      std::cout << collector_usage;
      std::exit(0);
    } else if (flag == "--store") o.store = value();
    else if (flag == "--xroad") o.xroad = value();
    else if (flag == "--client") o.client = value();
    else if (flag == "--member-codes") o.member_codes = value();
    else if (flag == "--peers") {
      const auto v = value();
      o.peers = v.empty() ? std::vector<std::string>{} : split(v, ',');
    } else if (flag == "--peer-store") {
      const auto v = value();
      const auto eq = v.find('=');
      if (eq == std::string::npos || eq == 0) usage_error(env, "--peer-store needs ENV=URL, not '" + v + "'");
      o.peer_stores[v.substr(0, eq)] = v.substr(eq + 1);
    } else if (flag == "--read-alias") o.read_alias = value();
    else if (flag == "--poll-interval") o.poll_interval_s = parse_number(env, flag, value(), 1);
    else if (flag == "--wait-deadline") o.wait_deadline_s = parse_number(env, flag, value(), 0);
    else if (flag == "--stale-after") o.stale_after_s = parse_number(env, flag, value(), 1);
    else if (flag == "--skip-late-peers") o.skip_late_peers = true;
    else if (flag == "--concurrency") o.concurrency = static_cast<std::size_t>(parse_number(env, flag, value(), 1));
    else if (flag == "--timeout-ms") o.timeout_ms = parse_number(env, flag, value(), 1);
    else if (flag == "--ca-file") o.ca_file = value();
    else if (flag == "--insecure") o.insecure = true;
    else if (flag == "--report-json") o.report_json = value();
    else if (flag == "--quiet") o.quiet = true;
    else usage_error(env, "unknown option '" + flag + "'");
  }
  if (o.store.empty()) usage_error(env, "--store is required");
  if (o.xroad.empty()) usage_error(env, "--xroad is required");
  if (o.client.empty()) usage_error(env, "--client is required");
  for (const auto& [peer, url] : o.peer_stores)
    if (std::find(o.peers.begin(), o.peers.end(), peer) == o.peers.end())
      usage_error(env, "--peer-store names '" + peer + "', which is not a peer");
  return o;
}

/// Progress on a terminal: one status line rewritten in place. Otherwise: a log line per phase.
class progress_display {
 public:
  progress_display(std::string env, bool quiet) : env_(std::move(env)), quiet_(quiet), tty_(isatty(STDERR_FILENO)) {}

  void operator()(const progress_event& e) {
    if (quiet_) return;
    std::string line = "[" + env_ + "] " + e.phase;
    if (e.providers_total) line += ": providers " + std::to_string(e.providers_done) + "/" + std::to_string(e.providers_total);
    if (e.services) line += ", services " + std::to_string(e.services);
    if (!e.waiting_for.empty()) {
      line += ", waiting for";
      for (const auto& p : e.waiting_for) line += " " + p;
    }
    if (tty_) {
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
      std::fflush(stderr);
      return;
    }
    // Plain logs: every phase change, and providers at every tenth of the total.
    const bool new_phase = e.phase != last_phase_;
    const bool milestone = e.providers_total && (e.providers_done == e.providers_total ||
                                                 e.providers_done * 10 / e.providers_total != last_tenth_);
    const bool waiting_changed = e.waiting_for != last_waiting_;
    if (new_phase || milestone || waiting_changed) std::fprintf(stderr, "%s\n", line.c_str());
    last_phase_ = e.phase;
    last_waiting_ = e.waiting_for;
    if (e.providers_total) last_tenth_ = e.providers_done * 10 / e.providers_total;
  }

  void finish() const {
    if (!quiet_ && tty_) std::fprintf(stderr, "\r\033[K");
  }

 private:
  std::string env_;
  bool quiet_, tty_;
  std::string last_phase_;
  std::vector<std::string> last_waiting_;
  std::size_t last_tenth_ = 0;
};

/// Composes the collector for one store type and runs it once.
template <class IndexBackend>
int run_collector(const collector_options& o, const curl_library& curl, IndexBackend& store,
                  std::map<std::string, IndexBackend>& peer_stores) {
  curl_options transport_options;
  transport_options.total_timeout = std::chrono::milliseconds(o.timeout_ms);
  transport_options.max_concurrent = o.concurrency;
  transport_options.max_per_host = o.concurrency;
  transport_options.ca_file = o.ca_file;
  transport_options.insecure_skip_verify = o.insecure;
  curl_transport transport(curl, transport_options);

  collector_config config;
  config.environment = o.environment;
  config.read_alias = o.read_alias;
  config.concurrency = o.concurrency;
  config.stale_after = std::chrono::seconds(o.stale_after_s);
  config.at_deadline = o.skip_late_peers ? at_peer_deadline::skip : at_peer_deadline::copy_last_published;
  for (const auto& p : o.peers) config.peers.push_back({p, peer_stores.contains(p) ? p : std::string()});

  fixed_interval wait;
  wait.interval = std::chrono::seconds(o.poll_interval_s);
  wait.deadline = std::chrono::seconds(o.wait_deadline_s);

  basic_collector<curl_transport, IndexBackend, environment_union, fixed_interval> collector(
      config, transport, store, environment_union{}, wait);
  for (auto& [name, peer_store] : peer_stores) collector.add_peer_store(name, peer_store);

  xroad_source_config source_config;
  source_config.base_url = o.xroad;
  source_config.environment = o.environment;
  const auto client = xroad_subsystem_id::parse(o.client);
  if (!client) throw error(errc::invalid_config, "--client '" + o.client + "' is not {instance}/{class}/{code}/{subsystem}");
  source_config.client = *client;
  if (!o.member_codes.empty()) source_config.member_codes = load_member_code_mapping(o.member_codes);
  xroad_source source(std::move(source_config));

  progress_display progress(o.environment, o.quiet);
  collector.on_progress([&](const progress_event& e) { progress(e); });
  wall_clock clock;
  const auto report = collector.run(source, clock);
  progress.finish();

  if (!o.quiet) std::cerr << report.summary();
  if (o.report_json == "-") {
    std::cout << report.to_json() << "\n";
  } else if (!o.report_json.empty()) {
    std::ofstream out(o.report_json);
    out << report.to_json() << "\n";
    if (!out) throw error(errc::invalid_config, "cannot write the report to '" + o.report_json + "'");
  }
  return report.ok ? 0 : 1;
}

inline int collector_main(int argc, char** argv, const std::string& env) {
  const auto o = parse_collector_options(argc, argv, env);
  try {
    const auto scheme = store_scheme_of(o.store);
    for (const auto& [peer, url] : o.peer_stores)
      if (store_scheme_of(url) != scheme)
        throw error(errc::invalid_config, "--peer-store " + peer + " uses a different kind of store than --store");
    curl_library curl;  // libcurl's global state, once, before any transport
    switch (scheme) {
      case store_scheme::sqlite: {
        auto store = sqlite_index::open_url(o.store);
        std::map<std::string, sqlite_index> peers;
        for (const auto& [peer, url] : o.peer_stores) peers.emplace(peer, sqlite_index::open_url(url));
        return run_collector(o, curl, store, peers);
      }
      case store_scheme::postgres: {
        auto store = postgres_index::open_url(o.store);
        std::map<std::string, postgres_index> peers;
        for (const auto& [peer, url] : o.peer_stores) peers.emplace(peer, postgres_index::open_url(url));
        return run_collector(o, curl, store, peers);
      }
      case store_scheme::elasticsearch: {
        // The store's requests travel on a transport of their own: one transport serves one thread of
        // work at a time, and the source has the collector's.
        curl_options store_options;
        store_options.ca_file = o.ca_file;
        store_options.insecure_skip_verify = o.insecure;
        curl_transport store_transport(curl, store_options);
        elasticsearch_index<curl_transport> store(store_transport, elasticsearch_options::from_url(o.store));
        std::map<std::string, elasticsearch_index<curl_transport>> peers;
        for (const auto& [peer, url] : o.peer_stores)
          peers.try_emplace(peer, store_transport, elasticsearch_options::from_url(url));
        return run_collector(o, curl, store, peers);
      }
    }
    throw error(errc::invalid_config, "unsupported store '" + o.store + "'");
  } catch (const error& e) {
    std::cerr << "collector_" << env << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace tributary::examples
