#pragma once
// The server concept: a request handler answers one HTTP request. The server
// (<tributary/server/http_server.hpp>) parses, bounds and frames; the handler only decides what to
// answer, so one handler serves under any server that models the same contract (the shipped
// HTTP/1.1 one, an in-process one in tests). Archetype: <tributary/server/archetypes.hpp>.

#include <concepts>
#include <type_traits>
#include <utility>

#include <tributary/detail/opt_in.hpp>
#include <tributary/server/message.hpp>

namespace tributary {

struct request_handler_tag {};

/// RequestHandler: answers one request.
///   using request_handler_concept = request_handler_tag;
///   server_response handle(server_request& request)
/// Called from several worker threads at once: a handler with state guards it. The request is the
/// handler's to move from (its body, say). An exception escaping handle() is answered 500 and the
/// connection closed; its text is never sent to the client.
template <class H>
concept request_handler = detail::opts_in<H, request_handler_tag, typename H::request_handler_concept> &&
  requires(H& h, server_request& request) {
    { h.handle(request) } -> std::same_as<server_response>;
  };

/// A request handler from a callable `server_response(server_request&)`: the opt-in is made here,
/// where the intent is explicit, so lambdas serve without a class of their own.
template <class F>
class function_handler {
 public:
  using request_handler_concept = request_handler_tag;
  explicit function_handler(F f) : f_(std::move(f)) {}
  server_response handle(server_request& request) { return f_(request); }

 private:
  F f_;
};

template <class F>
  requires std::is_invocable_r_v<server_response, F&, server_request&>
[[nodiscard]] function_handler<std::decay_t<F>> handler_from(F&& f) {
  return function_handler<std::decay_t<F>>(std::forward<F>(f));
}

}  // namespace tributary
