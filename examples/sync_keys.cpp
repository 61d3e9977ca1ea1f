// sync_keys: the API keys of a sync_server's store.
//
//   sync_keys --store sqlite:/var/lib/tributary/sync.db create "crawler bt" [--scope collector|admin ...]
//   sync_keys --store STORE list
//   sync_keys --store STORE revoke TAG
//
// create prints the key on stdout, alone on its line, once: the store keeps only a salted hash of it, so
// it can never be shown again. Everything else goes to stderr. Exit 2 for a usage error, 1 for a store
// failure or an unknown tag.

#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/redact.hpp>
#include <tributary/sync/keys.hpp>

#include "sync/store.hpp"

namespace {

constexpr std::string_view usage =
    "usage: sync_keys --store STORE create NAME [--scope collector|admin]...\n"
    "       sync_keys --store STORE list\n"
    "       sync_keys --store STORE revoke TAG\n"
    "  --store STORE  sqlite:PATH or postgres://user@host:port/db (the sync_server's)\n"
    "  --scope S      collector (the default) sends hashes and data and reads locator updates;\n"
    "                 admin publishes locator updates; give --scope twice for both\n"
    "create prints the new key once, on stdout; the store keeps only its salted hash.\n";

using tributary::examples::sync::usage_error;

}  // namespace

int main(int argc, char** argv) {
  std::string store_url;
  std::vector<std::string> words, scopes;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string_view a = argv[i];
      if (a == "--help" || a == "-h") {
        std::cout << usage;
        return 0;
      }
      if (a == "--store" || a == "--scope") {
        if (i + 1 == argc) throw usage_error{std::string(a) + " needs a value"};
        (a == "--store" ? store_url = argv[++i] : scopes.emplace_back(argv[++i]));
      } else if (a.starts_with("--")) {
        throw usage_error{"unknown option '" + std::string(a) + "'"};
      } else {
        words.emplace_back(a);
      }
    }
    if (store_url.empty()) throw usage_error{"--store is required"};
    if (words.empty()) throw usage_error{"a command is required: create, list or revoke"};
    const std::string command = words.front();
    if (command == "create" && words.size() != 2) throw usage_error{"create wants one NAME"};
    if (command == "revoke" && words.size() != 2) throw usage_error{"revoke wants one TAG (see list)"};
    if (command == "list" && words.size() != 1) throw usage_error{"list takes no argument"};
    if (command != "create" && command != "revoke" && command != "list")
      throw usage_error{"unknown command '" + command + "': create, list or revoke"};
    if (command != "create" && !scopes.empty()) throw usage_error{"--scope is for create"};
    for (const auto& s : scopes)
      if (s != "collector" && s != "admin") throw usage_error{"--scope '" + s + "': collector or admin"};
    if (scopes.empty()) scopes.emplace_back("collector");

    return tributary::examples::sync::with_store(store_url, [&](auto& store) {
      tributary::basic_key_store keys(store);
      if (command == "create") {
        const auto created = keys.create(words[1], scopes);
        std::cout << created.key << std::endl;
        std::cerr << "sync_keys: created key " << created.info.tag << " for '" << created.info.name
                  << "'; it is printed above once and cannot be shown again\n";
        return 0;
      }
      if (command == "revoke") {
        if (keys.revoke(words[1])) {
          std::cerr << "sync_keys: revoked " << words[1] << "\n";
          return 0;
        }
        std::cerr << "sync_keys: no key with tag '" << words[1].substr(0, 40) << "' (see sync_keys list)\n";
        return 1;
      }
      for (const auto& k : keys.list()) {
        std::cout << k.tag << "  " << (k.revoked ? "revoked" : "active ") << "  ";
        for (std::size_t i = 0; i < k.scopes.size(); ++i) std::cout << (i ? "," : "") << k.scopes[i];
        std::cout << "  " << k.name << "\n";
      }
      return 0;
    });
  } catch (const usage_error& e) {
    std::cerr << "sync_keys: " << e.message << "\n\n" << usage;
    return 2;
  } catch (const tributary::error& e) {
    std::cerr << "sync_keys: " << tributary::redact_urls_in(e.what()) << "\n";
    return 1;
  }
}
