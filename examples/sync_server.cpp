// sync_server: the write-enabled collector API (seed 004) as a service, over a SQLite file or a
// PostgreSQL database (several servers may share one).
//
//   sync_server --store sqlite:/var/lib/tributary/sync.db --listen 0.0.0.0:8080
//   sync_server --store postgres://sync@db:5432/sync --listen 127.0.0.1:8080 --rate 20 --burst 40
//
// Keys are made with sync_keys on the same store, or with --keys FILE (key_file.hpp): a collector key
// made on the first start and written to FILE for the collector's --api-key-file. GET /metrics
// (Prometheus text) and GET /health answer without a key. Prints `listening on http://ADDR:PORT` once it serves
// (--listen ADDR:0 picks a free port), and stops gracefully on SIGINT or SIGTERM: requests in flight
// get five seconds to finish. Exit 2 for a usage error, 1 when the store or the address fails.

#include <pthread.h>
#include <signal.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <string>
#include <string_view>

#include <tributary/clock/wall.hpp>
#include <tributary/execution/thread_pool.hpp>
#include <tributary/redact.hpp>
#include <tributary/server/http_server.hpp>
#include <tributary/sync/server.hpp>

#include "sync/key_file.hpp"
#include "sync/store.hpp"

namespace {

constexpr std::string_view usage =
    "usage: sync_server --store STORE [--keys FILE] [--listen ADDR:PORT] [--rate N] [--burst N] [--threads N]\n"
    "  --store STORE       sqlite:PATH (created when missing) or postgres://user@host:port/db\n"
    "  --keys FILE         the collector's key file (what a collector's --api-key-file reads): when FILE\n"
    "                      does not exist, a key with the collector scope is created in the store and\n"
    "                      written to FILE (mode 0600); when it exists, its key must be one the store\n"
    "                      accepts. Without --keys, make keys with sync_keys.\n"
    "  --listen ADDR:PORT  numeric address and port; default 127.0.0.1:8080; port 0 picks a free one\n"
    "  --rate N            requests per second each key may make (token bucket); default 10\n"
    "  --burst N           requests a key may make at once; default 20\n"
    "  --threads N         worker threads; default 4\n"
    "  --help              this text\n"
    "Endpoints under /api/v1/collector/: PUT hashes, PUT data, GET limits, GET|PUT slu-update,\n"
    "POST slu-publish (admin keys). Without a key: GET /metrics (Prometheus text), GET /health\n"
    "(200 when the store answers, else 503). Keys: sync_keys --store STORE create NAME.\n";

using tributary::examples::sync::usage_error;

double positive_number(std::string_view flag, std::string_view text) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !(v > 0) || !std::isfinite(v))
    throw usage_error{std::string(flag) + " wants a positive number, not '" + std::string(text) + "'"};
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::string store_url, key_file, listen = "127.0.0.1:8080";
  tributary::sync_limits limits;
  std::size_t threads = 4;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string_view a = argv[i];
      if (a == "--help" || a == "-h") {
        std::cout << usage;
        return 0;
      }
      if (a != "--store" && a != "--keys" && a != "--listen" && a != "--rate" && a != "--burst" && a != "--threads")
        throw usage_error{"unknown argument '" + std::string(a) + "'"};
      if (i + 1 == argc) throw usage_error{std::string(a) + " needs a value"};
      const std::string_view v = argv[++i];
      if (a == "--store") store_url = v;
      else if (a == "--keys") key_file = v;
      else if (a == "--listen") listen = v;
      else if (a == "--rate") limits.requests_per_second = positive_number(a, v);
      else if (a == "--burst") limits.burst = positive_number(a, v);
      else threads = static_cast<std::size_t>(positive_number(a, v));
    }
    if (store_url.empty()) throw usage_error{"--store is required"};
    if (limits.burst < 1) throw usage_error{"--burst must be at least 1"};
    tributary::server_options http;
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0) throw usage_error{"--listen wants ADDR:PORT, not '" + listen + "'"};
    http.address = listen.substr(0, colon);
    if (http.address.size() > 2 && http.address.front() == '[' && http.address.back() == ']')
      http.address = http.address.substr(1, http.address.size() - 2);
    const std::string port = listen.substr(colon + 1);
    unsigned long p = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p > 65535)
      throw usage_error{"--listen: '" + port + "' is not a port (0 to 65535)"};
    http.port = static_cast<std::uint16_t>(p);
    http.max_body_bytes = limits.max_body_bytes;  // refused from the head, before the body is read

    return tributary::examples::sync::with_store(store_url, [&](auto& store) {
      // Blocked before the server's threads start, so that they inherit the mask and sigwait gets it.
      sigset_t stop_signals;
      sigemptyset(&stop_signals);
      sigaddset(&stop_signals, SIGINT);
      sigaddset(&stop_signals, SIGTERM);
      pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
      tributary::wall_clock clock;
      tributary::thread_pool pool(threads, 256);
      using store_type = std::remove_reference_t<decltype(store)>;
      tributary::basic_sync_server<store_type> sync(store, clock, {.limits = limits});
      if (!key_file.empty()) tributary::examples::sync::ensure_key_file(sync.keys(), key_file, std::cerr);
      tributary::basic_http_server server(pool, std::move(sync), http);
      server.start();
      std::cout << "listening on " << server.base_url() << std::endl;
      int signal = 0;
      sigwait(&stop_signals, &signal);
      std::cerr << "sync_server: stopping (signal " << signal << ")\n";
      server.stop();
      return 0;
    });
  } catch (const usage_error& e) {
    std::cerr << "sync_server: " << e.message << "\n\n" << usage;
    return 2;
  } catch (const tributary::error& e) {
    std::cerr << "sync_server: " << tributary::redact_urls_in(e.what()) << "\n";
    return e.code() == tributary::errc::invalid_config ? 2 : 1;
  }
}
