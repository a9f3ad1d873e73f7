#include "capture/cpu_timers.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Opens and arms a task-clock timer for tid. Returns the fd, or -1. */
static int open_timer(const cpu_timers *t, pid_t tid)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.type = PERF_TYPE_SOFTWARE;
    attr.size = sizeof(attr);
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    attr.sample_period = t->period_ns;
    attr.disabled = 1;
    int fd = (int)syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0)
        return -1;
    struct f_owner_ex owner = {F_OWNER_TID, tid};
    if (fcntl(fd, F_SETFL, O_ASYNC) < 0 || fcntl(fd, F_SETSIG, t->signo) < 0 ||
        fcntl(fd, F_SETOWN_EX, &owner) < 0 || ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int is_excluded(const cpu_timers *t, pid_t tid)
{
    for (size_t i = 0; i < t->excluded_count; i++) {
        if (t->excluded[i] == tid)
            return 1;
    }
    return 0;
}

static cpu_timer *find(cpu_timers *t, pid_t tid)
{
    for (size_t i = 0; i < t->count; i++) {
        if (t->timers[i].tid == tid)
            return &t->timers[i];
    }
    return NULL;
}

/* Must hold the lock. */
static void watch_locked(cpu_timers *t, pid_t tid)
{
    if (t->timers == NULL || find(t, tid) != NULL || is_excluded(t, tid) || t->count >= CPU_TIMERS_MAX_THREADS)
        return;
    int fd = open_timer(t, tid);
    if (fd < 0) {
        /* The thread may have ended meanwhile (ESRCH); anything else is a
         * thread we cannot sample, counted for the profile's META. */
        if (errno != ESRCH) {
            t->open_failures++;
            t->last_errno = errno;
        }
        return;
    }
    t->timers[t->count++] = (cpu_timer){tid, fd, 1};
}

void cpu_timers_init(cpu_timers *t)
{
    memset(t, 0, sizeof(*t));
    pthread_mutex_init(&t->lock, NULL);
}

int cpu_timers_start(cpu_timers *t, uint64_t period_ns, int signo)
{
    t->period_ns = period_ns;
    t->signo = signo;
    pid_t self = (pid_t)syscall(SYS_gettid);
    int probe = open_timer(t, self);
    if (probe < 0)
        return -1;
    t->timers = calloc(CPU_TIMERS_MAX_THREADS, sizeof(*t->timers));
    if (t->timers == NULL) {
        close(probe);
        errno = ENOMEM;
        return -1;
    }
    t->timers[t->count++] = (cpu_timer){self, probe, 1};
    cpu_timers_rescan(t);
    return 0;
}

void cpu_timers_watch(cpu_timers *t, pid_t tid)
{
    pthread_mutex_lock(&t->lock);
    watch_locked(t, tid);
    pthread_mutex_unlock(&t->lock);
}

void cpu_timers_exclude(cpu_timers *t, pid_t tid)
{
    pthread_mutex_lock(&t->lock);
    if (t->excluded_count < CPU_TIMERS_MAX_EXCLUDED)
        t->excluded[t->excluded_count++] = tid;
    cpu_timer *timer = find(t, tid);
    if (timer != NULL) {
        close(timer->fd);
        *timer = t->timers[--t->count];
    }
    pthread_mutex_unlock(&t->lock);
}

void cpu_timers_rescan(cpu_timers *t)
{
    DIR *dir = opendir("/proc/self/task");
    if (dir == NULL)
        return;
    pthread_mutex_lock(&t->lock);
    if (t->timers == NULL) {
        pthread_mutex_unlock(&t->lock);
        closedir(dir);
        return;
    }
    for (size_t i = 0; i < t->count; i++)
        t->timers[i].seen = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        char *end;
        long tid = strtol(entry->d_name, &end, 10);
        if (*end != '\0' || tid <= 0)
            continue;
        cpu_timer *timer = find(t, (pid_t)tid);
        if (timer != NULL)
            timer->seen = 1;
        else
            watch_locked(t, (pid_t)tid);
    }
    /* Threads that ended: their timers will never fire again. */
    for (size_t i = 0; i < t->count;) {
        if (!t->timers[i].seen) {
            close(t->timers[i].fd);
            t->timers[i] = t->timers[--t->count];
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&t->lock);
    closedir(dir);
}

void cpu_timers_stop(cpu_timers *t)
{
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->count; i++) {
        ioctl(t->timers[i].fd, PERF_EVENT_IOC_DISABLE, 0);
        close(t->timers[i].fd);
    }
    free(t->timers);
    t->timers = NULL;
    t->count = 0;
    pthread_mutex_unlock(&t->lock);
}

void cpu_timers_forget_after_fork(cpu_timers *t)
{
    pthread_mutex_init(&t->lock, NULL);
    for (size_t i = 0; i < t->count; i++)
        close(t->timers[i].fd);
    free(t->timers);
    t->timers = NULL;
    t->count = 0;
}
