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

# The engine never includes the catalogue: every engine header (all but catalogue/ and the umbrella
# headers that name both) compiles against a copy of include/ without the catalogue folder.
set(tributary_engine_include ${CMAKE_CURRENT_BINARY_DIR}/engine_only/include)
file(GLOB_RECURSE tributary_all_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/tributary/*.hpp)
add_custom_command(
  OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/engine_only/copied.stamp
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${tributary_engine_include}
  COMMAND ${CMAKE_COMMAND} -E copy_directory ${PROJECT_SOURCE_DIR}/include ${tributary_engine_include}
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${tributary_engine_include}/tributary/catalogue
          ${tributary_engine_include}/tributary/tributary.hpp ${tributary_engine_include}/tributary/all.hpp
  COMMAND ${CMAKE_COMMAND} -E touch ${CMAKE_CURRENT_BINARY_DIR}/engine_only/copied.stamp
  DEPENDS ${tributary_all_headers}
  COMMENT "Copying the engine headers without the catalogue")
add_custom_target(tributary_engine_headers DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/engine_only/copied.stamp)
set(tributary_engine_check_sources)
foreach(header IN LISTS tributary_header_check_headers)
  if(header MATCHES "^tributary/(catalogue/|tributary\\.hpp|all\\.hpp)")
    continue()
  endif()
  string(REGEX REPLACE "[/.]" "_" stem "${header}")
  set(source ${CMAKE_CURRENT_BINARY_DIR}/engine_only/${stem}.cpp)
  file(CONFIGURE OUTPUT ${source} CONTENT "#include <${header}>\n" @ONLY)
  list(APPEND tributary_engine_check_sources ${source})
endforeach()
add_library(tributary_engine_header_check OBJECT ${tributary_engine_check_sources})
add_dependencies(tributary_engine_header_check tributary_engine_headers)
# Only the copy on the include path: the third-party libraries, not tributary's targets (whose include
# directory holds the catalogue).
target_include_directories(tributary_engine_header_check PRIVATE ${tributary_engine_include})
target_compile_features(tributary_engine_header_check PRIVATE cxx_std_20)
target_link_libraries(tributary_engine_header_check PRIVATE range-v3::range-v3 simdjson::simdjson Threads::Threads
                      SQLite::SQLite3 CURL::libcurl PostgreSQL::PostgreSQL tributary_developer)
