#pragma once
// The main of the per-environment collectors (collector_dev, collector_staging, collector_prod): with
// the options of collector/options.hpp, choose the store by URL, compose a basic_collector, show
// progress, print the report. Each executable is one line that names its environment.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/clock/wall.hpp>
#include <tributary/collector/collector.hpp>
#include <tributary/collector/lease.hpp>
#include <tributary/index/elasticsearch.hpp>
#include <tributary/index/postgres.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/catalogue/merge/environment_union.hpp>
#include <tributary/collector/protocol_plan.hpp>
#include <tributary/redact.hpp>
#include <tributary/execution/thread_pool.hpp>
#include <tributary/server/http_server.hpp>
#include <tributary/catalogue/source/xroad.hpp>
#include <tributary/transport/curl.hpp>
#include <tributary/collector/wait/fixed_interval.hpp>

#include "collector/metrics.hpp"
#include "collector/options.hpp"
#include "collector/publish.hpp"
#include "collector/schedule.hpp"
#include "collector/store_url.hpp"

namespace tributary::examples {

/// SIGINT and SIGTERM: the first asks the run to stop at its next safe point, a second exits at once.
class stop_on_signals {
 public:
  stop_on_signals() {
    struct sigaction sa {};
    sa.sa_handler = &stop_on_signals::on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
  }
  [[nodiscard]] static const std::atomic<bool>& flag() noexcept { return stop_; }
  [[nodiscard]] static int signal() noexcept { return signal_.load(); }

 private:
  static void on_signal(int sig) {
    if (stop_.exchange(true)) _exit(128 + sig);
    signal_.store(sig);
  }
  static inline std::atomic<bool> stop_{false};
  static inline std::atomic<int> signal_{0};
};

/// The report file, opened before the run so that an unwritable path is found before anything changes.
class report_sink {
 public:
  explicit report_sink(const std::string& path) : path_(path) {
    if (path_.empty() || path_ == "-") return;
    out_.open(path_, std::ios::out | std::ios::trunc);
    if (!out_) throw error(errc::invalid_config, "--report-json: cannot write '" + path_ + "'");
  }
  void write(const run_report& report) {
    if (path_ == "-") std::cout << report.to_json() << "\n" << std::flush;
    else if (out_.is_open()) {
      out_ << report.to_json() << "\n" << std::flush;
      if (!out_) std::cerr << "could not write the report to '" << path_ << "'\n";
    }
  }

 private:
  std::string path_;
  std::ofstream out_;
};

/// Progress on a terminal: one status line rewritten in place. Otherwise: a log line per phase.
class progress_display {
 public:
  progress_display(std::string env, bool quiet) : env_(std::move(env)), quiet_(quiet), tty_(isatty(STDERR_FILENO)) {}

  void operator()(const progress_event& e) {
    if (quiet_) return;
    std::string line = "[" + env_ + "] " + e.phase;
    if (e.providers_total) line += ": providers " + std::to_string(e.providers_done) + "/" + std::to_string(e.providers_total);
    if (e.records) line += ", services " + std::to_string(e.records);
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

/// Another run of the environment holds the lease; what says whose.
struct lease_held_error {
  std::string message;
};

/// This process, as lease records name it: host and process id.
inline std::string lease_owner() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown-host");
  return std::string(host) + ":" + std::to_string(getpid());
}

/// A time as ISO 8601 UTC, to the second.
inline std::string utc_text(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// Composes the collector for one store type and runs it once.
template <class IndexBackend>
run_report run_collector(const collector_options& o, const curl_library& curl, IndexBackend& store,
                         std::map<std::string, IndexBackend>& peer_stores) {
  curl_options transport_options;
  transport_options.total_timeout = std::chrono::milliseconds(o.timeout_ms);
  transport_options.max_concurrent = o.concurrency;
  transport_options.max_per_host = o.concurrency;
  transport_options.ca_file = o.ca_file;
  transport_options.insecure_skip_verify = o.insecure;
  transport_options.max_response_bytes = static_cast<std::size_t>(o.max_response_mb) << 20;
  transport_options.stop = &stop_on_signals::flag();
  curl_transport transport(curl, transport_options);

  collector_config config;
  config.environment = o.environment;
  config.read_alias = o.read_alias;
  config.concurrency = o.concurrency;
  config.stale_after = std::chrono::seconds(o.stale_after_s);
  config.at_deadline = o.skip_late_peers ? at_peer_deadline::skip : at_peer_deadline::copy_last_published;
  config.guard = o.guard;
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
  source_config.client = o.client_id;
  source_config.member_codes = o.member_code_map;
  xroad_source source(std::move(source_config));

  progress_display progress(o.environment, o.quiet);
  // A test hook: the process stops itself (SIGSTOP) when the named phase begins, so that a test can
  // deliver a signal at exactly that step of the protocol.
  const char* pause_at = std::getenv("TRIBUTARY_TEST_PAUSE_AT_PHASE");
  std::string paused_in;
  // One run of the environment at a time, across machines: the lease is taken before step 1, kept alive
  // at progress events (every phase change, provider and look at the peers), and given up after.
  const auto ttl = std::chrono::seconds(o.lease_ttl_s);
  run_lease<IndexBackend> lease(store, o.environment, lease_owner(), {"tributary-leases", ttl});
  const auto attempt = lease.acquire(std::chrono::system_clock::now());
  if (attempt.status == lease_status::held)
    throw lease_held_error{"another run of " + o.environment + " is in progress (" + attempt.holder.owner + ", since " +
                           utc_text(attempt.holder.since) + "; its last heartbeat " +
                           utc_text(attempt.holder.heartbeat) + ")"};
  std::vector<std::string> lease_notes;
  if (attempt.status == lease_status::took_over)
    lease_notes.push_back("took over the lease of " + o.environment + " from " + attempt.holder.owner +
                          ", silent since " + utc_text(attempt.holder.heartbeat));
  auto last_beat = std::chrono::steady_clock::now();
  bool lost = false;
  collector.on_progress([&](const progress_event& e) {
    if (pause_at && e.phase == pause_at && paused_in != e.phase) {
      paused_in = e.phase;
      raise(SIGSTOP);
    }
    progress(e);
    if (lost || std::chrono::steady_clock::now() - last_beat < ttl / 4) return;
    last_beat = std::chrono::steady_clock::now();
    try {
      lost = !lease.heartbeat(std::chrono::system_clock::now());
    } catch (const error& err) {
      lease_notes.push_back(std::string("could not refresh the lease: ") + err.what());
    }
  });
  wall_clock clock;
  run_report report;
  try {
    report = collector.run(source, clock, stop_on_signals::flag());
  } catch (...) {
    try {
      lease.release(std::chrono::system_clock::now());
    } catch (const error&) {
    }
    throw;
  }
  progress.finish();
  if (lost) lease_notes.push_back("another run took the lease over during this run (no heartbeat for --lease-ttl)");
  try {
    lease.release(std::chrono::system_clock::now());
  } catch (const error& err) {
    lease_notes.push_back(std::string("could not release the lease (it expires after --lease-ttl): ") + err.what());
  }
  report.notes.insert(report.notes.end(), lease_notes.begin(), lease_notes.end());
  return report;
}

/// What a run would do to the store now, from the protocol's decisions (protocol_plan.hpp) on what the
/// store shows, assuming the collection passes the publish guard. Reads only.
template <class IndexBackend>
std::string dry_run_plan(const collector_options& o, IndexBackend& store, std::map<std::string, IndexBackend>& peer_stores) {
  using detail::append_quoted;
  const protocol_names names{o.read_alias, o.environment};
  const auto now = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  const auto worker = names.worker_name(now);
  const std::chrono::milliseconds stale_after = std::chrono::seconds(o.stale_after_s);
  std::string out = "{\"dry_run\":true,\"environment\":";
  append_quoted(out, o.environment);
  out += ",\"worker\":", append_quoted(out, worker);
  for (const auto& reserved : plan::reserved_names(names))
    if (store.index_exists(reserved)) {
      out += ",\"refused\":", append_quoted(out, "'" + reserved + "' is a concrete index, not an alias");
      return out + "}";
    }
  out += ",\"create_worker\":", append_alias_actions_json(out, plan::claim_worker(names, worker));
  const auto publication = plan::publish(names, worker, now, store.alias_targets(names.environment_alias()));
  if (!publication.superseded_by.empty()) {
    out += ",\"superseded_by\":", append_quoted(out, publication.superseded_by);
    return out + "}";
  }
  out += ",\"publish_environment\":", append_alias_actions_json(out, publication.actions);
  out += ",\"peers\":[";
  for (std::size_t i = 0; i < o.peers.size(); ++i) {
    const auto& peer = o.peers[i];
    auto& peer_store = peer_stores.contains(peer) ? peer_stores.at(peer) : store;
    const auto peer_names = names.for_environment(peer);
    const auto live = plan::peer_liveness(peer_names, peer_store.alias_targets(peer_names.working_alias()), now, stale_after);
    const auto published = peer_store.alias_targets(peer_names.environment_alias());
    if (i) out += ',';
    out += "{\"environment\":", append_quoted(out, peer);
    out += ",\"running\":", out += live.running ? "true" : "false";
    out += ",\"published\":", append_quoted(out, published.size() == 1 ? published.front() : std::string());
    out += '}';
  }
  out += "],\"activate\":", append_alias_actions_json(out, plan::activate(names, worker));
  out += ",\"clean_up\":[";
  const auto doomed = plan::clean_up(names, now, now, stale_after, store.list_indices(names.worker_prefix()), store.aliases());
  for (std::size_t i = 0; i < doomed.size(); ++i) {
    if (i) out += ',';
    append_quoted(out, doomed[i]);
  }
  return out + "]}";
}

/// Opens the store --store names, and each --peer-store, and calls f(store, peers). `read_only`: a SQLite
/// store is opened read-only and a PostgreSQL schema is never created (a dry run changes nothing).
template <class F>
auto with_stores(const collector_options& o, const curl_library& curl, bool read_only, F&& f) {
  switch (store_scheme_of(o.store)) {
    case store_scheme::sqlite: {
      sqlite_options options;
      options.read_only = read_only;
      auto store = sqlite_index::open_url(o.store, options);
      std::map<std::string, sqlite_index> peers;
      for (const auto& [peer, url] : o.peer_stores) peers.emplace(peer, sqlite_index::open_url(url, options));
      return f(store, peers);
    }
    case store_scheme::postgres: {
      const auto options = postgres_store_options(read_only);
      auto store = postgres_index::open_url(o.store, options);
      std::map<std::string, postgres_index> peers;
      for (const auto& [peer, url] : o.peer_stores) peers.emplace(peer, postgres_index::open_url(url, options));
      return f(store, peers);
    }
    case store_scheme::elasticsearch: {
      // The store's requests travel on a transport of their own: one transport serves one thread of
      // work at a time, and the source has the collector's.
      curl_options store_options;
      store_options.ca_file = o.ca_file;
      store_options.insecure_skip_verify = o.insecure;
      curl_transport store_transport(curl, store_options);
      elasticsearch_index<curl_transport> store(store_transport, elasticsearch_store_options(o.store));
      std::map<std::string, elasticsearch_index<curl_transport>> peers;
      for (const auto& [peer, url] : o.peer_stores)
        peers.try_emplace(peer, store_transport, elasticsearch_store_options(url));
      return f(store, peers);
    }
  }
  throw error(errc::invalid_config, "unsupported store '" + redact_url(o.store) + "'");
}

/// Opens the stores the URLs name and runs the collector on them.
inline run_report open_stores_and_run(const collector_options& o) {
  curl_library curl;  // libcurl's global state, once, before any transport
  return with_stores(o, curl, false, [&](auto& store, auto& peers) {
    auto report = run_collector(o, curl, store, peers);
    if (report.ok && o.publish.enabled()) publish_after_activation(store, o.read_alias, curl, o.publish, report);
    return report;
  });
}

/// --dry-run: the plan, on stores opened for reading only.
inline std::string open_stores_and_plan(const collector_options& o) {
  curl_library curl;
  return with_stores(o, curl, true, [&](auto& store, auto& peers) { return dry_run_plan(o, store, peers); });
}

/// One run, its report written and printed; the exit status it earns.
inline int run_once(const collector_options& o, collector_metrics& metrics) {
  const std::string& env = o.environment;
  run_report report;
  report.environment = env;
  // The run happened whether or not its metrics can be written: a failure to write them is said, and
  // the run's outcome and exit status stand.
  auto recorded = [&](auto record) {
    try {
      record();
    } catch (const error& e) {
      std::cerr << "collector_" << env << ": " << e.what() << " (the run's outcome stands)\n";
    }
  };
  try {
    report_sink sink(o.report_json);
    try {
      report = open_stores_and_run(o);
    } catch (const lease_held_error& held) {
      recorded([&] { metrics.record_skipped(); });
      std::cerr << "collector_" << env << ": " << held.message << "\n";
      return exit_lease_held;
    } catch (const error& e) {
      // The store could not be opened (or a configuration error): still a report, saying so.
      report.ok = false;
      report.outcome = run_outcome::failed;
      report.failure = std::string(e.code() == errc::invalid_config ? "configuration: " : "store: ") + e.what();
    }
    report.failure = redact_urls_in(report.failure);
    sink.write(report);
    recorded([&] { metrics.record(report, std::chrono::system_clock::now()); });
  } catch (const error& e) {
    std::cerr << "collector_" << env << ": " << redact_urls_in(e.what()) << "\n";
    return 2;
  }
  // --quiet hides progress, never why a run failed.
  if (!o.quiet) std::cerr << report.summary();
  else if (!report.ok) std::cerr << "collector_" << env << ": " << to_string(report.outcome) << ": " << report.failure << "\n";
  if (report.outcome == run_outcome::interrupted && stop_on_signals::signal() != 0)
    return 128 + stop_on_signals::signal();
  return report.ok ? 0 : 1;
}

/// GET /metrics on --metrics-listen, on a thread of its own pool, while --every runs.
class metrics_endpoint {
 public:
  metrics_endpoint(const std::string& listen, const collector_metrics& metrics)
      : pool_(1, 8), server_(pool_, handler([&metrics](server_request& r) {
                               if (r.method != "GET" || r.path != "/metrics")
                                 return server_response::text(404, "only GET /metrics here\n");
                               return server_response::text(200, metrics.prometheus(), "text/plain; version=0.0.4");
                             }),
                             options_of(listen)) {
    server_.start();
  }

 private:
  static server_options options_of(const std::string& listen) {
    server_options o;
    const auto colon = listen.rfind(':');
    o.address = listen.substr(0, colon);
    if (o.address.size() > 2 && o.address.front() == '[' && o.address.back() == ']') o.address = o.address.substr(1, o.address.size() - 2);
    const auto port = std::stoul(listen.substr(colon + 1));
    if (port > 65535) throw error(errc::invalid_config, "port " + std::to_string(port) + " is out of range");
    o.port = static_cast<std::uint16_t>(port);
    return o;
  }
  using handler = function_handler<std::function<server_response(server_request&)>>;
  thread_pool pool_;
  basic_http_server<handler> server_;
};

inline int collector_main(int argc, char** argv, const std::string& env) {
  const auto o = parse_collector_options(argc, argv, env);
  if (o.dry_run) {
    try {
      std::cout << open_stores_and_plan(o) << "\n";
      return 0;
    } catch (const error& e) {
      std::cerr << "collector_" << env << ": dry run: " << redact_urls_in(e.what()) << "\n";
      return 1;
    }
  }
  stop_on_signals signals;
  collector_metrics metrics(env, o.metrics_file);
  try {
    metrics.check_writable();  // as --report-json: an unwritable path is found before any store is opened
  } catch (const error& e) {
    std::cerr << "collector_" << env << ": " << e.what() << "\n";
    return 2;
  }
  if (!o.every) return run_once(o, metrics);

  std::optional<metrics_endpoint> endpoint;
  try {
    if (!o.metrics_listen.empty()) endpoint.emplace(o.metrics_listen, metrics);
  } catch (const error& e) {
    std::cerr << "collector_" << env << ": --metrics-listen: " << e.what() << "\n";
    return 2;
  }
  run_schedule schedule(*o.every, o.jitter, std::random_device{}());
  while (true) {
    const auto started = std::chrono::steady_clock::now();
    const int status = run_once(o, metrics);
    if (status == 2) return status;  // a usage problem does not go away by waiting
    if (stop_on_signals::flag().load()) return status >= 128 ? status : 0;
    const auto next = schedule.next_after(started);
    if (!o.quiet) std::cerr << "[" << env << "] next run in " << std::chrono::duration_cast<std::chrono::seconds>(next - std::chrono::steady_clock::now()).count() << " s\n";
    if (wait_until_or_stopped(next, stop_on_signals::flag())) return 0;  // stopped between runs: at once
  }
}

}  // namespace tributary::examples
