/* alloc_stack.c — Python (and native) stacks of allocations, interned.
 * The only file of the allocation tracker that knows CPython 3.11's frame
 * layout (a new CPython version is a new variant of read_python_frames). */
#define Py_BUILD_CORE 1
#include <Python.h>
#include "internal/pycore_frame.h"
#undef Py_BUILD_CORE

#include "capture/alloc_stack.h"

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "analysis/profile.h"

/* ---- tables ---- */

#define NODE_SLOTS (1u << ALLOC_NODE_TABLE_BITS)
#define MAX_NODES (NODE_SLOTS / 4 * 3)
#define FUNC_SLOTS (ALLOC_MAX_FUNCTIONS * 2)

typedef struct node_slot {
    _Atomic uint32_t node_plus1;   /* 0: empty; written last (release) */
    uint32_t parent;
    uintptr_t code;                /* code object, or IP for native frames */
    int32_t lasti;                 /* -1 for native frames */
} node_slot;

typedef struct func_slot {
    uintptr_t code, name_obj, file_obj;   /* identity of a code object (addresses get reused) */
    int32_t first_line;
    uint32_t func_plus1;
} func_slot;

static struct {
    int ready, native;
    pthread_mutex_t mutex;
    node_slot *slots;
    alloc_node_info *nodes;
    _Atomic uint32_t node_count;
    func_slot *funcs;
    alloc_function_info *functions;
    _Atomic uint32_t function_count;
    uintptr_t eval_start, eval_end;       /* _PyEval_EvalFrameDefault's code */
    uintptr_t stop_code;                  /* the launcher's code object, or 0 */
    uintptr_t self_start, self_end;       /* this module's code: frames to skip */
} st = {.mutex = PTHREAD_MUTEX_INITIALIZER};

static void *zeroed_pages(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Records the address range of this module's executable segment. */
static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    uintptr_t me = (uintptr_t)alloc_stack_capture;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr, end = start + ph->p_memsz;
        if (me >= start && me < end) {
            st.self_start = start;
            st.self_end = end;
            return 1;
        }
    }
    return 0;
}

int alloc_stack_init(int native)
{
    st.native = native;
    if (st.ready)
        return 0;
    /* mmap, not malloc: zero pages that only cost memory where touched. */
    st.slots = zeroed_pages(NODE_SLOTS * sizeof(node_slot));
    st.nodes = zeroed_pages(MAX_NODES * sizeof(alloc_node_info));
    st.funcs = zeroed_pages(FUNC_SLOTS * sizeof(func_slot));
    /* calloc, not mmap: the names these entries point to live for the
     * whole process, and LeakSanitizer only sees them as reachable through
     * memory it scans (the heap, not private mappings). */
    st.functions = calloc(ALLOC_MAX_FUNCTIONS, sizeof(alloc_function_info));
    if (!st.slots || !st.nodes || !st.funcs || !st.functions)
        return -1;
    void *eval = dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (eval && dladdr1(eval, &info, (void **)&sym, RTLD_DL_SYMENT) && sym) {
        st.eval_start = (uintptr_t)eval;
        st.eval_end = (uintptr_t)eval + sym->st_size;
    }
    dl_iterate_phdr(find_self, NULL);
    /* Per-thread caches of unwind info: no global lock in unw_backtrace. */
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    st.ready = 1;
    return 0;
}

void alloc_stack_set_native(int native)
{
    st.native = native;
}

void alloc_stack_set_stop_code(uintptr_t code)
{
    st.stop_code = code;
}

uint32_t alloc_stack_node_count(void)
{
    return atomic_load_explicit(&st.node_count, memory_order_acquire);
}

const alloc_node_info *alloc_stack_node(uint32_t id)
{
    return &st.nodes[id];
}

uint32_t alloc_stack_function_count(void)
{
    return atomic_load_explicit(&st.function_count, memory_order_acquire);
}

const alloc_function_info *alloc_stack_function(uint32_t id)
{
    return &st.functions[id];
}

void alloc_stack_lock(void)
{
    pthread_mutex_lock(&st.mutex);
}

void alloc_stack_unlock(void)
{
    pthread_mutex_unlock(&st.mutex);
}

void alloc_stack_reinit_lock(void)
{
    pthread_mutex_init(&st.mutex, NULL);
}

/* A str object's text as a new UTF-8 C string, read from its storage
 * directly: no Python API call, so no GIL needed and nothing allocated by
 * Python. */
static char *utf8_copy(PyObject *s)
{
    if (s == NULL || !PyUnicode_Check(s) || !PyUnicode_IS_READY(s))
        return strdup("?");
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    char *out = malloc((size_t)n * 4 + 1);
    if (out == NULL)
        return NULL;
    size_t k = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c < 0x80) {
            out[k++] = (char)c;
        } else if (c < 0x800) {
            out[k++] = (char)(0xc0 | (c >> 6));
            out[k++] = (char)(0x80 | (c & 0x3f));
        } else if (c < 0x10000) {
            out[k++] = (char)(0xe0 | (c >> 12));
            out[k++] = (char)(0x80 | ((c >> 6) & 0x3f));
            out[k++] = (char)(0x80 | (c & 0x3f));
        } else {
            out[k++] = (char)(0xf0 | (c >> 18));
            out[k++] = (char)(0x80 | ((c >> 12) & 0x3f));
            out[k++] = (char)(0x80 | ((c >> 6) & 0x3f));
            out[k++] = (char)(0x80 | (c & 0x3f));
        }
    }
    out[k] = '\0';
    return out;
}

static uint64_t mix(uint64_t a, uint64_t b)
{
    uint64_t h = (a ^ (b + 0x9E3779B97F4A7C15ull + (a << 6) + (a >> 2))) * 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

/* Function id for a frame; caller holds the mutex. ALLOC_NO_NODE when full. */
static uint32_t intern_function(uintptr_t code, int32_t lasti)
{
    int native = lasti < 0;
    PyCodeObject *co = (PyCodeObject *)code;
    uintptr_t name_obj = native ? 0 : (uintptr_t)co->co_qualname;
    uintptr_t file_obj = native ? 0 : (uintptr_t)co->co_filename;
    int32_t first = native ? 0 : co->co_firstlineno;
    uint64_t h = mix(mix(code, name_obj), file_obj);
    for (uint32_t i = (uint32_t)h & (FUNC_SLOTS - 1);; i = (i + 1) & (FUNC_SLOTS - 1)) {
        func_slot *s = &st.funcs[i];
        if (s->func_plus1 == 0) {
            uint32_t id = atomic_load_explicit(&st.function_count, memory_order_relaxed);
            if (id >= ALLOC_MAX_FUNCTIONS)
                return ALLOC_NO_NODE;
            alloc_function_info *f = &st.functions[id];
            if (native) {
                f->kind = PROF_FRAME_NATIVE;
                f->ip = code;
            } else {
                f->name = utf8_copy(co->co_qualname);
                f->file = utf8_copy(co->co_filename);
                if (f->name == NULL || f->file == NULL)
                    return ALLOC_NO_NODE;
                f->first_line = first;
                f->kind = PROF_FRAME_PYTHON;
            }
            *s = (func_slot){code, name_obj, file_obj, first, id + 1};
            atomic_store_explicit(&st.function_count, id + 1, memory_order_release);
            return id;
        }
        if (s->code == code && s->name_obj == name_obj && s->file_obj == file_obj && s->first_line == first)
            return s->func_plus1 - 1;
    }
}

/* The node for frame (code, lasti) under parent. */
static uint32_t intern_node(uint32_t parent, uintptr_t code, int32_t lasti)
{
    uint64_t h = mix(mix(parent, code), (uint64_t)(uint32_t)lasti);
    uint32_t start = (uint32_t)h & (NODE_SLOTS - 1);
    for (uint32_t i = start;; i = (i + 1) & (NODE_SLOTS - 1)) {
        node_slot *s = &st.slots[i];
        uint32_t id = atomic_load_explicit(&s->node_plus1, memory_order_acquire);
        if (id == 0)
            break;
        if (s->parent == parent && s->code == code && s->lasti == lasti)
            return id - 1;
    }
    /* Not there: insert under the mutex, probing again from the start
     * since another thread may have inserted it meanwhile. */
    pthread_mutex_lock(&st.mutex);
    uint32_t result = ALLOC_NO_NODE;
    for (uint32_t i = start;; i = (i + 1) & (NODE_SLOTS - 1)) {
        node_slot *s = &st.slots[i];
        uint32_t id = atomic_load_explicit(&s->node_plus1, memory_order_relaxed);
        if (id != 0) {
            if (s->parent == parent && s->code == code && s->lasti == lasti) {
                result = id - 1;
                break;
            }
            continue;
        }
        uint32_t n = atomic_load_explicit(&st.node_count, memory_order_relaxed);
        if (n >= MAX_NODES)
            break;
        uint32_t fn = intern_function(code, lasti);
        if (fn == ALLOC_NO_NODE)
            break;
        int32_t line = 0;
        if (lasti >= 0)
            line = PyCode_Addr2Line((PyCodeObject *)code, lasti * (int)sizeof(_Py_CODEUNIT));
        st.nodes[n] = (alloc_node_info){parent, fn, line};
        atomic_store_explicit(&st.node_count, n + 1, memory_order_release);
        s->parent = parent;
        s->code = code;
        s->lasti = lasti;
        atomic_store_explicit(&s->node_plus1, n + 1, memory_order_release);
        result = n;
        break;
    }
    pthread_mutex_unlock(&st.mutex);
    return result;
}

typedef struct frame_ref {
    uintptr_t frame, code;
    int32_t lasti;          /* -1: native */
    int entry;              /* Python: first frame of a _PyEval_EvalFrameDefault call */
} frame_ref;

/* The calling thread's Python frames, leaf first. *stopped is set when the
 * walk ended at the launcher's frame (stop_code). */
static int read_python_frames(frame_ref *out, int max, int *stopped)
{
    PyThreadState *ts = PyGILState_GetThisThreadState();
    *stopped = 0;
    if (ts == NULL || ts->cframe == NULL)
        return 0;
    int n = 0;
    for (_PyInterpreterFrame *f = ts->cframe->current_frame; f != NULL && n < max; f = f->previous) {
        if (_PyFrame_IsIncomplete(f))
            continue;
        if ((uintptr_t)f->f_code == st.stop_code) {
            *stopped = 1;
            break;
        }
        out[n].frame = (uintptr_t)f;
        out[n].code = (uintptr_t)f->f_code;
        out[n].lasti = _PyInterpreterFrame_LASTI(f);
        out[n].entry = f->is_entry;
        n++;
    }
    return n;
}

/* Native frames merged with Python ones, leaf first: each native frame
 * inside _PyEval_EvalFrameDefault stands for the Python frames it runs.
 * When the Python walk stopped at the launcher, the native frames from the
 * launcher's own evaluation loop up are left out too. */
static int merge_native(frame_ref *py, int npy, int stopped, frame_ref *out, int max)
{
    void *ips[ALLOC_MAX_FRAMES];
    int nip = unw_backtrace(ips, ALLOC_MAX_FRAMES);
    int n = 0, p = 0;
    /* Skip our own frames: the hook and the tracker. */
    int skip = 0;
    while (skip < nip && (uintptr_t)ips[skip] >= st.self_start && (uintptr_t)ips[skip] < st.self_end)
        skip++;
    for (int i = skip; i < nip && n < max; i++) {
        uintptr_t ip = (uintptr_t)ips[i];
        if (st.eval_end && ip >= st.eval_start && ip < st.eval_end) {
            if (stopped && p >= npy)
                break;
            while (p < npy && n < max) {
                out[n++] = py[p];
                if (py[p++].entry)
                    break;
            }
            continue;
        }
        /* Return addresses point after the call: -1 lands in the call's line. */
        out[n++] = (frame_ref){ip - (i > skip ? 1 : 0), ip - (i > skip ? 1 : 0), -1, 0};
    }
    while (p < npy && n < max)
        out[n++] = py[p++];
    return n;
}

uint32_t alloc_stack_capture(alloc_stack_cache *cache)
{
    frame_ref py[ALLOC_MAX_FRAMES], merged[ALLOC_MAX_FRAMES];
    int stopped;
    int npy = read_python_frames(py, ALLOC_MAX_FRAMES, &stopped);
    frame_ref *frames = py;
    int n = npy;
    if (st.native) {
        n = merge_native(py, npy, stopped, merged, ALLOC_MAX_FRAMES);
        frames = merged;
    }
    if (n == 0)
        return ALLOC_NO_NODE;
    /* frames[n-1] is the root. Reuse the cached prefix. */
    uint32_t depth = 0, parent = ALLOC_NO_NODE;
    while (depth < cache->depth && depth < (uint32_t)n) {
        const frame_ref *f = &frames[n - 1 - depth];
        if (cache->frame[depth] != f->frame || cache->code[depth] != f->code || cache->lasti[depth] != f->lasti)
            break;
        parent = cache->node[depth];
        depth++;
    }
    for (; depth < (uint32_t)n; depth++) {
        const frame_ref *f = &frames[n - 1 - depth];
        uint32_t node = intern_node(parent, f->code, f->lasti);
        if (node == ALLOC_NO_NODE)
            break;   /* tables full: the stack is cut at this depth */
        cache->frame[depth] = f->frame;
        cache->code[depth] = f->code;
        cache->lasti[depth] = f->lasti;
        cache->node[depth] = node;
        parent = node;
    }
    cache->depth = depth;
    return parent;
}
