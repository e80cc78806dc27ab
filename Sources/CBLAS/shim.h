// OpenBLAS's CBLAS interface (Debian: libopenblas-dev; pkg-config openblas gives the include path).
#include <cblas.h>
// Run-time controls OpenBLAS exports beside CBLAS.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);
