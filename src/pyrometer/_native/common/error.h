/* error.h — the one error convention of the native core.
 *
 * Functions that can fail return 0 on success and -1 on failure, and fill a
 * caller-provided prof_error with a one-line message (and the byte offset
 * in the input when the failure is about a file's content). Code that
 * cannot report (signal handlers, allocation hooks) sets flags instead and
 * the error is reported later from a safe place. */
#ifndef PYROMETER_ERROR_H
#define PYROMETER_ERROR_H

#include <stdarg.h>
#include <stdint.h>

typedef struct prof_error {
    char message[512];
    int64_t offset;   /* byte offset in the input, or -1 when it does not apply */
} prof_error;

/* Records a printf-style message; returns -1 so callers can `return prof_error_set(...)`. */
int prof_error_set(prof_error *err, int64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records "out of memory". Returns -1. */
int prof_error_nomem(prof_error *err);

#endif
