#pragma once
// The stores the on-demand suites (persistor, snapshots) run over: memory_index, SQLite in a scratch
// file, and a live PostgreSQL server in a schema of the test's own, the store a deployment would use
// (skipped without TRIBUTARY_POSTGRES_URL, as every PostgreSQL suite is).

#include <gtest/gtest.h>

#include <optional>

#include <tributary/index/memory.hpp>
#include <tributary/index/postgres.hpp>
#include <tributary/index/sqlite.hpp>

#include "common.hpp"
#include "postgres.hpp"

namespace tributary::testing {

struct memory_backend {
  static bool available() { return true; }
  memory_index store;
};
struct sqlite_backend {
  static bool available() { return true; }
  scratch_database db;
  sqlite_index store{db.path()};
};
struct postgres_backend {
  static bool available() { return postgres_url().has_value(); }
  scratch_schema schema{*postgres_url()};  // dropped after the store is gone
  postgres_index store{*postgres_url(), schema.options()};
};

/// A typed test over one of the backends above: store() is the test's own, fresh store.
template <class Backend>
class store_test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Backend::available()) GTEST_SKIP() << no_server_message;
    backend_.emplace();
  }
  auto& store() { return backend_->store; }

 private:
  std::optional<Backend> backend_;
};

using every_backend = ::testing::Types<memory_backend, sqlite_backend, postgres_backend>;

}  // namespace tributary::testing
