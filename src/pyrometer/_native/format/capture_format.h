/* capture_format.h — the allocation capture file: what the writer emits and
 * the reader accepts. Shared by capture_write.c and capture_read.c.
 *
 * Layout:
 *   "PYROMALC"            8-byte magic (pyrometer/loader.py sniffs exactly these)
 *   version               1 byte (CAPTURE_VERSION)
 *   records...            each: type byte, varint payload length, payload
 *
 * Every record carries its length, so a reader can skip types it does not
 * know and can tell a record cut in the middle (a truncated or damaged file:
 * an error) from a stream that simply stops between records (the process
 * was killed before the trailer: loads with a warning).
 *
 * Ids are implicit and dense: the n-th STRING record defines string n (0 is
 * the empty string, predefined), likewise for FUNCTION and THREAD; the n-th
 * entry of all NODES records together defines node n. A record may only
 * refer to ids defined earlier in the file.
 *
 * The stack tables (STRING, FUNCTION, NODES, THREAD) new since the last
 * flush are usually written as one TABLES record: the same records, deflated.
 * Native stacks make these tables most of a capture (a node per return
 * address), and they repeat byte for byte: the same runs of C frames under
 * many Python callers.
 *
 * The compressed records (TABLES, ZEVENTS) of a file are pieces of one raw
 * deflate stream (RFC 1951), so that each record is compressed with what the
 * ones before it held in the window: a capture flushes every 10 ms, and
 * records compressed alone would each start from nothing. Every piece ends
 * with a sync flush whose final 00 00 ff ff is left out (as in RFC 7692): a
 * reader appends it back and inflates the pieces in file order. Each record
 * is thus still complete on its own, and a capture cut between records reads
 * up to the cut.
 *
 * Integers are unsigned LEB128 varints; signed values and deltas are
 * zigzag-encoded varints. */
#ifndef PYROMETER_CAPTURE_FORMAT_H
#define PYROMETER_CAPTURE_FORMAT_H

#define CAPTURE_MAGIC "PYROMALC"
#define CAPTURE_MAGIC_LEN 8
/* 2: NODES records hold many nodes with relative parents; TABLES records;
 * events stored by column; one deflate stream per file. */
#define CAPTURE_VERSION 2

/* Record types. */
enum {
    /* HEADER: varint start_time_us (epoch), varint pid, varint flags
     * (CAPTURE_FLAG_*), varint pair count, then (key, value) pairs as
     * varint length + UTF-8 bytes. Exactly one, first. */
    CAPTURE_REC_HEADER = 'H',
    /* STRING: the remaining payload bytes are the string. */
    CAPTURE_REC_STRING = 'S',
    /* FUNCTION: varint name string, varint file string, zigzag first line,
     * byte kind (prof_frame_kind). */
    CAPTURE_REC_FUNCTION = 'F',
    /* NODES: varint count, then per node: varint parent distance (0 at the
     * root, else this node's id minus its parent's: 1 when the parent is the
     * node just before), zigzag function id minus the previous entry's
     * function id (0 before the first entry), zigzag line. */
    CAPTURE_REC_NODES = 'N',
    /* THREAD: varint OS thread id, varint name string (0 when unnamed). */
    CAPTURE_REC_THREAD = 'T',
    /* TABLES: varint length of the uncompressed content, then its part of
     * the file's deflate stream (see below): records (type byte, varint
     * length, payload) of the types STRING, FUNCTION, NODES and THREAD only. */
    CAPTURE_REC_TABLES = 'C',
    /* EVENTS: varint count, varint first sequence number, then the events
     * by column (see below). */
    CAPTURE_REC_EVENTS = 'E',
    /* ZEVENTS: an EVENTS payload compressed: varint length of the
     * uncompressed payload, then its part of the file's deflate stream. */
    CAPTURE_REC_ZEVENTS = 'Z',
    /* RSS: varint time_us since start, varint sequence number of the next
     * event at that time, varint RSS in bytes. */
    CAPTURE_REC_RSS = 'R',
    /* AGGREGATE: per-stack totals written instead of events by --aggregate:
     * varint count, then per stack: varint node+1, varint bytes at peak,
     * varint allocations at peak, varint bytes at exit, varint allocations
     * at exit, varint total bytes allocated, varint total allocations. */
    CAPTURE_REC_AGGREGATE = 'A',
    /* TRAILER: varint end_time_us (epoch), varint events written, varint
     * events dropped. Last record of a complete capture. */
    CAPTURE_REC_TRAILER = 'X',
};

/* The events of an EVENTS record are stored by column: four sections, each
 * read in event order, so that like values sit together (deflate finds far
 * more repeats in a run of node deltas than in interleaved events):
 *   varint  length of the heads section, then the heads
 *   varint  length of the addresses section, then the addresses
 *   varint  length of the sizes section, then the sizes
 *   the nodes section: the rest of the payload
 * Per event:
 *   heads:     [prefix] byte kind | code << 4, [varint ref - 14 when code is 15]
 *              A prefix is a byte 0 | flags << 4 (kind 0 is no event) with
 *              CAPTURE_EV_NEW_THREAD: varint thread index follows;
 *              CAPTURE_EV_SEQ_JUMP: zigzag seq - (previous seq + 1) follows;
 *              else seq = previous + 1 (previous = first sequence number - 1
 *              at the start) and the thread is the previous event's.
 *              code: CAPTURE_EV_NEW_ADDR or CAPTURE_EV_NEW_UNALIGNED (the
 *              address is in the addresses section), else a reference k:
 *              codes 1..13 are k itself, code 15 is k = 14 + the varint.
 *              The address is the one of the k-th previous event of this
 *              record (k <= CAPTURE_RECENT; frees of fresh blocks and
 *              allocations of just-freed addresses are most events).
 *   addresses: new addresses only: zigzag (address >> 4) - (previous address >> 4)
 *              (previous = the previous event's, 0 at the start), then
 *              byte address & 15 when CAPTURE_EV_NEW_UNALIGNED (allocators
 *              return 16-byte aligned blocks)
 *   sizes:     varint size: allocations and munmap only
 *   nodes:     zigzag (node+1) - (previous allocation's node+1): allocations
 *              only (node+1 is 0 for no Python stack; previous is 0 at the start)
 * Sequence numbers order events of all threads globally (the reader sorts
 * by them); within one EVENTS record they are nearly always consecutive. */
#define CAPTURE_EV_NEW_THREAD 1
#define CAPTURE_EV_SEQ_JUMP 2
#define CAPTURE_EV_NEW_ADDR 0
#define CAPTURE_EV_NEW_UNALIGNED 14
#define CAPTURE_EV_REF_DIRECT 13     /* refs 1..13 are their own code */
#define CAPTURE_EV_REF_FAR 15        /* refs 14..CAPTURE_RECENT: code 15 + varint */
#define CAPTURE_EV_KIND_MASK 0x0f
#define CAPTURE_RECENT 32

/* Allocator kinds. Frees carry no size; munmap carries its length. */
typedef enum capture_kind {
    CAPTURE_MALLOC = 1,
    CAPTURE_CALLOC = 2,
    CAPTURE_REALLOC = 3,          /* the new block; the old one is a FREE just before */
    CAPTURE_POSIX_MEMALIGN = 4,
    CAPTURE_ALIGNED_ALLOC = 5,
    CAPTURE_MEMALIGN = 6,
    CAPTURE_VALLOC = 7,
    CAPTURE_PVALLOC = 8,
    CAPTURE_MMAP = 9,
    CAPTURE_PYMALLOC_MALLOC = 10,
    CAPTURE_PYMALLOC_CALLOC = 11,
    CAPTURE_PYMALLOC_REALLOC = 12,
    CAPTURE_FREE = 13,
    CAPTURE_MUNMAP = 14,
    CAPTURE_PYMALLOC_FREE = 15,
    CAPTURE_KIND_COUNT = 16,
} capture_kind;

static inline int capture_kind_is_alloc(int kind) { return kind >= CAPTURE_MALLOC && kind <= CAPTURE_PYMALLOC_REALLOC; }
static inline int capture_kind_is_free(int kind) { return kind == CAPTURE_FREE || kind == CAPTURE_PYMALLOC_FREE; }
static inline int capture_kind_valid(int kind) { return kind >= CAPTURE_MALLOC && kind < CAPTURE_KIND_COUNT; }
/* A static name for the kind ("malloc", "mmap", "pymalloc_malloc", ...). */
const char *capture_kind_name(int kind);

/* Header flags. */
enum {
    CAPTURE_FLAG_NATIVE = 1,
    CAPTURE_FLAG_PYTHON_ALLOCATORS = 2,
    CAPTURE_FLAG_FOLLOW_FORK = 4,
    CAPTURE_FLAG_AGGREGATE = 8,
};

/* Bounds on what a reader accepts from a file. */
#define CAPTURE_MAX_RECORD (64u << 20)      /* bytes in one record's payload (also uncompressed) */
#define CAPTURE_MAX_STRING (1u << 20)       /* bytes in one string */
#define CAPTURE_MAX_HEADER_PAIRS 256
#define CAPTURE_MAX_IDS (1u << 26)          /* strings, functions, nodes, threads */
#define CAPTURE_MAX_DEPTH 1024              /* frames in one stack */

#endif
