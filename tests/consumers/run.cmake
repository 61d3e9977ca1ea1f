# Packaging check, run by ctest in script mode:
#   cmake -DMODE=find_package|datasets|add_subdirectory|fetchcontent -DSOURCE_DIR=... -DBUILD_DIR=...
#         -DWORK_DIR=... -DGENERATOR=... -DCXX=... -P run.cmake
# find_package: installs the current build tree into WORK_DIR/prefix, then configures, builds and runs
# tests/consumers/find_package against it. datasets: the same install, then a host project with its own
# record model, Source and MergeStrategy (tests/consumers/datasets), copied to WORK_DIR/project first so
# that it builds outside the source tree, as a user's project would. add_subdirectory: builds
# tests/consumers/add_subdirectory on the source tree; fetchcontent: tests/consumers/fetchcontent, which takes it with FetchContent. Any failing step fails the test with that step's output.
foreach(var MODE SOURCE_DIR WORK_DIR GENERATOR CXX)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run.cmake: ${var} is not set")
  endif()
endforeach()

function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  message(STATUS "${what}: ok")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(consumer_build ${WORK_DIR}/build)
set(configure_args -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX})  # unoptimised: the consumer only has to build and run once

if(MODE STREQUAL "find_package" OR MODE STREQUAL "datasets")
  if(NOT BUILD_DIR)
    message(FATAL_ERROR "run.cmake: BUILD_DIR is not set")
  endif()
  set(prefix ${WORK_DIR}/prefix)
  step("install into ${prefix}" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
  foreach(installed include/tributary/tributary.hpp include/tributary/collector/collector.hpp include/tributary/collector/reader.hpp)
    if(NOT EXISTS ${prefix}/${installed})
      message(FATAL_ERROR "the install did not put ${installed} into the prefix")
    endif()
  endforeach()
  file(GLOB_RECURSE config_files ${prefix}/*/tributaryConfig.cmake ${prefix}/*/tributaryConfigVersion.cmake)
  list(LENGTH config_files n)
  if(NOT n EQUAL 2)
    message(FATAL_ERROR "expected tributaryConfig.cmake and tributaryConfigVersion.cmake in the prefix, found: ${config_files}")
  endif()
  set(project_dir ${SOURCE_DIR}/tests/consumers/find_package)
  if(MODE STREQUAL "datasets")
    file(COPY ${SOURCE_DIR}/tests/consumers/datasets/ DESTINATION ${WORK_DIR}/project)
    set(project_dir ${WORK_DIR}/project)
  endif()
  step("configure the ${MODE} consumer" ${CMAKE_COMMAND} -S ${project_dir}
       -B ${consumer_build} ${configure_args} -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON)
elseif(MODE STREQUAL "add_subdirectory" OR MODE STREQUAL "fetchcontent")
  step("configure the ${MODE} consumer" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumers/${MODE}
       -B ${consumer_build} ${configure_args} -DTRIBUTARY_SOURCE_DIR=${SOURCE_DIR})
else()
  message(FATAL_ERROR "run.cmake: unknown MODE '${MODE}'")
endif()

step("build the consumer" ${CMAKE_COMMAND} --build ${consumer_build})
step("run the consumer" ${consumer_build}/consumer)
message(STATUS "consumer output:\n${step_output}")
file(REMOVE_RECURSE ${WORK_DIR})
