# The jobs tests that run the platforms shipped as examples (examples/jobs_platforms.hpp) include them
# as the examples do, from examples/: its headers include "collector/cli.hpp" and "xroad/...".
foreach(test IN ITEMS jobs_platforms_test)
  if(TARGET ${test})
    target_include_directories(${test} PRIVATE ${PROJECT_SOURCE_DIR}/examples)
  endif()
endforeach()
