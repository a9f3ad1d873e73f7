/* profile_object.h — the Profile type shared by the binding files that add
 * methods to it (exporters, viewer data). */
#ifndef PYROMETER_PROFILE_OBJECT_H
#define PYROMETER_PROFILE_OBJECT_H

#include "binding/bindings.h"
#include "analysis/profile.h"

typedef struct {
    PyObject_HEAD
    profile profile;
} ProfileObject;

extern PyTypeObject ProfileType;

/* Moves *p into a new Profile object (p must not be freed after). */
PyObject *binding_profile_wrap(profile *p);

/* Methods other binding files add to Profile, as PyMethodDef entries.
 * Each binding file declares its method functions here. */
PyObject *binding_profile_export(PyObject *self, PyObject *args, PyObject *kwargs);
PyObject *binding_profile_export_formats(PyObject *unused_self, PyObject *unused);
#define BINDING_PROFILE_EXTRA_METHODS \
    {"export", (PyCFunction)(void (*)(void))binding_profile_export, METH_VARARGS | METH_KEYWORDS, \
     "export(format, path, *, thread=None, name=None): write the profile in another format"}, \
    {"export_formats", (PyCFunction)binding_profile_export_formats, METH_NOARGS | METH_STATIC, \
     "export_formats() -> the format names export() accepts"},

#endif
