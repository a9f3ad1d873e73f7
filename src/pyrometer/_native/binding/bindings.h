/* bindings.h — the binding layer: the only code (with capture/) that sees
 * Python.h. Each binding file owns one area's Python-facing types and
 * functions and adds them to the module through its register function.
 * A register function returns 0, or -1 with a Python exception set. */
#ifndef PYROMETER_BINDINGS_H
#define PYROMETER_BINDINGS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* pyrometer._native.ProfileError: a file could not be read or written. */
extern PyObject *binding_profile_error;

int binding_profile_register(PyObject *module);   /* Profile, read_profile */
int binding_sampler_register(PyObject *module);   /* enable/disable sampling */
int binding_viewer_register(PyObject *module);    /* viewer_json */
int binding_alloc_register(PyObject *module);     /* allocation tracker, read_capture, capture reports */

/* Raises ProfileError with the prof_error's message. Returns NULL. */
struct prof_error;
PyObject *binding_raise_profile_error(const struct prof_error *err);

#endif
