/* Fuzz target: the allocation capture reader (capture_read_buffer) and the
 * reductions every command runs on what it read (memory_report_build, and
 * one memory view, picked by the input's size). A success must yield ids
 * that point inside the profile; a failure a one-line message. */
#include <stddef.h>
#include <stdint.h>

#include "analysis/memory.h"
#include "format/capture_read.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    capture_data c;
    prof_error err;
    memset(&err, 0, sizeof(err));
    if (capture_read_buffer(data, size, &c, &err) != 0) {
        fuzz_check_error(&err);
        capture_data_free(&c);
        return 0;
    }
    fuzz_check_profile(&c.prof);
    for (size_t i = 0; i < c.event_count; i++) {
        FUZZ_ASSERT(c.events[i].node == PROF_NONE || c.events[i].node < c.prof.node_count);
        FUZZ_ASSERT(c.events[i].thread < c.prof.thread_count);
    }
    memory_report report;
    if (memory_report_build(&c, &report, &err) == 0) {
        for (size_t i = 0; i < report.location_count; i++)
            FUZZ_ASSERT(report.locations[i].function < c.prof.function_count);
    } else {
        fuzz_check_error(&err);
    }
    memory_report_free(&report);
    if (memory_build_view(&c, (memory_view)(size % 3), 1 + (uint32_t)(size % 5), &err) == 0) {
        fuzz_check_profile(&c.prof);
        fuzz_check_calltree(&c.prof);
    } else {
        fuzz_check_error(&err);
    }
    capture_data_free(&c);
    return 0;
}
