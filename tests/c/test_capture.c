/* Unit tests for the allocation capture format (writer and reader) and the
 * memory reductions (peak, leaks, temporary, partial munmap, report). */
#include "check.h"

#include <stdlib.h>

#include "analysis/memory.h"
#include "format/capture_read.h"
#include "format/capture_write.h"

/* A capture with two functions: main (line 1) -> work (lines 10, 11), and
 * one thread. Node 0 = main:1, node 1 = work:10 under it, node 2 = work:11. */
static void begin(buf *b)
{
    static const char *const keys[] = {"command_line", "python_version"};
    static const char *const values[] = {"python3 prog.py", "3.11.7"};
    buf_init(b);
    capture_write_begin(b, 1000, 42, 0, keys, values, 2);
    capture_tables_enc t;
    capture_tables_init(&t);   /* uncompressed: plain records */
    capture_tables_string(&t, b, "main", 4);     /* string 1 */
    capture_tables_string(&t, b, "prog.py", 7);  /* string 2 */
    capture_tables_string(&t, b, "work", 4);     /* string 3 */
    capture_tables_function(&t, b, 1, 2, 1, 0);  /* function 0 */
    capture_tables_function(&t, b, 3, 2, 9, 0);  /* function 1 */
    capture_tables_node(&t, b, UINT32_MAX, 0, 1);
    capture_tables_node(&t, b, 0, 1, 10);
    capture_tables_node(&t, b, 0, 1, 11);
    capture_tables_thread(&t, b, 777, 0);
    capture_tables_end(&t, b);
    capture_tables_free(&t);
}

typedef struct ev {
    int kind;
    uint64_t addr, size;
    uint32_t node;
} ev;

static void events(buf *b, const ev *evs, size_t n, uint64_t first_seq)
{
    capture_events_enc e;
    capture_events_init(&e);
    for (size_t i = 0; i < n; i++)
        capture_events_add(&e, evs[i].kind, 0, first_seq + i, evs[i].addr, evs[i].size, evs[i].node);
    capture_events_end(&e, b);
    capture_events_free(&e);
}

static int64_t weight_at(const profile *p, int line)
{
    int64_t w = 0;
    for (size_t i = 0; i < p->sample_count; i++)
        if (p->nodes[p->samples[i].stack].line == line)
            w += p->samples[i].weight;
    return w;
}

static const ev scenario[] = {
    {CAPTURE_MALLOC, 0x1000, 100, 1},       /* leaks */
    {CAPTURE_MALLOC, 0x2000, 50, 2},        /* freed right away: temporary */
    {CAPTURE_FREE, 0x2000, 0, 0},
    {CAPTURE_MMAP, 0x100000, 4096 * 4, 2},  /* partly unmapped */
    {CAPTURE_MALLOC, 0x3000, 1000, 1},      /* freed after 1 more allocation */
    {CAPTURE_MALLOC, 0x4000, 7, UINT32_MAX},
    {CAPTURE_FREE, 0x3000, 0, 0},
    {CAPTURE_MUNMAP, 0x101000, 4096, 0},    /* a hole in the middle */
    {CAPTURE_FREE, 0x9999, 0, 0},           /* never seen: ignored */
};

static int load(buf *b, capture_data *c)
{
    prof_error err = {"", -1};
    int rc = capture_read_buffer((const uint8_t *)b->data, b->len, c, &err);
    if (rc < 0)
        fprintf(stderr, "read failed: %s\n", err.message);
    return rc;
}

TEST(round_trip_and_views)
{
    buf b;
    begin(&b);
    events(&b, scenario, sizeof scenario / sizeof *scenario, 1);
    capture_write_rss(&b, 5000, 4, 1 << 20);
    capture_write_trailer(&b, 2000, 9, 0);
    CHECK(buf_ok(&b) == 0);

    capture_data c;
    prof_error err = {"", -1};
    CHECK(load(&b, &c) == 0);
    CHECK_EQ_INT(c.event_count, 9);
    CHECK_EQ_INT(c.complete, 1);
    CHECK_EQ_STR(c.prof.warning, "");
    CHECK_EQ_STR(profile_get_meta(&c.prof, "command_line"), "python3 prog.py");
    CHECK_EQ_STR(profile_get_meta(&c.prof, "pid"), "42");
    CHECK_EQ_INT(c.events[3].addr, 0x100000);
    CHECK_EQ_INT(c.events[7].size, 4096);
    /* peak: after the 4th malloc: 100 + 16384 + 1000 + 7 */
    CHECK(memory_build_view(&c, MEMORY_VIEW_PEAK, 1, &err) == 0);
    CHECK_EQ_INT(profile_total_weight(&c.prof), 100 + 16384 + 1000 + 7);
    CHECK_EQ_INT(weight_at(&c.prof, 10), 1100);
    CHECK_EQ_INT(weight_at(&c.prof, 11), 16384);
    CHECK_EQ_INT(c.prof.timeline_count, 1);
    CHECK_EQ_INT(c.prof.timeline[0].heap_bytes, 100); /* before event seq 4 (the mmap) */
    capture_data_free(&c);

    CHECK(load(&b, &c) == 0);
    CHECK(memory_build_view(&c, MEMORY_VIEW_LEAKS, 1, &err) == 0);
    CHECK_EQ_INT(profile_total_weight(&c.prof), 100 + 3 * 4096 + 7);
    CHECK_EQ_INT(weight_at(&c.prof, 11), 3 * 4096);
    capture_data_free(&c);

    CHECK(load(&b, &c) == 0);
    CHECK(memory_build_view(&c, MEMORY_VIEW_TEMPORARY, 1, &err) == 0);
    CHECK_EQ_INT(profile_total_weight(&c.prof), 50);
    capture_data_free(&c);

    CHECK(load(&b, &c) == 0);
    CHECK(memory_build_view(&c, MEMORY_VIEW_TEMPORARY, 2, &err) == 0);
    CHECK_EQ_INT(profile_total_weight(&c.prof), 1050);
    capture_data_free(&c);

    CHECK(load(&b, &c) == 0);
    memory_report r;
    CHECK(memory_report_build(&c, &r, &err) == 0);
    CHECK_EQ_INT(r.total_count, 5);
    CHECK_EQ_INT(r.total_bytes, 100 + 50 + 16384 + 1000 + 7);
    CHECK_EQ_INT(r.peak_bytes, 100 + 16384 + 1000 + 7);
    CHECK_EQ_INT(r.leaked_bytes, 100 + 3 * 4096 + 7);
    CHECK_EQ_INT(r.kind_count[CAPTURE_MALLOC], 4);
    CHECK_EQ_INT(r.kind_count[CAPTURE_MUNMAP], 1);
    int64_t main_total = 0;
    for (size_t i = 0; i < r.location_count; i++)
        if (r.locations[i].line == 1)
            main_total = r.locations[i].peak_total_bytes;
    CHECK_EQ_INT(main_total, 100 + 16384 + 1000);
    memory_report_free(&r);
    capture_data_free(&c);
    buf_free(&b);
}

TEST(out_of_order_events_are_sorted)
{
    buf b;
    begin(&b);
    ev a[] = {{CAPTURE_FREE, 0x1000, 0, 0}};
    ev m[] = {{CAPTURE_MALLOC, 0x1000, 64, 1}};
    events(&b, a, 1, 2);  /* the free reaches the file first */
    events(&b, m, 1, 1);
    capture_data c;
    prof_error err;
    CHECK(load(&b, &c) == 0);
    CHECK(memory_build_view(&c, MEMORY_VIEW_LEAKS, 1, &err) == 0);
    CHECK_EQ_INT(profile_total_weight(&c.prof), 0);
    CHECK(c.prof.warning[0] != '\0'); /* no trailer */
    capture_data_free(&c);
    buf_free(&b);
}

TEST(truncated_and_garbage_fail)
{
    buf b;
    begin(&b);
    events(&b, scenario, 3, 1);
    capture_data c;
    prof_error err = {"", -1};
    /* cut in the middle of the last record */
    CHECK(capture_read_buffer((const uint8_t *)b.data, b.len - 2, &c, &err) < 0);
    CHECK(strstr(err.message, "cut short") != NULL);
    capture_data_free(&c);
    /* cut inside the header */
    CHECK(capture_read_buffer((const uint8_t *)b.data, 14, &c, &err) < 0);
    capture_data_free(&c);
    /* garbage after the magic */
    char junk[64];
    memcpy(junk, "PYROMALC\x02\xff\xff\xff", 12);
    memset(junk + 12, 0xee, sizeof junk - 12);
    CHECK(capture_read_buffer((const uint8_t *)junk, sizeof junk, &c, &err) < 0);
    capture_data_free(&c);
    /* an event naming an undefined stack */
    buf bad;
    begin(&bad);
    ev e[] = {{CAPTURE_MALLOC, 0x10, 1, 50}};
    events(&bad, e, 1, 1);
    CHECK(capture_read_buffer((const uint8_t *)bad.data, bad.len, &c, &err) < 0);
    CHECK(strstr(err.message, "undefined stack") != NULL);
    capture_data_free(&c);
    buf_free(&bad);
    buf_free(&b);
}

TEST(aggregate_round_trip)
{
    buf b;
    begin(&b);
    capture_data c;
    prof_error err;
    CHECK(load(&b, &c) == 0);
    capture_data_free(&c);
    events(&b, scenario, sizeof scenario / sizeof *scenario, 1);
    CHECK(load(&b, &c) == 0);
    capture_aggregate_row *rows;
    size_t n;
    CHECK(memory_aggregate(&c, &rows, &n, &err) == 0);
    int64_t peak = 0, exit_ = 0;
    for (size_t i = 0; i < n; i++) {
        peak += (int64_t)rows[i].peak_bytes;
        exit_ += (int64_t)rows[i].exit_bytes;
    }
    CHECK_EQ_INT(peak, 100 + 16384 + 1000 + 7);
    CHECK_EQ_INT(exit_, 100 + 3 * 4096 + 7);
    free(rows);
    capture_data_free(&c);
    buf_free(&b);
}

/* Five ZEVENTS records, pieces of one deflate stream: each compresses
 * against the ones before it, and a capture cut after any of them reads up
 * to the cut (what a kill -9 leaves). */
TEST(compressed_events_round_trip)
{
    buf b;
    begin(&b);
    capture_deflate z;
    CHECK(capture_deflate_init(&z, CAPTURE_ZLIB_LEVEL) == 0);
    capture_events_enc e;
    capture_events_init(&e);
    e.z = &z;
    size_t ends[5], sizes[5];
    /* the same 1000 scattered addresses in every record */
    uint64_t addrs[1000], x = 12345;
    for (int i = 0; i < 1000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        addrs[i] = 0x10000 + (x >> 40) * 16;
    }
    for (uint64_t i = 0; i < 5000; i++) {
        capture_events_add(&e, CAPTURE_MALLOC, 0, 10 + i + (i == 4000 ? 7 : 0) + (i > 4000 ? 7 : 0),
                           addrs[i % 1000], 48, 1);
        if (i % 1000 == 999) {
            size_t before = b.len;
            capture_events_end(&e, &b);
            CHECK(b.data[before] == CAPTURE_REC_ZEVENTS);
            ends[i / 1000] = b.len;
            sizes[i / 1000] = b.len - before;
        }
    }
    capture_events_free(&e);
    capture_deflate_free(&z);
    CHECK(sizes[1] < sizes[0] / 2);   /* the same addresses again: the window has them */
    capture_data c;
    prof_error err;
    CHECK(load(&b, &c) == 0);
    CHECK_EQ_INT(c.event_count, 5000);
    CHECK_EQ_INT(c.events[4999].addr, addrs[999]);
    CHECK_EQ_INT(c.events[4000].seq, 10 + 4000 + 7);
    CHECK(memory_build_view(&c, MEMORY_VIEW_PEAK, 1, &err) == 0);
    capture_data_free(&c);
    for (int k = 0; k < 5; k++) {
        CHECK(capture_read_buffer((const uint8_t *)b.data, ends[k], &c, &err) == 0);
        CHECK_EQ_INT(c.event_count, 1000 * (k + 1));
        CHECK(c.prof.warning[0] != '\0');   /* no trailer */
        capture_data_free(&c);
    }
    /* a damaged deflate stream is an error, not a crash */
    for (size_t i = ends[3] + 4; i < ends[4]; i += 7)
        b.data[i] ^= 0x55;
    CHECK(capture_read_buffer((const uint8_t *)b.data, b.len, &c, &err) < 0);
    capture_data_free(&c);
    buf_free(&b);
}

/* Every head code of the event columns: a second thread, sequence jumps,
 * near (1..13) and far (14..32) references back, unaligned addresses,
 * allocations without a stack, munmap sizes. */
TEST(event_columns_round_trip)
{
    buf b;
    begin(&b);
    capture_tables_enc t;
    capture_tables_init(&t);
    capture_tables_thread(&t, &b, 778, 0);   /* thread 1 */
    t.next_node = 3;                          /* begin() defined nodes 0-2 */
    capture_tables_end(&t, &b);
    capture_tables_free(&t);
    enum { N = 400 };
    static uint64_t addr[N], seq[N];
    static uint32_t node[N], thread[N];
    static int kind[N];
    uint64_t s = 1;
    for (int i = 0; i < N; i++) {
        /* frees and unmaps refer back 1..40 events (beyond 32: a new address again) */
        int back = 1 + (i * 7) % 40;
        kind[i] = back > i ? CAPTURE_MALLOC : i % 5 == 4 ? CAPTURE_FREE : (i % 7 == 6 ? CAPTURE_MUNMAP : CAPTURE_MALLOC);
        addr[i] = kind[i] == CAPTURE_MALLOC ? 0x10000 + (uint64_t)i * 48 + (i % 3 == 0 ? 8 : 0) : addr[i - back];
        node[i] = i % 11 == 0 ? UINT32_MAX : (uint32_t)(i % 3);
        thread[i] = (uint32_t)(i / 50) % 2;
        s += i % 13 == 0 ? 5 : 1;
        seq[i] = s;
    }
    for (int compress = 0; compress < 2; compress++) {
        buf out;
        buf_init(&out);
        buf_append(&out, b.data, b.len);
        capture_deflate z;
        CHECK(capture_deflate_init(&z, CAPTURE_ZLIB_LEVEL) == 0);
        capture_events_enc e;
        capture_events_init(&e);
        e.z = compress ? &z : NULL;
        for (int i = 0; i < N; i++)
            capture_events_add(&e, kind[i], thread[i], seq[i], addr[i], 4096 + (uint64_t)i, node[i]);
        capture_events_end(&e, &out);
        capture_events_free(&e);
        capture_deflate_free(&z);
        CHECK(out.data[b.len] == (compress ? CAPTURE_REC_ZEVENTS : CAPTURE_REC_EVENTS));
        capture_data c;
        CHECK(load(&out, &c) == 0);
        CHECK_EQ_INT(c.event_count, N);
        for (size_t i = 0; i < c.event_count && i < N; i++) {
            const capture_event *ev = &c.events[i];
            CHECK_EQ_INT(ev->seq, seq[i]);
            CHECK_EQ_INT(ev->addr, addr[i]);
            CHECK_EQ_INT(ev->kind, kind[i]);
            CHECK_EQ_INT(ev->thread, thread[i]);
            CHECK_EQ_INT(ev->size, kind[i] == CAPTURE_FREE ? 0 : 4096 + (uint64_t)i);
            if (kind[i] == CAPTURE_MALLOC && node[i] == UINT32_MAX)
                CHECK_EQ_INT(ev->node, PROF_NONE);
        }
        /* the nodes map to the lines begin() gave them */
        for (size_t i = 0; i < c.event_count && i < N; i++)
            if (kind[i] == CAPTURE_MALLOC && node[i] != UINT32_MAX)
                CHECK_EQ_INT(c.prof.nodes[c.events[i].node].line, node[i] == 0 ? 1 : 9 + (int)node[i]);
        capture_data_free(&c);
        buf_free(&out);
    }
    buf_free(&b);
}

/* Deep native-like stacks: chains of nodes whose functions repeat under
 * different roots, written in two flushes as compressed TABLES records. */
TEST(compressed_tables_round_trip)
{
    static const char *const keys[] = {"k"};
    static const char *const values[] = {"v"};
    buf b;
    buf_init(&b);
    capture_write_begin(&b, 1000, 42, CAPTURE_FLAG_NATIVE, keys, values, 1);
    capture_deflate z;
    CHECK(capture_deflate_init(&z, CAPTURE_ZLIB_LEVEL) == 0);
    capture_tables_enc t;
    capture_tables_init(&t);
    t.z = &z;
    char name[32];
    for (uint32_t i = 0; i < 60; i++) {
        int n = snprintf(name, sizeof name, "native_function_%u", i);
        capture_tables_string(&t, &b, name, (size_t)n);            /* string i+1 */
        capture_tables_function(&t, &b, i + 1, 0, 0, 1);           /* function i */
    }
    uint32_t node = 0, leaf = 0;
    for (int flush = 0; flush < 2; flush++) {
        for (uint32_t root = 0; root < 20; root++) {
            uint32_t parent = UINT32_MAX;
            for (uint32_t d = 0; d < 40; d++) {
                capture_tables_node(&t, &b, parent, d == 0 ? root : 20 + d, (int32_t)(d + 100 * (uint32_t)flush));
                parent = node++;
            }
            leaf = parent;
        }
        capture_tables_thread(&t, &b, 100 + (uint64_t)flush, 0);
        capture_tables_end(&t, &b);
    }
    capture_tables_free(&t);
    capture_deflate_free(&z);
    ev e[] = {{CAPTURE_MALLOC, 0x1000, 123, leaf}};
    events(&b, e, 1, 1);
    capture_write_trailer(&b, 2000, 1, 0);
    CHECK(buf_ok(&b) == 0);
    CHECK(b.len < 1600 * 2);   /* 1600 nodes in well under 2 bytes each */
    CHECK(b.len > 12 && b.data[11 + (unsigned char)b.data[10]] == CAPTURE_REC_TABLES);
    capture_data c;
    prof_error err;
    CHECK(load(&b, &c) == 0);
    CHECK_EQ_INT(c.prof.node_count, 1600);
    CHECK_EQ_INT(c.prof.thread_count, 2);
    const prof_stack_node *n = &c.prof.nodes[c.events[0].node];
    CHECK_EQ_INT(n->depth, 40);
    CHECK_EQ_INT(n->line, 139);
    CHECK_EQ_STR(profile_string(&c.prof, c.prof.functions[n->function].name), "native_function_59");
    while (n->parent != PROF_NO_PARENT)
        n = &c.prof.nodes[n->parent];
    CHECK_EQ_STR(profile_string(&c.prof, c.prof.functions[n->function].name), "native_function_19");
    capture_data_free(&c);
    /* a damaged deflate stream is an error, not a crash */
    b.data[60] ^= 0x55;
    CHECK(capture_read_buffer((const uint8_t *)b.data, b.len, &c, &err) < 0);
    capture_data_free(&c);
    buf_free(&b);
}

TEST(nodes_must_refer_back)
{
    buf b;
    begin(&b);
    /* a NODES record whose one node names a parent 5 nodes before the first */
    const char rec[] = {CAPTURE_REC_NODES, 4, 1, 8, 0, 2};
    buf_append(&b, rec, sizeof rec);
    capture_data c;
    prof_error err;
    CHECK(capture_read_buffer((const uint8_t *)b.data, b.len, &c, &err) < 0);
    CHECK(strstr(err.message, "undefined stack") != NULL);
    capture_data_free(&c);
    buf_free(&b);
}

TEST(other_versions_are_refused_in_one_line)
{
    buf b;
    begin(&b);
    capture_data c;
    prof_error err;
    b.data[CAPTURE_MAGIC_LEN] = 1;
    CHECK(capture_read_buffer((const uint8_t *)b.data, b.len, &c, &err) < 0);
    CHECK(strstr(err.message, "version 1 is from an older pyrometer") != NULL);
    CHECK(strchr(err.message, '\n') == NULL);
    capture_data_free(&c);
    b.data[CAPTURE_MAGIC_LEN] = CAPTURE_VERSION + 1;
    CHECK(capture_read_buffer((const uint8_t *)b.data, b.len, &c, &err) < 0);
    CHECK(strstr(err.message, "newer pyrometer") != NULL);
    capture_data_free(&c);
    buf_free(&b);
}

int main(void)
{
    RUN(round_trip_and_views);
    RUN(out_of_order_events_are_sorted);
    RUN(truncated_and_garbage_fail);
    RUN(aggregate_round_trip);
    RUN(compressed_events_round_trip);
    RUN(event_columns_round_trip);
    RUN(compressed_tables_round_trip);
    RUN(nodes_must_refer_back);
    RUN(other_versions_are_refused_in_one_line);
    return CHECK_SUMMARY();
}
