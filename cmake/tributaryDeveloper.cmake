# Developer-only settings: warnings and sanitizers live on a separate target and are never forced on
# consumers of the package.
add_library(tributary_developer INTERFACE)
target_compile_options(tributary_developer INTERFACE -Wall -Wextra -Wpedantic -Werror=return-type)
set(TRIBUTARY_SANITIZE "" CACHE STRING "Sanitizers for the developer build: 'address,undefined' or 'thread'")
if(TRIBUTARY_SANITIZE)
  target_compile_options(tributary_developer INTERFACE -fsanitize=${TRIBUTARY_SANITIZE} -fno-omit-frame-pointer
                         -fno-sanitize-recover=all)
  target_link_options(tributary_developer INTERFACE -fsanitize=${TRIBUTARY_SANITIZE})
endif()

# cpp-httplib (Debian's libcpp-httplib-dev): servers and clients in tests, examples and the X-Road
# simulator; never a dependency of the library itself. Debian ships it compiled, with TLS, zlib and
# brotli support switched on: pkg-config gives the same definitions, which the header's layout depends on.
find_package(PkgConfig REQUIRED)
pkg_check_modules(TRIBUTARY_HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_package(OpenSSL REQUIRED)
add_library(tributary_httplib INTERFACE)
target_link_libraries(tributary_httplib INTERFACE PkgConfig::TRIBUTARY_HTTPLIB OpenSSL::SSL OpenSSL::Crypto)

option(TRIBUTARY_WERROR "Treat warnings as errors in tributary's own tests, examples and benchmarks" OFF)
if(TRIBUTARY_WERROR)
  target_compile_options(tributary_developer INTERFACE -Werror)
endif()
