// Must not compile: a platform_list holding a platform look-alike that lacks the opt-in tag.
// Expected diagnostic: the platform_list's constraint, "platform<".

#include "jobs_lookalikes.hpp"

using platforms = tributary::jobs::platform_list<TRIBUTARY_JOBS_PICK(tributary::jobs::archetypes::platform, jobs_lookalikes::platform)>;
static_assert(platforms::size == 1);

int main() { return 0; }
