#pragma once
// basic_in_process_source: providers and their records held in memory, for tests and demos. Works with
// any transport (it never uses it). A hook runs before each provider, so tests can spend virtual time.

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <tributary/collector/concepts.hpp>
#include <tributary/error.hpp>

namespace tributary {

template <record_model RecordModel>
class basic_in_process_source {
 public:
  using source_concept = source_tag;
  using record_model = RecordModel;
  using document = typename RecordModel::document;
  using outcome = basic_provider_outcome<document>;

  void add(provider p, std::vector<document> records) { entries_.push_back({std::move(p), std::move(records), {}}); }
  /// The provider is listed, but collecting it fails with `reason`.
  void add_failing(provider p, std::string reason) { entries_.push_back({std::move(p), {}, std::move(reason)}); }
  /// Listing providers fails with `reason`.
  void fail_listing(std::string reason) { listing_failure_ = std::move(reason); }
  void before_each(std::function<void(const provider&)> hook) { before_each_ = std::move(hook); }

  template <class Transport>
  std::vector<provider> list_providers(Transport&) {
    if (listing_failure_) throw error(errc::source_failed, "listing providers failed: " + *listing_failure_);
    std::vector<provider> out;
    for (const auto& e : entries_) out.push_back(e.who);
    return out;
  }

  template <class Transport, class F>
  void collect(Transport&, std::span<const provider> providers, std::size_t /*concurrency*/, F&& on_outcome) {
    for (const auto& p : providers) {
      if (before_each_) before_each_(p);
      outcome result;
      const entry* found = nullptr;
      for (const auto& e : entries_)
        if (e.who == p) found = &e;
      if (!found) result.failure = "unknown provider";
      else if (!found->failure.empty()) result.failure = found->failure;
      else result.records = found->records;
      on_outcome(p, std::move(result));
    }
  }

 private:
  struct entry {
    provider who;
    std::vector<document> records;
    std::string failure;
  };
  std::vector<entry> entries_;
  std::optional<std::string> listing_failure_;
  std::function<void(const provider&)> before_each_;
};

}  // namespace tributary
