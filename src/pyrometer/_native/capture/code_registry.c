#include "capture/code_registry.h"

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "capture/fault_guard.h"
#include "capture/python_frames.h"
#include "format/vmprof_format.h"
#include "format/vmprof_write.h"

/* Bounds on what one symbol record may hold. */
#define MAX_NAME_BYTES 1024
#define MAX_FILE_BYTES 4096

/* The registry the dealloc hook serves; NULL when not sampling. */
static code_registry *_Atomic active_registry;
static destructor original_code_dealloc;
walk_fence code_death_fence;

/* ---- address -> id map with tombstones (deletion on dealloc) ---- */

#define EMPTY 0
#define TOMBSTONE 1

static size_t slot_of(uintptr_t key, uint32_t cap)
{
    uint64_t h = (uint64_t)key * 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 32) & (cap - 1);
}

static int rehash(code_registry *r, uint32_t cap)
{
    uintptr_t *keys = calloc(cap, sizeof(*keys));
    uint32_t *ids = calloc(cap, sizeof(*ids));
    if (keys == NULL || ids == NULL) {
        free(keys);
        free(ids);
        return -1;
    }
    for (uint32_t i = 0; i < r->cap; i++) {
        if (r->keys[i] > TOMBSTONE) {
            size_t j = slot_of(r->keys[i], cap);
            while (keys[j] != EMPTY)
                j = (j + 1) & (cap - 1);
            keys[j] = r->keys[i];
            ids[j] = r->ids[i];
        }
    }
    free(r->keys);
    free(r->ids);
    r->keys = keys;
    r->ids = ids;
    r->cap = cap;
    r->used = r->live;
    return 0;
}

static uint32_t map_find(const code_registry *r, uintptr_t key, size_t *slot)
{
    size_t i = slot_of(key, r->cap);
    while (r->keys[i] != EMPTY) {
        if (r->keys[i] == key) {
            *slot = i;
            return r->ids[i];
        }
        i = (i + 1) & (r->cap - 1);
    }
    return 0;
}

static int map_insert(code_registry *r, uintptr_t key, uint32_t id)
{
    if ((r->used + 1) * 2 > r->cap && rehash(r, r->live * 4 > r->cap ? r->cap * 2 : r->cap) < 0)
        return -1;
    size_t i = slot_of(key, r->cap);
    while (r->keys[i] > TOMBSTONE)
        i = (i + 1) & (r->cap - 1);
    if (r->keys[i] == EMPTY)
        r->used++;
    r->keys[i] = key;
    r->ids[i] = id;
    r->live++;
    return 0;
}

/* ---- reading names without the Python API ---- */

/* Appends str object `o` as UTF-8, at most `limit` bytes, by reading its
 * storage directly: the writer resolves names without the GIL, and str
 * objects are immutable. Non-str or unusual layouts append "?". */
static void append_str(buf *out, PyObject *o, size_t limit)
{
    if (o == NULL || !PyUnicode_Check(o) || !PyUnicode_IS_READY(o) || !PyUnicode_IS_COMPACT(o)) {
        buf_putc(out, '?');
        return;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(o);
    int kind = PyUnicode_KIND(o);
    const void *data = PyUnicode_DATA(o);
    if (PyUnicode_IS_ASCII(o)) {
        buf_append(out, data, (size_t)length < limit ? (size_t)length : limit);
        return;
    }
    size_t written = 0;
    for (Py_ssize_t i = 0; i < length && written + 4 <= limit; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        char u[4];
        size_t n;
        if (ch < 0x80) {
            u[0] = (char)ch;
            n = 1;
        } else if (ch < 0x800) {
            u[0] = (char)(0xc0 | (ch >> 6));
            u[1] = (char)(0x80 | (ch & 0x3f));
            n = 2;
        } else if (ch < 0x10000) {
            u[0] = (char)(0xe0 | (ch >> 12));
            u[1] = (char)(0x80 | ((ch >> 6) & 0x3f));
            u[2] = (char)(0x80 | (ch & 0x3f));
            n = 3;
        } else {
            u[0] = (char)(0xf0 | (ch >> 18));
            u[1] = (char)(0x80 | ((ch >> 12) & 0x3f));
            u[2] = (char)(0x80 | ((ch >> 6) & 0x3f));
            u[3] = (char)(0x80 | (ch & 0x3f));
            n = 4;
        }
        buf_append(out, u, n);
        written += n;
    }
}

/* Appends the VIRTUAL_IP record "py:<name>:<first line>:<file>" for code. */
static void write_code_symbol(buf *out, uint32_t id, PyCodeObject *code)
{
    buf text;
    buf_init(&text);
    buf_puts(&text, "py:");
    append_str(&text, code->co_name, MAX_NAME_BYTES);
    buf_putc(&text, ':');
    buf_put_i64(&text, code->co_firstlineno);
    buf_putc(&text, ':');
    append_str(&text, code->co_filename, MAX_FILE_BYTES);
    if (buf_ok(&text) == 0)
        vmprof_write_symbol(out, VMPROF_TAG_VIRTUAL_IP, registry_address(id), text.data, text.len);
    buf_free(&text);
}

uint32_t code_registry_resolve(code_registry *r, uintptr_t code, buf *out)
{
    size_t slot;
    volatile uint32_t id = map_find(r, code, &slot);
    if (id != 0)
        return id;
    /* A torn sample can hold a stale pointer: read it under the guard. */
    fault_guard guard;
    volatile int ok = 0;
    if (FAULT_GUARD_ARM(&guard)) {
        ok = py_is_code_object(code);
        if (ok) {
            id = r->next_id;
            write_code_symbol(out, id, (PyCodeObject *)code);
        }
        fault_guard_disarm();
    }
    if (!ok || map_insert(r, code, id) < 0)
        return 0;
    r->next_id++;
    return id;
}

/* ---- the dealloc hook ---- */

static void code_dealloc_hook(PyObject *code)
{
    code_registry *r = atomic_load_explicit(&active_registry, memory_order_acquire);
    if (r != NULL) {
        /* First the fence: a sample the sampler is putting in the ring
         * right now is then either dropped or in the ring for the drain. */
        walk_fence_announce_death(&code_death_fence);
        pthread_mutex_lock(&r->lock);
        /* Samples still in the ring may name this object: resolve them
         * now, while it is alive, then forget its address. */
        if (r->flush != NULL)
            r->flush(r->flush_ctx);
        size_t slot;
        if (map_find(r, (uintptr_t)code, &slot) != 0) {
            r->keys[slot] = TOMBSTONE;
            r->live--;
        }
        pthread_mutex_unlock(&r->lock);
    }
    original_code_dealloc(code);
}

int code_registry_start(code_registry *r, registry_flush_fn flush, void *ctx)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    r->next_id = REGISTRY_FIRST_CODE_ID;
    r->flush = flush;
    r->flush_ctx = ctx;
    r->cap = 1024;
    r->keys = calloc(r->cap, sizeof(*r->keys));
    r->ids = calloc(r->cap, sizeof(*r->ids));
    if (r->keys == NULL || r->ids == NULL) {
        free(r->keys);
        free(r->ids);
        return -1;
    }
    if (original_code_dealloc == NULL) {
        original_code_dealloc = PyCode_Type.tp_dealloc;
        PyCode_Type.tp_dealloc = code_dealloc_hook;
    }
    atomic_store_explicit(&active_registry, r, memory_order_release);
    return 0;
}

void code_registry_stop(code_registry *r)
{
    atomic_store_explicit(&active_registry, NULL, memory_order_release);
    /* A dealloc hook on another thread may still hold the lock. */
    pthread_mutex_lock(&r->lock);
    pthread_mutex_unlock(&r->lock);
    free(r->keys);
    free(r->ids);
    r->keys = NULL;
    r->ids = NULL;
    pthread_mutex_destroy(&r->lock);
}

void code_registry_forget_after_fork(code_registry *r)
{
    atomic_store_explicit(&active_registry, NULL, memory_order_release);
    walk_fence_reset(&code_death_fence);
    pthread_mutex_init(&r->lock, NULL);
}
