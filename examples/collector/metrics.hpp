#pragma once
// collector_metrics: what the collector's runs did, in the Prometheus text exposition format (version
// 0.0.4): served on GET /metrics in --every mode (--metrics-listen), or written to a file for the node
// exporter's textfile collector (--metrics-file; written to a temporary file and renamed, so the
// exporter never reads half a file). The file is written under the lock that scrapes take, so a scrape
// never shows a run the file does not hold yet.

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <system_error>

#include <tributary/collector/report.hpp>
#include <tributary/detail/json_text.hpp>
#include <tributary/error.hpp>

namespace tributary::examples {

class collector_metrics {
 public:
  /// `file`: where each record is written as well (none when empty).
  explicit collector_metrics(std::string environment, std::string file = {})
      : environment_(std::move(environment)), file_(std::move(file)) {}

  /// Counts a run that ended at `end` (wall time).
  void record(const run_report& report, std::chrono::system_clock::time_point end) {
    std::lock_guard lock(mu_);
    ++runs_[to_string(report.outcome)];
    last_ = report;
    has_last_ = true;
    if (report.ok) last_activation_ = end;
    write_file();
  }
  /// Counts a run that did not start because another run of the environment held the lease.
  void record_skipped() {
    std::lock_guard lock(mu_);
    ++runs_["skipped"];
    write_file();
  }

  /// At start, before anything changes: throws if the file cannot be written, without replacing what
  /// an earlier process wrote there (its last activation stays visible until this run's record).
  void check_writable() const {
    if (file_.empty()) return;
    std::error_code ec;
    if (std::filesystem::is_directory(file_, ec))
      throw error(errc::invalid_config, "--metrics-file: '" + file_ + "' is a directory, not a file");
    if (!std::ofstream(temporary(), std::ios::out | std::ios::trunc)) throw cannot_write();
    std::error_code ignored;
    std::filesystem::remove(temporary(), ignored);
  }

  [[nodiscard]] std::string prometheus() const {
    std::lock_guard lock(mu_);
    return render();
  }

 private:
  std::string render() const {
    std::string o;
    const std::string env = "environment=" + label(environment_);
    family(o, "tributary_collector_runs_total", "counter", "Runs of the collection protocol, by how they ended.");
    for (const char* outcome : {"succeeded", "failed", "refused", "superseded", "interrupted", "skipped"}) {
      const auto it = runs_.find(outcome);
      o += "tributary_collector_runs_total{" + env + ",outcome=" + label(outcome) + "} " +
           std::to_string(it == runs_.end() ? 0 : it->second) + "\n";
    }
    if (has_last_) {
      family(o, "tributary_collector_last_run_phase_seconds", "gauge", "Duration of each phase of the last run.");
      for (const auto& ph : last_.phases)
        o += "tributary_collector_last_run_phase_seconds{" + env + ",phase=" + label(ph.phase) + "} " +
             seconds(ph.duration) + "\n";
      family(o, "tributary_collector_last_run_services", "gauge", "Services the last run collected.");
      o += "tributary_collector_last_run_services{" + env + "} " + std::to_string(last_.records) + "\n";
      family(o, "tributary_collector_last_run_providers_failed", "gauge", "Providers the last run failed to collect.");
      o += "tributary_collector_last_run_providers_failed{" + env + "} " + std::to_string(last_.providers_failed()) + "\n";
      std::map<std::string, std::size_t> peers;
      for (const auto& p : last_.peers) ++peers[to_string(p.outcome)];
      family(o, "tributary_collector_last_run_peers", "gauge", "Peers of the last run, by what became of them.");
      for (const auto& [outcome, n] : peers)
        o += "tributary_collector_last_run_peers{" + env + ",outcome=" + label(outcome) + "} " + std::to_string(n) + "\n";
    }
    if (last_activation_) {
      family(o, "tributary_collector_last_activation_timestamp_seconds", "gauge",
             "When a run of this process last switched the read alias (Unix time).");
      o += "tributary_collector_last_activation_timestamp_seconds{" + env + "} " +
           seconds(std::chrono::duration_cast<std::chrono::milliseconds>(last_activation_->time_since_epoch())) + "\n";
    }
    return o;
  }

  /// Writes the metrics to the file for the node exporter, if there is one: a temporary file beside it,
  /// then a rename. The caller holds the lock.
  void write_file() const {
    if (file_.empty()) return;
    const std::string tmp = temporary();
    {
      std::ofstream out(tmp, std::ios::out | std::ios::trunc);
      out << render();
      if (!out.flush()) throw cannot_write();
    }
    std::error_code ec;
    std::filesystem::rename(tmp, file_, ec);
    if (ec) {
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);  // nothing left beside the file
      throw error(errc::invalid_config, "--metrics-file: cannot rename '" + tmp + "' to '" + file_ + "': " + ec.message());
    }
  }

  /// Where the file is written before it is renamed over the file: beside it, so the rename is atomic.
  [[nodiscard]] std::string temporary() const { return file_ + ".tmp"; }
  [[nodiscard]] error cannot_write() const {
    return error(errc::invalid_config, "--metrics-file: cannot write '" + file_ + "' (through '" + temporary() + "')");
  }

  static void family(std::string& o, const char* name, const char* type, const char* help) {
    o += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  /// A label value: quoted, with backslash, quote and newline escaped as the format asks.
  static std::string label(std::string_view v) {
    std::string out = "\"";
    for (char c : v) {
      if (c == '\\' || c == '"') out += '\\', out += c;
      else if (c == '\n') out += "\\n";
      else out += c;
    }
    return out + "\"";
  }
  static std::string seconds(std::chrono::milliseconds d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(d.count()) / 1000.0);
    return buf;
  }

  std::string environment_;
  std::string file_;
  mutable std::mutex mu_;  // the metrics server reads while the run loop records
  std::map<std::string, std::uint64_t> runs_;
  run_report last_;
  bool has_last_ = false;
  std::optional<std::chrono::system_clock::time_point> last_activation_;
};

}  // namespace tributary::examples
