/* fuzz_capture_profile.h — an allocation capture turned into a profile the
 * way pyrometer.loader does it (capture reader, then one memory view), for
 * the targets that consume profiles. */
#ifndef PYROMETER_FUZZ_CAPTURE_PROFILE_H
#define PYROMETER_FUZZ_CAPTURE_PROFILE_H

#include <string.h>

#include "analysis/memory.h"
#include "format/capture_format.h"
#include "format/capture_read.h"

static inline int fuzz_is_capture(const uint8_t *data, size_t size)
{
    return size >= CAPTURE_MAGIC_LEN && memcmp(data, CAPTURE_MAGIC, CAPTURE_MAGIC_LEN) == 0;
}

/* Reads a capture and reduces it with the view the input's size picks.
 * *out takes the profile (free it with profile_free, also on failure). */
static inline int fuzz_capture_profile(const uint8_t *data, size_t size, profile *out, prof_error *err)
{
    capture_data c;
    int rc = capture_read_buffer(data, size, &c, err);
    if (rc == 0)
        rc = memory_build_view(&c, (memory_view)(size % 3), 1 + (uint32_t)(size % 5), err);
    *out = c.prof;
    memset(&c.prof, 0, sizeof(c.prof));
    capture_data_free(&c);
    return rc;
}

#endif
