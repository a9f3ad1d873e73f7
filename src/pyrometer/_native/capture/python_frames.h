/* python_frames.h — what the sampler needs to know about one CPython
 * version's internals, behind one interface. Each supported version has
 * its own file (python_frames_311.c, ...) implementing it, so a new CPython
 * is a new file.
 *
 * All functions here only read memory (no allocation, no locks, no Python
 * API that could call back), so they may run in a signal handler; callers
 * arm a fault_guard around them because the memory may be torn. */
#ifndef PYROMETER_PYTHON_FRAMES_H
#define PYROMETER_PYTHON_FRAMES_H

#include <stdint.h>

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* One frame as the sampler records it: the code object and the offset of
 * the instruction being executed (in code units), turned into a line later. */
typedef struct py_frame_record {
    uintptr_t code;
    int32_t instr_offset;
    int32_t unused;
} py_frame_record;

/* The thread state of the calling thread, or NULL if it is not a Python
 * thread. Signal-safe (a TLS read). */
PyThreadState *py_current_thread_state(void);

/* The thread state holding the GIL, or NULL when nobody holds it. */
PyThreadState *py_gil_holder(void);

/* First / next thread state of an interpreter (for walking all threads). */
PyThreadState *py_first_thread(PyInterpreterState *interp);
PyThreadState *py_next_thread(PyThreadState *ts);

/* The OS thread id (what threading.get_native_id() returns). */
uint64_t py_native_thread_id(PyThreadState *ts);

/* Writes up to `max` frames of ts, leaf first, into out; returns how many.
 * *more is set when frames remain beyond max. Frames not yet started
 * (incomplete) are skipped, as tracebacks skip them. A pointer that does
 * not lead to a code object ends the walk, and so does a frame running
 * `stop_code` (the profiler's own launcher, which is not the program's;
 * 0 for none). */
int py_walk_frames(PyThreadState *ts, py_frame_record *out, int max, uintptr_t stop_code, int *more);

/* Counts frames as py_walk_frames would write them, stopping at limit.
 * *reached_stop (may be NULL) tells whether a stop_code frame was met. */
int py_count_frames(PyThreadState *ts, int limit, uintptr_t stop_code, int *reached_stop);

/* Nonzero when addr holds an object whose type is the code type. */
int py_is_code_object(uintptr_t addr);

/* The line executing at instr_offset in a live code object. */
int py_code_line(uintptr_t code, int32_t instr_offset);

#endif
