#pragma once
// Umbrella header of the core: the collector host and every policy that needs nothing beyond
// range-v3 and simdjson (link tributary::tributary). The components have headers of their own and a
// target each: index/sqlite.hpp (tributary::sqlite), index/postgres.hpp (tributary::postgres),
// transport/curl.hpp and index/elasticsearch.hpp (tributary::curl), source/xroad.hpp
// (tributary::xroad); <tributary/all.hpp> includes everything.

#include <tributary/fwd.hpp>
#include <tributary/error.hpp>
#include <tributary/concepts.hpp>
#include <tributary/config.hpp>
#include <tributary/document.hpp>
#include <tributary/document_json.hpp>
#include <tributary/naming.hpp>
#include <tributary/report.hpp>
#include <tributary/collector.hpp>
#include <tributary/peer_merge.hpp>
#include <tributary/clock/wall.hpp>
#include <tributary/clock/manual.hpp>
#include <tributary/index/memory.hpp>
#include <tributary/merge/environment_union.hpp>
#include <tributary/merge/prefer_local.hpp>
#include <tributary/wait/fixed_interval.hpp>
#include <tributary/wait/exponential_backoff.hpp>
#include <tributary/wait/no_wait.hpp>
#include <tributary/transport/loopback.hpp>
#include <tributary/source/in_process.hpp>
