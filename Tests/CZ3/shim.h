// Z3's C API (Debian's libz3-dev), the second solver of the verifier's tests (Z3AgreementTests).
#include <z3.h>
