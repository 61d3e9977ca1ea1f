#pragma once
// Include in the one source file of a test executable that runs cpp-httplib servers.
//
// Debian's libcpp-httplib.so (the test servers) is not built with ThreadSanitizer, so TSan cannot see
// the synchronisation inside it and reports races between its own worker threads under load. The code
// under test runs on the test's threads and is instrumented; only the server library is exempt.
extern "C" const char* __tsan_default_suppressions() { return "race:libcpp-httplib.so\n"; }
