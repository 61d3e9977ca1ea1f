#pragma once
// stepped_index: an index backend that hands control to the scheduler before every operation, so the
// operations of concurrent collectors interleave in the order the scheduler's seed dictates.

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tributary/collector/concepts.hpp>

#include "support/scheduler.hpp"

namespace tributary::testing {

template <class Backend>
class stepped_index {
 public:
  using index_backend_concept = index_backend_tag;

  stepped_index(Backend& inner, scheduler& s, int actor) : inner_(&inner), s_(&s), actor_(actor) {}

  /// Called with each index this actor creates (its workers).
  std::function<void(const std::string&)> on_create;
  /// Called with the names this actor is about to delete, after its turn came and before the deletion.
  std::function<void(std::span<const std::string>)> on_delete;

  void create_index(std::string_view name) {
    step();
    inner_->create_index(name);
    if (on_create) on_create(std::string(name));
  }
  [[nodiscard]] bool index_exists(std::string_view name) const {
    step();
    return inner_->index_exists(name);
  }
  bulk_result bulk_write(std::string_view index, std::span<const stored_document> docs) {
    step();
    return inner_->bulk_write(index, docs);
  }
  [[nodiscard]] std::vector<std::optional<std::string>> get(std::string_view index,
                                                           std::span<const std::string> ids) const {
    step();
    return inner_->get(index, ids);
  }
  [[nodiscard]] scan_page scan(std::string_view index, std::string_view after, std::size_t limit) const {
    step();
    return inner_->scan(index, after, limit);
  }
  [[nodiscard]] std::vector<std::string> list_indices(std::string_view prefix) const {
    step();
    return inner_->list_indices(prefix);
  }
  [[nodiscard]] std::vector<std::string> alias_targets(std::string_view alias) const {
    step();
    return inner_->alias_targets(alias);
  }
  [[nodiscard]] std::vector<alias_entry> aliases() const {
    step();
    return inner_->aliases();
  }
  void update_aliases(std::span<const alias_action> actions) {
    step();
    inner_->update_aliases(actions);
  }
  void delete_indices(std::span<const std::string> names) {
    step();
    if (on_delete) on_delete(names);
    inner_->delete_indices(names);
  }

 private:
  void step() const { s_->yield(actor_); }

  Backend* inner_;
  scheduler* s_;
  int actor_;
};

}  // namespace tributary::testing
