#pragma once
// What ondemand_collector and ondemand_consumer share: the command-line errors, the store and address
// URLs they take, stop signals, the health answer and the JSON report.

#include <pthread.h>
#include <signal.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>
#include <tributary/index/postgres.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/redact.hpp>
#include <tributary/server/message.hpp>

namespace tributary::examples::ondemand {

/// A command line that cannot work; main prints it with the usage and exits 2.
struct usage_error {
  std::string message;
};

inline std::uint64_t positive_integer(std::string_view flag, std::string_view text) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v == 0)
    throw usage_error{std::string(flag) + " wants a positive integer, not '" + std::string(text) + "'"};
  return v;
}

/// "sqlite:PATH" or "sqlite:///abs/path": the SQLite file's path.
inline std::string sqlite_path(std::string_view flag, const std::string& url) {
  if (url.starts_with("sqlite://")) {
    try {
      return sqlite_index::parse_url(url);
    } catch (const error& e) {
      throw usage_error{std::string(flag) + ": " + e.what()};
    }
  }
  if (url.starts_with("sqlite:")) {
    if (url.size() == 7) throw usage_error{std::string(flag) + " sqlite:PATH needs a PATH"};
    return url.substr(7);
  }
  throw usage_error{std::string(flag) + " " + detail::quote_url(url) + ": give sqlite:PATH (a file, created when missing) or "
                    "postgres://USER@HOST:PORT/DB"};
}

/// Checks that `url` names a store with_store opens (a usage error otherwise), before anything starts.
inline void check_store_url(std::string_view flag, const std::string& url) {
  if (!postgres_index::is_postgres_url(url)) (void)sqlite_path(flag, url);
}

/// Opens the store `url` names, SQLite or PostgreSQL, and calls f(store, reopen): `reopen()` opens
/// another connection to the same store (a shared_ptr), for a thread of its own. A store that cannot be
/// opened throws tributary::error naming it (without its password).
template <class F>
decltype(auto) with_store(std::string_view flag, const std::string& url, F&& f) {
  if (postgres_index::is_postgres_url(url)) {
    auto store = postgres_index::open_url(url);
    return f(store, [url] { return std::make_shared<postgres_index>(postgres_index::open_url(url)); });
  }
  const std::string path = sqlite_path(flag, url);
  sqlite_index store(path);
  return f(store, [path] { return std::make_shared<sqlite_index>(path); });
}

struct listen_address {
  std::string address;
  std::uint16_t port = 0;
};

/// "ADDR:PORT" (numeric address; [v6] in brackets). Port 0 picks a free one.
inline listen_address parse_listen(std::string_view flag, std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) throw usage_error{std::string(flag) + " wants ADDR:PORT, not '" + std::string(text) + "'"};
  listen_address out;
  out.address = std::string(text.substr(0, colon));
  if (out.address.size() > 2 && out.address.front() == '[' && out.address.back() == ']') out.address = out.address.substr(1, out.address.size() - 2);
  const std::string_view port = text.substr(colon + 1);
  unsigned long p = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p > 65535)
    throw usage_error{std::string(flag) + ": '" + std::string(port) + "' is not a port (0 to 65535)"};
  out.port = static_cast<std::uint16_t>(p);
  return out;
}

/// "http://ADDR:PORT/PATH" for a service to listen on: the address and the path (default /rpc).
inline std::pair<listen_address, std::string> parse_http_listen(std::string_view flag, std::string_view url) {
  if (!url.starts_with("http://"))
    throw usage_error{std::string(flag) + " wants http://ADDR:PORT/PATH or amqp://USER:PASSWORD@HOST:PORT/, not " + detail::quote_url(url)};
  std::string_view rest = url.substr(7);
  const auto slash = rest.find('/');
  const std::string path = slash == std::string_view::npos ? "/rpc" : std::string(rest.substr(slash));
  if (slash != std::string_view::npos) rest = rest.substr(0, slash);
  if (path.size() < 2) throw usage_error{std::string(flag) + ": the path after the port must not be empty (say /rpc)"};
  return {parse_listen(flag, rest), path};
}

/// SIGINT and SIGTERM, blocked in every thread (call before any thread starts) and taken by
/// wait_for_stop, so that shutdown runs on the main thread, in order.
class stop_signals {
 public:
  stop_signals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  /// The signal that came within `wait`, or 0.
  int wait_for(std::chrono::milliseconds wait) {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(wait.count() / 1000);
    ts.tv_nsec = static_cast<long>((wait.count() % 1000) * 1'000'000);
    const int s = sigtimedwait(&set_, nullptr, &ts);
    return s > 0 ? s : 0;
  }

 private:
  sigset_t set_{};
};

/// One dependency's state for the health endpoint: empty when up, else why it is down.
struct dependency {
  std::string name;
  std::string problem;
};

/// 200 {"status":"ok",...} when every dependency is up, else 503 naming each one down and why.
inline server_response health_response(const std::vector<dependency>& deps) {
  std::string body = "{\"status\":";
  bool up = true;
  for (const auto& d : deps) up = up && d.problem.empty();
  body += up ? "\"ok\"" : "\"down\"";
  body += ",\"dependencies\":{";
  for (std::size_t i = 0; i < deps.size(); ++i) {
    if (i) body += ',';
    detail::append_quoted(body, deps[i].name);
    body += ':';
    detail::append_quoted(body, deps[i].problem.empty() ? std::string("ok") : "down: " + redact_urls_in(deps[i].problem));
  }
  body += "}}";
  return server_response::json(up ? 200 : 503, std::move(body));
}

/// Prints the report as one JSON line on stdout, and writes it to `file` when one is given.
inline void write_report(const std::string& json, const std::string& file) {
  std::cout << json << std::endl;
  if (file.empty()) return;
  std::ofstream out(file, std::ios::trunc);
  out << json << '\n';
  if (!out.flush()) std::cerr << "cannot write the report to " << file << "\n";
}

/// The store as /health sees it: one read at a time on a connection of its own (the owner's writes use
/// another), from whichever serving thread asks.
class store_probe {
 public:
  template <class Store>
  explicit store_probe(std::shared_ptr<Store> store)
      : read_([store = std::move(store)](std::string_view index) { (void)store->index_exists(index); }) {}

  /// Empty when the store answers a read; else why not.
  [[nodiscard]] std::string check(std::string_view index) {
    std::lock_guard lock(*mu_);
    try {
      read_(index);
      return {};
    } catch (const error& e) {
      return e.what();
    }
  }

 private:
  std::unique_ptr<std::mutex> mu_ = std::make_unique<std::mutex>();  // held apart: the probe moves
  std::function<void(std::string_view)> read_;
};

}  // namespace tributary::examples::ondemand
