/* alloc_binding.c — the allocation tracker and capture reports as seen from
 * Python: alloc_start/alloc_stop/alloc_active (used by pyrometer.Tracker),
 * read_capture (loader.load's reader for captures), capture_report (summary
 * and stats) and capture_aggregate (--aggregate's reduction). */
#include "binding/bindings.h"
#include "binding/profile_object.h"

#include "analysis/memory.h"
#include "capture/alloc_stack.h"
#include "capture/alloc_tracker.h"
#include "format/capture_read.h"

/* The launcher's code object while tracking (kept alive: its address is compared). */
static PyObject *stop_code;

static PyObject *alloc_start(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *kwlist[] = {"path", "native", "trace_python_allocators", "follow_fork", "rss_interval",
                             "command_line", "stop_code", "fork_path", NULL};
    PyObject *path_obj, *stop = Py_None, *fork_obj = NULL;
    int native = 0, trace = 0, follow = 0;
    double interval = 0.01;
    const char *cmdline = "";
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O&|pppdsOO&", kwlist, PyUnicode_FSConverter, &path_obj, &native,
                                     &trace, &follow, &interval, &cmdline, &stop, PyUnicode_FSConverter, &fork_obj))
        return NULL;
    if (stop != Py_None && !PyCode_Check(stop)) {
        Py_DECREF(path_obj);
        Py_XDECREF(fork_obj);
        PyErr_SetString(PyExc_TypeError, "stop_code must be a code object or None");
        return NULL;
    }
    if (!(interval >= 0.0005 && interval <= 3600)) {
        Py_DECREF(path_obj);
        Py_XDECREF(fork_obj);
        PyErr_SetString(PyExc_ValueError, "rss_interval must be between 0.0005 and 3600 seconds");
        return NULL;
    }
    alloc_options opt = {PyBytes_AS_STRING(path_obj), native, trace, follow, 0, (uint64_t)(interval * 1e6),
                         cmdline, NULL};
    char version[64];
    snprintf(version, sizeof version, "%d.%d.%d", PY_MAJOR_VERSION, PY_MINOR_VERSION, PY_MICRO_VERSION);
    opt.python_version = version;
    opt.fork_base = fork_obj ? PyBytes_AS_STRING(fork_obj) : NULL;
    char err[512] = "";
    if (!alloc_tracker_on) {
        Py_XSETREF(stop_code, stop == Py_None ? NULL : Py_NewRef(stop));
        alloc_stack_set_stop_code((uintptr_t)stop_code);
    }
    int rc = alloc_tracker_start(&opt, err, sizeof err);
    Py_DECREF(path_obj);
    Py_XDECREF(fork_obj);
    if (rc < 0) {
        PyErr_SetString(PyExc_RuntimeError, err);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* alloc_stop() -> None, or the one-line message of a write failure (the
 * capture is still readable up to where it stopped). */
static PyObject *alloc_stop(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    char err[512] = "";
    /* With the GIL held: stopping swaps the PyMem allocators back, which
     * must not race with other Python threads. The writer's final flush
     * never needs the GIL, so joining it here cannot deadlock. */
    int rc = alloc_tracker_stop(err, sizeof err);
    if (rc < 0)
        return PyUnicode_FromString(err);
    Py_RETURN_NONE;
}

static PyObject *alloc_active(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyBool_FromLong(alloc_tracker_on);
}

/* Reads path into c with the GIL released. 0, or -1 with ProfileError set. */
static int load_capture(PyObject *path_arg, capture_data *c)
{
    PyObject *bytes_path;
    if (!PyUnicode_FSConverter(path_arg, &bytes_path))
        return -1;
    prof_error err = {"", -1};
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = capture_read_file(PyBytes_AS_STRING(bytes_path), c, &err);
    Py_END_ALLOW_THREADS
    Py_DECREF(bytes_path);
    if (rc < 0) {
        capture_data_free(c);
        binding_raise_profile_error(&err);
        return -1;
    }
    return 0;
}

static PyObject *read_capture(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *path;
    const char *view_name = "peak";
    unsigned int threshold = 1;
    if (!PyArg_ParseTuple(args, "O|sI", &path, &view_name, &threshold))
        return NULL;
    memory_view view;
    if (strcmp(view_name, "peak") == 0)
        view = MEMORY_VIEW_PEAK;
    else if (strcmp(view_name, "leaks") == 0)
        view = MEMORY_VIEW_LEAKS;
    else if (strcmp(view_name, "temporary") == 0)
        view = MEMORY_VIEW_TEMPORARY;
    else
        return PyErr_Format(PyExc_ValueError, "view must be 'peak', 'leaks' or 'temporary', not %R",
                            PyTuple_GET_ITEM(args, 1));
    capture_data c;
    if (load_capture(path, &c) < 0)
        return NULL;
    prof_error err = {"", -1};
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = memory_build_view(&c, view, threshold, &err);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        capture_data_free(&c);
        return binding_raise_profile_error(&err);
    }
    profile p = c.prof;
    profile_init(&c.prof);
    capture_data_free(&c);
    return binding_profile_wrap(&p);
}

static PyObject *str_of(const profile *p, uint32_t id)
{
    return PyUnicode_DecodeUTF8(profile_string(p, id), id < p->string_count ? (Py_ssize_t)p->string_lengths[id] : 0,
                                "replace");
}

static int set_int(PyObject *d, const char *key, long long v)
{
    PyObject *o = PyLong_FromLongLong(v);
    int rc = o ? PyDict_SetItemString(d, key, o) : -1;
    Py_XDECREF(o);
    return rc;
}

/* capture_report(path) -> dict: totals, histogram, allocators, locations
 * [(function, file, line, own_bytes, own_count, peak_own, peak_total, leaked)],
 * meta, warning. */
static PyObject *capture_report(PyObject *module, PyObject *path)
{
    (void)module;
    capture_data c;
    if (load_capture(path, &c) < 0)
        return NULL;
    memory_report r;
    prof_error err = {"", -1};
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = memory_report_build(&c, &r, &err);
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        capture_data_free(&c);
        return binding_raise_profile_error(&err);
    }
    const profile *p = &c.prof;
    PyObject *d = PyDict_New(), *hist = NULL, *kinds = NULL, *locs = NULL, *meta = NULL, *tmp;
    if (d == NULL)
        goto error;
    if (set_int(d, "total_bytes", r.total_bytes) < 0 || set_int(d, "total_count", r.total_count) < 0 ||
        set_int(d, "free_count", r.free_count) < 0 || set_int(d, "peak_bytes", r.peak_bytes) < 0 ||
        set_int(d, "peak_count", r.peak_count) < 0 || set_int(d, "leaked_bytes", r.leaked_bytes) < 0 ||
        set_int(d, "leaked_count", r.leaked_count) < 0 || set_int(d, "peak_time_us", r.peak_time_us) < 0 ||
        set_int(d, "dropped", (long long)c.dropped) < 0 || set_int(d, "rss_points", (long long)c.rss_count) < 0)
        goto error;
    int64_t max_rss = -1;
    for (size_t i = 0; i < c.rss_count; i++)
        if (c.rss[i].rss_bytes > max_rss)
            max_rss = c.rss[i].rss_bytes;
    if (set_int(d, "max_rss_bytes", max_rss) < 0)
        goto error;
    if ((hist = PyList_New(MEMORY_HISTOGRAM_BUCKETS)) == NULL)
        goto error;
    for (int i = 0; i < MEMORY_HISTOGRAM_BUCKETS; i++)
        PyList_SET_ITEM(hist, i, PyLong_FromLongLong(r.histogram[i]));
    if (PyDict_SetItemString(d, "histogram", hist) < 0)
        goto error;
    if ((kinds = PyDict_New()) == NULL)
        goto error;
    for (int k = 1; k < CAPTURE_KIND_COUNT; k++) {
        if (r.kind_count[k] == 0)
            continue;
        tmp = Py_BuildValue("(LL)", (long long)r.kind_count[k], (long long)r.kind_bytes[k]);
        if (tmp == NULL || PyDict_SetItemString(kinds, capture_kind_name(k), tmp) < 0) {
            Py_XDECREF(tmp);
            goto error;
        }
        Py_DECREF(tmp);
    }
    if (PyDict_SetItemString(d, "allocators", kinds) < 0)
        goto error;
    if ((locs = PyList_New((Py_ssize_t)r.location_count)) == NULL)
        goto error;
    for (size_t i = 0; i < r.location_count; i++) {
        const memory_location *m = &r.locations[i];
        const prof_function *f = &p->functions[m->function];
        tmp = Py_BuildValue("(NNiLLLLLi)", str_of(p, f->name), str_of(p, f->file), (int)m->line,
                            (long long)m->own_bytes, (long long)m->own_count, (long long)m->peak_own_bytes,
                            (long long)m->peak_total_bytes, (long long)m->leaked_bytes, (int)f->kind);
        if (tmp == NULL)
            goto error;
        PyList_SET_ITEM(locs, (Py_ssize_t)i, tmp);
    }
    if (PyDict_SetItemString(d, "locations", locs) < 0)
        goto error;
    if ((meta = PyDict_New()) == NULL)
        goto error;
    for (uint32_t i = 0; i < p->meta_count; i++) {
        tmp = str_of(p, p->meta[i].value);
        if (tmp == NULL || PyDict_SetItemString(meta, profile_string(p, p->meta[i].key), tmp) < 0) {
            Py_XDECREF(tmp);
            goto error;
        }
        Py_DECREF(tmp);
    }
    if (PyDict_SetItemString(d, "meta", meta) < 0)
        goto error;
    tmp = PyUnicode_DecodeUTF8(p->warning, (Py_ssize_t)strlen(p->warning), "replace");
    if (tmp == NULL || PyDict_SetItemString(d, "warning", tmp) < 0) {
        Py_XDECREF(tmp);
        goto error;
    }
    Py_DECREF(tmp);
    if (set_int(d, "duration_us", p->end_time_us > p->start_time_us ? p->end_time_us - p->start_time_us : -1) < 0)
        goto error;
    Py_DECREF(hist);
    Py_DECREF(kinds);
    Py_DECREF(locs);
    Py_DECREF(meta);
    memory_report_free(&r);
    capture_data_free(&c);
    return d;
error:
    Py_XDECREF(d);
    Py_XDECREF(hist);
    Py_XDECREF(kinds);
    Py_XDECREF(locs);
    Py_XDECREF(meta);
    memory_report_free(&r);
    capture_data_free(&c);
    return NULL;
}

static PyObject *capture_aggregate(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *src, *dst_obj;
    if (!PyArg_ParseTuple(args, "OO&", &src, PyUnicode_FSConverter, &dst_obj))
        return NULL;
    capture_data c;
    if (load_capture(src, &c) < 0) {
        Py_DECREF(dst_obj);
        return NULL;
    }
    prof_error err = {"", -1};
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = memory_write_aggregate_file(&c, PyBytes_AS_STRING(dst_obj), &err);
    Py_END_ALLOW_THREADS
    Py_DECREF(dst_obj);
    capture_data_free(&c);
    if (rc < 0)
        return binding_raise_profile_error(&err);
    Py_RETURN_NONE;
}

static PyMethodDef alloc_methods[] = {
    {"alloc_start", (PyCFunction)(void (*)(void))alloc_start, METH_VARARGS | METH_KEYWORDS,
     "alloc_start(path, native, trace_python_allocators, follow_fork, rss_interval, command_line)"},
    {"alloc_stop", alloc_stop, METH_NOARGS, "alloc_stop() -> None, or the message of a write failure"},
    {"alloc_active", alloc_active, METH_NOARGS, "alloc_active() -> bool"},
    {"read_capture", read_capture, METH_VARARGS,
     "read_capture(path, view='peak', temporary_threshold=1) -> Profile weighted in bytes"},
    {"capture_report", capture_report, METH_O, "capture_report(path) -> dict of totals and per-location tables"},
    {"capture_aggregate", capture_aggregate, METH_VARARGS,
     "capture_aggregate(src, dst): write dst as an --aggregate capture of src"},
    {NULL},
};

int binding_alloc_register(PyObject *module)
{
    return PyModule_AddFunctions(module, alloc_methods);
}
