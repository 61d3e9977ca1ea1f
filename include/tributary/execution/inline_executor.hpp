#pragma once
// inline_executor: the null executor policy. execute(t) runs t on the calling thread before it
// returns: no threads, no queue. An exception from t is kept, not thrown through execute(), as for
// every executor; take_exception() hands it over.

#include <exception>
#include <utility>

#include <tributary/execution/concepts.hpp>

namespace tributary {

class inline_executor {
 public:
  using executor_concept = executor_tag;

  bool execute(task t) {
    try {
      t();
    } catch (...) {
      if (!first_exception_) first_exception_ = std::current_exception();
    }
    return true;
  }
  /// The first exception a task let escape since the last call, or null.
  [[nodiscard]] std::exception_ptr take_exception() noexcept { return std::exchange(first_exception_, nullptr); }

 private:
  std::exception_ptr first_exception_;
};

}  // namespace tributary
