// libFuzzer entry point of the xroad_list_clients target (see targets/xroad.hpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "targets/xroad.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tributary::fuzz::xroad_list_clients(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
