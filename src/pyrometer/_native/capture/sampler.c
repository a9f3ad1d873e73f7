#include "capture/sampler.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "capture/cpu_timers.h"
#include "capture/fault_guard.h"
#include "capture/signal_sampler.h"
#include "capture/writer.h"
#include "format/vmprof_format.h"
#include "format/vmprof_write.h"

#define DEFAULT_RING_BYTES ((size_t)16 << 20)
#define MAX_THREAD_NAMES 4096
#define MAX_THREAD_NAME 128
/* How long a wall request may stay unserved before the wall thread gives
 * up on it (its target thread ended before the signal arrived). */
#define WALL_HANDLER_WAIT_NS 10000000L

typedef struct thread_name {
    uint64_t id;
    char name[MAX_THREAD_NAME];
} thread_name;

/* All of the sampler's state: one process-wide instance, since signals,
 * itimers and the code type are process-wide too. */
static struct sampler {
    int running;
    sampler_options opt;
    ring ring;
    writer writer;
    struct sigaction previous_prof;
    int installed_prof;
    int installed_wall;
    int installed_cpu;
    cpu_timers timers;
    int using_itimer;          /* perf_event was not allowed: ITIMER_PROF (tick-bound) */
    pthread_t wall_thread;
    int wall_thread_started;
    _Atomic int wall_stop;
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

static int fail(char *err, size_t err_len, const char *fmt, const char *detail)
{
    snprintf(err, err_len, fmt, detail);
    return -1;
}

/* ---- wall mode ---- */

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

/* One wall tick: the GIL holder's handler samples every thread, or, when
 * nobody holds the GIL (every thread blocked or in C), this thread does. */
static void wall_tick(signal_sampler *s, pid_t pid, struct timespec *requested_at, const struct timespec *now)
{
    int state = atomic_load(&s->wall_request);
    if (state != WALL_IDLE) {
        /* The last request is not served yet. A signal to a thread that
         * ended is never served: give up on it after a while. */
        struct timespec give_up = *requested_at;
        timespec_add_ns(&give_up, WALL_HANDLER_WAIT_NS);
        int expected = WALL_REQUESTED;
        if (timespec_before(now, &give_up) ||
            !atomic_compare_exchange_strong(&s->wall_request, &expected, WALL_IDLE))
            return;
    }
    uint64_t tid = 0;
    fault_guard guard;
    if (FAULT_GUARD_ARM(&guard)) {
        PyThreadState *holder = py_gil_holder();
        tid = holder != NULL ? py_native_thread_id(holder) : 0;
        fault_guard_disarm();
    }
    if (tid != 0) {
        atomic_store(&s->wall_request, WALL_REQUESTED);
        *requested_at = *now;
        if (syscall(SYS_tgkill, pid, (pid_t)tid, WALL_SIGNAL) == 0)
            return;
        atomic_store(&s->wall_request, WALL_IDLE);
    }
    signal_sampler_sample_all(s, signal_sampler_rss_kb(s));
    atomic_fetch_add(&s->wall_ticks, 1);
}

static void *wall_main(void *arg)
{
    (void)arg;
    signal_sampler *s = &the_signal_sampler;
    pid_t pid = getpid();
    /* Default timer slack (50 µs) would blur 10 kHz ticks. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    long period_ns = (long)S.opt.period_us * 1000L;
    struct timespec next, requested_at = {0, 0};
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!atomic_load(&S.wall_stop)) {
        timespec_add_ns(&next, period_ns);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (timespec_before(&next, &now)) {
            /* Fell behind (the machine was busy): skip missed ticks rather
             * than burst, so the delivered rate stays honest. */
            next = now;
            timespec_add_ns(&next, period_ns);
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
        }
        if (atomic_load(&S.wall_stop) || !atomic_load(&s->active))
            continue;
        clock_gettime(CLOCK_MONOTONIC, &now);
        wall_tick(s, pid, &requested_at, &now);
    }
    return NULL;
}

/* ---- fork ---- */

static void after_fork_in_child(void)
{
    if (!S.running)
        return;
    if (S.opt.mode == SAMPLER_CPU && !S.using_itimer)
        cpu_timers_forget_after_fork(&S.timers);
    /* The writer and wall threads do not exist here, and the file is the
     * parent's: the child runs unprofiled and never touches it. */
    atomic_store(&the_signal_sampler.active, 0);
    writer_forget_after_fork(&S.writer);
    S.wall_thread_started = 0;
    S.running = 0;
    pthread_mutex_init(&S.names_lock, NULL);
}

/* ---- start / stop ---- */

static int install_handler(int sig, struct sigaction *previous)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = signal_sampler_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGPROF);
    sigaddset(&sa.sa_mask, WALL_SIGNAL);
    sigaddset(&sa.sa_mask, CPU_SIGNAL);
    return sigaction(sig, &sa, previous);
}

static int handler_is_ours(int sig)
{
    struct sigaction current;
    return sigaction(sig, NULL, &current) == 0 && (current.sa_flags & SA_SIGINFO) &&
           current.sa_sigaction == signal_sampler_handler;
}

/* On the writer thread: keep it out of the CPU timers, and give threads
 * that appeared (or ended) since the last flush their timers. */
static void writer_tick(void *ctx)
{
    (void)ctx;
    static __thread int excluded;
    if (!excluded) {
        cpu_timers_exclude(&S.timers, (pid_t)syscall(SYS_gettid));
        excluded = 1;
    }
    if (atomic_load(&the_signal_sampler.active) && !S.using_itimer)
        cpu_timers_rescan(&S.timers);
}

/* The fallback when perf_event is not allowed: one process-wide
 * ITIMER_PROF (tick-bound on many kernels) with SIGPROF. It needs SIGPROF
 * and ITIMER_PROF to itself, so a program using them is refused. */
static int start_itimer(const sampler_options *opt, char *err, size_t err_len)
{
    struct sigaction current;
    struct itimerval timer;
    sigaction(SIGPROF, NULL, &current);
    int foreign_handler = !((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == signal_sampler_handler) &&
                          current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN;
    if (foreign_handler)
        return fail(err, err_len, "%s",
                    "perf_event is not available and the program handles SIGPROF itself; use --mode wall");
    if (getitimer(ITIMER_PROF, &timer) == 0 && (timer.it_value.tv_sec || timer.it_value.tv_usec))
        return fail(err, err_len, "%s",
                    "perf_event is not available and the program uses ITIMER_PROF itself; use --mode wall");
    if (!handler_is_ours(SIGPROF)) {
        if (install_handler(SIGPROF, &S.previous_prof) < 0)
            return fail(err, err_len, "cannot install the SIGPROF handler: %s", strerror(errno));
        S.installed_prof = 1;
    }
    struct itimerval on = {{opt->period_us / 1000000, opt->period_us % 1000000},
                           {opt->period_us / 1000000, opt->period_us % 1000000}};
    if (setitimer(ITIMER_PROF, &on, NULL) < 0)
        return fail(err, err_len, "cannot start ITIMER_PROF: %s", strerror(errno));
    return 0;
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
    memset(&the_signal_sampler, 0, sizeof(the_signal_sampler));
    signal_sampler *s = &the_signal_sampler;
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
    cpu_timers_init(&S.timers);
    int rc = writer_start(&S.writer, opt->fd, &S.ring, opt->lines, opt->memory, &prologue,
                          opt->mode == SAMPLER_CPU ? writer_tick : NULL, NULL);
    buf_free(&prologue);
    if (rc < 0)
        goto os_error;

    if (!S.atfork_registered) {
        pthread_atfork(NULL, NULL, after_fork_in_child);
        S.atfork_registered = 1;
    }
    S.name_count = 0;
    atomic_store(&S.wall_stop, 0);
    clock_gettime(CLOCK_MONOTONIC, &S.start_wall);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &S.start_cpu);
    atomic_store(&s->active, 1);
    S.running = 1;

    if (opt->mode == SAMPLER_CPU) {
        if (!S.installed_cpu) {
            /* Stays installed for good, like the wall signal's handler. */
            if (install_handler(CPU_SIGNAL, NULL) < 0)
                goto stop_os_error;
            S.installed_cpu = 1;
        }
        S.using_itimer = cpu_timers_start(&S.timers, (uint64_t)opt->period_us * 1000, CPU_SIGNAL) < 0;
        if (S.using_itimer && start_itimer(opt, err, err_len) < 0) {
            sampler_result ignored;
            char ignored_err[64];
            sampler_stop(&ignored, ignored_err, sizeof(ignored_err));
            return -1;
        }
    } else {
        /* The wall signal's handler stays installed for good: a request
         * still in flight after stop must never meet the default action,
         * which for a real-time signal is to kill the process. */
        if (!S.installed_wall) {
            if (install_handler(WALL_SIGNAL, NULL) < 0)
                goto stop_os_error;
            S.installed_wall = 1;
        }
        sigset_t block, old;
        sigfillset(&block);
        pthread_sigmask(SIG_BLOCK, &block, &old);
        rc = pthread_create(&S.wall_thread, NULL, wall_main, NULL);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc != 0) {
            errno = rc;
            goto stop_os_error;
        }
        S.wall_thread_started = 1;
    }
    return 0;

stop_os_error: {
    int saved = errno;
    sampler_result ignored;
    char ignored_err[64];
    sampler_stop(&ignored, ignored_err, sizeof(ignored_err));
    errno = saved;
    return fail(err, err_len, "cannot start sampling: %s", strerror(errno));
}
os_error: {
    int saved = errno;
    ring_free(&S.ring);
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
    n = snprintf(value, sizeof(value), "%.6f", r->seconds);
    vmprof_write_meta(out, S.opt.mode == SAMPLER_CPU ? "cpu_seconds" : "wall_seconds", value, (size_t)n);
    if (S.opt.mode == SAMPLER_CPU) {
        const char *timer = S.using_itimer ? "itimer_prof" : "perf_event_task_clock";
        vmprof_write_meta(out, "cpu_timer", timer, strlen(timer));
        if (S.timers.open_failures) {
            n = snprintf(value, sizeof(value), "%lu (%s)", S.timers.open_failures, strerror(S.timers.last_errno));
            vmprof_write_meta(out, "unsampled_threads", value, (size_t)n);
        }
    }
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
    signal_sampler *s = &the_signal_sampler;
    int timer_taken = 0;
    if (S.opt.mode == SAMPLER_CPU && S.using_itimer) {
        struct itimerval off = {{0, 0}, {0, 0}}, old;
        setitimer(ITIMER_PROF, &off, &old);
        timer_taken = !handler_is_ours(SIGPROF);
    } else if (S.opt.mode == SAMPLER_CPU) {
        cpu_timers_stop(&S.timers);
    } else if (S.wall_thread_started) {
        atomic_store(&S.wall_stop, 1);
        /* The wall thread may be waiting for this thread's handler: let
         * other threads run Python meanwhile. */
        Py_BEGIN_ALLOW_THREADS
        pthread_join(S.wall_thread, NULL);
        Py_END_ALLOW_THREADS
        S.wall_thread_started = 0;
    }
    atomic_store(&s->active, 0);
    while (atomic_load(&s->handlers_running) > 0)
        sched_yield();

    result->samples = atomic_load(&s->samples);
    result->dropped = atomic_load(&S.ring.dropped);
    result->faults = atomic_load(&s->faults);
    if (S.opt.mode == SAMPLER_CPU) {
        result->seconds = seconds_since(CLOCK_PROCESS_CPUTIME_ID, &S.start_cpu);
        result->delivered_hz = result->seconds > 0 ? (double)(result->samples + result->dropped) / result->seconds : 0;
    } else {
        result->seconds = seconds_since(CLOCK_MONOTONIC, &S.start_wall);
        result->delivered_hz = result->seconds > 0 ? (double)atomic_load(&s->wall_ticks) / result->seconds : 0;
    }
    buf epilogue;
    buf_init(&epilogue);
    if (timer_taken)
        vmprof_write_meta(&epilogue, "warning", "the program replaced the SIGPROF handler during the run", 55);
    write_epilogue(&epilogue, result);
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = writer_finish(&S.writer, &epilogue);
    Py_END_ALLOW_THREADS
    buf_free(&epilogue);
    result->write_failed = rc < 0;

    if (S.installed_prof) {
        /* Put the program's SIGPROF disposition back unless a signal is
         * still pending (its default action would kill the process). */
        sigset_t pending;
        if (sigpending(&pending) == 0 && !sigismember(&pending, SIGPROF) && handler_is_ours(SIGPROF)) {
            sigaction(SIGPROF, &S.previous_prof, NULL);
            S.installed_prof = 0;
        }
    }
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
        atomic_store(&the_signal_sampler.active, 0);
}

void sampler_resume(void)
{
    if (S.running)
        atomic_store(&the_signal_sampler.active, 1);
}

void sampler_watch_current_thread(void)
{
    if (S.running && S.opt.mode == SAMPLER_CPU && !S.using_itimer)
        cpu_timers_watch(&S.timers, (pid_t)syscall(SYS_gettid));
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
