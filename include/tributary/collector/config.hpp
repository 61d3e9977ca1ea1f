#pragma once
// collector_config: everything a run of the collection protocol is told, validated up front.

#include <chrono>
#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include <tributary/error.hpp>
#include <tributary/collector/naming.hpp>

namespace tributary {

/// What to do with peers still running when the shared wait deadline passes.
enum class at_peer_deadline {
  copy_last_published,  ///< copy the peer's last published data (`A-r`) and mark it stale (default)
  skip,                 ///< leave the peer out, as the seed did
};

/// What makes a collection healthy enough to publish (step 4, which peers copy from, and then 6). A run
/// that falls short publishes nothing, leaves the live catalogue as it is and fails, naming the reason:
/// an outage of the source must never replace good data with less.
struct publish_guard {
  /// The share of listed providers (0 to 1) whose collection must succeed.
  double min_provider_success = 0.5;
  /// The largest drop (0 to 1) in this environment's own services relative to what `A-E` holds now;
  /// 1 accepts any drop. Checked only when `A-E` exists.
  double max_service_drop = 0.5;
  /// Whether a source that lists no providers at all may publish an empty collection.
  bool allow_no_providers = false;
  /// Publish whatever was collected: for a deliberate shrink (`--force-publish`).
  bool force = false;
};

struct peer_config {
  std::string environment;
  /// Where the peer's aliases and documents are read: empty for the collector's own store, otherwise
  /// the name of a store registered with basic_collector::add_peer_store.
  std::string store;
};

struct collector_config {
  std::string environment;        ///< E, e.g. `dev`
  std::vector<peer_config> peers;  ///< the other environments whose services are merged in
  std::string read_alias = "apicatalogue";
  /// A working alias on a worker older than this belongs to a dead run: it does not make peers wait,
  /// and an unaliased worker older than this may be cleaned up. Runs must finish within it.
  std::chrono::milliseconds stale_after = std::chrono::hours(1);
  std::size_t concurrency = 16;   ///< providers collected at once
  std::size_t bulk_batch = 500;   ///< documents per bulk write
  std::size_t scan_page = 1000;   ///< documents per page when copying a peer
  /// Peer documents parsed, merged and serialized at a time within a scan page. A part this small keeps
  /// its documents in the cache from parse to write (a 1000-document page of 1.5 KB documents does not
  /// stay there); the local documents are read per part and the merged ones written in bulk_batch.
  std::size_t merge_batch = 100;
  /// Rewrites of bulk items a backend reported retryable. 0 by default: the one owner of a bulk
  /// write's retries is the backend (elasticsearch_index retries 429s up to bulk_max_attempts, with
  /// backoff); set it only for a backend that reports retryable items without retrying them itself.
  std::size_t bulk_retries = 0;
  at_peer_deadline at_deadline = at_peer_deadline::copy_last_published;
  publish_guard guard;

  [[nodiscard]] protocol_names names() const { return {read_alias, environment}; }

  /// Throws error(errc::invalid_config) naming the first problem found.
  void validate() const {
    auto fail = [](const std::string& what) { throw error(errc::invalid_config, "collector configuration: " + what); };
    if (environment.empty()) fail("environment is empty");
    if (read_alias.empty()) fail("read_alias is empty");
    auto check_names = [&](const std::string& env) {
      const protocol_names n{read_alias, env};
      try {
        validate_alias_name(read_alias);
        validate_index_name(n.worker_name(std::chrono::system_clock::time_point{}));
        validate_alias_name(n.working_alias());
      } catch (const error& e) {
        fail("environment '" + env + "' with read alias '" + read_alias + "' gives bad names: " + e.what());
      }
    };
    check_names(environment);
    std::set<std::string> seen;
    for (const auto& p : peers) {
      if (p.environment.empty()) fail("a peer has an empty environment");
      if (p.environment == environment) fail("peer '" + p.environment + "' is this collector's own environment");
      if (!seen.insert(p.environment).second) fail("peer '" + p.environment + "' is listed twice");
      check_names(p.environment);
    }
    // An environment whose alias is a prefix of another's (`dev` and `dev2`) is fine: workers are
    // recognised by their exact stamp length, never by prefix alone.
    if (stale_after <= std::chrono::milliseconds::zero()) fail("stale_after must be positive");
    if (concurrency == 0) fail("concurrency must be at least 1");
    if (bulk_batch == 0) fail("bulk_batch must be at least 1");
    if (scan_page == 0) fail("scan_page must be at least 1");
    if (merge_batch == 0) fail("merge_batch must be at least 1");
    // Written as negations so that NaN fails too.
    if (!(guard.min_provider_success >= 0 && guard.min_provider_success <= 1))
      fail("guard.min_provider_success must be between 0 and 1");
    if (!(guard.max_service_drop >= 0 && guard.max_service_drop <= 1))
      fail("guard.max_service_drop must be between 0 and 1");
  }
};

}  // namespace tributary
