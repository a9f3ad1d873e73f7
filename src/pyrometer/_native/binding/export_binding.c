/* export_binding.c — Profile.export() and Profile.export_formats(): hand
 * the profile to the C exporter registry (export/export.h) and write the
 * result. The export itself runs without the GIL. */
#include "binding/profile_object.h"

#include <errno.h>
#include <string.h>

#include "export/export.h"

PyObject *binding_profile_export_formats(PyObject *unused_self, PyObject *unused)
{
    (void)unused_self;
    (void)unused;
    Py_ssize_t n = 0;
    while (export_format_names[n] != NULL)
        n++;
    PyObject *t = PyTuple_New(n);
    for (Py_ssize_t i = 0; t != NULL && i < n; i++) {
        PyObject *s = PyUnicode_FromString(export_format_names[i]);
        if (s == NULL) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, i, s);
    }
    return t;
}

PyObject *binding_profile_export(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"format", "path", "thread", "name", NULL};
    const char *format;
    PyObject *path_arg, *thread_arg = Py_None, *bytes_path = NULL;
    const char *name = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sO|$Oz:export", keywords, &format, &path_arg, &thread_arg,
                                     &name))
        return NULL;
    const profile *p = &((ProfileObject *)self)->profile;
    export_options opts;
    export_options_init(&opts);
    opts.name = name;
    if (!export_format_known(format))
        return PyErr_Format(binding_profile_error, "unknown export format '%s'", format);
    if (thread_arg != Py_None) {
        /* The thread is named by its id as stored in the profile. */
        unsigned long long id = PyLong_AsUnsignedLongLong(thread_arg);
        if (id == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            return PyErr_Format(binding_profile_error, "thread must be a thread id (a non-negative integer)");
        }
        for (uint32_t i = 0; i < p->thread_count; i++) {
            if (p->threads[i].id == id) {
                opts.thread = i;
                break;
            }
        }
        if (opts.thread == PROF_NONE)
            return PyErr_Format(binding_profile_error, "no thread with id %llu in this profile", id);
    }
    if (!PyUnicode_FSConverter(path_arg, &bytes_path))
        return NULL;
    buf out;
    buf_init(&out);
    prof_error err = {"", -1};
    int rc, write_errno = 0;
    const char *path = PyBytes_AS_STRING(bytes_path);
    Py_BEGIN_ALLOW_THREADS
    rc = export_profile(p, format, &opts, &out, &err);
    if (rc == 0 && buf_write_file(&out, path) < 0) {
        write_errno = errno;
        rc = -1;
    }
    Py_END_ALLOW_THREADS
    buf_free(&out);
    PyObject *result = NULL;
    if (rc < 0 && write_errno != 0)
        PyErr_Format(binding_profile_error, "%s: %s", path, strerror(write_errno));
    else if (rc < 0)
        binding_raise_profile_error(&err);
    else
        result = Py_NewRef(Py_None);
    Py_DECREF(bytes_path);
    return result;
}
