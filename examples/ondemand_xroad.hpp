#pragma once
// The X-Road source as a datasource of ondemand_collector: an X-Road security server's services as
// entity events. It joins the catalogue (catalogue/source/xroad.hpp) with collection on demand
// (ondemand/datasource.hpp), so it lives here among the examples rather than in either library.
//
// Entities:
//   "service"   one per catalogue document: the versions of a service code grouped as the catalogue
//               groups them. Its id is the service's X-Road identifier without the version suffix,
//               `{instance}/{class}/{code}/{subsystem}/{service code base}`; its payload the document
//               as the catalogue stores it (catalogue/document_json.hpp), openApiString included.
//   "provider"  one per catalogued provider (`{instance}/{class}/{code}/{subsystem}`), saying whether
//               its services were collected: {"name":..,"status":"ok"|"failed","failure":..,
//               "warnings":[..]}. This is how a provider that failed reaches the consumer: its
//               services are missing from get_all, and its entity says why.
//
// Failing (a datasource fails by throwing; the service answers it as "failed" with the text):
//   - listClients fails (unreachable, an error status, malformed JSON): the call throws that reason.
//   - fewer than min_provider_success of the listed providers were collected (the collector's
//     publish guard and its default, 0.5): the call throws, naming how many failed and the first
//     failures. A security server that fails most providers is broken, and an answer with most of its
//     services missing would look like most services were gone.
//   - listClients lists no provider at all, unless allow_no_providers (as the collector's guard).
//   - otherwise the call answers what was collected, and each failed provider's entity says
//     "failed" with the reason: some broken providers do not hide the others' services.
// Every message is passed through redact_urls_in: a password in the base URL is never shown.
//
// get_changes collects again and answers only what differs from the previous call (get_all or
// get_changes): an update for an entity new or changed, a delete for one gone. A failed provider's
// services are not taken for gone: they are kept as they were, and only its provider entity changes.
// Changed means the document differs other than in its `collected` stamps (those change at every
// collection). A call that throws leaves the previous state as it was.
//
// Sample time: when the provider's services were collected (deletes: when they were found gone).
// Transport: any tributary::transport; xroad_datasource is the curl one. The datasource shares
// ownership of its transport, since a call the service gave up on may still be running.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <tributary/catalogue/document_json.hpp>
#include <tributary/catalogue/source/xroad.hpp>
#include <tributary/concepts.hpp>
#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>
#include <tributary/ondemand/datasource.hpp>
#include <tributary/ondemand/event.hpp>
#include <tributary/redact.hpp>
#include <tributary/sync/canonical_json.hpp>
#include <tributary/transport/curl.hpp>

namespace tributary::examples::ondemand {

struct xroad_datasource_options {
  std::string name = "xroad";  ///< the datasource's name, what consumers ask for
  xroad_source_config source;  ///< base_url, client, environment, member_codes (catalogue/source/xroad.hpp)
  std::size_t concurrency = 16;       ///< providers collected at once
  double min_provider_success = 0.5;  ///< below this share of providers collected, a call fails
  /// A listing of no providers fails the call unless this is set (the collector's allow_no_providers):
  /// answered, it would make get_changes delete every service the consumer holds.
  bool allow_no_providers = false;
  /// The sample time of what is collected; injectable so that tests can order samples.
  std::function<sample_time()> now = [] {
    return std::chrono::time_point_cast<std::chrono::microseconds>(sample_clock::now());
  };

  /// Throws error(errc::invalid_config) naming the first problem (the source's own checks follow in
  /// xroad_source's constructor).
  void validate() const {
    auto fail = [](const std::string& what) { throw error(errc::invalid_config, "xroad datasource: " + what); };
    if (name.empty()) fail("the name is empty");
    const auto& url = source.base_url;
    const bool http = url.starts_with("http://") && url.size() > 7, https = url.starts_with("https://") && url.size() > 8;
    if (!http && !https)
      fail("the security server must be an http:// or https:// URL, not " + tributary::detail::quote_url(url));
    if (concurrency == 0) fail("concurrency must be at least 1");
    // Written as a negation so that NaN fails too.
    if (!(min_provider_success >= 0 && min_provider_success <= 1)) fail("min_provider_success must be between 0 and 1");
    if (!now) fail("now is empty");
  }
};

namespace xroad_detail {

/// An entity as the previous call left it: what identifies its content, and whose it is.
struct known_entity {
  std::array<unsigned char, 32> digest{};  ///< SHA-256 of its payload without collected stamps
  std::string provider;                    ///< the provider's X-Road id (its own, for a provider entity)
  friend bool operator==(const known_entity&, const known_entity&) = default;
};
using entity_key = std::pair<std::string, std::string>;  ///< (entity type, entity id)
using known_entities = std::map<entity_key, known_entity>;

/// One collection: every entity collected, and which providers failed.
struct collection {
  std::vector<entity_event> events;  ///< with the action asked for
  known_entities entities;           ///< of the events, by key
  std::set<std::string> failed_providers;
};

/// What the previous state becomes after `now`: what was collected, plus what failed providers had.
[[nodiscard]] inline known_entities next_state(const known_entities& before, const collection& now) {
  known_entities out = now.entities;
  for (const auto& [key, known] : before)
    if (key.first == "service" && now.failed_providers.contains(known.provider)) out.emplace(key, known);
  return out;
}

/// The changes from `before` to `after` (after = next_state(before, now)): the keys new or changed,
/// and the keys gone. A pure function: the decisions of get_changes, testable without a server.
struct change_plan {
  std::vector<entity_key> updated, deleted;
};
[[nodiscard]] inline change_plan plan_changes(const known_entities& before, const known_entities& after) {
  change_plan plan;
  for (const auto& [key, known] : after) {
    const auto it = before.find(key);
    if (it == before.end() || it->second.digest != known.digest) plan.updated.push_back(key);
  }
  for (const auto& [key, known] : before)
    if (!after.contains(key)) plan.deleted.push_back(key);
  return plan;
}

/// `{instance}/{class}/{code}/{subsystem}/{base}` of a catalogue document collected from one server.
[[nodiscard]] inline std::string service_entity_id(const service& s) {
  for (const auto& e : s.environments)
    for (const auto& d : e.details) {
      const auto& x = d.xroad;
      return x.instance + '/' + x.member_class + '/' + x.member_code + '/' + x.subsystem_code + '/' +
             split_service_code(x.service_code).base;
    }
  return s.id;  // a document without details: the source makes none
}

[[nodiscard]] inline std::array<unsigned char, 32> digest_without_stamps(service s) {
  for (auto& e : s.environments)
    for (auto& d : e.details) d.collected.clear();
  return sha256(to_json(s));
}

[[nodiscard]] inline std::string provider_payload(const provider& p, const provider_outcome& o) {
  std::string out = "{\"name\":";
  tributary::detail::append_quoted(out, p.name);
  out += o.ok() ? ",\"status\":\"ok\"" : ",\"status\":\"failed\",\"failure\":";
  if (!o.ok()) tributary::detail::append_quoted(out, redact_urls_in(o.failure));
  out += ",\"warnings\":[";
  for (std::size_t i = 0; i < o.warnings.size(); ++i) {
    if (i) out += ',';
    tributary::detail::append_quoted(out, redact_urls_in(o.warnings[i]));
  }
  out += "]}";
  return out;
}

/// Why a collection with too few providers fails: the counts and the first failures.
[[nodiscard]] inline std::string shortfall(std::size_t listed, const std::vector<std::string>& failures, double min) {
  std::string out = "only " + std::to_string(listed - failures.size()) + " of " + std::to_string(listed) +
                    " providers collected (min_provider_success " + std::to_string(static_cast<int>(min * 100 + 0.5)) +
                    "%)";
  constexpr std::size_t shown = 3;
  for (std::size_t i = 0; i < failures.size() && i < shown; ++i) out += (i ? "; " : ": ") + failures[i];
  if (failures.size() > shown) out += "; and " + std::to_string(failures.size() - shown) + " more";
  return redact_urls_in(out);
}

}  // namespace xroad_detail

/// The X-Road datasource over `Transport` (a tributary::transport: curl_transport, loopback_transport).
template <class Transport>
class basic_xroad_datasource {
  static_assert(transport<Transport>, "basic_xroad_datasource: Transport must model tributary::transport "
                                      "(include/tributary/concepts.hpp)");

 public:
  using datasource_concept = datasource_tag;

  /// Throws error(errc::invalid_config) for options that cannot work (a base URL that is not http(s),
  /// a client id with an empty part, ...).
  basic_xroad_datasource(std::shared_ptr<Transport> transport, xroad_datasource_options options) {
    options.validate();
    if (!transport) throw error(errc::invalid_config, "xroad datasource: no transport");
    auto source = xroad_source(options.source);  // checks the rest of the source's configuration
    state_ = std::make_shared<state>(std::move(transport), std::move(options), std::move(source));
  }

  [[nodiscard]] std::string name() const { return state_->options.name; }

  std::vector<entity_event> get_all(event_action action) {
    auto now = collect(action);
    state_->known = xroad_detail::next_state(state_->known, now);
    return std::move(now.events);
  }

  std::vector<entity_event> get_changes() {
    auto now = collect(event_action::update);
    auto after = xroad_detail::next_state(state_->known, now);
    const auto plan = xroad_detail::plan_changes(state_->known, after);
    std::vector<entity_event> out;
    std::set<xroad_detail::entity_key> updated(plan.updated.begin(), plan.updated.end());
    for (auto& e : now.events)
      if (updated.contains({e.entity_type, e.entity_id})) out.push_back(std::move(e));
    const auto gone_at = state_->options.now();
    for (const auto& [type, id] : plan.deleted) {
      entity_event e;
      e.datasource = state_->options.name;
      e.entity_type = type;
      e.entity_id = id;
      e.action = event_action::delete_entity;
      e.sampled = gone_at;
      out.push_back(std::move(e));
    }
    state_->known = std::move(after);
    return out;
  }

  /// Lists the providers once, so that an unreachable or wrong server is told at start-up rather than
  /// at the first call. Throws error(errc::source_failed) with the reason, redacted.
  void check() { (void)state_->source.list_providers(*state_->transport); }

  /// Why the last call failed (the listing, or too few providers collected), redacted; empty when it
  /// worked or none ran yet. Any thread: a health endpoint reads it while calls run. Copies of the
  /// datasource share it.
  [[nodiscard]] std::string last_problem() const {
    std::lock_guard lock(state_->problem_mu);
    return state_->problem;
  }

 private:
  struct state {
    state(std::shared_ptr<Transport> t, xroad_datasource_options o, xroad_source s)
        : transport(std::move(t)), options(std::move(o)), source(std::move(s)) {}
    std::shared_ptr<Transport> transport;
    xroad_datasource_options options;
    xroad_source source;
    xroad_detail::known_entities known;  // as the previous call left them; the service serializes calls
    std::mutex problem_mu;
    std::string problem;  ///< last_problem()
  };

  xroad_detail::collection collect(event_action action) {
    auto note = [&](std::string problem) {
      std::lock_guard lock(state_->problem_mu);
      state_->problem = std::move(problem);
    };
    try {
      auto out = collect_now(action);
      note({});
      return out;
    } catch (const error& e) {
      note(e.what());
      throw;
    }
  }

  xroad_detail::collection collect_now(event_action action) {
    auto& s = *state_;
    const auto providers = s.source.list_providers(*s.transport);  // throws the reason, redacted
    if (providers.empty() && !s.options.allow_no_providers)
      throw error(errc::source_failed,
                  "the security server lists no providers (allow_no_providers is off): answered, that would "
                  "delete every service the consumer holds");
    xroad_detail::collection out;
    std::vector<std::string> failures;
    s.source.collect(*s.transport, std::span<const provider>(providers), s.options.concurrency,
                     [&](const provider& p, provider_outcome&& o) {
                       const auto at = s.options.now();
                       auto add = [&](std::string type, std::string id, std::string payload,
                                      std::array<unsigned char, 32> digest) {
                         out.entities.emplace(xroad_detail::entity_key{type, id}, xroad_detail::known_entity{digest, p.id});
                         out.events.push_back({s.options.name, std::move(type), std::move(id), action, at, std::move(payload)});
                       };
                       for (const auto& doc : o.records)
                         add("service", xroad_detail::service_entity_id(doc), to_json(doc),
                             xroad_detail::digest_without_stamps(doc));
                       auto payload = xroad_detail::provider_payload(p, o);
                       const auto digest = sha256(payload);
                       add("provider", p.id, std::move(payload), digest);
                       if (!o.ok()) {
                         out.failed_providers.insert(p.id);
                         failures.push_back(p.id + ": " + o.failure);
                       }
                     });
    const auto listed = providers.size(), collected = listed - failures.size();
    if (listed > 0 && static_cast<double>(collected) < s.options.min_provider_success * static_cast<double>(listed))
      throw error(errc::source_failed, xroad_detail::shortfall(listed, failures, s.options.min_provider_success));
    return out;
  }

  std::shared_ptr<state> state_;
};

using xroad_datasource = basic_xroad_datasource<curl_transport>;
static_assert(datasource<xroad_datasource>);

}  // namespace tributary::examples::ondemand
