#pragma once
// sync_server --keys FILE: the key file a collector reads with --api-key-file, one key on one line.
//
// When FILE does not exist, a key with the collector scope is created in the store and written to FILE
// (mode 0600, published with link(2), so a concurrent start never sees half a file and never
// overwrites one: the start that loses the race revokes the key it made and uses the winner's). When
// FILE exists it must hold a key the store accepts; anything else is a usage error naming FILE, never
// its content. Admin keys are made with sync_keys: a file left on a collector's machine gets the least.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>

#include <tributary/sync/keys.hpp>

#include "store.hpp"

namespace tributary::examples::sync {

/// The key in `path` (surrounding white space dropped); nullopt when there is no such file.
inline std::optional<std::string> read_key_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  std::string key = text.str();
  const auto first = key.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return std::string();
  key.erase(0, first);
  key.erase(key.find_last_not_of(" \t\r\n") + 1);
  return key;
}

/// Writes `key` to a new file `path` (0600); false when `path` exists already.
inline bool publish_key_file(const std::string& path, const std::string& key) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw usage_error{"--keys " + path + ": cannot write beside it: " + std::strerror(errno)};
  const std::string line = key + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    throw usage_error{"--keys " + path + ": writing the key failed"};
  }
  const int linked = ::link(tmp.c_str(), path.c_str());
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (linked == 0) return true;
  if (link_errno == EEXIST) return false;
  throw usage_error{"--keys " + path + ": " + std::strerror(link_errno)};
}

/// Makes sure `path` holds a key `keys` accepts (see the header comment); says on stderr what it did.
template <class KeyStore>
void ensure_key_file(KeyStore& keys, const std::string& path, std::ostream& log) {
  if (!read_key_file(path)) {
    const auto created = keys.create("sync_server --keys " + path, {std::string(collector_scope)});
    if (publish_key_file(path, created.key)) {
      log << "sync_server: created collector key " << created.info.tag << " in " << path << "\n";
      return;
    }
    (void)keys.revoke(created.info.tag);  // another start won the race: its key is the one in the file
  }
  const auto key = read_key_file(path);
  if (!key || key->empty()) throw usage_error{"--keys " + path + ": the file holds no key"};
  const auto info = keys.verify(*key);
  if (!info) throw usage_error{"--keys " + path + ": the key in it is not one this store accepts (revoked, or from another store)"};
  log << "sync_server: " << path << " holds key " << info->tag << " (" << (info->has_scope(admin_scope) ? "admin" : "collector") << ")\n";
}

}  // namespace tributary::examples::sync
