#include "format/vmprof_write.h"

#include <string.h>

#include "format/vmprof_format.h"

static void put_word(buf *out, uint64_t v)
{
    uint8_t bytes[8];
    for (int i = 0; i < 8; i++)
        bytes[i] = (uint8_t)(v >> (8 * i));
    buf_append(out, bytes, 8);
}

void vmprof_write_header(buf *out, int64_t period_us, uint8_t mode, const char *interpreter)
{
    put_word(out, 0);
    put_word(out, 3);
    put_word(out, 0);
    put_word(out, (uint64_t)period_us);
    put_word(out, 0);
    size_t name_len = strlen(interpreter);
    if (name_len > 255)
        name_len = 255;
    uint8_t header[5] = {VMPROF_TAG_HEADER, 0, VMPROF_VERSION_WRITTEN, mode, (uint8_t)name_len};
    buf_append(out, header, sizeof(header));
    buf_append(out, interpreter, name_len);
}

void vmprof_write_time(buf *out, uint8_t tag, int64_t epoch_us)
{
    buf_putc(out, (char)tag);
    put_word(out, (uint64_t)(epoch_us / 1000000));
    put_word(out, (uint64_t)(epoch_us % 1000000));
    put_word(out, 0); /* time zone: vmprof writes zeros */
}

void vmprof_write_meta(buf *out, const char *key, const char *value, size_t value_len)
{
    size_t key_len = strlen(key);
    buf_putc(out, VMPROF_TAG_META);
    put_word(out, key_len);
    buf_append(out, key, key_len);
    put_word(out, value_len);
    buf_append(out, value, value_len);
}

void vmprof_write_symbol(buf *out, uint8_t tag, uint64_t addr, const char *text, size_t len)
{
    buf_putc(out, (char)tag);
    put_word(out, addr);
    put_word(out, len);
    buf_append(out, text, len);
}

void vmprof_write_stack(buf *out, const uint64_t *entries, size_t count, uint64_t thread_id, int64_t rss_kb)
{
    if (buf_reserve(out, 1 + 8 * (count + 4)) < 0)
        return;
    buf_putc(out, VMPROF_TAG_STACKTRACE);
    put_word(out, 1);
    put_word(out, count);
    for (size_t i = 0; i < count; i++)
        put_word(out, entries[i]);
    put_word(out, thread_id);
    if (rss_kb >= 0)
        put_word(out, (uint64_t)rss_kb);
}
