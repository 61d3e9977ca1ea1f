// xroad_simulator: an X-Road security server's metaservices on 127.0.0.1, from fixtures or synthetic.
//
//   xroad_simulator --fixtures examples/xroad/fixtures/dev --port 8080
//   xroad_simulator --generate 1000:10000 --seed 7 --latency-ms 20 --error-rate 0.01
//
// Prints `listening on 127.0.0.1:PORT` once it serves, and runs until SIGINT or SIGTERM.

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include <pthread.h>

#include "xroad/simulator_server.hpp"

namespace {

constexpr std::string_view usage =
    "usage: xroad_simulator (--fixtures DIR | --generate PROVIDERS:SERVICES) [options]\n"
    "\n"
    "  --fixtures DIR           one environment's fixture directory, e.g. examples/xroad/fixtures/dev\n"
    "  --generate P:S           a synthetic instance of P providers and S service codes, computed on the fly\n"
    "  --instance NAME          X-Road instance of the synthetic instance (default EE-SYN)\n"
    "  --port N                 port on 127.0.0.1 (default 0: an ephemeral port)\n"
    "  --latency-ms N           delay every answer by N milliseconds\n"
    "  --error-rate R           share (0..1) of provider metaservice requests answered 500\n"
    "  --hang-rate R            share never answered (held until the simulator stops)\n"
    "  --malformed-rate R       share whose body is cut and garbled\n"
    "  --seed N                 seed of the synthetic instance and of the faults (default 1)\n"
    "  --threads N              worker threads, one per request answered at once (default 64; delayed\n"
    "                           and hanging requests hold one each): at least the client's concurrency\n"
    "  --help                   this text\n";

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "xroad_simulator: " << message << "\n\n" << usage;
  std::exit(2);
}

double rate(const std::string& flag, const std::string& value) {
  try {
    std::size_t used = 0;
    const double r = std::stod(value, &used);
    if (used != value.size() || r < 0 || r > 1) throw std::invalid_argument("range");
    return r;
  } catch (const std::exception&) {
    fail(flag + " needs a number between 0 and 1, not '" + value + "'");
  }
}

unsigned long long number(const std::string& flag, const std::string& value) {
  try {
    std::size_t used = 0;
    const auto n = std::stoull(value, &used);
    if (used != value.size() || value.front() == '-') throw std::invalid_argument("sign");
    return n;
  } catch (const std::exception&) {
    fail(flag + " needs a non-negative integer, not '" + value + "'");
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string fixtures, generate, instance = "EE-SYN";
  unsigned long long port = 0, seed = 1, threads = 64;
  xroad_sim::fault_options faults;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << usage;
      return 0;
    }
    if (i + 1 >= argc) fail("unknown option or missing value: " + arg);
    const std::string value = argv[++i];
    if (arg == "--fixtures") fixtures = value;
    else if (arg == "--generate") generate = value;
    else if (arg == "--instance") instance = value;
    else if (arg == "--port") port = number(arg, value);
    else if (arg == "--latency-ms") faults.latency = std::chrono::milliseconds(number(arg, value));
    else if (arg == "--error-rate") faults.error_rate = rate(arg, value);
    else if (arg == "--hang-rate") faults.hang_rate = rate(arg, value);
    else if (arg == "--malformed-rate") faults.malformed_rate = rate(arg, value);
    else if (arg == "--seed") seed = number(arg, value);
    else if (arg == "--threads") threads = number(arg, value);
    else fail("unknown option: " + arg);
  }
  if (fixtures.empty() == generate.empty()) fail("give exactly one of --fixtures and --generate");
  if (port > 65535) fail("--port must be at most 65535");
  if (threads == 0) fail("--threads must be at least 1");
  if (faults.error_rate + faults.hang_rate + faults.malformed_rate > 1) fail("the fault rates add up to more than 1");
  faults.seed = seed;

  try {
    std::optional<xroad_sim::simulator> sim;
    if (!fixtures.empty()) {
      sim = xroad_sim::simulator::from_fixtures(fixtures);
    } else {
      const auto colon = generate.find(':');
      if (colon == std::string::npos) fail("--generate needs PROVIDERS:SERVICES, e.g. 1000:10000");
      xroad_sim::synthetic_options o;
      o.providers = number("--generate", generate.substr(0, colon));
      o.services = number("--generate", generate.substr(colon + 1));
      o.seed = seed;
      o.instance = instance;
      sim = xroad_sim::simulator::synthetic(o);
    }

    // Block the stop signals in every thread, then wait for them here.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    xroad_sim::simulator_server server(std::move(*sim), faults, threads);
    const int bound = server.start(static_cast<int>(port));
    std::cout << "listening on 127.0.0.1:" << bound << std::endl;
    int sig = 0;
    sigwait(&stop_signals, &sig);
    server.stop();
    std::cerr << "xroad_simulator: stopped after " << server.requests() << " requests\n";
  } catch (const std::exception& e) {
    std::cerr << "xroad_simulator: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
