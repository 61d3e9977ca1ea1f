#pragma once
// RPC over RabbitMQ (AMQP 0-9-1, through rabbitmq-c): the binding for active-active collector services
// across machines (ONDEMAND.md). Link tributary::ondemand. The texts are the JSON-RPC 2.0 ones of
// ondemand/jsonrpc.hpp, validated on both sides; nothing pickle-like travels.
//
//   basic_amqp_rpc_server server(service, {.url = "amqp://guest:guest@mq:5672/"});
//   std::jthread serving([&](std::stop_token stop) { server.run(stop); });     the owner's thread
//   amqp_rpc_client client({.url = "amqp://guest:guest@mq:5672/"});
//   ondemand_answer a = client.get_all({"nova"}, event_action::snapshot, false);
//
// The pattern: every collector service consumes from one shared, named queue (default
// "tributary.ondemand"). A client publishes a request there through the default exchange, with
// `reply_to` naming its own exclusive, server-named reply queue and a `correlation_id`; the service
// that takes the request publishes the answer to `reply_to` under the same correlation id, and only
// then acknowledges the request. With a prefetch of one, requests spread over the services; a service
// that dies mid-call never acknowledged its request, so the broker hands it to another service: the
// call is answered once it is alive somewhere. Both sides declare the queue with the same arguments,
// so either may start first (requests wait in the queue until a service consumes them).
//
// Pages (ondemand/answer.hpp): a cursor is known only to the service that wrote it, so every server
// also consumes from a queue of its own (server-named, exclusive: it goes when the server does) and
// names it in the `reply_to` of each answer it sends; the client sends get_page there. A page request
// to a server that died meanwhile finds no queue, is dropped by the broker, and times out: the
// consumer then asks the call again from the start, through the shared queue.
//
// A request carries an expiration of the client's timeout: one nobody took in time is dropped by the
// broker instead of being answered to a caller that gave up. Answers to an earlier call that timed out
// (another correlation id) are discarded by the client.
//
// Who retries (retry.hpp): nobody here. A call that gets no answer within the timeout throws
// error(errc::timed_out); the consumer decides whether to call again (its RPC timeout and retry).
//
// Threads: rabbitmq-c connections are not thread-safe, so each server and each client owns one
// connection and is used by one thread at a time. A server answers one request at a time (its service
// runs the datasources of that request concurrently); run several servers for more at once.

#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <amqp.h>
#include <simdjson.h>
#include <amqp_tcp_socket.h>

#include <tributary/error.hpp>
#include <tributary/ondemand/answer.hpp>
#include <tributary/ondemand/concepts.hpp>
#include <tributary/ondemand/jsonrpc.hpp>
#include <tributary/redact.hpp>

namespace tributary {

struct amqp_rpc_options {
  std::string url{};                        ///< amqp://user:password@host:port/vhost
  std::string queue = "tributary.ondemand";  ///< the shared request queue
  /// How often a server's run() looks at its stop token while no request comes.
  std::chrono::milliseconds poll_interval{100};
  /// Client: how long a call waits for its answer.
  std::chrono::milliseconds timeout{60'000};
  void validate() const {
    if (!url.starts_with("amqp://")) throw error(errc::invalid_config, "amqp_rpc_options: url must start with amqp://");
    if (queue.empty() || queue.size() > 255) throw error(errc::invalid_config, "amqp_rpc_options: queue must have 1 to 255 bytes");
    if (poll_interval <= std::chrono::milliseconds::zero()) throw error(errc::invalid_config, "amqp_rpc_options: poll_interval must be positive");
    if (timeout <= std::chrono::milliseconds::zero()) throw error(errc::invalid_config, "amqp_rpc_options: timeout must be positive");
  }
};

namespace detail {

inline amqp_bytes_t amqp_view(std::string_view s) noexcept {
  amqp_bytes_t b;
  b.len = s.size();
  b.bytes = const_cast<char*>(s.data());  // rabbitmq-c's type is not const-correct; it only reads
  return b;
}
inline std::string amqp_string(amqp_bytes_t b) { return b.len ? std::string(static_cast<const char*>(b.bytes), b.len) : std::string(); }

inline timeval amqp_timeval(std::chrono::milliseconds d) noexcept {
  if (d < std::chrono::milliseconds::zero()) d = std::chrono::milliseconds::zero();
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(d.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((d.count() % 1000) * 1000);
  return tv;
}

/// One connection with channel 1 open. Errors are error(errc::transport_failed) naming the step and
/// the broker (its URL with the password redacted).
class amqp_connection {
 public:
  explicit amqp_connection(const std::string& url) : where_(redact_url(url)) {
    try {
      connect(url);
    } catch (...) {
      release();  // the destructor does not run for a constructor that throws
      throw;
    }
  }
  amqp_connection(const amqp_connection&) = delete;
  amqp_connection& operator=(const amqp_connection&) = delete;
  ~amqp_connection() { release(); }

  [[nodiscard]] amqp_connection_state_t get() const noexcept { return state_; }
  /// Opens the socket, logs in and opens channel 1.
  void connect(const std::string& url) {
    std::vector<char> buffer(url.begin(), url.end());
    buffer.push_back('\0');
    amqp_connection_info info;
    if (amqp_parse_url(buffer.data(), &info) != AMQP_STATUS_OK) fail("cannot parse the URL");
    if (info.ssl) fail("amqps:// is not supported");
    // "amqp://host:port/" names the empty vhost by the AMQP URI spec, which no broker has by default;
    // every tool (and scripts/services' URL) means the default vhost "/" by it.
    const char* vhost = info.vhost && info.vhost[0] ? info.vhost : "/";
    state_ = amqp_new_connection();
    if (!state_) fail("out of memory");
    amqp_socket_t* socket = amqp_tcp_socket_new(state_);
    if (!socket) fail("cannot create a socket");
    const timeval connect_timeout = amqp_timeval(std::chrono::milliseconds(10'000));
    if (const int rc = amqp_socket_open_noblock(socket, info.host, info.port, &connect_timeout); rc != AMQP_STATUS_OK)
      fail(std::string("cannot connect: ") + amqp_error_string2(rc));
    open_ = true;
    check(amqp_login(state_, vhost, 0, AMQP_DEFAULT_FRAME_SIZE, 0, AMQP_SASL_METHOD_PLAIN, info.user, info.password), "login");
    amqp_channel_open(state_, 1);
    check(amqp_get_rpc_reply(state_), "opening a channel");
    channel_open_ = true;
  }
  [[nodiscard]] int native_socket() const noexcept { return state_ ? amqp_get_sockfd(state_) : -1; }

  void check(amqp_rpc_reply_t reply, std::string_view step) const {
    switch (reply.reply_type) {
      case AMQP_RESPONSE_NORMAL: return;
      case AMQP_RESPONSE_NONE: fail(std::string(step) + ": no reply from the broker");
      case AMQP_RESPONSE_LIBRARY_EXCEPTION: fail(std::string(step) + ": " + amqp_error_string2(reply.library_error));
      case AMQP_RESPONSE_SERVER_EXCEPTION: {
        std::string text = std::string(step) + ": the broker refused";
        if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD || reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
          const auto* close = static_cast<const amqp_channel_close_t*>(reply.reply.decoded);  // same layout for both
          text += ": " + std::to_string(close->reply_code) + " " + amqp_string(close->reply_text);
        }
        fail(text);
      }
    }
    fail(std::string(step) + ": unexpected reply");
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw error(errc::transport_failed, "amqp " + where_ + ": " + what);
  }

  /// Declares the shared request queue (durable, so it outlives a broker restart; not exclusive,
  /// so every service consumes from it). Same arguments on every side, as AMQP requires.
  void declare_shared_queue(std::string_view queue) {
    amqp_queue_declare(state_, 1, amqp_view(queue), 0, 1, 0, 0, amqp_empty_table);
    check(amqp_get_rpc_reply(state_), "declaring the queue");
  }

 private:
  void release() noexcept {
    if (!state_) return;
    if (channel_open_) amqp_channel_close(state_, 1, AMQP_REPLY_SUCCESS);
    if (open_) amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(state_);
    state_ = nullptr;
  }

  std::string where_;
  amqp_connection_state_t state_ = nullptr;
  bool open_ = false, channel_open_ = false;
};

}  // namespace detail

/// Serves a service from the shared queue. Service: anything with
/// `std::optional<std::string> answer(std::string_view)`, as basic_datasource_service has.
template <class Service>
class basic_amqp_rpc_server {
 public:
  /// Connects, declares the queue and starts consuming (prefetch 1). Throws error(errc::transport_failed).
  basic_amqp_rpc_server(Service& service, amqp_rpc_options options)
      : service_(&service), options_((options.validate(), std::move(options))), connection_(options_.url) {
    connection_.declare_shared_queue(options_.queue);
    amqp_basic_qos(connection_.get(), 1, 0, 1, 0);
    connection_.check(amqp_get_rpc_reply(connection_.get()), "setting the prefetch");
    amqp_basic_consume(connection_.get(), 1, detail::amqp_view(options_.queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    connection_.check(amqp_get_rpc_reply(connection_.get()), "consuming");
    amqp_queue_declare_ok_t* own = amqp_queue_declare(connection_.get(), 1, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
    connection_.check(amqp_get_rpc_reply(connection_.get()), "declaring the server's page queue");
    own_queue_ = detail::amqp_string(own->queue);
    amqp_basic_consume(connection_.get(), 1, own->queue, amqp_empty_bytes, 0, 0, 1, amqp_empty_table);
    connection_.check(amqp_get_rpc_reply(connection_.get()), "consuming the server's page queue");
  }

  /// Answers requests until `stop` is requested. Throws error(errc::transport_failed) when the
  /// connection is lost (the request in hand, unacknowledged, goes to another service).
  void run(std::stop_token stop) {
    while (!stop.stop_requested()) serve_one(options_.poll_interval);
  }

  /// Waits up to `wait` for one request and answers it. true when one was served.
  bool serve_one(std::chrono::milliseconds wait) {
    amqp_connection_state_t c = connection_.get();
    amqp_maybe_release_buffers(c);
    amqp_envelope_t envelope;
    const timeval tv = detail::amqp_timeval(wait);
    const amqp_rpc_reply_t reply = amqp_consume_message(c, &envelope, &tv, 0);
    if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_TIMEOUT) return false;
    connection_.check(reply, "waiting for a request");
    struct destroy {
      amqp_envelope_t* e;
      ~destroy() { amqp_destroy_envelope(e); }
    } guard{&envelope};
    const amqp_basic_properties_t& props = envelope.message.properties;
    const std::string body = detail::amqp_string(envelope.message.body);
    std::optional<std::string> answer = service_->answer(body);
    if (answer && (props._flags & AMQP_BASIC_REPLY_TO_FLAG) && props.reply_to.len > 0) {
      amqp_basic_properties_t out{};
      out._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_REPLY_TO_FLAG;
      out.content_type = amqp_cstring_bytes("application/json");
      out.delivery_mode = 1;  // transient: the caller waits for it now or never
      out.reply_to = detail::amqp_view(own_queue_);  // where this answer's get_page goes
      if (props._flags & AMQP_BASIC_CORRELATION_ID_FLAG) {
        out._flags |= AMQP_BASIC_CORRELATION_ID_FLAG;
        out.correlation_id = props.correlation_id;
      }
      if (amqp_basic_publish(c, 1, amqp_empty_bytes, props.reply_to, 0, 0, &out, detail::amqp_view(*answer)) != AMQP_STATUS_OK)
        connection_.fail("publishing an answer");
    }
    // Acknowledged only after the answer is out: a service dying before here leaves the request to another.
    if (amqp_basic_ack(c, 1, envelope.delivery_tag, 0) != AMQP_STATUS_OK) connection_.fail("acknowledging a request");
    served_.fetch_add(1);
    return true;
  }

  [[nodiscard]] std::uint64_t served() const noexcept { return served_.load(); }
  /// The queue of this server's own, which its answers name for get_page.
  [[nodiscard]] const std::string& page_queue() const noexcept { return own_queue_; }
  /// The connection's socket, for the owner's poll loop (and for tests that cut it, as a crash would).
  [[nodiscard]] int native_socket() const noexcept { return connection_.native_socket(); }

 private:
  Service* service_;
  amqp_rpc_options options_;
  detail::amqp_connection connection_;
  std::string own_queue_;
  std::atomic<std::uint64_t> served_{0};
};

/// Calls collector services through the shared queue. One thread at a time.
class amqp_rpc_client {
 public:
  using rpc_client_concept = rpc_client_tag;

  /// Connects, declares the shared queue (so requests wait for a service that starts later) and its own
  /// exclusive reply queue. Throws error(errc::transport_failed).
  explicit amqp_rpc_client(amqp_rpc_options options)
      : options_((options.validate(), std::move(options))), connection_(options_.url) {
    connection_.declare_shared_queue(options_.queue);
    amqp_queue_declare_ok_t* ok = amqp_queue_declare(connection_.get(), 1, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
    connection_.check(amqp_get_rpc_reply(connection_.get()), "declaring the reply queue");
    reply_queue_ = detail::amqp_string(ok->queue);
    amqp_basic_consume(connection_.get(), 1, ok->queue, amqp_empty_bytes, 0, 1, 1, amqp_empty_table);
    connection_.check(amqp_get_rpc_reply(connection_.get()), "consuming the reply queue");
    std::random_device rd;
    prefix_ = std::to_string(rd()) + "-" + std::to_string(rd()) + "-";
  }

  /// Throws rpc_error for an error answer, error(errc::timed_out) when none came within the timeout,
  /// error(errc::transport_failed) when the connection fails, error(errc::bad_document) for an invalid
  /// answer.
  ondemand_answer call(const ondemand_request& request) {
    amqp_connection_state_t c = connection_.get();
    const std::string id = prefix_ + std::to_string(++next_id_);
    const std::string text = jsonrpc_request_text(request, id);
    const std::string expiration = std::to_string(options_.timeout.count());
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_REPLY_TO_FLAG |
                   AMQP_BASIC_CORRELATION_ID_FLAG | AMQP_BASIC_EXPIRATION_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.delivery_mode = 1;
    props.reply_to = detail::amqp_view(reply_queue_);
    props.correlation_id = detail::amqp_view(id);
    props.expiration = detail::amqp_view(expiration);
    // A page goes to the server that wrote its cursor; everything else to the shared queue.
    const bool page = request.method == ondemand_method::get_page && !page_queue_.empty();
    const std::string_view to = page ? std::string_view(page_queue_) : std::string_view(options_.queue);
    if (amqp_basic_publish(c, 1, amqp_empty_bytes, detail::amqp_view(to), 0, 0, &props, detail::amqp_view(text)) != AMQP_STATUS_OK)
      connection_.fail("publishing a request");
    const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= std::chrono::milliseconds::zero())
        throw error(errc::timed_out, "amqp_rpc_client: " + std::string(to_string(request.method)) + ": no answer within " +
                                         std::to_string(options_.timeout.count()) + " ms");
      amqp_maybe_release_buffers(c);
      amqp_envelope_t envelope;
      const timeval tv = detail::amqp_timeval(left);
      const amqp_rpc_reply_t reply = amqp_consume_message(c, &envelope, &tv, 0);
      if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_TIMEOUT) continue;
      connection_.check(reply, "waiting for an answer");
      const amqp_basic_properties_t& p = envelope.message.properties;
      const bool ours = (p._flags & AMQP_BASIC_CORRELATION_ID_FLAG) && detail::amqp_string(p.correlation_id) == id;
      std::string body = ours ? detail::amqp_string(envelope.message.body) : std::string();
      std::string answered_by = ours && (p._flags & AMQP_BASIC_REPLY_TO_FLAG) ? detail::amqp_string(p.reply_to) : std::string();
      amqp_destroy_envelope(&envelope);
      if (ours) {
        page_queue_ = std::move(answered_by);
        return answers_.read(body, id);
      }
      // an answer to an earlier call that timed out: nobody waits for it
    }
  }

  ondemand_answer get_all(std::vector<std::string> names, event_action action, bool retry_on_fault) {
    return call({ondemand_method::get_all, std::move(names), action, retry_on_fault});
  }
  ondemand_answer get_changes(std::vector<std::string> names) {
    return call({ondemand_method::get_changes, std::move(names), event_action::update, false});
  }
  /// The page an answer's `next` names (ondemand/answer.hpp).
  ondemand_answer get_page(std::string cursor) {
    ondemand_request r;
    r.method = ondemand_method::get_page;
    r.cursor = std::move(cursor);
    return call(r);
  }

  [[nodiscard]] const std::string& reply_queue() const noexcept { return reply_queue_; }

 private:
  amqp_rpc_options options_;
  detail::amqp_connection connection_;
  std::string reply_queue_;
  std::string page_queue_;  ///< the queue of the server that answered last (for get_page)
  jsonrpc_answer_reader answers_;
  std::string prefix_;
  std::uint64_t next_id_ = 0;
};

}  // namespace tributary
