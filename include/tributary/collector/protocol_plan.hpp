#pragma once
// The collection protocol's decisions as data: pure functions from what the store shows to what a run
// does (which alias actions, which indices to delete, whether a peer is live). basic_collector reads the
// store, asks these and applies the answer; a dry run asks the same and prints it. Nothing here touches
// a store, so each decision is tested on its own.

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <tributary/index/types.hpp>
#include <tributary/collector/naming.hpp>

namespace tributary::plan {

using time_point = std::chrono::system_clock::time_point;

/// Step 1: names the protocol moves between workers, so a concrete index of that name stops the run.
[[nodiscard]] inline std::vector<std::string> reserved_names(const protocol_names& names) {
  return {names.read_alias, names.environment_alias()};
}

/// Step 3: the working alias leaves wherever it is and goes on W.
[[nodiscard]] inline std::vector<alias_action> claim_worker(const protocol_names& names, const std::string& worker) {
  return {alias_action::remove_everywhere(names.working_alias()), alias_action::add(worker, names.working_alias())};
}

/// Step 4, given what A-E points to now.
struct publication {
  std::vector<alias_action> actions;  ///< one atomic update; empty when superseded
  std::string superseded_by;          ///< a newer worker of E already published: publish nothing
};

[[nodiscard]] inline publication publish(const protocol_names& names, const std::string& worker, time_point worker_time,
                                         const std::vector<std::string>& environment_alias_targets) {
  publication p;
  // Never move A-E back to an older worker.
  for (const auto& c : environment_alias_targets)
    if (const auto t = names.worker_time(c); t && *t > worker_time) {
      p.superseded_by = c;
      return p;
    }
  // must_exist: if A-E moved meanwhile the update fails whole and the run looks again.
  for (const auto& c : environment_alias_targets)
    p.actions.push_back(alias_action::remove(c, names.environment_alias(), true));
  p.actions.push_back(alias_action::add(worker, names.environment_alias()));
  // In the same update: a peer sees W either running or published, never neither.
  p.actions.push_back(alias_action::remove(worker, names.working_alias()));
  return p;
}

/// Step 6: a compare-and-set. A moves to W only while A-E still points to W: removing and re-adding
/// A-E on W with must_exist fails the whole update once a newer run of E has moved A-E on.
[[nodiscard]] inline std::vector<alias_action> activate(const protocol_names& names, const std::string& worker) {
  return {alias_action::remove(worker, names.environment_alias(), true), alias_action::add(worker, names.environment_alias()),
          alias_action::remove_everywhere(names.read_alias), alias_action::add(worker, names.read_alias)};
}

/// Whether a run that started its worker at `worker_time` may still activate at `now`.
[[nodiscard]] inline bool within_stale_bound(time_point worker_time, time_point now, std::chrono::milliseconds stale_after) {
  return now - worker_time < stale_after;
}

/// Step 7: E's workers to delete: older than W, past the stale bound (a younger one may belong to a
/// concurrent run of E), and carrying no alias.
[[nodiscard]] inline std::vector<std::string> clean_up(const protocol_names& names, time_point worker_time, time_point now,
                                                       std::chrono::milliseconds stale_after,
                                                       const std::vector<std::string>& indices,
                                                       const std::vector<alias_entry>& aliases) {
  std::set<std::string> aliased;
  for (const auto& a : aliases) aliased.insert(a.index);
  std::vector<std::string> out;
  for (const auto& index : indices) {
    const auto t = names.worker_time(index);
    if (!t || *t >= worker_time || now - *t < stale_after) continue;
    if (aliased.contains(index)) continue;
    out.push_back(index);
  }
  return out;
}

/// Step 5: a peer is running while its working alias sits on a worker younger than the stale bound.
struct liveness {
  bool running = false;
  std::string worker;                   ///< the worker the peer is running on, when running
  std::vector<std::string> dead_runs;   ///< workers whose working alias is stale: not waited for
};

[[nodiscard]] inline liveness peer_liveness(const protocol_names& peer, const std::vector<std::string>& working_alias_targets,
                                            time_point now, std::chrono::milliseconds stale_after) {
  liveness l;
  for (const auto& index : working_alias_targets) {
    const auto t = peer.worker_time(index);
    if (!t || now - *t < stale_after) {  // an unrecognised index: assume it is live
      l.running = true;
      l.worker = index;
      return l;
    }
    l.dead_runs.push_back(index);
  }
  return l;
}

}  // namespace tributary::plan
