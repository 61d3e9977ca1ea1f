#pragma once
// simulator_server: the simulator core behind cpp-httplib on 127.0.0.1, with injected latency,
// errors, hangs and malformed bodies. Hangs and latency wait on a condition variable, so stop()
// releases them at once instead of waiting out their sleep.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include <httplib.h>

#include "simulator.hpp"

namespace xroad_sim {

class simulator_server {
 public:
  /// `threads` bounds the connections served at once: cpp-httplib gives each connection a worker for
  /// its whole keep-alive life, and a connection beyond the pool waits for one to close.
  explicit simulator_server(simulator sim, fault_options faults = {}, std::size_t threads = 64)
      : sim_(std::move(sim)), faults_(faults) {
    // Hanging requests hold a worker each; a large pool keeps the rest answering.
    server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server_.set_keep_alive_timeout(2);
    // cpp-httplib closes a connection after 5 requests by default: clients would reconnect every fifth
    // request, and a burst of reconnects overflows the listen backlog (below).
    server_.set_keep_alive_max_count(1u << 20);
    // The listening socket is remembered so that start() can widen its backlog. SO_REUSEADDR only:
    // cpp-httplib's default_socket_options sets SO_REUSEPORT, with which a second simulator binds a
    // port another one listens on and the kernel spreads the connections over both (a collector would
    // collect two environments mixed together). SO_REUSEADDR still rebinds a port whose connections
    // are in TIME_WAIT, but never one with a listener.
    server_.set_socket_options([this](::socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
      listen_socket_ = sock;
    });
    // Without TCP_NODELAY every answer on a reused connection waits ~40 ms for delayed ACKs (Nagle).
    server_.set_tcp_nodelay(true);
    // Answers go out uncompressed: cpp-httplib would brotli-compress them at quality 11 for a client
    // that accepts br (curl does), which costs ~1.4 s of CPU for a 1000-provider listClients and
    // milliseconds for each OpenAPI document, so the simulator, not the latency, would bound a run.
    // The request is cpp-httplib's own mutable object, handed to this hook as const.
    server_.set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
      const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
      return httplib::Server::HandlerResponse::Unhandled;
    });
    auto handle = [this](const httplib::Request& req, httplib::Response& res) { serve(req, res); };
    server_.Get(".*", handle);
    server_.Post(".*", handle);
  }
  simulator_server(const simulator_server&) = delete;
  simulator_server& operator=(const simulator_server&) = delete;
  ~simulator_server() { stop(); }

  /// Binds 127.0.0.1:port (0: an ephemeral port) and serves on a background thread. Returns the port.
  int start(int port = 0) {
    if (thread_.joinable()) throw std::logic_error("simulator_server: already started");
    port_ = port == 0 ? server_.bind_to_any_port("127.0.0.1") : (server_.bind_to_port("127.0.0.1", port) ? port : -1);
    if (port_ <= 0) throw std::runtime_error("simulator_server: " + why_not_bindable(port));
    base_url_ = "http://127.0.0.1:" + std::to_string(port_);
    // cpp-httplib listens with a backlog of 5: when more clients connect at once, Linux drops the
    // handshakes beyond it and each one costs the client a 1 s SYN retransmission. Listening again
    // on the bound socket only changes the backlog.
    if (listen_socket_ >= 0) ::listen(listen_socket_, SOMAXCONN);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the server runs: wait for it, or a quick stop() would leave it running.
    for (int waited = 0; !server_.is_running(); ++waited) {
      if (waited > 5000) throw std::runtime_error("simulator_server: the server did not start");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return port_;
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }

  [[nodiscard]] int port() const noexcept { return port_; }
  [[nodiscard]] const std::string& base_url() const noexcept { return base_url_; }
  [[nodiscard]] std::size_t requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  /// The most requests ever being answered at once (latency and hangs included).
  [[nodiscard]] std::size_t peak_concurrent_requests() const {
    std::lock_guard lock(mu_);
    return peak_in_flight_;
  }

 private:
  /// Why 127.0.0.1:port cannot be bound (cpp-httplib only says that it could not): binds a socket of
  /// our own with the server's options to find out.
  static std::string why_not_bindable(int port) {
    const std::string where = "127.0.0.1:" + std::to_string(port);
    const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
    if (sock < 0) return "cannot bind " + where + ": " + std::strerror(errno);
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int rc = ::bind(sock, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
    const int err = errno;
    ::close(sock);
    if (rc != 0 && err == EADDRINUSE) return where + " is already in use";
    if (rc != 0) return "cannot bind " + where + ": " + std::strerror(err);
    return "cannot bind " + where;
  }

  /// Sleeps up to `d`; false when the server is stopping.
  bool pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !wake_.wait_for(lock, d, [this] { return stopping_; });
  }

  void serve(const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard lock(mu_);
      ++requests_;
      peak_in_flight_ = std::max(peak_in_flight_, ++in_flight_);
    }
    struct leave {
      simulator_server& self;
      ~leave() {
        std::lock_guard lock(self.mu_);
        --self.in_flight_;
      }
    } counted{*this};
    http_request r;
    r.method = req.method;
    r.url = base_url_ + req.target;
    for (const auto& [k, v] : req.headers) r.headers.emplace_back(k, v);
    const fault f = faults_.decide(r);
    if (faults_.options().latency.count() > 0 && !pause(faults_.options().latency)) return unavailable(res);
    if (f == fault::hang) {
      pause(std::chrono::hours(1));  // "never" answers: released by stop()
      return unavailable(res);
    }
    http_response out = sim_(r);
    fault_injector::apply(f, out);
    res.status = out.status;
    const auto type = out.header("Content-Type");
    res.set_content(out.body, type.empty() ? "application/json" : std::string(type).c_str());
  }

  static void unavailable(httplib::Response& res) {
    res.status = 503;
    res.set_content(detail::xroad_error_body("Server.ServerProxy.Stopping", "the simulator is stopping"), "application/json");
  }

  simulator sim_;
  fault_injector faults_;
  httplib::Server server_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::size_t requests_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t peak_in_flight_ = 0;
  int port_ = -1;
  std::string base_url_;
  ::socket_t listen_socket_ = -1;
};

}  // namespace xroad_sim
