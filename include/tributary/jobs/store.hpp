#pragma once
// The job store concept: where jobs wait, are taken by workers, report, and are kept for a while after.
// Shipped: sqlite_job_store (jobs/sqlite_job_store.hpp, one machine, the embedded default) and
// redis_job_store (jobs/redis_job_store.hpp, shared by workers on several machines). Both pass
// tests/jobs_store_test.cpp, the conformance suite. Archetype: jobs::archetypes::job_store.
//
// The rules every store keeps (JOBS.md, "Invariants"):
// - take() hands a queued job to exactly one taker, however many take at once, in any process.
// - Only the worker holding a started job moves it on (progress, dataset, complete): a worker that was
//   declared lost and whose job went to another is refused (false), so a job has one recorded run.
// - A worker that stops calling heartbeat() for heartbeat_timeout is lost: reap_lost_workers() puts
//   each job it held back in the queue when attempts < max_attempts (noted "retried after worker W was
//   lost"), and fails it ("worker lost: ...") otherwise. Nothing else ever leaves a job started forever.
// - A job in a final state is kept for the TTL configured for that state, then forgotten.

#include <array>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/detail/opt_in.hpp>
#include <tributary/error.hpp>
#include <tributary/jobs/job.hpp>

namespace tributary::jobs {

struct job_store_tag {};

struct job_store_options {
  /// How long jobs are kept after they end, by how they ended (the seed's reference never read its TTLs).
  std::chrono::seconds finished_ttl = std::chrono::hours(24 * 7);
  std::chrono::seconds failed_ttl = std::chrono::hours(24 * 7);
  std::chrono::seconds canceled_ttl = std::chrono::hours(24);
  /// A worker silent for this long is lost (it heartbeats every heartbeat_timeout / 3 or so).
  std::chrono::milliseconds heartbeat_timeout = std::chrono::seconds(30);

  [[nodiscard]] std::chrono::seconds ttl_of(job_status s) const noexcept {
    return s == job_status::finished ? finished_ttl : s == job_status::canceled ? canceled_ttl : failed_ttl;
  }
  void validate() const {
    for (const auto ttl : {finished_ttl, failed_ttl, canceled_ttl})
      if (ttl.count() <= 0) throw error(errc::invalid_config, "job_store_options: every TTL must be at least 1 s");
    if (heartbeat_timeout.count() <= 0) throw error(errc::invalid_config, "job_store_options: heartbeat_timeout must be positive");
  }
};

/// The upper bounds (seconds) of the job duration histogram's buckets; one more bucket holds the rest.
/// The Redis store's scripts carry the same list (redis_job_store.hpp, redis_lua_prelude).
inline constexpr double job_duration_buckets_s[] = {0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600};

/// One platform's jobs, as GET /metrics shows them.
struct platform_job_counts {
  std::size_t queued = 0, started = 0;  ///< now
  /// Jobs that ended, by status (indexed like all_job_statuses; queued and started stay 0), since the
  /// store was made: counters, not gauges.
  std::array<std::uint64_t, std::size(all_job_statuses)> ended{};
  /// Runs that ended (a job that started, however it ended), by how long they ran from their last
  /// start: one count per bucket of job_duration_buckets_s, not cumulative, the last one for longer.
  std::array<std::uint64_t, std::size(job_duration_buckets_s) + 1> durations{};
  double duration_sum_s = 0;
};

/// The bucket of job_duration_buckets_s a run of `ms` milliseconds falls in.
[[nodiscard]] inline std::size_t job_duration_bucket(std::int64_t ms) noexcept {
  std::size_t i = 0;
  while (i < std::size(job_duration_buckets_s) && static_cast<double>(ms) > job_duration_buckets_s[i] * 1000) ++i;
  return i;
}

/// What GET /metrics shows of a store: jobs by status (those not yet forgotten), the queue's depth,
/// the workers whose heartbeat is within heartbeat_timeout, and each platform's jobs.
struct job_store_counts {
  std::array<std::size_t, std::size(all_job_statuses)> by_status{};  ///< indexed like all_job_statuses
  std::size_t queue_depth = 0;
  std::size_t workers_alive = 0;
  std::map<std::string, platform_job_counts> by_platform;  ///< platforms with a job queued, started or ended
};

/// What cancel() did.
enum class cancel_outcome {
  unknown_job,  ///< no such job (or forgotten after its TTL)
  canceled,     ///< it was queued: now canceled, it will not run
  requested,    ///< it is running: asked to stop; it ends canceled when its run sees it
  already_over  ///< it had already ended; nothing changed
};

/// JobStore:
///   using job_store_concept = jobs::job_store_tag;
///   std::string submit(const job_submission&)                 a new queued job; returns its id
///   std::optional<job_record> take(std::string_view worker, std::chrono::milliseconds wait)
///        the oldest queued job, now started by `worker` (attempts + 1); waits up to `wait` for one
///   bool progress(id, worker, phase, state); bool dataset(id, worker, tag, text)
///   bool complete(id, worker, job_status final, std::string_view detail)
///        final: finished (detail = result JSON), failed / timed_out / canceled (detail = reason)
///   cancel_outcome cancel(id); bool cancel_requested(id)
///   std::optional<job_record> get(id, bool full)             datasets only when full
///   std::vector<job_record> list(std::optional<job_status>, std::size_t limit)   newest first, no datasets
///   void heartbeat(std::string_view worker)
///   std::vector<std::string> reap_lost_workers()              ids of the jobs requeued or failed
///   job_store_counts counts()                                  for /metrics
///   void ping()                                               throws error(store_unavailable) when down
///   std::string name() const                                  where it is, credentials redacted
/// Failures of the store itself throw error(errc::store_unavailable).
template <class S>
concept job_store = tributary::detail::opts_in<S, job_store_tag, typename S::job_store_concept> &&
  requires(S& s, const S& cs, const job_submission& sub, std::string_view v, std::chrono::milliseconds wait,
           job_status st, std::optional<job_status> filter, std::size_t n, bool full) {
    { s.submit(sub) } -> std::same_as<std::string>;
    { s.take(v, wait) } -> std::same_as<std::optional<job_record>>;
    { s.progress(v, v, v, v) } -> std::same_as<bool>;
    { s.dataset(v, v, v, v) } -> std::same_as<bool>;
    { s.complete(v, v, st, v) } -> std::same_as<bool>;
    { s.cancel(v) } -> std::same_as<cancel_outcome>;
    { s.cancel_requested(v) } -> std::same_as<bool>;
    { s.get(v, full) } -> std::same_as<std::optional<job_record>>;
    { s.list(filter, n) } -> std::same_as<std::vector<job_record>>;
    { s.heartbeat(v) } -> std::same_as<void>;
    { s.reap_lost_workers() } -> std::same_as<std::vector<std::string>>;
    { s.counts() } -> std::same_as<job_store_counts>;
    { s.ping() } -> std::same_as<void>;
    { cs.name() } -> std::same_as<std::string>;
  };

namespace detail {
inline std::string lost_worker_note(std::string_view worker) {
  return "retried after worker " + std::string(worker) + " was lost (no heartbeat)";
}
inline std::string lost_worker_error(std::string_view worker) {
  return "worker lost: " + std::string(worker) + " stopped sending heartbeats while running the job";
}
}  // namespace detail

}  // namespace tributary::jobs
