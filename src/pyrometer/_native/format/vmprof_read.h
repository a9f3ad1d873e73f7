/* vmprof_read.h — reads vmprof profiles (versions 0–6, as written by
 * vmprof-python, by PyPy's _vmprof and by pyrometer) into a profile.
 *
 * Plain or gzipped; 64-bit, 32-bit and Win64 word layouts. A file cut short
 * after complete samples loads them all and sets profile.warning; a file
 * with no readable header, an unsupported version or garbage records fails
 * with a one-line message and the byte offset. */
#ifndef PYROMETER_VMPROF_READ_H
#define PYROMETER_VMPROF_READ_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/profile.h"
#include "common/error.h"

/* Reads the file at path into out (initialised here; free with
 * profile_free, also on failure). 0, or -1 with err set. */
int vmprof_read_file(const char *path, profile *out, prof_error *err);

/* Same, from bytes already in memory (plain or gzipped). */
int vmprof_read_buffer(const uint8_t *data, size_t len, profile *out, prof_error *err);

/* Nonzero when the bytes start like a vmprof profile (plain or gzipped). */
int vmprof_looks_like_profile(const uint8_t *data, size_t len);

#endif
