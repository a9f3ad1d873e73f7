/* viewer_binding.c — _native.viewer_json(profile): the data the HTML flame
 * graph embeds (export/viewer_data.h), as UTF-8 bytes. */
#include "binding/bindings.h"
#include "binding/profile_object.h"

#include "export/viewer_data.h"

static PyObject *viewer_json(PyObject *module, PyObject *arg)
{
    (void)module;
    if (!PyObject_TypeCheck(arg, &ProfileType)) {
        PyErr_Format(PyExc_TypeError, "viewer_json() expects a Profile, not %.100s", Py_TYPE(arg)->tp_name);
        return NULL;
    }
    const profile *p = &((ProfileObject *)arg)->profile;
    buf out;
    buf_init(&out);
    prof_error err = {"", -1};
    int rc;
    /* The Profile is never mutated after loading, so other threads may run. */
    Py_BEGIN_ALLOW_THREADS
    rc = viewer_data_write(p, &out, &err);
    Py_END_ALLOW_THREADS
    PyObject *result = rc < 0 ? binding_raise_profile_error(&err)
                              : PyBytes_FromStringAndSize(out.data, (Py_ssize_t)out.len);
    buf_free(&out);
    return result;
}

static PyMethodDef viewer_methods[] = {
    {"viewer_json", viewer_json, METH_O,
     "viewer_json(profile) -> bytes: the flame graph viewer's JSON (UTF-8, safe inside <script>)"},
    {NULL},
};

int binding_viewer_register(PyObject *module)
{
    return PyModule_AddFunctions(module, viewer_methods);
}
