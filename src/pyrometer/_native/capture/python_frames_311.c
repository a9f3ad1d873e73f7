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

PyThreadState *py_current_thread_state(void)
{
    return PyGILState_GetThisThreadState();
}

PyThreadState *py_gil_holder(void)
{
    return (PyThreadState *)_Py_atomic_load_relaxed(&_PyRuntime.gilstate.tstate_current);
}

PyThreadState *py_first_thread(PyInterpreterState *interp)
{
    return interp->threads.head;
}

PyThreadState *py_next_thread(PyThreadState *ts)
{
    return ts->next;
}

uint64_t py_native_thread_id(PyThreadState *ts)
{
    return (uint64_t)ts->native_thread_id;
}

int py_is_code_object(uintptr_t addr)
{
    return addr != 0 && (addr & (sizeof(void *) - 1)) == 0 && Py_TYPE((PyObject *)addr) == &PyCode_Type;
}

static _PyInterpreterFrame *top_frame(PyThreadState *ts)
{
    _PyCFrame *cframe = ts->cframe;
    return cframe != NULL ? cframe->current_frame : NULL;
}

/* A frame is usable when it is aligned and its code pointer is a code
 * object; incomplete frames (set up, not yet started) are skipped. */
static int frame_usable(_PyInterpreterFrame *f, PyCodeObject **code, int *skip)
{
    if (((uintptr_t)f & (sizeof(void *) - 1)) != 0)
        return 0;
    PyCodeObject *co = f->f_code;
    if (!py_is_code_object((uintptr_t)co))
        return 0;
    *code = co;
    *skip = f->owner != FRAME_OWNED_BY_GENERATOR && f->prev_instr < _PyCode_CODE(co) + co->_co_firsttraceable;
    return 1;
}

int py_walk_frames(PyThreadState *ts, py_frame_record *out, int max, uintptr_t stop_code, int *more)
{
    int n = 0;
    /* The chain is bounded by `max` written frames and by a hard cap on
     * skipped ones, so a cycle in torn memory cannot loop forever. */
    int budget = max + 64;
    _PyInterpreterFrame *f = top_frame(ts);
    while (f != NULL && n < max && budget-- > 0) {
        PyCodeObject *co;
        int skip;
        if (!frame_usable(f, &co, &skip) || (uintptr_t)co == stop_code) {
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
        if (!frame_usable(f, &co, &skip) || (uintptr_t)co == stop_code)
            break;
        if (!skip) {
            *more = 1;
            break;
        }
        f = f->previous;
    }
    return n;
}

int py_count_frames(PyThreadState *ts, int limit, uintptr_t stop_code, int *reached_stop)
{
    int n = 0, budget = limit + 64, stopped = 0;
    _PyInterpreterFrame *f = top_frame(ts);
    while (f != NULL && n < limit && budget-- > 0) {
        PyCodeObject *co;
        int skip;
        if (!frame_usable(f, &co, &skip))
            break;
        if ((uintptr_t)co == stop_code) {
            stopped = 1;
            break;
        }
        n += !skip;
        f = f->previous;
    }
    /* A stack deeper than the limit is the program's (the launcher's own
     * stacks are shallow), so it counts as having reached the stop frame. */
    if (reached_stop != NULL)
        *reached_stop = stopped || (f != NULL && n >= limit);
    return n;
}

int py_code_line(uintptr_t code, int32_t instr_offset)
{
    return PyCode_Addr2Line((PyCodeObject *)code, instr_offset * (int)sizeof(_Py_CODEUNIT));
}

#else
#error "pyrometer's sampler supports CPython 3.11; add python_frames_<version>.c for this one"
#endif
