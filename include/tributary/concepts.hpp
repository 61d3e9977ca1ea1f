#pragma once
// The engine's concepts: transports, clocks and stores. Each requires an explicit opt-in tag, so a type
// that merely has the right member names is never accepted by accident (the stdexec
// `receiver_concept` idiom). Archetypes, the smallest types that model each concept, are in
// <tributary/archetypes.hpp>. The collector's own policies (merge, wait, source) are in
// <tributary/collector/concepts.hpp>.

#include <chrono>
#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/detail/opt_in.hpp>
#include <tributary/index/concepts.hpp>
#include <tributary/transport/http.hpp>

namespace tributary {

struct transport_tag {};
struct clock_tag {};

/// Transport: moves HTTP requests and responses.
///   using transport_concept = transport_tag;
///   http_response perform(http_request)                          one request, retries as configured
///   void perform_all(std::vector<http_request>, F on_done)       many, concurrently within the transport's
///        bounds; on_done(std::size_t position, http_response&&) runs on the calling thread
template <class T>
concept transport = detail::opts_in<T, transport_tag, typename T::transport_concept> &&
  requires(T& t, http_request req, std::vector<http_request> reqs,
           std::function<void(std::size_t, http_response&&)> on_done) {
    { t.perform(std::move(req)) } -> std::same_as<http_response>;
    { t.perform_all(std::move(reqs), on_done) } -> std::same_as<void>;
  };

/// StreamingTransport (optional refinement of Transport): requests are made while earlier ones finish,
/// so a caller whose next requests depend on earlier answers keeps the transport full instead of
/// waiting for the slowest request of a batch.
///   void perform_stream(G next, F on_done)
///     next() -> std::optional<http_request>    asked whenever the transport has room for one more;
///                                              nullopt: nothing right now (asked again after each on_done)
///     on_done(std::size_t ticket, http_response&&)   ticket: the request's position in the order next()
///                                              gave them (0, 1, 2, ...)
///   Returns once next() has nothing and no request is outstanding. Both run on the calling thread.
template <class T>
concept streaming_transport =
  transport<T> && requires(T& t, std::function<std::optional<http_request>()> next,
                           std::function<void(std::size_t, http_response&&)> on_done) {
    { t.perform_stream(next, on_done) } -> std::same_as<void>;
  };

/// Clock: wall time for naming and ages, and a way to wait. Tests inject a virtual clock.
///   using clock_concept = clock_tag;
///   std::chrono::system_clock::time_point now()
///   void sleep_until(std::chrono::system_clock::time_point)
template <class T>
concept clock = detail::opts_in<T, clock_tag, typename T::clock_concept> &&
  requires(T& c, std::chrono::system_clock::time_point t) {
    { c.now() } -> std::same_as<std::chrono::system_clock::time_point>;
    { c.sleep_until(t) } -> std::same_as<void>;
  };

}  // namespace tributary
