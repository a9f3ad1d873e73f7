/* python_frames.h — what the sampler needs to know about one CPython
 * version's internals, behind one interface. Each supported version has
 * its own file (python_frames_311.c, ...) implementing it, so a new CPython
 * is a new file.
 *
 * All functions here only read memory (no allocation, no locks, no Python
 * API that could call back). The sampler calls them from its own thread
 * while the thread being read keeps running, so the memory may be torn or
 * freed under it: callers arm a fault_guard around them. */
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
 * 0 for none): *reached_stop tells whether one was met, and a stack deeper
 * than max counts as having met it (the launcher's own stacks are shallow). */
int py_walk_frames(PyThreadState *ts, py_frame_record *out, int max, uintptr_t stop_code, int *more,
                   int *reached_stop);

/* Nonzero when addr holds an object whose type is the code type. */
int py_is_code_object(uintptr_t addr);

/* The line executing at instr_offset in a live code object. */
int py_code_line(uintptr_t code, int32_t instr_offset);

#endif
