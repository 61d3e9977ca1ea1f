// Three collectors (dev, staging, prod) over one store, interleaved by a seeded scheduler in virtual
// time, with crashes injected at random steps and peers that time out; in the chaotic round, some
// environments run twice at once (a second run started late or overlapping the first). After every
// step the invariants of DESIGN.md are checked, and that neither A nor any A-E ever moves to a worker
// older than one its environment already published; after every clean round the catalogue behind
// `apicatalogue` must be the one expected, whichever collector finished last.
//
// TRIBUTARY_INTERLEAVINGS=N runs N seeds (default 1000); TRIBUTARY_SEED=S replays seed S alone.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <span>
#include <set>
#include <string>
#include <vector>

#include <tributary/all.hpp>

#include "support/catalogue.hpp"
#include "support/scheduler.hpp"
#include "support/stepped_index.hpp"

namespace tributary {
namespace {

using namespace std::chrono_literals;
using testing::scheduled_clock;
using testing::scheduler;
using testing::simulated_crash;
using testing::stepped_index;
using time_point = std::chrono::system_clock::time_point;

const std::vector<std::string> environments{"dev", "staging", "prod"};
constexpr int providers_per_env = 3;
constexpr int services_per_provider = 4;
constexpr auto stale_after = 30min;

using collector_under_test = basic_collector<loopback_transport, stepped_index<memory_index>>;

/// What environment `env` publishes in round `round`: descriptions carry the round, so data copied
/// from an earlier round is told apart.
std::vector<std::pair<provider, std::vector<service>>> round_catalogue(const std::string& env, int round) {
  std::vector<std::pair<provider, std::vector<service>>> out;
  for (int p = 0; p < providers_per_env; ++p) {
    const std::string code = "7000" + std::to_string(p);
    const std::string subsystem = "sub" + std::to_string(p) + "-public";
    std::vector<service> services;
    for (int s = 0; s < services_per_provider; ++s) {
      const bool shared = s % 2 == 0;
      const std::string name = shared ? "svc" + std::to_string(s) : env + "only" + std::to_string(s);
      auto svc = testing::make_service(env, code, subsystem, name, {"v2", "v10"});
      for (auto& d : svc.environments.front().details) d.description += " (round " + std::to_string(round) + ")";
      normalize(svc, environment_order{});
      services.push_back(std::move(svc));
    }
    out.push_back({{"EE-" + env + "/GOV/" + code + "/" + subsystem, "Provider " + code}, std::move(services)});
  }
  return out;
}

struct round_plan {
  bool start_together;  ///< the seed's premise: every collector has claimed its working alias before any looks at peers
  double crash_probability;
  int crash_budget;
  std::chrono::seconds max_latency;  ///< virtual time each provider takes, drawn from [0, max]
  double second_run_probability = 0;  ///< of each environment running twice, overlapping, in this round
};

struct totals {
  std::size_t rounds = 0, steps = 0, crashes = 0, peer_timeouts = 0, converged_checks = 0, invariant_checks = 0;
  std::size_t second_runs = 0, superseded = 0;
};

/// Everything one seed's run needs: the shared store and what the checker has learned so far.
class world {
 public:
  explicit world(std::uint64_t seed) : seed_(seed) {}

  void play(const round_plan& plan, int round, totals& t) {
    scheduler sched(seed_ * 7919 + static_cast<std::uint64_t>(round), now_);
    // One actor per run: every environment once, and some a second time.
    std::vector<std::string> actors = environments;
    std::vector<bool> duplicated(environments.size(), false);
    for (std::size_t e = 0; e < environments.size(); ++e)
      if (std::bernoulli_distribution(plan.second_run_probability)(sched.rng())) {
        actors.push_back(environments[e]);
        duplicated[e] = true;
        ++t.second_runs;
      }
    std::vector<run_report> reports(actors.size());
    std::vector<std::string> workers(actors.size());
    std::vector<bool> running(actors.size(), true);
    std::vector<bool> retired(actors.size(), false);  // the run deleted its own worker
    std::vector<bool> crashed(actors.size(), false);
    std::vector<bool> claimed(actors.size(), false);  // the working alias went on the worker

    for (std::size_t i = 0; i < actors.size(); ++i) {
      sched.add_actor([&, i](int id) {
        const std::string& env = actors[i];
        stepped_index<memory_index> store(store_, sched, id);
        store.on_create = [&](const std::string& name) { workers[i] = name; };
        store.on_delete = [&](std::span<const std::string> names) {
          if (std::find(names.begin(), names.end(), workers[i]) != names.end()) retired[i] = true;
        };
        scheduled_clock clock(sched, id);
        if (i >= environments.size()) {  // a second run starts anywhere within the first one's collection
          std::uniform_int_distribution<long> delay(0, plan.max_latency.count() * 1000 * providers_per_env);
          clock.sleep_until(clock.now() + std::chrono::milliseconds(delay(sched.rng())));
        }
        in_process_source source;
        for (auto& [p, services] : round_catalogue(env, round)) source.add(p, services);
        bool first = true;
        source.before_each([&](const provider&) {
          if (first && plan.start_together) sched.barrier(id);
          first = false;
          std::uniform_int_distribution<long> latency(0, plan.max_latency.count() * 1000);
          clock.sleep_until(clock.now() + std::chrono::milliseconds(latency(sched.rng())));
        });
        collector_config config;
        config.environment = env;
        for (const auto& peer : environments)
          if (peer != env) config.peers.push_back({peer, ""});
        config.stale_after = stale_after;
        config.bulk_batch = 5;  // several bulk writes per provider: more places to interleave and crash
        config.scan_page = 7;
        config.merge_batch = 3;  // a page merged in parts of 3, 3 and 1
        collector_under_test collector(config, transport_, store);
        collector.on_progress([&](const progress_event& e) {
          if (e.phase == "collect_services") claimed[i] = true;
          if (e.phase == "publish_environment") complete_local_.insert(workers[i]);
          if (e.phase == "activate") complete_full_.insert(workers[i]);
        });
        try {
          reports[i] = collector.run(source, clock);
        } catch (const simulated_crash&) {
          running[i] = false;
          throw;
        }
        running[i] = false;
      });
    }
    sched.inject_crashes(plan.crash_probability, plan.crash_budget);
    auto live = [&] {
      std::vector<bool> out(actors.size());
      for (std::size_t i = 0; i < actors.size(); ++i) out[i] = running[i] && !retired[i];
      return out;
    };
    auto check = [&] {
      if (::testing::Test::HasFatalFailure()) return;  // report the first broken invariant, not every step after it
      check_invariants(workers, live());
      // From the moment a run has claimed its worker until it ends, peers must see it either running
      // (the working alias on W) or published (A-E on W, or on a newer worker that superseded it): a
      // moment with neither would let a peer copy older data instead of waiting.
      const auto l = live();
      for (std::size_t i = 0; i < actors.size(); ++i) {
        if (!l[i] || !claimed[i]) continue;
        const protocol_names names{"apicatalogue", actors[i]};
        // A newer run of the same environment may have taken the working alias over: this one will then
        // be superseded, and peers wait for the newer one.
        const auto mine = names.worker_time(workers[i]);
        auto at_least_mine = [&](const std::vector<std::string>& targets) {
          return std::any_of(targets.begin(), targets.end(), [&](const std::string& w) { return names.worker_time(w) >= mine; });
        };
        ASSERT_TRUE(at_least_mine(store_.alias_targets(names.working_alias())) ||
                    at_least_mine(store_.alias_targets(names.environment_alias())))
            << workers[i] << " is neither running nor published (seed " << seed_ << ")";
      }
    };
    sched.on_quiescent([&] {
      check();
      ++t.invariant_checks;
    });
    sched.run();
    check();
    now_ = sched.now();
    t.steps += sched.steps();
    t.crashes += sched.crashes();
    ++t.rounds;

    bool timed_out = false;
    for (std::size_t i = 0; i < actors.size(); ++i) crashed[i] = sched.crashed(static_cast<int>(i));
    for (std::size_t i = 0; i < actors.size(); ++i) {
      if (crashed[i]) continue;
      const auto e = static_cast<std::size_t>(std::find(environments.begin(), environments.end(), actors[i]) -
                                              environments.begin());
      if (duplicated[e] && reports[i].outcome == run_outcome::superseded) {
        ++t.superseded;
        continue;  // a newer run of its environment published first: it stopped, as it must
      }
      ASSERT_TRUE(reports[i].ok) << reports[i].summary();
      ASSERT_EQ(reports[i].providers_failed(), 0u);
      ASSERT_EQ(reports[i].peers.size(), environments.size() - 1);
      for (const auto& p : reports[i].peers) {
        ASSERT_NE(p.outcome, peer_outcome::failed) << p.detail;
        if (p.outcome == peer_outcome::copied_stale || p.outcome == peer_outcome::timed_out) timed_out = true;
      }
    }
    t.peer_timeouts += timed_out ? 1 : 0;
    const bool clean = std::none_of(crashed.begin(), crashed.end(), [](bool c) { return c; });
    if (plan.start_together && clean && !timed_out) {
      check_converged(std::vector<std::string>(workers.begin(), workers.begin() + 3), round);
      ++t.converged_checks;
    }
  }

  /// After a round that started one stale bound after everything before it, nothing is left but the
  /// three published workers, and no working alias remains.
  void check_nothing_dangling() const {
    std::set<std::string> aliased;
    for (const auto& a : store_.aliases()) {
      EXPECT_EQ(a.alias.find("CollectorWorking"), std::string::npos) << a.alias << " left on " << a.index;
      aliased.insert(a.index);
    }
    const auto indices = store_.list_indices("");
    EXPECT_EQ(std::set<std::string>(indices.begin(), indices.end()), aliased);
    EXPECT_EQ(indices.size(), environments.size());
  }

  void advance(std::chrono::system_clock::duration d) { now_ += d; }

 private:
  [[nodiscard]] std::vector<stored_document> content(const std::string& index) const {
    std::vector<stored_document> out;
    std::string after;
    while (true) {
      auto page = store_.scan(index, after, 1000);
      out.insert(out.end(), page.documents.begin(), page.documents.end());
      if (page.done) return out;
      after = page.next_after;
    }
  }

  void check_invariants(const std::vector<std::string>& workers, const std::vector<bool>& running) {
    const auto aliases = store_.aliases();
    std::map<std::string, std::vector<std::string>> targets;
    for (const auto& a : aliases) targets[a.alias].push_back(a.index);

    // Never back to older data: A-E only ever moves to newer workers of E, and A, when it moves, to a
    // worker no older than the newest E has published (E being the environment that worker belongs to).
    for (const auto& env : environments) {
      const auto& t = targets["apicatalogue-" + env];
      if (t.size() != 1) continue;
      const auto stamp = protocol_names{"apicatalogue", env}.worker_time(t.front());
      ASSERT_TRUE(stamp) << t.front();
      auto& newest = newest_published_[env];
      ASSERT_GE(*stamp, newest) << "apicatalogue-" << env << " moved back to " << t.front() << " (seed " << seed_ << ")";
      newest = *stamp;
    }
    if (const auto& t = targets["apicatalogue"]; t.size() == 1 && t.front() != read_target_) {
      read_target_ = t.front();
      for (const auto& env : environments)
        if (const auto stamp = protocol_names{"apicatalogue", env}.worker_time(read_target_)) {
          ASSERT_GE(*stamp, newest_published_[env])
              << "apicatalogue moved to " << read_target_ << ", older than what " << env << " published (seed "
              << seed_ << ")";
        }
    }

    // A and each A-E, once they exist, point to exactly one complete index.
    auto check_alias = [&](const std::string& alias, const std::set<std::string>& complete) {
      const auto& t = targets[alias];
      if (seen_.contains(alias)) {
        ASSERT_EQ(t.size(), 1u) << alias << " vanished (seed " << seed_ << ")";
      }
      if (t.empty()) return;
      seen_.insert(alias);
      ASSERT_EQ(t.size(), 1u) << alias << " points to several indices (seed " << seed_ << ")";
      ASSERT_TRUE(complete.contains(t.front())) << alias << " points to incomplete " << t.front() << " (seed " << seed_ << ")";
    };
    check_alias("apicatalogue", complete_full_);
    for (const auto& env : environments) {
      check_alias("apicatalogue-" + env, complete_local_);
      const auto& t = targets["apicatalogue-" + env];
      // Documents are never removed from a worker, so each published target needs counting once.
      if (!t.empty() && counted_.insert(t.front()).second) {
        ASSERT_GE(content(t.front()).size(), static_cast<std::size_t>(providers_per_env * services_per_provider));
      }
    }

    // No index that carries an alias, and no live worker, is ever deleted.
    std::map<std::string, bool> now_indices;
    for (const auto& index : store_.list_indices("")) now_indices[index] = false;
    for (const auto& a : aliases) {
      ASSERT_TRUE(now_indices.contains(a.index)) << "alias " << a.alias << " on missing " << a.index;
      now_indices[a.index] = true;
    }
    for (const auto& [index, had_alias] : previous_indices_) {
      if (had_alias) {
        ASSERT_TRUE(now_indices.contains(index)) << "aliased index " << index << " deleted (seed " << seed_ << ")";
      }
    }
    for (std::size_t i = 0; i < workers.size(); ++i) {
      if (running[i] && !workers[i].empty()) {
        ASSERT_TRUE(now_indices.contains(workers[i])) << "live worker " << workers[i] << " deleted (seed " << seed_ << ")";
      }
    }
    previous_indices_ = std::move(now_indices);
  }

  /// The three final workers hold the same catalogue, A points to one of them, and that catalogue is
  /// exactly every environment's own services of this round, merged.
  void check_converged(const std::vector<std::string>& workers, int round) {
    const auto reference = content(workers.front());
    for (const auto& w : workers) ASSERT_EQ(content(w), reference) << w << " differs from " << workers.front() << " (seed " << seed_ << ")";
    const auto read = store_.alias_targets("apicatalogue");
    ASSERT_EQ(read.size(), 1u);
    ASSERT_EQ(content(read.front()), reference);

    std::map<std::string, std::map<std::string, environment_entry>> expected;  // id -> env -> entry
    for (const auto& env : environments)
      for (auto& [p, services] : round_catalogue(env, round))
        for (auto& s : services) expected[s.id][env] = s.environments.front();
    ASSERT_EQ(reference.size(), expected.size());
    document_parser parser;
    for (const auto& d : reference) {
      const auto doc = parser.parse(d.json);
      ASSERT_TRUE(expected.contains(doc.id)) << doc.id;
      const auto& want = expected[doc.id];
      ASSERT_EQ(doc.environments.size(), want.size()) << doc.id;
      for (const auto& e : doc.environments) {
        ASSERT_TRUE(want.contains(e.environment)) << doc.id << " has " << e.environment;
        ASSERT_EQ(e, want.at(e.environment)) << doc.id << " " << e.environment << " (seed " << seed_ << ")";
      }
      // Document-level fields come from the highest-precedence environment that has the service.
      const auto& top = want.contains("prod") ? want.at("prod") : want.contains("staging") ? want.at("staging") : want.at("dev");
      ASSERT_EQ(doc.title, top.details.back().title);
      ASSERT_EQ(doc.owner, top.owner);
    }
  }

  std::uint64_t seed_;
  memory_index store_;
  loopback_transport transport_;
  time_point now_ = std::chrono::sys_days{std::chrono::year{2021} / 2 / 19} + 12h;
  std::set<std::string> complete_local_, complete_full_, seen_, counted_;
  std::map<std::string, time_point> newest_published_;  // per environment, the newest worker A-E has shown
  std::string read_target_;
  std::map<std::string, bool> previous_indices_;
};

std::size_t interleavings() {
  if (const char* n = std::getenv("TRIBUTARY_INTERLEAVINGS")) return std::strtoull(n, nullptr, 10);
  return 1000;
}

TEST(Interleaving, InvariantsHoldUnderCrashesAndTimeouts) {
  std::vector<std::uint64_t> seeds;
  if (const char* s = std::getenv("TRIBUTARY_SEED")) seeds.push_back(std::strtoull(s, nullptr, 10));
  else
    for (std::uint64_t s = 1; s <= interleavings(); ++s) seeds.push_back(s);

  const round_plan together{true, 0.0, 0, 20s};
  const round_plan chaotic{false, 0.02, 2, 90s, 0.5};
  totals t;
  const auto started = std::chrono::steady_clock::now();
  for (const auto seed : seeds) {
    SCOPED_TRACE("replay with TRIBUTARY_SEED=" + std::to_string(seed));
    world w(seed);
    w.play(together, 1, t);
    if (HasFatalFailure()) return;
    w.advance(1min);
    w.play(chaotic, 2, t);
    if (HasFatalFailure()) return;
    w.advance(stale_after + 1min);  // the next scheduled run, past the stale bound: it must clean up everything
    w.play(together, 3, t);
    if (HasFatalFailure()) return;
    w.check_nothing_dangling();
    if (HasFailure()) return;
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  std::printf("interleavings: %zu seeds, %zu rounds, %zu steps, %zu crashes injected, %zu rounds with peer timeouts, "
              "%zu convergence checks, %zu invariant checks, %zu second runs (%zu superseded), %lld ms\n",
              seeds.size(), t.rounds, t.steps, t.crashes, t.peer_timeouts, t.converged_checks, t.invariant_checks,
              t.second_runs, t.superseded, static_cast<long long>(took.count()));
  // The run must really have exercised what it claims to.
  EXPECT_EQ(t.rounds, 3 * seeds.size());
  if (seeds.size() >= 100) {
    EXPECT_GT(t.crashes, seeds.size() / 4);
    EXPECT_GT(t.peer_timeouts, 0u);
    EXPECT_GT(t.converged_checks, seeds.size());
    EXPECT_GT(t.second_runs, seeds.size());
    EXPECT_GT(t.superseded, 0u);
  }
}

}  // namespace
}  // namespace tributary
