# The X-Road end-to-end test runs the real executables (examples/): xroad_simulator, the three
# per-environment collectors and catalogue_query. It learns their paths from compile definitions and
# depends on them, so `cmake --build --target xroad_end_to_end_test` builds them first. tests/ is added
# before examples/, so the wiring is deferred to the end of the top-level directory, when the example
# targets exist or are known not to. Without examples the test compiles and skips itself.
function(tributary_wire_end_to_end_test)
  if(NOT TARGET xroad_end_to_end_test)
    return()
  endif()
  set(executables xroad_simulator collector_dev collector_staging collector_prod catalogue_query)
  foreach(exe IN LISTS executables)
    if(NOT TARGET ${exe})
      return()
    endif()
  endforeach()
  target_compile_definitions(xroad_end_to_end_test PRIVATE
    TRIBUTARY_E2E_SIMULATOR="$<TARGET_FILE:xroad_simulator>"
    TRIBUTARY_E2E_COLLECTOR_DEV="$<TARGET_FILE:collector_dev>"
    TRIBUTARY_E2E_COLLECTOR_STAGING="$<TARGET_FILE:collector_staging>"
    TRIBUTARY_E2E_COLLECTOR_PROD="$<TARGET_FILE:collector_prod>"
    TRIBUTARY_E2E_CATALOGUE_QUERY="$<TARGET_FILE:catalogue_query>"
    TRIBUTARY_E2E_FIXTURES="${PROJECT_SOURCE_DIR}/examples/xroad/fixtures")
  add_dependencies(xroad_end_to_end_test ${executables})
endfunction()

cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL tributary_wire_end_to_end_test)
