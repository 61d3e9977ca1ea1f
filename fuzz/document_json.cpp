// libFuzzer entry point of the document_json target (see targets/document_json.hpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "targets/document_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tributary::fuzz::document_json(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
