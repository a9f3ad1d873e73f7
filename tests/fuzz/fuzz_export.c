/* Fuzz target, one per exporter (FUZZ_EXPORT_FORMAT, set by the Makefile):
 * the fuzzed bytes go through the reader a user's file would go through
 * (the allocation capture reader for capture magic, else the vmprof reader),
 * and whatever it accepts is exported for all threads and for one thread.
 * The export must succeed and be well-formed for its format: JSON formats
 * valid JSON and UTF-8, collapsed stacks one "frames count" per line. */
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "export/export.h"
#include "format/vmprof_read.h"
#include "fuzz_check.h"
#include "fuzz_json.h"

#if __has_include("format/capture_read.h") && __has_include("analysis/memory.h")
#include "fuzz_capture_profile.h"
#define HAVE_CAPTURE 1
#endif

#ifndef FUZZ_EXPORT_FORMAT
#error "build with -DFUZZ_EXPORT_FORMAT='\"<format>\"'"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_json_format(const char *format)
{
    return strcmp(format, "speedscope") == 0 || strcmp(format, "gecko") == 0 || strcmp(format, "chrome") == 0;
}

static void check_collapsed(const buf *b)
{
    size_t start = 0;
    for (size_t i = 0; i < b->len; i++) {
        if (b->data[i] != '\n')
            continue;
        /* "frame;frame;... <count>": a space, then digits to the end. */
        size_t sp = i;
        while (sp > start && b->data[sp - 1] != ' ')
            sp--;
        FUZZ_ASSERT(sp > start + 1 && sp < i);
        for (size_t k = sp; k < i; k++)
            FUZZ_ASSERT(b->data[k] >= '0' && b->data[k] <= '9');
        start = i + 1;
    }
    FUZZ_ASSERT(start == b->len); /* every line ends with a newline */
}

static void export_and_check(const profile *p, uint32_t thread)
{
    export_options opts;
    export_options_init(&opts);
    opts.thread = thread;
    opts.name = "fuzz \"</script><script>alert(1)</script>";
    buf out;
    buf_init(&out);
    prof_error err;
    memset(&err, 0, sizeof(err));
    int rc = export_profile(p, FUZZ_EXPORT_FORMAT, &opts, &out, &err);
    if (rc != 0 && strstr(err.message, "memory") == NULL) {
        fprintf(stderr, "export %s failed: %s\n", FUZZ_EXPORT_FORMAT, err.message);
        FUZZ_ASSERT(rc == 0);
    }
    if (rc == 0 && buf_ok(&out) == 0) { /* buf_ok: 0 when every append succeeded */
        if (is_json_format(FUZZ_EXPORT_FORMAT)) {
            size_t at = 0;
            const char *why = json_problem(out.data, out.len, &at);
            if (why != NULL) {
                fprintf(stderr, "%s export is not valid JSON at byte %zu: %s\n", FUZZ_EXPORT_FORMAT, at, why);
                FUZZ_ASSERT(why == NULL);
            }
        } else if (strcmp(FUZZ_EXPORT_FORMAT, "collapsed") == 0) {
            check_collapsed(&out);
        }
    }
    buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    profile p;
    prof_error err;
    memset(&err, 0, sizeof(err));
    int rc;
#ifdef HAVE_CAPTURE
    if (fuzz_is_capture(data, size))
        rc = fuzz_capture_profile(data, size, &p, &err);
    else
#endif
        rc = vmprof_read_buffer(data, size, &p, &err);
    if (rc == 0) {
        export_and_check(&p, PROF_NONE);
        if (p.thread_count > 0)
            export_and_check(&p, p.thread_count - 1);
    }
    profile_free(&p);
    return 0;
}
