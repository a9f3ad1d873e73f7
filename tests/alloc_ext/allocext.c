/* allocext — a test-only C extension whose allocations the tests count.
 * Every function allocates through libc from a distinct call site so the
 * tests can find exactly its blocks in a capture. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define MAX_KEPT 100000
static void *kept[MAX_KEPT];
static Py_ssize_t kept_count;

/* keep(n, size): n mallocs of size bytes, kept until release(). */
static PyObject *keep(PyObject *self, PyObject *args)
{
    Py_ssize_t n, size;
    if (!PyArg_ParseTuple(args, "nn", &n, &size))
        return NULL;
    for (Py_ssize_t i = 0; i < n && kept_count < MAX_KEPT; i++)
        kept[kept_count++] = malloc((size_t)size);
    Py_RETURN_NONE;
}

/* release(n): frees the last n kept blocks. */
static PyObject *release(PyObject *self, PyObject *args)
{
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "n", &n))
        return NULL;
    for (Py_ssize_t i = 0; i < n && kept_count > 0; i++)
        free(kept[--kept_count]);
    Py_RETURN_NONE;
}

/* temporary(n, size): n times malloc then free at once. */
static PyObject *temporary(PyObject *self, PyObject *args)
{
    Py_ssize_t n, size;
    if (!PyArg_ParseTuple(args, "nn", &n, &size))
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        void *volatile p = malloc((size_t)size);
        free(p);
    }
    Py_RETURN_NONE;
}

/* interleaved(n, size): n times: a = malloc, b = calloc, free(a), free(b):
 * with threshold 1 only b is temporary, with threshold 2 both are. */
static PyObject *interleaved(PyObject *self, PyObject *args)
{
    Py_ssize_t n, size;
    if (!PyArg_ParseTuple(args, "nn", &n, &size))
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        void *volatile a = malloc((size_t)size);
        void *volatile b = calloc(1, (size_t)size);
        free(a);
        free(b);
    }
    Py_RETURN_NONE;
}

typedef struct job {
    Py_ssize_t n, size;
} job;

static void *thread_main(void *arg)
{
    job *j = arg;
    static void *volatile sink;
    for (Py_ssize_t i = 0; i < j->n; i++) {
        void *p = aligned_alloc(64, (size_t)j->size);
        sink = p;      /* keeps the compiler from eliding the allocation */
        if (i % 2)
            free(p);   /* half freed, half leaked on purpose */
    }
    return NULL;
}

/* pthread_alloc(n, size): a pthread Python never sees makes n
 * aligned_alloc calls and frees every other block. */
static PyObject *pthread_alloc(PyObject *self, PyObject *args)
{
    job j;
    if (!PyArg_ParseTuple(args, "nn", &j.n, &j.size))
        return NULL;
    pthread_t t;
    Py_BEGIN_ALLOW_THREADS
    if (pthread_create(&t, NULL, thread_main, &j) == 0)
        pthread_join(t, NULL);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* every_allocator(): one call of each tracked allocator, with sizes the test
 * knows; returns the page size. Leaks exactly: the memalign block (4099
 * bytes) and 3 of the 5 mmap'ed pages. */
static PyObject *every_allocator(PyObject *self, PyObject *unused)
{
    static void *volatile sink;
    long page = sysconf(_SC_PAGESIZE);
    void *p = malloc(1001);
    sink = p;
    p = realloc(p, 2002);              /* free(1001-block) + realloc 2002 */
    sink = p;
    free(p);
    p = calloc(3, 1001);
    sink = p;
    free(p);
    void *q = NULL;
    if (posix_memalign(&q, 64, 5005) == 0) {
        sink = q;
        free(q);
    }
    p = aligned_alloc(128, 6016);
    sink = p;
    free(p);
    sink = memalign(256, 4099);        /* leaked on purpose */
    p = valloc(7007);
    sink = p;
    free(p);
    p = pvalloc(100);                  /* rounded up to a page */
    sink = p;
    free(p);
    char *m = mmap(NULL, 5 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED)
        munmap(m + page, 2 * page);    /* a hole in the middle: 3 pages stay */
    return PyLong_FromLong(page);
}

static PyMethodDef methods[] = {
    {"every_allocator", every_allocator, METH_NOARGS, NULL},
    {"keep", keep, METH_VARARGS, NULL},
    {"release", release, METH_VARARGS, NULL},
    {"temporary", temporary, METH_VARARGS, NULL},
    {"interleaved", interleaved, METH_VARARGS, NULL},
    {"pthread_alloc", pthread_alloc, METH_VARARGS, NULL},
    {NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "allocext", NULL, -1, methods};

PyMODINIT_FUNC PyInit_allocext(void)
{
    return PyModule_Create(&module);
}
