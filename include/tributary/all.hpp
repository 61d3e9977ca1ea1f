#pragma once
// The collector engine with every store and transport it ships, and the X-Road catalogue. Link
// tributary::sqlite, tributary::curl, tributary::xroad and tributary::postgres. The other systems are
// included by their own headers: <tributary/sync/…> (tributary::sync), <tributary/jobs/…>
// (tributary::jobs), <tributary/ondemand/…> (tributary::ondemand).

#include <tributary/tributary.hpp>

#include <tributary/index/elasticsearch.hpp>
#include <tributary/index/postgres.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/catalogue/source/xroad.hpp>
#include <tributary/transport/curl.hpp>
