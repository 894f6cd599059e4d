/*
 * qtype.c: the quantization of a tensor of codes (QType, ir.h): its range, what
 * value a code stands for, and how it prints.
 */
#include "ir.h"

#include <stdio.h>
#include <string.h>

void qtype_range(int bits, bool is_signed, bool narrow, int32_t *lo, int32_t *hi)
{
    if (is_signed) {
        *hi = (int32_t)((1u << (bits - 1)) - 1);
        *lo = narrow ? -*hi : -*hi - 1;
    } else {
        *lo = 0;
        *hi = (int32_t)((1u << bits) - 1 - (narrow ? 1 : 0));
    }
}

/* Fewest bits of two's complement (lo < 0) or unsigned codes holding [lo, hi]. */
static int width_of(int32_t lo, int32_t hi)
{
    int b = 1;
    if (lo < 0)
        while (b < 31 && (-((int64_t)1 << (b - 1)) > lo || ((int64_t)1 << (b - 1)) - 1 < hi))
            b++;
    else
        while (b < 31 && ((int64_t)1 << b) - 1 < hi)
            b++;
    return b;
}

QType *qtype_new(Graph *g, int32_t lo, int32_t hi, bool bipolar, int32_t zp, int64_t nscale,
                 const float *scale)
{
    QType *q = arena_alloc(&g->arena, sizeof *q);
    float *s = arena_alloc(&g->arena, sizeof(float) * (size_t)(nscale > 0 ? nscale : 1));
    WR_ASSERT(lo <= hi && nscale >= 1);
    memcpy(s, scale, sizeof(float) * (size_t)nscale);
    *q = (QType){.bits = bipolar ? 1 : width_of(lo, hi), .is_signed = lo < 0,
                 .bipolar = bipolar, .lo = bipolar ? 0 : lo, .hi = bipolar ? 1 : hi,
                 .zp = bipolar ? 0 : zp, .nscale = nscale, .scale = s};
    return q;
}

QType *qtype_with_divisor(Graph *g, const QType *q, const float *divisor)
{
    QType *r = arena_alloc(&g->arena, sizeof *r);
    float *dv = arena_alloc(&g->arena, sizeof(float) * (size_t)q->nscale);
    memcpy(dv, divisor, sizeof(float) * (size_t)q->nscale);
    *r = *q;
    r->divisor = dv;
    return r;
}

float qtype_scale(const QType *q, int64_t c) { return q->scale[q->nscale > 1 ? c : 0]; }

float qtype_value(const QType *q, int64_t c, int32_t code)
{
    float s = qtype_scale(q, c);
    if (q->bipolar)
        return code ? s : -s;
    if (q->divisor)
        return (float)(code - q->zp) / q->divisor[q->nscale > 1 ? c : 0];
    return (float)(code - q->zp) * s;
}

bool qtype_equal(const QType *a, const QType *b)
{
    if (!a || !b)
        return a == b;
    if (a->bits != b->bits || a->is_signed != b->is_signed || a->bipolar != b->bipolar ||
        a->lo != b->lo || a->hi != b->hi || a->zp != b->zp || a->nscale != b->nscale)
        return false;
    if ((a->divisor != NULL) != (b->divisor != NULL) ||
        (a->divisor && memcmp(a->divisor, b->divisor, sizeof(float) * (size_t)a->nscale) != 0))
        return false;
    return memcmp(a->scale, b->scale, sizeof(float) * (size_t)a->nscale) == 0;
}

DType qtype_byte_dtype(const QType *q) { return q && q->is_signed ? DT_I8 : DT_U8; }

const char *qtype_str(const QType *q, char *buf, size_t n)
{
    int32_t lo, hi;
    if (!q) {
        snprintf(buf, n, "-");
        return buf;
    }
    qtype_range(q->bits, q->is_signed, true, &lo, &hi);
    const char *narrow = !q->bipolar && q->lo == lo && q->hi == hi ? "n" : "";
    int k = q->bipolar ? snprintf(buf, n, "bip")
                       : snprintf(buf, n, "%c%d%s", q->is_signed ? 's' : 'u', q->bits, narrow);
    if (k > 0 && (size_t)k < n && q->zp)
        k += snprintf(buf + k, n - (size_t)k, " zp %d", q->zp);
    if (k > 0 && (size_t)k < n) {
        if (q->nscale > 1)
            snprintf(buf + k, n - (size_t)k, " s[%lld]", (long long)q->nscale);
        else
            snprintf(buf + k, n - (size_t)k, " s %.4g", (double)q->scale[0]);
    }
    return buf;
}
