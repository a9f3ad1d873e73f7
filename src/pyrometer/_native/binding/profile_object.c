/* profile_object.c — pyrometer._native.Profile: a loaded profile, and
 * read_profile(). The Python API (pyrometer.stats) wraps it; the per-node
 * work (folding, aggregation) happens here in C and Python only sees
 * flat arrays. */
#include "binding/bindings.h"
#include "binding/profile_object.h"

#include "analysis/calltree.h"
#include "analysis/flat.h"
#include "format/vmprof_read.h"

static void Profile_dealloc(ProfileObject *self)
{
    profile_free(&self->profile);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyObject *binding_raise_profile_error(const prof_error *err)
{
    PyErr_SetString(binding_profile_error, err->message);
    return NULL;
}

PyObject *binding_profile_wrap(profile *p)
{
    ProfileObject *self = PyObject_New(ProfileObject, &ProfileType);
    if (self == NULL) {
        profile_free(p);
        return NULL;
    }
    self->profile = *p;
    return (PyObject *)self;
}

static PyObject *read_profile(PyObject *module, PyObject *arg)
{
    (void)module;
    PyObject *bytes_path;
    if (!PyUnicode_FSConverter(arg, &bytes_path))
        return NULL;
    profile p;
    prof_error err = {"", -1};
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = vmprof_read_file(PyBytes_AS_STRING(bytes_path), &p, &err);
    Py_END_ALLOW_THREADS
    Py_DECREF(bytes_path);
    if (rc < 0) {
        profile_free(&p);
        return binding_raise_profile_error(&err);
    }
    return binding_profile_wrap(&p);
}

static PyObject *Profile_meta(ProfileObject *self, PyObject *unused)
{
    (void)unused;
    const profile *p = &self->profile;
    PyObject *d = PyDict_New();
    for (uint32_t i = 0; d != NULL && i < p->meta_count; i++) {
        PyObject *v = PyUnicode_DecodeUTF8(profile_string(p, p->meta[i].value),
                                           (Py_ssize_t)p->string_lengths[p->meta[i].value], "replace");
        if (v == NULL || PyDict_SetItemString(d, profile_string(p, p->meta[i].key), v) < 0) {
            Py_XDECREF(v);
            Py_CLEAR(d);
            break;
        }
        Py_DECREF(v);
    }
    return d;
}

static PyObject *string_object(const profile *p, uint32_t id)
{
    return PyUnicode_DecodeUTF8(profile_string(p, id), id < p->string_count ? (Py_ssize_t)p->string_lengths[id] : 0,
                                "replace");
}

static PyObject *Profile_threads(ProfileObject *self, PyObject *unused)
{
    (void)unused;
    const profile *p = &self->profile;
    PyObject *list = PyList_New(p->thread_count);
    for (uint32_t i = 0; list != NULL && i < p->thread_count; i++) {
        PyObject *item = Py_BuildValue("(KN)", (unsigned long long)p->threads[i].id,
                                       string_object(p, p->threads[i].name));
        if (item == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

static PyObject *Profile_functions(ProfileObject *self, PyObject *unused)
{
    (void)unused;
    const profile *p = &self->profile;
    PyObject *list = PyList_New(p->function_count);
    for (uint32_t i = 0; list != NULL && i < p->function_count; i++) {
        const prof_function *f = &p->functions[i];
        PyObject *item = Py_BuildValue("(NNii)", string_object(p, f->name), string_object(p, f->file),
                                       (int)f->first_line, (int)f->kind);
        if (item == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, item);
    }
    return list;
}

/* thread argument: -1 for all threads, else a thread index. */
static int thread_arg(const profile *p, int thread, uint32_t *out)
{
    if (thread < 0) {
        *out = PROF_NONE;
        return 0;
    }
    if ((uint32_t)thread >= p->thread_count) {
        PyErr_Format(PyExc_IndexError, "no thread with index %d", thread);
        return -1;
    }
    *out = (uint32_t)thread;
    return 0;
}

/* calltree(thread=-1) -> (functions, parents, selfs, totals): node 0 is the
 * synthetic root (function -1, parent -1). */
static PyObject *Profile_calltree(ProfileObject *self, PyObject *args)
{
    int thread = -1;
    if (!PyArg_ParseTuple(args, "|i", &thread))
        return NULL;
    uint32_t filter;
    if (thread_arg(&self->profile, thread, &filter) < 0)
        return NULL;
    calltree t;
    prof_error err = {"", -1};
    if (calltree_build(&t, &self->profile, filter, &err) < 0)
        return binding_raise_profile_error(&err);
    PyObject *functions = PyList_New(t.count), *parents = PyList_New(t.count);
    PyObject *selfs = PyList_New(t.count), *totals = PyList_New(t.count);
    PyObject *result = NULL;
    if (functions && parents && selfs && totals) {
        for (uint32_t i = 0; i < t.count; i++) {
            const calltree_node *n = &t.nodes[i];
            PyList_SET_ITEM(functions, i, PyLong_FromLong(n->function == PROF_NONE ? -1 : (long)n->function));
            PyList_SET_ITEM(parents, i, PyLong_FromLong(n->parent == PROF_NO_PARENT ? -1 : (long)n->parent));
            PyList_SET_ITEM(selfs, i, PyLong_FromLongLong(n->self));
            PyList_SET_ITEM(totals, i, PyLong_FromLongLong(n->total));
        }
        if (!PyErr_Occurred())
            result = PyTuple_Pack(4, functions, parents, selfs, totals);
    }
    Py_XDECREF(functions);
    Py_XDECREF(parents);
    Py_XDECREF(selfs);
    Py_XDECREF(totals);
    calltree_free(&t);
    return result;
}

/* A pair of lists from two int64 arrays of n entries (or NULL with an exception). */
static PyObject *two_lists(const int64_t *a, const int64_t *b, uint32_t n)
{
    PyObject *first = PyList_New(n), *second = PyList_New(n), *result = NULL;
    if (first && second) {
        for (uint32_t i = 0; i < n; i++) {
            PyList_SET_ITEM(first, i, PyLong_FromLongLong(a[i]));
            PyList_SET_ITEM(second, i, PyLong_FromLongLong(b[i]));
        }
        result = PyErr_Occurred() ? NULL : PyTuple_Pack(2, first, second);
    }
    Py_XDECREF(first);
    Py_XDECREF(second);
    return result;
}

typedef int (*totals_fn)(const profile *, uint32_t, int64_t *, int64_t *, prof_error *);

/* Runs a flat.h aggregation for a thread argument into two fresh arrays of n. */
static int run_totals(const profile *p, PyObject *args, totals_fn fn, uint32_t n, int64_t **a, int64_t **b)
{
    int thread = -1;
    uint32_t filter;
    if (!PyArg_ParseTuple(args, "|i", &thread) || thread_arg(p, thread, &filter) < 0)
        return -1;
    *a = malloc((n ? n : 1) * sizeof(int64_t));
    *b = malloc((n ? n : 1) * sizeof(int64_t));
    prof_error err = {"", -1};
    if (*a == NULL || *b == NULL) {
        PyErr_NoMemory();
    } else if (fn(p, filter, *a, *b, &err) == 0) {
        return 0;
    } else {
        binding_raise_profile_error(&err);
    }
    free(*a);
    free(*b);
    return -1;
}

/* line_hits(thread=-1) -> {(function, line): (self, total)}: self counts
 * samples whose leaf frame is at that line, total counts samples with that
 * line anywhere on the stack, once each even under recursion. */
static PyObject *Profile_line_hits(ProfileObject *self, PyObject *args)
{
    const profile *p = &self->profile;
    int64_t *node_self, *node_total;
    if (run_totals(p, args, flat_line_totals, p->node_count, &node_self, &node_total) < 0)
        return NULL;
    PyObject *d = PyDict_New();
    for (uint32_t i = 0; d != NULL && i < p->node_count; i++) {
        if (node_self[i] == 0 && node_total[i] == 0)
            continue;
        PyObject *key = Py_BuildValue("(Ii)", p->nodes[i].function, (int)p->nodes[i].line);
        PyObject *old = key ? PyDict_GetItemWithError(d, key) : NULL;
        long long s = node_self[i], t = node_total[i];
        if (old != NULL) {
            s += PyLong_AsLongLong(PyTuple_GET_ITEM(old, 0));
            t += PyLong_AsLongLong(PyTuple_GET_ITEM(old, 1));
        }
        PyObject *value = key ? Py_BuildValue("(LL)", s, t) : NULL;
        if (value == NULL || PyErr_Occurred() || PyDict_SetItem(d, key, value) < 0) {
            Py_XDECREF(key);
            Py_XDECREF(value);
            Py_CLEAR(d);
            break;
        }
        Py_DECREF(key);
        Py_DECREF(value);
    }
    free(node_self);
    free(node_total);
    return d;
}

/* function_totals(thread=-1) -> (selfs, totals) indexed by function id. */
static PyObject *Profile_function_totals(ProfileObject *self, PyObject *args)
{
    const profile *p = &self->profile;
    int64_t *selfs, *totals;
    if (run_totals(p, args, flat_function_totals, p->function_count, &selfs, &totals) < 0)
        return NULL;
    PyObject *result = two_lists(selfs, totals, p->function_count);
    free(selfs);
    free(totals);
    return result;
}

/* rss() -> list of RSS kB per sample, in file order (empty without memory mode). */
static PyObject *Profile_rss(ProfileObject *self, PyObject *unused)
{
    (void)unused;
    const profile *p = &self->profile;
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list != NULL && i < p->sample_count; i++) {
        if (p->samples[i].rss_kb < 0)
            continue;
        PyObject *v = PyLong_FromLongLong(p->samples[i].rss_kb);
        if (v == NULL || PyList_Append(list, v) < 0) {
            Py_XDECREF(v);
            Py_CLEAR(list);
            break;
        }
        Py_DECREF(v);
    }
    return list;
}

/* Per-thread sample weight, by thread index. */
static PyObject *Profile_thread_totals(ProfileObject *self, PyObject *unused)
{
    (void)unused;
    const profile *p = &self->profile;
    int64_t *totals = calloc(p->thread_count ? p->thread_count : 1, sizeof(int64_t));
    if (totals == NULL)
        return PyErr_NoMemory();
    for (size_t i = 0; i < p->sample_count; i++)
        totals[p->samples[i].thread] += p->samples[i].weight;
    PyObject *list = PyList_New(p->thread_count);
    for (uint32_t i = 0; list != NULL && i < p->thread_count; i++)
        PyList_SET_ITEM(list, i, PyLong_FromLongLong(totals[i]));
    free(totals);
    return list;
}

static PyObject *Profile_get(ProfileObject *self, void *closure)
{
    const profile *p = &self->profile;
    switch ((int)(intptr_t)closure) {
    case 0: return PyLong_FromSize_t(p->sample_count);
    case 1: return PyLong_FromLongLong(profile_total_weight(p));
    case 2: return PyLong_FromLongLong(p->period_us);
    case 3: return PyLong_FromLongLong(p->start_time_us);
    case 4: return PyLong_FromLongLong(p->end_time_us);
    case 5: return PyLong_FromUnsignedLong(p->mode);
    case 6: return PyUnicode_DecodeUTF8(p->interpreter, (Py_ssize_t)strlen(p->interpreter), "replace");
    case 7: return PyLong_FromLong(p->format_version);
    case 8: return PyUnicode_FromString(p->value_unit);
    case 9: return PyLong_FromUnsignedLongLong(p->dropped);
    case 10: return PyUnicode_DecodeUTF8(p->warning, (Py_ssize_t)strlen(p->warning), "replace");
    }
    Py_RETURN_NONE;
}

static PyGetSetDef Profile_getset[] = {
    {"sample_count", (getter)Profile_get, NULL, "number of samples", (void *)0},
    {"total_weight", (getter)Profile_get, NULL, "sum of sample weights", (void *)1},
    {"period_us", (getter)Profile_get, NULL, "requested sampling period in µs", (void *)2},
    {"start_time_us", (getter)Profile_get, NULL, "start, epoch µs", (void *)3},
    {"end_time_us", (getter)Profile_get, NULL, "end, epoch µs", (void *)4},
    {"mode", (getter)Profile_get, NULL, "vmprof mode bits", (void *)5},
    {"interpreter", (getter)Profile_get, NULL, "interpreter name", (void *)6},
    {"version", (getter)Profile_get, NULL, "format version", (void *)7},
    {"value_unit", (getter)Profile_get, NULL, "'samples' or 'bytes'", (void *)8},
    {"dropped", (getter)Profile_get, NULL, "samples dropped at capture", (void *)9},
    {"warning", (getter)Profile_get, NULL, "reader warning, or ''", (void *)10},
    {NULL},
};

static PyMethodDef Profile_methods[] = {
    {"meta", (PyCFunction)Profile_meta, METH_NOARGS, "META records as a dict"},
    {"threads", (PyCFunction)Profile_threads, METH_NOARGS, "[(id, name)] by thread index"},
    {"functions", (PyCFunction)Profile_functions, METH_NOARGS, "[(name, file, first_line, kind)]"},
    {"calltree", (PyCFunction)Profile_calltree, METH_VARARGS, "(functions, parents, selfs, totals)"},
    {"function_totals", (PyCFunction)Profile_function_totals, METH_VARARGS, "(selfs, totals) by function id"},
    {"line_hits", (PyCFunction)Profile_line_hits, METH_VARARGS, "{(function, line): (self, total)}"},
    {"rss", (PyCFunction)Profile_rss, METH_NOARGS, "RSS kB per sample"},
    {"thread_totals", (PyCFunction)Profile_thread_totals, METH_NOARGS, "weight per thread index"},
    BINDING_PROFILE_EXTRA_METHODS
    {NULL},
};

PyTypeObject ProfileType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "pyrometer._native.Profile",
    .tp_basicsize = sizeof(ProfileObject),
    .tp_dealloc = (destructor)Profile_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A profile loaded into the C core.",
    .tp_methods = Profile_methods,
    .tp_getset = Profile_getset,
};

static PyMethodDef module_methods[] = {
    {"read_profile", read_profile, METH_O, "read_profile(path) -> Profile (vmprof format, plain or gzipped)"},
    {NULL},
};

int binding_profile_register(PyObject *module)
{
    if (PyType_Ready(&ProfileType) < 0 || PyModule_AddObjectRef(module, "Profile", (PyObject *)&ProfileType) < 0)
        return -1;
    return PyModule_AddFunctions(module, module_methods);
}
