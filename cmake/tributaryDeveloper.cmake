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

# cpp-httplib (header-only, Debian's libcpp-httplib-dev) with TLS: servers and clients in tests,
# examples and the X-Road simulator. Never a dependency of the library itself.
find_package(OpenSSL REQUIRED)
add_library(tributary_httplib INTERFACE)
target_compile_definitions(tributary_httplib INTERFACE CPPHTTPLIB_OPENSSL_SUPPORT)
target_link_libraries(tributary_httplib INTERFACE OpenSSL::SSL OpenSSL::Crypto)

option(TRIBUTARY_WERROR "Treat warnings as errors in tributary's own tests, examples and benchmarks" OFF)
if(TRIBUTARY_WERROR)
  target_compile_options(tributary_developer INTERFACE -Werror)
endif()
