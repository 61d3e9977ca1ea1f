#pragma once
// run_lease: at most one run of an environment at a time, across processes and machines, kept in the
// store the runs share. The protocol is safe when runs of one environment overlap (a newer worker
// supersedes an older one); the lease makes overlap rare and visible: a second run finds the lease held
// and says by whom, unless the holder has been silent for `ttl`, in which case it takes the lease over.
//
// Lease records are documents `<environment>/<generation>` of one index. Taking the lease is inserting
// the next generation with insert-if-absent, so of any number of takers exactly one wins; the holder
// refreshes its generation's heartbeat and has lost the lease once a later generation exists. A
// released lease stays as a record marked released, so generations only grow. Expiry compares one
// machine's clock with another's heartbeat: keep clocks synchronised well within `ttl`.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>
#include <tributary/index/concepts.hpp>

namespace tributary {

struct lease_options {
  std::string index = "tributary-leases";
  /// A holder whose last heartbeat is older than this has lost the lease to the next taker.
  std::chrono::milliseconds ttl = std::chrono::minutes(2);
};

struct lease_holder {
  std::string owner;  ///< who took it: host and process, as the taker named itself
  std::chrono::system_clock::time_point since;
  std::chrono::system_clock::time_point heartbeat;
};

enum class lease_status {
  acquired,   ///< nobody held it
  took_over,  ///< its holder had been silent for ttl; `holder` says who that was
  held,       ///< someone else holds it; `holder` says who
};

struct lease_attempt {
  lease_status status = lease_status::held;
  lease_holder holder;
  [[nodiscard]] bool ok() const noexcept { return status != lease_status::held; }
};

template <class Store>
class run_lease {
  static_assert(insert_if_absent_store<Store> && document_delete_store<Store>,
                "run_lease: the store must model insert_if_absent_store and document_delete_store");

 public:
  using time_point = std::chrono::system_clock::time_point;

  run_lease(Store& store, std::string environment, std::string owner, lease_options options = {})
      : store_(store), environment_(std::move(environment)), owner_(std::move(owner)), options_(std::move(options)) {
    if (environment_.empty() || environment_.find('/') != std::string::npos)
      throw error(errc::invalid_config, "run_lease: environment '" + environment_ + "' is empty or contains '/'");
    if (owner_.empty()) throw error(errc::invalid_config, "run_lease: the owner's name is empty");
    if (options_.ttl <= std::chrono::milliseconds::zero())
      throw error(errc::invalid_config, "run_lease: ttl must be positive");
  }

  /// Takes the lease unless a live holder has it. Retries a lost race with another taker a few times.
  lease_attempt acquire(time_point now) {
    ensure_index();
    for (int attempt = 0; attempt < 8; ++attempt) {
      const auto latest = read_latest();
      if (latest && !latest->released && now < latest->holder.heartbeat + options_.ttl)
        return {lease_status::held, latest->holder};
      const std::uint64_t next = latest ? latest->generation + 1 : 1;
      const stored_document doc{id_of(next), to_json({owner_, now, now}, false)};
      const auto r = store_.insert_if_absent(options_.index, std::span<const stored_document>(&doc, 1));
      if (!r.ok()) throw error(errc::store_unavailable, "taking the lease of " + environment_ + ": " + r.failures.front().reason);
      if (r.items.front() != insert_result::outcome::inserted) continue;  // another taker was first: look again
      generation_ = next;
      since_ = now;
      forget_older(next);
      if (latest && !latest->released) return {lease_status::took_over, latest->holder};
      return {lease_status::acquired, {owner_, now, now}};
    }
    throw error(errc::conflict, "taking the lease of " + environment_ + ": lost the race to other takers 8 times");
  }

  /// Refreshes the holder's heartbeat. False when the lease was taken over (the holder was silent past
  /// ttl): the run should then stop, as a newer run now holds it.
  bool heartbeat(time_point now) {
    if (!generation_) return false;
    const auto latest = read_latest();
    if (!latest || latest->generation != *generation_ || latest->released) {
      generation_.reset();
      return false;
    }
    write_own(now, false);
    return true;
  }

  /// Gives the lease up, so that the next run takes it at once. Nothing when not held.
  void release(time_point now) {
    if (!generation_) return;
    const auto latest = read_latest();
    if (latest && latest->generation == *generation_) write_own(now, true);
    generation_.reset();
  }

  [[nodiscard]] bool held() const noexcept { return generation_.has_value(); }
  [[nodiscard]] const lease_options& options() const noexcept { return options_; }

 private:
  struct record {
    std::uint64_t generation = 0;
    lease_holder holder;
    bool released = false;
  };

  [[nodiscard]] std::string prefix() const { return environment_ + "/"; }
  [[nodiscard]] std::string id_of(std::uint64_t generation) const {
    char digits[24];
    std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(generation));
    return prefix() + digits;  // zero-padded: id order is generation order
  }

  void ensure_index() {
    if (store_.index_exists(options_.index)) return;
    try {
      store_.create_index(options_.index);
    } catch (const error& e) {
      if (e.code() != errc::already_exists) throw;  // another taker created it meanwhile
    }
  }

  static std::int64_t millis(time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  }

  static std::string to_json(const lease_holder& h, bool released) {
    std::string out = "{\"owner\":";
    detail::append_quoted(out, h.owner);
    out += ",\"since\":" + std::to_string(millis(h.since)) + ",\"heartbeat\":" + std::to_string(millis(h.heartbeat)) +
           ",\"released\":" + (released ? "true" : "false") + "}";
    return out;
  }

  [[nodiscard]] record parse(const stored_document& d) const {
    record r;
    r.generation = std::stoull(d.id.substr(prefix().size()));
    simdjson::dom::parser parser;
    simdjson::dom::element e;
    std::string_view owner;
    std::int64_t since = 0, beat = 0;
    bool released = false;
    if (parser.parse(d.json).get(e) || e["owner"].get(owner) || e["since"].get(since) || e["heartbeat"].get(beat) ||
        e["released"].get(released))
      throw error(errc::bad_document, "lease record '" + d.id + "' in '" + options_.index + "' is malformed");
    r.holder = {std::string(owner), time_point(std::chrono::milliseconds(since)),
                time_point(std::chrono::milliseconds(beat))};
    r.released = released;
    return r;
  }

  /// The latest generation of this environment's lease, if any.
  [[nodiscard]] std::optional<record> read_latest() const {
    std::optional<stored_document> last;
    std::string after = prefix();
    while (true) {
      auto page = store_.scan(options_.index, after, 64);
      for (auto& d : page.documents) {
        if (d.id.compare(0, prefix().size(), prefix()) != 0) return last ? std::optional(parse(*last)) : std::nullopt;
        last = std::move(d);
      }
      if (page.done) break;
      after = page.next_after;
    }
    return last ? std::optional(parse(*last)) : std::nullopt;
  }

  void write_own(time_point now, bool released) {
    const stored_document doc{id_of(*generation_), to_json({owner_, since_, now}, released)};
    const auto r = store_.bulk_write(options_.index, std::span<const stored_document>(&doc, 1));
    if (!r.ok()) throw error(errc::store_unavailable, "writing the lease of " + environment_ + ": " + r.failures.front().reason);
  }

  /// Older generations are history: deleted, best effort (a later taker deletes what is left).
  void forget_older(std::uint64_t generation) {
    std::vector<std::string> old;
    std::string after = prefix();
    while (true) {
      auto page = store_.scan(options_.index, after, 64);
      for (const auto& d : page.documents) {
        if (d.id.compare(0, prefix().size(), prefix()) != 0 || d.id >= id_of(generation)) {
          page.done = true;
          break;
        }
        old.push_back(d.id);
      }
      if (page.done) break;
      after = page.next_after;
    }
    if (old.empty()) return;
    try {
      (void)store_.delete_documents(options_.index, std::span<const std::string>(old));
    } catch (const error&) {
    }
  }

  Store& store_;
  std::string environment_;
  std::string owner_;
  lease_options options_;
  std::optional<std::uint64_t> generation_;
  time_point since_{};
};

}  // namespace tributary
