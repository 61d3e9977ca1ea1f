#pragma once
// basic_sqlite_job_store<Clock>: the embedded job store, one SQLite file shared by the API and the
// workers of one machine (several processes). Link tributary::jobs and tributary::sqlite.
//
//   wall_clock clock;
//   jobs::sqlite_job_store store("/var/lib/jobs.db", clock);     default options
//
// WAL mode, synchronous=FULL, every change one BEGIN IMMEDIATE transaction: take() selects the oldest
// queued job and marks it started inside one write transaction, and SQLite admits one writer at a
// time across processes, so a job is handed out once. A connection waits up to busy_timeout for the
// write lock. One instance may be shared by threads (a mutex guards its connection); a process that
// forks opens its own after the fork (SQLite's POSIX locks are per process).
//
// take(worker, wait) polls every 20 ms of real time until `wait` runs out: SQLite has no blocking pop,
// and a worker on one machine loses at most 20 ms per job to it. Timestamps and heartbeat ages come
// from the Clock (virtual time in tests).

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <tributary/clock/wall.hpp>
#include <tributary/concepts.hpp>
#include <tributary/error.hpp>
#include <tributary/jobs/job.hpp>
#include <tributary/jobs/store.hpp>

namespace tributary::jobs {

namespace detail {

inline constexpr const char* sqlite_jobs_schema = R"sql(
CREATE TABLE IF NOT EXISTS jobs(
  n INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, client_id TEXT NOT NULL, platform TEXT NOT NULL,
  status TEXT NOT NULL, settings TEXT NOT NULL, settings_echo TEXT NOT NULL, result TEXT NOT NULL DEFAULT '',
  error TEXT NOT NULL DEFAULT '', worker TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL, time_limit_ms INTEGER NOT NULL,
  cancel_requested INTEGER NOT NULL DEFAULT 0, enqueued_at INTEGER NOT NULL, started_at INTEGER NOT NULL DEFAULT 0,
  ended_at INTEGER NOT NULL DEFAULT 0, expires_at INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs(status, n);
CREATE INDEX IF NOT EXISTS jobs_by_worker ON jobs(worker, status);
CREATE INDEX IF NOT EXISTS jobs_by_expiry ON jobs(expires_at) WHERE expires_at > 0;
CREATE TABLE IF NOT EXISTS job_progress(n INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL, phase TEXT NOT NULL,
  state TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS job_progress_by_job ON job_progress(job, n);
CREATE TABLE IF NOT EXISTS job_datasets(job TEXT NOT NULL, tag TEXT NOT NULL, text TEXT NOT NULL, PRIMARY KEY(job, tag));
CREATE TABLE IF NOT EXISTS job_workers(name TEXT PRIMARY KEY, heartbeat INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS job_totals(platform TEXT NOT NULL, metric TEXT NOT NULL, value INTEGER NOT NULL,
  PRIMARY KEY(platform, metric));
)sql";

inline constexpr const char* sqlite_job_columns =
  "id, client_id, platform, status, settings, settings_echo, result, error, worker, note, attempts, max_attempts, "
  "time_limit_ms, cancel_requested, enqueued_at, started_at, ended_at";

/// One prepared statement, finalized at scope end; bind by position (1-based).
class sqlite_stmt {
 public:
  sqlite_stmt(sqlite3* db, std::string_view sql, const std::string& where) : db_(db), where_(where) {
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK) fail("preparing");
  }
  sqlite_stmt(const sqlite_stmt&) = delete;
  sqlite_stmt& operator=(const sqlite_stmt&) = delete;
  ~sqlite_stmt() { sqlite3_finalize(stmt_); }

  sqlite_stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  sqlite_stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  /// true: a row is ready.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail("running a statement");
  }
  [[nodiscard]] std::string text(int c) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, c));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, c))) : std::string();
  }
  [[nodiscard]] std::int64_t integer(int c) const { return sqlite3_column_int64(stmt_, c); }

 private:
  [[noreturn]] void fail(std::string_view what) const {
    throw error(errc::store_unavailable, "sqlite job store '" + where_ + "': " + std::string(what) + ": " + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  const std::string& where_;
};

}  // namespace detail

struct sqlite_job_store_options {
  job_store_options jobs;
  std::chrono::milliseconds busy_timeout = std::chrono::seconds(10);  ///< wait for another writer
};

template <class Clock = wall_clock>
class basic_sqlite_job_store {
  static_assert(clock<Clock>, "basic_sqlite_job_store: Clock does not model tributary::clock (see concepts.hpp)");

 public:
  using job_store_concept = job_store_tag;

  /// Opens (creating when missing) the store in `path`. `clock` must outlive the store.
  explicit basic_sqlite_job_store(std::string path, Clock& clock, sqlite_job_store_options options = {})
      : path_(std::move(path)), clock_(&clock), options_(options) {
    options_.jobs.validate();
    if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
      const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close_v2(db_);
      throw error(errc::store_unavailable, "sqlite job store '" + path_ + "': cannot open: " + why);
    }
    sqlite3_busy_timeout(db_, static_cast<int>(options_.busy_timeout.count()));
    try {
      exec("PRAGMA journal_mode = WAL");
      exec("PRAGMA synchronous = FULL");
      write([&] { exec(detail::sqlite_jobs_schema); });
    } catch (...) {
      sqlite3_close_v2(db_);
      throw;
    }
  }
  basic_sqlite_job_store(const basic_sqlite_job_store&) = delete;
  basic_sqlite_job_store& operator=(const basic_sqlite_job_store&) = delete;
  ~basic_sqlite_job_store() { sqlite3_close_v2(db_); }

  std::string submit(const job_submission& s) {
    const std::string id = new_job_id();
    write([&] {
      purge_expired();
      stmt("INSERT INTO jobs(id, client_id, platform, status, settings, settings_echo, max_attempts, time_limit_ms, enqueued_at) "
           "VALUES(?, ?, ?, 'queued', ?, ?, ?, ?, ?)")
        .bind(1, id).bind(2, s.client_id).bind(3, s.platform).bind(4, s.settings).bind(5, s.settings_echo)
        .bind(6, std::int64_t{s.max_attempts}).bind(7, static_cast<std::int64_t>(s.time_limit.count())).bind(8, now_ms())
        .step();
    });
    return id;
  }

  std::optional<job_record> take(std::string_view worker, std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (true) {
      auto taken = write([&]() -> std::optional<job_record> {
        heartbeat_locked(worker);
        auto q = stmt("SELECT id FROM jobs WHERE status = 'queued' ORDER BY n LIMIT 1");
        if (!q.step()) return std::nullopt;
        const std::string id = q.text(0);
        stmt("UPDATE jobs SET status = 'started', worker = ?, attempts = attempts + 1, started_at = ? WHERE id = ?")
          .bind(1, worker).bind(2, now_ms()).bind(3, id).step();
        return read_job(id, false);
      });
      if (taken || std::chrono::steady_clock::now() >= deadline) return taken;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(std::chrono::milliseconds(20),
                                                                               deadline - std::chrono::steady_clock::now()));
    }
  }

  bool progress(std::string_view id, std::string_view worker, std::string_view phase, std::string_view state) {
    return write([&] {
      if (!held_by(id, worker)) return false;
      stmt("INSERT INTO job_progress(job, phase, state, at) VALUES(?, ?, ?, ?)").bind(1, id).bind(2, phase).bind(3, state).bind(4, now_ms()).step();
      return true;
    });
  }

  bool dataset(std::string_view id, std::string_view worker, std::string_view tag, std::string_view text) {
    return write([&] {
      if (!held_by(id, worker)) return false;
      stmt("INSERT OR REPLACE INTO job_datasets(job, tag, text) VALUES(?, ?, ?)").bind(1, id).bind(2, tag).bind(3, text).step();
      return true;
    });
  }

  bool complete(std::string_view id, std::string_view worker, job_status final_status, std::string_view detail) {
    if (!is_terminal(final_status)) throw error(errc::invalid_config, "complete(): the status must be a final one");
    return write([&] {
      if (!held_by(id, worker)) return false;
      const bool ok = final_status == job_status::finished;
      const std::int64_t now = now_ms();
      count_end(id, final_status, now);
      stmt("UPDATE jobs SET status = ?, result = ?, error = ?, ended_at = ?, expires_at = ? WHERE id = ?")
        .bind(1, to_string(final_status)).bind(2, ok ? detail : "").bind(3, ok ? "" : detail).bind(4, now)
        .bind(5, now + ttl_ms(final_status)).bind(6, id).step();
      return true;
    });
  }

  cancel_outcome cancel(std::string_view id) {
    return write([&] {
      auto q = stmt("SELECT status FROM jobs WHERE id = ? AND (expires_at = 0 OR expires_at > ?)");
      q.bind(1, id).bind(2, now_ms());
      if (!q.step()) return cancel_outcome::unknown_job;  // none, or past its TTL
      const auto status = job_status_from(q.text(0));
      if (status == job_status::queued) {
        const std::int64_t now = now_ms();
        count_end(id, job_status::canceled, now);
        stmt("UPDATE jobs SET status = 'canceled', error = 'canceled before it started', ended_at = ?, expires_at = ? WHERE id = ?")
          .bind(1, now).bind(2, now + ttl_ms(job_status::canceled)).bind(3, id).step();
        return cancel_outcome::canceled;
      }
      if (status == job_status::started) {
        stmt("UPDATE jobs SET cancel_requested = 1 WHERE id = ?").bind(1, id).step();
        return cancel_outcome::requested;
      }
      return cancel_outcome::already_over;
    });
  }

  bool cancel_requested(std::string_view id) {
    return read([&] {
      auto q = stmt("SELECT cancel_requested FROM jobs WHERE id = ?");
      q.bind(1, id);
      return q.step() && q.integer(0) != 0;
    });
  }

  std::optional<job_record> get(std::string_view id, bool full) {
    return read([&] { return read_job(id, full); });
  }

  std::vector<job_record> list(std::optional<job_status> status, std::size_t limit) {
    return read([&] {
      std::vector<std::string> ids;
      {
        auto q = status ? stmt("SELECT id FROM jobs WHERE status = ? AND (expires_at = 0 OR expires_at > ?) ORDER BY n DESC LIMIT ?")
                        : stmt("SELECT id FROM jobs WHERE ?1 IS NOT NULL AND (expires_at = 0 OR expires_at > ?2) ORDER BY n DESC LIMIT ?3");
        q.bind(1, status ? to_string(*status) : std::string_view("any")).bind(2, now_ms()).bind(3, static_cast<std::int64_t>(limit));
        while (q.step()) ids.push_back(q.text(0));
      }
      std::vector<job_record> out;
      for (const auto& id : ids)
        if (auto j = read_job(id, false)) out.push_back(std::move(*j));
      return out;
    });
  }

  void heartbeat(std::string_view worker) {
    write([&] { heartbeat_locked(worker); });
  }

  std::vector<std::string> reap_lost_workers() {
    return write([&] {
      const std::int64_t now = now_ms();
      std::vector<std::string> lost, affected;
      {
        auto q = stmt("SELECT name FROM job_workers WHERE heartbeat < ?");
        q.bind(1, now - static_cast<std::int64_t>(options_.jobs.heartbeat_timeout.count()));
        while (q.step()) lost.push_back(q.text(0));
      }
      for (const auto& w : lost) {
        std::vector<std::pair<std::string, bool>> held;  // id, may run again
        {
          auto q = stmt("SELECT id, attempts < max_attempts FROM jobs WHERE worker = ? AND status = 'started'");
          q.bind(1, w);
          while (q.step()) held.emplace_back(q.text(0), q.integer(1) != 0);
        }
        for (const auto& [id, again] : held) {
          if (again)
            stmt("UPDATE jobs SET status = 'queued', worker = '', note = ?, cancel_requested = 0 WHERE id = ?")
              .bind(1, detail::lost_worker_note(w)).bind(2, id).step();
          else {
            count_end(id, job_status::failed, now);
            stmt("UPDATE jobs SET status = 'failed', error = ?, ended_at = ?, expires_at = ? WHERE id = ?")
              .bind(1, detail::lost_worker_error(w)).bind(2, now).bind(3, now + ttl_ms(job_status::failed)).bind(4, id).step();
          }
          affected.push_back(id);
        }
        stmt("DELETE FROM job_workers WHERE name = ?").bind(1, w).step();
      }
      return affected;
    });
  }

  job_store_counts counts() {
    return read([&] {
      job_store_counts c;
      const std::int64_t now = now_ms();
      {
        auto q = stmt("SELECT status, count(*) FROM jobs WHERE expires_at = 0 OR expires_at > ? GROUP BY status");
        q.bind(1, now);
        while (q.step())
          for (std::size_t i = 0; i < std::size(all_job_statuses); ++i)
            if (to_string(all_job_statuses[i]) == q.text(0)) c.by_status[i] = static_cast<std::size_t>(q.integer(1));
      }
      c.queue_depth = c.by_status[0];
      auto w = stmt("SELECT count(*) FROM job_workers WHERE heartbeat >= ?");
      w.bind(1, now - static_cast<std::int64_t>(options_.jobs.heartbeat_timeout.count()));
      if (w.step()) c.workers_alive = static_cast<std::size_t>(w.integer(0));
      auto active = stmt("SELECT platform, status, count(*) FROM jobs WHERE status IN ('queued', 'started') GROUP BY platform, status");
      while (active.step())
        (active.text(1) == "queued" ? c.by_platform[active.text(0)].queued : c.by_platform[active.text(0)].started) =
          static_cast<std::size_t>(active.integer(2));
      auto totals = stmt("SELECT platform, metric, value FROM job_totals");
      while (totals.step()) {
        auto& p = c.by_platform[totals.text(0)];
        const std::string metric = totals.text(1);
        const std::int64_t value = totals.integer(2);
        if (metric == "sum_ms") p.duration_sum_s = static_cast<double>(value) / 1000;
        else if (metric.starts_with("bucket:") && std::stoul(metric.substr(7)) < p.durations.size())
          p.durations[std::stoul(metric.substr(7))] = static_cast<std::uint64_t>(value);
        else if (const auto st = job_status_from(metric.substr(std::min<std::size_t>(metric.size(), 6))); st && metric.starts_with("ended:"))
          p.ended[static_cast<std::size_t>(*st)] = static_cast<std::uint64_t>(value);
      }
      return c;
    });
  }

  void ping() {
    read([&] { stmt("SELECT count(*) FROM job_workers").step(); });
  }

  [[nodiscard]] std::string name() const { return "sqlite job store '" + path_ + "'"; }

 private:
  // Before a job's end is written: its platform's count of that end, and, when it was running, its run's
  // duration from its last start (in the same transaction as the end).
  void count_end(std::string_view id, job_status final_status, std::int64_t now) {
    auto q = stmt("SELECT platform, status, started_at FROM jobs WHERE id = ?");
    q.bind(1, id);
    if (!q.step()) return;
    const std::string platform = q.text(0);
    auto add = [&](const std::string& metric, std::int64_t value) {
      stmt("INSERT INTO job_totals(platform, metric, value) VALUES(?, ?, ?) "
           "ON CONFLICT(platform, metric) DO UPDATE SET value = value + excluded.value")
        .bind(1, platform).bind(2, metric).bind(3, value).step();
    };
    add("ended:" + std::string(to_string(final_status)), 1);
    if (q.text(1) == "started") {
      const std::int64_t ran = std::max<std::int64_t>(0, now - q.integer(2));
      add("bucket:" + std::to_string(job_duration_bucket(ran)), 1);
      add("sum_ms", ran);
    }
  }

  template <class F>
  auto write(F&& f) -> decltype(f()) {
    return transaction("BEGIN IMMEDIATE", std::forward<F>(f));
  }
  template <class F>
  auto read(F&& f) -> decltype(f()) {
    return transaction("BEGIN", std::forward<F>(f));  // one snapshot for a job and its progress
  }
  template <class F>
  auto transaction(const char* begin, F&& f) -> decltype(f()) {
    std::lock_guard lock(mu_);
    exec(begin);
    try {
      if constexpr (std::is_void_v<decltype(f())>) {
        f();
        exec("COMMIT");
      } else {
        auto r = f();
        exec("COMMIT");
        return r;
      }
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
  void exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK)
      throw error(errc::store_unavailable, "sqlite job store '" + path_ + "': " + sqlite3_errmsg(db_));
  }
  detail::sqlite_stmt stmt(std::string_view sql) { return detail::sqlite_stmt(db_, sql, path_); }
  std::int64_t now_ms() const { return to_millis(clock_->now()); }
  std::int64_t ttl_ms(job_status s) const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(options_.jobs.ttl_of(s)).count();
  }

  void heartbeat_locked(std::string_view worker) {
    stmt("INSERT INTO job_workers(name, heartbeat) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET heartbeat = excluded.heartbeat")
      .bind(1, worker).bind(2, now_ms()).step();
  }
  bool held_by(std::string_view id, std::string_view worker) {
    auto q = stmt("SELECT 1 FROM jobs WHERE id = ? AND status = 'started' AND worker = ?");
    q.bind(1, id).bind(2, worker);
    return q.step();
  }
  void purge_expired() {
    const std::int64_t now = now_ms();
    stmt("DELETE FROM job_progress WHERE job IN (SELECT id FROM jobs WHERE expires_at > 0 AND expires_at <= ?)").bind(1, now).step();
    stmt("DELETE FROM job_datasets WHERE job IN (SELECT id FROM jobs WHERE expires_at > 0 AND expires_at <= ?)").bind(1, now).step();
    stmt("DELETE FROM jobs WHERE expires_at > 0 AND expires_at <= ?").bind(1, now).step();
  }

  std::optional<job_record> read_job(std::string_view id, bool full) {
    auto q = stmt(std::string("SELECT ") + detail::sqlite_job_columns + ", expires_at FROM jobs WHERE id = ?");
    q.bind(1, id);
    if (!q.step()) return std::nullopt;
    const std::int64_t expires = q.integer(17);
    if (expires > 0 && expires <= now_ms()) return std::nullopt;  // past its TTL: forgotten
    job_record j;
    j.id = q.text(0), j.client_id = q.text(1), j.platform = q.text(2);
    j.status = job_status_from(q.text(3)).value_or(job_status::failed);
    j.settings = q.text(4), j.settings_echo = q.text(5), j.result = q.text(6), j.error = q.text(7);
    j.worker = q.text(8), j.note = q.text(9);
    j.attempts = static_cast<unsigned>(q.integer(10)), j.max_attempts = static_cast<unsigned>(q.integer(11));
    j.time_limit = std::chrono::milliseconds(q.integer(12));
    j.cancel_requested = q.integer(13) != 0;
    auto time = [&](int c) { return q.integer(c) ? from_millis(q.integer(c)) : job_record::time_point{}; };
    j.enqueued_at = time(14), j.started_at = time(15), j.ended_at = time(16);
    {
      auto p = stmt("SELECT phase, state, at FROM job_progress WHERE job = ? ORDER BY n");
      p.bind(1, id);
      while (p.step()) j.progress.push_back({p.text(0), p.text(1), from_millis(p.integer(2))});
    }
    if (full) {
      auto d = stmt("SELECT tag, text FROM job_datasets WHERE job = ?");
      d.bind(1, id);
      while (d.step()) j.datasets.emplace(d.text(0), d.text(1));
    }
    return j;
  }

  std::string path_;
  Clock* clock_;
  sqlite_job_store_options options_;
  sqlite3* db_ = nullptr;
  std::mutex mu_;
};

using sqlite_job_store = basic_sqlite_job_store<wall_clock>;

}  // namespace tributary::jobs
