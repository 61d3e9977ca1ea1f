// jobs_worker: a pool of pre-forked worker processes ("Sanjers") running the jobs of a job store.
//
//   jobs_worker --store redis://127.0.0.1:6379/0 --key-file jobs.key --workers 4
//   jobs_worker --store sqlite:///var/lib/jobs.db --key-file jobs.key --workers 2 --name host-a
//
// At start the pool forks N worker processes; each takes a job, runs it in a child process of its own
// with the job's time limit (jobs/worker.hpp), heartbeats, and reaps workers that stopped heartbeating
// (on this machine or another sharing the store). A worker process that dies is forked again. SIGINT or
// SIGTERM stops the pool: each worker finishes the job it runs (or its time limit passes), then exits.
// Exit 2 for a usage error, 1 when the store fails at start.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <csignal>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <tributary/clock/wall.hpp>
#include <tributary/jobs/aes_gcm_sealer.hpp>
#include <tributary/jobs/redis_job_store.hpp>
#include <tributary/jobs/sqlite_job_store.hpp>
#include <tributary/jobs/worker.hpp>

#include "jobs_platforms.hpp"

namespace {

using namespace tributary;
namespace demo = tributary::examples::jobs_demo;

constexpr std::string_view usage =
  "usage: jobs_worker --store STORE --key-file FILE [--workers N] [--name PREFIX] [--heartbeat-ms N] [--lost-after-ms N]\n"
  "  --store STORE      sqlite:///PATH or redis://[:PASSWORD@]HOST:PORT/DB (the jobs_api's)\n"
  "  --key-file FILE    the jobs_api's key file: opens the jobs' sealed settings\n"
  "  --workers N        worker processes forked at start; default 2\n"
  "  --name PREFIX      workers are PREFIX-K-PID (K = 1..N); default the host name\n"
  "  --heartbeat-ms N   heartbeat interval, well under --lost-after-ms; default 5000\n"
  "  --lost-after-ms N  a worker silent this long is lost: its job is retried or failed; default 30000\n"
  "  --help             this text\n";

volatile std::sig_atomic_t stopping = 0;
extern "C" void on_stop(int) { stopping = 1; }

template <class Store>
[[noreturn]] void worker_process(const std::string& where, const jobs::aes_gcm_sealer& sealer, const std::string& name,
                                 std::chrono::milliseconds heartbeat, std::chrono::milliseconds lost_after) {
  wall_clock clock;
  auto store_options = [&] {
    jobs::job_store_options j;
    j.heartbeat_timeout = lost_after;
    if constexpr (std::is_same_v<Store, jobs::redis_job_store>) {
      jobs::redis_job_store_options r;
      r.jobs = j;
      return r;
    } else {
      return jobs::sqlite_job_store_options{j};
    }
  }();
  jobs::worker_options o;
  o.name = name;
  o.heartbeat_interval = heartbeat;
  o.poll_wait = std::chrono::milliseconds(500);
  int code = 0;
  try {
    jobs::basic_worker<Store, demo::platforms, wall_clock, jobs::aes_gcm_sealer> worker(
      [&] { return std::make_unique<Store>(where, clock, store_options); }, clock, o, sealer);
    std::cout << "worker " << name << " (pid " << ::getpid() << ") ready" << std::endl;
    while (!stopping) {
      try {
        (void)worker.run_next();
      } catch (const error& e) {
        std::cerr << "worker " << name << ": " << redact_urls_in(e.what()) << "; retrying\n";
        ::sleep(1);
      }
    }
  } catch (const error& e) {
    std::cerr << "worker " << name << ": " << redact_urls_in(e.what()) << "\n";
    code = 1;
  }
  std::_Exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  std::string store_text, prefix, key_file;
  int workers = 2;
  long heartbeat_ms = 5000, lost_after_ms = 30000;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) {
        std::cerr << a << " wants a value\n" << usage;
        std::exit(2);
      }
      return argv[++i];
    };
    auto number = [&](auto& out) {
      const std::string_view v = value();
      if (std::from_chars(v.data(), v.data() + v.size(), out).ptr != v.data() + v.size() || out <= 0) {
        std::cerr << a << " wants a positive number\n";
        std::exit(2);
      }
    };
    if (a == "--help") {
      std::cout << usage;
      return 0;
    } else if (a == "--store") {
      store_text = value();
    } else if (a == "--key-file") {
      key_file = value();
    } else if (a == "--workers") {
      number(workers);
    } else if (a == "--name") {
      prefix = value();
    } else if (a == "--heartbeat-ms") {
      number(heartbeat_ms);
    } else if (a == "--lost-after-ms") {
      number(lost_after_ms);
    } else {
      std::cerr << "unknown option " << a << "\n" << usage;
      return 2;
    }
  }
  if (store_text.empty() || key_file.empty()) {
    std::cerr << "--store and --key-file are required\n" << usage;
    return 2;
  }
  if (prefix.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    prefix = host;
  }
  demo::store_choice choice;
  std::optional<jobs::aes_gcm_sealer> sealer;
  try {
    choice = demo::parse_store(store_text);
    sealer = jobs::aes_gcm_sealer::from_key_file(key_file);
    wall_clock clock;  // the store answers before any worker is forked: a wrong --store fails here
    if (choice.kind == demo::store_kind::redis) jobs::redis_job_store(choice.where, clock).ping();
    else jobs::sqlite_job_store(choice.where, clock).ping();
  } catch (const error& e) {
    std::cerr << "jobs_worker: " << redact_urls_in(e.what()) << "\n";
    return e.code() == errc::invalid_config ? 2 : 1;
  }

  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  std::map<pid_t, int> pool;  // pid -> worker number
  auto fork_worker = [&](int n) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      // The pid in the name: a worker forked again is a new worker, so the lost one is still noticed.
      const std::string name = prefix + "-" + std::to_string(n) + "-" + std::to_string(::getpid());
      const std::chrono::milliseconds beat(heartbeat_ms), lost(lost_after_ms);
      if (choice.kind == demo::store_kind::redis) worker_process<jobs::redis_job_store>(choice.where, *sealer, name, beat, lost);
      worker_process<jobs::sqlite_job_store>(choice.where, *sealer, name, beat, lost);
    }
    if (pid > 0) pool[pid] = n;
  };
  for (int n = 1; n <= workers; ++n) fork_worker(n);
  while (!pool.empty()) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (stopping)
        for (const auto& [p, n] : pool) ::kill(p, SIGTERM);  // forwarded once; workers finish their job
      continue;
    }
    const int n = pool[pid];
    pool.erase(pid);
    if (!stopping) {
      std::cerr << "worker " << prefix << "-" << n << "-" << pid << " ended; forking a new one\n";
      fork_worker(n);
    }
  }
  return 0;
}
