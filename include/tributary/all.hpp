#pragma once
// Everything tributary ships: the core and every component. Link tributary::sqlite, tributary::curl,
// tributary::xroad and tributary::postgres.

#include <tributary/tributary.hpp>

#include <tributary/index/elasticsearch.hpp>
#include <tributary/index/postgres.hpp>
#include <tributary/index/sqlite.hpp>
#include <tributary/catalogue/source/xroad.hpp>
#include <tributary/transport/curl.hpp>
