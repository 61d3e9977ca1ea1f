// Must not compile: basic_collector with an index_backend look-alike that lacks the opt-in tag.
// Expected diagnostic: "does not model tributary::index_backend".

#include "lookalikes.hpp"

using host = tributary::basic_collector<tributary::loopback_transport,
                                        TRIBUTARY_PICK(tributary::memory_index, lookalikes::index_backend),
                                        tributary::environment_union,
                                        tributary::fixed_interval>;

// Completing the type instantiates the host's class body, where each axis has its static_assert.
static_assert(sizeof(host) > 0);

int main() { return 0; }
