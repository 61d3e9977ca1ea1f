#pragma once
// What every fuzz target shares: how a finding is reported, which failures are expected, and fake
// transports that answer from the fuzz input in process (no sockets).
//
// A target is an inline function `void NAME(std::string_view input)` in fuzz/targets/NAME.hpp, so the
// same code runs under libFuzzer (fuzz/NAME.cpp) and in tests/fuzz_regression_test.cpp (any compiler).
// Expected failures are tributary::error; anything else (a crash, a sanitizer report, another
// exception, a broken property) is a finding.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include <tributary/collector/concepts.hpp>
#include <tributary/error.hpp>
#include <tributary/transport/http.hpp>

namespace tributary::fuzz {

/// Thrown by the finding handler the regression tests install (not a std::exception, so that no
/// `catch (const std::exception&)` in the code under test can swallow it).
struct finding_reported {
  std::string what;
};

/// Called with the description of a finding before the process aborts; null under libFuzzer. A handler
/// that throws (the tests' does) turns the finding into a test failure instead of an abort.
using finding_handler_fn = void (*)(const std::string&);
inline finding_handler_fn& finding_handler() {
  static finding_handler_fn handler = nullptr;
  return handler;
}

/// Reports a finding: a broken property, or a failure other than tributary::error.
[[noreturn]] inline void finding(const std::string& what) {
  if (const finding_handler_fn handler = finding_handler()) handler(what);
  std::fprintf(stderr, "\n==== tributary fuzz finding: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();  // libFuzzer keeps the input as a crash
}

inline void require(bool ok, const std::string& what) {
  if (!ok) finding(what);
}

/// Runs `f`; tributary::error is the expected way to refuse an input, so it is swallowed (and returned,
/// for targets that check what a refusal says). Any other exception is a finding.
template <class F>
std::optional<tributary::error> expect_errors(std::string_view where, F&& f) {
  try {
    std::forward<F>(f)();
  } catch (const tributary::error& e) {
    return e;
  } catch (const finding_reported&) {
    throw;
  } catch (const std::exception& e) {
    finding(std::string(where) + ": threw " + typeid(e).name() + " (not tributary::error): " + e.what());
  } catch (...) {
    finding(std::string(where) + ": threw something that is not a std::exception");
  }
  return std::nullopt;
}

/// Splits `input` at every `separator` (the ASCII record separator by default, which no JSON text holds).
[[nodiscard]] inline std::vector<std::string_view> split(std::string_view input, char separator = '\x1e') {
  std::vector<std::string_view> parts;
  while (true) {
    const auto at = input.find(separator);
    parts.push_back(input.substr(0, at));
    if (at == std::string_view::npos) return parts;
    input.remove_prefix(at + 1);
  }
}

[[nodiscard]] inline http_response answer(int status, std::string body) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

[[nodiscard]] inline http_response transport_error(std::string message) {
  http_response r;
  r.error = std::move(message);
  return r;
}

/// A transport whose answers come from a function. perform_all answers the batch last request first, so
/// callers that match answers to requests by position are checked against out-of-order completion.
class fake_transport {
 public:
  using transport_concept = transport_tag;
  using handler = std::function<http_response(const http_request&)>;

  explicit fake_transport(handler h) : answer_(std::move(h)) {}

  http_response perform(http_request req) {
    ++requests_;
    return answer_(req);
  }
  template <class F>
  void perform_all(std::vector<http_request> reqs, F&& on_done) {
    for (std::size_t i = reqs.size(); i-- > 0;) on_done(i, perform(std::move(reqs[i])));
  }
  [[nodiscard]] std::size_t requests() const noexcept { return requests_; }

 private:
  handler answer_;
  std::size_t requests_ = 0;
};

/// As fake_transport, and a streaming_transport: up to `window` requests in flight, the newest answered
/// first, so a caller's sliding window sees answers out of order.
class fake_streaming_transport : public fake_transport {
 public:
  explicit fake_streaming_transport(handler h, std::size_t window = 3) : fake_transport(std::move(h)), window_(window) {}

  template <class G, class F>
  void perform_stream(G&& next, F&& on_done) {
    std::vector<std::pair<std::size_t, http_request>> in_flight;
    std::size_t ticket = 0;
    while (true) {
      while (in_flight.size() < window_) {
        std::optional<http_request> req = next();
        if (!req) break;
        in_flight.emplace_back(ticket++, std::move(*req));
      }
      if (in_flight.empty()) return;
      auto [number, req] = std::move(in_flight.back());
      in_flight.pop_back();
      on_done(number, perform(std::move(req)));
    }
  }

 private:
  std::size_t window_;
};

static_assert(transport<fake_transport>);
static_assert(streaming_transport<fake_streaming_transport>);
static_assert(!streaming_transport<fake_transport>);

/// Answers requests in order from a script: `status-letter body` parts of the input, separated by
/// split()'s separator. When the script runs out every answer is a transport error, which bounds every
/// retry and paging loop. The letter picks the status (see status_of).
class scripted_answers {
 public:
  explicit scripted_answers(std::vector<std::string_view> parts) : parts_(std::move(parts)) {}

  /// The status a script part's first character stands for: readable in seed files.
  [[nodiscard]] static int status_of(char c) {
    switch (c) {
      case '2': return 200;
      case 'c': return 201;
      case 'b': return 400;
      case 'u': return 401;
      case 'f': return 403;
      case '4': return 404;
      case 'm': return 405;
      case 'x': return 413;
      case 'r': return 429;
      case '5': return 500;
      case '3': return 503;
      case 'e': return 0;  // a transport error
      default: return 200;
    }
  }

  http_response operator()(const http_request&) {
    if (next_ >= parts_.size()) return transport_error("fuzz: the script has no more answers");
    std::string_view part = parts_[next_++];
    if (part.empty()) return answer(200, {});
    const int status = status_of(part.front());
    part.remove_prefix(1);
    if (status == 0) return transport_error(std::string(part));
    return answer(status, std::string(part));
  }

 private:
  std::vector<std::string_view> parts_;
  std::size_t next_ = 0;
};

}  // namespace tributary::fuzz
