// The HTTP server over real loopback connections, with curl_transport as the client (and raw sockets
// where a client must misbehave): routing to the handler, keep-alive, 413 before the body is read,
// 431, read, idle and write timeouts, streamed answers, a handler's exception, stopping with requests
// in flight, and a port in use. The request head parser is checked alone first.

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <tributary/execution/inline_executor.hpp>
#include <tributary/execution/thread_pool.hpp>
#include <tributary/server/archetypes.hpp>
#include <tributary/server/http_server.hpp>
#include <tributary/transport/curl.hpp>

#include "support/common.hpp"

namespace tributary {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using tributary::testing::contains;
using tributary::testing::thrown_by;

// --- concepts -------------------------------------------------------------------------------------

struct handler_lookalike {  // the right member, no tag
  server_response handle(server_request&) { return {}; }
};
static_assert(request_handler<archetypes::request_handler>);
static_assert(!request_handler<handler_lookalike>, "a type without the request_handler tag must not be accepted");
static_assert(request_handler<decltype(handler_from([](server_request&) { return server_response{}; }))>);

// --- the head parser alone ------------------------------------------------------------------------

std::variant<detail::http1::request_head, detail::http1::head_error> parse(std::string_view head) {
  return detail::http1::parse_request_head(head);
}
int refused_with(std::string_view head) {
  const auto r = parse(head);
  const auto* e = std::get_if<detail::http1::head_error>(&r);
  return e ? e->status : 0;
}

TEST(Http1Parser, ReadsARequestHead) {
  const auto r = parse("\r\nPOST /a/b?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\nX-Thing:  spaced value \r\n"
                       "Expect: 100-continue\r\n\r\n");
  ASSERT_TRUE(std::holds_alternative<detail::http1::request_head>(r));
  const auto& h = std::get<detail::http1::request_head>(r);
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.target, "/a/b?x=1");
  EXPECT_EQ(h.content_length, 12u);
  EXPECT_TRUE(h.keep_alive);
  EXPECT_TRUE(h.expect_continue);
  ASSERT_EQ(h.headers.size(), 4u);
  EXPECT_EQ(h.headers[2], (std::pair<std::string, std::string>("X-Thing", "spaced value")));

  const auto old = parse("GET / HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(std::holds_alternative<detail::http1::request_head>(old)) << "HTTP/1.0 needs no Host";
  EXPECT_FALSE(std::get<detail::http1::request_head>(old).keep_alive);
  EXPECT_FALSE(std::get<detail::http1::request_head>(parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n")).keep_alive);
  EXPECT_EQ(std::get<detail::http1::request_head>(parse("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n"))
                .content_length,
            std::numeric_limits<std::size_t>::max())
      << "an overflowing length saturates: over any limit, never wrapped to a small one";
}

TEST(Http1Parser, RefusesWhatTwoPartiesCouldReadTwoWays) {
  EXPECT_EQ(refused_with("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  EXPECT_EQ(refused_with("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"), 400);
  EXPECT_EQ(refused_with("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"), 0);
  EXPECT_EQ(refused_with("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -5\r\n\r\n"), 400);
  EXPECT_EQ(refused_with("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n folded\r\n\r\n"), 400);
  EXPECT_EQ(refused_with("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), 400);
  EXPECT_EQ(refused_with("GET / HTTP/1.1\r\n\r\n"), 400) << "HTTP/1.1 needs a Host";
  EXPECT_EQ(refused_with("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
  EXPECT_EQ(refused_with("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(refused_with("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505);
  EXPECT_EQ(refused_with("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n"), 501);
  EXPECT_EQ(refused_with("GET / HTTP/1.1\r\nHost: h\r\nExpect: something\r\n\r\n"), 417);
  EXPECT_EQ(refused_with("G\x01T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
  EXPECT_EQ(refused_with(std::string_view("GET / HTTP/1.1\r\nHost: h\x00x\r\n\r\n", 30)), 400);
}

TEST(Http1Parser, SplitsTheTargetAndDecodesTheQuery) {
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  detail::http1::split_target("/r1/EE%2FX/listMethods?serviceCode=get%20Person&flag&a+b=c%2&=v#frag", path, query);
  EXPECT_EQ(path, "/r1/EE%2FX/listMethods") << "the path stays encoded";
  ASSERT_EQ(query.size(), 4u);
  EXPECT_EQ(query[0], (std::pair<std::string, std::string>("serviceCode", "get Person")));
  EXPECT_EQ(query[1], (std::pair<std::string, std::string>("flag", "")));
  EXPECT_EQ(query[2], (std::pair<std::string, std::string>("a b", "c%2"))) << "a malformed escape stays as sent";
  EXPECT_EQ(query[3], (std::pair<std::string, std::string>("", "v")));
}

// --- helpers --------------------------------------------------------------------------------------

const curl_library& curl() {
  static const curl_library library;  // one per test process, as curl_global_init wants
  return library;
}
curl_options one_attempt() {
  curl_options o;
  o.max_attempts = 1;
  o.connect_timeout = 5s;
  o.total_timeout = 20s;
  return o;
}
http_request get(const std::string& url, http_headers headers = {}) {
  http_request r;
  r.url = url;
  r.headers = std::move(headers);
  return r;
}
http_request post(const std::string& url, std::string body, http_headers headers = {}) {
  http_request r;
  r.method = "POST";
  r.url = url;
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.idempotent = false;
  return r;
}

/// A raw client connection to 127.0.0.1:port, for requests curl would never send.
class raw_client {
 public:
  explicit raw_client(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("raw_client: cannot connect");
  }
  ~raw_client() { ::close(fd_); }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;
  void send(std::string_view s) { ASSERT_EQ(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size())); }
  /// Everything until the server closes, or what came before `timeout`.
  std::string read_until_closed(std::chrono::milliseconds timeout = 5s) {
    std::string out;
    const auto until = steady::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - steady::now()).count();
      if (left <= 0) return out;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) return out;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        return out;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  [[nodiscard]] bool closed() const noexcept { return closed_; }
  [[nodiscard]] int fd() const noexcept { return fd_; }

 private:
  int fd_;
  bool closed_ = false;
};

/// An echo of what the handler saw, one field a line.
server_response echo(server_request& r) {
  std::string out = "method=" + r.method + "\npath=" + r.path + "\n";
  for (const auto& [k, v] : r.query) out += "query " + k + "=" + v + "\n";
  out += "x-test=" + std::string(r.header("x-test").value_or("<none>")) + "\n";
  out += "body=" + r.body + "\npeer=" + r.peer + "\n";
  auto res = server_response::text(r.path == "/missing" ? 404 : 200, std::move(out));
  res.headers.emplace_back("X-Served-By", "tributary");
  res.headers.emplace_back("Content-Length", "999");  // the server owns the framing: ignored
  return res;
}

// --- over loopback ------------------------------------------------------------------------------------

TEST(HttpServer, RoutesRequestsToTheHandler) {
  thread_pool pool(2, 16);
  basic_http_server server(pool, handler_from(echo));
  const auto port = server.start();
  ASSERT_GT(port, 0);
  EXPECT_EQ(server.base_url(), "http://127.0.0.1:" + std::to_string(port));
  curl_transport client(curl(), one_attempt());

  auto res = client.perform(get(server.base_url() + "/a/b?x=1&name=J%C3%BCri+T&empty", {{"X-Test", "yes"}}));
  ASSERT_TRUE(res.error.empty()) << res.error;
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(res.header("X-Served-By"), "tributary");
  EXPECT_TRUE(contains(res.body, "method=GET\npath=/a/b\nquery x=1\nquery name=J\xC3\xBCri T\nquery empty=\nx-test=yes\n"))
      << res.body;
  EXPECT_TRUE(contains(res.body, "peer=127.0.0.1:")) << res.body;

  res = client.perform(post(server.base_url() + "/submit", "{\"a\": 1}", {{"Content-Type", "application/json"}}));
  EXPECT_EQ(res.status, 200);
  EXPECT_TRUE(contains(res.body, "method=POST\npath=/submit\n")) << res.body;
  EXPECT_TRUE(contains(res.body, "body={\"a\": 1}\n")) << res.body;

  res = client.perform(get(server.base_url() + "/missing"));
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(server.requests(), 3u);
}

TEST(HttpServer, KeepsConnectionsAliveAndServesPipelinedRequests) {
  thread_pool pool(2, 16);
  basic_http_server server(pool, handler_from(echo));
  const auto port = server.start();
  curl_transport client(curl(), one_attempt());
  std::set<std::string> peers;
  for (int i = 0; i < 5; ++i) {
    const auto res = client.perform(get(server.base_url() + "/k"));
    ASSERT_EQ(res.status, 200) << res.error;
    peers.insert(res.body.substr(res.body.find("peer=")));
  }
  EXPECT_EQ(peers.size(), 1u) << "five requests, one connection";

  // Two requests in one write: both answered, in order, on the same connection.
  raw_client raw(port);
  raw.send("GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const auto both = raw.read_until_closed();
  const auto one = both.find("path=/one"), two = both.find("path=/two");
  ASSERT_NE(one, std::string::npos) << both;
  ASSERT_NE(two, std::string::npos) << both;
  EXPECT_LT(one, two);
  EXPECT_TRUE(raw.closed()) << "Connection: close is honoured";
}

TEST(HttpServer, AnswersATooLargeBodyWith413BeforeReadingIt) {
  thread_pool pool(2, 16);
  server_options o;
  o.max_body_bytes = 1000;
  basic_http_server server(pool, handler_from(echo), o);
  const auto port = server.start();

  // Declared, never sent: the answer comes from the head alone.
  raw_client raw(port);
  raw.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n");
  const auto t0 = steady::now();
  const auto answer = raw.read_until_closed();
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 413 ")) << answer;
  EXPECT_TRUE(contains(answer, "Connection: close")) << answer;
  EXPECT_LT(steady::now() - t0, 3s);

  // curl sends Expect: 100-continue for a large body and hears 413 before sending it; a small body
  // that is still over the limit is sent at once and is refused all the same.
  curl_transport client(curl(), one_attempt());
  auto res = client.perform(post(server.base_url() + "/upload", std::string(4 << 20, 'x')));
  EXPECT_EQ(res.status, 413) << res.error;
  res = client.perform(post(server.base_url() + "/upload", std::string(1001, 'x')));
  EXPECT_EQ(res.status, 413) << res.error;
  {
    raw_client sender(port);  // no Expect: the body follows the head at once, and is not read
    sender.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\n\r\n" + std::string(200000, 'y'));
    EXPECT_TRUE(sender.read_until_closed().starts_with("HTTP/1.1 413 "));
  }
  res = client.perform(post(server.base_url() + "/upload", std::string(1000, 'x')));
  EXPECT_EQ(res.status, 200) << "exactly the limit is allowed: " << res.error;
  EXPECT_EQ(server.requests(), 1u) << "the handler never saw a refused request";
}

TEST(HttpServer, AnswersATooLargeHeadWith431AndMalformedOnesWith400) {
  thread_pool pool(2, 16);
  server_options o;
  o.max_head_bytes = 1024;
  basic_http_server server(pool, handler_from(echo), o);
  const auto port = server.start();
  {
    raw_client raw(port);
    raw.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
    EXPECT_TRUE(raw.read_until_closed().starts_with("HTTP/1.1 431 "));
  }
  {
    raw_client raw(port);
    raw.send("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
    const auto answer = raw.read_until_closed();
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 400 ")) << answer;
    EXPECT_TRUE(contains(answer, "both Content-Length and Transfer-Encoding")) << answer;
  }
  EXPECT_EQ(server.requests(), 0u);
}

TEST(HttpServer, AnswersASlowRequestWith408AndClosesIdleConnections) {
  thread_pool pool(2, 16);
  server_options o;
  o.read_timeout = 200ms;
  o.idle_timeout = 300ms;
  basic_http_server server(pool, handler_from(echo), o);
  const auto port = server.start();
  {
    raw_client raw(port);  // half a head, then nothing
    raw.send("GET / HTTP/1.1\r\nHost: x\r\n");
    const auto t0 = steady::now();
    const auto answer = raw.read_until_closed();
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 408 ")) << answer;
    EXPECT_GE(steady::now() - t0, 150ms);
    EXPECT_LT(steady::now() - t0, 3s);
  }
  {
    raw_client raw(port);  // a whole head, half the body
    raw.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345");
    EXPECT_TRUE(raw.read_until_closed().starts_with("HTTP/1.1 408 "));
  }
  {
    raw_client raw(port);  // nothing at all: closed without an answer after the idle timeout
    const auto t0 = steady::now();
    EXPECT_EQ(raw.read_until_closed(), "");
    EXPECT_TRUE(raw.closed());
    EXPECT_GE(steady::now() - t0, 250ms);
    EXPECT_LT(steady::now() - t0, 3s);
  }
  EXPECT_EQ(server.requests(), 0u);
}

TEST(HttpServer, StreamsABodyInChunksAndStopsWhenTheClientStopsReading) {
  thread_pool pool(2, 16);
  std::atomic<bool> write_failed{false};
  std::atomic<std::size_t> written{0};
  server_options o;
  o.write_timeout = 200ms;
  basic_http_server server(pool, handler_from([&](server_request& r) {
    server_response res;
    res.headers.emplace_back("Content-Type", "application/json");
    if (r.path == "/endless") {
      res.stream = [&](body_writer& w) {
        const std::string piece(64 << 10, 'x');
        while (w.write(piece)) written += piece.size();
        write_failed = true;
      };
    } else {
      res.stream = [](body_writer& w) {
        w.write("[");
        for (int i = 0; i < 1000; ++i) w.write((i ? ",{\"id\":" : "{\"id\":") + std::to_string(i) + "}");
        w.write("]");
      };
    }
    return res;
  }), o);
  const auto port = server.start();
  curl_transport client(curl(), one_attempt());
  const auto res = client.perform(get(server.base_url() + "/entities"));
  ASSERT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(res.header("Transfer-Encoding"), "chunked");
  EXPECT_TRUE(res.body.starts_with("[{\"id\":0},{\"id\":1},")) << res.body.substr(0, 100);
  EXPECT_TRUE(res.body.ends_with(",{\"id\":999}]"));

  raw_client stalled(port);  // asks for an endless answer and never reads it
  stalled.send("GET /endless HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE([&] {
    for (auto until = steady::now() + 20s; steady::now() < until; std::this_thread::sleep_for(5ms))
      if (write_failed) return true;
    return false;
  }()) << "the writer must fail once the client has taken nothing for write_timeout";
  EXPECT_GT(written.load(), 0u);
}

TEST(HttpServer, AHandlersExceptionIsA500WithoutItsText) {
  thread_pool pool(2, 16);
  basic_http_server server(pool, handler_from([](server_request&) -> server_response {
    throw std::runtime_error("secret internals");
  }));
  server.start();
  curl_transport client(curl(), one_attempt());
  const auto res = client.perform(get(server.base_url() + "/"));
  EXPECT_EQ(res.status, 500);
  EXPECT_FALSE(contains(res.body, "secret")) << res.body;
}

TEST(HttpServer, ServesAtMostAsManyRequestsAtOnceAsThePoolHasThreads) {
  thread_pool pool(3, 64);
  std::mutex mu;
  int now = 0, peak = 0;
  basic_http_server server(pool, handler_from([&](server_request&) {
    {
      std::lock_guard lock(mu);
      peak = std::max(peak, ++now);
    }
    std::this_thread::sleep_for(20ms);
    std::lock_guard lock(mu);
    --now;
    return server_response::text(200, "ok");
  }));
  server.start();
  auto o = one_attempt();
  o.max_concurrent = o.max_per_host = 12;
  curl_transport client(curl(), o);
  std::vector<http_request> many;
  for (int i = 0; i < 24; ++i) many.push_back(get(server.base_url() + "/" + std::to_string(i)));
  int ok = 0;
  const auto t0 = steady::now();
  client.perform_all(std::move(many), [&](std::size_t, http_response&& r) { ok += r.status == 200; });
  EXPECT_EQ(ok, 24);
  // 12 kept-alive connections on 3 threads: an idle connection waits in the acceptor's poll(), not on
  // a worker (were it on a worker, the others would wait out its idle_timeout of 5 s).
  EXPECT_LT(steady::now() - t0, 4s);
  EXPECT_LE(peak, 3);
  EXPECT_GE(peak, 2) << "requests were served side by side";
}

TEST(HttpServer, ServesOnTheInlineExecutorOneConnectionAtATime) {
  inline_executor inline_ex;
  basic_http_server<decltype(handler_from(echo)), inline_executor> server(inline_ex, handler_from(echo));
  server.start();
  curl_transport client(curl(), one_attempt());
  EXPECT_EQ(client.perform(get(server.base_url() + "/inline")).status, 200);
  server.stop();
  EXPECT_FALSE(inline_ex.take_exception());
}

TEST(HttpServer, StopFinishesARequestInFlightAndClosesIdleConnectionsAtOnce) {
  thread_pool pool(4, 16);
  std::latch entered(1);
  server_options o;
  o.idle_timeout = 30s;  // an idle connection must not hold stop() up for this long
  basic_http_server server(pool, handler_from([&](server_request& r) {
    if (r.path == "/slow") {
      entered.count_down();
      std::this_thread::sleep_for(300ms);  // ignores the stop token: it simply finishes
    }
    return server_response::text(200, "done " + r.path);
  }), o);
  server.start();
  curl_transport idle_client(curl(), one_attempt());
  ASSERT_EQ(idle_client.perform(get(server.base_url() + "/warm")).status, 200);  // leaves a kept-alive connection

  http_response slow;
  std::thread in_flight([&] {
    curl_transport c(curl(), one_attempt());
    slow = c.perform(get(server.base_url() + "/slow"));
  });
  entered.wait();
  const auto t0 = steady::now();
  server.stop();
  const auto took = steady::now() - t0;
  in_flight.join();
  EXPECT_EQ(slow.status, 200) << slow.error;
  EXPECT_EQ(slow.body, "done /slow");
  EXPECT_EQ(slow.header("Connection"), "close") << "a request answered during stop closes its connection";
  EXPECT_LT(took, 5s) << "the idle keep-alive connection was closed at once";
  EXPECT_EQ(server.open_connections(), 0u);
  const auto after = idle_client.perform(get(server.base_url() + "/late"));
  EXPECT_NE(after.status, 200) << "nothing is served after stop()";
}

TEST(HttpServer, StopCutsARequestThatOutlivesTheBoundAndReleasesOnesThatWaitOnTheToken) {
  thread_pool pool(4, 16);
  std::latch entered(2);
  server_options o;
  o.stop_timeout = 200ms;
  basic_http_server server(pool, handler_from([&](server_request& r) {
    entered.count_down();
    if (r.path == "/stubborn") {
      std::this_thread::sleep_for(1500ms);  // does not look at the stop token
    } else {
      std::mutex m;
      std::condition_variable_any cv;
      std::unique_lock lock(m);
      cv.wait_for(lock, r.stop, 1h, [] { return false; });  // released by stop()
      return server_response::text(503, "stopping");
    }
    return server_response::text(200, "too late");
  }), o);
  server.start();
  http_response stubborn, polite;
  std::thread a([&] {
    curl_transport c(curl(), one_attempt());
    stubborn = c.perform(get(server.base_url() + "/stubborn"));
  });
  std::thread b([&] {
    curl_transport c(curl(), one_attempt());
    polite = c.perform(get(server.base_url() + "/polite"));
  });
  entered.wait();
  const auto t0 = steady::now();
  server.stop();
  const auto took = steady::now() - t0;
  a.join();
  b.join();
  EXPECT_EQ(polite.status, 503) << "a handler waiting on request.stop is released and answers";
  EXPECT_EQ(stubborn.status, 0) << "the connection was cut once stop_timeout passed";
  EXPECT_FALSE(stubborn.error.empty());
  EXPECT_LT(took, 10s) << "stop() waits for the stubborn handler to return, no longer";
}

TEST(HttpServer, RefusesAPortAlreadyInUse) {
  thread_pool pool(2, 16);
  basic_http_server first(pool, handler_from(echo));
  const auto port = first.start();
  server_options o;
  o.port = port;
  basic_http_server second(pool, handler_from(echo), o);
  const auto e = thrown_by([&] { (void)second.start(); });
  EXPECT_EQ(e.code(), errc::already_exists);
  EXPECT_TRUE(contains(e.what(), "127.0.0.1:" + std::to_string(port) + " is already in use")) << e.what();

  basic_http_server third(pool, handler_from(echo));
  EXPECT_NE(third.start(), port) << "port 0 picks a free port";
  first.stop();
  basic_http_server again(pool, handler_from(echo), o);
  EXPECT_EQ(again.start(), port) << "a port freed by a stopped server can be bound again at once";
  curl_transport client(curl(), one_attempt());
  EXPECT_EQ(client.perform(get(again.base_url() + "/")).status, 200);

  server_options bad;
  bad.address = "localhost";
  basic_http_server named(pool, handler_from(echo), bad);
  EXPECT_EQ(thrown_by([&] { (void)named.start(); }).code(), errc::invalid_config) << "numeric addresses only";
  bad = {};
  bad.read_timeout = 0ms;
  EXPECT_EQ(thrown_by([&] { basic_http_server s(pool, handler_from(echo), bad); }).code(), errc::invalid_config);
}

}  // namespace
}  // namespace tributary
