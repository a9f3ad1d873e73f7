/* Fuzz target: vmprof_read_buffer on arbitrary bytes (plain or gzipped).
 * A success must yield a consistent profile whose call tree folds; a
 * failure must leave a one-line message. */
#include <stddef.h>
#include <stdint.h>

#include "format/vmprof_read.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    profile p;
    prof_error err;
    memset(&err, 0, sizeof(err));
    if (vmprof_read_buffer(data, size, &p, &err) == 0) {
        fuzz_check_profile(&p);
        fuzz_check_calltree(&p);
    } else {
        fuzz_check_error(&err);
    }
    profile_free(&p);
    return 0;
}
