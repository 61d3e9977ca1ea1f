# The jobs tests that run the platforms shipped as examples (examples/jobs_platforms.hpp) include them
# as the examples do, from examples/: its headers include "collector/cli.hpp" and "xroad/...".
foreach(test IN ITEMS jobs_platforms_test)
  if(TARGET ${test})
    target_include_directories(${test} PRIVATE ${PROJECT_SOURCE_DIR}/examples)
  endif()
endforeach()

# Negative compile tests of the jobs concepts (tests/compile_fail/jobs_*.cpp, through
# compile_fail/check.cmake): a look-alike with every member but no opt-in tag must be refused with its
# concept's message, and the shipped policy in its place must compile. Only with the compile checks.
if(TRIBUTARY_COMPILE_CHECKS)
  set(tributary_jobs_compile_fail_flags ${CMAKE_CXX20_STANDARD_COMPILE_OPTION})
  if(NOT tributary_jobs_compile_fail_flags)
    set(tributary_jobs_compile_fail_flags -std=c++20)
  endif()
  set(tributary_jobs_compile_fail_includes
      "$<JOIN:$<FILTER:$<TARGET_PROPERTY:tributary,INTERFACE_INCLUDE_DIRECTORIES>,EXCLUDE,^/usr(/local)?/include/?$>,|>")
  string(APPEND tributary_jobs_compile_fail_includes "|${CMAKE_CURRENT_SOURCE_DIR}/compile_fail")
  foreach(check IN ITEMS "job_store:does not model tributary::jobs::job_store"
                         "settings_sealer:does not model tributary::jobs::settings_sealer"
                         "platform:platform<")
    string(FIND "${check}" ":" colon)
    string(SUBSTRING "${check}" 0 ${colon} axis)
    math(EXPR after "${colon} + 1")
    string(SUBSTRING "${check}" ${after} -1 expect)
    add_test(NAME compile_fail.jobs_${axis}
             COMMAND ${CMAKE_COMMAND} "-DCOMPILER=${CMAKE_CXX_COMPILER}" "-DFLAGS=${tributary_jobs_compile_fail_flags}"
                     "-DINCLUDES=${tributary_jobs_compile_fail_includes}"
                     "-DSOURCE=${CMAKE_CURRENT_SOURCE_DIR}/compile_fail/jobs_${axis}.cpp" "-DEXPECT=${expect}"
                     -P ${CMAKE_CURRENT_SOURCE_DIR}/compile_fail/check.cmake)
    set_tests_properties(compile_fail.jobs_${axis} PROPERTIES LABELS compile_fail TIMEOUT 120)
  endforeach()
endif()
