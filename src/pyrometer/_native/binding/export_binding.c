/* export_binding.c — Profile.export(): hands the profile to the C exporter
 * registry (export/export.h). */
#include "binding/profile_object.h"

PyObject *binding_profile_export(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self;
    (void)args;
    (void)kwargs;
    PyErr_SetString(binding_profile_error, "no exporters are built yet");
    return NULL;
}
