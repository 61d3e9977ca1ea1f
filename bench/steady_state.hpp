#pragma once
// Measuring in the steady state of a process that has done the work before.
//
// The suites compare work with ceilings that run on memory already faulted in (the DOM parser reuses
// its buffers; memcpy's target is written before timing). The work under test writes its output into
// new memory (a copy-merge's worker, a consumer's entity state, a persistor's store), and by default
// glibc hands freed memory back to the kernel (heap trimming, mmap for blocks over 128 KiB), so each
// round would fault the same pages in again, zeroed, one by one: on this machine that was 40% of a
// realistic 10k copy-merge round, and how much of it a round paid depended on which suite had run
// before it. With steady_state_allocator() the process keeps what it freed, and a suite runs one
// untimed round before timing. Peak-memory runs keep glibc's defaults.

#include <malloc.h>

namespace tributary::bench {

inline void steady_state_allocator() {
  mallopt(M_TRIM_THRESHOLD, -1);               // never trim the heap
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);  // large blocks from the heap too, so they are reused
}

}  // namespace tributary::bench
