#pragma once
// Archetypes of the server concepts: the smallest types that model them. Tests static_assert them.

#include <tributary/server/concepts.hpp>

namespace tributary::archetypes {

struct request_handler {
  using request_handler_concept = request_handler_tag;
  server_response handle(server_request&) { return {}; }
};

}  // namespace tributary::archetypes
