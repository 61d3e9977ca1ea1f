#pragma once
// Declarations of the host template with the catalogue's defaults, and the configurations tributary ships.

namespace tributary {

class loopback_transport;
class memory_index;
class sqlite_index;
struct environment_union;
struct prefer_local;
struct fixed_interval;
struct exponential_backoff;
struct no_wait;

/// The collector host (<tributary/collector/collector.hpp>), with the defaults of the X-Road catalogue.
template <class Transport, class IndexBackend = sqlite_index, class MergeStrategy = environment_union,
          class WaitStrategy = fixed_interval>
class basic_collector;

/// Everything in one process: in-process handlers, in-memory store. For tests and demos.
using in_process_collector = basic_collector<loopback_transport, memory_index>;

}  // namespace tributary
