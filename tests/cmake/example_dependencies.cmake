# Tests that run example executables find them beside the test binaries (../examples) and skip
# themselves when examples are not built. Where they are, building such a test builds them first, so
# `cmake --build --target <test>` never leaves it skipping. Deferred like end_to_end.cmake: tests/ is
# added before examples/.
function(tributary_wire_example_dependencies)
  foreach(pair IN ITEMS "sync_publish_test:xroad_simulator;sync_server;collector_dev"
                        "deploy_test:collector_dev;collector_staging;collector_prod"
                        "ondemand_examples_test:ondemand_collector;ondemand_consumer"
                        "ondemand_xroad_test:ondemand_collector")
    string(REPLACE ":" ";" parts "${pair}")
    list(POP_FRONT parts test)
    if(NOT TARGET ${test})
      continue()
    endif()
    foreach(exe IN LISTS parts)
      if(TARGET ${exe})
        add_dependencies(${test} ${exe})
      endif()
    endforeach()
  endforeach()
endfunction()

cmake_language(DEFER DIRECTORY ${PROJECT_SOURCE_DIR} CALL tributary_wire_example_dependencies)
