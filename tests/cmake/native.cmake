# tests/string_marks_test.cpp once more, compiled for this machine's own instruction set (-march=native,
# as the benchmarks are): string_marks' wide kernel (AVX-512 where the CPU has it) is then held to the
# same byte-at-a-time reading as the SSE2 kernel of the portable build. Only where the test filter takes
# string_marks_test, and only with a compiler that knows -march=native.
include(CheckCXXCompilerFlag)
check_cxx_compiler_flag(-march=native TRIBUTARY_HAS_MARCH_NATIVE)
if(NOT TRIBUTARY_HAS_MARCH_NATIVE OR NOT TARGET string_marks_test)
  return()
endif()
add_executable(string_marks_native_test ${CMAKE_CURRENT_SOURCE_DIR}/string_marks_test.cpp)
target_compile_options(string_marks_native_test PRIVATE -march=native)
target_link_libraries(string_marks_native_test PRIVATE tributary tributary_developer GTest::gtest GTest::gtest_main)
gtest_discover_tests(string_marks_native_test DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60 TEST_SUFFIX .native)
