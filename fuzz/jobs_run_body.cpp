// libFuzzer entry point of the jobs_run_body target (see targets/jobs.hpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "targets/jobs.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tributary::fuzz::jobs_run_body(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
