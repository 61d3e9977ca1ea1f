// RPC over a live RabbitMQ (TRIBUTARY_RABBITMQ_URL, started by scripts/services; skipped without it):
// answers over the shared queue with reply_to and a correlation id; either side may start first; two
// collector services consume from the queue at once; a service cut off in the middle of a call loses
// nothing (the broker hands the unacknowledged request to the other); bad input is answered with an
// error naming it; a call nobody answers times out; an answer's pages come from the service that
// wrote their cursor, through its own queue, and a page lost with its service restarts the call.

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <tributary/execution/thread_pool.hpp>
#include <tributary/index/memory.hpp>
#include <tributary/ondemand/amqp.hpp>
#include <tributary/ondemand/service.hpp>

#include "support/common.hpp"

namespace tributary {
namespace {

using namespace std::chrono_literals;
using tributary::testing::cat;
using tributary::testing::contains;

std::string broker_url() {
  const char* url = std::getenv("TRIBUTARY_RABBITMQ_URL");
  return url ? url : "";
}
#define REQUIRE_BROKER()                                                                                          \
  if (broker_url().empty())                                                                                       \
  GTEST_SKIP() << "TRIBUTARY_RABBITMQ_URL is not set: run scripts/services start; set -a; source build/services/env; " \
                  "set +a"

/// A queue name of its own per test, deleted at the end, so that runs never see each other's requests.
struct scratch_queue {
  scratch_queue() {
    std::random_device rd;
    name = cat("tributary.test.", std::to_string(rd()), std::to_string(rd()));
  }
  ~scratch_queue() {
    try {
      detail::amqp_connection c(broker_url());
      amqp_queue_delete(c.get(), 1, detail::amqp_view(name), 0, 0);
      (void)amqp_get_rpc_reply(c.get());
    } catch (const error&) {
    }
  }
  amqp_rpc_options options(std::chrono::milliseconds timeout = 30s) const {
    amqp_rpc_options o;
    o.url = broker_url();
    o.queue = name;
    o.timeout = timeout;
    o.poll_interval = 20ms;
    return o;
  }
  std::string name;
};

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

/// Answers get_all with one event whose payload names the service it ran in.
struct tagged_source {
  using datasource_concept = datasource_tag;
  std::string service;
  gate* entered = nullptr;
  gate* release = nullptr;
  std::size_t count = 1;
  [[nodiscard]] std::string name() const { return "nova"; }
  std::vector<entity_event> get_all(event_action a) {
    if (entered) entered->open();
    if (release) release->wait();
    std::vector<entity_event> out;
    for (std::size_t i = 1; i <= count; ++i) {
      entity_event e;
      e.datasource = "nova";
      e.entity_type = "instance";
      e.entity_id = cat("i-", std::to_string(i));
      e.action = a;
      e.payload = cat("{\"service\":\"", service, "\"}");
      out.push_back(std::move(e));
    }
    return out;
  }
  std::vector<entity_event> get_changes() { return {}; }
};

using service_type = basic_datasource_service<thread_pool, memory_index>;

/// One collector service: its store, persistor, pool, service, AMQP server and the thread serving it.
struct collector {
  collector(const amqp_rpc_options& o, tagged_source source, datasource_service_options so = {}) : service_options(so) {
    service.add(any_datasource(std::move(source)));
    server = std::make_unique<basic_amqp_rpc_server<service_type>>(service, o);
    socket = server->native_socket();
  }
  void start() {
    serving = std::jthread([this](std::stop_token stop) {
      try {
        server->run(stop);
      } catch (const error& e) {
        std::lock_guard lock(mu);
        failure = e.what();
      }
    });
  }
  ~collector() {
    serving.request_stop();
    if (serving.joinable()) serving.join();
  }
  std::string failure_text() {
    std::lock_guard lock(mu);
    return failure;
  }

  memory_index store;
  basic_event_persistor<memory_index> persistor{store};
  thread_pool pool{2, 16};
  datasource_service_options service_options;
  service_type service{pool, persistor, service_options};
  std::unique_ptr<basic_amqp_rpc_server<service_type>> server;
  int socket = -1;
  std::mutex mu;
  std::string failure;
  std::jthread serving;
};

std::string service_of(const ondemand_answer& a) {
  if (a.events.size() != 1) return "<" + std::to_string(a.events.size()) + " events>";
  return std::string(parse_event(event_json(a.events[0])).payload);
}

TEST(AmqpRpc, AnswersOverTheSharedQueue) {
  REQUIRE_BROKER();
  scratch_queue q;
  collector a(q.options(), {"a"});
  a.start();
  amqp_rpc_client client(q.options());
  const ondemand_answer answer = client.get_all({"nova"}, event_action::init_snapshot, false);
  ASSERT_EQ(answer.outcomes.size(), 1u);
  EXPECT_EQ(answer.outcomes[0].status, outcome_status::ok);
  ASSERT_EQ(answer.events.size(), 1u);
  EXPECT_EQ(answer.events[0].action, event_action::init_snapshot);
  EXPECT_EQ(service_of(answer), R"({"service":"a"})");
  EXPECT_EQ(client.get_changes({"nova"}).outcomes.at(0).status, outcome_status::ok);
  EXPECT_EQ(a.persistor.stats().queued, 1u);
  try {
    (void)client.get_all({"cinder"}, event_action::snapshot, false);
    ADD_FAILURE() << "no rpc_error";
  } catch (const rpc_error& e) {
    EXPECT_EQ(e.rpc_code(), rpc_code::invalid_params);
    EXPECT_TRUE(contains(e.what(), "unknown datasource \"cinder\""));
  }
  EXPECT_EQ(a.failure_text(), "");
}

TEST(AmqpRpc, MalformedRequestsAreAnsweredWithAnErrorNamingTheProblem) {
  REQUIRE_BROKER();
  scratch_queue q;
  collector a(q.options(), {"a"});
  a.start();
  // A raw client: publish text that is not JSON, with a reply queue of our own.
  detail::amqp_connection c(broker_url());
  c.declare_shared_queue(q.name);
  amqp_queue_declare_ok_t* ok = amqp_queue_declare(c.get(), 1, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
  c.check(amqp_get_rpc_reply(c.get()), "reply queue");
  const std::string reply_to = detail::amqp_string(ok->queue);
  amqp_basic_consume(c.get(), 1, detail::amqp_view(reply_to), amqp_empty_bytes, 0, 1, 1, amqp_empty_table);
  c.check(amqp_get_rpc_reply(c.get()), "consume");
  amqp_basic_properties_t props{};
  props._flags = AMQP_BASIC_REPLY_TO_FLAG | AMQP_BASIC_CORRELATION_ID_FLAG;
  props.reply_to = detail::amqp_view(reply_to);
  props.correlation_id = amqp_cstring_bytes("raw-1");
  ASSERT_EQ(amqp_basic_publish(c.get(), 1, amqp_empty_bytes, detail::amqp_view(q.name), 0, 0, &props,
                               amqp_cstring_bytes("{\"jsonrpc\":\"2.0\",\"id\":1,")),
            AMQP_STATUS_OK);
  amqp_envelope_t envelope;
  const timeval tv = detail::amqp_timeval(30s);
  c.check(amqp_consume_message(c.get(), &envelope, &tv, 0), "answer");
  const std::string correlation = detail::amqp_string(envelope.message.properties.correlation_id);
  const std::string body = detail::amqp_string(envelope.message.body);
  amqp_destroy_envelope(&envelope);
  EXPECT_EQ(correlation, "raw-1");
  EXPECT_TRUE(contains(body, "\"code\":-32700")) << body;
  EXPECT_TRUE(contains(body, "parse error")) << body;
  EXPECT_EQ(a.service.stats().calls, 0u);
}

TEST(AmqpRpc, EitherSideMayStartFirst) {
  REQUIRE_BROKER();
  scratch_queue q;
  amqp_rpc_client client(q.options());
  // The call is published before any service exists; it waits in the queue.
  auto call = std::async(std::launch::async, [&] { return client.get_all({"nova"}, event_action::init_snapshot, true); });
  collector a(q.options(), {"a"});
  a.start();
  EXPECT_EQ(service_of(call.get()), R"({"service":"a"})");
}

/// A service counts a request served after acknowledging it, which follows the answer its caller already
/// holds: a count is read once it settles (or after 10 s, when the expectation then fails).
std::uint64_t settled(const std::function<std::uint64_t()>& count, std::uint64_t expected) {
  for (int i = 0; i < 1000 && count() < expected; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return count();
}

TEST(AmqpRpc, TwoServicesConsumeFromOneQueueAtOnce) {
  REQUIRE_BROKER();
  scratch_queue q;
  collector a(q.options(), {"a"});
  collector b(q.options(), {"b"});
  a.start();
  b.start();
  amqp_rpc_client client(q.options());
  std::atomic<int> from_a{0}, from_b{0};
  for (int i = 0; i < 20; ++i) {
    const std::string by = service_of(client.get_all({"nova"}, event_action::snapshot, false));
    if (by == R"({"service":"a"})") ++from_a;
    else if (by == R"({"service":"b"})") ++from_b;
  }
  EXPECT_EQ(from_a + from_b, 20);
  EXPECT_GT(from_a.load(), 0);  // the broker spreads requests over every consumer (prefetch 1)
  EXPECT_GT(from_b.load(), 0);
  EXPECT_EQ(settled([&] { return a.server->served() + b.server->served(); }, 20), 20u);
}

TEST(AmqpRpc, AServiceCutOffMidCallLosesNothing) {
  REQUIRE_BROKER();
  scratch_queue q;
  gate entered, release;
  collector a(q.options(), {"a", &entered, &release});
  a.start();
  amqp_rpc_client client(q.options());
  auto call = std::async(std::launch::async, [&] { return client.get_all({"nova"}, event_action::snapshot, false); });
  ASSERT_TRUE(entered.wait());  // service a holds the request, unacknowledged
  collector b(q.options(), {"b"});
  b.start();
  ::shutdown(a.socket, SHUT_RDWR);  // as the broker sees a crash: the connection is gone
  release.open();                   // a's answer now has nowhere to go
  const ondemand_answer answer = call.get();
  EXPECT_EQ(service_of(answer), R"({"service":"b"})");
  EXPECT_EQ(settled([&] { return b.server->served(); }, 1), 1u);
  EXPECT_EQ(a.server->served(), 0u);
  a.serving.join();
  EXPECT_TRUE(contains(a.failure_text(), "amqp amqp://guest:***@")) << a.failure_text();  // the password never shows
}

/// The services that wrote a page's events (one name, when they all come from one).
std::string services_of(const ondemand_answer& a) {
  std::string out;
  for (const auto& e : a.events) {
    const std::string by(parse_event(event_json(e)).payload);
    if (out.find(by) == std::string::npos) out += by;
  }
  return out;
}

TEST(AmqpRpc, AnAnswersPagesComeFromTheServiceThatWroteTheirCursor) {
  REQUIRE_BROKER();
  scratch_queue q;
  collector a(q.options(), {"a", nullptr, nullptr, 25}, {.page_events = 4});
  collector b(q.options(), {"b", nullptr, nullptr, 25}, {.page_events = 4});
  a.start();
  b.start();
  amqp_rpc_client client(q.options());
  std::set<std::string> answered_by;
  for (int call = 0; call < 8; ++call) {
    ondemand_answer page = client.get_all({"nova"}, event_action::snapshot, false);
    const std::string first_by = services_of(page);
    answered_by.insert(first_by);
    std::size_t events = page.events.size(), pages = 1;
    while (!page.next.empty()) {
      page = client.get_page(page.next);  // through the shared queue, half of these would reach the other
      ++pages;
      events += page.events.size();
      if (!page.events.empty()) {
        EXPECT_EQ(services_of(page), first_by) << "call " << call << ", page " << pages;
      }
    }
    EXPECT_EQ(events, 25u);
    EXPECT_GE(pages, 7u);
    EXPECT_EQ(page.outcomes.at(0).events, 25u);
  }
  EXPECT_EQ(answered_by.size(), 2u);  // both services answered calls, each its own pages
  EXPECT_EQ(a.failure_text(), "");
  EXPECT_EQ(b.failure_text(), "");
}

TEST(AmqpRpc, APageLostWithItsServiceIsAnErrorAndTheCallIsAnsweredAgainByAnother) {
  REQUIRE_BROKER();
  scratch_queue q;
  collector a(q.options(), {"a", nullptr, nullptr, 12}, {.page_events = 5});
  a.start();
  amqp_rpc_client client(q.options(1s));
  const ondemand_answer first = client.get_all({"nova"}, event_action::snapshot, false);
  ASSERT_FALSE(first.next.empty());
  collector b(q.options(), {"b", nullptr, nullptr, 12}, {.page_events = 5});
  b.start();
  ::shutdown(a.socket, SHUT_RDWR);  // a dies: its queue, and the call's pages, go with it
  a.serving.join();
  try {
    (void)client.get_page(first.next);
    ADD_FAILURE() << "a page of a dead service answered";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::timed_out) << e.what();
  }
  // The call again, from the start: b answers it whole.
  ondemand_answer page = client.get_all({"nova"}, event_action::snapshot, false);
  std::size_t events = page.events.size();
  while (!page.next.empty()) {
    page = client.get_page(page.next);
    events += page.events.size();
    if (!page.events.empty()) {
      EXPECT_EQ(services_of(page), R"({"service":"b"})");
    }
  }
  EXPECT_EQ(events, 12u);
}

TEST(AmqpRpc, ACallNobodyAnswersTimesOut) {
  REQUIRE_BROKER();
  scratch_queue q;
  amqp_rpc_client client(q.options(200ms));
  try {
    (void)client.get_changes({"nova"});
    ADD_FAILURE() << "no timeout";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::timed_out);
    EXPECT_TRUE(contains(e.what(), "200 ms"));
  }
  // Late service: the expired request is dropped by the broker, never answered to anyone.
  collector a(q.options(), {"a"});
  EXPECT_FALSE(a.server->serve_one(300ms));
}

TEST(AmqpRpc, AnUnreachableBrokerIsNamedWithoutItsPassword) {
  amqp_rpc_options o;
  o.url = cat("amqp://guest:secret@127.0.0.1:", std::to_string(tributary::testing::closed_port()), "/");
  try {
    amqp_rpc_client client(o);
    ADD_FAILURE() << "connected to a closed port";
  } catch (const error& e) {
    EXPECT_EQ(e.code(), errc::transport_failed);
    EXPECT_TRUE(contains(e.what(), "cannot connect"));
    EXPECT_FALSE(contains(e.what(), "secret"));
  }
}

}  // namespace
}  // namespace tributary
