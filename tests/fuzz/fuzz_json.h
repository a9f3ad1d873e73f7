/* fuzz_json.h — a strict JSON validator (RFC 8259) for the exporter fuzz
 * targets: JSON exporters must emit valid JSON, and valid UTF-8, whatever
 * names a profile holds; an unescaped quote or control byte from a
 * hostile name is how data turns into markup or code downstream. */
#ifndef PYROMETER_FUZZ_JSON_H
#define PYROMETER_FUZZ_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef struct json_cursor {
    const unsigned char *s;
    size_t len, pos;
    int depth;
    const char *why;  /* first problem found */
} json_cursor;

static int json_value(json_cursor *c);

static void json_ws(json_cursor *c)
{
    while (c->pos < c->len && (c->s[c->pos] == ' ' || c->s[c->pos] == '\n' || c->s[c->pos] == '\r' ||
                               c->s[c->pos] == '\t'))
        c->pos++;
}

static int json_fail(json_cursor *c, const char *why)
{
    if (c->why == NULL)
        c->why = why;
    return -1;
}

static int json_lit(json_cursor *c, const char *lit)
{
    size_t n = strlen(lit);
    if (c->len - c->pos < n || memcmp(c->s + c->pos, lit, n) != 0)
        return json_fail(c, "bad literal");
    c->pos += n;
    return 0;
}

/* One UTF-8 sequence (no overlongs, no surrogates, <= U+10FFFF). */
static int json_utf8(json_cursor *c)
{
    unsigned char b = c->s[c->pos];
    int n = b >= 0xF0 && b <= 0xF4 ? 3 : b >= 0xE0 ? 2 : b >= 0xC2 && b <= 0xDF ? 1 : -1;
    if (b >= 0xF5 || n < 0 || c->len - c->pos <= (size_t)n)
        return json_fail(c, "invalid UTF-8");
    uint32_t cp = b & (0x3F >> n);
    for (int i = 1; i <= n; i++) {
        unsigned char k = c->s[c->pos + i];
        if ((k & 0xC0) != 0x80)
            return json_fail(c, "invalid UTF-8");
        cp = (cp << 6) | (k & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
        return json_fail(c, "invalid UTF-8");
    c->pos += (size_t)n + 1;
    return 0;
}

static int json_string(json_cursor *c)
{
    c->pos++; /* opening quote */
    while (c->pos < c->len) {
        unsigned char b = c->s[c->pos];
        if (b == '"') {
            c->pos++;
            return 0;
        }
        if (b < 0x20)
            return json_fail(c, "raw control character in a string");
        if (b == '\\') {
            if (c->pos + 1 >= c->len)
                return json_fail(c, "cut escape");
            unsigned char e = c->s[c->pos + 1];
            if (e == 'u') {
                if (c->len - c->pos < 6)
                    return json_fail(c, "cut \\u escape");
                for (int i = 2; i < 6; i++) {
                    unsigned char h = c->s[c->pos + i];
                    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')))
                        return json_fail(c, "bad \\u escape");
                }
                c->pos += 6;
            } else if (strchr("\"\\/bfnrt", e) != NULL && e != '\0') {
                c->pos += 2;
            } else {
                return json_fail(c, "bad escape");
            }
        } else if (b >= 0x80) {
            if (json_utf8(c) < 0)
                return -1;
        } else {
            c->pos++;
        }
    }
    return json_fail(c, "unterminated string");
}

static int json_number(json_cursor *c)
{
    size_t start = c->pos;
    if (c->s[c->pos] == '-')
        c->pos++;
    if (c->pos >= c->len)
        return json_fail(c, "bad number");
    if (c->s[c->pos] == '0') {
        c->pos++;
    } else if (c->s[c->pos] >= '1' && c->s[c->pos] <= '9') {
        while (c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '9')
            c->pos++;
    } else {
        return json_fail(c, "bad number");
    }
    if (c->pos < c->len && c->s[c->pos] == '.') {
        c->pos++;
        size_t d = c->pos;
        while (c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '9')
            c->pos++;
        if (c->pos == d)
            return json_fail(c, "bad fraction");
    }
    if (c->pos < c->len && (c->s[c->pos] == 'e' || c->s[c->pos] == 'E')) {
        c->pos++;
        if (c->pos < c->len && (c->s[c->pos] == '+' || c->s[c->pos] == '-'))
            c->pos++;
        size_t d = c->pos;
        while (c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '9')
            c->pos++;
        if (c->pos == d)
            return json_fail(c, "bad exponent");
    }
    return c->pos > start ? 0 : json_fail(c, "bad number");
}

static int json_container(json_cursor *c, char close, int object)
{
    if (++c->depth > 100000)
        return json_fail(c, "nesting too deep");
    c->pos++;
    json_ws(c);
    if (c->pos < c->len && c->s[c->pos] == (unsigned char)close) {
        c->pos++;
        c->depth--;
        return 0;
    }
    for (;;) {
        json_ws(c);
        if (object) {
            if (c->pos >= c->len || c->s[c->pos] != '"')
                return json_fail(c, "object key is not a string");
            if (json_string(c) < 0)
                return -1;
            json_ws(c);
            if (c->pos >= c->len || c->s[c->pos] != ':')
                return json_fail(c, "missing ':'");
            c->pos++;
        }
        if (json_value(c) < 0)
            return -1;
        json_ws(c);
        if (c->pos < c->len && c->s[c->pos] == ',') {
            c->pos++;
            continue;
        }
        if (c->pos < c->len && c->s[c->pos] == (unsigned char)close) {
            c->pos++;
            c->depth--;
            return 0;
        }
        return json_fail(c, "missing ',' or close");
    }
}

static int json_value(json_cursor *c)
{
    json_ws(c);
    if (c->pos >= c->len)
        return json_fail(c, "value expected");
    switch (c->s[c->pos]) {
    case '{': return json_container(c, '}', 1);
    case '[': return json_container(c, ']', 0);
    case '"': return json_string(c);
    case 't': return json_lit(c, "true");
    case 'f': return json_lit(c, "false");
    case 'n': return json_lit(c, "null");
    default: return json_number(c);
    }
}

/* NULL when data is one valid JSON document, else what is wrong. */
static inline const char *json_problem(const char *data, size_t len, size_t *at)
{
    json_cursor c = {(const unsigned char *)data, len, 0, 0, NULL};
    if (json_value(&c) == 0) {
        json_ws(&c);
        if (c.pos != c.len)
            json_fail(&c, "trailing data");
    }
    *at = c.pos;
    return c.why;
}

#endif
