#pragma once
// The on-demand concepts: datasource (ondemand/datasource.hpp) and the RPC client the consumer calls
// collector services through. Archetypes: <tributary/ondemand/archetypes.hpp>.

#include <concepts>

#include <tributary/detail/opt_in.hpp>
#include <tributary/ondemand/answer.hpp>
#include <tributary/ondemand/datasource.hpp>
#include <tributary/ondemand/jsonrpc.hpp>

namespace tributary {

struct rpc_client_tag {};

/// RpcClient: calls get_all / get_changes on a collector service, one call at a time.
///   using rpc_client_concept = rpc_client_tag;
///   ondemand_answer call(const ondemand_request&)   throws rpc_error for an error answer,
///                                                   error(errc::timed_out | errc::transport_failed)
///                                                   when no answer came
/// Shipped: basic_jsonrpc_http_client (ondemand/jsonrpc_http.hpp), amqp_rpc_client (ondemand/amqp.hpp).
template <class C>
concept rpc_client = detail::opts_in<C, rpc_client_tag, typename C::rpc_client_concept> &&
  requires(C& c, const ondemand_request& r) {
    { c.call(r) } -> std::same_as<ondemand_answer>;
  };

}  // namespace tributary
