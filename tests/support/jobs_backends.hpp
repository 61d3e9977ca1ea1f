#pragma once
// The job stores the jobs tests run on: SQLite in a scratch file, and the real Redis server that
// scripts/services starts (TRIBUTARY_REDIS_URL), each test under a prefix of its own that is deleted
// afterwards. Both on a manual_clock.

#include <hiredis/hiredis.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <tributary/clock/manual.hpp>
#include <tributary/jobs/redis_job_store.hpp>
#include <tributary/jobs/sqlite_job_store.hpp>

#include "support/common.hpp"

namespace tributary::testing {

struct sqlite_jobs_backend {
  using store_type = jobs::basic_sqlite_job_store<manual_clock>;
  static constexpr const char* label = "sqlite";
  static std::optional<std::string> skip_reason() { return std::nullopt; }

  std::unique_ptr<store_type> open(manual_clock& clock, jobs::job_store_options options = {}) {
    return std::make_unique<store_type>(db.path(), clock, jobs::sqlite_job_store_options{options});
  }
  scratch_database db;
};

struct redis_jobs_backend {
  using store_type = jobs::basic_redis_job_store<manual_clock>;
  static constexpr const char* label = "redis";
  static std::optional<std::string> skip_reason() {
    if (std::getenv("TRIBUTARY_REDIS_URL")) return std::nullopt;
    return "TRIBUTARY_REDIS_URL is unset: run scripts/services start, then source build/services/env";
  }
  static std::string url() { return std::getenv("TRIBUTARY_REDIS_URL"); }

  std::unique_ptr<store_type> open(manual_clock& clock, jobs::job_store_options options = {}) {
    jobs::redis_job_store_options o;
    o.jobs = options;
    o.prefix = prefix;
    return std::make_unique<store_type>(url(), clock, o);
  }

  /// One command on a connection of its own, for what the store does not expose (TTLs, raw keys).
  std::vector<std::string> raw(const std::vector<std::string>& args, long long* integer = nullptr) const {
    const auto a = jobs::detail::parse_redis_url(url());
    redisContext* c = redisConnect(a.host.c_str(), a.port);
    std::vector<std::string> out;
    if (!c || c->err) {
      if (c) redisFree(c);
      return out;
    }
    if (a.db) freeReplyObject(redisCommand(c, "SELECT %d", a.db));
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& s : args) argv.push_back(s.data()), lens.push_back(s.size());
    auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (r) {
      if (integer) *integer = r->integer;
      if (r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->elements; ++i) out.push_back(jobs::detail::reply_text(r->element[i]));
      else
        out.push_back(jobs::detail::reply_text(r));
      freeReplyObject(r);
    }
    redisFree(c);
    return out;
  }

  ~redis_jobs_backend() {
    if (skip_reason()) return;
    const auto keys = raw({"KEYS", prefix + "*"});  // a test's own few keys, on a test server
    for (const auto& k : keys) raw({"DEL", k});
  }

  std::string prefix = "tributary-test:" + jobs::new_job_id() + ":";
};

}  // namespace tributary::testing
