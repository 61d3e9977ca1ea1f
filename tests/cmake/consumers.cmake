# Skipped with -DTRIBUTARY_COMPILE_CHECKS=OFF (the sanitizer builds: they check code, not packaging).
if(NOT TRIBUTARY_COMPILE_CHECKS)
  return()
endif()
# Packaging: tributary consumed as an installed package (find_package), as a subdirectory and through
# FetchContent. Each test configures, builds and runs a tiny consumer in its own directory under the
# build tree. datasets: an installed tributary found by a host project that collects records of its own
# (its own record model, Source and MergeStrategy) and stores no X-Road field.
foreach(mode find_package datasets add_subdirectory fetchcontent)
  add_test(NAME consumer.${mode}
           COMMAND ${CMAKE_COMMAND} -DMODE=${mode} -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DBUILD_DIR=${PROJECT_BINARY_DIR}
                   -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/consumer_${mode} "-DGENERATOR=${CMAKE_GENERATOR}"
                   -DCXX=${CMAKE_CXX_COMPILER} -P ${CMAKE_CURRENT_SOURCE_DIR}/consumers/run.cmake)
  set_tests_properties(consumer.${mode} PROPERTIES LABELS packaging TIMEOUT 180)
endforeach()

# scripts/services from a long path and from under $HOME, two checkouts at once (needs PostgreSQL).
find_program(TRIBUTARY_PSQL psql)
if(TRIBUTARY_PSQL AND EXISTS /usr/lib/postgresql)
  add_test(NAME scripts.services_anywhere
           COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/scripts/services_anywhere.sh ${PROJECT_SOURCE_DIR}
                   ${CMAKE_CURRENT_BINARY_DIR}/services_anywhere)
  set_tests_properties(scripts.services_anywhere PROPERTIES LABELS packaging TIMEOUT 180)
endif()
