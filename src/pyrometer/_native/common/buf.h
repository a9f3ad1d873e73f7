/* buf.h — a growable byte buffer: how exporters and writers build output.
 *
 * Appends never fail silently: on allocation failure the buffer records it
 * in `failed` and further appends are ignored, so a caller checks once at the
 * end (buf_ok) instead of after every append. */
#ifndef PYROMETER_BUF_H
#define PYROMETER_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
    int failed;
} buf;

void buf_init(buf *b);
void buf_free(buf *b);
/* Ensures room for `extra` more bytes. Returns 0, or -1 (and sets failed). */
int buf_reserve(buf *b, size_t extra);
void buf_append(buf *b, const void *data, size_t len);
void buf_puts(buf *b, const char *s);
void buf_putc(buf *b, char c);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Decimal integers, without printf's cost on hot export loops. */
void buf_put_i64(buf *b, int64_t v);
void buf_put_u64(buf *b, uint64_t v);
/* Unsigned LEB128 varint (protobuf, capture format). */
void buf_put_varint(buf *b, uint64_t v);
/* The same encoding straight into memory with room for BUF_VARINT_MAX
 * bytes (hot encoders reserve once, then write several); returns the end. */
#define BUF_VARINT_MAX 10
static inline uint8_t *buf_encode_varint(uint8_t *out, uint64_t v)
{
    while (v >= 0x80) {
        *out++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *out++ = (uint8_t)v;
    return out;
}
/* JSON string literal with quotes; escapes everything JSON requires and also
 * '<', '>', '&' and U+2028/9 so the result is safe inside an HTML <script>. */
void buf_put_json_string(buf *b, const char *s, size_t len);
/* 0 when every append succeeded. */
int buf_ok(const buf *b);
/* Writes the whole buffer to path ("-" for stdout). 0, or -1 with errno set. */
int buf_write_file(const buf *b, const char *path);

#endif
