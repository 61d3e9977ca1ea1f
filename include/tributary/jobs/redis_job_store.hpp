#pragma once
// basic_redis_job_store<Clock>: the job store on Redis (hiredis), shared by an API and workers on any
// number of machines. Link tributary::jobs. Needs Redis 6.2 or later (BLMOVE).
//
//   wall_clock clock;
//   jobs::redis_job_store store("redis://:password@10.0.0.5:6379/0", clock);
//
// Keys, under options.prefix ("tributary:jobs:" by default):
//   queue                 list of queued job ids (LPUSH to enqueue, taken from the right: FIFO)
//   processing:<worker>   list of the ids a worker took: BLMOVE queue -> here is the reliable-queue
//                         step, so a job taken by a worker that dies is still somewhere
//   job:<id>              hash: the record's fields; :progress a list of (at, phase, state) triples;
//                         :datasets a hash tag -> text
//   registry:<status>     sorted set of ids by the time they entered that status (list by status)
//   workers               sorted set of workers by their last heartbeat
//   totals                hash PLATFORM\x1fMETRIC -> count, kept for good: jobs ended by status, run
//                         durations by bucket and their sum (for GET /metrics)
// Every change of state is one Lua script (EVAL), so it is atomic: a job is started, completed,
// canceled or reaped whole or not at all, and the checks (is it still queued, does this worker still
// hold it) happen inside the same step. take() blocks in BLMOVE (no script can block), then a script
// marks the job started only if it is still queued (a cancel may have come first).
//
// A job that ends gets PEXPIRE of the TTL configured for how it ended (the registry entries older than
// that are trimmed by the same script); the record also carries expires_at on the store's Clock, and a
// job past it is answered as unknown, so tests in virtual time see the TTL too.
//
// The scripts name their keys from the prefix rather than in KEYS: fine for one Redis server or a
// replicated one, not for Redis Cluster. One instance may be shared by threads (a mutex guards its
// connection), but take() holds the connection while it blocks: give each taking worker its own.
// A lost connection is opened again on the next call; a call that fails throws
// error(errc::store_unavailable) naming the server with its password redacted.

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tributary/clock/wall.hpp>
#include <tributary/concepts.hpp>
#include <tributary/error.hpp>
#include <tributary/jobs/job.hpp>
#include <tributary/jobs/store.hpp>
#include <tributary/redact.hpp>

namespace tributary::jobs {

struct redis_job_store_options {
  job_store_options jobs;
  std::string prefix = "tributary:jobs:";
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(5);
  std::chrono::milliseconds command_timeout = std::chrono::seconds(5);  ///< besides a take()'s own wait
};

namespace detail {

/// redis://[[user]:password@]host[:port][/db]
struct redis_address {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string user, password;
};

inline redis_address parse_redis_url(std::string_view url) {
  const auto bad = [&](std::string_view why) {
    return error(errc::invalid_config, "redis URL " + tributary::detail::quote_url(url) + ": " + std::string(why));
  };
  constexpr std::string_view scheme = "redis://";
  if (!url.starts_with(scheme)) throw bad("must start with redis://");
  std::string_view rest = url.substr(scheme.size());
  redis_address a;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    const auto colon = userinfo.find(':');
    a.user = std::string(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) a.password = std::string(userinfo.substr(colon + 1));
    rest.remove_prefix(at + 1);
  }
  const auto slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos && slash + 1 < rest.size()) {
    const std::string_view db = rest.substr(slash + 1);
    if (std::from_chars(db.data(), db.data() + db.size(), a.db).ptr != db.data() + db.size() || a.db < 0)
      throw bad("the database must be a number");
  }
  if (const auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
    const std::string_view port = hostport.substr(colon + 1);
    if (std::from_chars(port.data(), port.data() + port.size(), a.port).ptr != port.data() + port.size() || a.port <= 0 || a.port > 65535)
      throw bad("the port must be a number from 1 to 65535");
    hostport = hostport.substr(0, colon);
  }
  if (!hostport.empty()) a.host = std::string(hostport);
  return a;
}

struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

inline std::string reply_text(const redisReply* r) {
  return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) ? std::string(r->str, r->len) : std::string();
}

// The scripts. ARGV[1] is always the prefix. A job is "held" by a worker while it is started by it.
inline constexpr const char* redis_lua_prelude = R"lua(
local p = ARGV[1]
local function job(id) return p .. 'job:' .. id end
local function held(id, w)
  return redis.call('HGET', job(id), 'status') == 'started' and redis.call('HGET', job(id), 'worker') == w
end
-- The bounds of jobs::job_duration_buckets_s (jobs/store.hpp), in seconds.
local buckets = {0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600}
-- Before a job's end is written: its platform's count of that end, and, when it was running, its run's
-- duration from its last start, in the hash totals (field PLATFORM \31 METRIC).
local function count_end(id, status, now)
  local t = redis.call('HMGET', job(id), 'status', 'platform', 'started_at')
  if not t[2] then return end
  local f = t[2] .. '\31'
  redis.call('HINCRBY', p .. 'totals', f .. 'ended:' .. status, 1)
  if t[1] == 'started' and t[3] then
    local ran = math.max(0, now - tonumber(t[3]))
    local b = 0
    while b < #buckets and ran > buckets[b + 1] * 1000 do b = b + 1 end
    redis.call('HINCRBY', p .. 'totals', f .. 'bucket:' .. b, 1)
    redis.call('HINCRBY', p .. 'totals', f .. 'sum_ms', ran)
  end
end
local function finish(id, status, registry, now, ttl, fields)
  local k = job(id)
  count_end(id, status, now)
  redis.call('HSET', k, 'status', status, 'ended_at', now, 'expires_at', now + ttl, unpack(fields))
  redis.call('ZREM', p .. 'registry:queued', id)
  redis.call('ZREM', p .. 'registry:started', id)
  redis.call('ZADD', p .. 'registry:' .. registry, now, id)
  redis.call('ZREMRANGEBYSCORE', p .. 'registry:' .. registry, '-inf', now - ttl)
  for _, suffix in ipairs({'', ':progress', ':datasets'}) do redis.call('PEXPIRE', k .. suffix, ttl) end
end
)lua";

// ARGV: prefix, id, now, client_id, platform, settings, echo, max_attempts, time_limit_ms
inline constexpr const char* redis_lua_submit = R"lua(
local id, now = ARGV[2], ARGV[3]
redis.call('HSET', job(id), 'id', id, 'client_id', ARGV[4], 'platform', ARGV[5], 'status', 'queued',
  'settings', ARGV[6], 'settings_echo', ARGV[7], 'max_attempts', ARGV[8], 'time_limit_ms', ARGV[9],
  'attempts', 0, 'cancel_requested', 0, 'enqueued_at', now)
redis.call('ZADD', p .. 'registry:queued', now, id)
redis.call('LPUSH', p .. 'queue', id)
return 1
)lua";

// ARGV: prefix, id, worker, now. After BLMOVE put the id in processing:<worker>.
inline constexpr const char* redis_lua_take = R"lua(
local id, w, now = ARGV[2], ARGV[3], ARGV[4]
local pl = p .. 'processing:' .. w
redis.call('ZADD', p .. 'workers', now, w)
redis.call('LREM', pl, 0, id)
if redis.call('HGET', job(id), 'status') ~= 'queued' then return 0 end
redis.call('LPUSH', pl, id) -- again: a reaper may have emptied the list meanwhile
redis.call('HSET', job(id), 'status', 'started', 'worker', w, 'started_at', now)
redis.call('HINCRBY', job(id), 'attempts', 1)
redis.call('ZREM', p .. 'registry:queued', id)
redis.call('ZADD', p .. 'registry:started', now, id)
return 1
)lua";

// ARGV: prefix, id, worker, now, phase, state
inline constexpr const char* redis_lua_progress = R"lua(
if not held(ARGV[2], ARGV[3]) then return 0 end
redis.call('RPUSH', job(ARGV[2]) .. ':progress', ARGV[4], ARGV[5], ARGV[6])
return 1
)lua";

// ARGV: prefix, id, worker, tag, text
inline constexpr const char* redis_lua_dataset = R"lua(
if not held(ARGV[2], ARGV[3]) then return 0 end
redis.call('HSET', job(ARGV[2]) .. ':datasets', ARGV[4], ARGV[5])
return 1
)lua";

// ARGV: prefix, id, worker, now, status, registry, ttl_ms, result, error
inline constexpr const char* redis_lua_complete = R"lua(
local id, w = ARGV[2], ARGV[3]
if not held(id, w) then return 0 end
finish(id, ARGV[5], ARGV[6], tonumber(ARGV[4]), tonumber(ARGV[7]), {'result', ARGV[8], 'error', ARGV[9]})
redis.call('LREM', p .. 'processing:' .. w, 0, id)
return 1
)lua";

// ARGV: prefix, id, now, ttl_ms
inline constexpr const char* redis_lua_cancel = R"lua(
local id, now = ARGV[2], tonumber(ARGV[3])
local st = redis.call('HGET', job(id), 'status')
local expires = tonumber(redis.call('HGET', job(id), 'expires_at') or '0')
if not st or (expires > 0 and expires <= now) then return 'unknown' end
if st == 'queued' then
  redis.call('LREM', p .. 'queue', 0, id)
  finish(id, 'canceled', 'canceled', now, tonumber(ARGV[4]), {'error', 'canceled before it started'})
  return 'canceled'
elseif st == 'started' then
  redis.call('HSET', job(id), 'cancel_requested', 1)
  return 'requested'
end
return 'over'
)lua";

// ARGV: prefix, worker, now, failed_ttl_ms, note (requeued), error (failed)
inline constexpr const char* redis_lua_reap = R"lua(
local w, now, ttl = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local pl = p .. 'processing:' .. w
local out = {}
for _, id in ipairs(redis.call('LRANGE', pl, 0, -1)) do
  local st = redis.call('HGET', job(id), 'status')
  if st == 'started' and redis.call('HGET', job(id), 'worker') == w then
    local attempts = tonumber(redis.call('HGET', job(id), 'attempts'))
    if attempts < tonumber(redis.call('HGET', job(id), 'max_attempts')) then
      redis.call('HSET', job(id), 'status', 'queued', 'worker', '', 'note', ARGV[5], 'cancel_requested', 0)
      redis.call('ZREM', p .. 'registry:started', id)
      redis.call('ZADD', p .. 'registry:queued', now, id)
      redis.call('RPUSH', p .. 'queue', id)
    else
      finish(id, 'failed', 'failed', now, ttl, {'error', ARGV[6]})
    end
    table.insert(out, id)
  elseif st == 'queued' then
    redis.call('RPUSH', p .. 'queue', id) -- moved by BLMOVE, never marked started: first in line again
  end
end
redis.call('DEL', pl)
redis.call('ZREM', p .. 'workers', w)
return out
)lua";

// ARGV: prefix. The queued and started jobs by platform: PLATFORM \31 STATUS, count, ...
inline constexpr const char* redis_lua_active = R"lua(
local counts, out = {}, {}
for _, st in ipairs({'queued', 'started'}) do
  for _, id in ipairs(redis.call('ZRANGE', p .. 'registry:' .. st, 0, -1)) do
    local platform = redis.call('HGET', job(id), 'platform')
    if platform then
      local f = platform .. '\31' .. st
      counts[f] = (counts[f] or 0) + 1
    end
  end
end
for f, n in pairs(counts) do
  table.insert(out, f)
  table.insert(out, n)
end
return out
)lua";

}  // namespace detail

template <class Clock = wall_clock>
class basic_redis_job_store {
  static_assert(clock<Clock>, "basic_redis_job_store: Clock does not model tributary::clock (see concepts.hpp)");

 public:
  using job_store_concept = job_store_tag;

  /// Connects to `url` (redis://[[user]:password@]host[:port][/db]). `clock` must outlive the store.
  basic_redis_job_store(std::string url, Clock& clock, redis_job_store_options options = {})
      : url_(std::move(url)), address_(detail::parse_redis_url(url_)), clock_(&clock), options_(std::move(options)) {
    options_.jobs.validate();
    std::lock_guard lock(mu_);
    connect();
  }
  basic_redis_job_store(const basic_redis_job_store&) = delete;
  basic_redis_job_store& operator=(const basic_redis_job_store&) = delete;
  ~basic_redis_job_store() {
    if (ctx_) redisFree(ctx_);
  }

  std::string submit(const job_submission& s) {
    const std::string id = new_job_id();
    script(detail::redis_lua_submit, {id, now_text(), s.client_id, s.platform, s.settings, s.settings_echo,
                                      std::to_string(s.max_attempts), std::to_string(s.time_limit.count())});
    return id;
  }

  std::optional<job_record> take(std::string_view worker, std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    const std::string processing = options_.prefix + "processing:" + std::string(worker);
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      detail::reply_ptr moved;
      if (left.count() <= 0) {
        moved = command({"LMOVE", options_.prefix + "queue", processing, "RIGHT", "LEFT"});
      } else {
        // BLMOVE's timeout is in seconds, fractions allowed; the socket must wait longer than it.
        moved = command({"BLMOVE", options_.prefix + "queue", processing, "RIGHT", "LEFT",
                         std::to_string(static_cast<double>(left.count()) / 1000.0)},
                        left);
      }
      if (moved->type == REDIS_REPLY_NIL) return std::nullopt;
      const std::string id = detail::reply_text(moved.get());
      const auto r = script(detail::redis_lua_take, {id, std::string(worker), now_text()});
      if (r->integer == 1) return get(id, false);
      // Canceled (or forgotten) while queued: dropped from the processing list; look for another.
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    }
  }

  bool progress(std::string_view id, std::string_view worker, std::string_view phase, std::string_view state) {
    return script(detail::redis_lua_progress, {std::string(id), std::string(worker), now_text(), std::string(phase), std::string(state)})
             ->integer == 1;
  }

  bool dataset(std::string_view id, std::string_view worker, std::string_view tag, std::string_view text) {
    return script(detail::redis_lua_dataset, {std::string(id), std::string(worker), std::string(tag), std::string(text)})->integer == 1;
  }

  bool complete(std::string_view id, std::string_view worker, job_status final_status, std::string_view detail) {
    if (!is_terminal(final_status)) throw error(errc::invalid_config, "complete(): the status must be a final one");
    const bool ok = final_status == job_status::finished;
    return script(detail::redis_lua_complete,
                  {std::string(id), std::string(worker), now_text(), std::string(to_string(final_status)),
                   registry_name(final_status), std::to_string(ttl_ms(final_status)), ok ? std::string(detail) : std::string(),
                   ok ? std::string() : std::string(detail)})
             ->integer == 1;
  }

  cancel_outcome cancel(std::string_view id) {
    const auto r = script(detail::redis_lua_cancel, {std::string(id), now_text(), std::to_string(ttl_ms(job_status::canceled))});
    const std::string what = detail::reply_text(r.get());
    return what == "canceled" ? cancel_outcome::canceled
         : what == "requested" ? cancel_outcome::requested
         : what == "over" ? cancel_outcome::already_over : cancel_outcome::unknown_job;
  }

  bool cancel_requested(std::string_view id) {
    const auto r = command({"HGET", key(id), "cancel_requested"});
    return detail::reply_text(r.get()) == "1";
  }

  std::optional<job_record> get(std::string_view id, bool full) {
    const auto h = command({"HGETALL", key(id)});
    if (h->type != REDIS_REPLY_ARRAY || h->elements == 0) return std::nullopt;
    job_record j;
    std::int64_t expires = 0;
    for (std::size_t i = 0; i + 1 < h->elements; i += 2) {
      const std::string f = detail::reply_text(h->element[i]);
      std::string v = detail::reply_text(h->element[i + 1]);
      auto num = [&] {
        std::int64_t n = 0;
        std::from_chars(v.data(), v.data() + v.size(), n);
        return n;
      };
      auto time = [&] { return num() ? from_millis(num()) : job_record::time_point{}; };
      if (f == "id") j.id = std::move(v);
      else if (f == "client_id") j.client_id = std::move(v);
      else if (f == "platform") j.platform = std::move(v);
      else if (f == "status") j.status = job_status_from(v).value_or(job_status::failed);
      else if (f == "settings") j.settings = std::move(v);
      else if (f == "settings_echo") j.settings_echo = std::move(v);
      else if (f == "result") j.result = std::move(v);
      else if (f == "error") j.error = std::move(v);
      else if (f == "worker") j.worker = std::move(v);
      else if (f == "note") j.note = std::move(v);
      else if (f == "attempts") j.attempts = static_cast<unsigned>(num());
      else if (f == "max_attempts") j.max_attempts = static_cast<unsigned>(num());
      else if (f == "time_limit_ms") j.time_limit = std::chrono::milliseconds(num());
      else if (f == "cancel_requested") j.cancel_requested = v == "1";
      else if (f == "enqueued_at") j.enqueued_at = time();
      else if (f == "started_at") j.started_at = time();
      else if (f == "ended_at") j.ended_at = time();
      else if (f == "expires_at") expires = num();
    }
    if (j.id.empty() || (expires > 0 && expires <= to_millis(clock_->now()))) return std::nullopt;
    const auto p = command({"LRANGE", key(id) + ":progress", "0", "-1"});
    for (std::size_t i = 0; i + 2 < p->elements; i += 3) {
      std::int64_t at = 0;
      const std::string t = detail::reply_text(p->element[i]);
      std::from_chars(t.data(), t.data() + t.size(), at);
      j.progress.push_back({detail::reply_text(p->element[i + 1]), detail::reply_text(p->element[i + 2]), from_millis(at)});
    }
    if (full) {
      const auto d = command({"HGETALL", key(id) + ":datasets"});
      for (std::size_t i = 0; i + 1 < d->elements; i += 2)
        j.datasets.emplace(detail::reply_text(d->element[i]), detail::reply_text(d->element[i + 1]));
    }
    return j;
  }

  std::vector<job_record> list(std::optional<job_status> status, std::size_t limit) {
    std::vector<job_record> out;
    for (const auto s : all_job_statuses) {
      if (status && *status != s) continue;
      const auto ids = command({"ZREVRANGE", options_.prefix + "registry:" + registry_name(s), "0", std::to_string(limit == 0 ? 0 : limit - 1)});
      if (limit == 0) break;
      for (std::size_t i = 0; i < ids->elements; ++i)
        if (auto j = get(detail::reply_text(ids->element[i]), false); j && j->status == s) out.push_back(std::move(*j));
    }
    // Newest first across statuses; enqueued_at ties keep registry order.
    std::stable_sort(out.begin(), out.end(), [](const job_record& a, const job_record& b) { return a.enqueued_at > b.enqueued_at; });
    if (out.size() > limit) out.resize(limit);
    return out;
  }

  void heartbeat(std::string_view worker) {
    command({"ZADD", options_.prefix + "workers", now_text(), std::string(worker)});
  }

  std::vector<std::string> reap_lost_workers() {
    const std::int64_t cutoff = to_millis(clock_->now()) - static_cast<std::int64_t>(options_.jobs.heartbeat_timeout.count());
    const auto lost = command({"ZRANGEBYSCORE", options_.prefix + "workers", "-inf", "(" + std::to_string(cutoff)});
    std::vector<std::string> affected;
    for (std::size_t i = 0; i < lost->elements; ++i) {
      const std::string w = detail::reply_text(lost->element[i]);
      const auto r = script(detail::redis_lua_reap, {w, now_text(), std::to_string(ttl_ms(job_status::failed)),
                                                     detail::lost_worker_note(w), detail::lost_worker_error(w)});
      for (std::size_t k = 0; k < r->elements; ++k) affected.push_back(detail::reply_text(r->element[k]));
    }
    return affected;
  }

  job_store_counts counts() {
    job_store_counts c;
    const std::int64_t now = to_millis(clock_->now());
    for (std::size_t i = 0; i < std::size(all_job_statuses); ++i) {
      const job_status s = all_job_statuses[i];
      const std::string reg = options_.prefix + "registry:" + registry_name(s);
      // Ended jobs count while their TTL lasts (the registry is trimmed lazily, by the next end).
      const auto r = is_terminal(s) ? command({"ZCOUNT", reg, "(" + std::to_string(now - ttl_ms(s)), "+inf"}) : command({"ZCARD", reg});
      c.by_status[i] = static_cast<std::size_t>(r->integer);
    }
    c.queue_depth = static_cast<std::size_t>(command({"LLEN", options_.prefix + "queue"})->integer);
    const std::int64_t cutoff = now - static_cast<std::int64_t>(options_.jobs.heartbeat_timeout.count());
    c.workers_alive = static_cast<std::size_t>(command({"ZCOUNT", options_.prefix + "workers", std::to_string(cutoff), "+inf"})->integer);
    auto split = [](const std::string& field) {
      const auto at = field.find('\x1f');
      return std::pair{field.substr(0, at), at == std::string::npos ? std::string() : field.substr(at + 1)};
    };
    const auto active = script(detail::redis_lua_active, {});
    for (std::size_t i = 0; i + 1 < active->elements; i += 2) {
      const auto [platform, status] = split(detail::reply_text(active->element[i]));
      (status == "queued" ? c.by_platform[platform].queued : c.by_platform[platform].started) =
        static_cast<std::size_t>(active->element[i + 1]->integer);
    }
    const auto totals = command({"HGETALL", options_.prefix + "totals"});
    for (std::size_t i = 0; i + 1 < totals->elements; i += 2) {
      const auto [platform, metric] = split(detail::reply_text(totals->element[i]));
      auto& p = c.by_platform[platform];
      const std::int64_t value = std::stoll(detail::reply_text(totals->element[i + 1]));
      if (metric == "sum_ms") p.duration_sum_s = static_cast<double>(value) / 1000;
      else if (metric.starts_with("bucket:") && std::stoul(metric.substr(7)) < p.durations.size())
        p.durations[std::stoul(metric.substr(7))] = static_cast<std::uint64_t>(value);
      else if (const auto st = job_status_from(metric.substr(std::min<std::size_t>(metric.size(), 6))); st && metric.starts_with("ended:"))
        p.ended[static_cast<std::size_t>(*st)] = static_cast<std::uint64_t>(value);
    }
    return c;
  }

  void ping() {
    const auto r = command({"PING"});
    if (detail::reply_text(r.get()) != "PONG") throw unavailable("PING was not answered PONG");
  }

  [[nodiscard]] std::string name() const { return "redis job store " + redact_url(url_); }

 private:
  static std::string registry_name(job_status s) { return s == job_status::timed_out ? "timed_out" : std::string(to_string(s)); }
  std::string key(std::string_view id) const { return options_.prefix + "job:" + std::string(id); }
  std::string now_text() const { return std::to_string(to_millis(clock_->now())); }
  std::int64_t ttl_ms(job_status s) const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(options_.jobs.ttl_of(s)).count();
  }
  error unavailable(std::string_view why) const { return error(errc::store_unavailable, name() + ": " + std::string(why)); }

  static timeval to_timeval(std::chrono::milliseconds d) {
    return timeval{static_cast<time_t>(d.count() / 1000), static_cast<suseconds_t>((d.count() % 1000) * 1000)};
  }

  void connect() {  // with mu_ held
    if (ctx_) redisFree(ctx_);
    ctx_ = redisConnectWithTimeout(address_.host.c_str(), address_.port, to_timeval(options_.connect_timeout));
    if (!ctx_ || ctx_->err) {
      const std::string why = ctx_ ? ctx_->errstr : "out of memory";
      if (ctx_) redisFree(ctx_);
      ctx_ = nullptr;
      throw unavailable("cannot connect: " + why);
    }
    redisSetTimeout(ctx_, to_timeval(options_.command_timeout));
    if (!address_.password.empty()) {
      std::vector<std::string> auth{"AUTH"};
      if (!address_.user.empty()) auth.push_back(address_.user);
      auth.push_back(address_.password);
      raw(auth, "authenticating");
    }
    if (address_.db != 0) raw({"SELECT", std::to_string(address_.db)}, "selecting the database");
  }

  /// One command on the connection (mu_ held); a reply error or a broken connection throws.
  detail::reply_ptr raw(const std::vector<std::string>& args, std::string_view what) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) argv.push_back(a.data()), lens.push_back(a.size());
    detail::reply_ptr r(static_cast<redisReply*>(redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lens.data())));
    if (!r) {
      const std::string why = ctx_->errstr;
      redisFree(ctx_);
      ctx_ = nullptr;  // opened again by the next call
      throw unavailable(std::string(what) + ": " + why);
    }
    if (r->type == REDIS_REPLY_ERROR) throw unavailable(std::string(what) + ": " + std::string(r->str, r->len));
    return r;
  }

  detail::reply_ptr command(const std::vector<std::string>& args, std::chrono::milliseconds extra_wait = {}) {
    std::lock_guard lock(mu_);
    if (!ctx_) connect();
    if (extra_wait.count() > 0) redisSetTimeout(ctx_, to_timeval(options_.command_timeout + extra_wait));
    auto r = raw(args, args.front());
    if (extra_wait.count() > 0 && ctx_) redisSetTimeout(ctx_, to_timeval(options_.command_timeout));
    return r;
  }

  detail::reply_ptr script(const char* body, std::vector<std::string> args) {
    std::vector<std::string> full{"EVAL", std::string(detail::redis_lua_prelude) + body, "0", options_.prefix};
    for (auto& a : args) full.push_back(std::move(a));
    return command(full);
  }

  std::string url_;
  detail::redis_address address_;
  Clock* clock_;
  redis_job_store_options options_;
  std::mutex mu_;
  redisContext* ctx_ = nullptr;
};

using redis_job_store = basic_redis_job_store<wall_clock>;

}  // namespace tributary::jobs
