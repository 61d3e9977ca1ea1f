// The collector service of ONDEMAND.md over real JSON-RPC 2.0 on loopback HTTP (basic_http_server and
// curl_transport): events and one outcome per datasource (a failed datasource is never left out),
// retry_on_fault, the time limit, datasources run concurrently, get_changes never during get_all of the
// same datasource, and bad input (malformed JSON, not a request, unknown method, unknown datasource,
// wrong types, oversized) answered with an error naming the problem; large answers in pages, each
// answered once, a streaming datasource held a page or two at a time, abandoned calls stopped.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <simdjson.h>

#include <tributary/clock/manual.hpp>
#include <tributary/execution/inline_executor.hpp>
#include <tributary/execution/timers.hpp>
#include <tributary/execution/thread_pool.hpp>
#include <tributary/index/memory.hpp>
#include <tributary/ondemand/consumer.hpp>
#include <tributary/ondemand/jsonrpc_http.hpp>
#include <tributary/ondemand/service.hpp>
#include <tributary/server/http_server.hpp>
#include <tributary/transport/curl.hpp>

#include "support/common.hpp"

namespace tributary {
namespace {

using namespace std::chrono_literals;
using tributary::testing::cat;
using tributary::testing::contains;

const curl_library& curl() {
  static const curl_library library;  // one per test process, as curl_global_init wants
  return library;
}
curl_options one_attempt() {
  curl_options o;
  o.max_attempts = 1;
  return o;
}

entity_event make_event(std::string ds, std::string id, event_action a, std::int64_t us = 1) {
  entity_event e;
  e.datasource = std::move(ds);
  e.entity_type = "thing";
  e.entity_id = std::move(id);
  e.action = a;
  e.sampled = sample_time(std::chrono::microseconds(us));
  e.payload = "{\"id\":\"" + e.entity_id + "\"}";
  return e;
}

/// A gate a test opens; waits are bounded so that a broken test fails instead of hanging.
class gate {
 public:
  void open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  bool wait(std::chrono::seconds bound = 30s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, bound, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

/// A datasource whose calls the test scripts; counts calls and how many ran at once.
struct scripted_source {
  using datasource_concept = datasource_tag;
  std::string name_;
  std::function<std::vector<entity_event>(event_action)> all;
  std::function<std::vector<entity_event>()> changes = [] { return std::vector<entity_event>{}; };
  std::atomic<int> in_flight{0}, most_in_flight{0}, all_calls{0}, change_calls{0};

  [[nodiscard]] std::string name() const { return name_; }
  std::vector<entity_event> get_all(event_action a) {
    ++all_calls;
    const guard g(*this);
    return all(a);
  }
  std::vector<entity_event> get_changes() {
    ++change_calls;
    const guard g(*this);
    return changes();
  }
  struct guard {
    explicit guard(scripted_source& s) : s(s) {
      const int now = ++s.in_flight;
      int seen = s.most_in_flight.load();
      while (now > seen && !s.most_in_flight.compare_exchange_weak(seen, now)) {}
    }
    ~guard() { --s.in_flight; }
    scripted_source& s;
  };
};

std::shared_ptr<scripted_source> source_of(std::string name, std::size_t n) {
  auto s = std::make_shared<scripted_source>();
  s->name_ = name;
  s->all = [name, n](event_action a) {
    std::vector<entity_event> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(make_event(name, cat(name, "-", std::to_string(i)), a));
    return out;
  };
  return s;
}

using service_type = basic_datasource_service<thread_pool, memory_index>;

/// Every page of a call from its first answer on; the pages' answers in order.
template <class Client>
std::vector<ondemand_answer> all_pages(Client& client, ondemand_answer first) {
  std::vector<ondemand_answer> pages;
  pages.push_back(std::move(first));
  while (!pages.back().next.empty()) pages.push_back(client.get_page(pages.back().next));
  return pages;
}


/// A service on a pool, served over HTTP on loopback, and a client over curl.
struct served {
  explicit served(datasource_service_options o = {}, server_options so = {})
      : service(datasource_pool, persistor, o), http(http_pool, jsonrpc_http_handler(service), so) {}
  http_response post(std::string body, std::string path = "/rpc") {
    http_request r;
    r.method = "POST";
    r.url = cat("http://127.0.0.1:", std::to_string(port), path);
    r.headers = {{"Content-Type", "application/json"}};
    r.body = std::move(body);
    return raw.perform(std::move(r));
  }
  /// The error object of an answer: code and message.
  static std::pair<std::int64_t, std::string> error_of(const http_response& r) {
    simdjson::dom::parser p;
    auto doc = p.parse(simdjson::padded_string(r.body));
    std::int64_t code = doc["error"]["code"].get_int64().value();
    std::string message(doc["error"]["message"].get_string().value());
    return {code, message};
  }

  memory_index store;
  basic_event_persistor<memory_index> persistor{store, {}};
  thread_pool datasource_pool{4, 64};
  thread_pool http_pool{4, 64};
  service_type service;
  basic_http_server<jsonrpc_http_handler<service_type>> http;
  std::uint16_t port = http.start();  // members start in this order: the client needs the url
  std::string url = cat("http://127.0.0.1:", std::to_string(port), "/rpc");
  curl_transport transport{curl(), one_attempt()};
  curl_transport raw{curl(), one_attempt()};
  basic_jsonrpc_http_client<curl_transport> client{transport, {.url = url}};
};

TEST(DatasourceService, AnswersEventsAndOneOutcomePerDatasourceOverHttp) {
  served s;
  s.service.add(any_datasource(source_of("nova", 3)));
  s.service.add(any_datasource(source_of("neutron", 2)));
  const ondemand_answer a = s.client.get_all({"nova", "neutron"}, event_action::init_snapshot, false);
  ASSERT_EQ(a.outcomes.size(), 2u);
  EXPECT_EQ(a.outcomes[0], (datasource_outcome{"nova", outcome_status::ok, "", 3}));
  EXPECT_EQ(a.outcomes[1], (datasource_outcome{"neutron", outcome_status::ok, "", 2}));
  ASSERT_EQ(a.events.size(), 5u);
  for (const auto& e : a.events) EXPECT_EQ(e.action, event_action::init_snapshot);
  // The datasources run concurrently and their events come as they are made: each datasource's in
  // its own order.
  std::vector<entity_event> nova, neutron;
  for (const auto& e : a.events) (e.datasource == "nova" ? nova : neutron).push_back(e);
  ASSERT_EQ(nova.size(), 3u);
  ASSERT_EQ(neutron.size(), 2u);
  EXPECT_EQ(nova[0], make_event("nova", "nova-0", event_action::init_snapshot));
  EXPECT_EQ(nova[2].entity_id, "nova-2");
  EXPECT_EQ(neutron[1].entity_id, "neutron-1");

  // An empty list asks every datasource; a name asked twice runs once.
  EXPECT_EQ(s.client.get_all({}, event_action::snapshot, false).outcomes.size(), 2u);
  EXPECT_EQ(s.client.get_all({"nova", "nova"}, event_action::snapshot, false).events.size(), 3u);
  EXPECT_EQ(s.service.stats().calls, 3u);
}

TEST(DatasourceService, AFailedDatasourceIsReportedNotDropped) {
  served s;
  s.service.add(any_datasource(source_of("nova", 2)));
  auto broken = std::make_shared<scripted_source>();
  broken->name_ = "neutron";
  broken->all = [](event_action) -> std::vector<entity_event> { throw std::runtime_error("neutron API refused: 503"); };
  s.service.add(any_datasource(broken));
  const ondemand_answer a = s.client.get_all({"neutron", "nova"}, event_action::snapshot, false);
  ASSERT_EQ(a.outcomes.size(), 2u);
  EXPECT_EQ(a.outcomes[0].status, outcome_status::failed);
  EXPECT_EQ(a.outcomes[0].reason, "neutron API refused: 503");
  EXPECT_EQ(a.outcomes[1].status, outcome_status::ok);
  EXPECT_EQ(a.events.size(), 2u);
  EXPECT_FALSE(a.all_ok());
  EXPECT_EQ(s.service.stats().failed_outcomes, 1u);
}

TEST(DatasourceService, RetryOnFaultRetriesAFailedGetAll) {
  served s({.fault_retries = 2});
  auto flaky = std::make_shared<scripted_source>();
  flaky->name_ = "flaky";
  std::atomic<int> failures_left{2};
  flaky->all = [&](event_action a) -> std::vector<entity_event> {
    if (failures_left-- > 0) throw std::runtime_error("transient");
    return {make_event("flaky", "1", a)};
  };
  s.service.add(any_datasource(flaky));
  const auto without = s.client.get_all({"flaky"}, event_action::snapshot, false);
  EXPECT_EQ(without.outcomes[0].status, outcome_status::failed);
  EXPECT_EQ(flaky->all_calls.load(), 1);
  failures_left = 2;
  const auto with = s.client.get_all({"flaky"}, event_action::snapshot, true);
  EXPECT_EQ(with.outcomes[0].status, outcome_status::ok);
  EXPECT_EQ(with.events.size(), 1u);
  EXPECT_EQ(flaky->all_calls.load(), 4);  // 1 + the three of the retried call
}

TEST(DatasourceService, ADatasourcePastItsTimeLimitIsTimedOutAndTheOthersAnswer) {
  gate release;  // before the service: its late call still waits on it while the pool drains
  served s({.time_limit = 200ms});
  auto slow = std::make_shared<scripted_source>();
  slow->name_ = "slow";
  slow->all = [&](event_action a) -> std::vector<entity_event> {
    release.wait();  // until the test has its answer: never within the limit
    return {make_event("slow", "late", a)};
  };
  s.service.add(any_datasource(slow));
  s.service.add(any_datasource(source_of("fast", 1)));
  // The first page may leave before the slow one's limit (its own wait ends first): the outcomes are on
  // the last page.
  auto pages = all_pages(s.client, s.client.get_all({"slow", "fast"}, event_action::snapshot, false));
  release.open();
  ondemand_answer a = std::move(pages.back());
  for (std::size_t i = 0; i + 1 < pages.size(); ++i) a.events.insert(a.events.end(), pages[i].events.begin(), pages[i].events.end());
  ASSERT_EQ(a.outcomes.size(), 2u);
  EXPECT_EQ(a.outcomes[0].status, outcome_status::timed_out);
  EXPECT_TRUE(contains(a.outcomes[0].reason, "200 ms"));
  EXPECT_EQ(a.outcomes[1].status, outcome_status::ok);
  ASSERT_EQ(a.events.size(), 1u);
  EXPECT_EQ(a.events[0].datasource, "fast");
}

TEST(DatasourceService, RunsTheNamedDatasourcesConcurrently) {
  // Each datasource waits until the other has started: only concurrent calls both answer.
  served s({.time_limit = 20s});
  std::atomic<int> started{0};
  gate both;
  auto meet = [&](std::string name) {
    auto d = std::make_shared<scripted_source>();
    d->name_ = name;
    d->all = [&, name](event_action a) {
      if (++started == 2) both.open();
      if (!both.wait()) throw std::runtime_error("the other datasource never started");
      return std::vector<entity_event>{make_event(name, "1", a)};
    };
    return d;
  };
  s.service.add(any_datasource(meet("a")));
  s.service.add(any_datasource(meet("b")));
  const auto a = s.client.get_all({"a", "b"}, event_action::snapshot, false);
  EXPECT_TRUE(a.all_ok());
  EXPECT_EQ(a.events.size(), 2u);
}

TEST(DatasourceService, GetChangesIsRefusedWhileGetAllOfTheDatasourceRuns) {
  gate entered, release;
  served s({.time_limit = 20s});
  auto d = std::make_shared<scripted_source>();
  d->name_ = "nova";
  d->all = [&](event_action a) {
    entered.open();
    release.wait();
    return std::vector<entity_event>{make_event("nova", "1", a)};
  };
  d->changes = [] { return std::vector<entity_event>{make_event("nova", "1", event_action::update, 2)}; };
  s.service.add(any_datasource(d));
  s.service.add(any_datasource(source_of("other", 0)));
  auto all = std::async(std::launch::async, [&] { return s.service.get_all({"nova"}, event_action::snapshot, false); });
  ASSERT_TRUE(entered.wait());
  const auto during = s.client.get_changes({"nova", "other"});
  ASSERT_EQ(during.outcomes.size(), 2u);
  EXPECT_EQ(during.outcomes[0].status, outcome_status::busy);
  EXPECT_TRUE(contains(during.outcomes[0].reason, "get_all"));
  EXPECT_EQ(during.outcomes[1].status, outcome_status::ok);  // another datasource is not held up
  EXPECT_EQ(d->change_calls.load(), 0);
  release.open();
  EXPECT_TRUE(all.get().all_ok());
  const auto after = s.client.get_changes({"nova"});
  EXPECT_EQ(after.outcomes[0].status, outcome_status::ok);
  EXPECT_EQ(after.events.size(), 1u);
}

TEST(DatasourceService, CallsOfOneDatasourceNeverOverlapUnderConcurrentCallers) {
  // Found once under ThreadSanitizer: a get_changes waiting for another get_changes started after a
  // get_all that got in meanwhile. More rounds and yields inside the calls widen those windows.
  served s({.time_limit = 20s});
  auto d = source_of("nova", 5);
  d->all = [inner = d->all](event_action a) {
    std::this_thread::yield();
    return inner(a);
  };
  d->changes = [] {
    std::this_thread::yield();
    return std::vector<entity_event>{make_event("nova", "1", event_action::update)};
  };
  s.service.add(any_datasource(d));
  std::vector<std::thread> callers;
  std::atomic<int> answered{0};
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const auto a = (t + i) % 2 ? s.service.get_changes({"nova"}) : s.service.get_all({"nova"}, event_action::snapshot, false);
        const auto status = a.outcomes.at(0).status;
        if (status == outcome_status::ok || status == outcome_status::busy) ++answered;
      }
    });
  for (auto& c : callers) c.join();
  EXPECT_EQ(answered.load(), 800);
  EXPECT_EQ(d->most_in_flight.load(), 1);
}

TEST(DatasourceSlot, AGetChangesWaitingForAnotherIsRefusedWhenAGetAllStartsMeanwhile) {
  // The interleaving the test above found once under ThreadSanitizer, set up on the slot directly.
  auto d = source_of("nova", 1);
  detail::datasource_slot slot{any_datasource(d)};
  {
    std::lock_guard lock(slot.mu);
    slot.get_changes_running = true;  // another get_changes runs
  }
  detail::call_stream stream({"nova"}, 16, 20s);
  auto waiting = std::async(std::launch::async, [&] {
    detail::run_on_slot(slot, stream, 0, ondemand_method::get_changes, event_action::update, 1, std::chrono::steady_clock::now() + 20s);
  });
  std::this_thread::sleep_for(50ms);  // lets it reach its wait; what is asserted holds however it is scheduled
  {
    std::lock_guard lock(slot.mu);
    slot.get_changes_running = false;  // that one ends, and a get_all gets the datasource first
    slot.get_all_running = true;
  }
  slot.idle.notify_all();
  waiting.get();
  const auto page = stream.take(16, 1 << 20, 1s);
  ASSERT_TRUE(page.last);
  ASSERT_EQ(page.outcomes.size(), 1u);
  EXPECT_EQ(page.outcomes[0].status, outcome_status::busy);
  EXPECT_TRUE(page.events.empty());
  EXPECT_EQ(d->change_calls.load(), 0);
}

TEST(DatasourceService, BadRequestsAreAnsweredWithAnErrorNamingTheProblem) {
  served s({.max_request_bytes = 4096}, {.max_body_bytes = 8192});
  s.service.add(any_datasource(source_of("nova", 1)));
  auto expect_error = [&](const std::string& body, std::int64_t code, std::string_view named) {
    const http_response r = s.post(body);
    ASSERT_EQ(r.status, 200) << body;
    const auto [got, message] = served::error_of(r);
    EXPECT_EQ(got, code) << body << " -> " << r.body;
    EXPECT_TRUE(contains(message, named)) << body << " -> " << message;
  };
  expect_error(R"({"jsonrpc":"2.0","id":1,"method":"get_all",)", rpc_code::parse_error, "parse error");
  expect_error(R"("get_all")", rpc_code::invalid_request, "JSON object");
  expect_error(R"({"jsonrpc":"2.0","id":1,"method":"get_page","params":{}})", rpc_code::invalid_params, "cursor is required");
  expect_error(R"({"jsonrpc":"2.0","id":1,"method":"get_page","params":{"cursor":"a b"}})", rpc_code::invalid_params, "cursor must hold");
  expect_error(R"({"jsonrpc":"2.0","id":1,"method":"get_page","params":{"cursor":7}})", rpc_code::invalid_params, "cursor must be a string");
  expect_error(R"({"jsonrpc":"2.0","id":1,"method":"get_page","params":{"cursor":"x-2","more":1}})", rpc_code::invalid_params, "unknown parameter \"more\"");
  expect_error(R"({"jsonrpc":"2.0","id":1,"method":"get_page","params":["abc"]})", rpc_code::invalid_params, "not one this service wrote");
  expect_error(R"({"jsonrpc":"1.0","id":1,"method":"get_all","params":{}})", rpc_code::invalid_request, "\"2.0\"");
  expect_error(R"({"jsonrpc":"2.0","id":{},"method":"get_all"})", rpc_code::invalid_request, "id must be");
  expect_error(R"({"jsonrpc":"2.0","id":1,"method":"drop_all","params":{"datasource_names":[]}})", rpc_code::method_not_found,
               "\"drop_all\"");
  expect_error(R"({"jsonrpc":"2.0","id":1,"method":"get_all","params":{"datasource_names":["nova","cinder"]}})",
               rpc_code::invalid_params, "unknown datasource \"cinder\"");
  expect_error(R"({"jsonrpc":"2.0","id":1,"method":"get_all","params":{"datasource_names":"nova"}})", rpc_code::invalid_params,
               "datasource_names must be an array");
  expect_error(R"({"jsonrpc":"2.0","id":1,"method":"get_all","params":{"datasource_names":[1]}})", rpc_code::invalid_params,
               "array of strings");
  expect_error(R"({"jsonrpc":"2.0","id":1,"method":"get_all","params":{"datasource_names":[],"retry_on_fault":"yes"}})",
               rpc_code::invalid_params, "retry_on_fault must be a boolean");
  expect_error(R"({"jsonrpc":"2.0","id":1,"method":"get_all","params":{"datasource_names":[],"action":"update"}})",
               rpc_code::invalid_params, "action must be");
  expect_error(R"({"jsonrpc":"2.0","id":1,"method":"get_changes","params":{"datasource_names":[],"action":"snapshot"}})",
               rpc_code::invalid_params, "unknown parameter \"action\"");
  expect_error(R"({"jsonrpc":"2.0","id":1,"method":"get_all"})", rpc_code::invalid_params, "datasource_names");
  expect_error(R"({"jsonrpc":"2.0","id":1,"method":"get_all","params":{"datasource_names":[]},"extra":1})",
               rpc_code::invalid_request, "unknown member \"extra\"");
  expect_error(cat(R"({"jsonrpc":"2.0","id":1,"method":"get_all","params":{"datasource_names":[")", std::string(5000, 'x'), "\"]}}"),
               rpc_code::invalid_request, "over the limit of 4096");
  // Over the HTTP server's limit: refused before the body is read.
  EXPECT_EQ(s.post(std::string(9000, ' ')).status, 413);
  EXPECT_EQ(s.service.stats().calls, 0u);  // nothing ran
  EXPECT_EQ(s.persistor.stats().queued, 0u);

  // The client sees an error answer as rpc_error with its code.
  try {
    (void)s.client.get_all({"cinder"}, event_action::snapshot, false);
    ADD_FAILURE() << "no rpc_error";
  } catch (const rpc_error& e) {
    EXPECT_EQ(e.rpc_code(), rpc_code::invalid_params);
    EXPECT_TRUE(contains(e.what(), "cinder"));
  }
}

TEST(DatasourceService, ServesPositionalParamsBatchesAndNotifications) {
  served s;
  s.service.add(any_datasource(source_of("nova", 1)));
  const http_response positional = s.post(R"({"jsonrpc":"2.0","id":"p","method":"get_all","params":[["nova"],"init_snapshot",true]})");
  ASSERT_EQ(positional.status, 200);
  EXPECT_EQ(parse_jsonrpc_answer(positional.body, "p").events.at(0).action, event_action::init_snapshot);

  const http_response batch = s.post(R"([{"jsonrpc":"2.0","id":1,"method":"get_changes","params":{"datasource_names":["nova"]}},
                                          {"jsonrpc":"2.0","method":"get_changes","params":{"datasource_names":["nova"]}},
                                          {"jsonrpc":"2.0","id":3,"method":"nope","params":[]}])");
  ASSERT_EQ(batch.status, 200);
  simdjson::dom::parser p;
  simdjson::dom::array answers = p.parse(simdjson::padded_string(batch.body)).get_array().value();
  EXPECT_EQ(answers.size(), 2u);  // the notification is not answered
  EXPECT_EQ(s.post(R"({"jsonrpc":"2.0","method":"get_changes","params":{"datasource_names":["nova"]}})").status, 204);
  EXPECT_EQ(served::error_of(s.post("[]")).first, rpc_code::invalid_request);

  http_request get;
  get.url = s.url;
  const http_response not_post = s.raw.perform(std::move(get));
  EXPECT_EQ(not_post.status, 405);
  EXPECT_EQ(not_post.header("Allow"), "POST");
  EXPECT_EQ(s.post("{}", "/other").status, 404);
}

TEST(DatasourceService, EveryAnsweredEventGoesToThePersistorBeforeTheAnswer) {
  served s;
  s.service.add(any_datasource(source_of("nova", 3)));
  (void)s.client.get_all({"nova"}, event_action::snapshot, false);
  EXPECT_EQ(s.persistor.stats().queued, 3u);  // queued before the answer was sent
  EXPECT_EQ(s.persistor.write_queued(), 3u);
  const auto stored = s.store.scan(s.persistor.index(), "", 100);
  ASSERT_EQ(stored.documents.size(), 3u);
  EXPECT_EQ(parse_event(stored.documents[0].json), make_event("nova", "nova-0", event_action::snapshot));

  http_request m;
  m.url = cat("http://127.0.0.1:", std::to_string(s.port), "/metrics");
  const http_response metrics = s.raw.perform(std::move(m));
  EXPECT_EQ(metrics.status, 200);
  EXPECT_TRUE(contains(metrics.body, "tributary_ondemand_events_total 3\n"));
  EXPECT_TRUE(contains(metrics.body, "tributary_ondemand_persistor_written_total 3\n"));
}

TEST(DatasourceService, ActiveActiveAServiceStoppedMidCallLosesNothing) {
  // Two collector services over HTTP; the one the client asks first is stopped while it runs the
  // call (its connection cut): the client's call is answered by the other.
  gate entered, release;
  served a({}, {.stop_timeout = 100ms});
  served b;
  auto stuck = std::make_shared<scripted_source>();
  stuck->name_ = "nova";
  stuck->all = [&](event_action act) {
    entered.open();
    release.wait();
    return std::vector<entity_event>{make_event("nova", "from-a", act)};
  };
  a.service.add(any_datasource(stuck));
  auto from_b = std::make_shared<scripted_source>();
  from_b->name_ = "nova";
  from_b->all = [](event_action act) { return std::vector<entity_event>{make_event("nova", "from-b", act)}; };
  b.service.add(any_datasource(from_b));
  curl_transport transport(curl(), one_attempt());
  basic_jsonrpc_http_client client(transport, {.url = a.url, .fallback_urls = {b.url}});
  auto call = std::async(std::launch::async, [&] { return client.get_all({"nova"}, event_action::snapshot, false); });
  ASSERT_TRUE(entered.wait());
  std::thread stopper([&] { a.http.stop(); });  // cuts the call's connection after stop_timeout
  const ondemand_answer answer = call.get();
  release.open();
  stopper.join();
  ASSERT_EQ(answer.events.size(), 1u);
  EXPECT_EQ(answer.events[0].entity_id, "from-b");
  EXPECT_EQ(client.failovers(), 1u);
  // The next call starts with the service that answered last.
  EXPECT_EQ(client.get_all({"nova"}, event_action::snapshot, false).events.at(0).entity_id, "from-b");
  EXPECT_EQ(client.failovers(), 1u);
}

TEST(DatasourceService, NoServiceAnsweringIsAnErrorNamingEach) {
  curl_transport transport(curl(), one_attempt());
  const std::string dead1 = cat("http://127.0.0.1:", std::to_string(tributary::testing::closed_port()), "/rpc");
  const std::string dead2 = cat("http://127.0.0.1:", std::to_string(tributary::testing::closed_port()), "/rpc");
  basic_jsonrpc_http_client client(transport, {.url = dead1, .fallback_urls = {dead2}});
  const error e = tributary::testing::thrown_by([&] { (void)client.get_changes({"nova"}); });
  EXPECT_EQ(e.code(), errc::transport_failed);
  EXPECT_TRUE(contains(e.what(), dead1)) << e.what();
  EXPECT_TRUE(contains(e.what(), dead2)) << e.what();
  EXPECT_EQ(client.failovers(), 2u);
}

/// Answers every request with a proxy's error page: HTML over several lines, longer than a message takes.
struct error_page_handler {
  using request_handler_concept = request_handler_tag;
  server_response handle(server_request&) {
    std::string page = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n\t<body>\n";
    // On one line the three breaks take a byte each: 199 bytes, then a character across byte 200.
    page += std::string(199 - (page.size() - 3), 'x');
    page += "\xc3\xa9\xc3\xa9 and more\n</body></html>\n";
    return server_response::text(502, std::move(page), "text/html");
  }
};

TEST(DatasourceService, AnErrorPageIsToldOnOneLineOfWholeCharacters) {
  // The failure goes to the consumer's log line and to its JSON report: no line break, valid UTF-8.
  thread_pool pool(1, 4);
  basic_http_server http(pool, error_page_handler{});
  const auto port = http.start();
  curl_transport transport(curl(), one_attempt());
  basic_jsonrpc_http_client client(transport, {.url = cat("http://127.0.0.1:", std::to_string(port), "/rpc")});
  const error e = tributary::testing::thrown_by([&] { (void)client.get_changes({"nova"}); });
  const std::string what = e.what();
  EXPECT_TRUE(contains(what, "HTTP 502: <html> <head><title>502 Bad Gateway</title></head> <body> xxx")) << what;
  EXPECT_EQ(what.find_first_of("\r\n\t"), std::string::npos) << what;
  EXPECT_TRUE(simdjson::validate_utf8(what.data(), what.size())) << what;
  EXPECT_TRUE(contains(what, "x...")) << what;  // cut before the character that would not fit whole
  http.stop();
}

/// A streaming datasource of n events that records how far ahead of the reader it got and whether its
/// sink ever refused an event.
struct counting_stream {
  using datasource_concept = datasource_tag;
  using streaming_datasource_concept = streaming_datasource_tag;
  std::string name_ = "big";
  std::size_t n = 0;
  std::function<void(std::size_t)> before_push = [](std::size_t) {};
  std::atomic<std::size_t> pushed{0};
  std::atomic<bool> refused{false}, returned{false};
  std::atomic<int> get_all_calls{0};

  [[nodiscard]] std::string name() const { return name_; }
  std::vector<entity_event> get_all(event_action) {
    ++get_all_calls;  // the service must stream instead
    return {};
  }
  std::vector<entity_event> get_changes() { return {}; }
  void stream_all(event_action a, event_sink& sink) {
    for (std::size_t i = 0; i < n; ++i) {
      before_push(i);
      if (!sink.push(make_event("wrong-name", cat("e-", std::to_string(i)), a))) {
        refused = true;
        break;
      }
      ++pushed;
    }
    returned = true;
  }
};
static_assert(streaming_datasource<counting_stream>);


TEST(DatasourceService, AnAnswerLargerThanAPageComesInPagesEachAnsweredOnce) {
  served s({.page_events = 3});
  s.service.add(any_datasource(source_of("nova", 10)));
  s.service.add(any_datasource(source_of("neutron", 0)));
  const auto pages = all_pages(s.client, s.client.get_all({"nova", "neutron"}, event_action::snapshot, false));
  ASSERT_EQ(pages.size(), 4u);  // 3 + 3 + 3 + 1
  std::size_t i = 0;
  std::uint64_t next_persisted = pages[0].persisted.value().first;
  for (const auto& p : pages) {
    // Outcomes only on the last page; each page says where its own events were persisted.
    EXPECT_EQ(p.outcomes.empty(), !p.next.empty());
    ASSERT_TRUE(p.persisted);
    EXPECT_EQ(p.persisted->first, next_persisted);
    EXPECT_EQ(p.persisted->count, p.events.size());
    next_persisted += p.events.size();
    for (const auto& e : p.events) EXPECT_EQ(e.entity_id, cat("nova-", std::to_string(i++)));
  }
  EXPECT_EQ(i, 10u);
  ASSERT_EQ(pages.back().outcomes.size(), 2u);
  EXPECT_EQ(pages.back().outcomes[0], (datasource_outcome{"nova", outcome_status::ok, "", 10}));
  EXPECT_EQ(pages.back().outcomes[1], (datasource_outcome{"neutron", outcome_status::ok, "", 0}));
  EXPECT_EQ(s.persistor.stats().queued, 10u);
  EXPECT_EQ(s.service.stats().calls, 1u);
  EXPECT_EQ(s.service.stats().pages, 4u);

  // A page is answered once; a cursor of a finished call, or one never written, is unknown.
  const error again = tributary::testing::thrown_by([&] { (void)s.client.get_page(pages[1].next); });
  EXPECT_TRUE(contains(again.what(), "unknown cursor")) << again.what();
  const auto second = s.client.get_all({"nova"}, event_action::snapshot, false);
  (void)s.client.get_page(second.next);
  const error twice = tributary::testing::thrown_by([&] { (void)s.client.get_page(second.next); });
  EXPECT_TRUE(contains(twice.what(), "not the call's next page")) << twice.what();
  const error unknown = tributary::testing::thrown_by([&] { (void)s.client.get_page("0123456789abcdef-2"); });
  EXPECT_TRUE(contains(unknown.what(), "unknown cursor \"0123456789abcdef-2\"")) << unknown.what();
}

TEST(DatasourceService, AStreamingDatasourceIsHeldThreePagesAtATimeAtMost) {
  served s({.page_events = 100});
  auto big = std::make_shared<counting_stream>();
  big->n = 5'000;
  s.service.add(any_datasource(big));
  auto answer = s.client.get_all({"big"}, event_action::init_snapshot, false);
  std::size_t received = 0, pages = 0;
  for (;;) {
    received += answer.events.size();
    ++pages;
    for (const auto& e : answer.events) ASSERT_EQ(e.datasource, "big");  // the service names its datasource
    // While the reader holds this page, the next one is made ahead (read_ahead.hpp) and the datasource
    // waits on a full buffer of one more page.
    if (!answer.next.empty()) {
      std::this_thread::sleep_for(2ms);
      EXPECT_LE(big->pushed.load(), received + 2 * 100 + 1) << "page " << pages;
    }
    if (answer.next.empty()) break;
    answer = s.client.get_page(answer.next);
  }
  EXPECT_EQ(received, 5'000u);
  EXPECT_GE(pages, 50u);
  EXPECT_LE(pages, 51u);  // the outcomes may come on a page of their own, when the 50th filled first
  EXPECT_EQ(answer.outcomes.at(0), (datasource_outcome{"big", outcome_status::ok, "", 5'000}));
  EXPECT_EQ(big->get_all_calls.load(), 0);
  EXPECT_FALSE(big->refused.load());
}

TEST(DatasourceService, PagesComeBySizeInBytesToo) {
  served s({.page_events = 1'000, .page_bytes = 1'000});
  s.service.add(any_datasource(source_of("nova", 40)));
  const auto pages = all_pages(s.client, s.client.get_all({"nova"}, event_action::snapshot, false));
  std::size_t events = 0;
  for (const auto& p : pages) {
    events += p.events.size();
    std::string text;
    append_answer_json(text, p);
    EXPECT_LT(text.size(), 1'000u + 400u) << "a page may pass page_bytes by one event at most";
  }
  EXPECT_EQ(events, 40u);
  EXPECT_GT(pages.size(), 3u);
}

TEST(DatasourceService, ACallNobodyReadsOnIsAbandonedAndItsDatasourceStops) {
  served s({.page_events = 10, .page_ttl = 100ms});
  auto big = std::make_shared<counting_stream>();
  big->n = 1'000;
  s.service.add(any_datasource(big));
  const auto first = s.client.get_all({"big"}, event_action::snapshot, false);
  ASSERT_FALSE(first.next.empty());
  std::this_thread::sleep_for(300ms);
  // Any call looks for abandoned ones first.
  (void)s.client.get_changes({"big"});
  for (int i = 0; i < 500 && !big->returned.load(); ++i) std::this_thread::sleep_for(2ms);
  EXPECT_TRUE(big->returned.load());
  EXPECT_TRUE(big->refused.load());
  EXPECT_LT(big->pushed.load(), 1'000u);
  EXPECT_EQ(s.service.stats().abandoned, 1u);
  const error e = tributary::testing::thrown_by([&] { (void)s.client.get_page(first.next); });
  EXPECT_TRUE(contains(e.what(), "unknown cursor")) << e.what();
  // The datasource is free again: a new get_all runs whole.
  const auto pages = all_pages(s.client, s.client.get_all({"big"}, event_action::snapshot, false));
  EXPECT_EQ(pages.back().outcomes.at(0).status, outcome_status::ok);
}

TEST(DatasourceService, GetChangesIsRefusedWhileThePagedGetAllsDatasourceRuns) {
  served s({.page_events = 5});
  auto big = std::make_shared<counting_stream>();
  big->n = 22;  // past the first page, the one made ahead and the buffer's: the datasource still runs
  s.service.add(any_datasource(big));
  const auto first = s.client.get_all({"big"}, event_action::snapshot, false);
  ASSERT_FALSE(first.next.empty());
  EXPECT_EQ(s.client.get_changes({"big"}).outcomes.at(0).status, outcome_status::busy);
  const auto pages = all_pages(s.client, first);
  EXPECT_EQ(pages.back().outcomes.at(0).events, 22u);
  for (int i = 0; i < 100 && s.client.get_changes({"big"}).outcomes.at(0).status == outcome_status::busy; ++i)
    std::this_thread::sleep_for(5ms);  // the datasource's call returns just after its last event is taken
  EXPECT_EQ(s.client.get_changes({"big"}).outcomes.at(0).status, outcome_status::ok);
}

TEST(DatasourceService, TimeSpentWaitingForTheReaderDoesNotCountAgainstTheTimeLimit) {
  served s({.time_limit = 300ms, .page_events = 10});
  auto big = std::make_shared<counting_stream>();
  big->n = 50;
  s.service.add(any_datasource(big));
  auto answer = s.client.get_all({"big"}, event_action::snapshot, false);
  std::size_t received = answer.events.size();
  while (!answer.next.empty()) {
    std::this_thread::sleep_for(150ms);  // a slow reader: 600 ms in all, twice the limit
    answer = s.client.get_page(answer.next);
    received += answer.events.size();
  }
  EXPECT_EQ(received, 50u);
  EXPECT_EQ(answer.outcomes.at(0).status, outcome_status::ok) << answer.outcomes.at(0).reason;
}

TEST(DatasourceService, AStreamingDatasourceThatStallsIsTimedOutAndKeepsWhatItSent) {
  gate release;  // before the service: the stalled call waits on it while the pool drains
  served s({.time_limit = 200ms, .page_events = 100});
  auto big = std::make_shared<counting_stream>();
  big->n = 10;
  big->before_push = [&](std::size_t i) {
    if (i == 4) release.wait();  // stalls after four events, past the limit
  };
  s.service.add(any_datasource(big));
  const auto pages = all_pages(s.client, s.client.get_all({"big"}, event_action::snapshot, false));
  release.open();
  std::size_t events = 0;
  for (const auto& p : pages) events += p.events.size();
  EXPECT_EQ(events, 4u);
  const auto& o = pages.back().outcomes.at(0);
  EXPECT_EQ(o.status, outcome_status::timed_out);
  EXPECT_EQ(o.events, 4u);
  EXPECT_TRUE(contains(o.reason, "200 ms")) << o.reason;
  for (int i = 0; i < 500 && !big->returned.load(); ++i) std::this_thread::sleep_for(2ms);
  EXPECT_TRUE(big->refused.load());  // its next push, after the limit, was refused
}

TEST(DatasourceService, AConsumerReadsEveryPageIntoItsStateBeforeTheSnapshotMarker) {
  served s({.page_events = 7});
  s.service.add(any_datasource(source_of("nova", 100)));
  manual_clock clock;
  basic_timer_service timers(clock);
  basic_ondemand_consumer<basic_jsonrpc_http_client<curl_transport>, manual_clock> consumer(
      s.client, timers, clock, consumer_options{.coordinator = {.low_capacity = 10}});
  consumer.start();
  // The coordinator's low queue holds 10: the timer thread waits on it while this thread applies.
  std::thread timer_thread([&] { timers.run_for(0s); });
  while (consumer.stats().get_all_answered == 0 || consumer.process_available() > 0) consumer.process_available();
  timer_thread.join();
  consumer.process_available();
  EXPECT_EQ(consumer.state().live(), 100u);
  EXPECT_EQ(consumer.stats().pages, 14u);  // 100 events in pages of 7: 15 calls, 14 of them get_page
  EXPECT_EQ(consumer.stats().events_received, 100u);
  EXPECT_EQ(consumer.stats().snapshots, 1u);  // one marker, after the last page
  EXPECT_EQ(consumer.stats().calls_failed, 0u);
}

TEST(DatasourceService, AConsumerWhosePageIsLostAsksTheCallAgain) {
  served s({.page_events = 4});
  s.service.add(any_datasource(source_of("nova", 10)));
  // A client that loses the answer to the first get_page it sends (the page is gone from the service).
  struct losing_client {
    using rpc_client_concept = rpc_client_tag;
    basic_jsonrpc_http_client<curl_transport>* inner;
    int pages_lost = 0;
    ondemand_answer call(const ondemand_request& r) {
      ondemand_answer a = inner->call(r);
      if (r.method == ondemand_method::get_page && pages_lost++ == 0) throw error(errc::timed_out, "the answer was lost");
      return a;
    }
  } client{&s.client};
  manual_clock clock;
  basic_timer_service timers(clock);
  basic_ondemand_consumer<losing_client, manual_clock> consumer(client, timers, clock, consumer_options{.retry_base = 1000ms});
  consumer.start();
  timers.run_for(0s);
  EXPECT_EQ(consumer.stats().calls_failed, 1u);
  EXPECT_TRUE(contains(consumer.stats().last_failure, "a later page")) << consumer.stats().last_failure;
  EXPECT_FALSE(consumer.stats().initialized);
  timers.run_for(70s);  // the retry, after the backoff
  consumer.process_available();
  EXPECT_TRUE(consumer.stats().initialized);
  EXPECT_EQ(consumer.state().live(), 10u);
}

TEST(DatasourceService, TheNextPageIsMadeAndPersistedWhileTheCallerReadsThisOne) {
  served s({.page_events = 100});
  auto big = std::make_shared<counting_stream>();
  big->n = 1'000;
  s.service.add(any_datasource(big));
  const auto first = s.client.get_all({"big"}, event_action::snapshot, false);
  ASSERT_EQ(first.events.size(), 100u);
  // Nobody asked for page 2 yet: a task on the service's executor makes it (its events queued for the
  // persistor) meanwhile.
  for (int i = 0; i < 3'000 && s.persistor.stats().queued < 200; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(s.persistor.stats().queued, 200u);
  const auto second = s.client.get_page(first.next);
  ASSERT_EQ(second.events.size(), 100u);
  EXPECT_EQ(second.events.front().entity_id, "e-100");
  EXPECT_EQ(second.persisted.value().first, first.persisted.value().first + 100);
  EXPECT_EQ(s.service.stats().pages, 2u);  // a page made ahead counts once it is handed out
  const auto pages = all_pages(s.client, second);
  std::size_t events = 0;
  for (const auto& p : pages) events += p.events.size();
  EXPECT_EQ(events, 900u);
  EXPECT_EQ(s.persistor.stats().queued, 1'000u);
}

TEST(DatasourceService, AReadAheadTaskTheExecutorRunsAfterTheServiceEndedTouchesNothing) {
  memory_index store;
  basic_event_persistor<memory_index> persistor(store);
  thread_pool pool(2, 16);
  gate busy, holding;
  auto big = std::make_shared<counting_stream>();
  big->n = 1'000;
  {
    basic_datasource_service<thread_pool, memory_index> service(pool, persistor, {.page_events = 10});
    service.add(any_datasource(big));
    // The pool's other thread is taken before the call: the first page's read-ahead task waits behind it.
    ASSERT_TRUE(pool.execute([&] {
      holding.open();
      busy.wait();
    }));
    ASSERT_TRUE(holding.wait());
    const auto text = service.answer(R"({"jsonrpc":"2.0","id":"x","method":"get_all","params":{"datasource_names":["big"]}})");
    ASSERT_TRUE(text);
    EXPECT_EQ(parse_jsonrpc_answer(*text, "x").events.size(), 10u);
  }  // the service ends: its call is abandoned, its datasource stops and frees the pool's first thread
  busy.open();
  pool.shutdown(shutdown_mode::drain);  // the read-ahead task has run now, on a service that is gone
  EXPECT_EQ(persistor.stats().queued, 10u);
  EXPECT_TRUE(big->returned.load());
}

TEST(DatasourceService, PagesRunOnTheInlineExecutorToo) {
  memory_index store;
  basic_event_persistor<memory_index> persistor(store);
  inline_executor inline_exec;
  basic_datasource_service<inline_executor, memory_index> service(inline_exec, persistor, {.page_events = 10});
  service.add(any_datasource(source_of("nova", 25)));
  // The datasource runs on the caller's thread before the first page: it cannot wait for a reader.
  auto pages = all_pages(service, service.get_all({"nova"}, event_action::snapshot, false));
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[2].events.size(), 5u);
  EXPECT_EQ(pages[2].outcomes.at(0).events, 25u);
}

TEST(DatasourceService, RunsOnTheInlineExecutorToo) {
  memory_index store;
  basic_event_persistor<memory_index> persistor(store);
  inline_executor inline_exec;
  basic_datasource_service<inline_executor, memory_index> service(inline_exec, persistor);
  service.add(any_datasource(source_of("nova", 2)));
  const auto text = service.answer(R"({"jsonrpc":"2.0","id":"x","method":"get_all","params":{"datasource_names":["nova"]}})");
  ASSERT_TRUE(text);
  EXPECT_EQ(parse_jsonrpc_answer(*text, "x").events.size(), 2u);
  EXPECT_THROW(service.add(any_datasource(source_of("nova", 1))), error);
}

}  // namespace
}  // namespace tributary
