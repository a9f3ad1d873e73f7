/* Unit tests for the vmprof writer and reader: round trips, fixtures, bounds. */
#include "check.h"

#include <stdlib.h>

#include "analysis/calltree.h"
#include "format/vmprof_format.h"
#include "format/vmprof_read.h"
#include "format/vmprof_write.h"

static void write_sample_profile(buf *b, uint8_t mode)
{
    vmprof_write_header(b, 1000, mode, "cpython");
    vmprof_write_time(b, VMPROF_TAG_TIME_N_ZONE, 1700000000123456LL);
    vmprof_write_meta(b, "mode", "cpu", 3);
    const char *main_sym = "py:main:1:prog.py", *work_sym = "py:work:5:prog.py";
    vmprof_write_symbol(b, VMPROF_TAG_VIRTUAL_IP, 2, main_sym, strlen(main_sym));
    for (int i = 0; i < 3; i++) {
        if (mode & VMPROF_MODE_LINES) {
            uint64_t entries[] = {7, 4, 2, 2}; /* leaf first: [line, code] pairs */
            vmprof_write_stack(b, entries, 4, 42, (mode & VMPROF_MODE_MEMORY) ? 1000 + i : -1);
        } else {
            uint64_t entries[] = {4, 2};
            vmprof_write_stack(b, entries, 2, 42, (mode & VMPROF_MODE_MEMORY) ? 1000 + i : -1);
        }
    }
    /* the symbol for 4 comes after the stacks that use it, as vmprof writes it */
    vmprof_write_symbol(b, VMPROF_TAG_VIRTUAL_IP, 4, work_sym, strlen(work_sym));
    vmprof_write_time(b, VMPROF_TAG_TRAILER, 1700000001123456LL);
}

TEST(round_trip_cpu)
{
    buf b;
    buf_init(&b);
    write_sample_profile(&b, 0);
    profile p;
    prof_error err;
    CHECK(vmprof_read_buffer((const uint8_t *)b.data, b.len, &p, &err) == 0);
    CHECK_EQ_INT(p.sample_count, 3);
    CHECK_EQ_INT(p.period_us, 1000);
    CHECK_EQ_INT(p.end_time_us - p.start_time_us, 1000000);
    CHECK_EQ_INT(p.format_version, 6);
    CHECK_EQ_STR(p.interpreter, "cpython");
    CHECK_EQ_STR(profile_get_meta(&p, "mode"), "cpu");
    CHECK_EQ_STR(p.warning, "");
    CHECK_EQ_INT(p.thread_count, 1);
    CHECK_EQ_INT(p.threads[0].id, 42);
    const prof_stack_node *leaf = &p.nodes[p.samples[0].stack];
    CHECK_EQ_STR(profile_string(&p, p.functions[leaf->function].name), "work");
    CHECK_EQ_INT(p.functions[leaf->function].first_line, 5);
    CHECK_EQ_STR(profile_string(&p, p.functions[p.nodes[leaf->parent].function].name), "main");
    profile_free(&p);
    buf_free(&b);
}

TEST(round_trip_lines_and_memory)
{
    buf b;
    buf_init(&b);
    write_sample_profile(&b, VMPROF_MODE_LINES | VMPROF_MODE_MEMORY);
    profile p;
    prof_error err;
    CHECK(vmprof_read_buffer((const uint8_t *)b.data, b.len, &p, &err) == 0);
    CHECK_EQ_INT(p.sample_count, 3);
    CHECK_EQ_INT(p.nodes[p.samples[0].stack].line, 7);
    CHECK_EQ_INT(p.samples[2].rss_kb, 1002);
    profile_free(&p);
    buf_free(&b);
}

TEST(every_truncation_is_an_error_or_a_warning_never_a_crash)
{
    buf b;
    buf_init(&b);
    write_sample_profile(&b, VMPROF_MODE_LINES);
    size_t last_samples = 0;
    for (size_t cut = 0; cut < b.len; cut++) {
        profile p;
        prof_error err = {"", -1};
        int rc = vmprof_read_buffer((const uint8_t *)b.data, cut, &p, &err);
        if (rc == 0) {
            CHECK(p.warning[0] != '\0');       /* cut short: always warned */
            CHECK(p.sample_count >= last_samples); /* more bytes never lose samples */
            last_samples = p.sample_count;
        } else {
            CHECK(err.message[0] != '\0');
        }
        profile_free(&p);
    }
    CHECK_EQ_INT(last_samples, 3);
    buf_free(&b);
}

TEST(depth_and_string_limits)
{
    buf b;
    buf_init(&b);
    vmprof_write_header(&b, 1000, 0, "cpython");
    uint8_t tag = VMPROF_TAG_STACKTRACE;
    uint64_t words[2] = {1, (uint64_t)VMPROF_MAX_DEPTH + 1};
    buf_append(&b, &tag, 1);
    buf_append(&b, words, sizeof(words));
    profile p;
    prof_error err;
    CHECK(vmprof_read_buffer((const uint8_t *)b.data, b.len, &p, &err) < 0);
    CHECK(strstr(err.message, "over the limit") != NULL);
    profile_free(&p);
    b.len = 0;
    vmprof_write_header(&b, 1000, 0, "cpython");
    tag = VMPROF_TAG_META;
    uint64_t huge = (uint64_t)1 << 40;
    buf_append(&b, &tag, 1);
    buf_append(&b, &huge, sizeof(huge));
    CHECK(vmprof_read_buffer((const uint8_t *)b.data, b.len, &p, &err) < 0);
    CHECK(strstr(err.message, "string length") != NULL);
    profile_free(&p);
    buf_free(&b);
}

TEST(reused_address_takes_the_name_written_after_each_sample)
{
    /* As vmprof writes it: a code object is named when it dies, a new one
     * at the same address is named at the end, then every address again
     * as native. */
    buf b;
    buf_init(&b);
    vmprof_write_header(&b, 1000, 0, "cpython");
    const char *first = "py:first:1:a.py", *second = "py:second:5:b.py", *native = "n:whatever:0:-";
    uint64_t stack[] = {8};
    vmprof_write_stack(&b, stack, 1, 1, -1);
    vmprof_write_stack(&b, stack, 1, 1, -1);
    vmprof_write_symbol(&b, VMPROF_TAG_VIRTUAL_IP, 8, first, strlen(first));
    vmprof_write_stack(&b, stack, 1, 1, -1);
    vmprof_write_symbol(&b, VMPROF_TAG_NATIVE_SYMBOLS, 8, native, strlen(native));
    vmprof_write_symbol(&b, VMPROF_TAG_VIRTUAL_IP, 8, second, strlen(second));
    vmprof_write_time(&b, VMPROF_TAG_TRAILER, 1);
    profile p;
    prof_error err;
    CHECK(vmprof_read_buffer((const uint8_t *)b.data, b.len, &p, &err) == 0);
    CHECK_EQ_INT(p.sample_count, 3);
    const char *names[3];
    for (int i = 0; i < 3; i++)
        names[i] = profile_string(&p, p.functions[p.nodes[p.samples[i].stack].function].name);
    CHECK_EQ_STR(names[0], "first");
    CHECK_EQ_STR(names[1], "first");
    CHECK_EQ_STR(names[2], "second");
    profile_free(&p);
    buf_free(&b);
}

TEST(reads_real_vmprof_fixture)
{
    profile p;
    prof_error err;
    CHECK(vmprof_read_file("../data/vmprof/cpython311_vmprof0418_cpu.prof", &p, &err) == 0);
    CHECK_EQ_INT(p.sample_count, 128);
    CHECK_EQ_INT(p.period_us, 2000);
    calltree t;
    CHECK(calltree_build(&t, &p, PROF_NONE, &err) == 0);
    CHECK_EQ_INT(t.nodes[0].total, 128);
    calltree_free(&t);
    profile_free(&p);
    CHECK(vmprof_read_file("../data/vmprof/ffconv_pypy-pystone.prof.gz", &p, &err) == 0);
    CHECK_EQ_STR(p.interpreter, "pypy");
    CHECK_EQ_INT(p.sample_count, 375);
    profile_free(&p);
    CHECK(vmprof_read_file("../data/vmprof/does-not-exist.prof", &p, &err) < 0);
    profile_free(&p);
}

int main(void)
{
    RUN(round_trip_cpu);
    RUN(round_trip_lines_and_memory);
    RUN(every_truncation_is_an_error_or_a_warning_never_a_crash);
    RUN(depth_and_string_limits);
    RUN(reused_address_takes_the_name_written_after_each_sample);
    RUN(reads_real_vmprof_fixture);
    return CHECK_SUMMARY();
}
