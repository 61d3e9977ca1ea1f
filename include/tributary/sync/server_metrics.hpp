#pragma once
// The collector API server's counters for GET /metrics (sync/server.hpp), in the Prometheus text format.

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

namespace tributary::detail {

/// The methods /metrics names; any other is counted as "other".
inline constexpr std::string_view metric_methods[] = {"GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "OPTIONS"};

/// The server's counters, shared by its worker threads, written in the Prometheus text format. The
/// labels come from fixed sets (endpoints, methods, statuses the server answers), so the number of
/// series is bounded whatever clients send.
class sync_metrics {
 public:
  void request(std::string_view endpoint, std::string_view method, int status) {
    const bool known = std::find(std::begin(metric_methods), std::end(metric_methods), method) != std::end(metric_methods);
    std::lock_guard lock(mu_);
    ++requests_[{std::string(endpoint), known ? std::string(method) : std::string("other"), status}];
    if (status == 401 || status == 403 || status == 429) ++refused_[status];
  }
  void negotiated(std::size_t hashes, std::size_t unknown) {
    std::lock_guard lock(mu_);
    hashes_ += hashes;
    unknown_ += unknown;
  }
  void items(std::size_t stored, std::size_t exists, std::size_t rejected, std::size_t failed) {
    std::lock_guard lock(mu_);
    stored_ += stored, exists_ += exists, rejected_ += rejected, failed_ += failed;
  }

  [[nodiscard]] std::string prometheus() const {
    std::lock_guard lock(mu_);
    std::string o;
    family(o, "tributary_sync_requests_total", "counter", "Requests to the collector API, by endpoint, method and status.");
    for (const auto& [k, n] : requests_)
      o += "tributary_sync_requests_total{endpoint=\"" + k.endpoint + "\",method=\"" + k.method + "\",status=\"" +
           std::to_string(k.status) + "\"} " + std::to_string(n) + "\n";
    family(o, "tributary_sync_refused_total", "counter",
           "Requests refused before the store was touched: 401 without a valid key, 403 without the scope, 429 over the rate.");
    for (const int status : {401, 403, 429}) {
      const auto it = refused_.find(status);
      o += "tributary_sync_refused_total{status=\"" + std::to_string(status) + "\"} " +
           std::to_string(it == refused_.end() ? 0 : it->second) + "\n";
    }
    family(o, "tributary_sync_hashes_negotiated_total", "counter", "Hashes received by PUT /hashes (CUP step 1).");
    o += "tributary_sync_hashes_negotiated_total " + std::to_string(hashes_) + "\n";
    family(o, "tributary_sync_hashes_unknown_total", "counter", "Of those, the ones answered unknown (CUP step 3).");
    o += "tributary_sync_hashes_unknown_total " + std::to_string(unknown_) + "\n";
    family(o, "tributary_sync_items_total", "counter", "Items received by PUT /data (CUP step 4), by result.");
    const std::pair<const char*, std::uint64_t> results[] = {
      {"stored", stored_}, {"exists", exists_}, {"rejected", rejected_}, {"failed", failed_}};
    for (const auto& [result, n] : results) o += std::string("tributary_sync_items_total{result=\"") + result + "\"} " + std::to_string(n) + "\n";
    return o;
  }

 private:
  struct request_key {
    std::string endpoint, method;
    int status;
    bool operator<(const request_key& o) const {
      return std::tie(endpoint, method, status) < std::tie(o.endpoint, o.method, o.status);
    }
  };
  static void family(std::string& o, const char* name, const char* type, const char* help) {
    o += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  mutable std::mutex mu_;
  std::map<request_key, std::uint64_t> requests_;
  std::map<int, std::uint64_t> refused_;
  std::uint64_t hashes_ = 0, unknown_ = 0, stored_ = 0, exists_ = 0, rejected_ = 0, failed_ = 0;
};

}  // namespace tributary::detail
