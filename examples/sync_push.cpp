// sync_push: a small collector for the sync API. Before collecting it reads the locator updates
// (GET /slu-update), then it pushes a generated collection of N records, P percent of them amended,
// and prints what it did as one JSON line.
//
//   sync_keys --store sqlite:/tmp/sync.db create pusher > /tmp/key
//   sync_push --server http://127.0.0.1:8080 --api-key-file /tmp/key --generate 10000 [--changed-percent 1]
//
// The key is read from a file (or TRIBUTARY_API_KEY), never from the command line, where ps would show
// it. Exit 2 for a usage error, 1 when the server fails or cannot be reached.

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/redact.hpp>
#include <tributary/sync/client.hpp>
#include <tributary/transport/curl.hpp>

#include "sync/store.hpp"

namespace {

constexpr std::string_view usage =
    "usage: sync_push --server URL --api-key-file FILE --generate N [--changed-percent P]\n"
    "  --server URL          the sync_server: http://host:port\n"
    "  --api-key-file FILE   a file holding the key (sync_keys create prints one); or TRIBUTARY_API_KEY\n"
    "  --generate N          push N generated records (Vorgang-like, about 300 bytes each)\n"
    "  --changed-percent P   amend P percent of them (0 to 100; default 0), spread evenly\n"
    "Prints one JSON line: items, sent, skipped_known, stored, exists, rejected, bytes_sent, ...\n";

using tributary::examples::sync::usage_error;

unsigned long number(std::string_view flag, std::string_view text, unsigned long max) {
  unsigned long v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v > max)
    throw usage_error{std::string(flag) + " wants a whole number from 0 to " + std::to_string(max) + ", not '" + std::string(text) + "'"};
  return v;
}

std::vector<std::string> generate(unsigned long n, unsigned long percent) {
  std::vector<std::string> out;
  out.reserve(n);
  // Every (100/P)th record amended: P percent, evenly spread, the same ones on every run.
  const unsigned long every = percent ? 100 / percent : 0;
  for (unsigned long i = 0; i < n; ++i) {
    const bool amended = every && i % every == 0;
    out.push_back("{\"vorgang_id\":\"v" + std::to_string(i) + "\",\"titel\":\"Entwurf eines Gesetzes Nr. " + std::to_string(i) +
                  (amended ? " (Beschlussempfehlung)" : "") + "\",\"typ\":\"gesetz\",\"wahlperiode\":20," +
                  "\"initiatoren\":[\"Bundesregierung\"],\"stationen\":[{\"typ\":\"initiative\",\"datum\":\"2024-01-" +
                  std::to_string(10 + i % 18) + "\",\"link\":\"https://dserver.bundestag.de/btd/20/" + std::to_string(100000 + i) +
                  ".pdf\"}],\"stand\":" + std::to_string(i % 7) + "}");
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string server, key_file;
  unsigned long n = 0, percent = 0;
  bool have_n = false;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string_view a = argv[i];
      if (a == "--help" || a == "-h") {
        std::cout << usage;
        return 0;
      }
      if (a != "--server" && a != "--api-key-file" && a != "--generate" && a != "--changed-percent")
        throw usage_error{"unknown argument '" + std::string(a) + "'"};
      if (i + 1 == argc) throw usage_error{std::string(a) + " needs a value"};
      const std::string_view v = argv[++i];
      if (a == "--server") server = v;
      else if (a == "--api-key-file") key_file = v;
      else if (a == "--generate") n = number(a, v, 100'000'000), have_n = true;
      else percent = number(a, v, 100);
    }
    if (server.empty()) throw usage_error{"--server is required"};
    if (!have_n) throw usage_error{"--generate N is required"};
    std::string key;
    if (!key_file.empty()) {
      std::ifstream in(key_file);
      if (!in) throw usage_error{"--api-key-file: cannot read '" + key_file + "'"};
      std::getline(in, key);
    } else if (const char* env = std::getenv("TRIBUTARY_API_KEY")) {
      key = env;
    } else {
      throw usage_error{"give --api-key-file FILE or set TRIBUTARY_API_KEY"};
    }
    while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
    if (key.empty()) throw usage_error{"the API key is empty"};

    tributary::curl_library curl;
    tributary::curl_options transport_options;
    transport_options.logger = [](tributary::curl_log_level, std::string_view) {};  // failures are thrown
    tributary::curl_transport transport(curl, transport_options);
    tributary::basic_sync_client client(transport, {.base_url = server, .api_key = key});
    // SLU before collecting: a real collector would move its crawl targets here.
    const std::size_t locator_updates = client.pull_locator_updates([](const tributary::locator_update&) {});
    const auto items = generate(n, percent);
    const auto r = client.push(items);
    std::size_t naive = 0;  // what sending every item's data would have cost
    for (const auto& it : items) naive += tributary::canonical_json(it).size() + 84;
    std::cout << "{\"items\":" << r.items << ",\"sent\":" << r.sent << ",\"skipped_known\":" << r.skipped_known
              << ",\"stored\":" << r.stored << ",\"exists\":" << r.exists << ",\"rejected\":" << r.rejected
              << ",\"invalid\":" << r.invalid << ",\"failed\":" << r.failed << ",\"duplicates\":" << r.duplicates
              << ",\"hash_requests\":" << r.hash_requests << ",\"data_requests\":" << r.data_requests
              << ",\"bytes_sent\":" << r.bytes_sent << ",\"bytes_if_sending_everything\":" << naive
              << ",\"locator_updates\":" << locator_updates << "}" << std::endl;
    for (const auto& x : r.rejections)
      std::cerr << "sync_push: item " << x.position << " not stored: " << x.reason << "\n";
    return r.rejections.empty() ? 0 : 1;
  } catch (const usage_error& e) {
    std::cerr << "sync_push: " << e.message << "\n\n" << usage;
    return 2;
  } catch (const tributary::error& e) {
    std::cerr << "sync_push: " << tributary::redact_urls_in(e.what()) << "\n";
    return e.code() == tributary::errc::invalid_config ? 2 : 1;
  }
}
