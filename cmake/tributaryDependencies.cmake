# The packages tributary's headers need. Shared by the build tree and the installed package config.
# The core needs Threads, range-v3 and simdjson; each component target needs one more package, looked
# up here so that linking tributary::<component> works when that package is installed.
include(CMakeFindDependencyMacro)
find_dependency(Threads)
find_dependency(range-v3)
find_dependency(simdjson)
find_package(SQLite3 QUIET)
find_package(CURL QUIET)
find_package(yaml-cpp QUIET)
find_package(PostgreSQL QUIET)
find_package(OpenSSL QUIET COMPONENTS Crypto)
# hiredis ships no CMake target, only a pkg-config file; rabbitmq-c ships its own config.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND AND NOT TARGET PkgConfig::hiredis)
  pkg_check_modules(hiredis QUIET IMPORTED_TARGET GLOBAL hiredis)
endif()
find_package(rabbitmq-c QUIET)
