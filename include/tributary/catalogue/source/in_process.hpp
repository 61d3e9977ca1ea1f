#pragma once
// in_process_source: providers and their services held in memory, for tests and demos. Works with
// any transport (it never uses it). A hook runs before each provider, so tests can spend virtual time.

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <tributary/catalogue/concepts.hpp>
#include <tributary/error.hpp>

namespace tributary {

class in_process_source {
 public:
  using source_concept = source_tag;

  void add(provider p, std::vector<service> services) { entries_.push_back({std::move(p), std::move(services), {}}); }
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
      provider_outcome outcome;
      const entry* found = nullptr;
      for (const auto& e : entries_)
        if (e.who == p) found = &e;
      if (!found) outcome.failure = "unknown provider";
      else if (!found->failure.empty()) outcome.failure = found->failure;
      else outcome.services = found->services;
      on_outcome(p, std::move(outcome));
    }
  }

 private:
  struct entry {
    provider who;
    std::vector<service> services;
    std::string failure;
  };
  std::vector<entry> entries_;
  std::optional<std::string> listing_failure_;
  std::function<void(const provider&)> before_each_;
};

}  // namespace tributary
