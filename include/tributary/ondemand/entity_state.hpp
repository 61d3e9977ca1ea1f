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
// about 110 bytes besides (a 96-byte record, two or four 8-byte slots; ONDEMAND.md's bar is 1.5 times
// the answer's bytes). Datasource names and entity types, few and repeated by every entity, are held
// once and referred to by number; the newest event is kept as its parts, and made again by
// entity_view::latest(). Records live in blocks of 64, not one allocation each: a node per entity
// made applying a million of them cost twice as much as parsing them.
//
// Latency: entities live in 256 shards by their hash, so growing one rehashes a 256th of the state
// (its slots only: records never move); one table of a million entities stalls every event
// (high-priority ones too) for its whole rehash, 100 ms and more.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
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
    const std::size_t h = hash_of(type, e.entity_id);
    shard& s = shards_[shard_index(h)];
    std::uint32_t at = s.find(h, type, e.entity_id);
    const bool fresh = at == shard::none;
    if (fresh) at = s.insert(h, record{std::move(e.entity_id), {}, {}, {}, type, 0, e.action, false});
    record& r = s[at];
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

  /// Starts bringing into the cache the table slot that applying an event of (type, id) looks at first.
  /// A caller applying a batch calls it a few events ahead: a million entities' tables are far larger
  /// than the cache, and waiting for that slot was most of what an apply cost.
  void prefetch(std::string_view type, std::string_view id) const noexcept {
    const auto t = types_.last(type);
    if (!t) return;  // not the type of the events before: apply finds it (rarely worth a lookup here)
    const std::size_t h = hash_of(*t, id);
    shards_[shard_index(h)].prefetch(h);
  }

  /// Marks deleted every live entity last seen before `now - stale_after`. Returns how many.
  std::size_t sweep(std::chrono::system_clock::time_point now, std::chrono::system_clock::duration stale_after) {
    std::size_t marked = 0;
    for (auto& s : shards_)
      s.for_each([&](record& r) {
        if (r.deleted || r.last_seen + stale_after >= now) return;
        r.deleted = true;
        ++marked;
      });
    live_ -= marked;
    return marked;
  }

  /// Puts an entity back as it was (loading a snapshot): its newest event, whether it is deleted, when
  /// it was last seen alive.
  void restore(entity_event latest, bool deleted, std::chrono::system_clock::time_point last_seen) {
    const std::uint32_t type = types_.intern(latest.entity_type);
    const std::size_t h = hash_of(type, latest.entity_id);
    shard& s = shards_[shard_index(h)];
    record fresh{std::move(latest.entity_id), std::move(latest.payload), latest.sampled, last_seen, type,
                 datasources_.intern(latest.datasource), latest.action, deleted};
    if (const std::uint32_t at = s.find(h, type, fresh.id); at != shard::none) {
      if (!s[at].deleted) --live_;
      s[at] = std::move(fresh);
    } else {
      s.insert(h, std::move(fresh));
    }
    if (!deleted) ++live_;
  }

  [[nodiscard]] std::optional<entity_view> find(std::string_view type, std::string_view id) const {
    const auto t = types_.find(type);
    if (!t) return std::nullopt;
    const std::size_t h = hash_of(*t, id);
    const shard& s = shards_[shard_index(h)];
    const std::uint32_t at = s.find(h, *t, id);
    if (at == shard::none) return std::nullopt;
    return view_of(s[at]);
  }

  /// Entities held, deleted ones included.
  [[nodiscard]] std::size_t size() const noexcept {
    std::size_t n = 0;
    for (const auto& s : shards_) n += s.size();
    return n;
  }
  /// Entities not deleted.
  [[nodiscard]] std::size_t live() const noexcept { return live_; }

  /// Calls f(const entity_view&) for every entity, deleted ones included, in no particular order.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& s : shards_) s.for_each([&](const record& r) { std::invoke(f, view_of(r)); });
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
    /// The number of `name` when it is the name interned last; nullopt otherwise.
    [[nodiscard]] std::optional<std::uint32_t> last(std::string_view name) const noexcept {
      if (last_ < names_.size() && names_[last_] == name) return last_;
      return std::nullopt;
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

  struct record {
    std::string id;
    std::string payload;
    sample_time sampled{};
    std::chrono::system_clock::time_point last_seen{};
    std::uint32_t type = 0;
    std::uint32_t datasource = 0;
    event_action action = event_action::update;
    bool deleted = false;
  };

  /// A 256th of the entities: their records in arrival order, in blocks that never move, and an
  /// open-addressed table of their positions (linear probing, at most half full). Each slot keeps 32
  /// bits of the entity's hash beside the position, so a probe reads a record only when those match,
  /// and growing the table never reads a record at all. Entities are never removed (a delete is a
  /// tombstone), so no slot is ever freed.
  class shard {
   public:
    static constexpr std::uint32_t none = UINT32_MAX;

    shard() = default;
    shard(const shard& o) : slots_(o.slots_), size_(o.size_) {
      blocks_.reserve(o.blocks_.size());
      for (std::size_t b = 0; b < o.blocks_.size(); ++b) {
        auto& copy = blocks_.emplace_back(std::make_unique<record[]>(block_records));
        std::copy_n(o.blocks_[b].get(), std::min<std::size_t>(block_records, size_ - b * block_records), copy.get());
      }
    }
    shard(shard&&) noexcept = default;
    shard& operator=(const shard& o) { return *this = shard(o); }
    shard& operator=(shard&&) noexcept = default;
    ~shard() = default;

    [[nodiscard]] std::uint32_t size() const noexcept { return size_; }
    [[nodiscard]] record& operator[](std::uint32_t at) noexcept { return blocks_[at / block_records][at % block_records]; }
    [[nodiscard]] const record& operator[](std::uint32_t at) const noexcept { return blocks_[at / block_records][at % block_records]; }

    [[nodiscard]] std::uint32_t find(std::size_t h, std::uint32_t type, std::string_view id) const noexcept {
      if (slots_.empty()) return none;
      const std::size_t mask = slots_.size() - 1;
      const auto tag = static_cast<std::uint32_t>(h);
      for (std::size_t i = h & mask;; i = (i + 1) & mask) {
        const slot& sl = slots_[i];
        if (sl.position == none) return none;
        if (sl.hash == tag) {
          const record& r = (*this)[sl.position];
          if (r.type == type && r.id == id) return sl.position;
        }
      }
    }
    void prefetch(std::size_t h) const noexcept {
      if (!slots_.empty()) __builtin_prefetch(&slots_[h & (slots_.size() - 1)]);
    }
    /// Adds a record known to be absent; returns its position.
    std::uint32_t insert(std::size_t h, record&& r) {
      if ((std::size_t{size_} + 1) * 2 > slots_.size()) grow();
      if (size_ % block_records == 0) blocks_.push_back(std::make_unique<record[]>(block_records));
      const std::uint32_t position = size_++;
      (*this)[position] = std::move(r);
      place(h, position);
      return position;
    }
    template <class F>
    void for_each(F&& f) const {
      for (std::uint32_t at = 0; at < size_; ++at) f((*this)[at]);
    }
    template <class F>
    void for_each(F&& f) {
      for (std::uint32_t at = 0; at < size_; ++at) f((*this)[at]);
    }

   private:
    /// Records per block: a block is a few kilobytes, so a shard's last block wastes little.
    static constexpr std::uint32_t block_records = 64;
    struct slot {
      std::uint32_t position = none;
      std::uint32_t hash = 0;
    };

    void place(std::size_t h, std::uint32_t position) noexcept {
      const std::size_t mask = slots_.size() - 1;
      std::size_t i = h & mask;
      while (slots_[i].position != none) i = (i + 1) & mask;
      slots_[i] = {position, static_cast<std::uint32_t>(h)};
    }
    void grow() {
      std::vector<slot> old = std::exchange(slots_, std::vector<slot>(std::max<std::size_t>(16, slots_.size() * 2)));
      // The slot keeps the hash's low 32 bits, the ones that choose the slot (a shard's table stays far
      // below 2^32 slots): all that placing again needs.
      for (const slot& sl : old)
        if (sl.position != none) place(sl.hash, sl.position);
    }

    std::vector<std::unique_ptr<record[]>> blocks_;
    std::vector<slot> slots_;
    std::uint32_t size_ = 0;
  };

  [[nodiscard]] entity_view view_of(const record& r) const {
    return {datasources_[r.datasource], types_[r.type], r.id, r.action, r.sampled, r.payload, r.deleted, r.last_seen};
  }

  [[nodiscard]] static std::size_t hash_of(std::uint32_t type, std::string_view id) noexcept {
    return std::hash<std::string_view>{}(id) ^ (std::size_t{type} * 0x9E3779B97F4A7C15ull);
  }
  static constexpr std::size_t shard_count = 256;
  /// The top bits choose the shard: the slot within it is chosen by the low ones.
  [[nodiscard]] static std::size_t shard_index(std::size_t h) noexcept { return (h >> 56) % shard_count; }

  interned_names types_, datasources_;
  std::vector<shard> shards_ = std::vector<shard>(shard_count);
  std::size_t live_ = 0;
};

}  // namespace tributary
