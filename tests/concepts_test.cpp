// The policy concepts: every archetype and every shipped policy models its concept, and a look-alike
// that has every member but not the opt-in tag is rejected. All of it is decided at compile time; the
// runtime tests below only exercise the archetypes through the host so that they are not dead code.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <tributary/collector/archetypes.hpp>
#include <tributary/all.hpp>

#if __has_include(<tributary/index/sqlite.hpp>)
#include <tributary/index/sqlite.hpp>
#define TRIBUTARY_TEST_HAS_SQLITE 1
#endif

namespace tributary {
namespace {

// ---- archetypes model their concepts ----------------------------------------------------------------

static_assert(transport<archetypes::transport>);
static_assert(streaming_transport<archetypes::streaming_transport>);
static_assert(transport<archetypes::streaming_transport>, "a streaming transport is a transport");
static_assert(!streaming_transport<archetypes::transport>, "streaming is optional");
static_assert(index_backend<archetypes::index_backend>);
static_assert(merge_strategy<archetypes::merge_strategy>);
static_assert(wait_strategy<archetypes::wait_strategy>);
static_assert(clock<archetypes::clock>);
static_assert(source<archetypes::source, archetypes::transport>);
static_assert(source<archetypes::source, loopback_transport>);

// ---- shipped policies model their concepts ----------------------------------------------------------

static_assert(transport<loopback_transport>);
static_assert(streaming_transport<loopback_transport>);
static_assert(index_backend<memory_index>);
#ifdef TRIBUTARY_TEST_HAS_SQLITE
static_assert(index_backend<sqlite_index>);
#endif
static_assert(merge_strategy<environment_union>);
static_assert(merge_strategy<prefer_local>);
static_assert(wait_strategy<fixed_interval>);
static_assert(wait_strategy<exponential_backoff>);
static_assert(wait_strategy<no_wait>);
static_assert(clock<manual_clock>);
static_assert(clock<wall_clock>);
static_assert(source<in_process_source, loopback_transport>);
static_assert(source<in_process_source, archetypes::transport>);

// ---- look-alikes: every member, no opt-in tag -------------------------------------------------------

struct transport_lookalike {
  http_response perform(http_request) { return {}; }
  template <class F>
  void perform_all(std::vector<http_request>, F&&) {}
};
static_assert(!transport<transport_lookalike>);

struct streaming_transport_lookalike : transport_lookalike {
  template <class G, class F>
  void perform_stream(G&&, F&&) {}
};
static_assert(!streaming_transport<streaming_transport_lookalike>, "perform_stream alone does not opt in");

struct index_backend_lookalike {
  void create_index(std::string_view) {}
  [[nodiscard]] bool index_exists(std::string_view) const { return false; }
  bulk_result bulk_write(std::string_view, std::span<const stored_document>) { return {}; }
  [[nodiscard]] std::vector<std::optional<std::string>> get(std::string_view, std::span<const std::string>) const {
    return {};
  }
  [[nodiscard]] scan_page scan(std::string_view, std::string_view, std::size_t) const { return {}; }
  [[nodiscard]] std::vector<std::string> list_indices(std::string_view) const { return {}; }
  [[nodiscard]] std::vector<std::string> alias_targets(std::string_view) const { return {}; }
  [[nodiscard]] std::vector<alias_entry> aliases() const { return {}; }
  void update_aliases(std::span<const alias_action>) {}
  void delete_indices(std::span<const std::string>) {}
};
static_assert(!index_backend<index_backend_lookalike>);

struct merge_strategy_lookalike {
  using record_model = service_record;
  void merge(service&, const environment_entry&) const {}
  [[nodiscard]] std::optional<service> adopt(const service&, const environment_entry&) const { return {}; }
};
static_assert(!merge_strategy<merge_strategy_lookalike>);

struct wait_strategy_lookalike {
  struct schedule {
    [[nodiscard]] std::optional<std::chrono::system_clock::time_point> next(std::chrono::system_clock::time_point) const {
      return {};
    }
  };
  [[nodiscard]] schedule start(std::chrono::system_clock::time_point) const { return {}; }
};
static_assert(!wait_strategy<wait_strategy_lookalike>);

struct clock_lookalike {
  [[nodiscard]] std::chrono::system_clock::time_point now() const { return {}; }
  void sleep_until(std::chrono::system_clock::time_point) {}
};
static_assert(!clock<clock_lookalike>);

struct source_lookalike {
  using record_model = service_record;
  template <class Transport>
  std::vector<provider> list_providers(Transport&) {
    return {};
  }
  template <class Transport, class F>
  void collect(Transport&, std::span<const provider>, std::size_t, F&&) {}
};
static_assert(!source<source_lookalike, loopback_transport>);

// The look-alikes differ from models only by the tag: adding it makes each one a model, so the
// rejections above are about the tag and nothing else.
struct tagged_transport : transport_lookalike {
  using transport_concept = transport_tag;
};
struct tagged_index_backend : index_backend_lookalike {
  using index_backend_concept = index_backend_tag;
};
struct tagged_merge_strategy : merge_strategy_lookalike {
  using merge_strategy_concept = merge_strategy_tag;
};
struct tagged_wait_strategy : wait_strategy_lookalike {
  using wait_strategy_concept = wait_strategy_tag;
};
struct tagged_clock : clock_lookalike {
  using clock_concept = clock_tag;
};
struct tagged_source : source_lookalike {
  using source_concept = source_tag;
};
static_assert(transport<tagged_transport>);
static_assert(index_backend<tagged_index_backend>);
static_assert(merge_strategy<tagged_merge_strategy>);
static_assert(wait_strategy<tagged_wait_strategy>);
static_assert(clock<tagged_clock>);
static_assert(source<tagged_source, loopback_transport>);

// Another axis's tag does not open the door either.
struct merge_strategy_with_wrong_tag : merge_strategy_lookalike {
  using merge_strategy_concept = wait_strategy_tag;
};
static_assert(!merge_strategy<merge_strategy_with_wrong_tag>);
struct index_backend_with_wrong_member_name : index_backend_lookalike {
  using transport_concept = transport_tag;
};
static_assert(!index_backend<index_backend_with_wrong_member_name>);
static_assert(!transport<index_backend_with_wrong_member_name>);

// The tag alone is not enough: a member with the wrong signature is still rejected.
struct clock_with_tag_and_wrong_now {
  using clock_concept = clock_tag;
  [[nodiscard]] std::chrono::steady_clock::time_point now() const { return {}; }
  void sleep_until(std::chrono::system_clock::time_point) {}
};
static_assert(!clock<clock_with_tag_and_wrong_now>);
struct merge_strategy_with_tag_and_no_adopt {
  using merge_strategy_concept = merge_strategy_tag;
  using record_model = service_record;
  void merge(service&, const environment_entry&) const {}
};
static_assert(!merge_strategy<merge_strategy_with_tag_and_no_adopt>);

// A policy of one axis is not accidentally a policy of another.
static_assert(!index_backend<loopback_transport>);
static_assert(!transport<memory_index>);
static_assert(!wait_strategy<environment_union>);
static_assert(!merge_strategy<fixed_interval>);
static_assert(!clock<no_wait>);
static_assert(!source<memory_index, loopback_transport>);

// ---- refinements are claimed, never inferred from member names --------------------------------------

static_assert(normalizing_merge_strategy<environment_union> && adopt_into_merge_strategy<environment_union>);
static_assert(!local_environment_merge_strategy<environment_union>);
static_assert(normalizing_merge_strategy<prefer_local> && local_environment_merge_strategy<prefer_local> &&
              adopt_into_merge_strategy<prefer_local>);
static_assert(bounded_wait_strategy<fixed_interval> && bounded_wait_strategy<exponential_backoff>);
static_assert(bounded_wait_strategy<per_peer_deadline> && per_peer_wait_strategy<per_peer_deadline>);
static_assert(!bounded_wait_strategy<no_wait> && !per_peer_wait_strategy<fixed_interval>);
static_assert(!normalizing_merge_strategy<archetypes::merge_strategy> && !bounded_wait_strategy<archetypes::wait_strategy>);
static_assert(record_model<archetypes::record_model> && record_model<service_record>);

// Members of the right names and types without the refinement's tag: the collector leaves them alone.
struct merge_with_untagged_members : environment_union {
  using normalizing_merge_concept = void;
  using local_environment_concept = void;
  using adopt_into_concept = void;
  std::string local_environment;
};
static_assert(merge_strategy<merge_with_untagged_members>);
static_assert(!normalizing_merge_strategy<merge_with_untagged_members>);
static_assert(!local_environment_merge_strategy<merge_with_untagged_members>);
static_assert(!adopt_into_merge_strategy<merge_with_untagged_members>);
struct wait_with_untagged_bound : fixed_interval {
  using bounded_wait_concept = void;
};
static_assert(wait_strategy<wait_with_untagged_bound> && !bounded_wait_strategy<wait_with_untagged_bound>);
// A tag with the wrong member type is still refused.
struct bounded_wait_with_wrong_bound : archetypes::wait_strategy {
  using bounded_wait_concept = bounded_wait_tag;
  [[nodiscard]] std::string max_wait() const { return {}; }
};
static_assert(!bounded_wait_strategy<bounded_wait_with_wrong_bound>);
// A merge strategy over one record model and a source of another do not compose (basic_collector::run
// says so); a record model without its tag is no record model.
struct record_lookalike : archetypes::record_model {
  using record_model_concept = void;
};
static_assert(!record_model<record_lookalike>);

// The text refinements (peer_page_merger's fast path) are opt-in too: every member without the tag is
// no text model or text strategy, and a strategy over a model that cannot read text is none either.
static_assert(text_record_model<archetypes::text_record_model>);
static_assert(text_merge_strategy<archetypes::text_merge_strategy>);
static_assert(merge_strategy<archetypes::text_merge_strategy>, "a text merge strategy is a merge strategy");
static_assert(!text_record_model<archetypes::record_model> && !text_merge_strategy<archetypes::merge_strategy>,
              "text is optional");
static_assert(text_record_model<service_record>);
static_assert(text_merge_strategy<environment_union> && text_merge_strategy<prefer_local>);
struct text_record_lookalike : archetypes::text_record_model {
  using text_record_concept = void;
};
static_assert(record_model<text_record_lookalike> && !text_record_model<text_record_lookalike>);
struct text_merge_lookalike : archetypes::text_merge_strategy {
  using text_merge_concept = void;
};
static_assert(merge_strategy<text_merge_lookalike> && !text_merge_strategy<text_merge_lookalike>);
struct text_merge_over_plain_model : archetypes::text_merge_strategy {
  using record_model = archetypes::record_model;
};
static_assert(merge_strategy<text_merge_over_plain_model> && !text_merge_strategy<text_merge_over_plain_model>);

// ---- the archetypes compose into a host ------------------------------------------------------------

TEST(Concepts, ArchetypesComposeIntoACollectorThatRuns) {
  archetypes::transport transport;
  archetypes::index_backend store;
  collector_config config;
  config.environment = "dev";
  config.guard.allow_no_providers = true;  // the archetype source lists none; the guard would refuse that
  basic_collector<archetypes::transport, archetypes::index_backend, archetypes::merge_strategy,
                  archetypes::wait_strategy>
      collector(config, transport, store);
  archetypes::source source;
  archetypes::clock clock;
  const auto report = collector.run(source, clock);
  // The archetype store has no aliases and no documents: a run over no providers succeeds and names a
  // worker; that is all an archetype promises.
  EXPECT_TRUE(report.ok) << report.summary();
  EXPECT_EQ(report.environment, "dev");
  EXPECT_EQ(report.records, 0u);
  EXPECT_EQ(report.worker.rfind("apicatalogue-dev", 0), 0u) << report.worker;
}

TEST(Concepts, AMergerOverTheTextArchetypesTakesAndMergesAPage) {
  // The text path of peer_page_merger instantiated for a model that is not the catalogue's: a page of
  // documents read (declined as text, then parsed by the archetype parser, which finds no entries).
  const archetypes::text_merge_strategy strategy;
  peer_page_merger<archetypes::text_merge_strategy> merger(strategy, "staging", true);
  const std::vector<stored_document> page{{"a", "{}"}, {"b", "{}"}};
  const auto& ids = merger.take(std::span<const stored_document>(page));
  EXPECT_TRUE(ids.empty());
  const std::vector<std::optional<std::string>> none;
  EXPECT_TRUE(merger.merge(std::span<const std::optional<std::string>>(none)).empty());
  EXPECT_EQ(merger.totals().read, 2u);
}

}  // namespace
}  // namespace tributary
