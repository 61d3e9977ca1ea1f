#pragma once
// listing_server: the datasets example's JSON-over-HTTP source, on tributary's basic_http_server. It
// serves one listing per environment under /{env}: GET /{env}/publishers and
// GET /{env}/datasets?publisher=ID&page=N, `page_size` datasets a page. Faults can be switched on per
// publisher (an error status, malformed JSON) or for the publisher list, to show how a collector
// reports them. demo_listings() is the demo's data for dev and prod.

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <tributary/detail/json_text.hpp>
#include <tributary/execution/thread_pool.hpp>
#include <tributary/server/http_server.hpp>

namespace datasets {

/// One dataset as a listing shows it.
struct listed_dataset {
  std::string id, title;
  std::vector<std::string> tags;
  std::string license;
  std::int64_t rows = 0;
  std::string updated;
};

struct listed_publisher {
  std::string id, name;
  std::vector<listed_dataset> datasets;
};

/// Per environment, its publishers.
using listings = std::map<std::string, std::vector<listed_publisher>>;

/// The demo's data: dev has a draft of one dataset, a newer count of another, and one prod lacks;
/// prod has one dev lacks.
[[nodiscard]] inline listings demo_listings() {
  listings l;
  l["dev"] = {
      {"stats", "Statistics Office",
       {{"births-monthly", "Births by month", {"population", "births"}, "CC0-1.0", 480, "2024-02-20T09:00:00Z"},
        {"population-by-county", "Population by county (draft)", {"population", "draft"}, "CC-BY-4.0", 15,
         "2024-03-02T10:00:00Z"},
        {"wages-2023", "Average wages 2023", {"wages"}, "CC-BY-4.0", 120, "2024-03-01T08:00:00Z"}}},
      {"transport", "Transport Administration",
       {{"road-traffic-counts", "Road traffic counts", {"traffic"}, "ODbL-1.0", 10500, "2024-03-03T06:00:00Z"}}},
  };
  l["prod"] = {
      {"stats", "Statistics Office",
       {{"population-by-county", "Population by county", {"population", "official"}, "CC-BY-4.0", 15,
         "2024-01-15T10:00:00Z"},
        {"wages-2023", "Average wages 2023", {"wages", "official"}, "CC-BY-4.0", 118, "2024-01-10T08:00:00Z"}}},
      {"transport", "Transport Administration",
       {{"bus-stops", "Bus stops", {"transport", "gtfs"}, "CC-BY-4.0", 3400, "2024-01-05T12:00:00Z"},
        {"road-traffic-counts", "Road traffic counts", {"traffic", "roads"}, "ODbL-1.0", 10200,
         "2024-02-01T06:00:00Z"}}},
  };
  return l;
}

class listing_server {
 public:
  explicit listing_server(listings data, std::size_t page_size = 2, tributary::server_options options = {})
      : pool_(2, 64), data_(std::move(data)), page_size_(page_size == 0 ? 1 : page_size),
        http_(pool_, handler{this}, std::move(options)) {}

  /// Starts serving; the port.
  std::uint16_t start() { return http_.start(); }
  void stop() { http_.stop(); }
  /// http://127.0.0.1:PORT/{env}: what a collector of `env` is given as its source.
  [[nodiscard]] std::string url(const std::string& env) const { return http_.base_url() + "/" + env; }
  [[nodiscard]] std::string base_url() const { return http_.base_url(); }

  /// Every page of `publisher`'s datasets is answered with `status` (say 500).
  void fail_publisher(const std::string& publisher, int status) {
    std::lock_guard l(mu_);
    failing_[publisher] = status;
  }
  /// `publisher`'s pages are not JSON.
  void break_publisher(const std::string& publisher) {
    std::lock_guard l(mu_);
    broken_.insert(publisher);
  }
  /// GET /{env}/publishers is answered with `status`.
  void fail_publisher_list(int status) {
    std::lock_guard l(mu_);
    list_status_ = status;
  }

 private:
  struct handler {
    using request_handler_concept = tributary::request_handler_tag;
    listing_server* self;
    tributary::server_response handle(tributary::server_request& r) { return self->answer(r); }
  };

  tributary::server_response answer(const tributary::server_request& r) {
    using tributary::server_response;
    using tributary::detail::append_quoted;
    const auto slash = r.path.find('/', 1);
    if (r.method != "GET" || slash == std::string::npos) return server_response::json(404, "{\"error\":\"not found\"}");
    const auto env = data_.find(r.path.substr(1, slash - 1));
    const std::string what = r.path.substr(slash);
    if (env == data_.end()) return server_response::json(404, "{\"error\":\"unknown environment\"}");
    std::lock_guard l(mu_);
    if (what == "/publishers") {
      if (list_status_ != 200) return server_response::json(list_status_, "{\"error\":\"injected\"}");
      std::string out = "{\"publishers\":[";
      for (std::size_t i = 0; i < env->second.size(); ++i) {
        out += i ? ",{\"id\":" : "{\"id\":", append_quoted(out, env->second[i].id);
        out += ",\"name\":", append_quoted(out, env->second[i].name), out += '}';
      }
      return server_response::json(200, out + "]}");
    }
    if (what != "/datasets") return server_response::json(404, "{\"error\":\"not found\"}");
    const std::string publisher(r.query_parameter("publisher").value_or(""));
    const listed_publisher* p = nullptr;
    for (const auto& candidate : env->second)
      if (candidate.id == publisher) p = &candidate;
    if (!p) return server_response::json(404, "{\"error\":\"unknown publisher\"}");
    if (auto f = failing_.find(publisher); f != failing_.end()) return server_response::json(f->second, "{\"error\":\"injected\"}");
    if (broken_.contains(publisher)) return server_response::json(200, "{\"datasets\":[{\"id\":");
    std::size_t page = 1;
    try {
      page = std::stoul(std::string(r.query_parameter("page").value_or("1")));
    } catch (const std::exception&) {
      return server_response::json(400, "{\"error\":\"bad page\"}");
    }
    if (page == 0) return server_response::json(400, "{\"error\":\"bad page\"}");
    const std::size_t from = (page - 1) * page_size_;
    std::string out = "{\"datasets\":[";
    for (std::size_t i = from; i < p->datasets.size() && i < from + page_size_; ++i) {
      const auto& d = p->datasets[i];
      out += i == from ? "{\"id\":" : ",{\"id\":", append_quoted(out, d.id);
      out += ",\"title\":", append_quoted(out, d.title);
      out += ",\"tags\":[";
      for (std::size_t t = 0; t < d.tags.size(); ++t) out += t ? "," : "", append_quoted(out, d.tags[t]);
      out += "],\"license\":", append_quoted(out, d.license);
      out += ",\"rows\":" + std::to_string(d.rows) + ",\"updated\":", append_quoted(out, d.updated), out += '}';
    }
    out += "],\"next_page\":";
    out += from + page_size_ < p->datasets.size() ? std::to_string(page + 1) : "null";
    return server_response::json(200, out + "}");
  }

  tributary::thread_pool pool_;  // before http_: the server's executor must outlive it
  listings data_;
  std::size_t page_size_;
  std::mutex mu_;
  std::map<std::string, int> failing_;
  std::set<std::string> broken_;
  int list_status_ = 200;
  tributary::basic_http_server<handler> http_;
};

}  // namespace datasets
