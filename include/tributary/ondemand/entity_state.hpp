#pragma once
// entity_state: what the consumer holds, one entry per (entity type, entity id), applied from events
// (ONDEMAND.md invariants): an older sample never replaces a newer one, so answers arriving out of order
// are harmless; a delete is kept as a tombstone with its sample time, so an older update cannot bring
// the entity back; entities that nothing has reported alive for `stale_after` (the consumer uses two
// snapshot intervals) are marked deleted by sweep(). "Seen" is the consumer's clock at apply, not the
// sample time: the collector's clock may differ from the consumer's. Not thread-safe: the consumer
// applies events from one thread.
//
// Memory: a consumer holds every entity of every datasource, so an entity costs its id, its payload and
// about 140 bytes besides (ONDEMAND.md's bar is 1.5 times the answer's bytes). Datasource names and
// entity types, few and repeated by every entity, are held once and referred to by number; the id is
// held once, in the key; the newest event is kept as its parts, and made again by entity_view::latest().
//
// Latency: entities live in 256 hash maps by their hash, so growing one rehashes a 256th of the state;
// one map of a million entities stalls every event (high-priority ones too) for its whole rehash,
// 100 ms and more.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <tributary/ondemand/event.hpp>

namespace tributary {

/// One entity as an entity_state holds it. Its views point into the state: valid until it changes.
struct entity_view {
  std::string_view datasource, entity_type, entity_id;
  event_action action = event_action::update;  ///< of the newest event applied
  sample_time sampled{};                       ///< of the newest event applied
  std::string_view payload;                    ///< of the newest event applied
  bool deleted = false;                        ///< a delete (or a sweep) was its newest news
  std::chrono::system_clock::time_point last_seen{};  ///< consumer time of the latest event saying it lives

  /// The newest event applied to the entity, as an event of its own.
  [[nodiscard]] entity_event latest() const {
    return {std::string(datasource), std::string(entity_type), std::string(entity_id), action, sampled, std::string(payload)};
  }
  friend bool operator==(const entity_view&, const entity_view&) = default;
};

enum class apply_result { applied, older_ignored };

class entity_state {
 public:
  /// Takes the event by value: a caller done with it moves it in, and its payload is not copied.
  apply_result apply(entity_event e, std::chrono::system_clock::time_point seen_at) {
    const std::uint32_t type = types_.intern(e.entity_type);
    key k{type, std::move(e.entity_id)};
    auto [it, fresh] = shard_of(k).try_emplace(std::move(k));
    record& r = it->second;
    if (!fresh && e.sampled < r.sampled) {
      // An older sample still proves the entity was there when asked (unless it says deleted).
      if (!r.deleted && e.action != event_action::delete_entity) r.last_seen = std::max(r.last_seen, seen_at);
      return apply_result::older_ignored;
    }
    const bool was_live = !fresh && !r.deleted;
    r.deleted = e.action == event_action::delete_entity;
    if (!r.deleted) r.last_seen = seen_at;
    r.datasource = datasources_.intern(e.datasource);
    r.action = e.action;
    r.sampled = e.sampled;
    r.payload = std::move(e.payload);
    live_ = live_ + (r.deleted ? 0 : 1) - (was_live ? 1 : 0);
    return apply_result::applied;
  }

  /// Marks deleted every live entity last seen before `now - stale_after`. Returns how many.
  std::size_t sweep(std::chrono::system_clock::time_point now, std::chrono::system_clock::duration stale_after) {
    std::size_t marked = 0;
    for (auto& shard : shards_)
      for (auto& [k, r] : shard) {
        if (r.deleted || r.last_seen + stale_after >= now) continue;
        r.deleted = true;
        ++marked;
      }
    live_ -= marked;
    return marked;
  }

  /// Puts an entity back as it was (loading a snapshot): its newest event, whether it is deleted, when
  /// it was last seen alive.
  void restore(entity_event latest, bool deleted, std::chrono::system_clock::time_point last_seen) {
    const std::uint32_t type = types_.intern(latest.entity_type);
    key k{type, std::move(latest.entity_id)};
    auto [it, fresh] = shard_of(k).try_emplace(std::move(k));
    record& r = it->second;
    if (!fresh && !r.deleted) --live_;
    r = record{std::move(latest.payload), latest.sampled, last_seen, datasources_.intern(latest.datasource), latest.action, deleted};
    if (!deleted) ++live_;
  }

  [[nodiscard]] std::optional<entity_view> find(std::string_view type, std::string_view id) const {
    const auto t = types_.find(type);
    if (!t) return std::nullopt;
    const key_view k{*t, id};
    const auto& shard = shards_[shard_index(k)];
    const auto it = shard.find(k);
    if (it == shard.end()) return std::nullopt;
    return view_of(it->first, it->second);
  }

  /// Entities held, deleted ones included.
  [[nodiscard]] std::size_t size() const noexcept {
    std::size_t n = 0;
    for (const auto& shard : shards_) n += shard.size();
    return n;
  }
  /// Entities not deleted.
  [[nodiscard]] std::size_t live() const noexcept { return live_; }

  /// Calls f(const entity_view&) for every entity, deleted ones included, in no particular order.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& shard : shards_)
      for (const auto& [k, r] : shard) std::invoke(f, view_of(k, r));
  }

  /// The same entities with the same newest news, deleted and last seen alike.
  friend bool operator==(const entity_state& a, const entity_state& b) {
    if (a.size() != b.size() || a.live() != b.live()) return false;
    bool same = true;
    a.for_each([&](const entity_view& mine) {
      const auto theirs = b.find(mine.entity_type, mine.entity_id);
      same = same && theirs && *theirs == mine;
    });
    return same;
  }

 private:
  /// Names held once each and referred to by number (datasource names, entity types).
  class interned_names {
   public:
    std::uint32_t intern(std::string_view name) {
      if (last_ < names_.size() && names_[last_] == name) return last_;  // events come in runs of one name
      if (const auto it = index_.find(name); it != index_.end()) return last_ = it->second;
      last_ = static_cast<std::uint32_t>(names_.size());
      names_.emplace_back(name);
      index_.emplace(std::string(name), last_);
      return last_;
    }
    [[nodiscard]] std::optional<std::uint32_t> find(std::string_view name) const {
      const auto it = index_.find(name);
      return it == index_.end() ? std::nullopt : std::optional(it->second);
    }
    [[nodiscard]] std::string_view operator[](std::uint32_t i) const noexcept { return names_[i]; }

   private:
    struct text_hash {
      using is_transparent = void;
      std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    std::vector<std::string> names_;
    std::unordered_map<std::string, std::uint32_t, text_hash, std::equal_to<>> index_;
    std::uint32_t last_ = 0;
  };

  struct key {
    std::uint32_t type;
    std::string id;
  };
  struct key_view {
    std::uint32_t type;
    std::string_view id;
  };
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(const key_view& k) const noexcept {
      return std::hash<std::string_view>{}(k.id) ^ (std::size_t{k.type} * 0x9E3779B97F4A7C15ull);
    }
    std::size_t operator()(const key& k) const noexcept { return (*this)(key_view{k.type, k.id}); }
  };
  struct key_equal {
    using is_transparent = void;
    static key_view of(const key& k) noexcept { return {k.type, k.id}; }
    static key_view of(const key_view& k) noexcept { return k; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      return of(a).type == of(b).type && of(a).id == of(b).id;
    }
  };
  struct record {
    std::string payload;
    sample_time sampled{};
    std::chrono::system_clock::time_point last_seen{};
    std::uint32_t datasource = 0;
    event_action action = event_action::update;
    bool deleted = false;
  };

  [[nodiscard]] entity_view view_of(const key& k, const record& r) const {
    return {datasources_[r.datasource], types_[k.type], k.id, r.action, r.sampled, r.payload, r.deleted, r.last_seen};
  }

  using shard_map = std::unordered_map<key, record, key_hash, key_equal>;
  static constexpr std::size_t shard_count = 256;
  [[nodiscard]] static std::size_t shard_index(const key_view& k) noexcept {
    return (key_hash{}(k) >> 24) % shard_count;  // bits the maps' own bucket choice hardly depends on
  }
  shard_map& shard_of(const key& k) { return shards_[shard_index(key_view{k.type, k.id})]; }

  interned_names types_, datasources_;
  std::vector<shard_map> shards_ = std::vector<shard_map>(shard_count);
  std::size_t live_ = 0;
};

}  // namespace tributary
