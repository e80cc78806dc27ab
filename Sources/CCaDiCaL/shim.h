// CaDiCaL's C API (IPASIR and a few more), from Debian's libcadical-dev (a static C++ library: the module map
// links libstdc++ beside it). scripts/install-deps.sh installs it.
#include <ccadical.h>
