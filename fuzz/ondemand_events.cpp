// libFuzzer entry point of the ondemand_events target (see targets/ondemand.hpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "targets/ondemand.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tributary::fuzz::ondemand_events(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
