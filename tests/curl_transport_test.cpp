// curl_transport against real loopback cpp-httplib servers on 127.0.0.1 (ephemeral ports): requests
// and headers, the concurrency bounds, timeouts, retries with backoff and Retry-After, error texts,
// gzip, and TLS verification against a self-signed certificate made in the test.

#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <tributary/transport/curl.hpp>

#include "support/common.hpp"
#include "support/tls.hpp"
#include "support/tsan_httplib.hpp"

namespace tributary {
namespace {
using tributary::testing::closed_port;
using tributary::testing::contains;

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// --- helpers ------------------------------------------------------------------------------------

std::int64_t ms_between(steady::time_point a, steady::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
}

std::uint32_t crc32(const std::string& data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// A gzip member holding `text` in one stored (uncompressed) deflate block: a valid stream that any
// inflater must decode, built without a compression library.
std::string gzip_stored(const std::string& text) {
  if (text.size() > 0xFFFF) throw std::invalid_argument("gzip_stored: text too long for one block");
  auto le16 = [](std::string& out, std::uint32_t v) {
    out.push_back(static_cast<char>(v & 0xFF));
    out.push_back(static_cast<char>((v >> 8) & 0xFF));
  };
  std::string out = {'\x1f', '\x8b', '\x08', '\x00', '\x00', '\x00', '\x00', '\x00', '\x00', '\xff'};
  out.push_back('\x01');  // final block, stored
  const auto len = static_cast<std::uint32_t>(text.size());
  le16(out, len);
  le16(out, ~len & 0xFFFF);
  out += text;
  const std::uint32_t crc = crc32(text);
  le16(out, crc & 0xFFFF);
  le16(out, crc >> 16);
  le16(out, len & 0xFFFF);
  le16(out, len >> 16);
  return out;
}

// A gzip member holding `n` copies of 'x' in one fixed-Huffman deflate block: a literal, then
// length-258 distance-1 copies, then literals for the rest. About 13 bits per 258 bytes, so the
// decoded body is hundreds of times larger than what travels (and than any Content-Length).
std::string gzip_repeated_x(std::size_t n) {
  if (n == 0) throw std::invalid_argument("gzip_repeated_x: n must be positive");
  std::string out = {'\x1f', '\x8b', '\x08', '\x00', '\x00', '\x00', '\x00', '\x00', '\x00', '\xff'};
  std::uint32_t acc = 0;
  int used = 0;
  auto bits = [&](std::uint32_t v, int count) {  // deflate packs from the least significant bit
    for (int i = 0; i < count; ++i) {
      acc |= ((v >> i) & 1u) << used;
      if (++used == 8) {
        out.push_back(static_cast<char>(acc));
        acc = 0;
        used = 0;
      }
    }
  };
  auto code = [&](std::uint32_t c, int count) {  // but Huffman codes go most significant bit first
    for (int i = count - 1; i >= 0; --i) bits((c >> i) & 1u, 1);
  };
  bits(1, 1);                        // final block
  bits(1, 2);                        // fixed Huffman codes
  const std::uint32_t x = 0x30 + 'x';  // literals 0-143: 8 bits from 0x30
  code(x, 8);
  std::size_t left = n - 1;
  for (; left >= 258; left -= 258) {
    code(0xC0 + (285 - 280), 8);  // length 258: symbol 285, no extra bits
    code(0, 5);                   // distance 1: code 0, no extra bits
  }
  for (; left > 0; --left) code(x, 8);
  code(0, 7);  // end of block (256)
  if (used > 0) out.push_back(static_cast<char>(acc));
  auto le32 = [&out](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  le32(crc32(std::string(n, 'x')));
  le32(static_cast<std::uint32_t>(n));
  return out;
}

std::string http_date(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

// What the handlers saw, for the tests to check.
struct server_state {
  std::mutex mu;
  std::map<std::string, std::vector<steady::time_point>> hits;  // by key
  std::string accept_encoding;
  std::atomic<int> in_flight{0};
  std::atomic<int> peak{0};
  // /slow blocks until released (at the latest in TearDown, or after a minute), so no handler outlives
  // its test for long.
  std::condition_variable slow_cv;
  bool released = false;

  std::size_t hit(const std::string& key) {
    std::lock_guard lock(mu);
    auto& v = hits[key];
    v.push_back(steady::now());
    return v.size();
  }
  std::vector<steady::time_point> times(const std::string& key) {
    std::lock_guard lock(mu);
    return hits[key];
  }
  std::size_t count(const std::string& key) { return times(key).size(); }
  void release() {
    {
      std::lock_guard lock(mu);
      released = true;
    }
    slow_cv.notify_all();
  }
};

void install_routes(httplib::Server& server, server_state& state) {
  auto echo = [](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Echo-Method", req.method);
    res.set_header("X-Echo-Client-Port", std::to_string(req.remote_port));
    res.set_header("X-Echo-Custom", req.get_header_value("X-Custom"));
    res.set_header("X-Echo-Default", req.get_header_value("X-Default"));
    res.set_header("X-Echo-Override", req.get_header_value("X-Override"));
    res.set_header("X-Echo-Agent", req.get_header_value("User-Agent"));
    res.set_header("X-Echo-Content-Type", req.get_header_value("Content-Type"));
    res.set_content("echo:" + req.body, "text/plain");
  };
  server.Get("/echo", echo);
  server.Post("/echo", echo);

  server.Get("/busy", [&state](const httplib::Request&, httplib::Response& res) {
    const int now = ++state.in_flight;
    int seen = state.peak.load();
    while (now > seen && !state.peak.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(50ms);
    --state.in_flight;
    res.set_content("busy", "text/plain");
  });

  // 503 for the first `fail` hits of `key`, then 200.
  server.Get("/flaky", [&state](const httplib::Request& req, httplib::Response& res) {
    const auto n = state.hit(req.get_param_value("key"));
    if (n <= std::stoul(req.get_param_value("fail"))) {
      res.status = 503;
      res.set_content("unavailable", "text/plain");
    } else {
      res.set_content("recovered after " + std::to_string(n), "text/plain");
    }
  });

  auto status = [&state](const httplib::Request& req, httplib::Response& res) {
    state.hit(req.method + " " + req.path);
    res.status = std::stoi(req.matches[1]);
    res.set_content("status " + std::string(req.matches[1]), "text/plain");
  };
  server.Get(R"(/status/(\d+))", status);
  server.Post(R"(/status/(\d+))", status);

  // 429 with Retry-After on the first hit of `key`, then 200. `value` is sent as is, or as the
  // HTTP-date that many seconds ahead when it reads `date+N`.
  server.Get("/retry-after", [&state](const httplib::Request& req, httplib::Response& res) {
    if (state.hit(req.get_param_value("key")) == 1) {
      std::string value = req.get_param_value("value");
      if (value.starts_with("date+"))
        value = http_date(std::chrono::system_clock::now() + std::chrono::seconds(std::stoi(value.substr(5))));
      res.status = 429;
      res.set_header("Retry-After", value);
      res.set_content("slow down", "text/plain");
    } else {
      res.set_content("welcome back", "text/plain");
    }
  });

  server.Get("/slow", [&state](const httplib::Request&, httplib::Response& res) {
    state.hit("slow");
    std::unique_lock lock(state.mu);
    // Long enough to be the last answer however slow everything else is; TearDown's release ends it.
    state.slow_cv.wait_for(lock, 60s, [&] { return state.released; });
    res.set_content("late", "text/plain");
  });

  server.Get("/gzip", [&state](const httplib::Request& req, httplib::Response& res) {
    {
      std::lock_guard lock(state.mu);
      state.accept_encoding = req.get_header_value("Accept-Encoding");
    }
    std::string text;
    for (int i = 0; i < 200; ++i) text += "line " + std::to_string(i) + " of a gzip-encoded body\n";
    res.set_header("Content-Encoding", "gzip");
    // Not a type httplib compresses by itself, so the bytes on the wire are exactly ours.
    res.set_content(gzip_stored(text), "application/octet-stream");
    res.set_header("X-Plain-Length", std::to_string(text.size()));
  });

  // n bytes of 'x', framed as `mode` says: length (Content-Length), chunked, close (neither: the body
  // ends with the connection; see bytes_request) or gzip (Content-Length of the small compressed form).
  // application/octet-stream throughout, which httplib never compresses by itself.
  server.Get("/bytes", [](const httplib::Request& req, httplib::Response& res) {
    const std::size_t n = std::stoul(req.get_param_value("n"));
    const std::string mode = req.get_param_value("mode");
    auto provider = [n](std::size_t offset, httplib::DataSink& sink) {
      if (offset >= n) {
        sink.done();
        return true;
      }
      const std::string piece(std::min<std::size_t>(16384, n - offset), 'x');
      return sink.write(piece.data(), piece.size());
    };
    if (mode == "length") {
      res.set_content(std::string(n, 'x'), "application/octet-stream");
    } else if (mode == "chunked") {
      res.set_chunked_content_provider("application/octet-stream", provider);
    } else if (mode == "close") {
      res.set_content_provider("application/octet-stream", provider);
    } else if (mode == "gzip") {
      res.set_header("Content-Encoding", "gzip");
      res.set_content(gzip_repeated_x(n), "application/octet-stream");
    } else {
      res.status = 400;
    }
  });

  // A body that does not end (chunked, or close-delimited): 16 KiB pieces until the client goes away.
  // After 64 MiB it does end, so that a client without a bound fails its test instead of hanging it.
  server.Get("/endless", [&state](const httplib::Request& req, httplib::Response& res) {
    state.hit("endless");
    auto provider = [](std::size_t offset, httplib::DataSink& sink) {
      if (offset >= (std::size_t{64} << 20)) {
        sink.done();
        return true;
      }
      static const std::string piece(16384, 'x');
      return sink.write(piece.data(), piece.size());
    };
    if (req.get_param_value("mode") == "close") {
      res.set_content_provider("application/octet-stream", provider);
    } else {
      res.set_chunked_content_provider("application/octet-stream", provider);
    }
  });

  // Declares a 1 GiB body, then sends none of it until released: only a client that judges the
  // Content-Length alone finishes before then.
  server.Get("/declared-huge", [&state](const httplib::Request&, httplib::Response& res) {
    state.hit("declared-huge");
    res.set_content_provider(std::size_t{1} << 30, "application/octet-stream",
                             [&state](std::size_t, std::size_t, httplib::DataSink&) {
                               std::unique_lock lock(state.mu);
                               state.slow_cv.wait_for(lock, 60s, [&] { return state.released; });
                               return false;
                             });
  });

  // Always 503, asking for a retry in 30 s.
  server.Get("/retry-later", [&state](const httplib::Request&, httplib::Response& res) {
    state.hit("retry-later");
    res.status = 503;
    res.set_header("Retry-After", "30");
    res.set_content("come back later", "text/plain");
  });
}

// A cpp-httplib server on 127.0.0.1 with an ephemeral port, listening on its own thread.
class test_server {
 public:
  explicit test_server(std::unique_ptr<httplib::Server> server, std::string scheme = "http")
      : server_(std::move(server)), scheme_(std::move(scheme)) {
    server_->new_task_queue = [] { return new httplib::ThreadPool(24); };
    server_->set_keep_alive_max_count(1000);
    server_->set_keep_alive_timeout(1);
    // Without it the server's second small write waits for the client's delayed ACK (~40 ms).
    server_->set_tcp_nodelay(true);
  }
  ~test_server() { stop(); }

  httplib::Server& http() { return *server_; }

  void start() {
    port_ = server_->bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("test_server: cannot bind 127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
  }

  void stop() {
    if (!thread_.joinable()) return;
    // stop() before the accept loop runs would be lost; connections queue in the backlog meanwhile.
    for (int i = 0; i < 5000 && !server_->is_running(); ++i) std::this_thread::sleep_for(1ms);
    server_->stop();
    thread_.join();
  }

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string url(const std::string& path) const {
    return scheme_ + "://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::string scheme_;
  int port_ = 0;
  std::thread thread_;
};

http_request get(std::string url) {
  http_request r;
  r.url = std::move(url);
  return r;
}

// Quick retries unless a test says otherwise.
curl_options quick() {
  curl_options o;
  o.backoff_base = 5ms;
  o.backoff_cap = 20ms;
  // Generous: a TLS handshake (inside connect_timeout) can take seconds under a loaded sanitizer build.
  o.connect_timeout = 10s;
  o.total_timeout = 10s;
  return o;
}

class CurlTransport : public ::testing::Test {
 protected:
  void SetUp() override {
    install_routes(server_.http(), state_);
    install_routes(server2_.http(), state2_);
    server_.start();
    server2_.start();
  }
  void TearDown() override {
    state_.release();
    state2_.release();
    server_.stop();
    server2_.stop();
  }

  curl_library library_;  // first member: outlives everything below
  server_state state_;
  server_state state2_;
  test_server server_{std::make_unique<httplib::Server>()};
  test_server server2_{std::make_unique<httplib::Server>()};
};

// --- tests --------------------------------------------------------------------------------------

TEST(CurlOptions, ValidateNamesTheProblem) {
  curl_options o;
  o.max_concurrent = 0;
  try {
    o.validate();
    FAIL() << "max_concurrent = 0 accepted";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::invalid_config);
    EXPECT_TRUE(contains(e.what(), "max_concurrent")) << e.what();
  }
  curl_options cap;
  cap.backoff_base = 2s;
  cap.backoff_cap = 1s;
  EXPECT_THROW(cap.validate(), error);
  EXPECT_NO_THROW(curl_options{}.validate());
}

TEST(CurlBackoff, CeilingDoublesUpToTheCap) {
  curl_library library;
  curl_options o;
  o.backoff_base = 100ms;
  o.backoff_cap = 1000ms;
  curl_transport t(library, o);
  EXPECT_EQ(t.backoff_ceiling(1), 100ms);
  EXPECT_EQ(t.backoff_ceiling(2), 200ms);
  EXPECT_EQ(t.backoff_ceiling(3), 400ms);
  EXPECT_EQ(t.backoff_ceiling(4), 800ms);
  EXPECT_EQ(t.backoff_ceiling(5), 1000ms);
  EXPECT_EQ(t.backoff_ceiling(64), 1000ms);
}

TEST(Backoff, DrawsStayUnderTheCeilingAndReplayFromTheSeed) {
  backoff a(100ms, 1000ms, 42), b(100ms, 1000ms, 42), c(100ms, 1000ms, 43);
  bool differs = false;
  for (unsigned retry = 1; retry <= 12; ++retry) {
    const auto d = a.delay(retry);
    EXPECT_GE(d, 0ms);
    EXPECT_LE(d, a.ceiling(retry)) << retry;
    EXPECT_EQ(b.delay(retry), d) << "same seed, same waits";
    differs = differs || c.delay(retry) != d;
  }
  EXPECT_TRUE(differs) << "another seed gives other waits";
  EXPECT_EQ(backoff(0ms, 0ms, 1).delay(3), 0ms);
  EXPECT_EQ(backoff(1ms, std::chrono::milliseconds(std::numeric_limits<std::int64_t>::max()), 1).ceiling(1000),
            std::chrono::milliseconds(std::int64_t{1} << 40))
      << "no overflow: the doubling stops at 2^40";
}

TEST(Backoff, RetryAfterReplacesTheDrawUpToItsBound) {
  backoff b(100ms, 1000ms, 1, 30s);
  EXPECT_EQ(b.delay(1, 5s), 5s) << "the server's wait, even past the cap";
  EXPECT_EQ(b.delay(1, 2min), 30s) << "bounded by max_retry_after";
  EXPECT_LE(b.delay(1, 0ms), 100ms) << "zero: absent";
  EXPECT_LE(b.delay(1, -5s), 100ms) << "negative (a date in the past): absent";
}

TEST_F(CurlTransport, GetSendsDefaultAndRequestHeaders) {
  curl_options o = quick();
  o.user_agent = "tributary-test/1";
  o.default_headers = {{"X-Default", "from-options"}, {"X-Override", "from-options"}};
  curl_transport transport(library_, o);
  auto req = get(server_.url("/echo"));
  req.headers = {{"X-Custom", "from-request"}, {"x-override", "from-request"}};
  const auto res = transport.perform(req);
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "echo:");
  EXPECT_EQ(res.header("X-Echo-Method"), "GET");
  EXPECT_EQ(res.header("x-echo-custom"), "from-request");
  EXPECT_EQ(res.header("X-Echo-Default"), "from-options");
  EXPECT_EQ(res.header("X-Echo-Override"), "from-request");
  EXPECT_EQ(res.header("X-Echo-Agent"), "tributary-test/1");
  EXPECT_TRUE(res.error.empty());
}

TEST_F(CurlTransport, PostSendsItsBody) {
  curl_transport transport(library_, quick());
  http_request req;
  req.method = "POST";
  req.url = server_.url("/echo");
  req.body = R"({"hello":"world"})";
  req.headers = {{"Content-Type", "application/json"}};
  const auto res = transport.perform(req);
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.header("X-Echo-Method"), "POST");
  EXPECT_EQ(res.header("X-Echo-Content-Type"), "application/json");
  EXPECT_EQ(res.body, R"(echo:{"hello":"world"})");
}

TEST_F(CurlTransport, ReusesItsConnection) {
  curl_transport transport(library_, quick());
  std::set<std::string> client_ports;
  for (int i = 0; i < 5; ++i) {
    const auto res = transport.perform(get(server_.url("/echo")));
    ASSERT_TRUE(res.ok()) << res.error;
    client_ports.insert(std::string(res.header("X-Echo-Client-Port")));
  }
  EXPECT_EQ(client_ports.size(), 1u);  // one TCP connection served all five
  EXPECT_EQ(transport.stats().attempts, 5u);
}

TEST_F(CurlTransport, PerformAllReportsEveryPositionOnTheCallingThread) {
  curl_transport transport(library_, quick());
  std::vector<http_request> reqs;
  for (int i = 0; i < 12; ++i) {
    http_request r;
    r.method = "POST";
    r.url = server_.url("/echo");
    r.body = std::to_string(i);
    reqs.push_back(r);
  }
  const auto caller = std::this_thread::get_id();
  std::vector<int> seen(12, 0);
  transport.perform_all(reqs, [&](std::size_t pos, http_response&& res) {
    EXPECT_EQ(std::this_thread::get_id(), caller);
    ASSERT_LT(pos, seen.size());
    ++seen[pos];
    EXPECT_EQ(res.body, "echo:" + std::to_string(pos));
  });
  EXPECT_EQ(seen, std::vector<int>(12, 1));
  EXPECT_EQ(transport.stats().requests, 12u);
}

TEST_F(CurlTransport, TotalConcurrencyBoundHolds) {
  curl_options o = quick();
  o.max_concurrent = 4;
  o.max_per_host = 16;
  curl_transport transport(library_, o);
  std::vector<http_request> reqs(20, get(server_.url("/busy")));
  int ok = 0;
  transport.perform_all(reqs, [&](std::size_t, http_response&& r) { ok += r.ok() ? 1 : 0; });
  EXPECT_EQ(ok, 20);
  EXPECT_EQ(state_.peak.load(), 4);
  EXPECT_EQ(transport.stats().peak_in_flight, 4u);
}

TEST_F(CurlTransport, PerHostBoundHolds) {
  curl_options o = quick();
  o.max_concurrent = 10;
  o.max_per_host = 2;
  curl_transport transport(library_, o);
  std::vector<http_request> reqs;
  for (int i = 0; i < 10; ++i) {
    reqs.push_back(get(server_.url("/busy")));
    reqs.push_back(get(server2_.url("/busy")));
  }
  int ok = 0;
  transport.perform_all(reqs, [&](std::size_t, http_response&& r) { ok += r.ok() ? 1 : 0; });
  EXPECT_EQ(ok, 20);
  EXPECT_EQ(state_.peak.load(), 2);
  EXPECT_EQ(state2_.peak.load(), 2);
  EXPECT_EQ(transport.stats().peak_in_flight, 4u);
}

TEST_F(CurlTransport, TimeoutFiresQuicklyAndNamesTheTimeout) {
  curl_options o = quick();
  o.total_timeout = 150ms;
  o.max_attempts = 2;
  curl_transport transport(library_, o);
  const auto start = steady::now();
  const auto res = transport.perform(get(server_.url("/slow")));
  const auto took = ms_between(start, steady::now());
  EXPECT_FALSE(res.ok());
  EXPECT_EQ(res.status, 0);
  EXPECT_TRUE(contains(res.error, "timed out after 150 ms")) << res.error;
  EXPECT_TRUE(contains(res.error, "(2 attempts)")) << res.error;
  EXPECT_EQ(transport.stats().attempts, 2u);  // a timeout of an idempotent request is retried
  EXPECT_GE(res.elapsed, 300ms);
  EXPECT_LT(took, 5000);  // two 150 ms attempts, not the minute /slow takes to answer
}

TEST_F(CurlTransport, RetriesServiceUnavailableWithBoundedBackoff) {
  curl_options o = quick();
  o.max_attempts = 5;
  o.backoff_base = 40ms;
  o.backoff_cap = 1s;
  curl_transport transport(library_, o);
  const auto res = transport.perform(get(server_.url("/flaky?key=a&fail=2")));
  ASSERT_TRUE(res.ok()) << res.status << " " << res.error;
  EXPECT_EQ(res.body, "recovered after 3");
  EXPECT_EQ(state_.count("a"), 3u);
  EXPECT_EQ(transport.stats().attempts, 3u);
  EXPECT_EQ(transport.stats().retries, 2u);
  // Full jitter: the waits lie in [0, 40] and [0, 80] ms, and the request really waited them.
  EXPECT_LE(transport.stats().backoff, 120ms);
  EXPECT_GE(res.elapsed, transport.stats().backoff);
  EXPECT_LT(res.elapsed, 120ms + 5s);  // bounded; the gaps below tie the waits to their ceilings
  const auto hits = state_.times("a");
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_LT(ms_between(hits[0], hits[1]), 40 + 500);
  EXPECT_LT(ms_between(hits[1], hits[2]), 80 + 500);
}

TEST_F(CurlTransport, GivesUpAfterMaxAttemptsWithTheLastResponse) {
  curl_options o = quick();
  o.max_attempts = 3;
  curl_transport transport(library_, o);
  const auto res = transport.perform(get(server_.url("/flaky?key=never&fail=100")));
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(res.body, "unavailable");
  EXPECT_FALSE(res.ok());
  EXPECT_EQ(state_.count("never"), 3u);
}

TEST_F(CurlTransport, SameSeedGivesTheSameJitter) {
  curl_options o = quick();
  o.max_attempts = 4;
  o.backoff_base = 10ms;
  o.backoff_cap = 40ms;
  o.seed = 42;
  std::chrono::milliseconds first{}, second{};
  {
    curl_transport t(library_, o);
    EXPECT_EQ(t.perform(get(server_.url("/flaky?key=s1&fail=3"))).status, 200);
    first = t.stats().backoff;
  }
  {
    curl_transport t(library_, o);
    EXPECT_EQ(t.perform(get(server_.url("/flaky?key=s2&fail=3"))).status, 200);
    second = t.stats().backoff;
  }
  EXPECT_EQ(first, second);
  EXPECT_LE(first, 10ms + 20ms + 40ms);
}

TEST_F(CurlTransport, HonoursRetryAfterSeconds) {
  curl_options o = quick();
  o.backoff_base = 1ms;  // without Retry-After the retry would come almost at once
  o.backoff_cap = 2ms;
  curl_transport transport(library_, o);
  const auto res = transport.perform(get(server_.url("/retry-after?key=one&value=1")));
  ASSERT_TRUE(res.ok()) << res.status << " " << res.error;
  EXPECT_EQ(res.body, "welcome back");
  const auto hits = state_.times("one");
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_GE(ms_between(hits[0], hits[1]), 990);
  EXPECT_LT(ms_between(hits[0], hits[1]), 1900);
  EXPECT_EQ(transport.stats().backoff, 1000ms);
}

TEST_F(CurlTransport, RetryAfterIsCappedAndHttpDatesAreUnderstood) {
  curl_options o = quick();
  o.backoff_base = 1ms;
  o.backoff_cap = 2ms;
  o.max_retry_after = 150ms;
  curl_transport transport(library_, o);
  std::vector<http_request> reqs = {get(server_.url("/retry-after?key=date&value=date%2B3600")),
                                    get(server_.url("/retry-after?key=secs&value=3600"))};
  int ok = 0;
  transport.perform_all(reqs, [&](std::size_t, http_response&& r) { ok += r.ok() ? 1 : 0; });
  EXPECT_EQ(ok, 2);
  // Each asked for an hour; each waited exactly the cap. A date curl could not read would have
  // given the 1-2 ms backoff instead.
  EXPECT_EQ(transport.stats().backoff, 300ms);
  for (const std::string key : {"date", "secs"}) {
    const auto hits = state_.times(key);
    ASSERT_EQ(hits.size(), 2u) << key;
    EXPECT_GE(ms_between(hits[0], hits[1]), 145) << key;
  }
}

TEST_F(CurlTransport, WaitingRetryDoesNotBlockOtherTransfers) {
  curl_options o = quick();
  o.max_concurrent = 1;  // the one slot must be free while the retry waits
  o.max_retry_after = 400ms;
  curl_transport transport(library_, o);
  std::vector<http_request> reqs = {get(server_.url("/retry-after?key=nb&value=3600")), get(server_.url("/echo")),
                                    get(server_.url("/echo")), get(server_.url("/echo"))};
  const auto start = steady::now();
  std::vector<std::pair<std::size_t, std::int64_t>> done;
  transport.perform_all(reqs, [&](std::size_t pos, http_response&& r) {
    EXPECT_TRUE(r.ok()) << pos << ": " << r.status << " " << r.error;
    done.emplace_back(pos, ms_between(start, steady::now()));
  });
  // With one slot, a plain request can only finish before the retried one if the waiting retry gave
  // the slot up. (Once the 400 ms wait is over the retry may finish before the later plain ones: their
  // order does not matter.)
  ASSERT_EQ(done.size(), 4u);
  EXPECT_NE(done[0].first, 0u) << "the first answer was the retried request: its wait held the only slot";
  const auto retried = std::find_if(done.begin(), done.end(), [](const auto& d) { return d.first == 0; });
  ASSERT_NE(retried, done.end());
  EXPECT_GE(retried->second, 400) << "the retried request finished after its wait";
  EXPECT_EQ(state_.count("nb"), 2u);
  EXPECT_EQ(transport.stats().peak_in_flight, 1u);
}

TEST_F(CurlTransport, ClientErrorsAreNotRetried) {
  curl_transport transport(library_, quick());
  const auto not_found = transport.perform(get(server_.url("/status/404")));
  const auto bad = transport.perform(get(server_.url("/status/400")));
  EXPECT_EQ(not_found.status, 404);
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(not_found.error.empty()) << not_found.error;
  EXPECT_EQ(state_.count("GET /status/404"), 1u);
  EXPECT_EQ(state_.count("GET /status/400"), 1u);
  EXPECT_EQ(transport.stats().retries, 0u);
}

TEST_F(CurlTransport, NonIdempotentPostIsNotRetried) {
  curl_transport transport(library_, quick());
  http_request req;
  req.method = "POST";
  req.url = server_.url("/status/503");
  req.body = "once";
  req.idempotent = false;
  const auto res = transport.perform(req);
  EXPECT_EQ(res.status, 503);
  EXPECT_EQ(state_.count("POST /status/503"), 1u);
  req.idempotent = true;  // the same request marked idempotent is retried
  EXPECT_EQ(transport.perform(req).status, 503);
  EXPECT_EQ(state_.count("POST /status/503"), 1u + 3u);
}

TEST_F(CurlTransport, ConnectionRefusedIsReportedClearly) {
  curl_options o = quick();
  o.max_attempts = 2;
  curl_transport transport(library_, o);
  const int port = closed_port();
  const auto res = transport.perform(get("http://127.0.0.1:" + std::to_string(port) + "/nothing"));
  EXPECT_FALSE(res.ok());
  EXPECT_EQ(res.status, 0);
  EXPECT_TRUE(contains(res.error, "connection refused to 127.0.0.1:" + std::to_string(port))) << res.error;
  EXPECT_TRUE(contains(res.error, "(2 attempts)")) << res.error;
  EXPECT_EQ(transport.stats().attempts, 2u);
}

TEST_F(CurlTransport, InvalidUrlFailsWithoutAnAttempt) {
  curl_transport transport(library_, quick());
  const auto res = transport.perform(get("ftp://127.0.0.1/file"));
  EXPECT_FALSE(res.ok());
  EXPECT_TRUE(contains(res.error, "invalid URL")) << res.error;
  EXPECT_EQ(transport.stats().attempts, 0u);
}

TEST_F(CurlTransport, GzipResponseIsDecoded) {
  curl_transport transport(library_, quick());
  const auto res = transport.perform(get(server_.url("/gzip")));
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.header("Content-Encoding"), "gzip");
  EXPECT_EQ(std::to_string(res.body.size()), res.header("X-Plain-Length"));
  EXPECT_TRUE(res.body.starts_with("line 0 of a gzip-encoded body\n")) << res.body.substr(0, 40);
  EXPECT_TRUE(contains(res.body, "line 199 of a gzip-encoded body\n"));
  std::lock_guard lock(state_.mu);
  EXPECT_TRUE(contains(state_.accept_encoding, "gzip")) << state_.accept_encoding;
}

TEST_F(CurlTransport, OnDoneMayCallTheTransportAgain) {
  curl_transport transport(library_, quick());
  std::vector<http_request> reqs = {get(server_.url("/echo")), get(server_.url("/busy")), get(server_.url("/busy"))};
  std::vector<int> statuses(3, 0);
  int nested = 0;
  transport.perform_all(reqs, [&](std::size_t pos, http_response&& r) {
    statuses[pos] = r.status;
    if (pos == 0) nested = transport.perform(get(server_.url("/echo"))).status;
  });
  EXPECT_EQ(statuses, std::vector<int>(3, 200));
  EXPECT_EQ(nested, 200);
}

TEST_F(CurlTransport, ExceptionFromOnDoneCancelsTheBatchAndLeavesTheTransportUsable) {
  curl_options o = quick();
  o.max_concurrent = 2;
  curl_transport transport(library_, o);
  std::vector<http_request> reqs(6, get(server_.url("/busy")));
  int calls = 0;
  EXPECT_THROW(transport.perform_all(reqs,
                                     [&](std::size_t, http_response&&) {
                                       ++calls;
                                       throw std::runtime_error("stop");
                                     }),
               std::runtime_error);
  EXPECT_EQ(calls, 1);
  const auto res = transport.perform(get(server_.url("/echo")));
  EXPECT_TRUE(res.ok()) << res.error;
}

static_assert(streaming_transport<curl_transport>);

TEST_F(CurlTransport, PerformStreamMakesRequestsFromEarlierAnswers) {
  curl_options o = quick();
  o.max_concurrent = 3;
  curl_transport transport(library_, o);
  // A binary tree of requests four levels deep: each answer asks for its two children.
  std::deque<std::string> todo = {"r"};
  std::vector<std::string> label;  // by ticket
  std::vector<int> delivered;
  std::size_t outstanding = 0, most_outstanding_when_asked = 0;  // given and not yet answered
  const auto caller = std::this_thread::get_id();
  transport.perform_stream(
    [&]() -> std::optional<http_request> {
      most_outstanding_when_asked = std::max(most_outstanding_when_asked, outstanding);
      if (todo.empty()) return std::nullopt;
      http_request r = get(server_.url("/echo"));
      r.method = "POST";
      r.body = todo.front();
      todo.pop_front();
      label.push_back(r.body);
      delivered.push_back(0);
      ++outstanding;
      return r;
    },
    [&](std::size_t ticket, http_response&& res) {
      EXPECT_EQ(std::this_thread::get_id(), caller);
      ASSERT_LT(ticket, label.size());
      ++delivered[ticket];
      --outstanding;
      EXPECT_EQ(res.body, "echo:" + label[ticket]);
      if (label[ticket].size() < 4) {
        todo.push_back(label[ticket] + "0");
        todo.push_back(label[ticket] + "1");
      }
    });
  EXPECT_EQ(label.size(), 15u);
  EXPECT_EQ(delivered, std::vector<int>(15, 1));
  EXPECT_GE(most_outstanding_when_asked, 2u) << "asked for more while earlier requests were outstanding";
  EXPECT_EQ(transport.stats().requests, 15u);
}

TEST_F(CurlTransport, PerformStreamKeepsTheConcurrencyBound) {
  curl_options o = quick();
  o.max_concurrent = 4;
  o.max_per_host = 16;
  curl_transport transport(library_, o);
  int made = 0, ok = 0;
  transport.perform_stream(
    [&]() -> std::optional<http_request> {
      if (made == 12) return std::nullopt;
      ++made;
      return get(server_.url("/busy"));
    },
    [&](std::size_t, http_response&& r) { ok += r.ok() ? 1 : 0; });
  EXPECT_EQ(ok, 12);
  EXPECT_EQ(state_.peak.load(), 4);
  EXPECT_EQ(transport.stats().peak_in_flight, 4u);
}

TEST_F(CurlTransport, PerformStreamGoesOnWhileOneRequestIsSlow) {
  curl_options o = quick();
  o.max_concurrent = 2;
  curl_transport transport(library_, o);
  // /slow answers only once released, and that happens after the tenth echo is answered: the echoes
  // must be asked for and answered while /slow is outstanding.
  int made = 0, echoes = 0;
  std::vector<std::size_t> order;
  transport.perform_stream(
    [&]() -> std::optional<http_request> {
      if (made == 11) return std::nullopt;
      return get(server_.url(made++ == 0 ? "/slow" : "/echo"));
    },
    [&](std::size_t ticket, http_response&& res) {
      EXPECT_TRUE(res.ok()) << ticket << ": " << res.error;
      order.push_back(ticket);
      if (ticket != 0 && ++echoes == 10) state_.release();
    });
  ASSERT_EQ(order.size(), 11u);
  EXPECT_EQ(order.back(), 0u) << "the slow request finished last";
  EXPECT_EQ(state_.count("slow"), 1u);
}

TEST_F(CurlTransport, PerformStreamReportsInvalidUrlsAndStopsOnAnException) {
  curl_transport transport(library_, quick());
  std::vector<http_request> reqs = {get("gopher://127.0.0.1/"), get(server_.url("/echo"))};
  std::vector<http_response> answers(2);
  std::size_t given = 0;
  transport.perform_stream(
    [&]() -> std::optional<http_request> {
      if (given == reqs.size()) return std::nullopt;
      return reqs[given++];
    },
    [&](std::size_t ticket, http_response&& res) { answers.at(ticket) = std::move(res); });
  EXPECT_EQ(answers[0].status, 0);
  EXPECT_TRUE(contains(answers[0].error, "gopher")) << answers[0].error;
  EXPECT_TRUE(answers[1].ok()) << answers[1].error;
  EXPECT_EQ(transport.stats().attempts, 1u) << "no attempt for the invalid URL";

  // Then a stream whose first answer throws: it propagates, and nothing more is asked for.
  curl_options two = quick();
  two.max_concurrent = 2;
  curl_transport small(library_, two);
  int calls = 0, asked = 0, asked_when_thrown = -1;
  EXPECT_THROW(small.perform_stream(
                 [&]() -> std::optional<http_request> {
                   if (asked == 20) return std::nullopt;
                   ++asked;
                   return get(server_.url("/busy"));
                 },
                 [&](std::size_t, http_response&&) {
                   ++calls;
                   asked_when_thrown = asked;
                   throw std::runtime_error("stop");
                 }),
               std::runtime_error);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(asked, asked_when_thrown) << "nothing more asked for once on_done threw";
  EXPECT_LT(asked, 20);
  const auto res = small.perform(get(server_.url("/echo")));
  EXPECT_TRUE(res.ok()) << res.error;
}

TEST_F(CurlTransport, TransportsOnSeparateThreadsShareNothing) {
  std::atomic<int> ok{0};
  auto work = [&](const std::string& tag) {
    curl_transport transport(library_, quick());
    std::vector<http_request> reqs;
    for (int i = 0; i < 10; ++i) {
      http_request r;
      r.method = "POST";
      r.url = server_.url("/echo");
      r.body = tag + std::to_string(i);
      reqs.push_back(r);
    }
    transport.perform_all(reqs, [&](std::size_t pos, http_response&& r) {
      if (r.ok() && r.body == "echo:" + tag + std::to_string(pos)) ++ok;
    });
  };
  std::thread a(work, "a"), b(work, "b");
  a.join();
  b.join();
  EXPECT_EQ(ok.load(), 20);
}

// --- bounded responses --------------------------------------------------------------------------

TEST(CurlOptions, MaxResponseBytesMustBePositive) {
  EXPECT_EQ(curl_options{}.max_response_bytes, std::size_t{256} << 20);
  curl_options o;
  o.max_response_bytes = 0;
  try {
    o.validate();
    FAIL() << "max_response_bytes = 0 accepted";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::invalid_config);
    EXPECT_TRUE(contains(e.what(), "max_response_bytes")) << e.what();
  }
}

// httplib ends a close-delimited body only when the request asked to close (or at its keep-alive
// timeout, a second later).
http_request bytes_request(const test_server& server, const std::string& mode, std::size_t n) {
  http_request r = get(server.url("/bytes?mode=" + mode + "&n=" + std::to_string(n)));
  if (mode == "close") r.headers = {{"Connection", "close"}};
  return r;
}

constexpr std::size_t small_limit = 100000;
const std::string over_small_limit = "response body exceeds max_response_bytes (100000 bytes)";

curl_options limited() {
  curl_options o = quick();
  o.max_response_bytes = small_limit;
  return o;
}

TEST_F(CurlTransport, BodyUpToTheLimitIsKeptHoweverItIsFramed) {
  curl_transport transport(library_, limited());
  std::vector<http_request> reqs;
  for (const std::string mode : {"length", "chunked", "close", "gzip"}) {
    reqs.push_back(bytes_request(server_, mode, small_limit));
    reqs.push_back(bytes_request(server_, mode, small_limit - 1));
  }
  std::vector<std::string> urls;
  for (const auto& r : reqs) urls.push_back(r.url);
  int answered = 0;
  transport.perform_all(reqs, [&](std::size_t pos, http_response&& r) {
    ++answered;
    EXPECT_TRUE(r.ok()) << urls[pos] << ": " << r.status << " " << r.error;
    EXPECT_EQ(r.body.size(), pos % 2 == 0 ? small_limit : small_limit - 1) << urls[pos];
    EXPECT_EQ(r.body.find_first_not_of('x'), std::string::npos) << urls[pos];
  });
  EXPECT_EQ(answered, 8);
}

TEST_F(CurlTransport, BodyOverTheLimitFailsThatRequestOnly) {
  curl_transport transport(library_, limited());
  const std::size_t over = small_limit + 1;
  // gzip: under 1 KB travels and Content-Length says so; the limit is on the decoded body.
  const std::vector<http_request> reqs = {
    bytes_request(server_, "length", over), get(server_.url("/echo")),     bytes_request(server_, "chunked", over),
    bytes_request(server_, "close", over),  bytes_request(server_, "gzip", over), bytes_request(server_, "length", 10)};
  std::vector<std::string> urls;
  for (const auto& r : reqs) urls.push_back(r.url);
  std::vector<http_response> answers(urls.size());
  transport.perform_all(reqs, [&](std::size_t pos, http_response&& r) { answers.at(pos) = std::move(r); });
  for (const std::size_t pos : {0u, 2u, 3u, 4u}) {
    const auto& r = answers[pos];
    EXPECT_FALSE(r.ok()) << urls[pos];
    EXPECT_TRUE(contains(r.error, over_small_limit)) << urls[pos] << ": " << r.error;
    EXPECT_EQ(r.status, 200) << urls[pos] << ": the status had arrived";
    EXPECT_TRUE(r.body.empty()) << urls[pos] << ": " << r.body.size() << " bytes kept";
  }
  EXPECT_TRUE(answers[1].ok()) << answers[1].error;
  EXPECT_EQ(answers[1].body, "echo:");
  EXPECT_TRUE(answers[5].ok()) << answers[5].error;
  EXPECT_EQ(answers[5].body, std::string(10, 'x'));
  EXPECT_EQ(transport.stats().attempts, urls.size()) << "an oversized answer is not retried";
  EXPECT_EQ(transport.stats().retries, 0u);

  // A HEAD answer's Content-Length describes a body that does not come.
  http_request head = bytes_request(server_, "length", over);
  head.method = "HEAD";
  const auto res = transport.perform(head);
  EXPECT_TRUE(res.ok()) << res.status << " " << res.error;
  EXPECT_EQ(res.header("Content-Length"), std::to_string(over));
}

TEST_F(CurlTransport, DeclaredHugeBodyFailsOnItsHeaders) {
  curl_options o = limited();
  o.total_timeout = 30s;  // the server would send the body only after a minute
  curl_transport transport(library_, o);
  const auto start = steady::now();
  const auto res = transport.perform(get(server_.url("/declared-huge")));
  const auto took = ms_between(start, steady::now());
  EXPECT_TRUE(contains(res.error, over_small_limit)) << res.error;
  EXPECT_EQ(res.status, 200);
  EXPECT_LT(took, 5000) << "waited for a body it had already refused";
  EXPECT_EQ(state_.count("declared-huge"), 1u);
  EXPECT_EQ(transport.stats().attempts, 1u);
}

TEST_F(CurlTransport, EndlessBodyIsCutOffAtTheLimit) {
  curl_options o = limited();
  o.total_timeout = 60s;
  curl_transport transport(library_, o);
  std::vector<http_request> reqs = {get(server_.url("/endless?mode=chunked")), get(server_.url("/endless?mode=close")),
                                    get(server_.url("/echo"))};
  std::vector<http_response> answers(reqs.size());
  const auto start = steady::now();
  transport.perform_all(reqs, [&](std::size_t pos, http_response&& r) { answers.at(pos) = std::move(r); });
  const auto took = ms_between(start, steady::now());
  for (const std::size_t pos : {0u, 1u}) {
    EXPECT_TRUE(contains(answers[pos].error, over_small_limit)) << pos << ": " << answers[pos].error;
    EXPECT_EQ(answers[pos].status, 200) << pos;
    EXPECT_TRUE(answers[pos].body.empty()) << pos;
  }
  EXPECT_TRUE(answers[2].ok()) << answers[2].error;
  EXPECT_LT(took, 10000);
  EXPECT_EQ(state_.count("endless"), 2u) << "not retried";
}

// --- the stop flag ------------------------------------------------------------------------------

// Sets `flag` on its own thread, the way a signal handler or a supervisor would: `delay` after
// `arrived()` holds (what the test stops in the middle of has reached the server; polled, for at most
// 10 s). A fixed delay from the start raced the requests' arrival on a loaded machine (under
// ThreadSanitizer, with other tests running, a request took longer than 300 ms to reach the server).
class delayed_stop {
 public:
  delayed_stop(std::atomic<bool>& flag, std::chrono::milliseconds delay, std::function<bool()> arrived)
      : thread_([&flag, delay, arrived = std::move(arrived)] {
          const auto give_up = steady::now() + 10s;
          while (!arrived() && steady::now() < give_up) std::this_thread::sleep_for(5ms);
          std::this_thread::sleep_for(delay);
          flag.store(true);
        }) {}
  ~delayed_stop() { thread_.join(); }
  delayed_stop(const delayed_stop&) = delete;
  delayed_stop& operator=(const delayed_stop&) = delete;

 private:
  std::thread thread_;
};

TEST_F(CurlTransport, StopFlagEndsHungRequestsPromptly) {
  std::atomic<bool> stop{false};
  curl_options o = quick();
  o.total_timeout = 60s;
  o.max_concurrent = 2;  // so that two of the four never start
  o.stop = &stop;
  curl_transport transport(library_, o);
  std::vector<http_request> reqs(4, get(server_.url("/slow")));
  std::vector<http_response> answers(reqs.size());
  int answered = 0;
  const auto start = steady::now();
  {
    delayed_stop stopper(stop, 300ms, [&] { return state_.count("slow") >= 2; });
    transport.perform_all(reqs, [&](std::size_t pos, http_response&& r) {
      ++answered;
      answers.at(pos) = std::move(r);
    });
  }
  const auto took = ms_between(start, steady::now());
  EXPECT_EQ(answered, 4);
  for (const auto& r : answers) {
    EXPECT_EQ(r.error, "interrupted");
    EXPECT_EQ(r.status, 0);
  }
  EXPECT_GE(took, 290);
  EXPECT_LT(took, 5000) << "bounded by the stop, not by the 60 s timeout";
  EXPECT_EQ(state_.count("slow"), 2u);
  EXPECT_EQ(transport.stats().attempts, 2u);
  EXPECT_EQ(transport.stats().requests, 4u);
}

TEST_F(CurlTransport, StopFlagEndsARetryWait) {
  std::atomic<bool> stop{false};
  curl_options o = quick();
  o.max_attempts = 3;
  o.stop = &stop;
  curl_transport transport(library_, o);
  const auto start = steady::now();
  http_response res;
  {
    delayed_stop stopper(stop, 300ms, [&] { return state_.count("retry-later") >= 1; });
    res = transport.perform(get(server_.url("/retry-later")));  // 503, Retry-After: 30
  }
  const auto took = ms_between(start, steady::now());
  EXPECT_EQ(res.error, "interrupted");
  EXPECT_EQ(res.status, 0);
  EXPECT_LT(took, 5000) << "waited out the 30 s Retry-After";
  EXPECT_EQ(state_.count("retry-later"), 1u);
  EXPECT_EQ(transport.stats().retries, 1u);  // scheduled, then abandoned
  EXPECT_EQ(transport.stats().attempts, 1u);
}

TEST_F(CurlTransport, StopFlagAlreadySetSendsNothing) {
  std::atomic<bool> stop{true};
  curl_options o = quick();
  o.stop = &stop;
  curl_transport transport(library_, o);
  std::vector<http_request> reqs(3, get(server_.url("/status/200")));
  int answered = 0;
  transport.perform_all(reqs, [&](std::size_t, http_response&& r) {
    ++answered;
    EXPECT_EQ(r.error, "interrupted");
    EXPECT_EQ(r.status, 0);
  });
  EXPECT_EQ(answered, 3);
  const auto one = transport.perform(get(server_.url("/status/200")));
  EXPECT_EQ(one.error, "interrupted");
  int asked = 0;
  transport.perform_stream(
    [&]() -> std::optional<http_request> {
      ++asked;
      return get(server_.url("/status/200"));
    },
    [&](std::size_t, http_response&&) {});
  EXPECT_EQ(asked, 0) << "next() asked for a request after the stop";
  EXPECT_EQ(state_.count("GET /status/200"), 0u);
  EXPECT_EQ(transport.stats().attempts, 0u);
  EXPECT_EQ(transport.stats().requests, 4u);
}

TEST_F(CurlTransport, StopFlagEndsAStreamWithoutAskingForMore) {
  std::atomic<bool> stop{false};
  curl_options o = quick();
  o.total_timeout = 60s;
  o.max_concurrent = 3;
  o.stop = &stop;
  curl_transport transport(library_, o);
  // An endless supply of requests that hang: only the stop ends the stream.
  int asked = 0, asked_after_stop = 0, interrupted = 0;
  std::size_t answered = 0;
  const auto start = steady::now();
  {
    delayed_stop stopper(stop, 300ms, [&] { return state_.count("slow") >= 3; });
    transport.perform_stream(
      [&]() -> std::optional<http_request> {
        ++asked;
        if (stop.load()) ++asked_after_stop;
        return get(server_.url("/slow"));
      },
      [&](std::size_t, http_response&& r) {
        ++answered;
        interrupted += r.error == "interrupted" ? 1 : 0;
      });
  }
  const auto took = ms_between(start, steady::now());
  EXPECT_EQ(asked_after_stop, 0);
  EXPECT_EQ(asked, 3);
  EXPECT_EQ(answered, 3u);
  EXPECT_EQ(interrupted, 3);
  EXPECT_LT(took, 5000);
}

// --- TLS ----------------------------------------------------------------------------------------

class CurlTransportTls : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<test_server>(
        std::make_unique<httplib::SSLServer>(cert_.cert_file().c_str(), cert_.key_file().c_str()), "https");
    ASSERT_TRUE(server_->http().is_valid());
    install_routes(server_->http(), state_);
    server_->start();
  }
  void TearDown() override {
    state_.release();
    server_->stop();
  }

  curl_library library_;
  testing::self_signed_certificate cert_;
  server_state state_;
  std::unique_ptr<test_server> server_;
};

TEST_F(CurlTransportTls, SelfSignedCertificateFailsVerificationClearly) {
  curl_transport transport(library_, quick());
  const auto res = transport.perform(get(server_->url("/echo")));
  EXPECT_FALSE(res.ok());
  EXPECT_EQ(res.status, 0);
  EXPECT_TRUE(contains(res.error, "TLS certificate verification failed: ")) << res.error;
  EXPECT_TRUE(contains(res.error, "(1 attempt)")) << res.error;  // not a transient failure
}

TEST_F(CurlTransportTls, TrustedWhenCaFileNamesTheCertificate) {
  curl_options o = quick();
  o.ca_file = cert_.cert_file().string();
  curl_transport transport(library_, o);
  const auto res = transport.perform(get(server_->url("/echo")));
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.body, "echo:");
}

TEST_F(CurlTransportTls, SkippingVerificationIsLoggedAsAWarning) {
  std::vector<std::pair<curl_log_level, std::string>> logged;
  curl_options o = quick();
  o.insecure_skip_verify = true;
  o.logger = [&](curl_log_level level, std::string_view message) { logged.emplace_back(level, std::string(message)); };
  curl_transport transport(library_, o);
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0].first, curl_log_level::warning);
  EXPECT_TRUE(contains(logged[0].second, "verification")) << logged[0].second;
  const auto res = transport.perform(get(server_->url("/echo")));
  EXPECT_TRUE(res.ok()) << res.error;
}

}  // namespace
}  // namespace tributary
