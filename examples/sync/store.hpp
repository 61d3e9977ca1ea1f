#pragma once
// The store the sync examples open: "sqlite:PATH" (or sqlite:///abs/path) or postgres://... A bad
// --store is a usage error (exit 2), told before anything is opened.

#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include <tributary/error.hpp>
#include <tributary/index/postgres.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/redact.hpp>

namespace tributary::examples::sync {

/// Thrown for a command line that cannot work; main prints it with the usage and exits 2.
struct usage_error {
  std::string message;
};

/// Calls f(store) on the store `url` names, and returns what f returns.
template <class F>
int with_store(const std::string& url, F&& f) {
  if (url.starts_with("sqlite://")) {
    std::string path;
    try {
      path = sqlite_index::parse_url(url);
    } catch (const error& e) {
      throw usage_error{std::string("--store: ") + e.what()};
    }
    sqlite_index store(path);
    return f(store);
  }
  if (url.starts_with("sqlite:")) {
    const std::string path = url.substr(7);
    if (path.empty()) throw usage_error{"--store sqlite:PATH needs a PATH"};
    sqlite_index store(path);
    return f(store);
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    auto store = postgres_index::open_url(url);
    return f(store);
  }
  throw usage_error{"--store " + detail::quote_url(url) + ": give sqlite:PATH or postgres://user@host:port/db"};
}

}  // namespace tributary::examples::sync
