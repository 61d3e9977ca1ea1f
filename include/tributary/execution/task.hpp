#pragma once
// task: a type-erased, move-only `void()` callable, the unit of work executors and timers hold.
// std::function needs a copyable target, which would rule out a std::packaged_task or a lambda that
// owns a socket; C++23's std::move_only_function is not in C++20.

#include <concepts>
#include <memory>
#include <type_traits>
#include <utility>

namespace tributary {

class task {
 public:
  task() noexcept = default;
  template <class F>
    requires(!std::same_as<std::remove_cvref_t<F>, task> && std::invocable<std::decay_t<F>&>)
  task(F&& f)  // NOLINT(google-explicit-constructor): a lambda converts to a task where one is expected
      : impl_(std::make_unique<holder<std::decay_t<F>>>(std::forward<F>(f))) {}

  /// Runs the callable; a task may run more than once (a periodic timer's does).
  void operator()() { impl_->call(); }
  [[nodiscard]] explicit operator bool() const noexcept { return impl_ != nullptr; }

 private:
  struct callable {
    virtual ~callable() = default;
    virtual void call() = 0;
  };
  template <class F>
  struct holder final : callable {
    template <class G>
    explicit holder(G&& g) : f(std::forward<G>(g)) {}
    void call() override { f(); }
    F f;
  };
  std::unique_ptr<callable> impl_;
};

}  // namespace tributary
