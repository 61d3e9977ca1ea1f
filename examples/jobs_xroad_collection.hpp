#pragma once
// xroad_collection: one environment's X-Road collection (the collector_dev/staging/prod run) as a job.
// The settings are the collector's command line as declared settings; the job's progress phases are
// the collector's (name_worker, fetch_providers, create_worker, collect_services, publish_environment,
// wait_for_peers, activate, clean_up), each "started", then its counts, then "done"; its result is the
// run report (collector/report.hpp) and the same report is kept as the dataset "report", also when the
// run fails. The catalogue store's URL is a secret setting: it may carry a password.
//
// It composes the collector as examples/collector/cli.hpp's run_collector does (the same stores by
// URL, the same lease, so a job and a command-line run of one environment never overlap), with two
// differences: progress goes to the job, and a cancel asked for through the API stops the run at its
// next safe point (the job ends "canceled") instead of a signal.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>

#include <tributary/jobs/platform.hpp>
#include <tributary/jobs/settings.hpp>

#include "collector/cli.hpp"

namespace tributary::examples::jobs_demo {

namespace jobs = tributary::jobs;

struct xroad_collection_settings {
  using settings_concept = jobs::settings_tag;
  std::string environment, xroad, client, peers, member_codes, read_alias;
  jobs::secret store;
  std::int64_t concurrency = 16, timeout_ms = 30000, wait_deadline_s = 180, poll_interval_s = 5, stale_after_s = 3600;
  bool skip_late_peers = false, allow_no_providers = false, force_publish = false;
  static constexpr auto settings() {
    using S = xroad_collection_settings;
    return std::tuple{
      jobs::enumeration("environment", &S::environment, {"dev", "staging", "prod"}).describe("the environment collected"),
      jobs::setting("xroad", &S::xroad).describe("the security server, e.g. http://127.0.0.1:8080"),
      jobs::setting("client", &S::client).describe("this collector's X-Road client {instance}/{class}/{code}/{subsystem}"),
      jobs::setting("store", &S::store).describe("the catalogue: sqlite:///PATH, postgres://USER@HOST:PORT/DB or "
                                                 "http(s)://USER:PASS@ELASTICSEARCH:9200"),
      jobs::setting("peers", &S::peers).defaults_to("").describe("comma-separated peer environments waited for; "
                                                                 "empty: none"),
      jobs::setting("member_codes", &S::member_codes).defaults_to("").describe("path of the member-code mapping JSON"),
      jobs::setting("read_alias", &S::read_alias).defaults_to("apicatalogue").describe("the read alias"),
      jobs::setting("concurrency", &S::concurrency).between(1, 4096).defaults_to(16).describe("providers collected at once"),
      jobs::setting("timeout_ms", &S::timeout_ms).between(1, 3'600'000).defaults_to(30000).describe("per-request timeout"),
      jobs::setting("wait_deadline_s", &S::wait_deadline_s).between(0, 7 * 24 * 3600).defaults_to(180)
        .describe("seconds: one deadline for all peers"),
      jobs::setting("poll_interval_s", &S::poll_interval_s).between(1, 3600).defaults_to(5)
        .describe("seconds between looks at running peers"),
      jobs::setting("stale_after_s", &S::stale_after_s).between(1, 7 * 24 * 3600).defaults_to(3600)
        .describe("seconds after which a working alias is a dead run's"),
      jobs::setting("skip_late_peers", &S::skip_late_peers).defaults_to(false)
        .describe("leave out peers still running at the deadline"),
      jobs::setting("allow_no_providers", &S::allow_no_providers).defaults_to(false)
        .describe("publish guard: a security server listing no providers may empty this environment"),
      jobs::setting("force_publish", &S::force_publish).defaults_to(false).describe("publish whatever was collected")};
  }
};

namespace detail {

/// The collector's options from the job's settings; what the command line would check, checked, each
/// problem naming its setting.
inline collector_options collection_options(const xroad_collection_settings& s) {
  collector_options o;
  o.environment = s.environment;
  o.xroad = s.xroad;
  o.client = s.client;
  o.store = s.store.reveal();
  o.read_alias = s.read_alias;
  o.member_codes = s.member_codes;
  o.concurrency = static_cast<std::size_t>(s.concurrency);
  o.timeout_ms = static_cast<long>(s.timeout_ms);
  o.wait_deadline_s = static_cast<long>(s.wait_deadline_s);
  o.poll_interval_s = static_cast<long>(s.poll_interval_s);
  o.stale_after_s = static_cast<long>(s.stale_after_s);
  o.skip_late_peers = s.skip_late_peers;
  o.guard.allow_no_providers = s.allow_no_providers;
  o.guard.force = s.force_publish;
  o.quiet = true;
  if (!s.peers.empty()) o.peers = split(s.peers, ',');
  auto bad = [](std::string_view setting, const std::string& why) {
    throw jobs::settings_error(std::vector<jobs::setting_problem>{{std::string(setting), why}});
  };
  for (const auto& p : o.peers)
    if (p.empty() || p == s.environment) bad("peers", "'" + p + "' is not a peer of " + s.environment);
  const auto client = xroad_subsystem_id::parse(o.client);
  if (!client) bad("client", "must be {instance}/{class}/{code}/{subsystem}");
  o.client_id = *client;
  if (o.wait_deadline_s >= o.stale_after_s) bad("wait_deadline_s", "must be shorter than stale_after_s");
  try {
    (void)store_scheme_of(o.store);  // its message quotes the URL redacted
  } catch (const error& e) {
    bad("store", e.what());
  }
  if (!o.member_codes.empty()) {
    try {
      o.member_code_map = load_member_code_mapping(o.member_codes);
    } catch (const error& e) {
      bad("member_codes", e.what());
    }
  }
  return o;
}

/// One collection run on `store`, reporting to `context`: run_collector of collector/cli.hpp with the
/// job's progress and cancellation in place of the terminal and signals.
template <class IndexBackend>
run_report collect_as_job(const collector_options& o, const curl_library& curl, IndexBackend& store,
                          std::map<std::string, IndexBackend>& peer_stores, jobs::job_context& context,
                          std::atomic<bool>& stop) {
  curl_options transport_options;
  transport_options.total_timeout = std::chrono::milliseconds(o.timeout_ms);
  transport_options.max_concurrent = o.concurrency;
  transport_options.max_per_host = o.concurrency;
  transport_options.max_response_bytes = static_cast<std::size_t>(o.max_response_mb) << 20;
  transport_options.stop = &stop;
  transport_options.logger = [](curl_log_level, std::string_view) {};  // failures are in the report
  curl_transport transport(curl, transport_options);

  collector_config config;
  config.environment = o.environment;
  config.read_alias = o.read_alias;
  config.concurrency = o.concurrency;
  config.stale_after = std::chrono::seconds(o.stale_after_s);
  config.at_deadline = o.skip_late_peers ? at_peer_deadline::skip : at_peer_deadline::copy_last_published;
  config.guard = o.guard;
  for (const auto& p : o.peers) config.peers.push_back({p, std::string()});
  fixed_interval wait;
  wait.interval = std::chrono::seconds(o.poll_interval_s);
  wait.deadline = std::chrono::seconds(o.wait_deadline_s);
  basic_collector<curl_transport, IndexBackend, environment_union, fixed_interval> collector(config, transport, store,
                                                                                            environment_union{}, wait);
  for (auto& [name, peer_store] : peer_stores) collector.add_peer_store(name, peer_store);

  xroad_source_config source_config;
  source_config.base_url = o.xroad;
  source_config.environment = o.environment;
  source_config.client = o.client_id;
  source_config.member_codes = o.member_code_map;
  xroad_source source(std::move(source_config));

  const auto ttl = std::chrono::seconds(600);
  run_lease<IndexBackend> lease(store, o.environment, lease_owner(), {"tributary-leases", ttl});
  const auto attempt = lease.acquire(std::chrono::system_clock::now());
  if (attempt.status == lease_status::held)
    throw std::runtime_error("another run of " + o.environment + " is in progress (" + attempt.holder.owner + ", its last heartbeat " +
                             utc_text(attempt.holder.heartbeat) + ")");
  auto last_beat = std::chrono::steady_clock::now();
  std::string phase;
  std::size_t last_tenth = 11;
  collector.on_progress([&](const progress_event& e) {
    // Each phase once "started", its counts at every tenth of the providers, and "done" when the next begins.
    if (e.phase != phase) {
      if (!phase.empty()) context.progress(phase, "done");
      phase = e.phase;
      last_tenth = 11;
      context.progress(phase, "started");
    } else if (e.providers_total) {
      const std::size_t tenth = e.providers_done * 10 / e.providers_total;
      if (tenth != last_tenth || e.providers_done == e.providers_total)
        context.progress(phase, std::to_string(e.providers_done) + "/" + std::to_string(e.providers_total) + " providers, " +
                                  std::to_string(e.records) + " services");
      last_tenth = tenth;
    } else if (!e.waiting_for.empty()) {
      std::string peers;
      for (const auto& p : e.waiting_for) peers += (peers.empty() ? "" : ", ") + p;
      context.progress(phase, "waiting for " + peers);
    }
    if (context.cancel_requested()) stop.store(true);  // the collector stops at its next safe point
    if (std::chrono::steady_clock::now() - last_beat >= ttl / 4) {
      last_beat = std::chrono::steady_clock::now();
      (void)lease.heartbeat(std::chrono::system_clock::now());
    }
  });
  wall_clock clock;
  run_report report;
  try {
    report = collector.run(source, clock, stop);
  } catch (...) {
    try {
      lease.release(std::chrono::system_clock::now());
    } catch (const error&) {
    }
    throw;
  }
  if (!phase.empty() && report.ok) context.progress(phase, "done");
  lease.release(std::chrono::system_clock::now());
  return report;
}

}  // namespace detail

struct xroad_collection_platform {
  using platform_concept = jobs::platform_tag;
  using settings_type = xroad_collection_settings;
  static constexpr std::string_view id = "xroad_collection", display_name = "X-Road collection of one environment";
  static constexpr unsigned max_attempts = 1;  // a rerun after a lost worker is the next scheduled one
  static constexpr std::chrono::seconds time_limit{3600};

  std::string run(const xroad_collection_settings& s, jobs::job_context& context) {
    const collector_options o = detail::collection_options(s);
    std::atomic<bool> stop{false};
    if (context.cancel_requested()) throw jobs::job_canceled{};
    curl_library curl;
    run_report report = with_stores(o, curl, false, [&](auto& store, auto& peers) {
      return detail::collect_as_job(o, curl, store, peers, context, stop);
    });
    report.failure = redact_urls_in(report.failure);
    const std::string json = report.to_json();
    context.dataset("report", json);
    if (report.outcome == run_outcome::interrupted && stop.load()) throw jobs::job_canceled{};
    if (!report.ok) throw std::runtime_error("the collection " + std::string(to_string(report.outcome)) + ": " + report.failure);
    return json;
  }
};

}  // namespace tributary::examples::jobs_demo
