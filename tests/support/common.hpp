#pragma once
// Small helpers shared by the test files.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <tributary/error.hpp>
#include <tributary/index/types.hpp>

// GoogleTest printers, so that failure messages show values instead of bytes.
namespace tributary {
inline void PrintTo(errc c, std::ostream* os) { *os << "errc::" << to_string(c); }
inline void PrintTo(const stored_document& d, std::ostream* os) {
  *os << "{id: " << ::testing::PrintToString(d.id) << ", json: " << ::testing::PrintToString(d.json) << "}";
}
inline void PrintTo(const alias_entry& a, std::ostream* os) { *os << "{" << a.alias << " -> " << a.index << "}"; }
}  // namespace tributary

namespace tributary::testing {

/// The tributary::error `f` threw; fails the test when it threw none.
template <class F>
error thrown_by(F&& f) {
  try {
    f();
  } catch (const error& e) {
    return e;
  }
  ADD_FAILURE() << "no tributary::error was thrown";
  return error(errc::invalid_config, "<nothing thrown>");
}

inline bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

/// The parts appended into one string. Test ids are built with it rather than with
/// `"k" + std::to_string(i)`, on which g++ 12 at -O3 draws a false -Wrestrict (GCC PR 105329).
template <class... Parts>
[[nodiscard]] std::string cat(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view(parts)), ...);
  return out;
}

/// A port on 127.0.0.1 that nothing listens on: bound once to learn a free number, then closed.
inline int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("closed_port: cannot bind a loopback socket");
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// A fresh database path in the temp directory; the database and its -wal, -shm and -journal files
/// are removed on destruction.
class scratch_database {
 public:
  scratch_database() {
    std::random_device rd;
    std::ostringstream name;
    name << "tributary-test-" << ::getpid() << "-" << std::hex << rd() << rd() << ".db";
    path_ = (std::filesystem::temp_directory_path() / name.str()).string();
  }
  scratch_database(const scratch_database&) = delete;
  scratch_database& operator=(const scratch_database&) = delete;
  ~scratch_database() {
    std::error_code ec;
    for (const auto& f : files()) std::filesystem::remove(f, ec);
  }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::vector<std::string> files() const {
    return {path_, path_ + "-wal", path_ + "-shm", path_ + "-journal"};
  }

 private:
  std::string path_;
};

}  // namespace tributary::testing
