// jobs_api: the job executor's HTTP API (seed 003, JOBS.md) over a job store.
//
//   jobs_api --store sqlite:///var/lib/jobs.db --key-file /etc/tributary/jobs.key --listen 127.0.0.1:8080
//   jobs_api --store redis://127.0.0.1:6379/0 --key-file jobs.key --listen 0.0.0.0:8080
//
// The settings a job's worker needs (secrets included) are sealed with the key file's key
// (jobs/aes_gcm_sealer.hpp) before they reach the store; the workers get the same file.
// Serves the platforms of jobs_platforms.hpp; the jobs are run by jobs_worker on the same store.
// Prints `listening on http://ADDR:PORT` once it serves (port 0 picks a free one) and stops on SIGINT
// or SIGTERM. Exit 2 for a usage error, 1 when the store or the address fails.

#include <signal.h>

#include <charconv>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include <tributary/clock/wall.hpp>
#include <tributary/execution/thread_pool.hpp>
#include <tributary/jobs/aes_gcm_sealer.hpp>
#include <tributary/jobs/api.hpp>
#include <tributary/jobs/redis_job_store.hpp>
#include <tributary/jobs/sqlite_job_store.hpp>
#include <tributary/server/http_server.hpp>

#include "jobs_platforms.hpp"

namespace {

using namespace tributary;
namespace demo = tributary::examples::jobs_demo;

constexpr std::string_view usage =
  "usage: jobs_api --store STORE --key-file FILE [--listen ADDR:PORT] [--threads N]\n"
  "  --store STORE       sqlite:///PATH (created when missing) or redis://[:PASSWORD@]HOST:PORT/DB\n"
  "  --key-file FILE     64 hex digits (openssl rand -hex 32): seals the jobs' settings in the store\n"
  "  --listen ADDR:PORT  numeric address and port; default 127.0.0.1:8080; port 0 picks a free one\n"
  "  --threads N         worker threads; default 4\n"
  "  --help              this text\n"
  "Routes: GET|POST /system/alive, GET /platforms/get, POST /execution/run, GET /execution/get?job_id=ID[&full],\n"
  "POST /execution/cancel?job_id=ID, GET /execution/list[?status=S][&limit=N], GET /metrics, GET /dashboard.\n"
  "Platforms: xroad_collection, http_to_store, sleep, report.\n";

template <class Store>
int serve(Store& store, wall_clock& clock, const jobs::aes_gcm_sealer& sealer, const server_options& http, std::size_t threads) {
  jobs::basic_job_api<Store, demo::platforms, wall_clock, jobs::aes_gcm_sealer> api(store, clock, {}, sealer);
  thread_pool pool(threads, 256);
  basic_http_server server(pool, std::move(api), http);
  // The signals are waited for by this thread only: block them before any other thread starts.
  const std::uint16_t port = server.start();
  std::cout << "listening on http://" << http.address << ":" << port << std::endl;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  server.stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string store_text, key_file;
  server_options http;
  http.port = 8080;
  std::size_t threads = 4;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) {
        std::cerr << a << " wants a value\n" << usage;
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help") {
      std::cout << usage;
      return 0;
    } else if (a == "--store") {
      store_text = value();
    } else if (a == "--key-file") {
      key_file = value();
    } else if (a == "--listen") {
      const std::string_view v = value();
      const auto colon = v.rfind(':');
      unsigned port = 0;
      if (colon == std::string_view::npos ||
          std::from_chars(v.data() + colon + 1, v.data() + v.size(), port).ptr != v.data() + v.size() || port > 65535) {
        std::cerr << "--listen wants ADDR:PORT\n";
        return 2;
      }
      http.address = std::string(v.substr(0, colon));
      http.port = static_cast<std::uint16_t>(port);
    } else if (a == "--threads") {
      const std::string_view v = value();
      if (std::from_chars(v.data(), v.data() + v.size(), threads).ptr != v.data() + v.size() || threads == 0) {
        std::cerr << "--threads wants a positive number\n";
        return 2;
      }
    } else {
      std::cerr << "unknown option " << a << "\n" << usage;
      return 2;
    }
  }
  if (store_text.empty() || key_file.empty()) {
    std::cerr << "--store and --key-file are required\n" << usage;
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  try {
    const auto choice = demo::parse_store(store_text);
    const auto sealer = jobs::aes_gcm_sealer::from_key_file(key_file);
    wall_clock clock;
    if (choice.kind == demo::store_kind::redis) {
      jobs::redis_job_store store(choice.where, clock);
      return serve(store, clock, sealer, http, threads);
    }
    jobs::sqlite_job_store store(choice.where, clock);
    return serve(store, clock, sealer, http, threads);
  } catch (const error& e) {
    std::cerr << "jobs_api: " << redact_urls_in(e.what()) << "\n";
    return e.code() == errc::invalid_config ? 2 : 1;
  }
}
