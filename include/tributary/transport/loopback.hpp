#pragma once
// loopback_transport: requests are answered by in-process handlers registered per origin
// (`http://xroad.dev`), so whole protocols run in tests without a network.

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/concepts.hpp>
#include <tributary/transport/http.hpp>

namespace tributary {

class loopback_transport {
 public:
  using transport_concept = transport_tag;
  using handler = std::function<http_response(const http_request&)>;

  /// Routes every request whose URL starts with `origin` (scheme://host[:port]) to `h`.
  void route(std::string origin, handler h) {
    std::lock_guard lock(mu_);
    routes_[std::move(origin)] = std::move(h);
  }

  http_response perform(http_request req) {
    handler h;
    {
      std::lock_guard lock(mu_);
      for (const auto& [origin, candidate] : routes_) {
        if (req.url.starts_with(origin) &&
            (req.url.size() == origin.size() || req.url[origin.size()] == '/' || req.url[origin.size()] == '?')) {
          h = candidate;
          break;
        }
      }
    }
    if (!h) {
      http_response r;
      r.error = "loopback_transport: no handler for '" + req.url + "'";
      return r;
    }
    return h(req);
  }

  template <class F>
  void perform_all(std::vector<http_request> reqs, F&& on_done) {
    for (std::size_t i = 0; i < reqs.size(); ++i) on_done(i, perform(std::move(reqs[i])));
  }

  /// Models streaming_transport: one request at a time, each answered before the next is asked for.
  template <class G, class F>
  void perform_stream(G&& next, F&& on_done) {
    for (std::size_t ticket = 0;; ++ticket) {
      std::optional<http_request> req = next();
      if (!req) return;
      on_done(ticket, perform(std::move(*req)));
    }
  }

 private:
  std::mutex mu_;
  std::map<std::string, handler, std::less<>> routes_;
};

}  // namespace tributary
