// The X-Road collector of the staging environment: see examples/collector/cli.hpp and --help.
#include "collector/cli.hpp"

int main(int argc, char** argv) { return tributary::examples::collector_main(argc, argv, "staging"); }
