// libFuzzer entry point of the redact target (see targets/urls.hpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "targets/urls.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tributary::fuzz::redact(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
