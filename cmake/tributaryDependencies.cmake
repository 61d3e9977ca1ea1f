# The packages tributary's headers need. Shared by the build tree and the installed package config.
include(CMakeFindDependencyMacro)
find_dependency(Threads)
find_dependency(range-v3)
find_dependency(simdjson)
find_dependency(SQLite3)
