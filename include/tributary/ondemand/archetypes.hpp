#pragma once
// Archetypes of the on-demand concepts: the smallest types that model them. Tests static_assert them.

#include <string>
#include <vector>

#include <tributary/ondemand/concepts.hpp>

namespace tributary::archetypes {

struct datasource {
  using datasource_concept = datasource_tag;
  [[nodiscard]] std::string name() const { return {}; }
  std::vector<entity_event> get_all(event_action) { return {}; }
  std::vector<entity_event> get_changes() { return {}; }
};

struct rpc_client {
  using rpc_client_concept = rpc_client_tag;
  ondemand_answer call(const ondemand_request&) { return {}; }
};

}  // namespace tributary::archetypes
