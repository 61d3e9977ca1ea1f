#pragma once
// The datasources ondemand_collector serves: one read from a JSON file, and a synthetic one of N
// entities for load.
//
// A static file holds a JSON array of entities, each {"entity_type":"host","entity_id":"h1","payload":{...}}
// ("payload" optional). It is read again at every get_all, so an edit shows at the next one; the sample
// time is the file's modification time, so an unchanged file never replaces newer news. get_changes
// answers every entity again (as updates) when the file changed since the previous call, else nothing.
// A file that is missing or malformed fails the call, naming the file and the problem.

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <string>
#include <utility>
#include <vector>

#include <simdjson.h>

#include <tributary/error.hpp>
#include <tributary/ondemand/datasource.hpp>
#include <tributary/ondemand/event.hpp>

namespace tributary::examples::ondemand {

class static_file_source {
 public:
  using datasource_concept = datasource_tag;

  static_file_source(std::string name, std::string path) : name_(std::move(name)), path_(std::move(path)) {}

  [[nodiscard]] std::string name() const { return name_; }
  std::vector<entity_event> get_all(event_action action) { return read(action); }
  std::vector<entity_event> get_changes() {
    if (modified() == *last_read_) return {};
    return read(event_action::update);
  }

  /// Reads the file once, to refuse a bad one at start-up rather than at the first call.
  void check() { (void)read(event_action::snapshot); }

 private:
  std::int64_t modified() const {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) throw error(errc::not_found, path_ + ": cannot read the file");
    return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000 + st.st_mtim.tv_nsec / 1000;
  }

  std::vector<entity_event> read(event_action action) {
    const std::int64_t us = modified();
    std::ifstream in(path_, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) throw error(errc::not_found, path_ + ": cannot read the file");
    simdjson::dom::parser parser;
    simdjson::dom::array entities;
    if (const auto err = parser.parse(simdjson::padded_string(text.str())).get(entities))
      throw error(errc::bad_document, path_ + ": not a JSON array of entities (" + simdjson::error_message(err) + ")");
    std::vector<entity_event> out;
    std::size_t i = 0;
    for (auto value : entities) {
      const std::string at = path_ + ": [" + std::to_string(i++) + "]";
      std::string_view type, id;
      if (value["entity_type"].get(type) || type.empty()) throw error(errc::bad_document, at + " needs a non-empty string entity_type");
      if (value["entity_id"].get(id) || id.empty()) throw error(errc::bad_document, at + " needs a non-empty string entity_id");
      entity_event e;
      e.datasource = name_;
      e.entity_type = std::string(type);
      e.entity_id = std::string(id);
      e.action = action;
      e.sampled = sample_time(std::chrono::microseconds(us));
      simdjson::dom::element payload;
      e.payload = value["payload"].get(payload) ? "{}" : simdjson::minify(payload);
      out.push_back(std::move(e));
    }
    *last_read_ = us;
    return out;
  }

  std::string name_, path_;
  std::shared_ptr<std::int64_t> last_read_ = std::make_shared<std::int64_t>(-1);  // the service serializes calls
};

/// N entities "s-0" .. "s-<N-1>" of type "synthetic", sampled now; get_changes updates the next ten.
/// `slow`: each get_all takes that much longer (a slow source, so that a demo's kill lands mid-call).
/// It streams (streaming_datasource): a service holds its get_all three pages at a time at most, however large.
class synthetic_source {
 public:
  using datasource_concept = datasource_tag;
  using streaming_datasource_concept = streaming_datasource_tag;

  synthetic_source(std::string name, std::size_t n, std::chrono::milliseconds slow = {}) : name_(std::move(name)), n_(n), slow_(slow) {}

  [[nodiscard]] std::string name() const { return name_; }
  std::vector<entity_event> get_all(event_action action) {
    if (slow_.count()) std::this_thread::sleep_for(slow_);
    const auto now = now_us();
    const auto generation = ++*generation_;
    std::vector<entity_event> out;
    out.reserve(n_);
    for (std::size_t i = 0; i < n_; ++i) out.push_back(make(i, action, now, generation));
    return out;
  }
  void stream_all(event_action action, event_sink& sink) {
    if (slow_.count()) std::this_thread::sleep_for(slow_);
    const auto now = now_us();
    const auto generation = ++*generation_;
    for (std::size_t i = 0; i < n_; ++i)
      if (!sink.push(make(i, action, now, generation))) return;
  }
  std::vector<entity_event> get_changes() {
    const auto now = now_us();
    const auto generation = ++*generation_;
    std::vector<entity_event> out;
    for (std::size_t k = 0; k < std::min<std::size_t>(10, n_); ++k) out.push_back(make((*next_change_)++ % n_, event_action::update, now, generation));
    return out;
  }

 private:
  static sample_time now_us() {
    return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
  }
  entity_event make(std::size_t i, event_action action, sample_time at, std::uint64_t generation) const {
    entity_event e;
    e.datasource = name_;
    e.entity_type = "synthetic";
    e.entity_id = "s-" + std::to_string(i);
    e.action = action;
    e.sampled = at;
    e.payload = "{\"i\":" + std::to_string(i) + ",\"generation\":" + std::to_string(generation) + "}";
    return e;
  }

  std::string name_;
  std::size_t n_;
  std::chrono::milliseconds slow_;
  std::shared_ptr<std::uint64_t> generation_ = std::make_shared<std::uint64_t>(0);
  std::shared_ptr<std::size_t> next_change_ = std::make_shared<std::size_t>(0);
};

}  // namespace tributary::examples::ondemand
