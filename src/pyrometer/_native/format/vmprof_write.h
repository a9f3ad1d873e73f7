/* vmprof_write.h — encodes vmprof records (format version 6, 64-bit Linux
 * layout: 8-byte little-endian words and addresses) into a buf. Pure
 * encoding: the capture side decides what to write and when. */
#ifndef PYROMETER_VMPROF_WRITE_H
#define PYROMETER_VMPROF_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/* Prologue (5 words) + 0x05 header: version 6, mode bits, interpreter name. */
void vmprof_write_header(buf *out, int64_t period_us, uint8_t mode, const char *interpreter);
/* TIME_N_ZONE (start) or TRAILER (end): epoch seconds + microseconds. */
void vmprof_write_time(buf *out, uint8_t tag, int64_t epoch_us);
/* META key/value. */
void vmprof_write_meta(buf *out, const char *key, const char *value, size_t value_len);
/* VIRTUAL_IP ("py:name:line:file") or NATIVE_SYMBOLS ("n:..."): addr -> text. */
void vmprof_write_symbol(buf *out, uint8_t tag, uint64_t addr, const char *text, size_t len);
/* STACKTRACE: `count` address-sized entries, leaf first (in lines mode the
 * caller passes [line, code] pairs and count = 2 × frames), the thread id,
 * and the RSS in kB when rss_kb >= 0 (memory mode). */
void vmprof_write_stack(buf *out, const uint64_t *entries, size_t count, uint64_t thread_id, int64_t rss_kb);

#endif
