# Skipped with -DTRIBUTARY_COMPILE_CHECKS=OFF (the sanitizer builds: they check code, not packaging).
if(NOT TRIBUTARY_COMPILE_CHECKS)
  return()
endif()
# Negative compile tests: basic_collector instantiated with a look-alike on one policy axis must fail
# with that axis's static_assert message. Each test compiles tests/compile_fail/<axis>.cpp twice through
# compile_fail/check.cmake: once with the shipped policy (must compile), once with the look-alike.
set(TRIBUTARY_COMPILE_FAIL_AXES transport index_backend merge_strategy wait_strategy)
set(tributary_compile_fail_flags ${CMAKE_CXX20_STANDARD_COMPILE_OPTION})
if(NOT tributary_compile_fail_flags)
  set(tributary_compile_fail_flags -std=c++20)
endif()
# Every include directory tributary's headers need, transitively (range-v3, simdjson), joined with '|'
# so that the list survives as one argument. /usr/include is left out: as a -I it would reorder the
# system headers and break libstdc++'s #include_next.
set(tributary_compile_fail_includes
    "$<JOIN:$<FILTER:$<TARGET_PROPERTY:tributary,INTERFACE_INCLUDE_DIRECTORIES>,EXCLUDE,^/usr(/local)?/include/?$>,|>")
string(APPEND tributary_compile_fail_includes "|${CMAKE_CURRENT_SOURCE_DIR}/compile_fail")
foreach(axis IN LISTS TRIBUTARY_COMPILE_FAIL_AXES)
  set(forbidden ${TRIBUTARY_COMPILE_FAIL_AXES})
  list(REMOVE_ITEM forbidden ${axis})
  list(TRANSFORM forbidden PREPEND "does not model tributary::")
  list(JOIN forbidden "|" forbidden)
  add_test(NAME compile_fail.${axis}
           COMMAND ${CMAKE_COMMAND}
                   "-DCOMPILER=${CMAKE_CXX_COMPILER}"
                   "-DFLAGS=${tributary_compile_fail_flags}"
                   "-DINCLUDES=${tributary_compile_fail_includes}"
                   "-DSOURCE=${CMAKE_CURRENT_SOURCE_DIR}/compile_fail/${axis}.cpp"
                   "-DEXPECT=does not model tributary::${axis}"
                   "-DFORBID=${forbidden}"
                   -P ${CMAKE_CURRENT_SOURCE_DIR}/compile_fail/check.cmake)
  set_tests_properties(compile_fail.${axis} PROPERTIES LABELS compile_fail TIMEOUT 120)
endforeach()
