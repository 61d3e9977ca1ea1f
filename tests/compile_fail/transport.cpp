// Must not compile: basic_collector with a transport look-alike that lacks the opt-in tag.
// Expected diagnostic: "does not model tributary::transport".

#include "lookalikes.hpp"

using host = tributary::basic_collector<TRIBUTARY_PICK(tributary::loopback_transport, lookalikes::transport),
                                        tributary::memory_index,
                                        tributary::environment_union,
                                        tributary::fixed_interval>;

// Completing the type instantiates the host's class body, where each axis has its static_assert.
static_assert(sizeof(host) > 0);

int main() { return 0; }
