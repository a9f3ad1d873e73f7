/* alloc_tracker.c — per-thread rings, the writer thread, fork and exit
 * handling. See alloc_tracker.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "capture/alloc_tracker.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "capture/alloc_hooks.h"
#include "capture/alloc_stack.h"
#include "capture/alloc_symbols.h"
#include "common/buf.h"
#include "common/hashidx.h"
#include "format/capture_write.h"

#define RING_EVENTS 65536          /* per thread (2 MiB, touched as used); the writer is woken at 1/4 full */
#define MAX_THREADS_PER_FLUSH 4096
#define MAX_PATH_LEN 4096

typedef struct ring_event {
    uint64_t seq, addr, size;
    uint32_t node;
    uint32_t kind;
} ring_event;

typedef struct alloc_thread {
    struct alloc_thread *next;
    uint64_t os_tid;
    uint32_t file_index;           /* writer-owned: index in the current file */
    uint32_t generation;           /* which file file_index belongs to */
    _Atomic int dead;
    _Atomic uint64_t head;         /* written by the owning thread */
    _Atomic uint64_t tail;         /* written by the writer */
    alloc_stack_cache cache;
    ring_event ring[RING_EVENTS];
} alloc_thread;

volatile int alloc_tracker_on;

static __thread alloc_thread *t_state __attribute__((tls_model("initial-exec")));
static __thread int t_exiting __attribute__((tls_model("initial-exec")));

/* The writer's private state: only the writer thread touches it while it runs. */
typedef struct writer_state {
    buf out;
    capture_deflate z;             /* the file's one deflate stream */
    capture_tables_enc tables;
    capture_events_enc enc;
    uint32_t emitted_functions, emitted_nodes, thread_count;
    /* string intern table */
    char **strings;
    size_t *string_lengths;
    uint32_t string_count, string_cap;
    hashidx string_index;
    alloc_thread **snapshot;
    uint64_t *heads;
    size_t snapshot_cap;
    uint64_t events_written;
    uint64_t last_rss_us;
} writer_state;

static struct {
    int fd, statm_fd;
    pid_t owner;
    char path[MAX_PATH_LEN];
    char fork_base[MAX_PATH_LEN];
    alloc_options opt;
    char command_line[8192], python_version[64];
    uint32_t generation;
    _Atomic uint64_t seq;
    _Atomic uint64_t dropped;
    pthread_mutex_t threads_mutex;
    alloc_thread *threads;
    pthread_key_t key;
    int once_done;
    pthread_t writer;
    int writer_running;
    _Atomic int stop;
    sem_t wake;
    struct timespec start_mono;
    uint64_t start_epoch_us;
    int write_errno;
    uint64_t file_good;            /* bytes of the file known complete */
    writer_state w;
} tr = {.fd = -1, .statm_fd = -1, .threads_mutex = PTHREAD_MUTEX_INITIALIZER};

static uint64_t mono_us_since_start(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)((now.tv_sec - tr.start_mono.tv_sec) * 1000000LL + (now.tv_nsec - tr.start_mono.tv_nsec) / 1000);
}

static uint64_t epoch_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
}

/* ---- per-thread state ---- */

static void thread_exit(void *arg)
{
    alloc_thread *t = arg;
    t_state = NULL;
    t_exiting = 1;
    atomic_store_explicit(&t->dead, 1, memory_order_release);
}

static alloc_thread *thread_new(void)
{
    alloc_thread *t = alloc_real_mmap(NULL, sizeof *t, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (t == MAP_FAILED)
        return NULL;
    t->os_tid = (uint64_t)syscall(SYS_gettid);
    t->file_index = UINT32_MAX;
    pthread_mutex_lock(&tr.threads_mutex);
    t->next = tr.threads;
    tr.threads = t;
    pthread_mutex_unlock(&tr.threads_mutex);
    t_state = t;
    pthread_setspecific(tr.key, t);
    return t;
}

void alloc_tracker_record(int kind, uintptr_t addr, uint64_t size)
{
    alloc_thread *t = t_state;
    if (t == NULL) {
        if (t_exiting || (t = thread_new()) == NULL) {
            atomic_fetch_add_explicit(&tr.dropped, 1, memory_order_relaxed);
            return;
        }
    }
    uint32_t node = capture_kind_is_alloc(kind) ? alloc_stack_capture(&t->cache) : ALLOC_NO_NODE;
    uint64_t head = atomic_load_explicit(&t->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&t->tail, memory_order_acquire);
    while (head - tail >= RING_EVENTS) {
        /* Full: let the writer catch up (it never waits for us). */
        if (!alloc_tracker_on || !tr.writer_running) {
            atomic_fetch_add_explicit(&tr.dropped, 1, memory_order_relaxed);
            return;
        }
        sem_post(&tr.wake);
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
        tail = atomic_load_explicit(&t->tail, memory_order_acquire);
    }
    ring_event *e = &t->ring[head % RING_EVENTS];
    e->seq = atomic_fetch_add_explicit(&tr.seq, 1, memory_order_relaxed);
    e->addr = addr;
    e->size = size;
    e->node = node;
    e->kind = (uint32_t)kind;
    atomic_store_explicit(&t->head, head + 1, memory_order_release);
    if (head + 1 - tail == RING_EVENTS / 4)
        sem_post(&tr.wake);
}

/* ---- the writer ---- */

typedef struct str_key {
    const writer_state *w;
    const char *s;
    size_t len;
} str_key;

static int str_eq(const void *ctx, uint32_t index)
{
    const str_key *k = ctx;
    return k->w->string_lengths[index] == k->len && memcmp(k->w->strings[index], k->s, k->len) == 0;
}

/* The file's string id for s, emitting a STRING record when new. */
static uint32_t writer_string(writer_state *w, const char *s)
{
    size_t len = strlen(s);
    if (len == 0)
        return 0;
    str_key k = {w, s, len};
    uint64_t h = hash_bytes(s, len);
    uint32_t i = hashidx_find(&w->string_index, h, str_eq, &k);
    if (i != UINT32_MAX)
        return i + 1;
    if (w->string_count == w->string_cap) {
        uint32_t ncap = w->string_cap ? w->string_cap * 2 : 256;
        char **ns = realloc(w->strings, ncap * sizeof *ns);
        size_t *nl = ns ? realloc(w->string_lengths, ncap * sizeof *nl) : NULL;
        if (ns)
            w->strings = ns;
        if (nl == NULL) {
            w->out.failed = 1;
            return 0;
        }
        w->string_lengths = nl;
        w->string_cap = ncap;
    }
    char *copy = strdup(s);
    if (copy == NULL || hashidx_insert(&w->string_index, h, w->string_count) < 0) {
        free(copy);
        w->out.failed = 1;
        return 0;
    }
    w->strings[w->string_count] = copy;
    w->string_lengths[w->string_count] = len;
    w->string_count++;
    capture_tables_string(&w->tables, &w->out, s, len);
    return w->string_count;   /* file ids start at 1; 0 is "" */
}

static void writer_functions_and_nodes(writer_state *w)
{
    /* Nodes first: a node is published after its function, so every node
     * counted here has its function counted below. */
    uint32_t nn = alloc_stack_node_count();
    uint32_t nf = alloc_stack_function_count();
    for (; w->emitted_functions < nf; w->emitted_functions++) {
        const alloc_function_info *f = alloc_stack_function(w->emitted_functions);
        uint32_t name, file;
        if (f->kind == 1 /* native */) {
            char sname[256];
            const char *fname;
            alloc_symbolize(f->ip, sname, sizeof sname, &fname);
            name = writer_string(w, sname);
            file = writer_string(w, fname);
        } else {
            name = writer_string(w, f->name);
            file = writer_string(w, f->file);
        }
        capture_tables_function(&w->tables, &w->out, name, file, f->first_line, f->kind);
    }
    for (; w->emitted_nodes < nn; w->emitted_nodes++) {
        const alloc_node_info *n = alloc_stack_node(w->emitted_nodes);
        capture_tables_node(&w->tables, &w->out, n->parent, n->function, n->line);
    }
}

/* Writes the buffer out whole. On a write error (full disk, file size
 * limit) recording stops for good: the file is cut back to the end of the
 * last complete write, so it stays a readable capture (without trailer),
 * and the program runs on untracked. */
static void write_out(writer_state *w)
{
    size_t off = 0;
    while (off < w->out.len && tr.fd >= 0 && !tr.write_errno) {
        ssize_t n = write(tr.fd, w->out.data + off, w->out.len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            tr.write_errno = errno;
            if (off > 0 && ftruncate(tr.fd, (off_t)tr.file_good) < 0)
                tr.write_errno = errno;
            alloc_tracker_on = 0;
            break;
        }
        off += (size_t)n;
    }
    if (!tr.write_errno)
        tr.file_good += w->out.len;
    w->out.len = 0;
}

static void sample_rss(writer_state *w, int force)
{
    uint64_t now = mono_us_since_start();
    if (!force && now - w->last_rss_us < tr.opt.rss_interval_us)
        return;
    w->last_rss_us = now;
    char text[128];
    ssize_t n = tr.statm_fd >= 0 ? pread(tr.statm_fd, text, sizeof text - 1, 0) : -1;
    if (n <= 0)
        return;
    text[n] = '\0';
    unsigned long long size = 0, resident = 0;
    if (sscanf(text, "%llu %llu", &size, &resident) != 2)
        return;
    capture_write_rss(&w->out, now, atomic_load_explicit(&tr.seq, memory_order_relaxed),
                      resident * (uint64_t)sysconf(_SC_PAGESIZE));
}

/* Drains every ring into one EVENTS record, merged in sequence order. */
static void writer_flush(writer_state *w)
{
    pthread_mutex_lock(&tr.threads_mutex);
    size_t n = 0;
    for (alloc_thread *t = tr.threads; t != NULL && n < MAX_THREADS_PER_FLUSH; t = t->next) {
        if (n == w->snapshot_cap) {
            size_t ncap = w->snapshot_cap ? w->snapshot_cap * 2 : 64;
            alloc_thread **ns = realloc(w->snapshot, ncap * sizeof *ns);
            uint64_t *nh = ns ? realloc(w->heads, ncap * sizeof *nh) : NULL;
            if (ns)
                w->snapshot = ns;
            if (nh == NULL)
                break;
            w->heads = nh;
            w->snapshot_cap = ncap;
        }
        w->snapshot[n++] = t;
    }
    pthread_mutex_unlock(&tr.threads_mutex);
    /* Heads first, then the stack tables: every event below refers to a
     * node published before the event was. */
    for (size_t i = 0; i < n; i++)
        w->heads[i] = atomic_load_explicit(&w->snapshot[i]->head, memory_order_acquire);
    writer_functions_and_nodes(w);
    for (size_t i = 0; i < n; i++) {
        alloc_thread *t = w->snapshot[i];
        if (t->generation != tr.generation || t->file_index == UINT32_MAX) {
            if (atomic_load_explicit(&t->tail, memory_order_relaxed) == w->heads[i])
                continue;   /* nothing to write yet */
            t->generation = tr.generation;
            t->file_index = w->thread_count++;
            capture_tables_thread(&w->tables, &w->out, t->os_tid, 0);
        }
    }
    capture_tables_end(&w->tables, &w->out);
    /* k-way merge; thread counts are small, so a linear scan per event. */
    uint64_t written = 0;
    for (;;) {
        size_t best = SIZE_MAX;
        uint64_t best_seq = UINT64_MAX;
        for (size_t i = 0; i < n; i++) {
            alloc_thread *t = w->snapshot[i];
            uint64_t tail = atomic_load_explicit(&t->tail, memory_order_relaxed);
            if (tail == w->heads[i])
                continue;
            uint64_t s = t->ring[tail % RING_EVENTS].seq;
            if (s < best_seq) {
                best_seq = s;
                best = i;
            }
        }
        if (best == SIZE_MAX)
            break;
        alloc_thread *t = w->snapshot[best];
        uint64_t tail = atomic_load_explicit(&t->tail, memory_order_relaxed);
        const ring_event *e = &t->ring[tail % RING_EVENTS];
        capture_events_add(&w->enc, (int)e->kind, t->file_index, e->seq, e->addr, e->size, e->node);
        atomic_store_explicit(&t->tail, tail + 1, memory_order_release);
        written++;
        if (capture_events_pending(&w->enc) > (4u << 20))
            capture_events_end(&w->enc, &w->out);
    }
    capture_events_end(&w->enc, &w->out);
    w->events_written += written;
    sample_rss(w, 0);
    write_out(w);
    /* Threads that exited and are drained are gone for good. */
    pthread_mutex_lock(&tr.threads_mutex);
    for (alloc_thread **pp = &tr.threads; *pp != NULL;) {
        alloc_thread *t = *pp;
        if (atomic_load_explicit(&t->dead, memory_order_acquire) &&
            atomic_load_explicit(&t->tail, memory_order_relaxed) == atomic_load_explicit(&t->head, memory_order_acquire)) {
            *pp = t->next;
            alloc_real_munmap(t, sizeof *t);
        } else {
            pp = &t->next;
        }
    }
    pthread_mutex_unlock(&tr.threads_mutex);
}

static void *writer_main(void *arg)
{
    (void)arg;
    alloc_guard = 1;   /* nothing this thread does is tracked */
    writer_state *w = &tr.w;
    while (!atomic_load(&tr.stop)) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        uint64_t ns = (uint64_t)deadline.tv_nsec + tr.opt.rss_interval_us * 1000u;
        deadline.tv_sec += (time_t)(ns / 1000000000u);
        deadline.tv_nsec = (long)(ns % 1000000000u);
        while (sem_timedwait(&tr.wake, &deadline) < 0 && errno == EINTR)
            ;
        writer_flush(w);
    }
    writer_flush(w);
    sample_rss(w, 1);
    capture_write_trailer(&w->out, epoch_us(), w->events_written, atomic_load(&tr.dropped));
    write_out(w);
    return NULL;
}

/* Writer states a forked process inherited from an ancestor. They may have
 * been mid-update at fork, so they are never freed; they are kept here so
 * they stay reachable (LeakSanitizer then knows they are held on purpose). */
#define MAX_INHERITED_WRITERS 16
static writer_state inherited_writers[MAX_INHERITED_WRITERS];
static int inherited_writer_count;
static pid_t writer_state_pid;   /* the process that set up tr.w */

static void writer_state_reset(writer_state *w)
{
    /* After fork the parent's writer may have been mid-update: start clean
     * and leave the old memory alone. */
    if (writer_state_pid != 0 && writer_state_pid != getpid() &&
        inherited_writer_count < MAX_INHERITED_WRITERS)
        inherited_writers[inherited_writer_count++] = *w;
    writer_state_pid = getpid();
    memset(w, 0, sizeof *w);
    buf_init(&w->out);
    capture_deflate_init(&w->z, CAPTURE_ZLIB_LEVEL);   /* on failure: plain records */
    capture_tables_init(&w->tables);
    w->tables.z = &w->z;
    capture_events_init(&w->enc);
    w->enc.z = &w->z;
    hashidx_init(&w->string_index);
}

static void writer_state_free(writer_state *w)
{
    buf_free(&w->out);
    capture_tables_free(&w->tables);
    capture_deflate_free(&w->z);
    capture_events_free(&w->enc);
    for (uint32_t i = 0; i < w->string_count; i++)
        free(w->strings[i]);
    free(w->strings);
    free(w->string_lengths);
    hashidx_free(&w->string_index);
    free(w->snapshot);
    free(w->heads);
    memset(w, 0, sizeof *w);
}

/* Opens the file, writes its header and starts the writer. 0, or -1 with errno. */
static int open_capture(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    tr.fd = fd;
    tr.file_good = 0;
    tr.write_errno = 0;
    tr.generation++;
    tr.start_epoch_us = epoch_us();
    clock_gettime(CLOCK_MONOTONIC, &tr.start_mono);
    writer_state_reset(&tr.w);
    uint64_t flags = (tr.opt.native ? CAPTURE_FLAG_NATIVE : 0) |
                     (tr.opt.trace_python_allocators ? CAPTURE_FLAG_PYTHON_ALLOCATORS : 0) |
                     (tr.opt.follow_fork ? CAPTURE_FLAG_FOLLOW_FORK : 0);
    char interval[32];
    snprintf(interval, sizeof interval, "%llu", (unsigned long long)tr.opt.rss_interval_us);
    const char *keys[] = {"command_line", "python_version", "rss_interval_us", "writer"};
    const char *values[] = {tr.command_line, tr.python_version, interval, "pyrometer"};
    capture_write_begin(&tr.w.out, tr.start_epoch_us, (uint64_t)getpid(), flags, keys, values, 4);
    write_out(&tr.w);
    atomic_store(&tr.stop, 0);
    if (pthread_create(&tr.writer, NULL, writer_main, NULL) != 0) {
        close(fd);
        tr.fd = -1;
        errno = EAGAIN;
        return -1;
    }
    tr.writer_running = 1;
    return 0;
}

/* Stops the writer (final flush and trailer) and closes the file. */
static void close_capture(void)
{
    if (tr.writer_running) {
        atomic_store(&tr.stop, 1);
        sem_post(&tr.wake);
        pthread_join(tr.writer, NULL);
        tr.writer_running = 0;
    }
    writer_state_free(&tr.w);
    if (tr.fd >= 0)
        close(tr.fd);
    tr.fd = -1;
}

/* ---- fork and exit ---- */

static void before_fork(void)
{
    pthread_mutex_lock(&tr.threads_mutex);
    alloc_stack_lock();
}

static void after_fork_parent(void)
{
    alloc_stack_unlock();
    pthread_mutex_unlock(&tr.threads_mutex);
}

static void after_fork_child(void)
{
    pthread_mutex_init(&tr.threads_mutex, NULL);
    alloc_stack_reinit_lock();
    if (!alloc_tracker_on)
        return;
    int g = alloc_guard;
    alloc_guard = 1;
    /* Only this thread exists now. Its ring holds the parent's events. */
    alloc_thread *me = t_state;
    tr.threads = me;
    if (me != NULL) {
        me->next = NULL;
        me->os_tid = (uint64_t)syscall(SYS_gettid);
        atomic_store(&me->tail, atomic_load(&me->head));
        me->file_index = UINT32_MAX;
    }
    tr.writer_running = 0;
    sem_init(&tr.wake, 0, 0);
    if (tr.fd >= 0)
        close(tr.fd);   /* the parent's file: never ours to write */
    tr.fd = -1;
    if (!tr.opt.follow_fork) {
        alloc_tracker_on = 0;
        alloc_guard = g;
        return;
    }
    /* fork_base is at most MAX_PATH_LEN - 32 long (checked at start). */
    int n = snprintf(tr.path, sizeof tr.path, "%.*s.%d", MAX_PATH_LEN - 32, tr.fork_base, (int)getpid());
    (void)n;
    tr.owner = getpid();
    if (open_capture(tr.path) < 0)
        alloc_tracker_on = 0;
    alloc_guard = g;
}

void alloc_tracker_process_exit(void)
{
    if (!alloc_tracker_on || tr.owner != getpid())
        return;
    alloc_tracker_on = 0;
    close_capture();
}

static void at_exit(void)
{
    int g = alloc_guard;
    alloc_guard = 1;
    alloc_tracker_process_exit();
    alloc_guard = g;
}

/* ---- start / stop ---- */

int alloc_tracker_start(const alloc_options *opt, char *err, size_t errlen)
{
    if (alloc_tracker_on) {
        snprintf(err, errlen, "an allocation tracker is already active in this process (writing %s)", tr.path);
        return -1;
    }
    if (strlen(opt->path) >= MAX_PATH_LEN - 32 || (opt->fork_base && strlen(opt->fork_base) >= MAX_PATH_LEN - 32)) {
        snprintf(err, errlen, "path too long");
        return -1;
    }
    if (alloc_stack_init(opt->native) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!tr.once_done) {
        if (pthread_key_create(&tr.key, thread_exit) != 0) {
            snprintf(err, errlen, "pthread_key_create failed");
            return -1;
        }
        pthread_atfork(before_fork, after_fork_parent, after_fork_child);
        atexit(at_exit);
        tr.once_done = 1;
    }
    tr.opt = *opt;
    if (tr.opt.rss_interval_us == 0)
        tr.opt.rss_interval_us = 10000;
    snprintf(tr.path, sizeof tr.path, "%s", opt->path);
    snprintf(tr.fork_base, sizeof tr.fork_base, "%s", opt->fork_base ? opt->fork_base : opt->path);
    snprintf(tr.command_line, sizeof tr.command_line, "%s", opt->command_line ? opt->command_line : "");
    snprintf(tr.python_version, sizeof tr.python_version, "%s", opt->python_version ? opt->python_version : "");
    tr.opt.path = tr.path;
    alloc_stack_set_native(opt->native);
    /* Rings of threads seen by an earlier tracker start empty. */
    pthread_mutex_lock(&tr.threads_mutex);
    for (alloc_thread *t = tr.threads; t != NULL; t = t->next) {
        atomic_store(&t->tail, atomic_load(&t->head));
        t->file_index = UINT32_MAX;
    }
    pthread_mutex_unlock(&tr.threads_mutex);
    sem_init(&tr.wake, 0, 0);
    atomic_store(&tr.dropped, 0);
    tr.write_errno = 0;
    tr.statm_fd = tr.statm_fd >= 0 ? tr.statm_fd : open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    tr.owner = getpid();
    alloc_symbols_reset();
    if (open_capture(tr.path) < 0) {
        snprintf(err, errlen, "%s: %s", tr.path, strerror(errno));
        return -1;
    }
    if (alloc_hooks_install(err, errlen) < 0) {
        close_capture();
        return -1;
    }
    alloc_tracker_on = 1;
    if (opt->trace_python_allocators)
        alloc_hooks_pymem_install();
    return 0;
}

int alloc_tracker_stop(char *err, size_t errlen)
{
    if (tr.owner != getpid() || (!alloc_tracker_on && tr.fd < 0))
        return 0;
    int g = alloc_guard;
    alloc_guard = 1;
    alloc_tracker_on = 0;
    alloc_hooks_pymem_uninstall();
    alloc_hooks_uninstall();
    close_capture();
    alloc_guard = g;
    if (tr.write_errno) {
        snprintf(err, errlen, "%s: write failed (%s): recording stopped, the capture ends at byte %llu",
                 tr.path, strerror(tr.write_errno), (unsigned long long)tr.file_good);
        return -1;
    }
    return 0;
}
