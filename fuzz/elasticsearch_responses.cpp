// libFuzzer entry point of the elasticsearch_responses target (see targets/elasticsearch.hpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "targets/elasticsearch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  tributary::fuzz::elasticsearch_responses(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
