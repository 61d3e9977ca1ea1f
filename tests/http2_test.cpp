// curl_transport speaks HTTP/2 where a server offers it (ALPN over TLS), and multiplexes concurrent
// requests to that host over one connection; it speaks HTTP/1.1 where a server offers only that.
//
// The HTTP/2 server is nghttpd (Debian package nghttp2-server, which scripts/install-deps installs),
// serving a directory on loopback with a throwaway certificate. Without nghttpd the HTTP/2 tests are
// reported as skipped.

#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <tributary/transport/curl.hpp>

#include "support/common.hpp"
#include "support/process.hpp"
#include "support/tls.hpp"
#include "support/tsan_httplib.hpp"

namespace tributary {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::optional<std::string> nghttpd_path() {
  for (const char* candidate : {"/usr/sbin/nghttpd", "/usr/bin/nghttpd", "/usr/local/bin/nghttpd"})
    if (fs::exists(candidate)) return std::string(candidate);
  return std::nullopt;
}

http_request get(std::string url) {
  http_request r;
  r.url = std::move(url);
  return r;
}

/// True once something accepts connections on 127.0.0.1:port.
bool accepts(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

class Http2 : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto nghttpd = nghttpd_path();
    if (!nghttpd) GTEST_SKIP() << "nghttpd is not installed (apt-get install nghttp2-server; scripts/install-deps does)";
    dir_ = fs::temp_directory_path() / ("tributary-http2-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "docs");
    for (int i = 0; i < files; ++i) std::ofstream(dir_ / "docs" / file_name(i)) << body_of(i);
    port_ = testing::closed_port();
    server_ = test::child_process::spawn({*nghttpd, "-a", "127.0.0.1", "-d", (dir_ / "docs").string(),
                                          std::to_string(port_), cert_.key_file().string(), cert_.cert_file().string()},
                                         dir_ / "nghttpd.out", dir_ / "nghttpd.err");
    for (auto until = std::chrono::steady_clock::now() + 10s; !accepts(port_);) {
      ASSERT_TRUE(server_.running()) << "nghttpd exited: " << server_.errors();
      ASSERT_LT(std::chrono::steady_clock::now(), until) << "nghttpd does not listen on port " << port_;
      std::this_thread::sleep_for(10ms);
    }
  }
  void TearDown() override {
    server_.terminate();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  static constexpr int files = 24;
  static std::string file_name(int i) { return "doc-" + std::to_string(i) + ".json"; }
  static std::string body_of(int i) { return "{\"doc\":" + std::to_string(i) + ",\"pad\":\"" + std::string(2000, 'x') + "\"}"; }
  [[nodiscard]] std::string url(int i) const {
    return "https://127.0.0.1:" + std::to_string(port_) + "/" + file_name(i);
  }

  curl_library library_;
  testing::self_signed_certificate cert_;
  fs::path dir_;
  int port_ = 0;
  test::child_process server_;
};

TEST_F(Http2, ConcurrentRequestsToOneHostShareOneHttp2Connection) {
  curl_options o;
  o.ca_file = cert_.cert_file().string();
  o.max_concurrent = 8;
  o.max_per_host = 8;
  curl_transport transport(library_, o);
  std::vector<http_request> requests;
  for (int i = 0; i < files; ++i) requests.push_back(get(url(i)));
  std::vector<http_response> responses(files);
  transport.perform_all(requests, [&](std::size_t pos, http_response&& r) { responses[pos] = std::move(r); });

  for (int i = 0; i < files; ++i) {
    SCOPED_TRACE(file_name(i));
    ASSERT_TRUE(responses[i].ok()) << responses[i].status << " " << responses[i].error;
    EXPECT_EQ(responses[i].body, body_of(i));
    EXPECT_EQ(responses[i].protocol, "HTTP/2");
  }
  // Eight at a time over one connection: HTTP/2 streams, not eight TLS handshakes.
  EXPECT_EQ(transport.stats().connections, 1u);
  EXPECT_EQ(transport.stats().peak_in_flight, 8u);
}

TEST_F(Http2, AHostOfferingOnlyHttp11IsSpokenToInHttp11) {
  httplib::SSLServer server(cert_.cert_file().c_str(), cert_.key_file().c_str());
  ASSERT_TRUE(server.is_valid());
  server.Get("/hello", [](const httplib::Request&, httplib::Response& res) { res.set_content("hi", "text/plain"); });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(1ms);

  curl_options o;
  o.ca_file = cert_.cert_file().string();
  http_response res;
  {
    curl_transport transport(library_, o);
    res = transport.perform(get("https://127.0.0.1:" + std::to_string(port) + "/hello"));
  }  // its kept-alive connection closes here, so the server stops at once
  server.stop();
  serving.join();
  ASSERT_TRUE(res.ok()) << res.error;
  EXPECT_EQ(res.body, "hi");
  EXPECT_EQ(res.protocol, "HTTP/1.1");
}

}  // namespace
}  // namespace tributary
