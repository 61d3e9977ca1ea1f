// libFuzzer entry point of the http1_request target (see targets/http1.hpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "targets/http1.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tributary::fuzz::http1_request(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
