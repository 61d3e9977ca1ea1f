// datasets_collector: the second example, collecting records that are not X-Road services. Dataset
// records (examples/datasets/) come from a JSON-over-HTTP listing, one collector per environment,
// merged by the example's own rules into one SQLite store, and read back with the reader API.
//
//   datasets_collector serve [--port N]                                  the demo listing server
//   datasets_collector collect --store sqlite:///tmp/datasets.db --environment dev --source URL/dev
//   datasets_collector collect --store sqlite:///tmp/datasets.db --environment prod --source URL/prod
//   datasets_collector list --store sqlite:///tmp/datasets.db            the merged datasets
//
// scripts/demo-datasets runs all of it. Exit status: 0 done, 1 the run failed or was refused (the
// report says why), 2 bad usage.

#include <signal.h>

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <tributary/clock/wall.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/redact.hpp>
#include <tributary/transport/curl.hpp>

#include "datasets/collector.hpp"
#include "datasets/server.hpp"

namespace {

constexpr const char* name = "datasets_collector";

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << name << ": " << tributary::redact_urls_in(message) << "\nRun with --help for more information.\n";
  std::exit(2);
}

/// The store's file; only sqlite:// URLs: the example is about the record, not the backend.
std::string sqlite_path(const std::string& url) {
  if (!url.starts_with("sqlite://"))
    usage_error("--store " + tributary::detail::quote_url(url) +
                ": the datasets example keeps its datasets in SQLite; give sqlite:///path/datasets.db");
  try {
    return tributary::sqlite_index::parse_url(url);
  } catch (const tributary::error& e) {
    usage_error(e.what());
  }
}

int serve(std::uint16_t port) {
  // Blocked before the server's threads start, so that they inherit the mask and sigwait gets the signal.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  tributary::server_options options;
  options.port = port;
  datasets::listing_server server(datasets::demo_listings(), 2, options);
  server.start();
  std::cout << "serving the dev and prod listings at " << server.url("dev") << " and " << server.url("prod") << "\n"
            << "listening on " << server.base_url() << std::endl;
  int signal = 0;
  sigwait(&stop_signals, &signal);
  server.stop();
  return 0;
}

int collect(const std::string& store_url, const std::string& env, const std::string& source_url,
            const std::vector<std::string>& peers, const std::string& alias, long wait_deadline_s, bool quiet) {
  tributary::sqlite_index store(sqlite_path(store_url));
  tributary::curl_library curl;
  tributary::curl_options transport_options;
  transport_options.logger = [](tributary::curl_log_level, std::string_view) {};  // failures are in the report
  tributary::curl_transport transport(curl, transport_options);
  datasets::basic_dataset_collector<tributary::curl_transport, tributary::sqlite_index> collector(
      datasets::collector_config_for(env, peers, alias), transport, store, {},
      tributary::fixed_interval{std::chrono::seconds(1), std::chrono::seconds(wait_deadline_s)});
  datasets::http_dataset_source source({source_url, env});
  tributary::wall_clock clock;
  const auto report = collector.run(source, clock);
  if (!quiet || !report.ok) std::cerr << tributary::redact_urls_in(report.summary());
  return report.ok ? 0 : 1;
}

int list(const std::string& store_url, const std::string& alias) {
  // Read-only: a mistyped path is an error, not a new empty store.
  const auto store = tributary::sqlite_index(sqlite_path(store_url), tributary::sqlite_options{.read_only = true});
  datasets::print_datasets(std::cout, tributary::open_records<datasets::dataset_record>(store, alias));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The datasets example: collects dataset records (id, title, tags, license, rows) per environment\n"
               "from a JSON-over-HTTP listing into one SQLite store, merges the environments (title and license\n"
               "from prod, tags unioned, rows from the entry updated last) and lists the result.",
               name};
  app.require_subcommand(1);
  std::string store_url, env, source_url, alias = datasets::default_alias, peers_list = "dev,prod";
  long wait_deadline_s = 60;
  bool quiet = false;
  unsigned port = 0;

  auto* collect_cmd = app.add_subcommand("collect", "run one environment's collector once");
  collect_cmd->add_option("--store", store_url, "the SQLite store: sqlite:///path/datasets.db")->required();
  collect_cmd->add_option("--environment", env, "this collector's environment, e.g. dev or prod")->required();
  collect_cmd->add_option("--source", source_url, "the environment's listing, e.g. http://127.0.0.1:8080/dev")
      ->required();
  collect_cmd->add_option("--peers", peers_list, "comma-separated environments merged in (itself is left out)")
      ->capture_default_str();
  collect_cmd->add_option("--alias", alias, "the read alias")->capture_default_str();
  collect_cmd->add_option("--wait-deadline", wait_deadline_s, "seconds to wait for peers still collecting")
      ->check(CLI::Range(0L, 3600L))->capture_default_str();
  collect_cmd->add_flag("--quiet", quiet, "print the report only when the run fails");

  auto* list_cmd = app.add_subcommand("list", "print the merged datasets behind the read alias");
  list_cmd->add_option("--store", store_url, "the SQLite store: sqlite:///path/datasets.db")->required();
  list_cmd->add_option("--alias", alias, "the read alias")->capture_default_str();

  auto* serve_cmd = app.add_subcommand("serve", "serve the demo listings of dev and prod until SIGINT or SIGTERM");
  serve_cmd->add_option("--port", port, "port on 127.0.0.1; 0 picks a free one")->check(CLI::Range(0u, 65535u))
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    usage_error(e.what());
  }
  try {
    if (*serve_cmd) return serve(static_cast<std::uint16_t>(port));
    if (*list_cmd) return list(store_url, alias);
    if (!source_url.starts_with("http://") && !source_url.starts_with("https://"))
      usage_error("--source " + tributary::detail::quote_url(source_url) + ": expected an http:// or https:// URL");
    std::vector<std::string> peers;
    std::string cur;
    for (char c : peers_list + ",") {
      if (c != ',') cur += c;
      else if (!cur.empty()) peers.push_back(std::move(cur)), cur.clear();
    }
    return collect(store_url, env, source_url, peers, alias, wait_deadline_s, quiet);
  } catch (const tributary::error& e) {
    std::cerr << name << ": " << tributary::redact_urls_in(e.what()) << "\n";
    return e.code() == tributary::errc::invalid_config || e.code() == tributary::errc::invalid_name ? 2 : 1;
  }
}
