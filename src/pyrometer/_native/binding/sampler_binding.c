/* sampler_binding.c — the sampler's Python face: _native.sampler_start /
 * sampler_stop / ... (pyrometer/sampling.py builds vmprof's API on these). */
#include "binding/bindings.h"

#include "capture/sampler.h"
#include "format/vmprof_write.h"

/* The launcher's code object while sampling (kept alive: its address is compared). */
static PyObject *stop_code;

/* sampler_start(fd, period_us, wall, lines, memory, meta_items, stop_code=None, ring_bytes=0) */
static PyObject *py_sampler_start(PyObject *module, PyObject *args)
{
    (void)module;
    int fd, wall, lines, memory;
    long long period_us;
    PyObject *meta_items, *stop = Py_None;
    Py_ssize_t ring_bytes = 0;
    if (!PyArg_ParseTuple(args, "iLpppO|On", &fd, &period_us, &wall, &lines, &memory, &meta_items, &stop,
                          &ring_bytes))
        return NULL;
    if (stop != Py_None && !PyCode_Check(stop)) {
        PyErr_SetString(PyExc_TypeError, "stop_code must be a code object or None");
        return NULL;
    }
    buf meta;
    buf_init(&meta);
    PyObject *seq = PySequence_Fast(meta_items, "meta_items must be a sequence of (key, value)");
    if (seq == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        const char *key, *value;
        Py_ssize_t value_len;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "ss#", &key, &value, &value_len)) {
            Py_DECREF(seq);
            buf_free(&meta);
            return NULL;
        }
        vmprof_write_meta(&meta, key, value, (size_t)value_len);
    }
    Py_DECREF(seq);
    sampler_options opt = {
        .fd = fd,
        .period_us = period_us,
        .mode = wall ? SAMPLER_WALL : SAMPLER_CPU,
        .lines = lines,
        .memory = memory,
        .ring_bytes = (size_t)(ring_bytes > 0 ? ring_bytes : 0),
        .stop_code = stop == Py_None ? 0 : (uintptr_t)stop,
    };
    char err[256];
    int rc = sampler_start(&opt, &meta, err, sizeof(err));
    buf_free(&meta);
    if (rc < 0) {
        PyErr_SetString(PyExc_RuntimeError, err);
        return NULL;
    }
    Py_XSETREF(stop_code, stop == Py_None ? NULL : Py_NewRef(stop));
    Py_RETURN_NONE;
}

/* sampler_stop() -> dict of what the run delivered */
static PyObject *py_sampler_stop(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    sampler_result r;
    char err[256];
    int rc = sampler_stop(&r, err, sizeof(err));
    Py_CLEAR(stop_code);
    if (rc < 0 && !r.write_failed) {
        PyErr_SetString(PyExc_RuntimeError, err);
        return NULL;
    }
    return Py_BuildValue("{sKsKsKsKsdsdsi}", "samples", (unsigned long long)r.samples, "stack_reads",
                         (unsigned long long)r.stack_reads, "dropped",
                         (unsigned long long)r.dropped, "faults", (unsigned long long)r.faults, "seconds",
                         r.seconds, "delivered_hz", r.delivered_hz, "write_failed", r.write_failed);
}

static PyObject *py_sampler_is_running(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyBool_FromLong(sampler_is_running());
}

static PyObject *py_sampler_pause(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    sampler_pause();
    Py_RETURN_NONE;
}

static PyObject *py_sampler_resume(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    sampler_resume();
    Py_RETURN_NONE;
}

static PyObject *py_watch_current_thread(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    sampler_watch_current_thread();
    Py_RETURN_NONE;
}

static PyObject *py_note_thread_name(PyObject *module, PyObject *args)
{
    (void)module;
    unsigned long long id;
    const char *name;
    if (!PyArg_ParseTuple(args, "Ks", &id, &name))
        return NULL;
    sampler_note_thread_name(id, name);
    Py_RETURN_NONE;
}

static PyMethodDef sampler_methods[] = {
    {"sampler_start", py_sampler_start, METH_VARARGS, "start sampling into a file descriptor"},
    {"sampler_stop", py_sampler_stop, METH_NOARGS, "stop sampling and finish the file"},
    {"sampler_is_running", py_sampler_is_running, METH_NOARGS, "True while sampling"},
    {"sampler_pause", py_sampler_pause, METH_NOARGS, "stop recording samples, keep the file open"},
    {"sampler_resume", py_sampler_resume, METH_NOARGS, "record samples again"},
    {"sampler_watch_current_thread", py_watch_current_thread, METH_NOARGS, "arm the calling thread's CPU timer"},
    {"note_thread_name", py_note_thread_name, METH_VARARGS, "remember a thread's name for the profile"},
    {NULL},
};

int binding_sampler_register(PyObject *module)
{
    return PyModule_AddFunctions(module, sampler_methods);
}
