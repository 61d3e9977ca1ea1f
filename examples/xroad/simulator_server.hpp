#pragma once
// simulator_server: the simulator core behind tributary's http_server on 127.0.0.1, with injected
// latency, errors, hangs and malformed bodies. The faults live in a request handler; latency and
// hangs wait on the request's stop token, so stop() releases them at once instead of waiting out
// their sleep.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <utility>

#include <tributary/execution/thread_pool.hpp>
#include <tributary/server/http_server.hpp>

#include "simulator.hpp"

namespace xroad_sim {

/// The simulator as a request handler: the fault injection and the counters around the pure core.
class simulator_handler {
 public:
  using request_handler_concept = tributary::request_handler_tag;

  simulator_handler(simulator sim, fault_options faults) : state_(std::make_shared<state>(std::move(sim), faults)) {}

  tributary::server_response handle(tributary::server_request& req) {
    http_request r;
    {
      std::lock_guard lock(state_->mu);
      r.url = state_->base_url + req.target;
      ++state_->requests;
      state_->peak_in_flight = std::max(state_->peak_in_flight, ++state_->in_flight);
    }
    struct leave {
      state& s;
      ~leave() {
        std::lock_guard lock(s.mu);
        --s.in_flight;
      }
    } counted{*state_};
    r.method = req.method;
    for (auto& [k, v] : req.headers) r.headers.emplace_back(k, v);
    const fault f = state_->faults.decide(r);
    const auto latency = state_->faults.options().latency;
    if (latency.count() > 0 && !pause(req.stop, latency)) return unavailable();
    if (f == fault::hang) {
      pause(req.stop, std::chrono::hours(1));  // "never" answers: released by stop()
      return unavailable();
    }
    http_response out = state_->sim(r);
    fault_injector::apply(f, out);
    const auto type = out.header("Content-Type");
    return tributary::server_response::text(out.status, std::move(out.body),
                                            type.empty() ? "application/json" : std::string(type));
  }

  void set_base_url(std::string url) {
    std::lock_guard lock(state_->mu);
    state_->base_url = std::move(url);
  }
  [[nodiscard]] std::size_t requests() const {
    std::lock_guard lock(state_->mu);
    return state_->requests;
  }
  [[nodiscard]] std::size_t peak_concurrent_requests() const {
    std::lock_guard lock(state_->mu);
    return state_->peak_in_flight;
  }

 private:
  struct state {
    state(simulator s, fault_options f) : sim(std::move(s)), faults(f) {}
    simulator sim;
    fault_injector faults;
    mutable std::mutex mu;
    std::string base_url;  // known once the server is bound
    std::size_t requests = 0, in_flight = 0, peak_in_flight = 0;
  };

  /// Waits up to `d`; false when the server is stopping.
  static bool pause(std::stop_token stop, std::chrono::milliseconds d) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    return !cv.wait_for(lock, stop, d, [] { return false; }) && !stop.stop_requested();
  }

  static tributary::server_response unavailable() {
    return tributary::server_response::json(503, detail::xroad_error_body("Server.ServerProxy.Stopping", "the simulator is stopping"));
  }

  std::shared_ptr<state> state_;  // shared by the copy the server holds and the simulator_server's
};

class simulator_server {
 public:
  /// `threads` bounds the requests answered at once (delayed and hanging ones hold a thread each);
  /// idle keep-alive connections hold none.
  explicit simulator_server(simulator sim, fault_options faults = {}, std::size_t threads = 64)
      : pool_(threads, 4096), handler_(std::move(sim), faults) {}
  simulator_server(const simulator_server&) = delete;
  simulator_server& operator=(const simulator_server&) = delete;
  ~simulator_server() { stop(); }

  /// Binds 127.0.0.1:port (0: an ephemeral port) and serves. Returns the port. A port in use is an
  /// error naming it ("127.0.0.1:8080 is already in use"), never shared.
  int start(int port = 0) {
    if (server_) throw std::logic_error("simulator_server: already started");
    tributary::server_options o;
    o.port = static_cast<std::uint16_t>(port);
    o.max_body_bytes = 1 << 20;                  // metaservice requests carry no body
    o.stop_timeout = std::chrono::seconds(2);    // hangs and delays are released by the stop token at once
    server_.emplace(pool_, handler_, o);  // a copy sharing the state (simulator, faults, counters)
    port_ = server_->start();
    base_url_ = "http://127.0.0.1:" + std::to_string(port_);
    handler_.set_base_url(base_url_);
    return port_;
  }

  void stop() {
    if (server_) server_->stop();
  }

  [[nodiscard]] int port() const noexcept { return port_; }
  [[nodiscard]] const std::string& base_url() const noexcept { return base_url_; }
  [[nodiscard]] std::size_t requests() const { return handler_.requests(); }
  /// The most requests ever being answered at once (latency and hangs included).
  [[nodiscard]] std::size_t peak_concurrent_requests() const { return handler_.peak_concurrent_requests(); }

 private:
  tributary::thread_pool pool_;  // before the server: destroyed after it
  simulator_handler handler_;
  std::optional<tributary::basic_http_server<simulator_handler>> server_;
  int port_ = -1;
  std::string base_url_;
};

}  // namespace xroad_sim
