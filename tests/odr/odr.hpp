#pragma once
// What each ODR translation unit computes through tributary's inline code; main compares the two.

#include <string>

namespace odr {
struct results {
  std::string document_json;  // to_json of a merged document
  std::string report_json;    // run_report::to_json of a collector run
  std::string worker_stamp;   // naming
  int version_order = 0;      // compare_versions
};
results from_a();
results from_b();
}  // namespace odr
