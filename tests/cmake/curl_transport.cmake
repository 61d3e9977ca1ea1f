# Debian's libcpp-httplib-dev ships httplib.h split into declarations, with the definitions in
# libcpp-httplib.so; tributary_httplib links only OpenSSL, so the loopback servers of
# curl_transport_test need the library itself. Redundant (and harmless) once tributary_httplib links it.
find_library(TRIBUTARY_CPP_HTTPLIB_LIBRARY NAMES cpp-httplib)
if(TARGET curl_transport_test AND TRIBUTARY_CPP_HTTPLIB_LIBRARY)
  target_link_libraries(curl_transport_test PRIVATE ${TRIBUTARY_CPP_HTTPLIB_LIBRARY})
endif()
