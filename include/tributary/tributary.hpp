#pragma once
// Umbrella header of the core: the generic engine, the generic collector and the X-Road catalogue with
// every policy that needs nothing beyond range-v3 and simdjson (link tributary::tributary). The
// components have headers of their own and a target each: index/sqlite.hpp (tributary::sqlite),
// index/postgres.hpp (tributary::postgres), transport/curl.hpp and index/elasticsearch.hpp
// (tributary::curl), catalogue/source/xroad.hpp (tributary::xroad); <tributary/all.hpp> includes
// everything.
//
// Layout: the engine (error, concepts, retry, redact, clock/, transport/, index/) and the collector
// (collector/: the multi-environment protocol over any record model) never include the catalogue;
// catalogue/ is the X-Road record model, its merge strategies and source.

// The engine.
#include <tributary/error.hpp>
#include <tributary/concepts.hpp>
#include <tributary/retry.hpp>
#include <tributary/clock/wall.hpp>
#include <tributary/clock/manual.hpp>
#include <tributary/index/memory.hpp>
#include <tributary/transport/loopback.hpp>

// The collector.
#include <tributary/collector/concepts.hpp>
#include <tributary/collector/config.hpp>
#include <tributary/collector/naming.hpp>
#include <tributary/collector/report.hpp>
#include <tributary/collector/collector.hpp>
#include <tributary/collector/peer_merge.hpp>
#include <tributary/collector/reader.hpp>
#include <tributary/collector/lease.hpp>
#include <tributary/collector/wait/fixed_interval.hpp>
#include <tributary/collector/wait/exponential_backoff.hpp>
#include <tributary/collector/wait/no_wait.hpp>
#include <tributary/collector/wait/per_peer_deadline.hpp>
#include <tributary/collector/source/in_process.hpp>

// The X-Road catalogue.
#include <tributary/catalogue/fwd.hpp>
#include <tributary/catalogue/document.hpp>
#include <tributary/catalogue/document_json.hpp>
#include <tributary/catalogue/service_record.hpp>
#include <tributary/catalogue/merge/environment_union.hpp>
#include <tributary/catalogue/merge/prefer_local.hpp>
