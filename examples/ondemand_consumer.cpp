// ondemand_consumer: the consumer of seed 002 (ONDEMAND.md, Vitrage's graph side). It asks collector
// services by JSON-RPC on HTTP or RabbitMQ on its timers, applies the answers through the two-priority
// coordinator, snapshots its entity state after each get_all, and on restart loads the newest snapshot
// and replays the events the collectors persisted after it.
//
//   ondemand_consumer --rpc http://127.0.0.1:8080/rpc --rpc http://127.0.0.1:8081/rpc --store sqlite:state.db
//                     --events-store sqlite:events.db --changes hosts=30
//   ondemand_consumer --rpc amqp://guest:guest@127.0.0.1:5672/ --store sqlite:state.db --listen 127.0.0.1:9200
//
// GET /metrics (Prometheus text) and GET /health (200, or 503 naming the dependency that is down) on
// --listen. Prints what it holds every --print-every seconds (stderr), and at the end (SIGINT, SIGTERM
// or --run-for) one JSON line: entities held, snapshots taken, calls made, failed and retried (also to
// --report FILE). Exit 2 for a usage error, 1 when a store, the address or the broker fails.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <tributary/clock/wall.hpp>
#include <tributary/execution/thread_pool.hpp>
#include <tributary/execution/timers.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/ondemand/amqp.hpp>
#include <tributary/ondemand/consumer.hpp>
#include <tributary/ondemand/jsonrpc_http.hpp>
#include <tributary/ondemand/snapshot.hpp>
#include <tributary/redact.hpp>
#include <tributary/server/concepts.hpp>
#include <tributary/server/http_server.hpp>
#include <tributary/transport/curl.hpp>

#include "ondemand_common.hpp"

namespace {

namespace od = tributary::examples::ondemand;
using od::usage_error;

constexpr std::string_view usage =
    "usage: ondemand_consumer --rpc URL [--rpc URL]... --store STORE [options]\n"
    "  --rpc URL               a collector service: http://HOST:PORT/PATH (repeat for active-active services,\n"
    "                          tried in turn) or one amqp://USER:PASSWORD@HOST:PORT/[VHOST] (every service\n"
    "                          reading the shared queue answers)\n"
    "  --store STORE           sqlite:PATH or postgres://USER@HOST:PORT/DB: the consumer's snapshots\n"
    "  --events-store STORE    the same kinds: the collectors' persisted events, replayed after a\n"
    "                          restart's snapshot (default: --store)\n"
    "Options:\n"
    "  --datasource NAME       ask only these datasources (repeatable; default all of them)\n"
    "  --snapshot-interval S   seconds between get_all calls, each followed by a snapshot (default 600)\n"
    "  --changes NAME=S        get_changes of datasource NAME every S seconds (repeatable)\n"
    "  --timeout MS            how long one call waits for its answer (default 60000)\n"
    "  --retry-base MS         first wait before a failed call is tried again (default 1000)\n"
    "  --queue NAME            the shared RabbitMQ queue (default tributary.ondemand)\n"
    "  --listen ADDR:PORT      GET /metrics and GET /health (default 127.0.0.1:0)\n"
    "  --run-for S             stop after S seconds (default: at SIGINT or SIGTERM)\n"
    "  --print-every S         print what it holds every S seconds (default 10)\n"
    "  --report FILE           also write the JSON report printed at exit to FILE\n"
    "  --help                  this text\n";

struct options {
  std::vector<std::string> rpc, datasources;
  std::string store, events_store, queue = "tributary.ondemand", listen = "127.0.0.1:0", report;
  std::map<std::string, std::chrono::system_clock::duration> changes;
  std::uint64_t snapshot_interval_s = 600, timeout_ms = 60'000, retry_base_ms = 1'000, run_for_s = 0, print_every_s = 10;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") throw std::string(usage);
    static constexpr std::string_view with_value[] = {"--rpc",   "--store",    "--events-store", "--datasource", "--snapshot-interval",
                                                      "--changes", "--timeout", "--retry-base", "--queue",     "--listen",
                                                      "--run-for", "--print-every", "--report"};
    if (std::find(std::begin(with_value), std::end(with_value), a) == std::end(with_value))
      throw usage_error{"unknown argument '" + std::string(a) + "'"};
    if (i + 1 == argc) throw usage_error{std::string(a) + " needs a value"};
    const std::string v = argv[++i];
    if (a == "--rpc") o.rpc.push_back(v);
    else if (a == "--store") o.store = v;
    else if (a == "--events-store") o.events_store = v;
    else if (a == "--datasource") o.datasources.push_back(v);
    else if (a == "--queue") o.queue = v;
    else if (a == "--listen") o.listen = v;
    else if (a == "--report") o.report = v;
    else if (a == "--snapshot-interval") o.snapshot_interval_s = od::positive_integer(a, v);
    else if (a == "--timeout") o.timeout_ms = od::positive_integer(a, v);
    else if (a == "--retry-base") o.retry_base_ms = od::positive_integer(a, v);
    else if (a == "--run-for") o.run_for_s = od::positive_integer(a, v);
    else if (a == "--print-every") o.print_every_s = od::positive_integer(a, v);
    else {
      const auto eq = v.find('=');
      if (eq == std::string::npos || eq == 0) throw usage_error{"--changes wants NAME=SECONDS, not '" + v + "'"};
      o.changes[v.substr(0, eq)] = std::chrono::seconds(od::positive_integer("--changes " + v.substr(0, eq), v.substr(eq + 1)));
    }
  }
  if (o.rpc.empty()) throw usage_error{"--rpc is required"};
  if (o.store.empty()) throw usage_error{"--store is required"};
  if (o.events_store.empty()) o.events_store = o.store;
  od::check_store_url("--store", o.store);
  od::check_store_url("--events-store", o.events_store);
  const bool amqp = o.rpc.front().starts_with("amqp://");
  for (const auto& u : o.rpc) {
    if (!u.starts_with("http://") && !u.starts_with("https://") && !u.starts_with("amqp://"))
      throw usage_error{"--rpc wants http://HOST:PORT/PATH or amqp://USER:PASSWORD@HOST:PORT/, not " + tributary::detail::quote_url(u)};
    if (u.starts_with("amqp://") != amqp) throw usage_error{"--rpc: give HTTP services or one amqp:// broker, not both"};
  }
  if (amqp && o.rpc.size() > 1) throw usage_error{"--rpc: one amqp:// broker is enough (every collector service reads its queue)"};
  return o;
}

/// An AMQP client that connects again at the next call after its connection failed.
struct reconnecting_amqp_client {
  using rpc_client_concept = tributary::rpc_client_tag;
  tributary::amqp_rpc_options options;
  std::optional<tributary::amqp_rpc_client> client{};
  tributary::ondemand_answer call(const tributary::ondemand_request& r) {
    if (!client) client.emplace(options);
    try {
      return client->call(r);
    } catch (const tributary::error& e) {
      if (e.code() == tributary::errc::transport_failed) client.reset();
      throw;
    }
  }
};

/// What the main loop publishes for the HTTP threads (the state is the main thread's alone).
struct published {
  std::atomic<std::uint64_t> entities{0}, live{0};
};

template <class Consumer>
struct consumer_handler {
  using request_handler_concept = tributary::request_handler_tag;
  Consumer* consumer;
  published* view;
  od::store_probe* store;

  tributary::server_response handle(tributary::server_request& r) {
    const auto s = consumer->stats();
    if (r.path == "/health") {
      std::vector<od::dependency> deps{{"store", store->check("ondemand-state")}, {"collector_services", {}}};
      if (s.failing_in_a_row > 0)
        deps[1].problem = "the last " + std::to_string(s.failing_in_a_row) + " calls got no answer: " + s.last_failure;
      return od::health_response(deps);
    }
    if (r.path == "/metrics" && r.method == "GET") {
      const auto c = consumer->coordination();
      std::string out;
      auto line = [&](std::string_view name, std::string_view help, std::uint64_t v) { tributary::append_metric(out, name, help, v); };
      line("tributary_ondemand_consumer_calls_total", "get_all and get_changes calls made, retries included", s.calls);
      line("tributary_ondemand_consumer_calls_failed_total", "calls that got no valid answer", s.calls_failed);
      line("tributary_ondemand_consumer_retries_total", "retries scheduled after a failed call", s.retries);
      line("tributary_ondemand_consumer_events_total", "events received in answers", s.events_received);
      line("tributary_ondemand_consumer_applied_total", "events applied to the entity state", s.applied);
      line("tributary_ondemand_consumer_bad_events_total", "events skipped as bad", s.bad_events);
      line("tributary_ondemand_consumer_replayed_total", "persisted events replayed at start", s.replayed);
      line("tributary_ondemand_consumer_snapshots_total", "snapshots taken", s.snapshots);
      line("tributary_ondemand_consumer_snapshot_failures_total", "snapshots that failed", s.snapshot_failures);
      line("tributary_ondemand_consumer_entities", "entities held, deleted ones included", view->entities.load());
      line("tributary_ondemand_consumer_entities_live", "entities held and not deleted", view->live.load());
      line("tributary_ondemand_coordinator_high_taken_total", "high-priority events processed", c.high_taken);
      line("tributary_ondemand_coordinator_low_taken_total", "low-priority events processed", c.low_taken);
      line("tributary_ondemand_coordinator_low_turns_forced_total", "low-priority events taken by the fairness bound", c.low_turns_forced);
      line("tributary_ondemand_coordinator_push_waits_total", "pushes that waited for room", c.push_waits);
      return tributary::server_response::text(200, std::move(out), "text/plain; version=0.0.4");
    }
    return tributary::server_response::json(404, "{\"error\":\"not found; GET /metrics or GET /health\"}");
  }
};

/// Runs the consumer with its snapshots in `state_store` (`probe`: a connection of its own for /health).
template <class Client, class StateStore>
int consume(Client& client, const options& o, od::stop_signals& signals, StateStore& state_store, od::store_probe probe) {
  const auto where = od::parse_listen("--listen", o.listen);
  tributary::basic_state_snapshots snapshots(state_store);
  tributary::wall_clock clock;
  tributary::basic_timer_service timers(clock);
  tributary::consumer_options co;
  co.datasources = o.datasources;
  co.snapshot_interval = std::chrono::seconds(o.snapshot_interval_s);
  co.changes_intervals = o.changes;
  co.retry_base = std::chrono::milliseconds(o.retry_base_ms);
  co.retry_cap = std::max(co.retry_base, std::chrono::milliseconds(30'000));
  tributary::basic_ondemand_consumer consumer(client, timers, clock, co, snapshots);

  std::string restored = "null";
  if (auto s = snapshots.load()) {
    std::cerr << "ondemand_consumer: restoring snapshot " << s->info.index << " (" << s->info.entities << " entities)\n";
    restored = "\"" + s->info.index + "\"";
    consumer.restore(std::move(*s));
  }
  const auto replay = od::with_store("--events-store", o.events_store,
                                     [&](auto& events_store, auto) { return consumer.replay(events_store, "ondemand-events"); });
  if (replay.replayed || replay.skipped)
    std::cerr << "ondemand_consumer: replayed " << replay.replayed << " persisted events of " << replay.instances << " collector instances ("
              << replay.skipped << " unreadable skipped)\n";

  published view;
  tributary::thread_pool http_pool(2, 64);
  tributary::server_options http;
  http.address = where.address, http.port = where.port;
  tributary::basic_http_server server(http_pool, consumer_handler<decltype(consumer)>{&consumer, &view, &probe}, http);
  server.start();
  std::cout << "listening on " << server.base_url() << " (metrics, health)" << std::endl;

  consumer.start();
  std::jthread timer_thread([&](std::stop_token stop) { timers.run(stop); });
  const auto started = std::chrono::steady_clock::now();
  auto next_print = started + std::chrono::seconds(o.print_every_s);
  auto publish = [&] {
    view.entities = consumer.state().size();
    view.live = consumer.state().live();
  };
  auto print = [&] {
    const auto s = consumer.stats();
    std::map<std::string, std::size_t> by_source;
    consumer.state().for_each([&](const tributary::entity_view& entity) {
      if (!entity.deleted) ++by_source[std::string(entity.datasource)];
    });
    std::cerr << "ondemand_consumer: holds " << view.entities << " entities (" << view.live << " live:";
    for (const auto& [name, n] : by_source) std::cerr << ' ' << name << '=' << n;
    std::cerr << "); snapshots " << s.snapshots << "; calls " << s.calls << " (" << s.calls_failed << " failed, " << s.retries
              << " retries)";
    if (s.failing_in_a_row > 0) std::cerr << "; failing: " << tributary::redact_urls_in(s.last_failure);
    std::cerr << "\n";
  };
  int signal = 0;
  for (;;) {
    consumer.process_available();
    publish();
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_print) print(), next_print = now + std::chrono::seconds(o.print_every_s);
    if (o.run_for_s && now - started >= std::chrono::seconds(o.run_for_s)) break;
    if ((signal = signals.wait_for(std::chrono::milliseconds(50)))) break;
  }
  if (signal) std::cerr << "ondemand_consumer: stopping (signal " << signal << ")\n";
  timer_thread.request_stop();
  timer_thread.join();  // no call runs from here on
  consumer.process_available();
  publish();
  print();
  server.stop();
  const auto s = consumer.stats();
  std::string report = "{\"entities\":" + std::to_string(view.entities.load()) + ",\"live\":" + std::to_string(view.live.load()) +
                             ",\"snapshots\":" + std::to_string(s.snapshots) + ",\"snapshot_failures\":" + std::to_string(s.snapshot_failures) +
                             ",\"calls\":" + std::to_string(s.calls) + ",\"calls_failed\":" + std::to_string(s.calls_failed) +
                             ",\"retries\":" + std::to_string(s.retries) + ",\"events_received\":" + std::to_string(s.events_received) +
                             ",\"replayed\":" + std::to_string(s.replayed) + ",\"restored_from\":" + restored +
                             ",\"initialized\":" + (s.initialized ? "true" : "false") + ",\"last_failure\":";
  if (s.last_failure.empty()) report += "null";
  else tributary::detail::append_quoted(report, tributary::redact_urls_in(s.last_failure));
  report += '}';
  od::write_report(report, o.report);
  return 0;
}

template <class Client>
int run_with(Client& client, const options& o, od::stop_signals& signals) {
  return od::with_store("--store", o.store,
                        [&](auto& state_store, auto reopen) { return consume(client, o, signals, state_store, od::store_probe(reopen())); });
}

int run(const options& o) {
  od::stop_signals signals;  // before any thread starts
  if (o.rpc.front().starts_with("amqp://")) {
    reconnecting_amqp_client client{{.url = o.rpc.front(), .queue = o.queue, .timeout = std::chrono::milliseconds(o.timeout_ms)}};
    client.options.validate();
    client.client.emplace(client.options);  // a broker that is not there is told now, not at each call
    return run_with(client, o, signals);
  }
  tributary::curl_library curl;
  tributary::curl_options transport_options;
  transport_options.total_timeout = std::chrono::milliseconds(o.timeout_ms);
  transport_options.max_attempts = 1;  // the client fails over to the next service; the consumer retries later
  tributary::curl_transport transport(curl, transport_options);
  tributary::basic_jsonrpc_http_client client(transport, {.url = o.rpc.front(), .fallback_urls = {o.rpc.begin() + 1, o.rpc.end()}});
  return run_with(client, o, signals);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::string& help) {
    std::cout << help;
    return 0;
  } catch (const usage_error& e) {
    std::cerr << "ondemand_consumer: " << e.message << " (ondemand_consumer --help lists the options)\n";
    return 2;
  } catch (const tributary::error& e) {
    std::cerr << "ondemand_consumer: " << tributary::redact_urls_in(e.what()) << "\n";
    return e.code() == tributary::errc::invalid_config ? 2 : 1;
  }
}
