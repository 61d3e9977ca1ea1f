#pragma once
// basic_http_server<Handler, Executor>: a small HTTP/1.1 server that hands each request to a
// request_handler and serves connections on an executor the user passes in.
//
//   thread_pool pool(8, 256);                         the user's threads, sized by the user
//   basic_http_server server(pool, handler_from([](server_request& r) { ... }), {.port = 0});
//   const std::uint16_t port = server.start();        127.0.0.1 and an ephemeral port by default
//   ...
//   server.stop();                                    in-flight requests get stop_timeout to finish
//
// Why our own server on POSIX sockets instead of wrapping cpp-httplib: Debian ships cpp-httplib as a
// compiled library (libcpp-httplib.so, with TLS and compression switched on by definitions the
// header's layout depends on), which would make a header-only library depend on a compiled one that
// ThreadSanitizer cannot see into; its 0.11 server reads and discards a too-large body before
// answering 413, reads with a per-call timeout rather than a per-request one, sets SO_REUSEPORT (two
// servers silently share a port), and its stop() has no bound. What the coming services need (a
// request body limit answered before the body is read, per-request read deadlines, a bounded
// graceful stop, a stop signal handlers can wait on, chunked streaming of large answers) is a few
// hundred lines of HTTP/1.1 over poll(), all of it ours to test and fuzz. cpp-httplib stays a
// developer dependency for tests that need a deliberately misbehaving server.
//
// Threads: the server owns one thread, the acceptor, which accepts and watches idle connections (new
// ones, and kept-alive ones between requests) in one poll(). A connection on which a request starts
// arriving becomes a task on the executor, which serves the requests it has ready and hands it back.
// So a thread_pool of N threads answers N requests at once and holds any number of idle connections;
// requests beyond N wait in its queue, and when the queue is full the acceptor waits (the kernel's
// listen backlog holds new connections meanwhile).
//
// Limits, all in server_options: a request head over max_head_bytes is answered 431; a declared body
// over max_body_bytes is answered 413 from the head alone, before any of the body is read (to a
// client that sent Expect: 100-continue, before it sends any); a request not complete within
// read_timeout of its first byte is answered 408; a connection silent for idle_timeout is closed;
// a client that takes nothing of the answer for write_timeout is dropped. Not yet served: chunked
// request bodies (answered 501), TLS, HTTP/2.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tributary/error.hpp>
#include <tributary/execution/concepts.hpp>
#include <tributary/execution/thread_pool.hpp>
#include <tributary/server/concepts.hpp>
#include <tributary/server/detail/http1.hpp>
#include <tributary/server/detail/socket.hpp>
#include <tributary/server/message.hpp>

namespace tributary {

struct server_options {
  std::string address = "127.0.0.1";  ///< a numeric IPv4 or IPv6 address; "0.0.0.0" for every interface
  std::uint16_t port = 0;             ///< 0: an ephemeral port, reported by start()
  std::size_t max_body_bytes = std::size_t{8} << 20;  ///< larger declared bodies are answered 413 unread
  std::size_t max_head_bytes = std::size_t{64} << 10;  ///< request line and headers; larger: 431
  std::chrono::milliseconds read_timeout{10'000};      ///< from a request's first byte to the end of its body
  std::chrono::milliseconds write_timeout{10'000};     ///< each wait for the client to take more of the answer
  std::chrono::milliseconds idle_timeout{5'000};       ///< silence allowed before a request (keep-alive)
  std::chrono::milliseconds stop_timeout{5'000};       ///< graceful stop: how long in-flight requests get
  int backlog = SOMAXCONN;                             ///< connections the kernel holds before accept

  /// Throws error(errc::invalid_config) naming the first problem.
  void validate() const {
    auto fail = [](const std::string& what) { throw error(errc::invalid_config, "server_options: " + what); };
    if (max_head_bytes < 64) fail("max_head_bytes must be at least 64");
    if (read_timeout <= std::chrono::milliseconds::zero()) fail("read_timeout must be positive");
    if (write_timeout <= std::chrono::milliseconds::zero()) fail("write_timeout must be positive");
    if (idle_timeout <= std::chrono::milliseconds::zero()) fail("idle_timeout must be positive");
    if (stop_timeout < std::chrono::milliseconds::zero()) fail("stop_timeout must not be negative");
    if (backlog <= 0) fail("backlog must be positive");
  }
};

template <class Handler, class Executor = thread_pool>
class basic_http_server {
  static_assert(request_handler<Handler>,
                "basic_http_server: Handler does not model tributary::request_handler (see server/concepts.hpp)");
  static_assert(executor<Executor>, "basic_http_server: Executor does not model tributary::executor (see execution/concepts.hpp)");

 public:
  /// The executor is the user's and must outlive the server. Throws error(errc::invalid_config) for
  /// bad options.
  basic_http_server(Executor& executor, Handler handler, server_options options = {})
      : executor_(&executor), handler_(std::move(handler)), options_(std::move(options)) {
    options_.validate();
  }
  basic_http_server(const basic_http_server&) = delete;
  basic_http_server& operator=(const basic_http_server&) = delete;
  ~basic_http_server() { stop(); }

  /// Binds, listens and starts accepting. Returns the port. Throws error(errc::already_exists)
  /// "http_server: 127.0.0.1:8080 is already in use" for a taken port, error(errc::invalid_config)
  /// for other failures to bind, std::logic_error when started before.
  std::uint16_t start() {
    std::lock_guard lifecycle(lifecycle_mu_);
    if (started_) throw std::logic_error("basic_http_server: start() called twice");
    auto [listener, port] = detail::net::listen_on(options_.address, options_.port, options_.backlog);
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0)
      throw error(errc::invalid_config, "http_server: cannot create the stop pipe");
    stop_read_.reset(pipe_fds[0]);
    stop_write_.reset(pipe_fds[1]);
    if (::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0)
      throw error(errc::invalid_config, "http_server: cannot create the wake pipe");
    wake_read_.reset(pipe_fds[0]);
    wake_write_.reset(pipe_fds[1]);
    listener_ = std::move(listener);
    port_ = port;
    acceptor_ = std::thread([this] { accept_loop(); });
    started_ = true;
    return port_;
  }

  /// Stops accepting, closes idle connections at once, lets requests in flight finish for up to
  /// options.stop_timeout (their handlers see request.stop requested), then cuts the connections of
  /// those still running and waits for their handlers to return. Idempotent; the destructor calls it.
  /// Never from a handler: it would wait for itself.
  void stop() {
    std::lock_guard lifecycle(lifecycle_mu_);
    if (!started_ || stopped_) return;
    stopped_ = true;
    {
      std::lock_guard lock(park_mu_);  // park() decides under this lock: to the acceptor, or closed
      stopping_.store(true);
    }
    stop_source_.request_stop();
    // One byte, never read: the pipe stays readable, so every wait that watches it wakes, now and later.
    [[maybe_unused]] const auto written = ::write(stop_write_.get(), "x", 1);
    std::unique_lock lock(conn_mu_);
    if (!conn_cv_.wait_for(lock, options_.stop_timeout, [this] { return open_ == 0; }))
      for (const int fd : serving_) ::shutdown(fd, SHUT_RDWR);  // reads and writes fail from now on
    lock.unlock();
    acceptor_.join();
    lock.lock();
    conn_cv_.wait(lock, [this] { return open_ == 0; });
    listener_.reset();
  }

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// "http://127.0.0.1:PORT" (IPv6 addresses in brackets).
  [[nodiscard]] std::string base_url() const {
    const bool v6 = options_.address.find(':') != std::string::npos;
    return "http://" + (v6 ? "[" + options_.address + "]" : options_.address) + ":" + std::to_string(port_);
  }
  /// Requests handed to the handler so far.
  [[nodiscard]] std::size_t requests() const noexcept { return requests_.load(); }
  /// Connections accepted and not yet closed (queued on the executor or being served).
  [[nodiscard]] std::size_t open_connections() const {
    std::lock_guard lock(conn_mu_);
    return open_;
  }
  [[nodiscard]] Handler& handler() noexcept { return handler_; }
  [[nodiscard]] const server_options& options() const noexcept { return options_; }

 private:
  struct connection {
    basic_http_server* server;
    detail::net::unique_fd fd;
    std::string peer;
    std::string buffer;  // bytes read past the current request stay here for the next (pipelining)
    detail::net::steady::time_point idle_until{};
    connection(basic_http_server* s, detail::net::unique_fd f, std::string p)
        : server(s), fd(std::move(f)), peer(std::move(p)) {}
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    // Closed under the server's lock, so stop() never shuts down a descriptor number reused meanwhile.
    ~connection() {
      std::lock_guard lock(server->conn_mu_);
      server->serving_.erase(fd.get());
      fd.reset();
      if (--server->open_ == 0) server->conn_cv_.notify_all();
    }
  };
  using connection_ptr = std::unique_ptr<connection>;

  /// The acceptor's loop: accepts connections and watches the idle ones (new, or kept alive between
  /// requests) in one poll(); a connection goes to the executor only once a request starts arriving,
  /// so a worker serves requests, never waits on a silent client, and a pool of N threads holds any
  /// number of kept-alive connections.
  void accept_loop() {
    std::vector<connection_ptr> idle;
    std::vector<pollfd> fds;
    for (;;) {
      {
        std::lock_guard lock(park_mu_);
        for (auto& c : parked_) idle.push_back(std::move(c));
        parked_.clear();
      }
      const auto now = detail::net::steady::now();
      // Idle past idle_timeout: closed without an answer.
      std::erase_if(idle, [&](const connection_ptr& c) { return c->idle_until <= now; });
      auto next_expiry = detail::net::steady::time_point::max();
      for (const auto& c : idle) next_expiry = std::min(next_expiry, c->idle_until);
      fds.assign({{listener_.get(), POLLIN, 0}, {stop_read_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}});
      for (const auto& c : idle) fds.push_back({c->fd.get(), POLLIN, 0});
      const int timeout = next_expiry == detail::net::steady::time_point::max()
                              ? -1
                              : static_cast<int>(std::clamp<long long>(
                                    std::chrono::ceil<std::chrono::milliseconds>(next_expiry - now).count(), 0, 1 << 30));
      if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) continue;
      if (fds[1].revents & POLLIN) {
        // stop(): the idle connections close with `idle`, and so do any parked since the last turn
        // (stopping_ is set, so no more arrive).
        std::vector<connection_ptr> late;
        std::lock_guard lock(park_mu_);
        late.swap(parked_);
        return;
      }
      if (fds[2].revents & POLLIN) {
        char drain[256];
        while (::read(wake_read_.get(), drain, sizeof drain) > 0) {}
      }
      // Readable (a request, or the client closing): to a worker. The rest stay idle.
      std::vector<connection_ptr> ready;
      for (std::size_t i = 0; i < idle.size(); ++i)
        if (fds[3 + i].revents != 0) ready.push_back(std::move(idle[i]));
      std::erase(idle, nullptr);
      for (auto& c : ready) dispatch(std::move(c));
      if (fds[0].revents & POLLIN) accept_new(idle);
    }
  }

  void accept_new(std::vector<connection_ptr>& idle) {
    for (int accepted = 0; accepted < 64; ++accepted) {
      sockaddr_storage peer{};
      socklen_t len = sizeof peer;
      const int fd = ::accept4(listener_.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        // Out of descriptors or memory: back off briefly instead of spinning on a readable listener.
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
          (void)detail::net::wait_for(stop_read_.get(), POLLIN, detail::net::steady::now() + std::chrono::milliseconds(10), -1);
        return;
      }
      int yes = 1;  // without TCP_NODELAY a small answer on a reused connection waits for a delayed ACK
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
      {
        std::lock_guard lock(conn_mu_);
        ++open_;
      }
      auto c = std::make_unique<connection>(this, detail::net::unique_fd(fd), detail::net::endpoint_text(peer));
      c->idle_until = detail::net::steady::now() + options_.idle_timeout;
      idle.push_back(std::move(c));
    }
  }

  /// To the executor, which may wait while it is full (the backpressure that stops accepting). Refused
  /// (the executor shut down): the task, and with it the connection, is destroyed.
  void dispatch(connection_ptr c) {
    (void)executor_->execute([c = std::move(c)]() mutable { c->server->serve(std::move(c)); });
  }

  /// Back to the acceptor's idle set between requests; closed instead when the server stops.
  void park(connection_ptr c) {
    {
      std::lock_guard lock(conn_mu_);
      serving_.erase(c->fd.get());
    }
    c->idle_until = detail::net::steady::now() + options_.idle_timeout;
    std::lock_guard lock(park_mu_);
    if (stopping_.load()) return;  // the acceptor may be gone: c closes here
    parked_.push_back(std::move(c));
    [[maybe_unused]] const auto written = ::write(wake_write_.get(), "w", 1);  // full pipe: a wake-up is pending anyway
  }

  /// Serves the requests a connection has ready, then parks it or lets it close.
  void serve(connection_ptr c) {
    {
      std::lock_guard lock(conn_mu_);
      if (stopping_.load()) return;
      serving_.insert(c->fd.get());
    }
    const int fd = c->fd.get();
    std::string& buffer = c->buffer;
    for (;;) {
      // The head. The connection came here readable, so a request is in flight from its first byte
      // and has read_timeout to arrive whole; stop() does not interrupt it.
      const auto deadline = detail::net::steady::now() + options_.read_timeout;
      std::size_t end = detail::http1::head_end(buffer);
      while (end == std::string::npos) {
        if (buffer.size() > options_.max_head_bytes) return refuse(fd, 431, "request head too large");
        const auto got = detail::net::read_some(fd, buffer, 16 << 10, deadline, -1);
        if (got != detail::net::io_result::ok) {
          if (got == detail::net::io_result::timed_out && !buffer.empty()) refuse(fd, 408, "request not received in time");
          return;
        }
        end = detail::http1::head_end(buffer);
      }
      if (end > options_.max_head_bytes) return refuse(fd, 431, "request head too large");
      auto parsed = detail::http1::parse_request_head(std::string_view(buffer).substr(0, end));
      buffer.erase(0, end);
      if (auto* bad = std::get_if<detail::http1::head_error>(&parsed)) return refuse(fd, bad->status, bad->reason);
      auto& head = std::get<detail::http1::request_head>(parsed);
      if (head.chunked) return refuse(fd, 501, "chunked request bodies are not served; send Content-Length");
      if (head.content_length > options_.max_body_bytes)
        return refuse(fd, 413, "request body larger than " + std::to_string(options_.max_body_bytes) + " bytes");

      // The body: a client that waits for 100 Continue sends it only now.
      if (head.expect_continue && head.content_length > buffer.size() &&
          detail::net::write_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", options_.write_timeout) != detail::net::io_result::ok)
        return;
      while (buffer.size() < head.content_length) {
        const auto want = std::min<std::size_t>(head.content_length - buffer.size(), 64 << 10);
        const auto got = detail::net::read_some(fd, buffer, want, deadline, -1);
        if (got == detail::net::io_result::timed_out) return refuse(fd, 408, "request body not received in time");
        if (got != detail::net::io_result::ok) return;
      }
      server_request request;
      request.method = std::move(head.method);
      request.target = std::move(head.target);
      detail::http1::split_target(request.target, request.path, request.query);
      request.headers = std::move(head.headers);
      request.body = buffer.substr(0, head.content_length);
      buffer.erase(0, head.content_length);
      request.peer = c->peer;
      request.stop = stop_source_.get_token();

      requests_.fetch_add(1);
      server_response response;
      bool handler_failed = false;
      try {
        response = handler_.handle(request);
      } catch (...) {
        // The exception's text may hold internals; the client learns only that it failed.
        response = server_response::text(500, "internal server error\n");
        handler_failed = true;
      }
      const bool keep_alive = head.keep_alive && !handler_failed && !stopping_.load();
      if (!respond(fd, request.method, head.minor_version, response, keep_alive) || !keep_alive) return;
      if (buffer.empty()) return park(std::move(c));  // else a pipelined request is already here
    }
  }

  class chunk_writer final : public body_writer {
   public:
    chunk_writer(int fd, std::chrono::milliseconds timeout, bool chunked) : fd_(fd), timeout_(timeout), chunked_(chunked) {}
    bool write(std::string_view piece) override {
      if (!ok_ || piece.empty()) return ok_;
      if (chunked_) {
        char size[20];
        const int n = std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
        ok_ = send(std::string_view(size, static_cast<std::size_t>(n))) && send(piece) && send("\r\n");
      } else {
        ok_ = send(piece);
      }
      return ok_;
    }
    [[nodiscard]] bool ok() const noexcept { return ok_; }

   private:
    bool send(std::string_view s) { return detail::net::write_all(fd_, s, timeout_) == detail::net::io_result::ok; }
    int fd_;
    std::chrono::milliseconds timeout_;
    bool chunked_;
    bool ok_ = true;
  };

  /// Writes the answer. false when the connection can no longer be used.
  bool respond(int fd, const std::string& method, int minor_version, server_response& response, bool keep_alive) {
    using detail::http1::framing;
    const bool body = detail::http1::has_body(response.status, method);
    if (response.stream) {
      // HTTP/1.0 has no chunked coding: the body then ends where the connection does.
      const bool chunked = minor_version >= 1;
      if (!chunked) keep_alive = false;
      const auto head = detail::http1::response_head(response.status, response.headers,
                                                     chunked ? framing::chunked : framing::until_close, 0, !keep_alive);
      if (detail::net::write_all(fd, head, options_.write_timeout) != detail::net::io_result::ok) return false;
      if (!body) return keep_alive;
      chunk_writer writer(fd, options_.write_timeout, chunked);
      try {
        response.stream(writer);
      } catch (...) {
        return false;  // the head is out: only an unfinished body can tell the client it failed
      }
      if (!writer.ok()) return false;
      return !chunked || detail::net::write_all(fd, "0\r\n\r\n", options_.write_timeout) == detail::net::io_result::ok;
    }
    std::string out = detail::http1::response_head(response.status, response.headers, framing::length,
                                                   response.body.size(), !keep_alive);
    if (body) {
      // One write for small answers (one packet with TCP_NODELAY), two for large ones (no copy).
      if (response.body.size() <= (64 << 10)) {
        out += response.body;
      } else if (detail::net::write_all(fd, out, options_.write_timeout) != detail::net::io_result::ok) {
        return false;
      } else {
        out.clear();
        out.swap(response.body);
      }
    }
    return detail::net::write_all(fd, out, options_.write_timeout) == detail::net::io_result::ok;
  }

  /// Answers an error and ends the connection. A request's unread body may still be arriving; closing
  /// with unread bytes makes the kernel send a reset, which can overtake the answer at the client. So
  /// the sending side is shut first and what arrives is discarded for a short, bounded while (a
  /// lingering close), never read into memory.
  void refuse(int fd, int status, const std::string& reason) {
    server_response r = server_response::text(status, reason + "\n");
    if (!respond(fd, "GET", 1, r, false)) return;
    ::shutdown(fd, SHUT_WR);
    const auto until = detail::net::steady::now() + std::chrono::milliseconds(500);
    std::size_t discarded = 0;
    std::string sink;
    while (discarded < (std::size_t{4} << 20)) {
      sink.clear();
      if (detail::net::read_some(fd, sink, 64 << 10, until, -1) != detail::net::io_result::ok) break;
      discarded += sink.size();
    }
  }

  Executor* executor_;
  Handler handler_;
  server_options options_;

  std::mutex lifecycle_mu_;
  bool started_ = false, stopped_ = false;
  std::atomic<bool> stopping_{false};
  std::stop_source stop_source_;
  detail::net::unique_fd listener_, stop_read_, stop_write_, wake_read_, wake_write_;
  std::mutex park_mu_;
  std::vector<connection_ptr> parked_;  // handed back by workers, taken by the acceptor
  std::uint16_t port_ = 0;
  std::thread acceptor_;

  mutable std::mutex conn_mu_;
  std::condition_variable conn_cv_;
  std::size_t open_ = 0;
  std::set<int> serving_;
  std::atomic<std::size_t> requests_{0};
};

/// The shipped configuration: connections served on a thread_pool.
template <class Handler>
using http_server = basic_http_server<Handler, thread_pool>;

}  // namespace tributary
