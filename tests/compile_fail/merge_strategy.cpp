// Must not compile: basic_collector with a merge_strategy look-alike that lacks the opt-in tag.
// Expected diagnostic: "does not model tributary::merge_strategy".

#include "lookalikes.hpp"

using host = tributary::basic_collector<tributary::loopback_transport,
                                        tributary::memory_index,
                                        TRIBUTARY_PICK(tributary::environment_union, lookalikes::merge_strategy),
                                        tributary::fixed_interval>;

// Completing the type instantiates the host's class body, where each axis has its static_assert.
static_assert(sizeof(host) > 0);

int main() { return 0; }
