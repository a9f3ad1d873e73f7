/* Fuzz target: whatever the vmprof reader accepts, pyrometer's own vmprof
 * writer (format/vmprof_write.h) must write back so that the reader reads
 * the same samples: same count, same stack depths, same threads, same RSS.
 * This is the path `pyrometer` takes when it rewrites a profile. */
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "format/vmprof_format.h"
#include "format/vmprof_read.h"
#include "format/vmprof_write.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Function f is written at address 2f + 2: even, so Python by convention. */
static uint64_t addr_of(uint32_t f)
{
    return 2 * (uint64_t)f + 2;
}

static void write_profile(const profile *p, buf *out)
{
    int memory = (p->mode & PROF_MODE_MEMORY) != 0;
    vmprof_write_header(out, p->period_us, memory ? PROF_MODE_MEMORY : 0, "cpython");
    static uint64_t *entries; /* one stack, allocated once for speed */
    if (entries == NULL)
        entries = malloc(VMPROF_MAX_DEPTH * sizeof(*entries));
    FUZZ_ASSERT(entries != NULL);
    for (size_t i = 0; i < p->sample_count; i++) {
        size_t n = 0;
        for (uint32_t node = p->samples[i].stack; node != PROF_NO_PARENT; node = p->nodes[node].parent) {
            FUZZ_ASSERT(n < VMPROF_MAX_DEPTH);
            entries[n++] = addr_of(p->nodes[node].function);
        }
        /* The writer takes a negative RSS as "not recorded"; the reader
         * keeps a hostile 2^63+ kB as negative. Write 0 for those. */
        int64_t rss = p->samples[i].rss_kb < 0 ? 0 : p->samples[i].rss_kb;
        vmprof_write_stack(out, entries, n, p->threads[p->samples[i].thread].id, memory ? rss : -1);
    }
    char text[256];
    for (uint32_t f = 0; f < p->function_count; f++) {
        int len = snprintf(text, sizeof(text), "py:f%u:%d:x.py", f, (int)p->functions[f].first_line);
        vmprof_write_symbol(out, VMPROF_TAG_VIRTUAL_IP, addr_of(f), text, (size_t)len);
    }
    vmprof_write_time(out, VMPROF_TAG_TRAILER, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    profile p, back;
    prof_error err;
    memset(&err, 0, sizeof(err));
    if (vmprof_read_buffer(data, size, &p, &err) != 0) {
        profile_free(&p);
        return 0;
    }
    buf out;
    buf_init(&out);
    write_profile(&p, &out);
    if (buf_ok(&out) != 0) { /* out of memory while writing */
        buf_free(&out);
        profile_free(&p);
        return 0;
    }
    int rc = vmprof_read_buffer((const uint8_t *)out.data, out.len, &back, &err);
    if (rc != 0)
        fprintf(stderr, "re-read failed: %s\n", err.message);
    FUZZ_ASSERT(rc == 0);
    fuzz_check_profile(&back);
    FUZZ_ASSERT(back.sample_count == p.sample_count);
    for (size_t i = 0; i < p.sample_count; i++) {
        FUZZ_ASSERT(p.nodes[p.samples[i].stack].depth == back.nodes[back.samples[i].stack].depth);
        FUZZ_ASSERT(p.threads[p.samples[i].thread].id == back.threads[back.samples[i].thread].id);
        if (p.mode & PROF_MODE_MEMORY)
            FUZZ_ASSERT((p.samples[i].rss_kb < 0 ? 0 : p.samples[i].rss_kb) == back.samples[i].rss_kb);
    }
    buf_free(&out);
    profile_free(&back);
    profile_free(&p);
    return 0;
}
