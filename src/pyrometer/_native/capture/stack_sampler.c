#include "capture/stack_sampler.h"

#include <string.h>
#include <unistd.h>

#include "capture/code_registry.h"
#include "capture/fault_guard.h"
#include "capture/sample_record.h"

/* Bound on the thread list, in case torn memory makes it cyclic. */
#define MAX_THREADS_WALKED 4096

/* One stack as read, before it goes into the ring. Only the ticker thread
 * samples, so one buffer serves every walk. */
static py_frame_record scratch[SAMPLER_MAX_DEPTH];

int64_t stack_sampler_rss_kb(const stack_sampler *s)
{
    if (s->statm_fd < 0)
        return -1;
    char text[128];
    ssize_t n = pread(s->statm_fd, text, sizeof(text) - 1, 0);
    if (n <= 0)
        return -1;
    /* "size resident shared ..." in pages: skip the first field. */
    ssize_t i = 0;
    while (i < n && text[i] != ' ')
        i++;
    int64_t pages = 0;
    for (i++; i < n && text[i] >= '0' && text[i] <= '9'; i++)
        pages = pages * 10 + (text[i] - '0');
    return pages * s->page_kb;
}

/* Puts one sample into the ring. */
static void commit_sample(stack_sampler *s, uint64_t thread_id, const py_frame_record *frames, int depth,
                          uint16_t flags, int64_t rss_kb, int weight)
{
    sample_record *rec = ring_reserve(s->ring, sizeof(sample_record) + (size_t)depth * sizeof(py_frame_record));
    if (rec == NULL)
        return; /* the ring counted the drop */
    rec->thread_id = thread_id;
    rec->rss_kb = rss_kb;
    rec->depth = (uint32_t)depth;
    rec->flags = flags;
    rec->weight = (uint16_t)weight;
    if (depth > 0)
        memcpy(rec->frames, frames, (size_t)depth * sizeof(py_frame_record));
    ring_commit(s->ring, rec, 0);
    s->samples += (uint64_t)weight;
    s->stack_reads++;
}

/* Reads ts's stack into scratch under the fault guard. Returns the depth
 * (0: nothing to record), or -1 when a read faulted. */
static int read_stack(stack_sampler *s, PyThreadState *ts, uint64_t *thread_id, uint16_t *flags)
{
    fault_guard guard;
    volatile int depth = -1;
    if (FAULT_GUARD_ARM(&guard)) {
        int more = 0, reached_stop = 0;
        int n = py_walk_frames(ts, scratch, SAMPLER_MAX_DEPTH, s->stop_code, &more, &reached_stop);
        /* The launcher before or after the program is pyrometer's own time. */
        if (ts == s->launcher && s->stop_code != 0 && !reached_stop)
            n = 0;
        *thread_id = py_native_thread_id(ts);
        *flags = more ? SAMPLE_TRUNCATED : 0;
        depth = n;
        fault_guard_disarm();
    } else {
        s->faults++;
    }
    return depth;
}

/* Samples one Python thread. Returns 1 when a sample was committed. */
static int sample_python_thread(stack_sampler *s, PyThreadState *ts, int64_t rss_kb, int weight)
{
    uint64_t thread_id = 0;
    uint16_t flags = 0;
    /* Committed inside the fence: a code object read here cannot be freed
     * before the sample is in the ring, where its dealloc hook names it. */
    walk_fence_begin(&code_death_fence);
    int depth = read_stack(s, ts, &thread_id, &flags);
    if (depth > 0)
        commit_sample(s, thread_id, scratch, depth, flags, rss_kb, weight);
    walk_fence_end(&code_death_fence);
    return depth > 0;
}

/* The thread after ts in the interpreter's list (the first when ts is
 * NULL), read under the guard: a thread may end and free its state while
 * the list is walked. NULL at the end or on a fault. */
static PyThreadState *next_thread(stack_sampler *s, PyThreadState *ts)
{
    PyThreadState *volatile next = NULL;
    fault_guard guard;
    if (FAULT_GUARD_ARM(&guard)) {
        next = ts == NULL ? py_first_thread(s->interp) : py_next_thread(ts);
        fault_guard_disarm();
    } else {
        s->faults++;
    }
    return next;
}

/* Sets *found to the thread state of OS thread tid, or NULL when it is not
 * a Python thread. -1 on a fault while the list was read (then we know
 * nothing: no sample rather than a "not Python" one). */
static int find_thread(stack_sampler *s, pid_t tid, PyThreadState **found_out)
{
    PyThreadState *volatile found = NULL;
    fault_guard guard;
    if (FAULT_GUARD_ARM(&guard)) {
        int budget = MAX_THREADS_WALKED;
        for (PyThreadState *ts = py_first_thread(s->interp); ts != NULL && budget-- > 0; ts = py_next_thread(ts)) {
            if (py_native_thread_id(ts) == (uint64_t)tid) {
                found = ts;
                break;
            }
        }
        fault_guard_disarm();
    } else {
        s->faults++;
        return -1;
    }
    *found_out = found;
    return 0;
}

void stack_sampler_sample_thread(stack_sampler *s, pid_t tid, int weight)
{
    int64_t rss_kb = stack_sampler_rss_kb(s);
    PyThreadState *ts;
    if (find_thread(s, tid, &ts) < 0)
        return;
    if (ts != NULL)
        sample_python_thread(s, ts, rss_kb, weight);
    else
        commit_sample(s, (uint64_t)tid, NULL, 0, SAMPLE_NOT_PYTHON, rss_kb, weight);
}

void stack_sampler_sample_all(stack_sampler *s, int weight)
{
    int64_t rss_kb = stack_sampler_rss_kb(s);
    int budget = MAX_THREADS_WALKED;
    for (PyThreadState *ts = next_thread(s, NULL); ts != NULL && budget-- > 0; ts = next_thread(s, ts))
        sample_python_thread(s, ts, rss_kb, weight);
}
