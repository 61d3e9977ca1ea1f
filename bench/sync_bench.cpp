// sync_bench: the write-enabled collector API (include/tributary/sync/), three ratios each measured
// against its baseline or ceiling in the same run (bench/run prints them and writes them to
// bench-results.json):
//
//   sync_bytes/N/binary      bytes the client sends (request bodies of /hashes and /data) to push N
//                            items of about 1 KB of which 1 % changed, to a server over loopback that
//                            holds the previous version of all of them; counter over_naive: those bytes
//                            / the bytes of the N items themselves (sending every item, without even
//                            the protocol's framing). binary=1: hashes as raw digests (what the client
//                            sends when the server offers them), 0: the JSON hex form. The ratio is per
//                            item, so it does not depend on N (one /limits request aside): N = 100 000
//                            here, the 1 000 000 would only hold ten times the memory.
//   sync_hashes/10000        PUT /hashes handled by basic_sync_server (route, key, rate, I-JSON check,
//                            parse, the store's exists-many, the answer written) on 10 000 hashes, half
//                            of them stored, on sqlite_index; exists_ceiling/10000 the store's
//                            exists-many alone on the same hashes. items_per_second is hashes/s.
//   canonical_hash/1000      RFC 8785 canonicalization + SHA-256 of 1000 items (~1 KB, members
//                            unsorted, spaces, escapes); sha256_ceiling/1000 OpenSSL's SHA-256 alone
//                            over the same input bytes. bytes_per_second over the input bytes.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include <tributary/clock/manual.hpp>
#include <tributary/execution/thread_pool.hpp>
#include <tributary/index/memory.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/server/http_server.hpp>
#include <tributary/sync/canonical_json.hpp>
#include <tributary/sync/client.hpp>
#include <tributary/sync/server.hpp>
#include <tributary/transport/curl.hpp>

namespace {

using namespace tributary;

constexpr const char* words[] = {"Gesetz", "Entwurf", "Bundestag", "Ausschuss", "Beratung", "Drucksache", "Antrag",
                                 "Änderung", "Verordnung", "Lesung", "Beschluss", "Stellungnahme", "Bundesrat",
                                 "Fraktion", "Haushalt", "Energie", "Digitalisierung", "Verkehr", "Gesundheit"};

/// A law-process record of about 1 KB as a collector writes it: members not in canonical order, some
/// white space, an escape; `version` 2 for the changed ones.
std::string record(std::size_t i, int version) {
  std::mt19937 rng(static_cast<unsigned>(i));
  auto text = [&](std::size_t n) {
    std::string out;
    while (out.size() < n) {
      if (!out.empty()) out += ' ';
      out += words[rng() % std::size(words)];
    }
    return out;
  };
  std::string r = "{\"vorgang_id\": \"v" + std::to_string(i) + "\", \"titel\": \"" + text(80) + "\", ";
  r += "\"typ\": \"Gesetzgebung\", \"wahlperiode\": 20, \"stand\": \"2024-0" + std::to_string(1 + i % 9) + "-1" +
       std::to_string(i % 10) + "\", ";
  r += "\"initiatoren\": [\"Bundesregierung\", \"" + text(20) + "\"], \"version\": " + std::to_string(version) + ", ";
  r += "\"zusammenfassung\": \"" + text(760) + " \\u00a7 " + std::to_string(i) + "\", ";
  r += "\"links\": [\"https://dip.bundestag.de/vorgang/" + std::to_string(i) + "\", \"https://example.org/d/" +
       std::to_string(i) + ".pdf\"]}";
  return r;
}

void bm_sync_bytes(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const bool binary = state.range(1) != 0;
  // The server holds the previous version of every item; 1 % of them changed since.
  memory_index store;
  manual_clock clock;
  sync_server_options options;
  options.limits.requests_per_second = 1e6;
  options.limits.burst = 1e6;
  basic_sync_server<memory_index, manual_clock> server(store, clock, options);
  const std::string key = server.keys().create("bench", {"collector"}).key;
  std::vector<std::string> items;
  std::size_t naive = 0;
  {
    std::vector<stored_document> previous;
    for (std::size_t i = 0; i < n; ++i) {
      auto c = canonicalize(record(i, 1));
      previous.push_back({std::move(c.hash), std::move(c.json)});
      items.push_back(record(i, i % 100 == 0 ? 2 : 1));
      naive += items.back().size();
    }
    (void)store.insert_if_absent("sync-items", previous);
  }
  const curl_library library;
  thread_pool pool(2, 64);
  server_options http_options;
  http_options.max_body_bytes = options.limits.max_body_bytes;
  basic_http_server http(pool, std::move(server), http_options);
  http.start();
  curl_transport transport(library, {});

  sync_report report;
  for (auto _ : state) {
    basic_sync_client client(transport, {.base_url = http.base_url(), .api_key = key, .binary_hashes = binary});
    report = client.push(items);
  }
  if (report.stored != n / 100 || report.skipped_known != n - n / 100) {
    state.SkipWithError("the push did not store exactly the changed items");
    return;
  }
  state.counters["items"] = static_cast<double>(n);
  state.counters["changed"] = static_cast<double>(report.stored);
  state.counters["item_bytes_mean"] = static_cast<double>(naive) / static_cast<double>(n);
  state.counters["naive_bytes"] = static_cast<double>(naive);
  state.counters["sync_bytes"] = static_cast<double>(report.bytes_sent);
  state.counters["over_naive"] = static_cast<double>(report.bytes_sent) / static_cast<double>(naive);
  state.counters["requests"] = static_cast<double>(report.hash_requests + report.data_requests);
}
BENCHMARK(bm_sync_bytes)->Name("sync_bytes")->ArgNames({"", "binary"})->Args({100'000, 1})->Args({100'000, 0})
    ->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

/// The hashes of a /hashes request: `n`, every other one stored in `store`.
std::vector<std::string> negotiated_hashes(sqlite_index& store, std::size_t n) {
  std::vector<std::string> hashes;
  std::vector<stored_document> stored;
  for (std::size_t i = 0; i < n; ++i) {
    auto c = canonicalize("{\"n\":" + std::to_string(i) + "}");
    if (i % 2 == 0) stored.push_back({c.hash, c.json});
    hashes.push_back(std::move(c.hash));
  }
  if (!store.index_exists("sync-items")) store.create_index("sync-items");
  (void)store.insert_if_absent("sync-items", stored);
  return hashes;
}

struct sqlite_file {
  std::string path = "/tmp/tributary-sync-bench-" + std::to_string(std::random_device{}()) + ".db";
  ~sqlite_file() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((path + suffix).c_str());
  }
};

void bm_sync_hashes(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const sqlite_file file;
  sqlite_index store(file.path);
  manual_clock clock;
  sync_server_options options;
  options.limits.requests_per_second = 1e9;
  options.limits.burst = 1e9;
  basic_sync_server<sqlite_index, manual_clock> server(store, clock, options);
  const std::string key = server.keys().create("bench", {"collector"}).key;
  const auto hashes = negotiated_hashes(store, n);
  std::string body = "{\"hashes\":[";
  for (std::size_t i = 0; i < n; ++i) body += (i ? ",\"" : "\"") + hashes[i] + "\"";
  body += "]}";
  std::size_t unknown = 0;
  for (auto _ : state) {
    server_request r;
    r.method = "PUT";
    r.path = r.target = "/api/v1/collector/hashes";
    r.headers.emplace_back("X-API-Key", key);
    r.body = body;
    const auto res = server.handle(r);
    if (res.status != 200) {
      state.SkipWithError("PUT /hashes failed");
      return;
    }
    unknown = static_cast<std::size_t>(std::count(res.body.begin(), res.body.end(), ',')) + 1;
    benchmark::DoNotOptimize(res.body.data());
  }
  if (unknown != n / 2) state.SkipWithError("not half of the hashes unknown");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n));
}
BENCHMARK(bm_sync_hashes)->Name("sync_hashes")->Arg(10'000)->Unit(benchmark::kMillisecond);

void bm_exists_ceiling(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const sqlite_file file;
  sqlite_index store(file.path);
  const auto hashes = negotiated_hashes(store, n);
  for (auto _ : state) {
    const auto present = store.exists("sync-items", hashes);
    benchmark::DoNotOptimize(present.size());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n));
}
BENCHMARK(bm_exists_ceiling)->Name("exists_ceiling")->Arg(10'000)->Unit(benchmark::kMillisecond);

std::vector<std::string> hash_inputs(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(record(i, 1));
  return out;
}
std::size_t total_bytes(const std::vector<std::string>& v) {
  std::size_t b = 0;
  for (const auto& s : v) b += s.size();
  return b;
}

void bm_canonical_hash(benchmark::State& state) {
  const auto inputs = hash_inputs(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state)
    for (const auto& in : inputs) benchmark::DoNotOptimize(canonicalize(in).hash.data());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(total_bytes(inputs)));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(bm_canonical_hash)->Name("canonical_hash")->Arg(1000)->Unit(benchmark::kMillisecond);

void bm_sha256_ceiling(benchmark::State& state) {
  const auto inputs = hash_inputs(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state)
    for (const auto& in : inputs) benchmark::DoNotOptimize(sha256(in).data());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(total_bytes(inputs)));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(bm_sha256_ceiling)->Name("sha256_ceiling")->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
