#pragma once
// The POSIX socket work of the HTTP server: a listening socket bound without SO_REUSEPORT, and
// reads and writes on non-blocking sockets that wait in poll() with a deadline and, where asked, for
// the server's stop signal (a pipe whose read end turns readable once, for every waiter, at stop).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include <tributary/error.hpp>

namespace tributary::detail::net {

using steady = std::chrono::steady_clock;

class unique_fd {
 public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~unique_fd() { reset(); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

/// "127.0.0.1:8080" or "[::1]:8080".
inline std::string endpoint_text(const sockaddr_storage& a) {
  char host[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
    ::inet_ntop(AF_INET6, &v6.sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(v6.sin6_port));
  }
  const auto& v4 = reinterpret_cast<const sockaddr_in&>(a);
  ::inet_ntop(AF_INET, &v4.sin_addr, host, sizeof host);
  return std::string(host) + ":" + std::to_string(ntohs(v4.sin_port));
}

/// A listening, non-blocking socket on a numeric address (IPv4 or IPv6) and port (0: ephemeral).
/// SO_REUSEADDR rebinds a port whose old connections linger in TIME_WAIT; SO_REUSEPORT is never set,
/// so a port another server listens on is refused instead of shared (the kernel would spread the
/// connections over both). Returns the socket and the port it got.
inline std::pair<unique_fd, std::uint16_t> listen_on(const std::string& address, std::uint16_t port, int backlog) {
  const std::string where = (address.find(':') != std::string::npos ? "[" + address + "]" : address) + ":" +
                            std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
  addrinfo* found = nullptr;
  if (::getaddrinfo(address.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || found == nullptr)
    throw error(errc::invalid_config, "http_server: '" + address + "' is not a numeric IPv4 or IPv6 address");
  struct release {
    addrinfo* p;
    ~release() { ::freeaddrinfo(p); }
  } released{found};
  unique_fd fd(::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw error(errc::invalid_config, "http_server: cannot open a socket: " + std::string(std::strerror(errno)));
  int yes = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  if (::bind(fd.get(), found->ai_addr, found->ai_addrlen) != 0) {
    const int err = errno;
    if (err == EADDRINUSE) throw error(errc::already_exists, "http_server: " + where + " is already in use");
    throw error(errc::invalid_config, "http_server: cannot bind " + where + ": " + std::strerror(err));
  }
  if (::listen(fd.get(), backlog) != 0)
    throw error(errc::invalid_config, "http_server: cannot listen on " + where + ": " + std::strerror(errno));
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len);
  const auto bound_port = bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(bound).sin6_port
                                                      : reinterpret_cast<sockaddr_in&>(bound).sin_port;
  return {std::move(fd), ntohs(bound_port)};
}

enum class wait_result { ready, timed_out, stopped, failed };

/// Waits until `fd` is ready for `events` (POLLIN or POLLOUT), the deadline passes or, when
/// `stop_fd` >= 0, the stop pipe turns readable.
inline wait_result wait_for(int fd, short events, steady::time_point deadline, int stop_fd) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - steady::now()).count();
    if (left <= 0) return wait_result::timed_out;
    pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
    const int n = ::poll(fds, stop_fd >= 0 ? 2 : 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return wait_result::failed;
    if (n == 0) continue;  // the deadline is checked above
    if (stop_fd >= 0 && (fds[1].revents & POLLIN)) return wait_result::stopped;
    if (fds[0].revents & (events | POLLHUP | POLLERR)) return wait_result::ready;
  }
}

enum class io_result { ok, closed, timed_out, stopped, failed };

/// Reads what is there (at most `max` bytes) onto `buffer`, waiting as wait_for() does.
inline io_result read_some(int fd, std::string& buffer, std::size_t max, steady::time_point deadline, int stop_fd) {
  for (;;) {
    const std::size_t old = buffer.size();
    buffer.resize(old + max);
    const ssize_t n = ::recv(fd, buffer.data() + old, max, 0);
    buffer.resize(old + (n > 0 ? static_cast<std::size_t>(n) : 0));
    if (n > 0) return io_result::ok;
    if (n == 0) return io_result::closed;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return io_result::failed;
    switch (wait_for(fd, POLLIN, deadline, stop_fd)) {
      case wait_result::ready: continue;
      case wait_result::timed_out: return io_result::timed_out;
      case wait_result::stopped: return io_result::stopped;
      case wait_result::failed: return io_result::failed;
    }
  }
}

/// Writes all of `data`; each wait for the socket to take more is bounded by `timeout`, so a slow
/// reader of a long streamed answer is not cut off while a stalled one is.
inline io_result write_all(int fd, std::string_view data, std::chrono::milliseconds timeout) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return io_result::failed;
    const auto waited = wait_for(fd, POLLOUT, steady::now() + timeout, -1);
    if (waited == wait_result::timed_out) return io_result::timed_out;
    if (waited != wait_result::ready) return io_result::failed;
  }
  return io_result::ok;
}

}  // namespace tributary::detail::net
