// ondemand_collector: a collector service of seed 002 (ONDEMAND.md). It serves datasources over
// JSON-RPC 2.0, on HTTP or on RabbitMQ, and persists every event it answers in the store.
//
//   ondemand_collector --store sqlite:events.db --rpc http://127.0.0.1:8080/rpc --static hosts=hosts.json
//   ondemand_collector --store postgres://collector@db:5432/events --rpc amqp://guest:guest@127.0.0.1:5672/
//                      --synthetic 10000 --instance collector_a --listen 127.0.0.1:9100
//   ondemand_collector --store sqlite:events.db --rpc http://127.0.0.1:8080/rpc
//                      --xroad http://127.0.0.1:8081 --client EE-DEV/GOV/70000310/kmais-client
//
// GET /metrics (Prometheus text) and GET /health (200, or 503 naming the dependency that is down) are
// served on the RPC's port with http://, on --listen with amqp://. Prints `listening on URL` once it
// serves. SIGINT or SIGTERM: stops taking calls, writes what the persistor holds, prints a JSON report
// (also to --report FILE). Exit 2 for a usage error, 1 when the store, the address or the broker fails.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <tributary/execution/thread_pool.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/ondemand/amqp.hpp>
#include <tributary/ondemand/jsonrpc_http.hpp>
#include <tributary/ondemand/persistor.hpp>
#include <tributary/ondemand/service.hpp>
#include <tributary/redact.hpp>
#include <tributary/server/concepts.hpp>
#include <tributary/server/http_server.hpp>
#include <tributary/transport/curl.hpp>

#include "ondemand_common.hpp"
#include "ondemand_sources.hpp"
#include "ondemand_xroad.hpp"

namespace {

namespace od = tributary::examples::ondemand;
using od::usage_error;

constexpr std::string_view usage =
    "usage: ondemand_collector --store STORE --rpc URL [datasources] [options]\n"
    "  --store STORE        sqlite:PATH or postgres://USER@HOST:PORT/DB: where every answered event is\n"
    "                       persisted (index ondemand-events)\n"
    "  --rpc URL            http://ADDR:PORT/PATH to serve JSON-RPC on HTTP (port 0 picks a free one), or\n"
    "                       amqp://USER:PASSWORD@HOST:PORT/[VHOST] to take calls from RabbitMQ's shared queue\n"
    "Datasources (at least one):\n"
    "  --static NAME=FILE   a datasource read from FILE, a JSON array of\n"
    "                       {\"entity_type\":..,\"entity_id\":..,\"payload\":{..}}; repeatable\n"
    "  --synthetic N        a datasource \"synthetic\" of N generated entities (for load)\n"
    "  --slow MS            each get_all of \"synthetic\" takes MS longer (a slow source, for demos)\n"
    "  --xroad URL          a datasource \"xroad\": the services of the X-Road security server at URL\n"
    "                       (http(s)://[USER:PASSWORD@]HOST[:PORT]), as entities \"service\" and \"provider\"\n"
    "X-Road (with --xroad; the names the collector_* executables use):\n"
    "  --client ID          the X-Road client sent to the security server, {instance}/{class}/{code}/{subsystem}\n"
    "                       (required)\n"
    "  --environment NAME   the environment named in the services' documents (default: the client's instance)\n"
    "  --member-codes FILE  JSON mapping of member codes that differ between environments\n"
    "  --concurrency N      providers collected at once (default 16)\n"
    "  --timeout-ms MS      per request to the security server (default 30000)\n"
    "  --min-provider-success R  share (0-1) of the providers that must be collected, or the call fails\n"
    "                       (default 0.5); a provider that failed is an entity \"provider\" saying why\n"
    "  --allow-no-providers  answer a listing of no providers (by default it fails the call: answered, it\n"
    "                       would delete every service the consumer holds)\n"
    "Options:\n"
    "  --instance NAME      the persistor's identity across restarts (a-z, 0-9, _): with one, a restart says\n"
    "                       how many events a kill lost; default a random one\n"
    "  --listen ADDR:PORT   where GET /metrics and GET /health are served with amqp:// (default 127.0.0.1:0)\n"
    "  --queue NAME         the shared RabbitMQ queue (default tributary.ondemand)\n"
    "  --time-limit MS      per datasource and call (default 30000)\n"
    "  --page-events N      events per page of an answer; larger answers come in pages (default 10000)\n"
    "  --threads N          datasource threads (default 4)\n"
    "  --report FILE        also write the JSON report printed at exit to FILE\n"
    "  --help               this text\n";

struct options {
  std::string store, rpc, instance, listen = "127.0.0.1:0", queue = "tributary.ondemand", report;
  std::vector<std::pair<std::string, std::string>> statics;
  std::size_t synthetic = 0;
  std::uint64_t time_limit_ms = 30'000, slow_ms = 0;
  std::size_t threads = 4;
  std::size_t page_events = 10'000;
  // --xroad and its options
  std::string xroad, client, environment, member_codes;
  std::size_t concurrency = 16;
  std::uint64_t timeout_ms = 30'000;
  double min_provider_success = 0.5;
  bool allow_no_providers = false;
};

/// A share between 0 and 1.
double share(std::string_view flag, const std::string& text) {
  try {
    std::size_t used = 0;
    const double r = std::stod(text, &used);
    if (used == text.size() && r >= 0 && r <= 1) return r;
  } catch (const std::exception&) {
  }
  throw usage_error{std::string(flag) + " wants a number between 0 and 1, not '" + text + "'"};
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") throw std::string(usage);
    if (a == "--allow-no-providers") {
      o.allow_no_providers = true;
      continue;
    }
    static constexpr std::string_view with_value[] = {"--store", "--rpc", "--static", "--synthetic", "--instance", "--listen",
                                                      "--queue", "--time-limit", "--page-events", "--threads", "--report", "--slow",
                                                      "--xroad", "--client", "--environment", "--member-codes",
                                                      "--concurrency", "--timeout-ms", "--min-provider-success"};
    if (std::find(std::begin(with_value), std::end(with_value), a) == std::end(with_value))
      throw usage_error{"unknown argument '" + std::string(a) + "'"};
    if (i + 1 == argc) throw usage_error{std::string(a) + " needs a value"};
    const std::string v = argv[++i];
    if (a == "--store") o.store = v;
    else if (a == "--rpc") o.rpc = v;
    else if (a == "--instance") o.instance = v;
    else if (a == "--listen") o.listen = v;
    else if (a == "--queue") o.queue = v;
    else if (a == "--report") o.report = v;
    else if (a == "--synthetic") o.synthetic = od::positive_integer(a, v);
    else if (a == "--time-limit") o.time_limit_ms = od::positive_integer(a, v);
    else if (a == "--page-events") o.page_events = od::positive_integer(a, v);
    else if (a == "--slow") o.slow_ms = od::positive_integer(a, v);
    else if (a == "--threads") o.threads = od::positive_integer(a, v);
    else if (a == "--xroad") o.xroad = v;
    else if (a == "--client") o.client = v;
    else if (a == "--environment") o.environment = v;
    else if (a == "--member-codes") o.member_codes = v;
    else if (a == "--concurrency") o.concurrency = od::positive_integer(a, v);
    else if (a == "--timeout-ms") o.timeout_ms = od::positive_integer(a, v);
    else if (a == "--min-provider-success") o.min_provider_success = share(a, v);
    else {
      const auto eq = v.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == v.size()) throw usage_error{"--static wants NAME=FILE, not '" + v + "'"};
      o.statics.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    }
  }
  if (o.store.empty()) throw usage_error{"--store is required"};
  od::check_store_url("--store", o.store);
  if (o.rpc.empty()) throw usage_error{"--rpc is required"};
  if (!o.rpc.starts_with("http://") && !o.rpc.starts_with("amqp://"))
    throw usage_error{"--rpc wants http://ADDR:PORT/PATH or amqp://USER:PASSWORD@HOST:PORT/, not " + tributary::detail::quote_url(o.rpc)};
  if (o.statics.empty() && o.synthetic == 0 && o.xroad.empty())
    throw usage_error{"no datasource: give --static NAME=FILE, --synthetic N or --xroad URL"};
  if (o.xroad.empty()) {
    for (const auto* x : {"--client", "--environment", "--member-codes", "--concurrency", "--timeout-ms", "--min-provider-success",
                          "--allow-no-providers"})
      for (int i = 1; i < argc; ++i)
        if (std::string_view(argv[i]) == x) throw usage_error{std::string(x) + " applies only with --xroad"};
  } else if (o.client.empty()) {
    throw usage_error{"--xroad needs --client {instance}/{class}/{code}/{subsystem}"};
  }
  return o;
}

template <class Store>
using service_type = tributary::basic_datasource_service<tributary::thread_pool, Store>;

/// The --xroad datasource, its security server asked once: a wrong URL or client id is a usage error
/// (exit 2), a server that cannot be reached or answers an error fails the start (exit 1), each told.
/// `stop`: set when the service stops, so that a collection in flight ends its requests at once instead
/// of holding the shutdown until its security server answers or times out.
od::xroad_datasource xroad_datasource(const options& o, const tributary::curl_library& curl, const std::atomic<bool>& stop) {
  od::xroad_datasource_options x;
  x.source.base_url = o.xroad;
  const auto client = tributary::xroad_subsystem_id::parse(o.client);
  if (!client) throw usage_error{"--client '" + o.client + "' is not {instance}/{class}/{code}/{subsystem}"};
  x.source.client = *client;
  x.source.environment = o.environment.empty() ? client->instance : o.environment;
  x.concurrency = o.concurrency;
  x.min_provider_success = o.min_provider_success;
  x.allow_no_providers = o.allow_no_providers;
  tributary::curl_options c;
  c.total_timeout = std::chrono::milliseconds(o.timeout_ms);
  c.max_concurrent = c.max_per_host = o.concurrency;
  c.logger = [](tributary::curl_log_level, std::string_view) {};  // a failure is in the call's outcome
  c.stop = &stop;
  try {
    if (!o.member_codes.empty()) x.source.member_codes = tributary::load_member_code_mapping(o.member_codes);
  } catch (const tributary::error& e) {
    throw usage_error{"--member-codes: " + std::string(e.what())};
  }
  std::optional<od::xroad_datasource> source;
  try {
    source.emplace(std::make_shared<tributary::curl_transport>(curl, c), std::move(x));
  } catch (const tributary::error& e) {
    throw usage_error{"--xroad: " + tributary::redact_urls_in(e.what())};
  }
  try {
    source->check();
  } catch (const tributary::error& e) {
    throw tributary::error(e.code(), "--xroad: cannot list the security server's providers: " + std::string(e.what()));
  }
  return std::move(*source);
}

/// What /health looks at, from the serving threads.
struct health_state {
  std::optional<od::store_probe> store;
  std::optional<od::xroad_datasource> xroad;  ///< a copy sharing the datasource's last problem, with --xroad
  std::mutex mu;
  std::string rpc_problem;  ///< the broker connection's, with amqp://
  std::string rpc_state() {
    std::lock_guard lock(mu);
    return rpc_problem;
  }
  void set_rpc(std::string problem) {
    std::lock_guard lock(mu);
    rpc_problem = std::move(problem);
  }
};

/// /health, /metrics, and the JSON-RPC handler's routes when calls come over HTTP.
template <class Service>
struct collector_handler {
  using request_handler_concept = tributary::request_handler_tag;
  Service* service;
  health_state* health;
  std::string index;
  std::optional<tributary::jsonrpc_http_handler<Service>> rpc;  // with http://

  tributary::server_response handle(tributary::server_request& r) {
    if (r.path == "/health") {
      std::vector<od::dependency> deps{{"store", health->store->check(index)}};
      const auto p = service->persistor().stats();
      if (deps[0].problem.empty() && p.failed > 0 && p.pending > 0) deps[0].problem = "persisting events fails: " + p.last_failure;
      if (!rpc) deps.push_back({"rabbitmq", health->rpc_state()});
      if (health->xroad) deps.push_back({"xroad_security_server", health->xroad->last_problem()});
      return od::health_response(deps);
    }
    if (rpc) return rpc->handle(r);
    if (r.path == "/metrics" && r.method == "GET") {
      std::string out;
      tributary::append_ondemand_service_metrics(out, *service);
      return tributary::server_response::text(200, std::move(out), "text/plain; version=0.0.4");
    }
    return tributary::server_response::json(404, "{\"error\":\"not found; GET /metrics or GET /health\"}");
  }
};

/// Serves the datasources, persisting into `store` (a connection of its own, `probe`, for /health).
template <class Store>
int serve(const options& o, od::stop_signals& signals, std::atomic<bool>& stopping, std::vector<tributary::any_datasource>& sources,
          std::optional<od::xroad_datasource>& xroad, Store& store, od::store_probe probe) {
  health_state health;
  health.store.emplace(std::move(probe));
  health.xroad = std::move(xroad);
  tributary::basic_event_persistor<Store> persistor(store, {.instance = o.instance});
  std::thread writer([&] { persistor.run(); });
  struct drain {  // on every way out: run() writes what is queued, then returns
    decltype(persistor)& p;
    std::thread& t;
    ~drain() {
      p.close();
      if (t.joinable()) t.join();
    }
  } drain_at_exit{persistor, writer};
  tributary::thread_pool datasource_pool(o.threads, 256), http_pool(4, 256);
  service_type<Store> service(datasource_pool, persistor,
                              {.time_limit = std::chrono::milliseconds(o.time_limit_ms), .page_events = o.page_events});
  for (auto& s : sources) service.add(std::move(s));
  if (const auto lost = persistor.stats().lost_before_start)
    std::cerr << "ondemand_collector: the previous run of instance " << persistor.instance() << " lost " << lost << " events\n";

  collector_handler<service_type<Store>> handler{&service, &health, persistor.index(), std::nullopt};

  tributary::server_options http;
  std::optional<tributary::amqp_rpc_options> amqp;
  if (o.rpc.starts_with("http://")) {
    auto [where, rpc_path] = od::parse_http_listen("--rpc", o.rpc);
    http.address = where.address, http.port = where.port;
    handler.rpc.emplace(service, rpc_path);
  } else {
    const auto where = od::parse_listen("--listen", o.listen);
    http.address = where.address, http.port = where.port;
    amqp = tributary::amqp_rpc_options{.url = o.rpc, .queue = o.queue};
    amqp->validate();
  }
  http.max_body_bytes = service.options().max_request_bytes;

  // With amqp://, one connection serves calls; a lost connection is made again (the request in hand,
  // unacknowledged, goes to another collector service meanwhile). The first one must work.
  std::optional<tributary::basic_amqp_rpc_server<service_type<Store>>> first;
  if (amqp) first.emplace(service, *amqp);
  std::jthread serving;
  if (amqp)
    serving = std::jthread([&](std::stop_token stop) {
      auto& server = first;  // this thread's alone from now on
      std::mutex mu;
      std::condition_variable_any cv;
      while (!stop.stop_requested()) {
        try {
          if (!server) server.emplace(service, *amqp);
          health.set_rpc({});
          server->run(stop);
        } catch (const tributary::error& e) {
          server.reset();
          health.set_rpc(e.what());
          std::cerr << "ondemand_collector: " << tributary::redact_urls_in(e.what()) << "; connecting again in 1 s\n";
          std::unique_lock lock(mu);
          cv.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });
        }
      }
    });

  tributary::basic_http_server server(http_pool, std::move(handler), http);
  server.start();
  std::cout << "listening on " << server.base_url() << (amqp ? " (metrics, health); calls from " + tributary::redact_url(o.rpc) : std::string(""))
            << std::endl;

  int signal = 0;
  while (!(signal = signals.wait_for(std::chrono::milliseconds(500)))) {
  }
  std::cerr << "ondemand_collector: stopping (signal " << signal << ")\n";
  stopping = true;  // a datasource's requests in flight end now
  if (serving.joinable()) {
    serving.request_stop();
    serving.join();
  }
  server.stop();
  persistor.close();
  writer.join();
  const auto s = service.stats();
  const auto p = persistor.stats();
  std::string report = "{\"instance\":";
  tributary::detail::append_quoted(report, persistor.instance());
  report += ",\"calls\":" + std::to_string(s.calls) + ",\"events\":" + std::to_string(s.events) +
            ",\"failed_outcomes\":" + std::to_string(s.failed_outcomes) + ",\"persisted\":{\"queued\":" + std::to_string(p.queued) +
            ",\"written\":" + std::to_string(p.written) + ",\"failed\":" + std::to_string(p.failed) +
            ",\"lost_before_start\":" + std::to_string(p.lost_before_start) + "}}";
  od::write_report(report, o.report);
  return p.failed ? 1 : 0;
}

int run(const options& o) {
  od::stop_signals signals;  // before any thread starts
  // Before the datasources and the pools: a call the service gave up on may still use the X-Road
  // datasource's transport until the datasource pool joins its threads.
  std::atomic<bool> stopping{false};  // read by the X-Road datasource's transport
  std::optional<tributary::curl_library> curl;
  std::vector<tributary::any_datasource> sources;
  for (const auto& [name, file] : o.statics) {
    od::static_file_source s(name, file);
    try {
      s.check();
    } catch (const tributary::error& e) {
      throw usage_error{"--static " + name + "=" + file + ": " + e.what()};
    }
    sources.emplace_back(std::move(s));
  }
  if (o.synthetic) sources.emplace_back(od::synthetic_source("synthetic", o.synthetic, std::chrono::milliseconds(o.slow_ms)));
  std::optional<od::xroad_datasource> xroad;
  if (!o.xroad.empty()) sources.emplace_back(*(xroad = xroad_datasource(o, curl.emplace(), stopping)));
  return od::with_store("--store", o.store, [&](auto& store, auto reopen) {
    return serve(o, signals, stopping, sources, xroad, store, od::store_probe(reopen()));
  });
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::string& help) {
    std::cout << help;
    return 0;
  } catch (const usage_error& e) {
    std::cerr << "ondemand_collector: " << e.message << " (ondemand_collector --help lists the options)\n";
    return 2;
  } catch (const tributary::error& e) {
    std::cerr << "ondemand_collector: " << tributary::redact_urls_in(e.what()) << "\n";
    return e.code() == tributary::errc::invalid_config ? 2 : 1;
  }
}
