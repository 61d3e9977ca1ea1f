// Must not compile: basic_job_api with a job_store look-alike that lacks the opt-in tag.
// Expected diagnostic: "does not model tributary::jobs::job_store".

#include "jobs_lookalikes.hpp"

using api = tributary::jobs::basic_job_api<TRIBUTARY_JOBS_PICK(tributary::jobs::archetypes::job_store, jobs_lookalikes::job_store),
                                           tributary::jobs::platform_list<tributary::jobs::archetypes::platform>,
                                           tributary::manual_clock>;
static_assert(sizeof(api) > 0);  // completing the type runs the host's static_asserts

int main() { return 0; }
