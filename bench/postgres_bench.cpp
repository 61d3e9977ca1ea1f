// postgres_index bulk-write throughput next to a plain COPY of the same rows, measured in one run.
//
//   TRIBUTARY_POSTGRES_URL=postgres://... postgres_bench [google benchmark flags]
//
// Every iteration writes one generated catalogue's local documents (bench/catalogue_generator.hpp) into
// a fresh worker index: postgres_index into a fresh index of a schema opened as the collectors open it
// (with the catalogue's search fields), the baseline into a fresh table `plain(idx text, id text, json
// text)` without keys or indexes that one binary COPY fills in one transaction; each through one
// connection for all its iterations. Index and table setup and removal are outside the timing.
// Informational, beside the bars (which are about the bulk write): postgres_index_publish/* also times
// the alias moving to the worker, which seals it (keeps the newest row of each id, builds its two keys)
// and builds its search index; keyed_copy/* is the plain COPY into a table with the store's row
// layout and the two keys it would otherwise keep row by row; plain_lz4_copy/* the plain COPY into a
// table whose documents are compressed with LZ4, as the store's are (the default, pglz, is slower).
// After the suites, the ratios of postgres_index's items/s to the plain COPY's are printed, and with
// --ratios=FILE written to FILE as JSON (bench/run adds them to bench-results.json).
// Without TRIBUTARY_POSTGRES_URL the program says how to start the server and exits 0.

#include <benchmark/benchmark.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include <tributary/catalogue/postgres_search.hpp>
#include <tributary/index/postgres.hpp>

#include "catalogue_generator.hpp"

namespace {

using namespace tributary;
using namespace tributary::bench;

std::string server_url() {
  const char* url = std::getenv("TRIBUTARY_POSTGRES_URL");
  return url != nullptr ? url : "";
}

const catalogue& catalogue_for(profile p, std::size_t services) {
  static std::unique_ptr<catalogue> current;
  if (!current || current->kind != p || current->services != services) {
    current.reset();
    current = std::make_unique<catalogue>(generate_catalogue(p, services));
  }
  return *current;
}

/// A plain libpq connection for the baseline and for cleaning up.
class raw_connection {
 public:
  explicit raw_connection(const std::string& url) : conn_(PQconnectdb(url.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(conn_));
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
  }
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;
  ~raw_connection() { PQfinish(conn_); }

  void exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const auto status = PQresultStatus(r);
    std::string message = PQresultErrorMessage(r);
    PQclear(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) throw std::runtime_error(sql + ": " + message);
  }

  /// One binary COPY of (idx, id, json) rows into `table`, in one transaction; `with_seq` adds a fourth
  /// column, seq, numbered from 1 in row order as the store numbers a fresh index's writes.
  void copy(const std::string& table, const std::string& idx, const std::vector<stored_document>& rows,
            bool with_seq = false) {
    exec("BEGIN");
    PGresult* r = PQexec(conn_, ("COPY " + table + (with_seq ? " (idx, id, json, seq)" : " (idx, id, json)") +
                                 " FROM STDIN (FORMAT binary)").c_str());
    const bool started = PQresultStatus(r) == PGRES_COPY_IN;
    PQclear(r);
    if (!started) throw std::runtime_error(PQerrorMessage(conn_));
    std::string buffer("PGCOPY\n\xff\r\n\0", 11);
    tributary::detail::pg_put_u32(buffer, 0);
    tributary::detail::pg_put_u32(buffer, 0);
    auto put = [&](std::string_view bytes) {
      if (PQputCopyData(conn_, bytes.data(), static_cast<int>(bytes.size())) != 1)
        throw std::runtime_error(PQerrorMessage(conn_));
    };
    std::uint64_t seq = 0;
    for (const auto& d : rows) {
      tributary::detail::pg_put_u16(buffer, with_seq ? 4 : 3);
      for (const std::string* field : {&idx, &d.id, &d.json}) {
        tributary::detail::pg_put_u32(buffer, static_cast<std::uint32_t>(field->size()));
        buffer.append(*field);
      }
      if (with_seq) {
        ++seq;
        tributary::detail::pg_put_u32(buffer, 8);
        tributary::detail::pg_put_u32(buffer, static_cast<std::uint32_t>(seq >> 32));
        tributary::detail::pg_put_u32(buffer, static_cast<std::uint32_t>(seq));
      }
      if (buffer.size() >= (std::size_t{1} << 20)) {
        put(buffer);
        buffer.clear();
      }
    }
    tributary::detail::pg_put_u16(buffer, 0xFFFF);
    put(buffer);
    if (PQputCopyEnd(conn_, nullptr) != 1) throw std::runtime_error(PQerrorMessage(conn_));
    bool ok = true;
    while (PGresult* done = PQgetResult(conn_)) {
      ok = ok && PQresultStatus(done) == PGRES_COMMAND_OK;
      PQclear(done);
    }
    if (!ok) throw std::runtime_error(PQerrorMessage(conn_));
    exec("COMMIT");
  }

 private:
  PGconn* conn_;
};

std::string fresh_name(std::string_view what) {
  static std::mt19937_64 rng(std::random_device{}());
  std::ostringstream name;
  name << "tributary_bench_" << what << "_" << ::getpid() << "_" << std::hex << rng();
  return name.str();
}

void set_counters(benchmark::State& state, const std::vector<stored_document>& rows) {
  std::size_t bytes = 0;
  for (const auto& d : rows) bytes += d.id.size() + d.json.size();
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rows.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}

void bm_postgres_index(benchmark::State& state, profile p, postgres_bulk_method method, bool publish) {
  const auto& c = catalogue_for(p, static_cast<std::size_t>(state.range(0)));
  raw_connection admin(server_url());
  postgres_options options = catalogue_postgres_options();
  options.schema = fresh_name("index");
  options.bulk_method = method;
  {
    // One connection for every iteration, as the baseline's writer: a server process's first touch of
    // the shared buffers it writes costs a page fault each (~90 ms for these 30 MB on this VM), which
    // a fresh connection per iteration would add to the store's time alone.
    postgres_index store(server_url(), options);
    std::size_t round = 0;
    for (auto _ : state) {
      state.PauseTiming();
      const std::string worker = "apicatalogue-dev20210219_1213086" + std::to_string(10 + round++ % 90);
      store.create_index(worker);
      state.ResumeTiming();
      const auto result = store.bulk_write(worker, c.local);
      if (publish) store.update_aliases(std::vector<alias_action>{alias_action::add(worker, "apicatalogue-dev")});
      state.PauseTiming();
      if (!result.ok() || result.written != c.local.size()) state.SkipWithError("bulk write failed");
      if (publish) store.update_aliases(std::vector<alias_action>{alias_action::remove(worker, "apicatalogue-dev")});
      store.delete_indices(std::vector<std::string>{worker});
      state.ResumeTiming();
    }
  }
  admin.exec("DROP SCHEMA \"" + options.schema + "\" CASCADE");
  set_counters(state, c.local);
}

/// The baseline: one binary COPY of the same rows into a fresh table, `plain(idx text, id text, json
/// text)` without keys. `keyed`: instead into a table with postgres_index's row layout and the two keys
/// it keeps per row, the unique (idx, id) and the change positions' (idx, seq), seq numbered in row
/// order: what any write that maintains them row by row can reach, whatever its client does
/// (informational: what a store that kept its keys row by row would lose). `lz4`: the json column
/// compressed with LZ4 (informational: how much of the store's figure is its compression setting).
void bm_table_copy(benchmark::State& state, profile p, bool keyed, bool lz4) {
  const auto& c = catalogue_for(p, static_cast<std::size_t>(state.range(0)));
  raw_connection admin(server_url());
  raw_connection writer(server_url());
  for (auto _ : state) {
    state.PauseTiming();
    const auto table = "public." + fresh_name(keyed ? "keyed" : "plain");
    if (keyed) {
      admin.exec("CREATE TABLE " + table + " (idx text COLLATE \"C\" NOT NULL, id text COLLATE \"C\" NOT NULL, "
                 "json text NOT NULL, seq bigint NOT NULL, PRIMARY KEY (idx, id))");
      admin.exec("CREATE INDEX ON " + table + " (idx, seq)");
    } else {
      admin.exec("CREATE TABLE " + table + " (idx text, id text, json text)");
    }
    if (lz4) admin.exec("ALTER TABLE " + table + " ALTER COLUMN json SET COMPRESSION lz4");
    state.ResumeTiming();
    writer.copy(table, "apicatalogue-dev20210219_121308620", c.local, keyed);
    state.PauseTiming();
    admin.exec("DROP TABLE " + table);
    state.ResumeTiming();
  }
  set_counters(state, c.local);
}

/// Prints the console report and keeps each benchmark's items/s for the ratios.
class collecting_reporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      if (run.error_occurred) continue;
      if (auto it = run.counters.find("items_per_second"); it != run.counters.end())
        items_per_second_[run.benchmark_name()] = it->second.value;
    }
  }
  [[nodiscard]] const std::map<std::string, double>& items_per_second() const { return items_per_second_; }

 private:
  std::map<std::string, double> items_per_second_;
};

}  // namespace

int main(int argc, char** argv) {
  if (server_url().empty()) {
    std::cout << "postgres_bench: TRIBUTARY_POSTGRES_URL is not set; start the server with `scripts/services start` "
                 "and `set -a; source build/services/env; set +a`\n";
    return 0;
  }
  // A server that cannot be reached is told once, here, instead of as an exception in the first suite.
  try {
    raw_connection probe(server_url());
  } catch (const std::exception& e) {
    std::cerr << "postgres_bench: cannot connect to the server of TRIBUTARY_POSTGRES_URL: " << e.what() << "\n";
    return 1;
  }
  const struct {
    profile kind;
    std::int64_t services;
  } plans[] = {{profile::compact, 20000}, {profile::realistic, 2000}};
  for (const auto& plan : plans) {
    const std::string suffix = "/" + std::string(profile_name(plan.kind));
    const auto p = plan.kind;
    for (auto* b : {benchmark::RegisterBenchmark(("postgres_index_copy" + suffix).c_str(), bm_postgres_index, p,
                                                 postgres_bulk_method::copy, false),
                    benchmark::RegisterBenchmark(("postgres_index_array_insert" + suffix).c_str(), bm_postgres_index, p,
                                                 postgres_bulk_method::array_insert, false),
                    benchmark::RegisterBenchmark(("postgres_index_publish" + suffix).c_str(), bm_postgres_index, p,
                                                 postgres_bulk_method::copy, true),
                    benchmark::RegisterBenchmark(("keyed_copy" + suffix).c_str(), bm_table_copy, p, true, false),
                    benchmark::RegisterBenchmark(("plain_copy" + suffix).c_str(), bm_table_copy, p, false, false),
                    benchmark::RegisterBenchmark(("plain_lz4_copy" + suffix).c_str(), bm_table_copy, p, false, true)})
      b->Arg(plan.services)->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  std::string ratios_file;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--ratios=")) {
      ratios_file = std::string(arg.substr(9));
      for (int k = i; k + 1 < argc; ++k) argv[k] = argv[k + 1];
      --argc;
      break;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  collecting_reporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  std::cout << "\nbulk_write items/s relative to a plain COPY of the same rows (same run):\n";
  const auto& ips = reporter.items_per_second();
  std::map<std::string, double> ratios;
  for (const auto& plan : plans) {
    const std::string suffix = "/" + std::string(profile_name(plan.kind)) + "/" + std::to_string(plan.services) +
                               "/real_time";
    const auto plain = ips.find("plain_copy" + suffix);
    if (plain == ips.end()) continue;
    // Each suite against the plain COPY, and the key its ratio goes under (nullptr: printed only).
    const std::pair<const char*, const char*> suites[] = {{"postgres_index_copy", "postgres_over_copy_"},
                                                          {"postgres_index_array_insert", nullptr},
                                                          {"postgres_index_publish", "postgres_publish_over_copy_"},
                                                          {"keyed_copy", "postgres_keyed_copy_over_copy_"},
                                                          {"plain_lz4_copy", "postgres_lz4_copy_over_copy_"}};
    for (const auto& [method, key] : suites) {
      const auto mine = ips.find(method + suffix);
      if (mine == ips.end()) continue;
      const double ratio = mine->second / plain->second;
      std::printf("  %-28s %-10s %10.0f items/s vs plain COPY %10.0f items/s: %.2f\n", method,
                  std::string(profile_name(plan.kind)).c_str(), mine->second, plain->second, ratio);
      if (key != nullptr) ratios[key + std::string(profile_name(plan.kind))] = ratio;
    }
  }
  if (!ratios_file.empty()) {
    std::FILE* out = std::fopen(ratios_file.c_str(), "w");
    if (out == nullptr) {
      std::perror(ratios_file.c_str());
      return 1;
    }
    std::fputs("{", out);
    const char* separator = "";
    for (const auto& [key, value] : ratios) {
      std::fprintf(out, "%s\"%s\": %.4f", separator, key.c_str(), value);
      separator = ", ";
    }
    std::fputs("}\n", out);
    std::fclose(out);
  }
  return 0;
}
