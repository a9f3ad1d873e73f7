/* vmprof_format.h — constants of vmprof's profile format (version 6 as
 * vmprof-python writes it; older versions are read too). Shared by the
 * reader and the writer so both agree byte for byte. */
#ifndef PYROMETER_VMPROF_FORMAT_H
#define PYROMETER_VMPROF_FORMAT_H

enum {
    VMPROF_TAG_STACKTRACE = 0x01,
    VMPROF_TAG_VIRTUAL_IP = 0x02,
    VMPROF_TAG_TRAILER = 0x03,
    VMPROF_TAG_INTERP_NAME = 0x04,   /* old, unsupported by vmprof's reader too */
    VMPROF_TAG_HEADER = 0x05,
    VMPROF_TAG_TIME_N_ZONE = 0x06,
    VMPROF_TAG_META = 0x07,
    VMPROF_TAG_NATIVE_SYMBOLS = 0x08,
};

/* Versions, as vmprof names what each added. */
enum {
    VMPROF_VERSION_BASE = 0,
    VMPROF_VERSION_THREAD_ID = 1,
    VMPROF_VERSION_TAG = 2,
    VMPROF_VERSION_MEMORY = 3,
    VMPROF_VERSION_MODE_AWARE = 4,
    VMPROF_VERSION_DURATION = 5,
    VMPROF_VERSION_TIMESTAMP = 6,
    VMPROF_VERSION_SAMPLE_TIME = 7,   /* vmprof 0.6: each stack ends with an int64 ns time */
    VMPROF_VERSION_WRITTEN = 6,       /* what pyrometer writes: every vmprof reads it */
    VMPROF_VERSION_CURRENT = 7,       /* the newest this reader accepts */
};

/* Mode bits of the 0x05 header. */
enum {
    VMPROF_MODE_MEMORY = 1,
    VMPROF_MODE_LINES = 2,
    VMPROF_MODE_NATIVE = 4,
    VMPROF_MODE_RPYTHON = 8,
    VMPROF_MODE_REAL_TIME = 16,
};

/* PyPy's per-frame tags in rpython mode: each frame is a (tag, value) pair. */
enum {
    VMPROF_CODE_TAG = 1,
    VMPROF_BLACKHOLE_TAG = 2,
    VMPROF_JITTED_TAG = 3,
    VMPROF_JITTING_TAG = 4,
    VMPROF_GC_TAG = 5,
    VMPROF_ASSEMBLER_TAG = 6,
    VMPROF_NATIVE_TAG = 7,
};

/* Bounds for reading untrusted files. vmprof's own reader allows depth up to 2**16. */
#define VMPROF_MAX_DEPTH 65536
#define VMPROF_MAX_STRING (1u << 20)
#define VMPROF_MAX_DECOMPRESSED ((size_t)4 << 30)

#endif
