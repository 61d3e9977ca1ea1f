#pragma once
// A live PostgreSQL server for tests: its URL from TRIBUTARY_POSTGRES_URL (scripts/services start
// writes it to build/services/env; scripts/test exports it), a plain libpq connection to look at the
// server behind the store's back, and a schema of the test's own, dropped at the end, so parallel runs
// never meet.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <tributary/index/postgres.hpp>

namespace tributary::testing {

inline std::optional<std::string> postgres_url() {
  const char* url = std::getenv("TRIBUTARY_POSTGRES_URL");
  if (url == nullptr || *url == '\0') return std::nullopt;
  return std::string(url);
}

inline constexpr const char* no_server_message =
  "TRIBUTARY_POSTGRES_URL is not set: start the test server with `scripts/services start`, then "
  "`set -a; source build/services/env; set +a` (scripts/test does both)";

/// Marks the running test skipped (from a fixture constructor too: GoogleTest then skips its body).
inline void skip_without_server() { GTEST_SKIP() << no_server_message; }

/// A fresh schema name for one test.
inline std::string fresh_schema() {
  std::random_device rd;
  std::ostringstream name;
  name << "tributary_test_" << ::getpid() << "_" << std::hex << rd() << rd();
  return name.str();
}

/// A plain libpq connection, to look at and poke the server behind postgres_index's back.
class raw_connection {
 public:
  explicit raw_connection(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(conn_));
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
  }
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;
  ~raw_connection() { PQfinish(conn_); }

  /// Every row of the first column, with parameters as text.
  std::vector<std::string> column(const std::string& sql, std::vector<std::string> params = {}) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    PGresult* r = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                               nullptr, 0);
    const auto status = PQresultStatus(r);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      std::string message = PQresultErrorMessage(r);
      PQclear(r);
      throw std::runtime_error(sql + ": " + message);
    }
    std::vector<std::string> out;
    for (int i = 0; i < PQntuples(r); ++i) out.emplace_back(PQgetvalue(r, i, 0));
    PQclear(r);
    return out;
  }
  std::string value(const std::string& sql, std::vector<std::string> params = {}) {
    auto rows = column(sql, std::move(params));
    return rows.empty() ? std::string() : rows.front();
  }
  void exec(const std::string& sql) { (void)column(sql); }

 private:
  PGconn* conn_;
};

/// A schema of this test's own, dropped (with everything in it) on destruction.
class scratch_schema {
 public:
  explicit scratch_schema(std::string url) : url_(std::move(url)), name_(fresh_schema()) {}
  scratch_schema(const scratch_schema&) = delete;
  scratch_schema& operator=(const scratch_schema&) = delete;
  ~scratch_schema() {
    try {
      raw_connection(url_).exec("DROP SCHEMA IF EXISTS \"" + name_ + "\" CASCADE");
    } catch (const std::exception& e) {
      ADD_FAILURE() << "could not drop schema " << name_ << ": " << e.what();
    }
  }
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const std::string& url() const { return url_; }

  [[nodiscard]] postgres_options options(postgres_bulk_method method = postgres_bulk_method::copy) const {
    postgres_options o;
    o.schema = name_;
    o.application_name = name_;  // finds this test's connections in pg_stat_activity
    o.bulk_method = method;
    return o;
  }

 private:
  std::string url_;
  std::string name_;
};

}  // namespace tributary::testing
