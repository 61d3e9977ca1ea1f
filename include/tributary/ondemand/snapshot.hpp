#pragma once
// basic_state_snapshots<Store>: the consumer's snapshots (ONDEMAND.md): after a get_all's events are
// processed, the whole entity state is written to a fresh index and published by one atomic alias
// switch, so a reader (or a restarted consumer) sees the previous snapshot or the new one, whole, never
// a half-written one. Older snapshot indices are deleted after the switch.
//
//   sqlite_index store("/var/lib/consumer.db");
//   basic_state_snapshots snapshots(store, {.alias = "ondemand-state"});
//   basic_ondemand_consumer consumer(rpc, timers, clock, {}, snapshots);   saves after each get_all
//   if (auto s = snapshots.load()) ...                                       the newest, on restart
//
// Layout: indices "<alias>-<sequence, 20 digits>"; documents "e<position, 12 digits>" holding
// {"event":<entity_event>,"deleted":bool,"last_seen_us":n}, and one "meta" document
// {"entities":n,"taken_at_us":n,"stamp":{"<instance>":<sequence>,...}}. A snapshot whose meta is
// missing (a writer that died before the switch never published it) is never loaded: only the alias
// says which snapshot is complete.
//
// The stamp: for each collector instance whose persisted events the state holds, the sequence of the
// newest one applied (ondemand/answer.hpp, "persisted"). A restarted consumer replays the events
// persisted after it (ondemand/replay.hpp). A meta without a stamp (an older writer) loads as empty.
//
// Store: tributary::index_backend (an AliasStore; index/concepts.hpp).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <simdjson.h>

#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>
#include <tributary/index/concepts.hpp>
#include <tributary/index/names.hpp>
#include <tributary/ondemand/entity_state.hpp>
#include <tributary/ondemand/event.hpp>

namespace tributary {

struct snapshot_options {
  std::string alias = "ondemand-state";
  std::size_t batch_size = 1'000;  ///< documents per bulk write
  void validate() const {
    validate_alias_name(alias);
    if (batch_size == 0) throw error(errc::invalid_config, "snapshot_options: batch_size must be at least 1");
  }
};

/// Collector instance -> sequence of the newest of its persisted events a state holds.
using replay_stamp = std::map<std::string, std::uint64_t, std::less<>>;

struct snapshot_info {
  std::string index;
  std::size_t entities = 0;
  std::chrono::system_clock::time_point taken_at{};
  replay_stamp stamp{};
};

struct loaded_snapshot {
  snapshot_info info;
  entity_state state;
};

/// The null snapshot policy: saves nothing.
struct no_state_snapshots {
  void save(const entity_state&, std::chrono::system_clock::time_point, const replay_stamp& = {}) {}
};

template <class Store>
class basic_state_snapshots {
  static_assert(index_backend<Store>, "basic_state_snapshots: Store does not model tributary::index_backend (see index/concepts.hpp)");

 public:
  /// The store is the caller's and must outlive this.
  basic_state_snapshots(Store& store, snapshot_options options = {}) : store_(&store), options_(std::move(options)) {
    options_.validate();
  }

  /// Writes `state` to a fresh index, switches the alias to it, deletes the older ones. Throws what
  /// the store throws; the alias then still names the previous snapshot.
  snapshot_info save(const entity_state& state, std::chrono::system_clock::time_point now, const replay_stamp& stamp = {}) {
    std::vector<std::string> older;
    for (auto& name : store_->list_indices(options_.alias + "-"))
      if (sequence_of(name)) older.push_back(std::move(name));  // only names of ours are ever deleted
    std::uint64_t sequence = 1;
    for (const auto& name : older) sequence = std::max(sequence, *sequence_of(name) + 1);
    char digits[24];
    std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(sequence));
    snapshot_info info{options_.alias + "-" + digits, state.size(), now, stamp};
    store_->create_index(info.index);

    std::vector<stored_document> batch;
    std::size_t position = 0;
    auto flush = [&] {
      if (batch.empty()) return;
      const bulk_result r = store_->bulk_write(info.index, std::span<const stored_document>(batch));
      if (!r.ok()) throw error(errc::store_unavailable, "snapshot " + info.index + ": " + r.failures.front().reason);
      batch.clear();
    };
    state.for_each([&](const entity_view& entity) {
      char id[24];
      std::snprintf(id, sizeof id, "e%012llu", static_cast<unsigned long long>(position++));
      std::string json = "{\"event\":";
      append_event_json(json, entity.latest());
      json += ",\"deleted\":";
      json += entity.deleted ? "true" : "false";
      json += ",\"last_seen_us\":";
      json += std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(entity.last_seen.time_since_epoch()).count());
      json += '}';
      batch.push_back({id, std::move(json)});
      if (batch.size() >= options_.batch_size) flush();
    });
    std::string meta = "{\"entities\":" + std::to_string(info.entities) + ",\"taken_at_us\":" +
                       std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count()) +
                       ",\"stamp\":{";
    bool first = true;
    for (const auto& [instance, sequence] : stamp) {
      if (!first) meta += ',';
      first = false;
      detail::append_quoted(meta, instance);
      meta += ':';
      meta += std::to_string(sequence);
    }
    meta += "}}";
    batch.push_back({"meta", std::move(meta)});
    flush();
    const alias_action switch_over[] = {alias_action::remove_everywhere(options_.alias), alias_action::add(info.index, options_.alias)};
    store_->update_aliases(switch_over);
    if (!older.empty()) {
      try {
        store_->delete_indices(older);
      } catch (const error&) {  // a reader's copy, or a concurrent writer: the next save tries again
      }
    }
    return info;
  }

  /// The snapshot the alias names; nullopt when there is none. Throws error(errc::bad_document) for a
  /// document that does not read back.
  [[nodiscard]] std::optional<loaded_snapshot> load() const {
    const auto targets = store_->alias_targets(options_.alias);
    if (targets.empty()) return std::nullopt;
    loaded_snapshot out;
    out.info.index = targets.front();
    simdjson::dom::parser parser;
    std::string after;
    bool meta = false;
    for (;;) {
      const scan_page page = store_->scan(out.info.index, after, options_.batch_size);
      for (const auto& d : page.documents) {
        simdjson::dom::element root;
        if (parser.parse(simdjson::padded_string(d.json)).get(root))
          throw error(errc::bad_document, "snapshot " + out.info.index + ": document " + d.id + " is not JSON");
        if (d.id == "meta") {
          std::int64_t n = 0, us = 0;
          if (root["entities"].get(n) || root["taken_at_us"].get(us))
            throw error(errc::bad_document, "snapshot " + out.info.index + ": bad meta document");
          out.info.entities = static_cast<std::size_t>(n);
          out.info.taken_at = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::microseconds(us)));
          const auto stamp = root["stamp"];
          if (stamp.error() != simdjson::NO_SUCH_FIELD) {
            simdjson::dom::object entries;
            if (stamp.get(entries)) throw error(errc::bad_document, "snapshot " + out.info.index + ": the meta's stamp is not an object");
            for (auto [instance, sequence] : entries) {
              std::uint64_t seq = 0;
              if (sequence.get(seq))
                throw error(errc::bad_document, "snapshot " + out.info.index + ": the stamp of \"" + std::string(instance) + "\" is not a sequence");
              out.info.stamp.insert_or_assign(std::string(instance), seq);
            }
          }
          meta = true;
          continue;
        }
        simdjson::dom::element event;
        bool deleted = false;
        std::int64_t seen = 0;
        if (root["event"].get(event) || root["deleted"].get(deleted) || root["last_seen_us"].get(seen))
          throw error(errc::bad_document, "snapshot " + out.info.index + ": document " + d.id + " lacks event, deleted or last_seen_us");
        out.state.restore(parse_event(event, "snapshot document " + d.id), deleted,
                          std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::microseconds(seen))));
      }
      if (page.done) break;
      after = page.next_after;
    }
    if (!meta) throw error(errc::bad_document, "snapshot " + out.info.index + " has no meta document");
    if (out.state.size() != out.info.entities)
      throw error(errc::bad_document, "snapshot " + out.info.index + " holds " + std::to_string(out.state.size()) +
                                          " entities, its meta says " + std::to_string(out.info.entities));
    return out;
  }

 private:
  /// The sequence of one of our snapshot indices ("<alias>-" and 20 digits); nullopt for other names.
  std::optional<std::uint64_t> sequence_of(const std::string& index) const {
    const std::string_view digits = std::string_view(index).substr(options_.alias.size() + 1);
    if (digits.size() != 20) return std::nullopt;
    std::uint64_t v = 0;
    for (const char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v;
  }

  Store* store_;
  snapshot_options options_;
};

}  // namespace tributary
