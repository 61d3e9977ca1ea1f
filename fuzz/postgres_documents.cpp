// libFuzzer entry point of the postgres_documents target (see targets/postgres_documents.hpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "targets/postgres_documents.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tributary::fuzz::postgres_documents(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
