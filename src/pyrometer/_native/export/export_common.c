/* export_common.c — helpers shared by several exporters (see export_formats.h). */
#include "export/export_formats.h"

#include <stdlib.h>
#include <string.h>

int export_node_self(const profile *p, uint32_t thread, int64_t **weight, int64_t **count, prof_error *err)
{
    size_t n = p->node_count ? p->node_count : 1;
    *weight = calloc(n, sizeof(int64_t));
    *count = calloc(n, sizeof(int64_t));
    if (*weight == NULL || *count == NULL) {
        free(*weight);
        free(*count);
        *weight = *count = NULL;
        return prof_error_nomem(err);
    }
    for (size_t i = 0; i < p->sample_count; i++) {
        const prof_sample *s = &p->samples[i];
        if (thread != PROF_NONE && s->thread != thread)
            continue;
        (*weight)[s->stack] += s->weight;
        (*count)[s->stack]++;
    }
    return 0;
}

int64_t *export_thread_weights(const profile *p)
{
    int64_t *w = calloc(p->thread_count ? p->thread_count : 1, sizeof(int64_t));
    if (w == NULL)
        return NULL;
    for (size_t i = 0; i < p->sample_count; i++)
        w[p->samples[i].thread] += p->samples[i].weight;
    return w;
}

int export_is_memory(const profile *p)
{
    return p->value_unit != NULL && strcmp(p->value_unit, "bytes") == 0;
}

int64_t export_period_us(const profile *p)
{
    return p->period_us > 0 ? p->period_us : 1000;
}

const char *export_title(const export_options *opts)
{
    return opts->name != NULL && opts->name[0] != '\0' ? opts->name : "pyrometer";
}

void export_put_function_label(buf *b, const profile *p, uint32_t function)
{
    const prof_function *f = &p->functions[function];
    if (f->name == 0)
        buf_puts(b, "<unknown>");
    else
        buf_append(b, p->strings[f->name], p->string_lengths[f->name]);
    if (f->file == 0)
        return;
    buf_puts(b, " (");
    buf_append(b, p->strings[f->file], p->string_lengths[f->file]);
    if (f->first_line > 0) {
        buf_putc(b, ':');
        buf_put_i64(b, f->first_line);
    }
    buf_putc(b, ')');
}

void export_put_thread_label(buf *b, const profile *p, uint32_t thread)
{
    const prof_thread *t = &p->threads[thread];
    if (t->name != 0) {
        buf_append(b, p->strings[t->name], p->string_lengths[t->name]);
        return;
    }
    buf_puts(b, "thread ");
    buf_put_u64(b, t->id);
}

int export_utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = u[i];
        size_t extra;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            extra = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (len - i <= extra)
            return 0;
        for (size_t k = 1; k <= extra; k++) {
            if ((u[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (u[i + k] & 0x3f);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are invalid. */
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return 0;
        i += extra + 1;
    }
    return 1;
}

void export_pairs_init(export_pairs *s)
{
    memset(s, 0, sizeof(*s));
}

struct pair_key {
    const export_pairs *s;
    uint64_t a, b;
};

static int pair_eq(const void *ctx, uint32_t index)
{
    const struct pair_key *k = ctx;
    return k->s->a[index] == k->a && k->s->b[index] == k->b;
}

uint32_t export_pairs_intern(export_pairs *s, uint64_t a, uint64_t b)
{
    struct pair_key key = {s, a, b};
    uint64_t hash = hash_mix(a, b);
    uint32_t found = hashidx_find(&s->index, hash, pair_eq, &key);
    if (found != UINT32_MAX)
        return found;
    if (s->count == s->cap) {
        if (s->cap >= PROF_NONE / 2)
            return PROF_NONE;
        uint32_t cap = s->cap ? s->cap * 2 : 64;
        uint64_t *na = realloc(s->a, (size_t)cap * sizeof(uint64_t));
        if (na == NULL)
            return PROF_NONE;
        s->a = na;
        uint64_t *nb = realloc(s->b, (size_t)cap * sizeof(uint64_t));
        if (nb == NULL)
            return PROF_NONE;
        s->b = nb;
        s->cap = cap;
    }
    if (hashidx_insert(&s->index, hash, s->count) < 0)
        return PROF_NONE;
    s->a[s->count] = a;
    s->b[s->count] = b;
    return s->count++;
}

void export_pairs_free(export_pairs *s)
{
    free(s->a);
    free(s->b);
    hashidx_free(&s->index);
    memset(s, 0, sizeof(*s));
}
