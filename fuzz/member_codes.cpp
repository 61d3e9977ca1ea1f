// libFuzzer entry point of the member_codes target (see targets/member_codes.hpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "targets/member_codes.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tributary::fuzz::member_codes(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
