/*
 * Channels-in-lanes layouts and loops of the one-pixel-at-a-time QConv kernels (the
 * AVX2 bit-serial and xnor kernels of lowbit_avx2px.c, the NEON kernels): L output
 * channels per block, one output pixel at a time, the activation word or bytes
 * broadcast, weights interleaved here, at compile time.
 */
#include "lowbit.h"
#include "wrpnc_pack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Interleaved planes [g][blk][tap][j][CW][L] into *wp (P) and *wn (N), malloc'd,
 * *total words each; channels past the end of a group get zero words. */
int64_t lowbit_planes_interleave(const Node *n, int L, uint64_t **wp, uint64_t **wn)
{
    const QConvParams *p = n->priv;
    int mb = lowbit_mbits(p);
    int64_t taps = p->cv.sp.k[1] * p->cv.sp.k[2], Mg = p->cv.M / p->cv.group;
    int64_t nblk = (Mg + L - 1) / L, per = mb * p->CW;
    int64_t total = p->cv.group * nblk * taps * per * L;
    uint64_t *tp = calloc((size_t)per + 1, 8), *tn = calloc((size_t)per + 1, 8);
    int8_t *v = malloc((size_t)p->Cg + 1);
    *wp = calloc((size_t)total + 1, 8), *wn = calloc((size_t)total + 1, 8);
    WR_ASSERT(*wp && *wn && tp && tn && v);
    for (int64_t g = 0; g < p->cv.group; g++)
        for (int64_t mi = 0; mi < Mg; mi++)
            for (int64_t t = 0; t < taps; t++) {
                lowbit_filter_tap(n, g * Mg + mi, t, v);
                wrpnc_pack_signmag_i8(v, p->Cg, mb, tp, tn);
                int64_t base = ((g * nblk + mi / L) * taps + t) * per * L + mi % L;
                for (int64_t k = 0; k < per; k++) {
                    (*wp)[base + k * L] = tp[k];
                    (*wn)[base + k * L] = tn[k];
                }
            }
    free(tp), free(tn), free(v);
    return total;
}

/* Interleaved planes: [g][blk][tap][j][CW][L]; returns the array names (N: NULL for
 * binary weights without zeros, where N = ~P inside K is not read). */
void lowbit_planes_lanes(Emitter *e, const Node *n, int L, const char **P, const char **N)
{
    uint64_t *wp, *wn;
    int64_t total = lowbit_planes_interleave(n, L, &wp, &wn);
    *P = cg_const_array(e, "wpos", DT_U64, wp, total);
    if (N)
        *N = cg_const_array(e, "wneg", DT_U64, wn, total);
    free(wp), free(wn);
}

/* Loops over (b, g, blk, oh, ow); defines m0 (first channel of the block). */
void lowbit_open_blocks(Emitter *e, const QConvParams *p, int L)
{
    int64_t Mg = p->cv.M / p->cv.group;
    cg_open(e, "for (int32_t g = 0; g < %lld; g++)", (long long)p->cv.group);
    cg_open(e, "for (int32_t blk = 0; blk < %lld; blk++)", (long long)((Mg + L - 1) / L));
    cg_line(e, "const int32_t m0 = g * %lld + blk * %d;", (long long)Mg, L);
    cg_line(e, "const int32_t nl = %lld - blk * %d < %d ? %lld - blk * %d : %d;", (long long)Mg,
            L, L, (long long)Mg, L, L);
    lowbit_open_pixels(e, p);
}

/* Tap sums of each block of L channels, [g][blk][tap][L] (int32). */
static const char *tap_sums_lanes(Emitter *e, const Node *n, int L)
{
    const QConvParams *p = n->priv;
    int64_t taps = p->cv.sp.k[1] * p->cv.sp.k[2], Mg = p->cv.M / p->cv.group;
    int64_t nblk = (Mg + L - 1) / L, total = p->cv.group * nblk * taps * L;
    int32_t *ts = lowbit_tap_sums(n), *v = calloc((size_t)total + 1, sizeof *v);
    WR_ASSERT(v);
    for (int64_t g = 0; g < p->cv.group; g++)
        for (int64_t mi = 0; mi < Mg; mi++)
            for (int64_t t = 0; t < taps; t++)
                v[((g * nblk + mi / L) * taps + t) * L + mi % L] = ts[(g * Mg + mi) * taps + t];
    const char *name = cg_const_array(e, "tapsum", DT_I32, v, total);
    free(ts), free(v);
    return name;
}

void lowbit_lane_taps(Emitter *e, const Node *n, int L, const LaneFix *f)
{
    const QConvParams *p = n->priv;
    const Spatial *s = &p->cv.sp;
    long long taps = (long long)(s->k[1] * s->k[2]), Mg = (long long)(p->cv.M / p->cv.group);
    const char *TS = f->corr ? tap_sums_lanes(e, n, L) : NULL;
    if (TS)
        cg_line(e, "int32_t cs[%d] = {0}; /* tap sums of the taps inside the image */", L);
    lowbit_open_taps(e, p);
    if (TS)
        cg_line(e, "for (int32_t l = 0; l < %d; l++) cs[l] += %s[(((int64_t)g * %lld + blk) * "
                   "%lld + kh * %lld + kw) * %d + l];", L, TS, (Mg + L - 1) / L, taps,
                (long long)s->k[2], L);
}

/* Stores the nl valid lanes of the accumulator array accs[] (type T): alpha * raw +
 * beta * cs with the tap sums cs, or raw itself. */
void lowbit_store_lanes(Emitter *e, const Node *n, const char *T, const LaneFix *f)
{
    cg_open(e, "for (int32_t l = 0; l < nl; l++)");
    char v[128];
    if (f->corr)
        snprintf(v, sizeof v, "%d * (int32_t)((const %s *)accs)[l] + %d * cs[l]", f->alpha, T,
                 f->beta);
    else
        snprintf(v, sizeof v, "(int32_t)((const %s *)accs)[l]", T);
    lowbit_store(e, n, "m0 + l", v);
    cg_close(e);
}

/* Interleaved codes [g][blk][tap][C4 / R][L][R] as int8 (R = 4) or int16 (R = 2). */
const char *lowbit_bytes_lanes(Emitter *e, const Node *n, int L, int R)
{
    const QConvParams *p = n->priv;
    int64_t taps = p->cv.sp.k[1] * p->cv.sp.k[2], Mg = p->cv.M / p->cv.group;
    int64_t nblk = (Mg + L - 1) / L, Q = p->C4 / R;
    int64_t total = p->cv.group * nblk * taps * Q * L * R;
    int16_t *w = calloc((size_t)total + 1, 2);
    int8_t *v = malloc((size_t)p->Cg + 1);
    WR_ASSERT(w && v);
    for (int64_t g = 0; g < p->cv.group; g++)
        for (int64_t mi = 0; mi < Mg; mi++)
            for (int64_t t = 0; t < taps; t++) {
                lowbit_filter_tap(n, g * Mg + mi, t, v);
                int64_t base = ((g * nblk + mi / L) * taps + t) * Q * L * R + (mi % L) * R;
                for (int64_t c = 0; c < p->Cg; c++)
                    w[base + (c / R) * L * R + c % R] = v[c];
            }
    const char *name;
    if (R == 2)
        name = cg_const_array(e, "wq", DT_I16, w, total);
    else {
        int8_t *b = malloc((size_t)total + 1);
        WR_ASSERT(b);
        for (int64_t i = 0; i < total; i++)
            b[i] = (int8_t)w[i];
        name = cg_const_array(e, "wq", DT_I8, b, total);
        free(b);
    }
    free(w), free(v);
    return name;
}
