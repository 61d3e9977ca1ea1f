#pragma once
// Umbrella header of the core: the generic engine and the X-Road catalogue collector with every policy
// that needs nothing beyond range-v3 and simdjson (link tributary::tributary). The components have
// headers of their own and a target each: index/sqlite.hpp (tributary::sqlite), index/postgres.hpp
// (tributary::postgres), transport/curl.hpp and index/elasticsearch.hpp (tributary::curl),
// catalogue/source/xroad.hpp (tributary::xroad); <tributary/all.hpp> includes everything.
//
// Layout: the engine (error, concepts, clock/, transport/, index/, redact) never includes the
// catalogue; catalogue/ is the X-Road collector built on it.

// The engine.
#include <tributary/error.hpp>
#include <tributary/concepts.hpp>
#include <tributary/clock/wall.hpp>
#include <tributary/clock/manual.hpp>
#include <tributary/index/memory.hpp>
#include <tributary/transport/loopback.hpp>

// The catalogue collector.
#include <tributary/catalogue/fwd.hpp>
#include <tributary/catalogue/concepts.hpp>
#include <tributary/catalogue/config.hpp>
#include <tributary/catalogue/document.hpp>
#include <tributary/catalogue/document_json.hpp>
#include <tributary/catalogue/naming.hpp>
#include <tributary/catalogue/report.hpp>
#include <tributary/catalogue/collector.hpp>
#include <tributary/catalogue/peer_merge.hpp>
#include <tributary/catalogue/merge/environment_union.hpp>
#include <tributary/catalogue/merge/prefer_local.hpp>
#include <tributary/catalogue/wait/fixed_interval.hpp>
#include <tributary/catalogue/wait/exponential_backoff.hpp>
#include <tributary/catalogue/wait/no_wait.hpp>
#include <tributary/catalogue/source/in_process.hpp>
