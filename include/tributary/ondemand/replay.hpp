#pragma once
// replay_persisted_events: reads back, from the collector services' events index, the events persisted
// after a snapshot's stamp (ONDEMAND.md: "a restart from the latest snapshot plus the events persisted
// after it gives the same entity state"). A restarted consumer does this instead of a get_all from
// scratch: basic_ondemand_consumer::replay calls it.
//
//   auto loaded = snapshots.load();                       the newest snapshot, stamped
//   consumer.restore(std::move(*loaded));
//   consumer.replay(events_store, "ondemand-events");     what the collectors persisted after the stamp
//   consumer.start();                                     periodic calls only: no init_snapshot get_all
//
// The index holds "<instance>-<sequence, 20 digits>" ids of every collector instance (persistor.hpp),
// in id order. An instance in the stamp is read from just after its stamped sequence: its older events
// are jumped over with one scan from a computed cursor, not read. An instance not in the stamp (a
// collector that started, or first answered, after the snapshot) is read whole. Events the state holds
// already may come again (an instance that answered another consumer, say): applying them is harmless,
// since an entity is never replaced by an older sample of itself.
//
// A document whose id is not of the persistor's form, or that does not read as an event, is counted
// and skipped, never fatal: one bad document must not keep a consumer from restarting.
//
// Store: tributary::document_store (index/concepts.hpp).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <simdjson.h>

#include <tributary/error.hpp>
#include <tributary/index/concepts.hpp>
#include <tributary/ondemand/event.hpp>
#include <tributary/ondemand/persistor.hpp>
#include <tributary/ondemand/snapshot.hpp>

namespace tributary {

struct replay_report {
  std::size_t replayed = 0;   ///< events handed to the callback
  std::size_t skipped = 0;    ///< documents that were not a persisted event (counted, not applied)
  std::size_t instances = 0;  ///< collector instances whose events were read
  std::string last_problem;   ///< why the latest skipped document was skipped
};

/// Calls apply(instance, sequence, event) for each event persisted in `index` after `after`, in id
/// order. A missing index replays nothing. Throws what the store throws.
template <class Store, class Apply>
replay_report replay_persisted_events(const Store& store, std::string_view index, const replay_stamp& after, Apply&& apply,
                                      std::size_t page_size = 1'000) {
  static_assert(document_store<Store>, "replay_persisted_events: Store does not model tributary::document_store (see index/concepts.hpp)");
  replay_report report;
  if (!store.index_exists(index)) return report;
  simdjson::dom::parser parser;
  std::string cursor;        // the scan resumes after this id
  std::string instance_now;  // the instance whose events are being read
  for (;;) {
    const scan_page page = store.scan(index, cursor, page_size);
    bool jumped = false;
    for (const auto& d : page.documents) {
      const auto id = parse_persisted_event_id(d.id);
      if (!id) {
        ++report.skipped;
        report.last_problem = "document \"" + d.id + "\" is not named <instance>-<sequence>";
        cursor = d.id;
        continue;
      }
      const auto [instance, sequence] = *id;
      if (instance != instance_now) {
        instance_now = std::string(instance);
        ++report.instances;
        const auto stamped = after.find(instance);
        if (stamped != after.end() && sequence <= stamped->second) {
          // Older than the stamp: jump to the stamped event; the scan goes on after it.
          cursor = persisted_event_id(instance, stamped->second);
          jumped = true;
          break;
        }
      }
      cursor = d.id;
      simdjson::dom::element root;
      if (const auto err = parser.parse(d.json).get(root)) {
        ++report.skipped;
        report.last_problem = "event " + d.id + ": invalid JSON: " + simdjson::error_message(err);
        continue;
      }
      try {
        entity_event e = parse_event(root, "event " + d.id);
        apply(instance_now, sequence, std::move(e));
        ++report.replayed;
      } catch (const error& x) {
        if (x.code() != errc::bad_document) throw;
        ++report.skipped;
        report.last_problem = x.what();
      }
    }
    if (!jumped && page.done) return report;
  }
}

}  // namespace tributary
