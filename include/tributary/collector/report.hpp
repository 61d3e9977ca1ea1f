#pragma once
// run_report: what one run of the collection protocol did, as data, as JSON and as a short summary.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <tributary/detail/json_text.hpp>
#include <tributary/index/types.hpp>

namespace tributary {

struct provider_report {
  std::string provider;
  bool ok = true;
  std::string reason;  ///< why it failed
  std::size_t records = 0;
  std::vector<std::string> warnings;
};

enum class peer_outcome {
  copied,             ///< the peer was not running; its published data was merged in
  copied_stale,       ///< still running at the deadline; its last published data was merged, marked stale
  timed_out,          ///< still running at the deadline and skipped
  nothing_published,  ///< the peer has never published (`A-r` does not exist)
  failed,             ///< reading or merging the peer failed; see `detail`
};

[[nodiscard]] constexpr const char* to_string(peer_outcome o) noexcept {
  switch (o) {
    case peer_outcome::copied: return "copied";
    case peer_outcome::copied_stale: return "copied_stale";
    case peer_outcome::timed_out: return "timed_out";
    case peer_outcome::nothing_published: return "nothing_published";
    case peer_outcome::failed: return "failed";
  }
  return "unknown";
}

/// How a run ended. Only `succeeded` switched the read alias.
enum class run_outcome {
  succeeded,
  failed,       ///< the source, the store or the configuration failed; see `failure`
  refused,      ///< the collection fell short of the publish guard; nothing was published
  superseded,   ///< a newer run of this environment published first; this one stopped before activating
  interrupted,  ///< stopped on request (a signal) at a safe point
};

[[nodiscard]] constexpr const char* to_string(run_outcome o) noexcept {
  switch (o) {
    case run_outcome::succeeded: return "succeeded";
    case run_outcome::failed: return "failed";
    case run_outcome::refused: return "refused";
    case run_outcome::superseded: return "superseded";
    case run_outcome::interrupted: return "interrupted";
  }
  return "unknown";
}

struct peer_report {
  std::string environment;
  peer_outcome outcome = peer_outcome::failed;
  std::string source_index;    ///< the index behind `A-r` that was read
  std::size_t read = 0;        ///< documents read from the peer
  std::size_t added = 0;       ///< documents only the peer has, added
  std::size_t merged = 0;      ///< documents both have, merged
  std::chrono::milliseconds waited{0};  ///< from the start of waiting until the peer was handled
  std::string detail;
};

/// Appends `actions` as a JSON array of {"op", "alias"[, "index"]} objects.
inline void append_alias_actions_json(std::string& o, const std::vector<alias_action>& actions) {
  o += '[';
  for (std::size_t j = 0; j < actions.size(); ++j) {
    if (j) o += ',';
    const auto& a = actions[j];
    const char* op = a.op == alias_action::kind::add ? "add" : a.op == alias_action::kind::remove ? "remove" : "remove_everywhere";
    o += "{\"op\":\"", o += op, o += "\",\"alias\":", detail::append_quoted(o, a.alias);
    if (a.op != alias_action::kind::remove_everywhere) o += ",\"index\":", detail::append_quoted(o, a.index);
    if (a.must_exist) o += ",\"must_exist\":true";
    o += '}';
  }
  o += ']';
}

struct alias_update_report {
  std::string step;
  std::vector<alias_action> actions;
};

struct phase_report {
  std::string phase;
  std::chrono::milliseconds duration{0};
};

struct run_report {
  std::string environment;
  std::string worker;
  bool ok = false;       ///< outcome == succeeded
  run_outcome outcome = run_outcome::failed;
  std::string failure;  ///< why the run stopped, with the step; empty when ok
  std::vector<provider_report> providers;
  std::size_t records = 0;
  std::vector<peer_report> peers;
  std::chrono::milliseconds waited{0};
  std::vector<alias_update_report> alias_updates;
  std::vector<std::string> deleted;
  std::vector<phase_report> phases;
  std::vector<std::string> notes;  ///< things worth knowing that are not failures

  [[nodiscard]] std::size_t providers_failed() const {
    std::size_t n = 0;
    for (const auto& p : providers) n += p.ok ? 0 : 1;
    return n;
  }

  [[nodiscard]] std::string to_json() const {
    using detail::append_quoted;
    std::string o = "{\"environment\":";
    append_quoted(o, environment);
    o += ",\"worker\":", append_quoted(o, worker);
    o += ",\"ok\":", o += ok ? "true" : "false";
    o += ",\"outcome\":", append_quoted(o, to_string(outcome));
    o += ",\"failure\":", append_quoted(o, failure);
    o += ",\"records\":" + std::to_string(records);
    o += ",\"providers\":{\"succeeded\":" + std::to_string(providers.size() - providers_failed());
    o += ",\"failed\":[";
    bool first = true;
    for (const auto& p : providers) {
      if (p.ok) continue;
      if (!first) o += ',';
      first = false;
      o += "{\"provider\":", append_quoted(o, p.provider), o += ",\"reason\":", append_quoted(o, p.reason), o += '}';
    }
    o += "],\"warnings\":[";
    first = true;
    for (const auto& p : providers)
      for (const auto& w : p.warnings) {
        if (!first) o += ',';
        first = false;
        append_quoted(o, p.provider + ": " + w);
      }
    o += "]},\"peers\":[";
    for (std::size_t i = 0; i < peers.size(); ++i) {
      const auto& p = peers[i];
      if (i) o += ',';
      o += "{\"environment\":", append_quoted(o, p.environment);
      o += ",\"outcome\":", append_quoted(o, to_string(p.outcome));
      o += ",\"source_index\":", append_quoted(o, p.source_index);
      o += ",\"read\":" + std::to_string(p.read) + ",\"added\":" + std::to_string(p.added) +
           ",\"merged\":" + std::to_string(p.merged) + ",\"waited_ms\":" + std::to_string(p.waited.count());
      o += ",\"detail\":", append_quoted(o, p.detail), o += '}';
    }
    o += "],\"waited_ms\":" + std::to_string(waited.count());
    o += ",\"alias_updates\":[";
    for (std::size_t i = 0; i < alias_updates.size(); ++i) {
      if (i) o += ',';
      o += "{\"step\":", append_quoted(o, alias_updates[i].step), o += ",\"actions\":";
      append_alias_actions_json(o, alias_updates[i].actions);
      o += '}';
    }
    o += "],\"deleted\":[";
    for (std::size_t i = 0; i < deleted.size(); ++i) {
      if (i) o += ',';
      append_quoted(o, deleted[i]);
    }
    o += "],\"phases\":{";
    for (std::size_t i = 0; i < phases.size(); ++i) {
      if (i) o += ',';
      append_quoted(o, phases[i].phase);
      o += ':' + std::to_string(phases[i].duration.count());
    }
    o += "},\"notes\":[";
    for (std::size_t i = 0; i < notes.size(); ++i) {
      if (i) o += ',';
      append_quoted(o, notes[i]);
    }
    o += "]}";
    return o;
  }

  [[nodiscard]] std::string summary() const {
    std::string s = environment + ": " + (ok ? std::string("ok") : (outcome == run_outcome::failed ? std::string("FAILED") : std::string(to_string(outcome))) + " (" + failure + ")") + ", worker " + worker + "\n";
    s += "  providers: " + std::to_string(providers.size() - providers_failed()) + " succeeded, " +
         std::to_string(providers_failed()) + " failed; records: " + std::to_string(records) + "\n";
    for (const auto& p : providers)
      if (!p.ok) s += "    failed " + p.provider + ": " + p.reason + "\n";
    for (const auto& p : peers) {
      s += "  peer " + p.environment + ": " + to_string(p.outcome);
      if (!p.source_index.empty()) s += " from " + p.source_index;
      s += " (read " + std::to_string(p.read) + ", added " + std::to_string(p.added) + ", merged " +
           std::to_string(p.merged) + ", waited " + std::to_string(p.waited.count()) + " ms)";
      if (!p.detail.empty()) s += " — " + p.detail;
      s += "\n";
    }
    s += "  alias updates: " + std::to_string(alias_updates.size()) + ", deleted indices: " + std::to_string(deleted.size());
    if (!phases.empty()) {
      s += "\n  phases:";
      for (const auto& ph : phases) s += " " + ph.phase + "=" + std::to_string(ph.duration.count()) + "ms";
    }
    for (const auto& n : notes) s += "\n  note: " + n;
    return s + "\n";
  }
};

}  // namespace tributary
