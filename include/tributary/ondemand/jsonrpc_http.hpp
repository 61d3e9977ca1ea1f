#pragma once
// JSON-RPC 2.0 over HTTP: the embedded default binding of a collector service (ONDEMAND.md). The server
// side is a request_handler for basic_http_server; the client side speaks over any transport
// (curl_transport in production, loopback_transport in tests).
//
//   basic_http_server http(http_pool, jsonrpc_http_handler(service), {.port = 8080});
//   curl_transport transport(curl, {});
//   basic_jsonrpc_http_client client(transport, {.url = "http://collector:8080/rpc"});
//   ondemand_answer a = client.get_all({"nova"}, event_action::init_snapshot, true);
//
// Routes: POST <path> (default /rpc) carries one JSON-RPC text: 200 with the response, 204 for
// notifications only; other methods on it 405. GET /metrics answers the service's and persistor's
// counts in Prometheus text format. Anything else 404. A request's body over the HTTP server's
// max_body_bytes is refused 413 by the server before it is read; give the service's max_request_bytes
// the same value.
//
// Who retries (retry.hpp): the transport retries a request to one service; the client then fails over
// to the next service of its list (active-active), each once per call. Calls are sent idempotent: a get_all or get_changes
// asked twice answers twice and persists its events twice, which consumers tolerate (an entity is
// never replaced by an older sample of itself), so a lost answer is worth asking again. get_page is
// not: a page is answered once, and the consumer asks the call again instead.

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include <tributary/concepts.hpp>
#include <tributary/detail/excerpt.hpp>
#include <tributary/error.hpp>
#include <tributary/redact.hpp>
#include <tributary/ondemand/answer.hpp>
#include <tributary/ondemand/concepts.hpp>
#include <tributary/ondemand/jsonrpc.hpp>
#include <tributary/server/concepts.hpp>
#include <tributary/server/message.hpp>
#include <tributary/transport/http.hpp>

namespace tributary {

/// One Prometheus text-format sample with its HELP and TYPE lines (a counter when the name ends in
/// _total, else a gauge).
inline void append_metric(std::string& out, std::string_view name, std::string_view help, std::uint64_t v) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += name.ends_with("_total") ? " counter\n" : " gauge\n";
  out += name;
  out += ' ';
  out += std::to_string(v);
  out += '\n';
}

/// A collector service's and its persistor's counts, as GET /metrics serves them (whichever binding
/// carries the calls).
template <class Service>
void append_ondemand_service_metrics(std::string& out, Service& service) {
  const auto s = service.stats();
  const auto p = service.persistor().stats();
  auto line = [&](std::string_view name, std::string_view help, std::uint64_t v) { append_metric(out, name, help, v); };
  line("tributary_ondemand_calls_total", "get_all and get_changes calls answered", s.calls);
  line("tributary_ondemand_events_total", "events in the answers", s.events);
  line("tributary_ondemand_failed_outcomes_total", "datasource outcomes that were not ok", s.failed_outcomes);
  line("tributary_ondemand_persistor_queued_total", "events queued for the persistor", p.queued);
  line("tributary_ondemand_persistor_written_total", "events the store acknowledged", p.written);
  line("tributary_ondemand_persistor_failed_total", "events given up on", p.failed);
  line("tributary_ondemand_persistor_pending", "events queued and not yet written", p.pending);
  line("tributary_ondemand_persistor_queue_depth", "events waiting in the persistor's queue", p.queue_depth);
  line("tributary_ondemand_persistor_lost_before_start", "events the previous run never wrote (its ledger)", p.lost_before_start);
}

/// Serves a service over HTTP. Service: anything with `std::optional<std::string> answer(string_view)`,
/// `stats()` and `persistor().stats()`, as basic_datasource_service has; the caller's, outliving it.
template <class Service>
class jsonrpc_http_handler {
 public:
  using request_handler_concept = request_handler_tag;

  explicit jsonrpc_http_handler(Service& service, std::string path = "/rpc") : service_(&service), path_(std::move(path)) {}

  server_response handle(server_request& request) {
    if (request.path == "/metrics") {
      if (request.method != "GET") return not_allowed("GET");
      return server_response::text(200, metrics(), "text/plain; version=0.0.4");
    }
    if (request.path != path_) return server_response::json(404, "{\"error\":\"not found; JSON-RPC is served at POST " + path_ + "\"}");
    if (request.method != "POST") return not_allowed("POST");
    auto answer = service_->answer(request.body);
    if (!answer) return server_response{204, {}, {}, {}};
    return server_response::json(200, std::move(*answer));
  }

 private:
  static server_response not_allowed(const char* allow) {
    auto r = server_response::json(405, std::string("{\"error\":\"method not allowed; use ") + allow + "\"}");
    r.headers.emplace_back("Allow", allow);
    return r;
  }
  std::string metrics() const {
    std::string out;
    append_ondemand_service_metrics(out, *service_);
    return out;
  }

  Service* service_;
  std::string path_;
};

struct jsonrpc_http_client_options {
  std::string url{};  ///< the whole endpoint: "http://127.0.0.1:8080/rpc"
  /// Other collector services serving the same datasources (active-active). A call that gets no valid
  /// answer from one (no connection, a connection cut mid-call, a 5xx, an invalid text) goes to the
  /// next, each at most once per call, starting with the one that answered last. An error answer
  /// (rpc_error) is an answer: it is not sent elsewhere. get_page goes to the service that answered
  /// last first: a cursor is known only to the service that wrote it.
  std::vector<std::string> fallback_urls{};
  void validate() const {
    auto check = [](const std::string& u) {
      if (!u.starts_with("http://") && !u.starts_with("https://"))
        throw error(errc::invalid_config, "jsonrpc_http_client: url must start with http:// or https://");
    };
    check(url);
    for (const auto& u : fallback_urls) check(u);
  }
};

/// Calls a collector service. One thread at a time (as its transport); the transport is the caller's.
template <class Transport>
class basic_jsonrpc_http_client {
  static_assert(transport<Transport>, "basic_jsonrpc_http_client: Transport does not model tributary::transport (see concepts.hpp)");

 public:
  using rpc_client_concept = rpc_client_tag;

  basic_jsonrpc_http_client(Transport& transport, jsonrpc_http_client_options options)
      : transport_(&transport), options_(std::move(options)) {
    options_.validate();
    urls_.push_back(options_.url);
    urls_.insert(urls_.end(), options_.fallback_urls.begin(), options_.fallback_urls.end());
  }

  /// Throws rpc_error for an error a service answered; error(errc::transport_failed) when no service
  /// gave a valid answer (after the transport's retries, each), naming every failure.
  ondemand_answer call(const ondemand_request& request) {
    const std::string id = std::to_string(++next_id_);
    const std::string body = jsonrpc_request_text(request, id);
    std::string failures;
    for (std::size_t k = 0; k < urls_.size(); ++k) {
      const std::size_t at = (preferred_ + k) % urls_.size();
      http_request req;
      req.method = "POST";
      req.url = urls_[at];
      req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
      req.body = body;
      // A page is answered once (its events move out of the service): a transport retry after a lost
      // answer would only be told so. The consumer asks the call again instead.
      req.idempotent = request.method != ondemand_method::get_page;
      http_response res = transport_->perform(std::move(req));
      std::string failure;
      if (res.status == 0) {
        failure = res.error;
      } else if (res.status != 200) {
        // An error page's HTML, cut: one line of whole characters (it goes to logs and JSON reports).
        failure = "HTTP " + std::to_string(res.status) + ": " + detail::excerpt(res.body, 200, true);
      } else {
        try {
          ondemand_answer a = answers_.read_in_place(res.body, id);
          preferred_ = at;
          return a;
        } catch (const rpc_error&) {
          preferred_ = at;
          throw;  // answered: the call is done
        } catch (const error& e) {
          failure = e.what();
        }
      }
      if (!failures.empty()) failures += "; ";
      failures += redact_url(urls_[at]) + ": " + failure;
      ++failovers_;
    }
    throw error(errc::transport_failed, "jsonrpc_http_client: " + std::string(to_string(request.method)) + ": no service answered (" +
                                            failures + ")");
  }

  /// Calls that went on to another service because one gave no valid answer.
  [[nodiscard]] std::uint64_t failovers() const noexcept { return failovers_; }

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

 private:
  Transport* transport_;
  jsonrpc_http_client_options options_;
  std::vector<std::string> urls_;
  std::size_t preferred_ = 0;
  std::uint64_t next_id_ = 0, failovers_ = 0;
  jsonrpc_answer_reader answers_;
};

}  // namespace tributary
