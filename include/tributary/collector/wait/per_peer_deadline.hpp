#pragma once
// per_peer_deadline: look at peers every `interval`, and give each peer its own deadline (a peer not
// listed has `deadline`). A peer past its deadline is handled as at the deadline (copied stale, or
// skipped) while the others are still waited for.

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <tributary/collector/concepts.hpp>

namespace tributary {

struct per_peer_deadline {
  using wait_strategy_concept = wait_strategy_tag;
  using bounded_wait_concept = bounded_wait_tag;
  using per_peer_wait_concept = per_peer_wait_tag;
  using time_point = std::chrono::system_clock::time_point;

  std::chrono::milliseconds interval = std::chrono::seconds(5);
  std::chrono::milliseconds deadline = std::chrono::minutes(3);  ///< for a peer not in peer_deadlines
  std::map<std::string, std::chrono::milliseconds, std::less<>> peer_deadlines;

  [[nodiscard]] std::chrono::milliseconds deadline_of(std::string_view peer) const {
    const auto it = peer_deadlines.find(peer);
    return it == peer_deadlines.end() ? deadline : it->second;
  }

  /// The longest wait: the longest of the deadlines (bounded_wait_strategy).
  [[nodiscard]] std::chrono::milliseconds max_wait() const {
    auto longest = deadline;
    for (const auto& [peer, d] : peer_deadlines) longest = std::max(longest, d);
    return longest;
  }

  class schedule;
  [[nodiscard]] schedule start(time_point now) const;
};

class per_peer_deadline::schedule {
 public:
  schedule(const per_peer_deadline& strategy, time_point began) : strategy_(strategy), began_(began) {}

  /// Without the running peers: one shared deadline, the longest.
  [[nodiscard]] std::optional<time_point> next(time_point now) const {
    const auto end = began_ + strategy_.max_wait();
    if (now >= end) return std::nullopt;
    return std::min<time_point>(now + strategy_.interval, end);
  }

  /// Gives up on each running peer past its own deadline; the next look is one interval on, or a
  /// remaining peer's deadline if that comes first.
  [[nodiscard]] peer_wait next(time_point now, std::span<const std::string> running) const {
    peer_wait out;
    std::optional<time_point> earliest;
    for (const auto& peer : running) {
      const auto end = began_ + strategy_.deadline_of(peer);
      if (now >= end) out.give_up.push_back(peer);
      else earliest = earliest ? std::min(*earliest, end) : end;
    }
    if (earliest) out.next_look = std::min<time_point>(now + strategy_.interval, *earliest);
    return out;
  }

 private:
  per_peer_deadline strategy_;
  time_point began_;
};

inline per_peer_deadline::schedule per_peer_deadline::start(time_point now) const { return {*this, now}; }

}  // namespace tributary
