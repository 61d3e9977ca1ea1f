// libFuzzer entry point of the text_merge target (see targets/text_merge.hpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "targets/text_merge.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tributary::fuzz::text_merge(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
