// libFuzzer entry point of the canonical_json target (see targets/sync.hpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "targets/sync.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tributary::fuzz::canonical_json(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
