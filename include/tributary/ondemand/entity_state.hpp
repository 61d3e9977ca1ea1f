#pragma once
// entity_state: what the consumer holds, one entry per (entity type, entity id), applied from events
// (ONDEMAND.md invariants): an older sample never replaces a newer one, so answers arriving out of order
// are harmless; a delete is kept as a tombstone with its sample time, so an older update cannot bring
// the entity back; entities that nothing has reported alive for `stale_after` (the consumer uses two
// snapshot intervals) are marked deleted by sweep(). "Seen" is the consumer's clock at apply, not the
// sample time: the collector's clock may differ from the consumer's. Not thread-safe: the consumer
// applies events from one thread.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <tributary/ondemand/event.hpp>

namespace tributary {

struct entity_record {
  entity_event latest;     ///< the newest event applied to the entity
  bool deleted = false;    ///< a delete (or a sweep) was its newest news
  std::chrono::system_clock::time_point last_seen{};  ///< consumer time of the latest event saying it lives
  friend bool operator==(const entity_record&, const entity_record&) = default;
};

enum class apply_result { applied, older_ignored };

class entity_state {
 public:
  using key = std::pair<std::string, std::string>;  ///< entity type, entity id

  /// Takes the event by value: a caller done with it moves it in, and its payload is not copied.
  apply_result apply(entity_event e, std::chrono::system_clock::time_point seen_at) {
    auto [it, fresh] = entities_.try_emplace(key{e.entity_type, e.entity_id});
    entity_record& r = it->second;
    if (!fresh && e.sampled < r.latest.sampled) {
      // An older sample still proves the entity was there when asked (unless it says deleted).
      if (!r.deleted && e.action != event_action::delete_entity) r.last_seen = std::max(r.last_seen, seen_at);
      return apply_result::older_ignored;
    }
    r.deleted = e.action == event_action::delete_entity;
    if (!r.deleted) r.last_seen = seen_at;
    r.latest = std::move(e);
    return apply_result::applied;
  }

  /// Marks deleted every live entity last seen before `now - stale_after`. Returns how many.
  std::size_t sweep(std::chrono::system_clock::time_point now, std::chrono::system_clock::duration stale_after) {
    std::size_t marked = 0;
    for (auto& [k, r] : entities_) {
      if (r.deleted || r.last_seen + stale_after >= now) continue;
      r.deleted = true;
      ++marked;
    }
    return marked;
  }

  /// Puts a record back as it was (loading a snapshot).
  void restore(entity_record r) {
    key k{r.latest.entity_type, r.latest.entity_id};
    entities_.insert_or_assign(std::move(k), std::move(r));
  }

  [[nodiscard]] const entity_record* find(const std::string& type, const std::string& id) const {
    const auto it = entities_.find(key{type, id});
    return it == entities_.end() ? nullptr : &it->second;
  }
  /// Entities not deleted.
  [[nodiscard]] std::size_t live() const {
    std::size_t n = 0;
    for (const auto& [k, r] : entities_) n += !r.deleted;
    return n;
  }
  [[nodiscard]] const std::map<key, entity_record>& all() const noexcept { return entities_; }

 private:
  std::map<key, entity_record> entities_;
};

}  // namespace tributary
