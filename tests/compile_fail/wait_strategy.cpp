// Must not compile: basic_collector with a wait_strategy look-alike that lacks the opt-in tag.
// Expected diagnostic: "does not model tributary::wait_strategy".

#include "lookalikes.hpp"

using host = tributary::basic_collector<tributary::loopback_transport,
                                        tributary::memory_index,
                                        tributary::environment_union,
                                        TRIBUTARY_PICK(tributary::fixed_interval, lookalikes::wait_strategy)>;

// Completing the type instantiates the host's class body, where each axis has its static_assert.
static_assert(sizeof(host) > 0);

int main() { return 0; }
