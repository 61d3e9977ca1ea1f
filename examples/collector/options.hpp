#pragma once
// The per-environment collectors' command line: what they accept, parsed with CLI11 and checked before
// a store is opened or a file created (examples/collector/cli.hpp runs what it describes).

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/collector/collector.hpp>
#include <tributary/catalogue/source/xroad.hpp>
#include <tributary/collector/wait/fixed_interval.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/redact.hpp>

#include "collector/publish.hpp"
#include "collector/schedule.hpp"
#include "collector/store_url.hpp"

namespace tributary::examples {

inline constexpr std::string_view collector_description =
    "Collects the environment's X-Road services into a fresh worker index, publishes it, waits for the\n"
    "other environments' collectors, merges their services in and switches `apicatalogue` to it.\n"
    "A collection that falls short of the publish guard (--min-provider-success, --max-service-drop,\n"
    "--allow-no-providers) is not published and the live catalogue stays as it is.\n"
    "SIGINT or SIGTERM stops the run at the next safe point (a second one exits at once); between runs of\n"
    "--every, at once. One run per environment at a time: a run takes a lease in the store first, and\n"
    "finding it held by a live run elsewhere, says whose and exits 75.\n"
    "\n"
    "Exit status: 0 when the run succeeded (with --every: when stopped between runs), 1 when it failed, was\n"
    "refused or superseded (the report says why), 2 on bad usage, 75 when another run of the environment\n"
    "holds the lease, 128+N when stopped by signal N (130 for SIGINT, 143 for SIGTERM).";

/// Exit status when another run of the environment holds the lease (EX_TEMPFAIL: try again later).
inline constexpr int exit_lease_held = 75;

struct collector_options {
  std::string environment;
  std::string store, xroad, client, member_codes, read_alias = "apicatalogue", report_json;
  std::vector<std::string> peers;
  std::map<std::string, std::string> peer_stores;
  long poll_interval_s = 5, wait_deadline_s = 180, stale_after_s = 3600, timeout_ms = 30000;
  long max_response_mb = 256;
  std::size_t concurrency = 16;
  bool skip_late_peers = false, quiet = false, insecure = false, dry_run = false;
  std::optional<std::chrono::milliseconds> every;  ///< --every: run periodically
  std::chrono::milliseconds jitter{0};
  long lease_ttl_s = 600;
  std::string metrics_file, metrics_listen;
  publish_guard guard;
  std::string ca_file;
  // Read while parsing, so that every usage error is found before anything is opened or created.
  xroad_subsystem_id client_id;
  member_code_mapping member_code_map;
  publish_options publish;  ///< --publish-to, --api-key-file (collector/publish.hpp)
};

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

/// Parses the command line. Help exits 0; any usage error is printed with the option it concerns and
/// exits 2, before a store is opened or a file created.
inline collector_options parse_collector_options(int argc, char** argv, const std::string& env) {
  collector_options o;
  o.environment = env;
  for (const std::string other : {"dev", "staging", "prod"})
    if (other != env) o.peers.push_back(other);
  std::string peers_list;
  std::vector<std::string> peer_store_args;

  CLI::App app{std::string(collector_description), "collector_" + env};
  app.option_defaults()->always_capture_default();
  app.get_formatter()->column_width(28);
  app.add_option("--store", o.store,
                 "where the catalogue lives: sqlite:///path/catalogue.db, postgres://user@host:port/db"
                 "[?schema=NAME], or http(s)://user:pass@elasticsearch:9200; default: $TRIBUTARY_STORE (keeps "
                 "credentials off the command line)")->required()->envname("TRIBUTARY_STORE");
  app.add_option("--xroad", o.xroad, "the security server, e.g. http://127.0.0.1:8080")->required();
  app.add_option("--client", o.client, "this collector's X-Road client {instance}/{class}/{code}/{subsystem}")
      ->required();
  app.add_option("--member-codes", o.member_codes, "JSON mapping of member codes that differ between environments")
      ->check(CLI::ExistingFile);
  app.add_option("--peers", peers_list, "comma-separated peer environments (default: the others of dev,staging,prod)");
  app.add_option("--peer-store", peer_store_args, "ENV=URL: read peer ENV's aliases and documents from another store");
  app.add_option("--read-alias", o.read_alias, "the read alias");
  app.add_option("--poll-interval", o.poll_interval_s, "seconds between looks at running peers")
      ->check(CLI::Range(1L, 3600L));
  app.add_option("--wait-deadline", o.wait_deadline_s, "seconds: one deadline for all peers")
      ->check(CLI::Range(0L, 7L * 24 * 3600));
  app.add_option("--stale-after", o.stale_after_s, "seconds after which a working alias is a dead run's")
      ->check(CLI::Range(1L, 7L * 24 * 3600));
  app.add_flag("--skip-late-peers", o.skip_late_peers,
               "leave out peers still running at the deadline (default: copy their last published data, "
               "marked stale)");
  app.add_option("--concurrency", o.concurrency, "providers collected at once")->check(CLI::Range(1, 4096));
  app.add_option("--timeout-ms", o.timeout_ms, "per-request timeout")->check(CLI::Range(1L, 3600L * 1000));
  app.add_option("--max-response-mb", o.max_response_mb, "largest response body accepted from the security "
                 "server, in MiB")->check(CLI::Range(1L, 64L * 1024));
  app.add_option("--min-provider-success", o.guard.min_provider_success,
                 "publish guard: share of providers (0-1) that must be collected")->check(CLI::Range(0.0, 1.0));
  app.add_option("--max-service-drop", o.guard.max_service_drop,
                 "publish guard: largest drop (0-1) of this environment's services against what it published "
                 "last; 1 accepts any")->check(CLI::Range(0.0, 1.0));
  app.add_flag("--allow-no-providers", o.guard.allow_no_providers,
               "publish guard: a security server listing no providers may empty this environment");
  app.add_flag("--force-publish", o.guard.force, "publish whatever was collected (a deliberate shrink)");
  app.add_option("--ca-file", o.ca_file, "trust this PEM bundle for TLS")->check(CLI::ExistingFile);
  app.add_flag("--insecure", o.insecure, "do not verify TLS certificates (logged as a warning; never in production)");
  app.add_option("--report-json", o.report_json, "write the run report as JSON to FILE (- for stdout)");
  app.add_flag("--quiet", o.quiet, "no progress output (failures are still printed)");
  std::string every_text, jitter_text;
  app.add_option("--every", every_text, "stay up and run every DURATION (1h, 30m, 90s, 1h30m); a run never starts "
                 "while the previous one is going");
  app.add_option("--jitter", jitter_text, "with --every: start each run up to DURATION later, at random, so that "
                 "the environments do not reach their stores in lockstep");
  app.add_option("--lease-ttl", o.lease_ttl_s, "seconds without a heartbeat after which another run may take over "
                 "this environment's lease")->check(CLI::Range(10L, 7L * 24 * 3600));
  app.add_option("--metrics-file", o.metrics_file, "write metrics in the Prometheus text format to FILE after each "
                 "run (the node exporter's textfile collector)");
  app.add_option("--metrics-listen", o.metrics_listen, "with --every: serve GET /metrics on ADDRESS:PORT, e.g. "
                 "127.0.0.1:9464");
  app.add_option("--publish-to", o.publish.url, "after activating, push the merged catalogue to the collector API at "
                 "URL (http(s)://host:port; sync_server): only the services the database does not have are sent");
  app.add_option("--api-key-file", o.publish.key_file, "with --publish-to: the file holding the API key (one line; "
                 "sync_server --keys FILE or sync_keys make one)")->check(CLI::ExistingFile);
  app.add_flag("--dry-run", o.dry_run,
               "print, as JSON, the alias actions and deletions a run would make now (assuming its collection "
               "passes the publish guard), and change nothing: the store is opened read-only");

  auto usage_error = [&](const std::string& message) {
    // Every message goes through the one redaction: CLI11 quotes the values it rejects.
    std::cerr << "collector_" << env << ": " << redact_urls_in(message) << "\n"
              << "Run with --help for more information.\n";
    std::exit(2);
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) std::exit(app.exit(e));  // --help
    usage_error(e.what());
  }
  if (!every_text.empty()) {
    o.every = parse_duration(every_text);
    if (!o.every || *o.every < std::chrono::seconds(1))
      usage_error("--every needs a duration of at least 1s such as 1h, 30m or 90s, not '" + every_text + "'");
  }
  if (!jitter_text.empty()) {
    const auto jitter = parse_duration(jitter_text);
    if (!jitter) usage_error("--jitter needs a duration such as 5m or 30s, not '" + jitter_text + "'");
    if (!o.every) usage_error("--jitter applies only with --every");
    if (*jitter >= *o.every) usage_error("--jitter must be shorter than --every");
    o.jitter = *jitter;
  }
  if (!o.metrics_listen.empty()) {
    if (!o.every) usage_error("--metrics-listen applies only with --every (one run: --metrics-file)");
    const auto colon = o.metrics_listen.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == o.metrics_listen.size())
      usage_error("--metrics-listen needs ADDRESS:PORT, not '" + o.metrics_listen + "'");
  }
  if (o.lease_ttl_s <= o.poll_interval_s)
    usage_error("--lease-ttl must be longer than --poll-interval, or a waiting run would lose its lease");
  if (app.count("--peers")) o.peers = peers_list.empty() ? std::vector<std::string>{} : split(peers_list, ',');
  for (const auto& v : peer_store_args) {
    const auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0) usage_error("--peer-store needs ENV=URL, not '" + redact_url(v) + "'");
    const auto peer = v.substr(0, eq);
    if (std::find(o.peers.begin(), o.peers.end(), peer) == o.peers.end())
      usage_error("--peer-store names '" + peer + "', which is not a peer");
    o.peer_stores[peer] = v.substr(eq + 1);
  }
  try {
    const auto scheme = store_scheme_of(o.store);
    for (const auto& [peer, url] : o.peer_stores)
      if (store_scheme_of(url) != scheme)
        usage_error("--peer-store " + peer + " uses a different kind of store than --store");
    if (scheme == store_scheme::sqlite) {
      (void)sqlite_index::parse_url(o.store);
      for (const auto& [peer, url] : o.peer_stores) (void)sqlite_index::parse_url(url);
    }
    if (scheme == store_scheme::elasticsearch) {
      (void)elasticsearch_options::from_url(o.store);
      for (const auto& [peer, url] : o.peer_stores) (void)elasticsearch_options::from_url(url);
    }
    const auto client = xroad_subsystem_id::parse(o.client);
    if (!client) usage_error("--client '" + o.client + "' is not {instance}/{class}/{code}/{subsystem}");
    o.client_id = *client;
    if (!o.member_codes.empty()) {
      o.member_code_map = load_member_code_mapping(o.member_codes);
      // One file usually serves every environment; a key that names none of them is a typo.
      std::vector<std::string> known{"dev", "staging", "prod"};
      known.insert(known.end(), o.peers.begin(), o.peers.end());
      for (const auto& named : o.member_code_map.environments())
        if (std::find(known.begin(), known.end(), named) == known.end())
          usage_error("--member-codes names the environment '" + named + "', which is not one of dev, staging, "
                      "prod or the peers");
    }
    collector_config check;
    check.environment = env;
    check.read_alias = o.read_alias;
    check.guard = o.guard;
    for (const auto& p : o.peers) check.peers.push_back({p, {}});
    check.validate();
    if (o.wait_deadline_s >= o.stale_after_s)
      usage_error("--wait-deadline must be shorter than --stale-after, or a waiting run would be taken for a dead one");
  } catch (const error& e) {
    usage_error(e.what());
  }
  if (o.publish.enabled() != !o.publish.key_file.empty())
    usage_error(o.publish.enabled() ? "--publish-to needs --api-key-file" : "--api-key-file applies only with --publish-to");
  if (o.publish.enabled()) {
    try {
      o.publish.api_key = read_api_key_file(o.publish.key_file);
      sync_client_options{.base_url = o.publish.url, .api_key = o.publish.api_key}.validate();
    } catch (const error& e) {
      usage_error(std::string(e.what()).starts_with("sync client: ") ? "--publish-to: " + std::string(e.what()).substr(13)
                                                                     : std::string(e.what()));
    }
  }
  return o;
}

}  // namespace tributary::examples
