#pragma once
// Umbrella header: the collector host and every policy tributary ships.

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
#include <tributary/index/sqlite.hpp>
#include <tributary/index/postgres.hpp>
#include <tributary/index/elasticsearch.hpp>
#include <tributary/merge/environment_union.hpp>
#include <tributary/merge/prefer_local.hpp>
#include <tributary/wait/fixed_interval.hpp>
#include <tributary/wait/exponential_backoff.hpp>
#include <tributary/wait/no_wait.hpp>
#include <tributary/transport/loopback.hpp>
#include <tributary/transport/curl.hpp>
#include <tributary/source/in_process.hpp>
#include <tributary/source/xroad.hpp>
