#include "capture/writer.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture/sample_record.h"
#include "format/vmprof_format.h"
#include "format/vmprof_write.h"

/* Writes all of b to the fd; on failure marks the writer failed and
 * prints one warning. The buffer is emptied either way. */
static void write_out(writer *w, buf *b)
{
    size_t off = 0;
    while (off < b->len && !atomic_load(&w->failed)) {
        ssize_t n = write(w->fd, b->data + off, b->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            w->write_errno = n < 0 ? errno : EIO;
            atomic_store(&w->failed, 1);
            char msg[256];
            int len = snprintf(msg, sizeof(msg),
                               "pyrometer: warning: cannot write the profile (%s); sampling stopped, "
                               "the profile keeps what was written before\n",
                               strerror(w->write_errno));
            if (len > 0 && write(2, msg, (size_t)len) < 0) {
                /* nothing more we can do */
            }
            break;
        }
        off += (size_t)n;
        w->bytes_written += (uint64_t)n;
    }
    b->len = 0;
}

/* Turns every ready ring sample into records appended to w->pending.
 * Must hold registry.lock. Also the registry's flush callback, so it runs
 * before any known code object dies. */
static void drain_locked(void *ctx)
{
    writer *w = ctx;
    size_t len;
    const void *entry;
    while ((entry = ring_peek(w->ring, &len)) != NULL) {
        const sample_record *s = entry;
        size_t depth = s->depth;
        if (len < sizeof(*s) || depth > SAMPLER_MAX_DEPTH || len < sizeof(*s) + depth * sizeof(py_frame_record)) {
            ring_release(w->ring);
            continue;
        }
        size_t n = 0;
        for (size_t i = 0; i < depth; i++) {
            uint32_t id = code_registry_resolve(&w->registry, s->frames[i].code, &w->pending);
            if (id == 0)
                continue; /* a torn frame: leave it out rather than misname it */
            if (w->lines)
                w->entries[n++] = (uint64_t)py_code_line(s->frames[i].code, s->frames[i].instr_offset);
            w->entries[n++] = registry_address(id);
        }
        uint32_t marker = (s->flags & SAMPLE_NOT_PYTHON) ? REGISTRY_ID_NOT_PYTHON
                          : (s->flags & SAMPLE_TRUNCATED) ? REGISTRY_ID_TRUNCATED
                                                          : 0;
        if (marker != 0) {
            if (w->lines)
                w->entries[n++] = 0;
            w->entries[n++] = registry_address(marker);
        }
        /* vmprof records carry no weight: a sample standing for k periods
         * is written k times, so counts stay proportional to time. */
        unsigned weight = s->weight == 0 ? 1 : s->weight > SAMPLE_MAX_WEIGHT ? SAMPLE_MAX_WEIGHT : s->weight;
        for (unsigned k = 0; n > 0 && k < weight; k++) {
            vmprof_write_stack(&w->pending, w->entries, n, s->thread_id, w->memory ? s->rss_kb : -1);
            w->samples_written++;
        }
        ring_release(w->ring);
    }
}

static void *writer_main(void *arg)
{
    writer *w = arg;
    /* The spare buffer lives in the writer, not on this thread's stack: a
     * forked child keeps the memory but not the thread. */
    buf *out = &w->spare;
    if (w->on_tick != NULL)
        w->on_tick(w->tick_ctx);
    pthread_mutex_lock(&w->wake_lock);
    while (!w->stopping) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_nsec += WRITER_FLUSH_MS * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->wake, &w->wake_lock, &deadline);
        if (w->stopping)
            break;
        pthread_mutex_unlock(&w->wake_lock);

        pthread_mutex_lock(&w->registry.lock);
        drain_locked(w);
        /* Swap buffers so the file write happens outside the lock. */
        buf tmp = w->pending;
        w->pending = *out;
        *out = tmp;
        pthread_mutex_unlock(&w->registry.lock);
        if (out->len > 0) {
            if (atomic_load(&w->failed))
                out->len = 0;
            else
                write_out(w, out);
        }
        if (w->on_tick != NULL)
            w->on_tick(w->tick_ctx);
        pthread_mutex_lock(&w->wake_lock);
    }
    pthread_mutex_unlock(&w->wake_lock);
    return NULL;
}

int writer_start(writer *w, int fd, ring *r, int lines, int memory, const buf *prologue, void (*on_tick)(void *),
                 void *tick_ctx)
{
    memset(w, 0, sizeof(*w));
    w->on_tick = on_tick;
    w->tick_ctx = tick_ctx;
    w->fd = fd;
    w->ring = r;
    w->lines = lines;
    w->memory = memory;
    buf_init(&w->pending);
    buf_init(&w->spare);
    /* Worst case per sample: [line, code] per frame plus a marker pair. */
    w->entries = malloc((2 * SAMPLER_MAX_DEPTH + 2) * sizeof(*w->entries));
    if (w->entries == NULL) {
        errno = ENOMEM;
        return -1;
    }
    if (code_registry_start(&w->registry, drain_locked, w) < 0) {
        free(w->entries);
        errno = ENOMEM;
        return -1;
    }
    /* Marker frames have fixed ids. */
    static const char truncated[] = "py:<truncated>:0:-";
    static const char not_python[] = "py:<non-Python thread>:0:-";
    buf_append(&w->pending, prologue->data, prologue->len);
    vmprof_write_symbol(&w->pending, VMPROF_TAG_VIRTUAL_IP, registry_address(REGISTRY_ID_TRUNCATED), truncated,
                        sizeof(truncated) - 1);
    vmprof_write_symbol(&w->pending, VMPROF_TAG_VIRTUAL_IP, registry_address(REGISTRY_ID_NOT_PYTHON),
                        not_python, sizeof(not_python) - 1);
    write_out(w, &w->pending);
    if (atomic_load(&w->failed)) {
        errno = w->write_errno;
        code_registry_stop(&w->registry);
        free(w->entries);
        return -1;
    }
    pthread_mutex_init(&w->wake_lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    /* The writer must never receive the sampling signals (they would
     * count its time as the program's) nor SIGXFSZ (a write past a file
     * size limit should fail, not kill the program). */
    sigset_t block, old;
    sigfillset(&block);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = pthread_create(&w->thread, NULL, writer_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        code_registry_stop(&w->registry);
        free(w->entries);
        errno = rc;
        return -1;
    }
    w->started = 1;
    return 0;
}

int writer_finish(writer *w, const buf *epilogue)
{
    if (!w->started)
        return 0;
    pthread_mutex_lock(&w->wake_lock);
    w->stopping = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->wake_lock);
    pthread_join(w->thread, NULL);
    w->started = 0;

    pthread_mutex_lock(&w->registry.lock);
    drain_locked(w);
    pthread_mutex_unlock(&w->registry.lock);
    buf_append(&w->pending, epilogue->data, epilogue->len);
    if (!atomic_load(&w->failed))
        write_out(w, &w->pending);
    code_registry_stop(&w->registry);
    buf_free(&w->pending);
    buf_free(&w->spare);
    free(w->entries);
    w->entries = NULL;
    pthread_mutex_destroy(&w->wake_lock);
    pthread_cond_destroy(&w->wake);
    return atomic_load(&w->failed) ? -1 : 0;
}

void writer_forget_after_fork(writer *w)
{
    code_registry_forget_after_fork(&w->registry);
    w->started = 0;
    atomic_store(&w->failed, 1);
}
