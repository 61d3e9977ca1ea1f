// Entity events and their JSON form (the one both RPC bindings and the persistor speak), and the
// datasource concept: the archetype models it, a look-alike without the tag does not.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include <tributary/ondemand/archetypes.hpp>
#include <tributary/ondemand/datasource.hpp>
#include <tributary/ondemand/event.hpp>

#include "support/common.hpp"

namespace tributary {
namespace {

using tributary::testing::contains;
using tributary::testing::thrown_by;

static_assert(datasource<archetypes::datasource>);
static_assert(datasource<any_datasource>);

// The right members without the opt-in tag: not a datasource.
struct look_alike {
  [[nodiscard]] std::string name() const { return "x"; }
  std::vector<entity_event> get_all(event_action) { return {}; }
  std::vector<entity_event> get_changes() { return {}; }
};
static_assert(!datasource<look_alike>);

// The tag without get_changes: not a datasource either.
struct half_datasource {
  using datasource_concept = datasource_tag;
  [[nodiscard]] std::string name() const { return "x"; }
  std::vector<entity_event> get_all(event_action) { return {}; }
};
static_assert(!datasource<half_datasource>);

entity_event sample() {
  entity_event e;
  e.datasource = "nova";
  e.entity_type = "instance \"quoted\"\n";
  e.entity_id = "i-1";
  e.action = event_action::delete_entity;
  e.sampled = sample_time(std::chrono::microseconds(1613692800123456));
  e.payload = R"({"name":"vm-1","tags":["a","b"],"n":3})";
  return e;
}

TEST(EntityEvent, RoundTripsThroughItsJson) {
  const entity_event e = sample();
  const std::string json = event_json(e);
  EXPECT_TRUE(contains(json, R"("action":"delete")"));
  EXPECT_TRUE(contains(json, R"("sample_time_us":1613692800123456)"));
  EXPECT_EQ(parse_event(json), e);
}

TEST(EntityEvent, EveryActionHasItsName) {
  for (const auto a : {event_action::init_snapshot, event_action::snapshot, event_action::update, event_action::delete_entity})
    EXPECT_EQ(parse_event_action(to_string(a)), a);
  EXPECT_FALSE(parse_event_action("DELETE"));
  EXPECT_FALSE(parse_event_action(""));
}

TEST(EntityEvent, RefusesBadInputNamingTheField) {
  const std::string good = event_json(sample());
  auto refused = [](const std::string& json) { return std::string(thrown_by([&] { (void)parse_event(json); }).what()); };
  EXPECT_TRUE(contains(refused("{\"datasource\":"), "invalid JSON"));
  EXPECT_TRUE(contains(refused("[1]"), "not a JSON object"));
  std::string s = good;
  s.replace(s.find("\"nova\""), 6, "7");
  EXPECT_TRUE(contains(refused(s), "datasource must be a string"));
  s = good;
  s.replace(s.find("\"delete\""), 8, "\"remove\"");
  EXPECT_TRUE(contains(refused(s), "action must be one of"));
  s = good;
  s.replace(s.find("1613692800123456"), 16, "1.5");
  EXPECT_TRUE(contains(refused(s), "sample_time_us must be an integer"));
  s = good;
  s.replace(s.find(",\"payload\""), 0, ",\"extra\":1");
  EXPECT_TRUE(contains(refused(s), "unknown field \"extra\""));
  EXPECT_TRUE(contains(refused(R"({"datasource":"a","entity_type":"t","entity_id":"1","action":"update","payload":{}})"),
                       "lacks \"sample_time_us\""));
  EXPECT_TRUE(contains(refused(R"({"datasource":"a","entity_type":"t","entity_id":"","action":"update","sample_time_us":1,"payload":{}})"),
                       "entity_id must not be empty"));
  EXPECT_EQ(thrown_by([] { (void)parse_event("nope"); }).code(), errc::bad_document);
}

struct counting_source {
  using datasource_concept = datasource_tag;
  int* calls;
  [[nodiscard]] std::string name() const { return "counting"; }
  std::vector<entity_event> get_all(event_action a) {
    ++*calls;
    entity_event e;
    e.datasource = "counting";
    e.entity_id = "1";
    e.action = a;
    return {e};
  }
  std::vector<entity_event> get_changes() { return {}; }
};

TEST(AnyDatasource, ForwardsToTheDatasourceItHolds) {
  int calls = 0;
  any_datasource d(counting_source{&calls});
  EXPECT_EQ(d.name(), "counting");
  const auto events = d.get_all(event_action::snapshot);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, event_action::snapshot);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(d.get_changes().empty());
}

}  // namespace
}  // namespace tributary
