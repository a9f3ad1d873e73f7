#include "capture/sampler.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "capture/fault_guard.h"
#include "capture/sample_record.h"
#include "capture/stack_sampler.h"
#include "capture/thread_clocks.h"
#include "capture/writer.h"
#include "format/vmprof_format.h"
#include "format/vmprof_write.h"

#define DEFAULT_RING_BYTES ((size_t)16 << 20)
#define MAX_THREAD_NAMES 4096
#define MAX_THREAD_NAME 128
/* How often the ticker looks for new threads in CPU mode. */
#define RESCAN_NS 50000000L

typedef struct thread_name {
    uint64_t id;
    char name[MAX_THREAD_NAME];
} thread_name;

/* All of the sampler's state: one process-wide instance, since the code
 * type's dealloc hook is process-wide too. */
static struct sampler {
    int running;
    sampler_options opt;
    ring ring;
    writer writer;
    thread_clocks clocks;          /* CPU mode: who used CPU since the last tick */
    stack_sampler stacks;
    pthread_t ticker;
    int ticker_started;
    double own_cpu_seconds;        /* CPU the ticker and writer used (not the program's) */
    int writer_excluded;           /* the writer thread is out of the CPU clocks */
    _Atomic int ticker_stop;
    struct timespec start_wall, start_cpu;
    int64_t start_epoch_us;
    pthread_mutex_t names_lock;
    thread_name *names;
    size_t name_count;
    int atfork_registered;
} S = {.names_lock = PTHREAD_MUTEX_INITIALIZER};

static int64_t epoch_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double seconds_since(clockid_t clock, const struct timespec *start)
{
    struct timespec now;
    clock_gettime(clock, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* CPU seconds a live thread of ours has used, or 0. */
static double thread_cpu_seconds(pthread_t thread)
{
    clockid_t clock;
    struct timespec ts;
    if (pthread_getcpuclockid(thread, &clock) != 0 || clock_gettime(clock, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(char *err, size_t err_len, const char *fmt, const char *detail)
{
    snprintf(err, err_len, fmt, detail);
    return -1;
}

static void timespec_add_ns(struct timespec *t, long ns)
{
    t->tv_nsec += ns;
    while (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

static int timespec_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* ---- the ticker ---- */

/* CPU mode: a thread used `weight` periods of CPU since its last sample. */
static void sample_due_thread(pid_t tid, int weight, void *ctx)
{
    stack_sampler_sample_thread(ctx, tid, weight);
}

/* The ticker thread: wakes every period (absolute deadlines, so the rate
 * does not drift) and takes the samples. Never a Python thread; every
 * signal is blocked except the faults its guarded reads may raise. */
static void *ticker_main(void *arg)
{
    (void)arg;
    stack_sampler *s = &S.stacks;
    sigset_t faults;
    sigemptyset(&faults);
    sigaddset(&faults, SIGSEGV);
    sigaddset(&faults, SIGBUS);
    pthread_sigmask(SIG_UNBLOCK, &faults, NULL);
    /* Default timer slack (50 µs) would blur 10 kHz ticks. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    if (S.opt.mode == SAMPLER_CPU)
        thread_clocks_exclude(&S.clocks, (pid_t)syscall(SYS_gettid));
    long period_ns = (long)S.opt.period_us * 1000L;
    struct timespec next, now, next_rescan;
    clock_gettime(CLOCK_MONOTONIC, &next);
    next_rescan = next;
    int paused = 0;
    int wall_missed = 0;  /* wall ticks that passed untaken since the last sample */
    while (!atomic_load(&S.ticker_stop)) {
        timespec_add_ns(&next, period_ns);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (timespec_before(&next, &now)) {
            /* Fell behind (the machine was busy): skip missed ticks rather
             * than burst. Weights keep the counts right: CPU mode's from
             * the clocks, wall mode's from the ticks missed. */
            long behind_ns = (now.tv_sec - next.tv_sec) * 1000000000L + (now.tv_nsec - next.tv_nsec);
            long missed = behind_ns / period_ns;
            /* A weight never exceeds SAMPLE_MAX_WEIGHT: no need to count further. */
            if (missed > SAMPLE_MAX_WEIGHT - wall_missed)
                missed = SAMPLE_MAX_WEIGHT - wall_missed;
            wall_missed += (int)missed;
            next = now;
            timespec_add_ns(&next, period_ns);
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
        }
        if (atomic_load(&S.ticker_stop) || !atomic_load(&s->active)) {
            paused = 1;
            continue;
        }
        if (paused) {
            if (S.opt.mode == SAMPLER_CPU)
                thread_clocks_forgive(&S.clocks); /* CPU used while paused is owed nothing */
            wall_missed = 0;
        }
        paused = 0;
        if (S.opt.mode == SAMPLER_WALL) {
            int weight = 1 + wall_missed;
            if (weight > SAMPLE_MAX_WEIGHT)
                weight = SAMPLE_MAX_WEIGHT;
            wall_missed = 0;
            s->wall_ticks += (uint64_t)weight;
            stack_sampler_sample_all(s, weight);
            continue;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (!timespec_before(&now, &next_rescan)) {
            thread_clocks_rescan(&S.clocks);
            next_rescan = now;
            timespec_add_ns(&next_rescan, RESCAN_NS);
        }
        thread_clocks_poll(&S.clocks, sample_due_thread, s);
    }
    return NULL;
}

/* ---- fork ---- */

/* The profiler's own threads allocate only while holding the registry
 * lock (the writer) or the clocks lock (the ticker's thread scan). Holding
 * both across fork means neither is inside malloc when the process is
 * copied, so no allocator lock is inherited taken (glibc copes either way;
 * ASan's allocator does not, and a child would hang in its exit-time leak
 * check). */
static void before_fork(void)
{
    if (!S.running)
        return;
    pthread_mutex_lock(&S.writer.registry.lock);
    if (S.opt.mode == SAMPLER_CPU)
        pthread_mutex_lock(&S.clocks.lock);
}

static void after_fork_in_parent(void)
{
    if (!S.running)
        return;
    if (S.opt.mode == SAMPLER_CPU)
        pthread_mutex_unlock(&S.clocks.lock);
    pthread_mutex_unlock(&S.writer.registry.lock);
}

static void after_fork_in_child(void)
{
    if (!S.running)
        return;
    /* The writer and ticker threads do not exist here, and the file is the
     * parent's: the child runs unprofiled and never touches it. */
    atomic_store(&S.stacks.active, 0);
    writer_forget_after_fork(&S.writer);
    pthread_mutex_init(&S.clocks.lock, NULL);
    S.ticker_started = 0;
    S.running = 0;
    pthread_mutex_init(&S.names_lock, NULL);
}

/* ---- start / stop ---- */

/* On the writer thread, at start and after each flush: stop sampling if
 * the file failed (the writer already said so once), and keep the writer
 * out of the CPU clocks. */
static void writer_tick(void *ctx)
{
    (void)ctx;
    /* Only the writer thread runs this: a plain flag (reset at start) marks
     * the first call. No __thread: in a loaded module its first use may
     * allocate. */
    if (!S.writer_excluded) {
        if (S.opt.mode == SAMPLER_CPU)
            thread_clocks_exclude(&S.clocks, (pid_t)syscall(SYS_gettid));
        S.writer_excluded = 1;
    }
    if (atomic_load(&S.writer.failed))
        atomic_store(&S.stacks.active, 0);
}

int sampler_start(const sampler_options *opt, const buf *meta, char *err, size_t err_len)
{
    if (S.running)
        return fail(err, err_len, "%s", "the sampler is already running (call disable() first)");
    if (opt->period_us <= 0)
        return fail(err, err_len, "%s", "the sampling period must be positive");
    struct stat st;
    int flags = fcntl(opt->fd, F_GETFL);
    if (opt->fd < 0 || fstat(opt->fd, &st) < 0 || flags < 0)
        return fail(err, err_len, "bad file descriptor: %s", strerror(EBADF));
    if ((flags & O_ACCMODE) == O_RDONLY)
        return fail(err, err_len, "%s", "the file descriptor is not open for writing");

    S.opt = *opt;
    memset(&S.stacks, 0, sizeof(S.stacks));
    stack_sampler *s = &S.stacks;
    s->statm_fd = -1;
    s->interp = PyInterpreterState_Main();
    s->stop_code = opt->stop_code;
    s->launcher = PyThreadState_Get();
    s->page_kb = sysconf(_SC_PAGESIZE) / 1024;
    if (opt->memory && (s->statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)) < 0)
        return fail(err, err_len, "cannot read the process's memory size: %s", strerror(errno));
    if (ring_init(&S.ring, opt->ring_bytes ? opt->ring_bytes : DEFAULT_RING_BYTES) < 0) {
        if (s->statm_fd >= 0)
            close(s->statm_fd);
        return fail(err, err_len, "%s", "out of memory for the sample buffer");
    }
    s->ring = &S.ring;
    if (thread_clocks_init(&S.clocks, (uint64_t)opt->period_us * 1000) < 0) {
        ring_free(&S.ring);
        errno = ENOMEM;
        goto os_error;
    }
    if (fault_guard_install() < 0)
        goto os_error;

    S.start_epoch_us = epoch_us();
    buf prologue;
    buf_init(&prologue);
    uint8_t mode = (opt->lines ? VMPROF_MODE_LINES : 0) | (opt->memory ? VMPROF_MODE_MEMORY : 0) |
                   (opt->mode == SAMPLER_WALL ? VMPROF_MODE_REAL_TIME : 0);
    vmprof_write_header(&prologue, opt->period_us, mode, "cpython");
    vmprof_write_time(&prologue, VMPROF_TAG_TIME_N_ZONE, S.start_epoch_us);
    vmprof_write_meta(&prologue, "os", "linux", 5);
    vmprof_write_meta(&prologue, "bits", "64", 2);
    if (meta != NULL)
        buf_append(&prologue, meta->data, meta->len);
    if (buf_ok(&prologue) < 0) {
        buf_free(&prologue);
        errno = ENOMEM;
        goto os_error;
    }
    S.writer_excluded = 0;
    int rc = writer_start(&S.writer, opt->fd, &S.ring, opt->lines, opt->memory, &prologue, writer_tick, NULL);
    buf_free(&prologue);
    if (rc < 0)
        goto os_error;

    if (!S.atfork_registered) {
        pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
        S.atfork_registered = 1;
    }
    S.name_count = 0;
    atomic_store(&S.ticker_stop, 0);
    clock_gettime(CLOCK_MONOTONIC, &S.start_wall);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &S.start_cpu);
    if (opt->mode == SAMPLER_CPU)
        thread_clocks_rescan(&S.clocks);
    atomic_store(&s->active, 1);
    S.running = 1;

    sigset_t block, old;
    sigfillset(&block);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    rc = pthread_create(&S.ticker, NULL, ticker_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        sampler_result ignored;
        char ignored_err[64];
        sampler_stop(&ignored, ignored_err, sizeof(ignored_err));
        return fail(err, err_len, "cannot start the sampling thread: %s", strerror(rc));
    }
    S.ticker_started = 1;
    return 0;

os_error: {
    int saved = errno;
    ring_free(&S.ring);
    if (S.clocks.threads != NULL)
        thread_clocks_free(&S.clocks);
    if (s->statm_fd >= 0)
        close(s->statm_fd);
    return fail(err, err_len, "cannot start sampling: %s", strerror(saved));
}
}

/* META records written at stop: what the run delivered and thread names. */
static void write_epilogue(buf *out, const sampler_result *r)
{
    char value[64];
    int n = snprintf(value, sizeof(value), "%.1f", r->delivered_hz);
    vmprof_write_meta(out, "delivered_hz", value, (size_t)n);
    n = snprintf(value, sizeof(value), "%.1f", 1e6 / (double)S.opt.period_us);
    vmprof_write_meta(out, "requested_hz", value, (size_t)n);
    n = snprintf(value, sizeof(value), "%llu", (unsigned long long)r->dropped);
    vmprof_write_meta(out, "dropped_samples", value, (size_t)n);
    n = snprintf(value, sizeof(value), "%llu", (unsigned long long)r->samples);
    vmprof_write_meta(out, "samples", value, (size_t)n);
    n = snprintf(value, sizeof(value), "%llu", (unsigned long long)r->stack_reads);
    vmprof_write_meta(out, "stack_reads", value, (size_t)n);
    n = snprintf(value, sizeof(value), "%.6f", r->seconds);
    vmprof_write_meta(out, S.opt.mode == SAMPLER_CPU ? "cpu_seconds" : "wall_seconds", value, (size_t)n);
    pthread_mutex_lock(&S.names_lock);
    for (size_t i = 0; i < S.name_count; i++) {
        char key[48];
        snprintf(key, sizeof(key), "thread_name:%llu", (unsigned long long)S.names[i].id);
        vmprof_write_meta(out, key, S.names[i].name, strlen(S.names[i].name));
    }
    pthread_mutex_unlock(&S.names_lock);
    vmprof_write_time(out, VMPROF_TAG_TRAILER, epoch_us());
}

int sampler_stop(sampler_result *result, char *err, size_t err_len)
{
    memset(result, 0, sizeof(*result));
    if (!S.running)
        return fail(err, err_len, "%s", "the sampler is not running");
    stack_sampler *s = &S.stacks;
    S.own_cpu_seconds = thread_cpu_seconds(S.writer.thread);
    if (S.ticker_started) {
        S.own_cpu_seconds += thread_cpu_seconds(S.ticker);
        atomic_store(&S.ticker_stop, 1);
        pthread_join(S.ticker, NULL);
        S.ticker_started = 0;
    }
    atomic_store(&s->active, 0);

    /* The ticker is joined: its statistics are final. */
    result->samples = s->samples;
    result->stack_reads = s->stack_reads;
    result->dropped = atomic_load(&S.ring.dropped);
    result->faults = s->faults;
    if (S.opt.mode == SAMPLER_CPU) {
        /* The program's CPU time: the profiler's own threads are not sampled. */
        result->seconds = seconds_since(CLOCK_PROCESS_CPUTIME_ID, &S.start_cpu) - S.own_cpu_seconds;
        result->delivered_hz = result->seconds > 0 ? (double)(result->samples + result->dropped) / result->seconds : 0;
    } else {
        result->seconds = seconds_since(CLOCK_MONOTONIC, &S.start_wall);
        result->delivered_hz = result->seconds > 0 ? (double)s->wall_ticks / result->seconds : 0;
    }
    buf epilogue;
    buf_init(&epilogue);
    write_epilogue(&epilogue, result);
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = writer_finish(&S.writer, &epilogue);
    Py_END_ALLOW_THREADS
    buf_free(&epilogue);
    result->write_failed = rc < 0;

    thread_clocks_free(&S.clocks);
    ring_free(&S.ring);
    if (s->statm_fd >= 0)
        close(s->statm_fd);
    s->statm_fd = -1;
    S.running = 0;
    if (rc < 0)
        return fail(err, err_len, "the profile could not be written completely: %s", strerror(S.writer.write_errno));
    return 0;
}

int sampler_is_running(void)
{
    return S.running;
}

void sampler_pause(void)
{
    if (S.running)
        atomic_store(&S.stacks.active, 0);
}

void sampler_resume(void)
{
    if (S.running)
        atomic_store(&S.stacks.active, 1);
}

void sampler_watch_current_thread(void)
{
    if (S.running && S.opt.mode == SAMPLER_CPU)
        thread_clocks_watch(&S.clocks, (pid_t)syscall(SYS_gettid));
}

void sampler_note_thread_name(uint64_t thread_id, const char *name)
{
    pthread_mutex_lock(&S.names_lock);
    size_t i = 0;
    while (i < S.name_count && S.names[i].id != thread_id)
        i++;
    if (i == S.name_count) {
        if (S.name_count >= MAX_THREAD_NAMES) {
            pthread_mutex_unlock(&S.names_lock);
            return;
        }
        if (S.names == NULL)
            S.names = calloc(MAX_THREAD_NAMES, sizeof(*S.names));
        if (S.names == NULL) {
            pthread_mutex_unlock(&S.names_lock);
            return;
        }
        S.name_count++;
    }
    S.names[i].id = thread_id;
    snprintf(S.names[i].name, sizeof(S.names[i].name), "%s", name);
    pthread_mutex_unlock(&S.names_lock);
}
