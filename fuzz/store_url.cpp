// libFuzzer entry point of the store_url target (see targets/urls.hpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "targets/urls.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tributary::fuzz::store_url(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
