#pragma once
// The execution concepts. An executor is a policy the user constructs and passes in (CRAFT 8: no pool
// is ever created behind the user's back); it requires its opt-in tag like every engine concept.
// Archetypes are in <tributary/execution/archetypes.hpp>.

#include <concepts>
#include <utility>

#include <tributary/detail/opt_in.hpp>
#include <tributary/execution/task.hpp>

namespace tributary {

struct executor_tag {};

/// Executor: runs tasks, on threads of its own or on the caller's.
///   using executor_concept = executor_tag;
///   bool execute(task t)   runs t, now or later, exactly once. May block while the executor is full
///                          (that is its backpressure). false: the executor is shut down; t was not run
///                          and has been destroyed. An exception escaping t is the executor's to keep
///                          (it never reaches the caller of execute, who may be gone).
/// Shipped: thread_pool (<tributary/execution/thread_pool.hpp>), inline_executor (the null policy:
/// runs t on the calling thread before returning).
template <class E>
concept executor = detail::opts_in<E, executor_tag, typename E::executor_concept> && requires(E& e, task t) {
  { e.execute(std::move(t)) } -> std::same_as<bool>;
};

}  // namespace tributary
