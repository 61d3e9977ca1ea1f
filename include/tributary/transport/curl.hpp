#pragma once
// curl_transport: the production transport, on libcurl's multi interface. One multi handle per
// transport drives every transfer from the calling thread: bounded concurrency overall and per host,
// per-attempt timeouts, retries of idempotent requests with exponential backoff and full jitter
// honouring Retry-After, TLS verification on, HTTP/2 where offered, gzip/deflate decoded, response
// bodies bounded (max_response_bytes), and a stop flag for graceful shutdown (curl_options::stop).
//
// Link tributary::curl. Needs libcurl 7.66 or newer (curl_multi_poll, CURLINFO_RETRY_AFTER).

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tributary/concepts.hpp>
#include <tributary/error.hpp>
#include <tributary/retry.hpp>
#include <tributary/transport/http.hpp>

#if LIBCURL_VERSION_NUM < 0x074200
#error "tributary/transport/curl.hpp needs libcurl 7.66.0 or newer"
#endif

namespace tributary {

/// libcurl's process-wide initialisation, made explicit: create one `curl_library` (early in main,
/// before other threads start, since curl_global_init is not thread-safe on every build) and pass it
/// to every curl_transport. It must outlive all transports constructed from it. Instances may nest;
/// each one pairs one curl_global_init with one curl_global_cleanup.
class curl_library {
 public:
  curl_library() {
    if (const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK)
      throw error(errc::transport_failed, std::string("curl_global_init failed: ") + curl_easy_strerror(rc));
    const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
    version_ = info->version ? info->version : "unknown";
    ssl_version_ = info->ssl_version ? info->ssl_version : "";
  }
  ~curl_library() { curl_global_cleanup(); }
  curl_library(const curl_library&) = delete;
  curl_library& operator=(const curl_library&) = delete;

  [[nodiscard]] const std::string& version() const noexcept { return version_; }
  /// Empty when libcurl was built without TLS.
  [[nodiscard]] const std::string& ssl_version() const noexcept { return ssl_version_; }

 private:
  std::string version_;
  std::string ssl_version_;
};

enum class curl_log_level { info, warning, error };

struct curl_options {
  std::size_t max_concurrent = 16;  ///< requests in flight at once, all hosts together
  std::size_t max_per_host = 6;     ///< requests in flight at once to one scheme://host:port
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(10);  ///< per attempt
  /// One whole attempt (connect, send, receive); a request may take up to max_attempts of these
  /// plus the backoff waits between them.
  std::chrono::milliseconds total_timeout = std::chrono::seconds(60);
  unsigned max_attempts = 3;  ///< 1 disables retries
  /// Before retry n (n = 1, 2, ...) wait a uniform draw from [0, min(backoff_cap, backoff_base * 2^(n-1))].
  std::chrono::milliseconds backoff_base = std::chrono::milliseconds(200);
  std::chrono::milliseconds backoff_cap = std::chrono::seconds(10);
  /// Retry-After (seconds or HTTP-date) on a 429 or 5xx replaces the backoff draw; one longer than
  /// this is waited for only this long.
  std::chrono::milliseconds max_retry_after = std::chrono::seconds(60);
  std::uint64_t seed = 0x6375726c5f726e67;  ///< of the jitter RNG, so a run can be replayed
  std::string ca_file;                       ///< PEM bundle to trust instead of the system's
  bool insecure_skip_verify = false;         ///< never in production; logged as a warning
  std::string user_agent = "tributary/0.1 (libcurl)";
  http_headers default_headers;  ///< sent with every request unless the request sets the same name
  /// Receives the transport's warnings; when empty they go to std::cerr, so none is ever silent.
  std::function<void(curl_log_level, std::string_view)> logger;
  /// The most bytes of one response body kept in memory, counted after gzip/deflate decoding. A
  /// response whose body would exceed it (whatever its Content-Length says, or without one) fails that
  /// request alone, unretried, with http_response::error naming the limit; the rest is not read.
  std::size_t max_response_bytes = std::size_t{256} << 20;
  /// Graceful shutdown: once *stop reads true (set by a signal handler or another thread; the
  /// transport only reads it), nothing new starts, transfers in flight are aborted, retries and their
  /// waits are skipped, and every request not yet answered ends with http_response::error
  /// "interrupted" and status 0, within about 100 ms. perform_stream asks next() for nothing more.
  /// Must outlive the transport. nullptr: no stop flag.
  const std::atomic<bool>* stop = nullptr;

  /// Throws error(errc::invalid_config) naming the first problem found.
  void validate() const {
    auto fail = [](const std::string& what) { throw error(errc::invalid_config, "curl_options: " + what); };
    if (max_concurrent == 0) fail("max_concurrent must be at least 1");
    if (max_per_host == 0) fail("max_per_host must be at least 1");
    if (max_attempts == 0) fail("max_attempts must be at least 1");
    if (connect_timeout <= std::chrono::milliseconds::zero()) fail("connect_timeout must be positive");
    if (total_timeout <= std::chrono::milliseconds::zero()) fail("total_timeout must be positive");
    if (backoff_base < std::chrono::milliseconds::zero()) fail("backoff_base must not be negative");
    if (backoff_cap < backoff_base) fail("backoff_cap must not be below backoff_base");
    if (max_retry_after < std::chrono::milliseconds::zero()) fail("max_retry_after must not be negative");
    if (max_response_bytes == 0) fail("max_response_bytes must be at least 1");
  }
};

/// What a transport has done since it was made.
struct curl_transport_stats {
  std::uint64_t requests = 0;  ///< requests finished, successfully or not
  std::uint64_t attempts = 0;  ///< transfers started, retries included
  std::uint64_t retries = 0;
  std::chrono::milliseconds backoff{0};  ///< the sum of the waits scheduled before retries
  std::size_t peak_in_flight = 0;        ///< the most transfers in flight at once
  std::uint64_t connections = 0;         ///< new connections opened (the rest reused one, or an HTTP/2 stream)
};

/// Models `transport`. One transport is used by one thread at a time; transports share nothing, so
/// threads may each own one. `on_done` runs on the calling thread and may itself call perform or
/// perform_all on the same transport; an exception it throws cancels the rest of its batch and
/// propagates.
class curl_transport {
 public:
  using transport_concept = transport_tag;
  using clock_type = std::chrono::steady_clock;

  explicit curl_transport(const curl_library& library, curl_options options = {})
      : library_(&library), options_(std::move(options)), backoff_(options_.backoff_base, options_.backoff_cap, options_.seed, options_.max_retry_after) {
    options_.validate();
    multi_ = curl_multi_init();
    if (!multi_) throw error(errc::transport_failed, "curl_multi_init failed");
    // curl's own limits mirror ours so that it never opens connections we would not use; the bound
    // on requests in flight is enforced by this class (the queue below), not left to curl.
    curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(options_.max_concurrent));
    curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(options_.max_per_host));
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(options_.max_concurrent));
    curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    if (options_.insecure_skip_verify)
      log(curl_log_level::warning,
          "curl_transport: TLS certificate verification is OFF (insecure_skip_verify); any server can "
          "impersonate any host");
  }

  ~curl_transport() {
    for (CURL* easy : idle_) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi_);
  }
  curl_transport(const curl_transport&) = delete;
  curl_transport& operator=(const curl_transport&) = delete;

  /// One request, retried as configured. Never throws for transport failures: see http_response::error.
  http_response perform(http_request request) {
    http_response out;
    std::vector<http_request> one;
    one.push_back(std::move(request));
    perform_all(std::move(one), [&out](std::size_t, http_response&& r) { out = std::move(r); });
    return out;
  }

  /// Many requests, at most max_concurrent (and max_per_host per host) in flight; the rest queue
  /// here. on_done(position, http_response&&) runs on this thread as each request finishes.
  /// A request waiting for its retry holds no slot: the others go on meanwhile. http_response::elapsed
  /// runs from the request's first attempt to its last, backoff waits included.
  template <class F>
  void perform_all(std::vector<http_request> requests, F&& on_done) {
    batch b;
    batch_guard guard{*this, b};
    b.transfers.reserve(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
      auto t = std::make_unique<transfer>();
      t->owner = &b;
      t->position = i;
      t->request = std::move(requests[i]);
      b.transfers.push_back(std::move(t));
    }
    b.unfinished = b.transfers.size();
    for (auto& t : b.transfers) admit(*t);
    while (b.unfinished > 0) {
      if (!b.finished.empty()) {
        transfer* t = b.finished.front();
        b.finished.pop_front();
        --b.unfinished;
        t->state = transfer_state::delivered;
        on_done(t->position, std::move(t->response));
        continue;
      }
      step();
    }
  }

  /// Models streaming_transport: asks next() for a request whenever fewer than max_concurrent are
  /// in flight or queued here, so requests made late (from earlier answers) never wait behind a batch.
  /// on_done(ticket, http_response&&) runs on this thread as each finishes; tickets count the requests
  /// in the order next() gave them. Retries, bounds and the exception rule are those of perform_all.
  template <class G, class F>
  void perform_stream(G&& next, F&& on_done) {
    batch b;
    batch_guard guard{*this, b};
    bool asking = true;  // next() may have more; asked again after each delivery
    while (true) {
      if (stopping()) asking = false;
      while (asking && in_flight_ + ready_.size() < options_.max_concurrent) {
        std::optional<http_request> request = next();
        if (!request) {
          asking = false;
          break;
        }
        auto t = std::make_unique<transfer>();
        t->owner = &b;
        t->position = b.transfers.size();
        t->request = std::move(*request);
        b.transfers.push_back(std::move(t));
        ++b.unfinished;
        admit(*b.transfers.back());
      }
      if (!b.finished.empty()) {
        // New requests go on the wire before the caller spends time on an answer.
        if (!ready_.empty()) advance();
        transfer* t = b.finished.front();
        b.finished.pop_front();
        --b.unfinished;
        t->state = transfer_state::delivered;
        const std::size_t ticket = t->position;
        http_response response = std::move(t->response);
        b.transfers[ticket].reset();  // a long stream keeps no finished transfer alive
        on_done(ticket, std::move(response));
        asking = true;
        continue;
      }
      if (b.unfinished == 0 && !asking) return;
      // Ours are in flight, or (called from another batch's on_done) that batch holds every slot.
      step();
    }
  }

  [[nodiscard]] const curl_options& options() const noexcept { return options_; }
  [[nodiscard]] const curl_transport_stats& stats() const noexcept { return stats_; }
  [[nodiscard]] const curl_library& library() const noexcept { return *library_; }

  /// The ceiling of the jittered wait before retry `retry` (1 for the first retry).
  [[nodiscard]] std::chrono::milliseconds backoff_ceiling(unsigned retry) const noexcept {
    return backoff_.ceiling(retry);
  }

 private:
  enum class transfer_state { queued, running, waiting, finished, delivered };

  struct batch;

  struct transfer {
    batch* owner = nullptr;
    std::size_t position = 0;
    http_request request;
    std::string host_key;   // scheme://host:port, the unit of max_per_host
    std::string host_port;  // for messages
    transfer_state state = transfer_state::queued;
    unsigned attempts = 0;
    clock_type::time_point first_start{};
    clock_type::time_point due{};  // when a waiting retry may start
    CURL* easy = nullptr;
    curl_slist* header_list = nullptr;
    http_response response;
    char error_buffer[CURL_ERROR_SIZE] = {};
    // The response being received, as far as bounding its body goes; reset by each status line.
    std::size_t max_body = 0;  // options_.max_response_bytes, for the callbacks
    int status = 0;
    std::optional<std::uint64_t> content_length;
    bool length_unreliable = false;  // a Content-Encoding or Transfer-Encoding: the decoded size differs
    bool too_large = false;          // the callbacks stopped the transfer at max_body
  };

  struct batch {
    std::vector<std::unique_ptr<transfer>> transfers;
    std::size_t unfinished = 0;
    std::deque<transfer*> finished;  // done, on_done not yet called
  };

  // Withdraws whatever of a batch is still queued, waiting or running when perform_all leaves,
  // normally or by an exception from on_done.
  struct batch_guard {
    curl_transport& self;
    batch& b;
    ~batch_guard() {
      for (auto& t : b.transfers)
        if (t) self.withdraw(*t);
    }
  };

  [[nodiscard]] bool stopping() const noexcept {
    return options_.stop != nullptr && options_.stop->load(std::memory_order_acquire);
  }

  void log(curl_log_level level, std::string_view message) const {
    if (options_.logger) {
      options_.logger(level, message);
      return;
    }
    std::cerr << "tributary: " << message << '\n';
  }

  // Parses the URL once; a request whose URL curl cannot parse finishes at once with an error.
  void admit(transfer& t) {
    CURLU* url = curl_url();
    if (!url) throw error(errc::transport_failed, "curl_url failed");
    std::string problem;
    if (const CURLUcode rc = curl_url_set(url, CURLUPART_URL, t.request.url.c_str(), 0); rc != CURLUE_OK) {
      problem = curl_url_strerror(rc);
    } else {
      auto part = [&](CURLUPart which, unsigned flags) {
        char* value = nullptr;
        std::string out;
        if (curl_url_get(url, which, &value, flags) == CURLUE_OK && value) out = value;
        curl_free(value);
        return out;
      };
      const std::string scheme = part(CURLUPART_SCHEME, 0);
      const std::string host = part(CURLUPART_HOST, 0);
      const std::string port = part(CURLUPART_PORT, CURLU_DEFAULT_PORT);
      if (scheme != "http" && scheme != "https") problem = "scheme '" + scheme + "' is not http or https";
      t.host_port = host + ":" + port;
      std::string key = scheme + "://" + t.host_port;
      std::transform(key.begin(), key.end(), key.begin(),
                     [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
      t.host_key = std::move(key);
    }
    curl_url_cleanup(url);
    if (!problem.empty()) {
      t.response = {};
      t.response.error = t.request.method + " " + t.request.url + ": invalid URL: " + problem;
      finish(t);
      return;
    }
    t.state = transfer_state::queued;
    ready_.push_back(&t);
  }

  // One turn of the loop: start what the bounds allow, let curl work, collect what finished, and
  // sleep until the next socket event, curl timeout or retry timer.
  void step() {
    if (advance()) return;  // let the caller deliver before sleeping
    if (!ready_.empty() && in_flight_ < options_.max_concurrent && can_start_any()) return;
    // Wait for sockets, at most until the next retry is due; curl shortens this for its own timers.
    // With a stop flag, wake often enough to see it: a signal handler cannot call curl_multi_wakeup.
    auto wait = options_.stop ? std::chrono::milliseconds(100) : std::chrono::milliseconds(1000);
    if (!waiting_.empty()) {
      auto next = waiting_.front()->due;
      for (const transfer* w : waiting_) next = std::min(next, w->due);
      const auto until = std::chrono::ceil<std::chrono::milliseconds>(next - clock_type::now());
      wait = std::clamp(until, std::chrono::milliseconds(0), wait);
    }
    if (const CURLMcode rc = curl_multi_poll(multi_, nullptr, 0, static_cast<int>(wait.count()), nullptr);
        rc != CURLM_OK)
      throw error(errc::transport_failed, std::string("curl_multi_poll: ") + curl_multi_strerror(rc));
  }

  // Starts what the bounds allow and lets curl work without waiting; true when a transfer finished.
  bool advance() {
    if (stopping()) return interrupt_all();
    promote_due_retries(clock_type::now());
    start_ready();
    int running = 0;
    if (const CURLMcode rc = curl_multi_perform(multi_, &running); rc != CURLM_OK)
      throw error(errc::transport_failed, std::string("curl_multi_perform: ") + curl_multi_strerror(rc));
    bool any_done = false;
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      complete(*t, msg->data.result);
      any_done = true;
    }
    return any_done;
  }

  // The stop flag is set: ends every transfer of this transport not yet finished, whichever batch
  // (nested calls from on_done included) it belongs to. True when there was one.
  bool interrupt_all() {
    const bool any = !ready_.empty() || !waiting_.empty() || !running_.empty();
    for (transfer* t : ready_) interrupt(*t);
    ready_.clear();
    for (transfer* t : waiting_) interrupt(*t);
    waiting_.clear();
    while (!running_.empty()) {
      transfer& t = *running_.back();
      leave_multi(t);  // aborts the transfer; curl closes its connection
      interrupt(t);
    }
    return any;
  }

  void interrupt(transfer& t) {
    t.response = {};
    t.response.error = "interrupted";
    finish(t);
  }

  void promote_due_retries(clock_type::time_point now) {
    // A retry already admitted goes before requests that have not started yet.
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      if ((*it)->due <= now) {
        (*it)->state = transfer_state::queued;
        ready_.push_front(*it);
        it = waiting_.erase(it);
      } else {
        ++it;
      }
    }
  }

  [[nodiscard]] bool host_has_room(const std::string& host_key) const {
    const auto it = per_host_.find(host_key);
    return it == per_host_.end() || it->second < options_.max_per_host;
  }

  [[nodiscard]] bool can_start_any() const {
    return std::any_of(ready_.begin(), ready_.end(), [&](const transfer* t) { return host_has_room(t->host_key); });
  }

  void start_ready() {
    for (auto it = ready_.begin(); it != ready_.end() && in_flight_ < options_.max_concurrent;) {
      transfer& t = **it;
      if (!host_has_room(t.host_key)) {
        ++it;
        continue;
      }
      it = ready_.erase(it);
      start(t);
    }
  }

  [[nodiscard]] CURL* acquire_easy() {
    if (!idle_.empty()) {
      CURL* easy = idle_.back();
      idle_.pop_back();
      curl_easy_reset(easy);  // options only: caches and the multi's connection pool stay
      return easy;
    }
    CURL* easy = curl_easy_init();
    if (!easy) throw error(errc::transport_failed, "curl_easy_init failed");
    return easy;
  }

  [[nodiscard]] static bool same_name(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    for (std::size_t i = 0; i < a.size(); ++i)
      if (lower(a[i]) != lower(b[i])) return false;
    return true;
  }

  [[nodiscard]] curl_slist* build_headers(const http_request& req) const {
    curl_slist* list = nullptr;
    auto append = [&list](const std::string& name, const std::string& value) {
      // curl drops a header given as "Name:" with no value; "Name;" sends it empty.
      const std::string line = value.empty() ? name + ";" : name + ": " + value;
      curl_slist* grown = curl_slist_append(list, line.c_str());
      if (!grown) {
        curl_slist_free_all(list);
        throw error(errc::transport_failed, "curl_slist_append failed");
      }
      list = grown;
    };
    bool has_expect = false;
    for (const auto& header : options_.default_headers) {
      const bool overridden = std::any_of(req.headers.begin(), req.headers.end(),
                                          [&](const auto& h) { return same_name(h.first, header.first); });
      if (!overridden) append(header.first, header.second);
      has_expect = has_expect || same_name(header.first, "Expect");
    }
    for (const auto& [name, value] : req.headers) {
      append(name, value);
      has_expect = has_expect || same_name(name, "Expect");
    }
    // No "Expect: 100-continue" pause before large bodies unless the caller asks for it.
    if (!has_expect) {
      curl_slist* grown = curl_slist_append(list, "Expect:");
      if (!grown) {
        curl_slist_free_all(list);
        throw error(errc::transport_failed, "curl_slist_append failed");
      }
      list = grown;
    }
    return list;
  }

  static constexpr std::size_t parse_padding = 64;

  // Returning less than it was given makes curl stop the transfer (CURLE_WRITE_ERROR).
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* t = static_cast<transfer*>(user);
    const std::size_t n = size * count;
    std::string& body = t->response.body;
    if (n > t->max_body - body.size()) {
      t->too_large = true;
      return 0;
    }
    // Grow by doubling as usual, but never past the limit: memory stays within about max_body.
    if (body.size() + n > body.capacity())
      body.reserve(std::min(t->max_body, std::max(body.size() + n, 2 * body.capacity())));
    body.append(data, n);
    return n;
  }

  // The length of the body a final response's headers declare; nullopt when the body is encoded (its
  // decoded size is unknown), absent, or of no declared length.
  [[nodiscard]] static std::optional<std::uint64_t> declared_length(const transfer& t) {
    if (!t.content_length || t.length_unreliable || t.request.method == "HEAD") return std::nullopt;
    if (t.status < 200 || t.status == 204 || t.status == 304) return std::nullopt;
    return t.content_length;
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* t = static_cast<transfer*>(user);
    std::string_view line(data, size * count);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
    // A new status line (after 100 Continue, say) starts a new set of headers.
    if (line.starts_with("HTTP/")) {
      t->response.headers.clear();
      t->status = 0;
      t->content_length.reset();
      t->length_unreliable = false;
      if (const auto space = line.find(' '); space != std::string_view::npos) {
        const std::string_view code = line.substr(space + 1, 3);
        std::from_chars(code.data(), code.data() + code.size(), t->status);
      }
      return size * count;
    }
    if (line.empty()) {
      // A Content-Length over the limit ends the transfer before any of the body is read; one within
      // it is read into one allocation rather than a doubling string's copies, with room past its end
      // for a parser that reads beyond the text (simdjson reads up to 64 bytes) to parse it in place.
      if (const auto length = declared_length(*t)) {
        if (*length > t->max_body) {
          t->too_large = true;
          return 0;
        }
        t->response.body.reserve(static_cast<std::size_t>(*length) + parse_padding);
      }
      return size * count;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return size * count;
    auto trim = [](std::string_view s) {
      while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
      while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
      return s;
    };
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view value = trim(line.substr(colon + 1));
    if (same_name(name, "Content-Length")) {
      std::uint64_t length = 0;
      if (std::from_chars(value.data(), value.data() + value.size(), length).ec == std::errc{})
        t->content_length = length;
    } else if (same_name(name, "Transfer-Encoding") ||
               (same_name(name, "Content-Encoding") && !same_name(value, "identity"))) {
      t->length_unreliable = true;
    }
    t->response.headers.emplace_back(std::string(name), std::string(value));
    return size * count;
  }

  void start(transfer& t) {
    CURL* easy = acquire_easy();
    curl_slist* headers = nullptr;
    try {
      headers = build_headers(t.request);
    } catch (...) {
      idle_.push_back(easy);
      throw;
    }
    t.easy = easy;
    t.header_list = headers;
    t.response = {};
    t.error_buffer[0] = '\0';
    t.max_body = options_.max_response_bytes;
    t.status = 0;
    t.content_length.reset();
    t.length_unreliable = false;
    t.too_large = false;
    const http_request& req = t.request;

    curl_easy_setopt(easy, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM: other threads may be running
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t.error_buffer);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &curl_transport::on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &curl_transport::on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");  // every encoding curl can decode
    curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
    // Over TLS, wait for a new connection's ALPN answer and multiplex on it if it is HTTP/2. Never over
    // cleartext, where HTTP/2 is not tried: curl would hold every other request to the host until the
    // first connection's first response, however slow that one is.
    if (t.host_key.starts_with("https://")) curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, options_.insecure_skip_verify ? 0L : 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, options_.insecure_skip_verify ? 0L : 2L);
    if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (!options_.user_agent.empty()) curl_easy_setopt(easy, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);

    if (req.method == "GET") {
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
    } else if (req.method == "HEAD") {
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else {
      if (req.method == "POST") {
        curl_easy_setopt(easy, CURLOPT_POST, 1L);
      } else {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      }
      if (req.method == "POST" || !req.body.empty()) {
        // The body lives in the transfer for the whole attempt: no copy.
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req.body.data());
      }
    }

    if (const CURLMcode rc = curl_multi_add_handle(multi_, easy); rc != CURLM_OK) {
      release(t);
      throw error(errc::transport_failed, std::string("curl_multi_add_handle: ") + curl_multi_strerror(rc));
    }
    const auto now = clock_type::now();
    if (t.attempts == 0) t.first_start = now;
    ++t.attempts;
    ++stats_.attempts;
    t.state = transfer_state::running;
    running_.push_back(&t);
    ++in_flight_;
    ++per_host_[t.host_key];
    stats_.peak_in_flight = std::max(stats_.peak_in_flight, in_flight_);
  }

  // Gives the easy handle back to the pool and frees the slots the transfer held.
  void release(transfer& t) {
    if (t.header_list) curl_slist_free_all(t.header_list);
    t.header_list = nullptr;
    if (t.easy) idle_.push_back(t.easy);
    t.easy = nullptr;
  }

  void leave_multi(transfer& t) {
    curl_multi_remove_handle(multi_, t.easy);
    release(t);
    running_.erase(std::remove(running_.begin(), running_.end(), &t), running_.end());
    --in_flight_;
    if (auto it = per_host_.find(t.host_key); it != per_host_.end() && --it->second == 0) per_host_.erase(it);
  }

  [[nodiscard]] static bool retryable(CURLcode code) noexcept {
    switch (code) {
      case CURLE_COULDNT_CONNECT:
      case CURLE_OPERATION_TIMEDOUT:
      case CURLE_GOT_NOTHING:
      case CURLE_SEND_ERROR:
      case CURLE_RECV_ERROR:
      case CURLE_PARTIAL_FILE:
      case CURLE_HTTP2:
      case CURLE_HTTP2_STREAM:
        return true;
      default:
        return false;
    }
  }

  [[nodiscard]] std::string describe(const transfer& t, CURLcode code) const {
    const std::string detail = t.error_buffer[0] ? std::string(t.error_buffer) : curl_easy_strerror(code);
    switch (code) {
      case CURLE_COULDNT_CONNECT: {
        long os_errno = 0;
        curl_easy_getinfo(t.easy, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno == ECONNREFUSED) return "connection refused to " + t.host_port;
        return "could not connect to " + t.host_port + ": " + detail;
      }
      case CURLE_OPERATION_TIMEDOUT: {
        curl_off_t connected_us = 0;
        curl_easy_getinfo(t.easy, CURLINFO_CONNECT_TIME_T, &connected_us);
        if (connected_us == 0) {
          const auto limit = std::min(options_.connect_timeout, options_.total_timeout);
          return "timed out after " + std::to_string(limit.count()) + " ms connecting to " + t.host_port;
        }
        return "timed out after " + std::to_string(options_.total_timeout.count()) + " ms (total_timeout) waiting for " +
               t.host_port;
      }
      case CURLE_PEER_FAILED_VERIFICATION:
        return "TLS certificate verification failed: " + detail;
      case CURLE_SSL_CACERT_BADFILE:
        return "cannot use CA file '" + options_.ca_file + "': " + detail;
      case CURLE_SSL_CONNECT_ERROR:
        return "TLS handshake with " + t.host_port + " failed: " + detail;
      case CURLE_COULDNT_RESOLVE_HOST:
        return "could not resolve host of " + t.host_port + ": " + detail;
      case CURLE_GOT_NOTHING:
        return t.host_port + " closed the connection without a response";
      case CURLE_SEND_ERROR:
      case CURLE_RECV_ERROR:
        return "connection to " + t.host_port + " broke: " + detail;
      case CURLE_BAD_CONTENT_ENCODING:
        return "could not decode the response body: " + detail;
      default:
        return detail;
    }
  }

  void complete(transfer& t, CURLcode code) {
    long status = 0;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
    curl_off_t retry_after_s = 0;
    curl_easy_getinfo(t.easy, CURLINFO_RETRY_AFTER, &retry_after_s);
    long version = CURL_HTTP_VERSION_NONE;
    curl_easy_getinfo(t.easy, CURLINFO_HTTP_VERSION, &version);
    long connects = 0;
    curl_easy_getinfo(t.easy, CURLINFO_NUM_CONNECTS, &connects);
    stats_.connections += static_cast<std::uint64_t>(std::max(connects, 0L));
    // An oversized body is the server's answer, not a transient failure: the status stays, no retry.
    const bool answered = code == CURLE_OK || t.too_large;
    std::string failure = t.too_large ? "response body exceeds max_response_bytes (" +
                                            std::to_string(options_.max_response_bytes) + " bytes)"
                          : code == CURLE_OK ? std::string()
                                             : describe(t, code);
    leave_multi(t);
    if (t.too_large) t.response.body = std::string();  // a partial body is no answer; free it now

    t.response.status = answered ? static_cast<int>(status) : 0;
    t.response.protocol = !answered                               ? ""
                          : version == CURL_HTTP_VERSION_3        ? "HTTP/3"
                          : version == CURL_HTTP_VERSION_2_0      ? "HTTP/2"
                          : version == CURL_HTTP_VERSION_1_1      ? "HTTP/1.1"
                          : version == CURL_HTTP_VERSION_1_0      ? "HTTP/1.0"
                                                                  : "";
    const bool retry_status = t.request.retry_on_status && code == CURLE_OK &&
                              (status == 429 || (status >= 500 && status <= 599));
    const bool may_retry = t.request.idempotent && t.attempts < options_.max_attempts && !t.too_large;
    if (may_retry && (retryable(code) || retry_status)) {
      if (stopping()) {
        // No retry will come, so the answer that asked for one is not the request's answer either.
        interrupt(t);
        return;
      }
      // A date in the past comes back negative from older libcurl: treat it as absent (backoff does).
      const auto delay = backoff_.delay(t.attempts, retry_status ? std::optional<std::chrono::milliseconds>(
                                                                       std::chrono::seconds(retry_after_s))
                                                                 : std::nullopt);
      ++stats_.retries;
      stats_.backoff += delay;
      t.due = clock_type::now() + delay;
      t.state = transfer_state::waiting;
      waiting_.push_back(&t);
      return;
    }
    if (!failure.empty()) {
      t.response.error = t.request.method + " " + t.request.url + ": " + failure + " (" + std::to_string(t.attempts) +
                         (t.attempts == 1 ? " attempt)" : " attempts)");
    }
    finish(t);
  }

  void finish(transfer& t) {
    if (t.attempts > 0)
      t.response.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t.first_start);
    t.state = transfer_state::finished;
    ++stats_.requests;
    t.owner->finished.push_back(&t);
  }

  // Takes a transfer out of every queue and out of curl; used when its batch is abandoned.
  void withdraw(transfer& t) noexcept {
    switch (t.state) {
      case transfer_state::queued:
        ready_.erase(std::remove(ready_.begin(), ready_.end(), &t), ready_.end());
        break;
      case transfer_state::waiting:
        waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), &t), waiting_.end());
        break;
      case transfer_state::running:
        leave_multi(t);
        break;
      case transfer_state::finished:
      case transfer_state::delivered:
        break;
    }
    t.state = transfer_state::delivered;
  }

  const curl_library* library_;
  curl_options options_;
  CURLM* multi_ = nullptr;
  std::vector<CURL*> idle_;          // easy handles ready for reuse
  std::deque<transfer*> ready_;      // admitted, waiting for a slot
  std::vector<transfer*> waiting_;   // waiting for their retry's time
  std::vector<transfer*> running_;   // in curl; at most max_concurrent
  std::size_t in_flight_ = 0;
  std::map<std::string, std::size_t, std::less<>> per_host_;
  backoff backoff_;  ///< the waits between retries (retry.hpp, which also says who retries what)
  curl_transport_stats stats_;
};

static_assert(transport<curl_transport>, "curl_transport must model tributary::transport (concepts.hpp)");
static_assert(streaming_transport<curl_transport>,
              "curl_transport must model tributary::streaming_transport (concepts.hpp)");

}  // namespace tributary
