#include "common/error.h"

#include <stdio.h>
#include <string.h>

int prof_error_set(prof_error *err, int64_t offset, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    err->offset = offset;
    return -1;
}

int prof_error_nomem(prof_error *err)
{
    return prof_error_set(err, -1, "out of memory");
}
