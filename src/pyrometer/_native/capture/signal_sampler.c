#include "capture/signal_sampler.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "capture/fault_guard.h"
#include "capture/sample_record.h"

signal_sampler the_signal_sampler;

int64_t signal_sampler_rss_kb(const signal_sampler *s)
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

/* Writes one thread's stack into the ring. Must run under an armed fault
 * guard; *reserved tracks an entry reserved but not yet committed, so the
 * guard's fault path can discard it (the consumer would wait on it forever
 * otherwise). Returns 1 when a sample was committed. */
static int sample_thread(signal_sampler *s, PyThreadState *ts, int64_t rss_kb, int weight, void *volatile *reserved)
{
    int reached_stop;
    int depth = py_count_frames(ts, SAMPLER_MAX_DEPTH + 1, s->stop_code, &reached_stop);
    if (depth == 0)
        return 0; /* no Python frames: a thread starting up or in C only */
    if (ts == s->launcher && s->stop_code != 0 && !reached_stop)
        return 0; /* the launcher before or after the program: pyrometer's own time */
    int truncated = depth > SAMPLER_MAX_DEPTH;
    if (truncated)
        depth = SAMPLER_MAX_DEPTH;
    sample_record *rec = ring_reserve(s->ring, sizeof(sample_record) + (size_t)depth * sizeof(py_frame_record));
    if (rec == NULL)
        return 0;
    *reserved = rec;
    int more = 0;
    rec->depth = (uint32_t)py_walk_frames(ts, rec->frames, depth, s->stop_code, &more);
    rec->flags = truncated || more ? SAMPLE_TRUNCATED : 0;
    rec->thread_id = py_native_thread_id(ts);
    rec->rss_kb = rss_kb;
    rec->weight = (uint16_t)weight;
    *reserved = NULL;
    ring_commit(s->ring, rec, 0);
    atomic_fetch_add_explicit(&s->samples, (uint64_t)weight, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->stack_reads, 1, memory_order_relaxed);
    return 1;
}

/* A CPU sample of a thread Python does not know (a C library's thread). */
static void sample_foreign_thread(signal_sampler *s, int64_t rss_kb, int weight)
{
    sample_record *rec = ring_reserve(s->ring, sizeof(sample_record));
    if (rec == NULL)
        return;
    rec->depth = 0;
    rec->flags = SAMPLE_NOT_PYTHON;
    rec->thread_id = (uint64_t)syscall(SYS_gettid);
    rec->rss_kb = rss_kb;
    rec->weight = (uint16_t)weight;
    ring_commit(s->ring, rec, 0);
    atomic_fetch_add_explicit(&s->samples, (uint64_t)weight, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->stack_reads, 1, memory_order_relaxed);
}

/* Runs fn under a fault guard; a fault discards a half-written entry. */
#define GUARDED_SAMPLE(s, reserved, body)                                   \
    do {                                                                    \
        fault_guard guard_;                                                 \
        if (FAULT_GUARD_ARM(&guard_)) {                                     \
            body;                                                           \
            fault_guard_disarm();                                           \
        } else {                                                            \
            if ((reserved) != NULL)                                         \
                ring_commit((s)->ring, (void *)(reserved), 1);              \
            atomic_fetch_add_explicit(&(s)->faults, 1, memory_order_relaxed); \
        }                                                                   \
    } while (0)

static void sample_current_thread(signal_sampler *s, int weight)
{
    int64_t rss_kb = signal_sampler_rss_kb(s);
    PyThreadState *ts = py_current_thread_state();
    if (ts == NULL) {
        sample_foreign_thread(s, rss_kb, weight);
        return;
    }
    void *volatile reserved = NULL;
    GUARDED_SAMPLE(s, reserved, sample_thread(s, ts, rss_kb, weight, &reserved));
}

int signal_sampler_take_wall_weight(signal_sampler *s)
{
    int weight = 1 + atomic_exchange(&s->wall_missed, 0);
    if (weight > SAMPLE_MAX_WEIGHT)
        weight = SAMPLE_MAX_WEIGHT;
    atomic_fetch_add(&s->wall_ticks, (uint64_t)weight);
    return weight;
}

int signal_sampler_sample_all(signal_sampler *s, int64_t rss_kb, int weight)
{
    void *volatile reserved = NULL;
    volatile int committed = 0;
    /* Bounded, in case torn memory makes the thread list cyclic. */
    GUARDED_SAMPLE(s, reserved, {
        int budget = 4096;
        for (PyThreadState *ts = py_first_thread(s->interp); ts != NULL && budget-- > 0; ts = py_next_thread(ts))
            committed += sample_thread(s, ts, rss_kb, weight, &reserved);
    });
    return committed;
}

static void serve_wall_request(signal_sampler *s)
{
    int expected = WALL_REQUESTED;
    if (!atomic_compare_exchange_strong(&s->wall_request, &expected, WALL_SERVING))
        return; /* cancelled, or a stale signal */
    /* While this thread holds the GIL no other thread can push or pop
     * frames, so every stack reads consistently. If it let the GIL go
     * between the request and now, the walk is as good as the wall
     * thread's own (guarded, possibly torn) and still safe. */
    signal_sampler_sample_all(s, signal_sampler_rss_kb(s), signal_sampler_take_wall_weight(s));
    atomic_store(&s->wall_request, WALL_IDLE);
}

void signal_sampler_handler(int sig, siginfo_t *info, void *context)
{
    (void)context;
    int saved_errno = errno;
    signal_sampler *s = &the_signal_sampler;
    atomic_fetch_add(&s->handlers_running, 1);
    if (atomic_load(&s->active)) {
        if (sig == WALL_SIGNAL) {
            serve_wall_request(s);
        } else {
            /* The ticker queues each request with the periods it covers. */
            int weight = info != NULL && info->si_code == SI_QUEUE ? info->si_value.sival_int : 1;
            sample_current_thread(s, weight < 1 ? 1 : weight > SAMPLE_MAX_WEIGHT ? SAMPLE_MAX_WEIGHT : weight);
        }
    }
    atomic_fetch_sub(&s->handlers_running, 1);
    errno = saved_errno;
}
