/* sampler_binding.c — enable/disable of the CPU sampler (filled in with capture/). */
#include "binding/bindings.h"

int binding_sampler_register(PyObject *module)
{
    (void)module;
    return 0;
}
