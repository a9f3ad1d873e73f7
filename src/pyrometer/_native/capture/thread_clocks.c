#include "capture/thread_clocks.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The kernel's clockid for another thread's CPU time (CPUCLOCK_SCHED |
 * CPUCLOCK_PERTHREAD_MASK over the inverted tid), as glibc builds it for
 * pthread_getcpuclockid; valid for any thread of this process. */
static clockid_t thread_cpu_clock(pid_t tid)
{
    return (clockid_t)(((unsigned)~tid << 3) | 6);
}

static int read_clock(clockid_t clock, uint64_t *ns)
{
    struct timespec ts;
    if (clock_gettime(clock, &ts) < 0)
        return -1;
    *ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
    return 0;
}

int thread_clocks_init(thread_clocks *t, uint64_t period_ns)
{
    memset(t, 0, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
    t->period_ns = period_ns ? period_ns : 1;
    t->threads = calloc(THREAD_CLOCKS_MAX_THREADS, sizeof(*t->threads));
    return t->threads != NULL ? 0 : -1;
}

void thread_clocks_free(thread_clocks *t)
{
    pthread_mutex_lock(&t->lock);
    free(t->threads);
    t->threads = NULL;
    t->count = 0;
    pthread_mutex_unlock(&t->lock);
    pthread_mutex_destroy(&t->lock);
}

static int is_excluded(const thread_clocks *t, pid_t tid)
{
    for (size_t i = 0; i < t->excluded_count; i++) {
        if (t->excluded[i] == tid)
            return 1;
    }
    return 0;
}

static thread_clock *find(thread_clocks *t, pid_t tid)
{
    for (size_t i = 0; i < t->count; i++) {
        if (t->threads[i].tid == tid)
            return &t->threads[i];
    }
    return NULL;
}

/* Must hold the lock. */
static void watch_locked(thread_clocks *t, pid_t tid)
{
    if (t->threads == NULL || t->count >= THREAD_CLOCKS_MAX_THREADS || is_excluded(t, tid) || find(t, tid))
        return;
    thread_clock c = {tid, thread_cpu_clock(tid), 0, 0, 1};
    if (read_clock(c.clock, &c.last_ns) < 0)
        return; /* ended already */
    t->threads[t->count++] = c;
}

void thread_clocks_watch(thread_clocks *t, pid_t tid)
{
    pthread_mutex_lock(&t->lock);
    watch_locked(t, tid);
    pthread_mutex_unlock(&t->lock);
}

void thread_clocks_exclude(thread_clocks *t, pid_t tid)
{
    pthread_mutex_lock(&t->lock);
    if (t->excluded_count < THREAD_CLOCKS_MAX_EXCLUDED)
        t->excluded[t->excluded_count++] = tid;
    thread_clock *c = find(t, tid);
    if (c != NULL)
        *c = t->threads[--t->count];
    pthread_mutex_unlock(&t->lock);
}

void thread_clocks_rescan(thread_clocks *t)
{
    /* opendir/closedir allocate: they run under the lock, which fork
     * holds (see sampler.c), so a forked child never inherits a heap lock
     * taken by this thread. */
    pthread_mutex_lock(&t->lock);
    DIR *dir = opendir("/proc/self/task");
    if (dir == NULL) {
        pthread_mutex_unlock(&t->lock);
        return;
    }
    for (size_t i = 0; i < t->count; i++)
        t->threads[i].seen = 0;
    struct dirent *entry;
    while (t->threads != NULL && (entry = readdir(dir)) != NULL) {
        char *end;
        long tid = strtol(entry->d_name, &end, 10);
        if (*end != '\0' || tid <= 0)
            continue;
        thread_clock *c = find(t, (pid_t)tid);
        if (c != NULL)
            c->seen = 1;
        else
            watch_locked(t, (pid_t)tid);
    }
    for (size_t i = 0; i < t->count;) {
        if (!t->threads[i].seen)
            t->threads[i] = t->threads[--t->count]; /* the thread ended */
        else
            i++;
    }
    closedir(dir);
    pthread_mutex_unlock(&t->lock);
}

void thread_clocks_forgive(thread_clocks *t)
{
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->count; i++) {
        read_clock(t->threads[i].clock, &t->threads[i].last_ns);
        t->threads[i].owed_ns = 0;
    }
    pthread_mutex_unlock(&t->lock);
}

void thread_clocks_poll(thread_clocks *t, thread_clocks_due_fn due, void *ctx)
{
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->count;) {
        thread_clock *c = &t->threads[i];
        uint64_t now;
        if (read_clock(c->clock, &now) < 0) {
            *c = t->threads[--t->count]; /* ended between scans */
            continue;
        }
        c->owed_ns += now - c->last_ns;
        c->last_ns = now;
        if (c->owed_ns >= t->period_ns) {
            uint64_t periods = c->owed_ns / t->period_ns;
            int weight = periods > THREAD_CLOCKS_MAX_WEIGHT ? THREAD_CLOCKS_MAX_WEIGHT : (int)periods;
            c->owed_ns -= periods * t->period_ns; /* beyond the cap is forgotten, not carried */
            due(c->tid, weight, ctx);
        }
        i++;
    }
    pthread_mutex_unlock(&t->lock);
}
