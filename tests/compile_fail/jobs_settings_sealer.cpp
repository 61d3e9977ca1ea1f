// Must not compile: basic_job_api with a settings_sealer look-alike that lacks the opt-in tag.
// Expected diagnostic: "does not model tributary::jobs::settings_sealer".

#include "jobs_lookalikes.hpp"

using api = tributary::jobs::basic_job_api<tributary::jobs::archetypes::job_store,
                                           tributary::jobs::platform_list<tributary::jobs::archetypes::platform>,
                                           tributary::manual_clock,
                                           TRIBUTARY_JOBS_PICK(tributary::jobs::no_sealing, jobs_lookalikes::settings_sealer)>;
static_assert(sizeof(api) > 0);

int main() { return 0; }
