/* sample_record.h — one sample as producers put it in the ring and the
 * writer reads it back: a fixed header then `depth` frame records. */
#ifndef PYROMETER_SAMPLE_RECORD_H
#define PYROMETER_SAMPLE_RECORD_H

#include <stdint.h>

#include "capture/python_frames.h"

/* Stacks deeper than this keep their leaf-most frames and get a
 * "<truncated>" marker at the root. The issue asks for at least 1000 whole. */
#define SAMPLER_MAX_DEPTH 2048

/* A sample's weight is bounded (the ticker caps it too). */
#define SAMPLE_MAX_WEIGHT 100

enum {
    SAMPLE_TRUNCATED = 1,      /* frames beyond SAMPLER_MAX_DEPTH were cut at the root */
    SAMPLE_NOT_PYTHON = 2,     /* CPU time of a thread with no Python thread state */
};

typedef struct sample_record {
    uint64_t thread_id;        /* OS thread id */
    int64_t rss_kb;            /* -1 unless memory mode */
    uint32_t depth;            /* frames that follow */
    uint16_t flags;            /* SAMPLE_* */
    uint16_t weight;           /* periods this sample stands for (written that many times) */
    py_frame_record frames[];  /* leaf first */
} sample_record;

#endif
