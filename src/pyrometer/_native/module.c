/* module.c — pyrometer._native: assembles the binding files into one module. */
#include "binding/bindings.h"

PyObject *binding_profile_error;

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pyrometer._native",
    .m_doc = "pyrometer's C core: sampler, readers, writers, exporters.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__native(void)
{
    PyObject *module = PyModule_Create(&native_module);
    if (module == NULL)
        return NULL;
    binding_profile_error = PyErr_NewException("pyrometer._native.ProfileError", PyExc_ValueError, NULL);
    if (binding_profile_error == NULL || PyModule_AddObjectRef(module, "ProfileError", binding_profile_error) < 0)
        goto error;
    if (binding_profile_register(module) < 0 || binding_sampler_register(module) < 0 ||
        binding_viewer_register(module) < 0 || binding_alloc_register(module) < 0)
        goto error;
    return module;
error:
    Py_DECREF(module);
    return NULL;
}
