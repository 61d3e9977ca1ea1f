# Skipped with -DTRIBUTARY_COMPILE_CHECKS=OFF (the sanitizer builds: they check code, not packaging).
if(NOT TRIBUTARY_COMPILE_CHECKS)
  return()
endif()
# Every public header compiles on its own: one generated translation unit per header under
# include/tributary (detail/ excluded: private headers are compiled through the public ones), each
# including its header twice so that a missing include guard shows too. Built by default with the
# developer warnings, as the object library tributary_header_check.
file(GLOB_RECURSE tributary_header_check_headers CONFIGURE_DEPENDS RELATIVE ${PROJECT_SOURCE_DIR}/include
     ${PROJECT_SOURCE_DIR}/include/tributary/*.hpp)
list(FILTER tributary_header_check_headers EXCLUDE REGEX "^tributary/detail/")
set(tributary_header_check_sources)
foreach(header IN LISTS tributary_header_check_headers)
  string(REGEX REPLACE "[/.]" "_" stem "${header}")
  set(source ${CMAKE_CURRENT_BINARY_DIR}/header_check/${stem}.cpp)
  # file(CONFIGURE) rewrites only on change, so reconfiguring does not rebuild every check.
  file(CONFIGURE OUTPUT ${source} CONTENT "#include <${header}>\n#include <${header}>\n" @ONLY)
  list(APPEND tributary_header_check_sources ${source})
endforeach()
add_library(tributary_header_check OBJECT ${tributary_header_check_sources})
target_link_libraries(tributary_header_check PRIVATE tributary::sqlite tributary::curl tributary::xroad
                      tributary::postgres tributary_developer tributary_httplib)
