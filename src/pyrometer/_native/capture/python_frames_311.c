/* python_frames_311.c — python_frames.h for CPython 3.11.
 *
 * 3.11 keeps frames as _PyInterpreterFrame structs, linked leaf to root by
 * `previous`, starting at tstate->cframe->current_frame. The layouts come
 * from the internal headers, which is why only this file defines
 * Py_BUILD_CORE. */
#define Py_BUILD_CORE 1
#include "capture/python_frames.h"

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000

#include "internal/pycore_code.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_pystate.h"
#include "internal/pycore_runtime.h"

/* Every read here races, by design, with the thread that owns the memory
 * (the sampler does not stop it) and runs under a fault guard. The
 * sanitizers must not report those reads: a thread state freed as the list
 * is walked, or a torn pointer, is expected here, not a bug. Reads go
 * through plain member accesses, not CPython's inline helpers, so that
 * nothing instrumented is called. */
/* No real code object is referenced this many times; a free-list pointer
 * where the count was is far above it. */
#define MAX_SANE_REFCOUNT ((Py_ssize_t)1 << 31)

#define RACY_READ __attribute__((no_sanitize("address"), no_sanitize("undefined")))

RACY_READ PyThreadState *py_first_thread(PyInterpreterState *interp)
{
    return interp->threads.head;
}

RACY_READ PyThreadState *py_next_thread(PyThreadState *ts)
{
    return ts->next;
}

RACY_READ uint64_t py_native_thread_id(PyThreadState *ts)
{
    return (uint64_t)ts->native_thread_id;
}

RACY_READ int py_is_code_object(uintptr_t addr)
{
    return addr != 0 && (addr & (sizeof(void *) - 1)) == 0 && ((PyObject *)addr)->ob_type == &PyCode_Type;
}

RACY_READ static _PyInterpreterFrame *top_frame(PyThreadState *ts)
{
    _PyCFrame *cframe = ts->cframe;
    return cframe != NULL ? cframe->current_frame : NULL;
}

/* A frame is usable when it is aligned and its code pointer is a code
 * object; incomplete frames (set up, not yet started) are skipped. */
RACY_READ static int frame_usable(_PyInterpreterFrame *f, PyCodeObject **code, int *skip)
{
    if (((uintptr_t)f & (sizeof(void *) - 1)) != 0)
        return 0;
    PyCodeObject *co = f->f_code;
    /* A live frame holds a reference to its code. A count of 0 is a code
     * object being deallocated (its frame not popped yet), and a count out
     * of range is freed memory (pymalloc keeps its free list there): either
     * way the address may soon name something else (see walk_fence.h). */
    if (!py_is_code_object((uintptr_t)co) || co->ob_base.ob_base.ob_refcnt < 1 ||
        co->ob_base.ob_base.ob_refcnt > MAX_SANE_REFCOUNT)
        return 0;
    *code = co;
    *skip = f->owner != FRAME_OWNED_BY_GENERATOR && f->prev_instr < _PyCode_CODE(co) + co->_co_firsttraceable;
    return 1;
}

RACY_READ int py_walk_frames(PyThreadState *ts, py_frame_record *out, int max, uintptr_t stop_code, int *more,
                   int *reached_stop)
{
    int n = 0;
    /* The chain is bounded by `max` written frames and by a hard cap on
     * skipped ones, so a cycle in torn memory cannot loop forever. */
    int budget = max + 64;
    *reached_stop = 0;
    _PyInterpreterFrame *f = top_frame(ts);
    while (f != NULL && n < max && budget-- > 0) {
        PyCodeObject *co;
        int skip;
        if (!frame_usable(f, &co, &skip)) {
            f = NULL;
            break;
        }
        if ((uintptr_t)co == stop_code) {
            *reached_stop = 1;
            f = NULL;
            break;
        }
        if (!skip) {
            out[n].code = (uintptr_t)co;
            out[n].instr_offset = (int32_t)(f->prev_instr - _PyCode_CODE(co));
            out[n].unused = 0;
            n++;
        }
        f = f->previous;
    }
    /* More frames exist only if a countable one follows (not the launcher). */
    *more = 0;
    while (f != NULL && budget-- > 0) {
        PyCodeObject *co;
        int skip;
        if (!frame_usable(f, &co, &skip))
            break;
        if ((uintptr_t)co == stop_code) {
            *reached_stop = 1;
            break;
        }
        if (!skip) {
            *more = 1;
            *reached_stop = 1;
            break;
        }
        f = f->previous;
    }
    return n;
}

int py_code_line(uintptr_t code, int32_t instr_offset)
{
    return PyCode_Addr2Line((PyCodeObject *)code, instr_offset * (int)sizeof(_Py_CODEUNIT));
}

#else
#error "pyrometer's sampler supports CPython 3.11; add python_frames_<version>.c for this one"
#endif
