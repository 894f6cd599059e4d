/*
 * conv_direct.c: fp32 2-D convolution on AVX2 / AVX-512 without im2col, output
 * channels in the SIMD lanes (the layout of cpu-limits.md's fast kernels).
 *   X (N, C, H, W)  W (M, C/G, kH, kW)  B (M)  ->  Y (N, M, oH, oW)
 * Per (image, group): Y (Mg x P) = A (Mg x K) . B (K x P), K = (c, kh, kw), P the
 * output pixels. A is packed at compile time in tiles of CH = NV vectors of output
 * channels, k-major, in the order the driver reads it: [Mg / (MTG CH)][K / KC][ng][kc]
 * [CH] (groups of MTG channel tiles, in each K blocks of KC taps, zero rows past Mg),
 * so the weights stream sequentially from memory however many groups, K blocks and
 * channel tiles there are. B is never packed:
 * B (k, p) = xs[koff[k] + qv(p)] where xs is the input itself (no padding) or, for a
 * padded conv, a zero-bordered copy of a band of input rows of the channels that the
 * current K block reads (at most XB_MAX floats on the stack, refilled per K block),
 * koff[k] the tap's offset (compile-time table, from the K block's first channel when
 * padded) and qv(p) the offset of pixel p's window origin. The microkernel holds NP
 * pixels x CH channels of accumulators (AVX2: 6 x 16 or 12 x 8; AVX-512: 6 x 64 or
 * 12 x 32), broadcasts one input value per pixel and tap, and FMAs it with the CH
 * weights of the tap. Pixels of a tile may span output rows, and any stride or
 * dilation is just qv and koff, so no lane is wasted on padding columns. Per band of
 * output rows: groups of channel tiles, then K blocks whose A fits in L2; the tiles'
 * accumulators go through a stack tile (one group's tiles of the band) between
 * blocks, and the last block's epilogue adds the bias, applies the fused activation
 * and writes the tile's pixels of each channel (a contiguous run of Y). As neither
 * the buffer nor the tiles hold every channel, a band covers a whole small image
 * (7 x 7, 14 x 14 of ResNet-18's deep layers): each weight is read once per band, and
 * deep layers stream their weights from memory once. Stack: the band buffer and the
 * accumulator tiles, at most (XB_MAX + T_MAX) floats plus one row of tiles; layers
 * that do not fit (or pointwise stride-1 convs, which need no im2col) go to sgemm.c.
 */
#include "conv_direct.h"

#include <stdlib.h>

enum {
    XB_MAX = 32768,         /* floats of the padded band buffer (stack) */
    T_MAX = 32768,          /* floats of a channel group's accumulator tiles (stack) */
    ABLK_BYTES = 128 << 10, /* A bytes of a K block of a group of channel tiles (L2) */
    KC_MIN = 256,           /* K block floor: a microkernel call amortizes its setup */
    PF_MIN_BYTES = 256 << 10 /* A bytes from which the next A block is prefetched */
};

typedef struct Shape {
    int nv, np;          /* vectors of channels, pixels per microkernel tile */
    int vw;              /* floats per vector */
    const char *vt, *pf; /* vector type, intrinsic prefix */
    double rate;         /* microkernel speed relative to the first shape, data in L1 */
} Shape;

typedef struct Plan {
    Shape s;
    int64_t Cg, Mg, K, MT, CH; /* channels, K, channel tiles, channels per tile */
    bool padded;               /* reads a zero-bordered band copy */
    int64_t RB, HB, WP;        /* band rows (output), buffer rows and row pitch */
    int64_t NT;                /* pixel tiles per band */
    int64_t cpitch, rpitch;    /* xs offset of a channel, of an input row */
    int64_t KC, MTG;           /* K block, channel tiles per group */
    int64_t NCB;               /* channels in the band buffer: the most a K block reads */
} Plan;

/* Tile shapes per target, best first (12 or 24 accumulators; 10 or 20 with 5 pixels,
 * for 7 x 7 images). The AVX2 rates are measured on Zen 3 with clang 14 (microkernel
 * alone, kc = 256, data in L1): 5 x 16 runs at about 0.9-0.97 of 6 x 16 (10
 * accumulators, 5 broadcasts per 2 weight loads), 12 x 8 at about 0.35 (its 12 input
 * pointers and accumulators spill). The AVX-512 shapes are unmeasured (1.0). */
static int shapes_for(Target t, Shape *out)
{
    if (t == TARGET_AVX2) {
        out[0] = (Shape){2, 6, 8, "__m256", "_mm256", 1.0};
        out[1] = (Shape){2, 5, 8, "__m256", "_mm256", 0.95};
        out[2] = (Shape){1, 12, 8, "__m256", "_mm256", 0.35};
        return 3;
    }
    if (t == TARGET_AVX512) {
        out[0] = (Shape){4, 6, 16, "__m512", "_mm512", 1.0};
        out[1] = (Shape){4, 5, 16, "__m512", "_mm512", 1.0};
        out[2] = (Shape){2, 12, 16, "__m512", "_mm512", 1.0};
        out[3] = (Shape){1, 24, 16, "__m512", "_mm512", 1.0};
        return 4;
    }
    return 0;
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* The fastest shape: its rate times the useful share of its work (channels padded to
 * whole tiles, P pixels padded to whole tiles); ties go to the first. */
static bool pick_shape(Target t, int64_t Mg, int64_t P, Shape *s)
{
    Shape c[4];
    int n = shapes_for(t, c), best = -1;
    double eff = 0;
    for (int i = 0; i < n; i++) {
        int64_t ch = (int64_t)c[i].nv * c[i].vw, np = c[i].np;
        double e = (double)Mg / (double)(ceil_div(Mg, ch) * ch) * (double)P /
                   (double)(ceil_div(P, np) * np) * c[i].rate;
        if (e > eff + 1e-3)
            best = i, eff = e;
    }
    if (best >= 0)
        *s = c[best];
    return best >= 0;
}

/* Output rows whose accumulator tiles (of one group of channel tiles) fit in T_MAX
 * floats (0: not even one). */
static int64_t band_rows_t(const Spatial *s, const Plan *pl)
{
    return T_MAX / (pl->MTG * pl->CH * s->out[2]);
}

/* Band rows and buffer shape of a padded conv; false when one output row does not fit. */
static bool plan_band(const ConvParams *p, Plan *pl)
{
    const Spatial *s = &p->sp;
    int64_t SH = s->stride[1], ext_h = (s->k[1] - 1) * s->dil[1] + 1;
    pl->WP = (s->out[2] - 1) * s->stride[2] + (s->k[2] - 1) * s->dil[2] + 1;
    if (pl->WP < s->pad0[2] + s->in[2])
        pl->WP = s->pad0[2] + s->in[2]; /* every input column has a place */
    if (pl->NCB < 1 || pl->WP < 1)
        return false;
    int64_t rows = XB_MAX / (pl->NCB * pl->WP); /* buffer rows that fit */
    if (rows < ext_h || band_rows_t(s, pl) < 1)
        return false;
    int64_t rb = (rows - ext_h) / SH + 1, OH = s->out[1];
    rb = rb > OH ? OH : rb;
    rb = rb > band_rows_t(s, pl) ? band_rows_t(s, pl) : rb;
    pl->RB = ceil_div(OH, ceil_div(OH, rb)); /* balanced bands */
    pl->HB = (pl->RB - 1) * SH + ext_h;
    pl->rpitch = pl->WP;
    pl->cpitch = pl->HB * pl->WP;
    return true;
}

/* K blocks and channel-tile groups whose A (MTG x KC x CH floats) fits ABLK_BYTES:
 * every channel tile in one group when that leaves K blocks of KC_MIN or more, else
 * blocks of about KC_MIN and as many tiles per group as fit. */
static void plan_blocks(Plan *pl)
{
    int64_t tile_k = pl->CH * 4; /* A bytes per tap of one channel tile */
    int64_t kc = ABLK_BYTES / (pl->MT * tile_k);
    pl->MTG = pl->MT;
    if (kc < KC_MIN && kc < pl->K) {
        kc = KC_MIN;
        pl->MTG = ABLK_BYTES / (kc * tile_k);
        pl->MTG = pl->MTG < 1 ? 1 : pl->MTG > pl->MT ? pl->MT : pl->MTG;
    }
    pl->KC = ceil_div(pl->K, ceil_div(pl->K, kc)); /* balanced K blocks */
}

/* The most input channels one K block's taps read (K blocks start mid-channel). */
static int64_t block_channels(const Plan *pl, int64_t taps)
{
    int64_t most = 0;
    for (int64_t k0 = 0; k0 < pl->K; k0 += pl->KC) {
        int64_t k1 = k0 + pl->KC < pl->K ? k0 + pl->KC : pl->K;
        int64_t nc = (k1 - 1) / taps - k0 / taps + 1;
        most = nc > most ? nc : most;
    }
    return most;
}

static bool plan(Target t, const Node *n, const ConvParams *p, Plan *pl)
{
    const Spatial *s = &p->sp;
    if (!n->in[1]->data || s->in[0] != 1 || s->k[0] != 1 ||
        !pick_shape(t, p->M / p->group, s->out[1] * s->out[2], &pl->s))
        return false;
    pl->Cg = p->C / p->group;
    pl->Mg = p->M / p->group;
    pl->K = pl->Cg * s->k[1] * s->k[2];
    pl->CH = (int64_t)pl->s.nv * pl->s.vw;
    pl->MT = ceil_div(pl->Mg, pl->CH);
    pl->padded = s->pad0[1] || s->pad0[2] || s->pad1[1] || s->pad1[2];
    if (!pl->padded && s->k[1] * s->k[2] == 1 && s->stride[1] * s->stride[2] == 1)
        return false; /* pointwise: B is X itself, sgemm.c's pixels-in-lanes GEMM is as fast */
    plan_blocks(pl);
    pl->NCB = block_channels(pl, s->k[1] * s->k[2]);
    if (pl->padded && !plan_band(p, pl))
        return false;
    if (!pl->padded) {
        int64_t rb = band_rows_t(s, pl);
        if (rb < 1)
            return false;
        pl->RB = ceil_div(s->out[1], ceil_div(s->out[1], rb));
        pl->rpitch = s->in[2];
        pl->cpitch = s->in[1] * s->in[2];
    }
    pl->NT = ceil_div(pl->RB * s->out[2], pl->s.np);
    if (pl->Cg * pl->cpitch > INT32_MAX || pl->Mg * s->out[1] * s->out[2] > INT32_MAX)
        return false;
    return true;
}

/* ---- the microkernel, one per shape and file ---- */

/* Stores the first w (1..8) floats of the 8-float row vector R at the pointer expression p. */
static void store_row(Buf *b, const char *R, const char *p, int w)
{
    if (w == 8) {
        buf_printf(b, "            _mm256_storeu_ps(%s, %s);\n", p, R);
        return;
    }
    buf_printf(b, "            { const __m128 h0 = _mm256_castps256_ps128(%s), "
                  "h1 = _mm256_extractf128_ps(%s, 1);\n              (void)h0, (void)h1;\n", R, R);
    for (int at = 0; at < w;) {
        const char *v = at < 4 ? "h0" : "h1";
        int left = w - at, in_half = 4 - at % 4;
        int n = left < in_half ? left : in_half;
        if (n == 4)
            buf_printf(b, "              _mm_storeu_ps(%s + %d, %s);\n", p, at, v);
        else if (n >= 2 && at % 4 == 0)
            n = 2, buf_printf(b, "              _mm_storel_pi((__m64 *)(void *)(%s + %d), %s);\n",
                              p, at, v);
        else
            n = 1, buf_printf(b, "              _mm_store_ss(%s + %d, "
                                 "_mm_shuffle_ps(%s, %s, %d));\n",
                              p, at, v, v, (at % 4) * 0x55);
        at += n;
    }
    buf_puts(b, "            }\n");
}

/* Stores channel row r (pixels 8g .. 8g + w of channel c) of the transposed tile: the
 * whole row in a full tile, else the pixels below nv, and only for channels below nc. */
static void store_channel(Buf *b, int c, int r, int g, int w)
{
    char dst[64], R[8];
    snprintf(dst, sizeof dst, "y + %d * ldy + %d", c, 8 * g);
    snprintf(R, sizeof R, "r%d", r);
    buf_printf(b, "        if (full) {\n");
    store_row(b, R, dst, w);
    buf_printf(b, "        } else if (%d < nc) {\n            float row[8];\n"
                  "            _mm256_storeu_ps(row, r%d);\n"
                  "            for (int32_t j = %d; j < nv && j < %d; j++) y[%d * ldy + j] "
                  "= row[j - %d];\n        }\n",
               c, r, 8 * g, 8 * g + w, c, 8 * g);
}

/* AVX2: the NP pixel vectors of channel vector v, 8 pixels at a time (past NP: zero),
 * transposed by unpack / shuffle / permute2f128 into channel rows r0..r7 (row r:
 * channel 8 v + r, pixels in lanes), each stored as a run of Y. */
static void transpose_store(Buf *b, const Shape *s, int v)
{
    for (int g = 0; g * 8 < s->np; g++) {
        int w = s->np - 8 * g < 8 ? s->np - 8 * g : 8;
        buf_puts(b, "    {\n");
        for (int i = 0; i < 8; i++)
            buf_printf(b, i < w ? "        const __m256 p%d = c%d_%d;\n"
                                : "        const __m256 p%d = _mm256_setzero_ps();\n",
                       i, 8 * g + i, v);
        for (int i = 0; i < 4; i++)
            buf_printf(b, "        const __m256 u%d = _mm256_unpacklo_ps(p%d, p%d), "
                          "u%d = _mm256_unpackhi_ps(p%d, p%d);\n",
                       2 * i, 2 * i, 2 * i + 1, 2 * i + 1, 2 * i, 2 * i + 1);
        /* s0..s3: channels 0-3 (low half) and 4-7 (high half) of pixels 0-3; s4..s7: 4-7 */
        for (int i = 0; i < 2; i++)
            buf_printf(b, "        const __m256 s%d = _mm256_shuffle_ps(u%d, u%d, 0x44), "
                          "s%d = _mm256_shuffle_ps(u%d, u%d, 0xEE), s%d = _mm256_shuffle_ps(u%d, "
                          "u%d, 0x44), s%d = _mm256_shuffle_ps(u%d, u%d, 0xEE);\n",
                       4 * i, 4 * i, 4 * i + 2, 4 * i + 1, 4 * i, 4 * i + 2, 4 * i + 2, 4 * i + 1,
                       4 * i + 3, 4 * i + 3, 4 * i + 1, 4 * i + 3);
        for (int r = 0; r < 8; r++)
            buf_printf(b, "        const __m256 r%d = _mm256_permute2f128_ps(s%d, s%d, 0x%d);\n", r,
                       r % 4, r % 4 + 4, r < 4 ? 20 : 31);
        for (int r = 0; r < 8; r++)
            store_channel(b, v * s->vw + r, r, g, w);
        buf_puts(b, "    }\n");
    }
}

/* Final block (AVX2): bias and activation in registers, then the transposed stores. */
static void final_store(Buf *b, const Shape *s)
{
    int CH = s->nv * s->vw;
    buf_printf(b, "    const int32_t full = nv == %d && nc == %d;\n", s->np, CH);
    buf_printf(b, "    float bt[%d] = {0};\n"
                  "    for (int32_t c = 0; bias && c < nc; c++) bt[c] = bias[c];\n", CH);
    for (int v = 0; v < s->nv; v++) {
        buf_printf(b, "    const __m256 bv%d = _mm256_loadu_ps(bt + %d);\n", v, v * s->vw);
        for (int j = 0; j < s->np; j++)
            buf_printf(b, "    c%d_%d = _mm256_add_ps(c%d_%d, bv%d);\n", j, v, j, v, v);
    }
    buf_puts(b, "    if (act == 1 || act == 2 || act == 3 || act == 5) {\n");
    cg_simd_act_consts(b, s->vt, s->pf);
    for (int j = 0; j < s->np; j++)
        for (int v = 0; v < s->nv; v++) {
            char var[32];
            snprintf(var, sizeof var, "c%d_%d", j, v);
            cg_simd_act(b, s->pf, var);
        }
    buf_puts(b, "    }\n");
    for (int v = 0; v < s->nv; v++)
        transpose_store(b, s, v);
}

/* t[j * CH + c] (+)= sum over kc taps of a[k * CH + c] * x[qv[j] + koff[k]]; with y
 * set (AVX2, last K block), Y[c * ldy + j] = act(t + bias[c]) instead, for c < nc, j < nv. */
static void ukr(Emitter *e, const Shape *s)
{
    Buf b = {0};
    const char *P = e->opt->name, *vt = s->vt, *pf = s->pf;
    int CH = s->nv * s->vw;
    buf_printf(&b, "/* NP = %d pixels x CH = %d channels: t[j * CH + c] = (load ? t : 0)\n"
                   " *   + sum_k a[k * CH + c] * x[qv[j] + koff[k]], k < kc; or, when y is set,\n"
                   " *   y[c * ldy + j] = act(that + bias[c]) for c < nc, j < nv. */\n"
                   "static void %s_cdk%dx%d(int32_t kc, const float *restrict a,\n"
                   "    const float *restrict x, const int32_t *restrict koff,\n"
                   "    const int32_t *restrict qv, float *restrict t, int32_t load,\n"
                   "    float *restrict y, int64_t ldy, int32_t nv, int32_t nc,\n"
                   "    const float *bias, int32_t act, float lo, float hi)\n{\n",
               s->np, CH, P, s->np, CH);
    for (int j = 0; j < s->np; j++)
        buf_printf(&b, "    const float *x%d = x + qv[%d];\n", j, j);
    for (int j = 0; j < s->np; j++)
        for (int v = 0; v < s->nv; v++)
            buf_printf(&b, "    %s c%d_%d = load ? %s_loadu_ps(t + %d) : %s_setzero_ps();\n", vt, j,
                       v, pf, j * CH + v * s->vw, pf);
    buf_puts(&b, "    for (int32_t k = 0; k < kc; k++) {\n        const int32_t o = koff[k];\n");
    for (int v = 0; v < s->nv; v++)
        buf_printf(&b, "        const %s a%d = %s_loadu_ps(a + k * %d + %d);\n", vt, v, pf, CH,
                   v * s->vw);
    for (int j = 0; j < s->np; j++) {
        buf_printf(&b, "        const %s b%d = %s_set1_ps(x%d[o]);\n", vt, j, pf, j);
        for (int v = 0; v < s->nv; v++)
            buf_printf(&b, "        c%d_%d = %s_fmadd_ps(a%d, b%d, c%d_%d);\n", j, v, pf, v, j, j,
                       v);
    }
    buf_puts(&b, "    }\n");
    if (s->vw == 8) {
        buf_puts(&b, "    if (y) {\n");
        final_store(&b, s);
        buf_puts(&b, "        return;\n    }\n");
    } else
        buf_puts(&b, "    (void)y, (void)ldy, (void)nv, (void)nc, (void)bias, (void)act, "
                     "(void)lo, (void)hi;\n");
    for (int j = 0; j < s->np; j++)
        for (int v = 0; v < s->nv; v++)
            buf_printf(&b, "    %s_storeu_ps(t + %d, c%d_%d);\n", pf, j * CH + v * s->vw, j, v);
    buf_puts(&b, "}\n");
    /* cg_helper keeps the key: it must outlive this call */
    cg_helper(e, arena_printf(&((Graph *)e->g)->arena, "cdk%dx%d", s->np, CH), b.p);
    buf_free(&b);
}

/* ---- compile-time tables ---- */

/* Index in a group's A of weight (m, k): the groups of MTG channel tiles one after
 * the other, in each the K blocks of KC taps (the last one kc <= KC), in each the
 * group's ng channel tiles' kc x CH panels, [MT/MTG][K/KC][ng][kc][CH], the order in
 * which the driver reads them, so the weights stream sequentially. */
static int64_t a_index(const Plan *pl, int64_t m, int64_t k)
{
    int64_t mt = m / pl->CH, mg = mt / pl->MTG * pl->MTG;
    int64_t ng = pl->MT - mg < pl->MTG ? pl->MT - mg : pl->MTG;
    int64_t k0 = k / pl->KC * pl->KC, kc = pl->K - k0 < pl->KC ? pl->K - k0 : pl->KC;
    return (mg * pl->K + k0 * ng + (mt - mg) * kc + k - k0) * pl->CH + m % pl->CH;
}

/* A of every group: [G][MT/MTG][K/KC][ng][kc][CH] (a_index), channels past Mg zero. */
static const char *pack_weights(Emitter *e, const Node *n, const ConvParams *p, const Plan *pl)
{
    const float *w = n->in[1]->data;
    int64_t per = pl->MT * pl->K * pl->CH, total = p->group * per;
    float *a = calloc((size_t)total, sizeof *a);
    WR_ASSERT(a);
    for (int64_t g = 0; g < p->group; g++)
        for (int64_t m = 0; m < pl->Mg; m++)
            for (int64_t k = 0; k < pl->K; k++)
                a[g * per + a_index(pl, m, k)] = w[(g * pl->Mg + m) * pl->K + k];
    const char *name = cg_const_array(e, "cdw", DT_F32, a, total);
    free(a);
    return name;
}

/* koff[k]: offset in xs of tap k = (c, kh, kw) from a pixel's window origin. A padded
 * conv's band buffer holds only the channels of k's K block, from its first, c0. */
static const char *tap_offsets(Emitter *e, const ConvParams *p, const Plan *pl)
{
    const Spatial *s = &p->sp;
    int64_t taps = s->k[1] * s->k[2];
    int32_t *t = malloc(sizeof *t * (size_t)pl->K);
    WR_ASSERT(t);
    int64_t k = 0;
    for (int64_t c = 0; c < pl->Cg; c++)
        for (int64_t kh = 0; kh < s->k[1]; kh++)
            for (int64_t kw = 0; kw < s->k[2]; kw++, k++) {
                int64_t c0 = pl->padded ? k / pl->KC * pl->KC / taps : 0;
                t[k] = (int32_t)((c - c0) * pl->cpitch + kh * s->dil[1] * pl->rpitch +
                                 kw * s->dil[2]);
            }
    const char *name = cg_const_array(e, "cdk", DT_I32, t, pl->K);
    free(t);
    return name;
}

/* ---- the driver, written into the node function ---- */

/* Rows [oh0 * SH - pad, ...) of the channels c0 .. c1 - 1 that the K block's taps
 * read into xb (channel c at c - c0), zero outside the input. */
static void fill_band(Emitter *e, const ConvParams *p, const Plan *pl)
{
    const Spatial *s = &p->sp;
    long long W = s->in[2], PL = s->pad0[2], WP = pl->WP, taps = s->k[1] * s->k[2];
    long long ncopy = W < WP - PL ? W : WP - PL;
    cg_line(e, "const int32_t hb = (rb - 1) * %lld + %lld;", (long long)s->stride[1],
            (long long)((s->k[1] - 1) * s->dil[1] + 1));
    cg_line(e, "const int32_t c0 = k0 / %lld, c1 = (k0 + kc - 1) / %lld + 1;", taps, taps);
    cg_open(e, "for (int32_t c = c0; c < c1; c++)");
    cg_open(e, "for (int32_t r = 0; r < hb; r++)");
    cg_line(e, "float *dst = xb + ((c - c0) * %lld + r) * %lld;", (long long)pl->HB, WP);
    cg_line(e, "const int32_t ih = oh0 * %lld - %lld + r;", (long long)s->stride[1],
            (long long)s->pad0[1]);
    cg_open(e, "if (ih < 0 || ih >= %lld)", (long long)s->in[1]);
    cg_line(e, "memset(dst, 0, sizeof(float) * %lld);", WP);
    cg_line(e, "continue;");
    cg_close(e);
    if (PL)
        cg_line(e, "memset(dst, 0, sizeof(float) * %lld);", PL);
    cg_line(e, "memcpy(dst + %lld, x + (c * %lld + ih) * %lld, sizeof(float) * %lld);", PL,
            (long long)s->in[1], W, ncopy);
    if (PL + ncopy < WP)
        cg_line(e, "memset(dst + %lld, 0, sizeof(float) * %lld);", PL + ncopy, WP - PL - ncopy);
    cg_close(e);
    cg_close(e);
}

/* Window origins of the band's pixels (the last pixel repeated up to whole tiles). */
static void tile_origins(Emitter *e, const ConvParams *p, const Plan *pl)
{
    const Spatial *s = &p->sp;
    long long OW = s->out[2];
    cg_open(e, "for (int32_t j = 0; j < nt * %d; j++)", pl->s.np);
    cg_line(e, "const int32_t q = j < npx ? j : npx - 1;");
    cg_line(e, "qv[j] = q / %lld * %lld + q %% %lld * %lld;", OW,
            (long long)(s->stride[1] * pl->rpitch), OW, (long long)s->stride[2]);
    cg_close(e);
}

/* Bias, activation, and the tile's pixels of each channel of the group of channel
 * tiles from mg: a run of Y. */
static void epilogue(Emitter *e, const Node *n, const ConvParams *p, const Plan *pl)
{
    long long CH = pl->CH, NP = pl->s.np, osz = p->sp.out[1] * p->sp.out[2];
    long long MTG = pl->MTG, Mg = pl->Mg;
    cg_open(e, "for (int32_t pt = 0; pt < nt; pt++)");
    cg_line(e, "const int32_t p0 = pt * %lld, nv = npx - p0 < %lld ? npx - p0 : %lld;", NP, NP, NP);
    cg_open(e, "for (int32_t m = mg * %lld; m < (mg + %lld) * %lld && m < %lld; m++)", CH, MTG,
            CH, Mg);
    cg_line(e, "const float *tm = t + (pt * %lld + m / %lld - mg) * %lld + m %% %lld;", MTG, CH,
            NP * CH, CH);
    cg_line(e, "const float bm = bias ? bias[m] : 0.0f;");
    cg_line(e, "float *ym = y + m * %lld + oh0 * %lld + p0;", osz, (long long)p->sp.out[2]);
    cg_line(e, "for (int32_t j = 0; j < nv; j++) ym[j] = %s;",
            cg_act_expr(e, n, arena_printf(&((Graph *)e->g)->arena, "tm[j * %lld] + bm", CH)));
    cg_close(e);
    cg_close(e);
}

/* Arguments of the last K block: AVX2 tiles store Y themselves (else 0: through t). */
static const char *final_args(Emitter *e, const Node *n, const ConvParams *p, const Plan *pl)
{
    Arena *A = &((Graph *)e->g)->arena;
    long long CH = pl->CH, NP = pl->s.np, osz = p->sp.out[1] * p->sp.out[2];
    if (pl->s.vw != 8)
        return "0, 0, 0, 0, 0, 0, 0.0f, 0.0f";
    return arena_printf(A, "last ? y + mt * %lld + oh0 * %lld + pt * %lld : 0, %lld,\n"
                           "                npx - pt * %lld < %lld ? npx - pt * %lld : %lld,\n"
                           "                %lld - mt * %lld < %lld ? %lld - mt * %lld : %lld,\n"
                           "                bias ? bias + mt * %lld : 0, %d, %af, %af",
                        CH * osz, (long long)p->sp.out[2], NP, osz, NP, NP, NP, NP,
                        (long long)pl->Mg, CH, CH, (long long)pl->Mg, CH, CH, CH,
                        n->act == ACT_SIGMOID ? 0 : (int)n->act, (double)n->act_lo,
                        (double)n->act_hi);
}

/* Sigmoid after the stores (AVX2 applies the other activations in registers). */
static void sigmoid_pass(Emitter *e, const Node *n, const ConvParams *p, const Plan *pl)
{
    long long osz = p->sp.out[1] * p->sp.out[2];
    cg_open(e, "for (int32_t m = 0; m < %lld; m++)", (long long)pl->Mg);
    cg_line(e, "float *ym = y + m * %lld + oh0 * %lld;", osz, (long long)p->sp.out[2]);
    cg_line(e, "for (int32_t j = 0; j < npx; j++) ym[j] = %s;", cg_act_expr(e, n, "ym[j]"));
    cg_close(e);
}

/* The A block after the current one (the next in memory: the driver's read order) is
 * prefetched while the current one runs, a slice of its bytes before each microkernel
 * call, so a layer whose weights come from memory (a whole network's do not fit the
 * last-level cache) does not wait for them at the first pixel tile of each block. */
static void prefetch_setup(Emitter *e, const Plan *pl, const char *A, long long G)
{
    long long CH = pl->CH, total = G * pl->MT * pl->K * pl->CH;
    if (total * 4 < PF_MIN_BYTES)
        return; /* the weights stay in L2 from one band to the next */
    cg_line(e, "const float *an = ak + (int64_t)ng * kc * %lld;", CH);
    cg_line(e, "const int64_t left = %s + %lld - an, pb = 4 * (left < (int64_t)ng * kc * %lld ? "
               "left : (int64_t)ng * kc * %lld);", A, total, CH, CH);
    cg_line(e, "const int64_t per = (pb / (nt * ng) + 64) & ~(int64_t)63;");
}

static void prefetch_slice(Emitter *e, const Plan *pl, long long G)
{
    if (G * pl->MT * pl->K * pl->CH * 4 < PF_MIN_BYTES)
        return;
    cg_line(e, "for (int64_t o = (pt * ng + mt - mg) * per, oe = o + per < pb ? o + per : pb; "
               "o < oe; o += 64)");
    cg_line(e, "    _mm_prefetch((const char *)an + o, _MM_HINT_T1);");
}

/* One band of output rows: groups of channel tiles, K blocks (the group's A block in
 * L2; the band buffer refilled with the block's channels), pixel tiles (their input
 * in L1), channel tiles. Each weight is read once per band, and t holds the
 * accumulators of one group's tiles of the band. */
static void band(Emitter *e, const Node *n, const ConvParams *p, const Plan *pl, const char *A,
                 const char *koff)
{
    const char *P = e->opt->name;
    long long K = pl->K, KC = pl->KC, CH = pl->CH, NP = pl->s.np, MT = pl->MT, MTG = pl->MTG;
    cg_line(e, "const int32_t npx = rb * %lld, nt = (npx + %lld) / %lld;",
            (long long)p->sp.out[2], NP - 1, NP);
    tile_origins(e, p, pl);
    cg_open(e, "for (int32_t mg = 0; mg < %lld; mg += %lld)", MT, MTG);
    cg_line(e, "const int32_t ng = %lld - mg < %lld ? %lld - mg : %lld;", MT, MTG, MT, MTG);
    cg_open(e, "for (int32_t k0 = 0; k0 < %lld; k0 += %lld)", K, KC);
    cg_line(e, "const int32_t kc = %lld - k0 < %lld ? %lld - k0 : %lld;", K, KC, K, KC);
    cg_line(e, "const int32_t last = k0 + kc == %lld;", K);
    cg_line(e, "const float *ak = %s + ((int64_t)g * %lld + mg * %lld + k0 * ng) * %lld;", A,
            MT * K, K, CH);
    cg_line(e, "(void)last;");
    prefetch_setup(e, pl, A, (long long)p->group);
    if (pl->padded)
        fill_band(e, p, pl);
    cg_open(e, "for (int32_t pt = 0; pt < nt; pt++)");
    cg_open(e, "for (int32_t mt = mg; mt < mg + ng; mt++)");
    prefetch_slice(e, pl, (long long)p->group);
    cg_line(e, "%s_cdk%lldx%lld(kc, ak + (int64_t)(mt - mg) * kc * %lld, xs, %s + k0,",
            P, NP, CH, CH, koff);
    cg_line(e, "    qv + pt * %lld,", NP);
    cg_line(e, "    t + (pt * %lld + mt - mg) * %lld, k0 > 0, %s);", MTG, NP * CH,
            final_args(e, n, p, pl));
    cg_close(e);
    cg_close(e);
    cg_close(e);
    if (pl->s.vw != 8)
        epilogue(e, n, p, pl);
    cg_close(e);
    if (pl->s.vw == 8 && n->act == ACT_SIGMOID)
        sigmoid_pass(e, n, p, pl);
}

static void driver(Emitter *e, const Node *n, const ConvParams *p, const Plan *pl)
{
    const Spatial *s = &p->sp;
    const char *A = pack_weights(e, n, p, pl), *koff = tap_offsets(e, p, pl);
    const char *X = cg_in(e, 0), *Y = cg_out(e, 0);
    const char *B = n->nin > 2 && n->in[2] ? cg_in(e, 2) : NULL;
    long long G = p->group, isz = s->in[1] * s->in[2], osz = s->out[1] * s->out[2];
    long long OH = s->out[1];
    if (pl->padded)
        cg_line(e, "float xb[%lld];", (long long)(pl->NCB * pl->cpitch));
    cg_line(e, "float t[%lld];", (long long)(pl->NT * pl->MTG * pl->CH * pl->s.np));
    cg_line(e, "int32_t qv[%lld];", (long long)(pl->NT * pl->s.np));
    cg_open(e, "for (int64_t ob = 0; ob < %lld; ob++)", (long long)p->N * G);
    cg_line(e, "const int32_t g = (int32_t)(ob %% %lld);", G);
    cg_line(e, "const float *x = %s + ob * %lld;", X, (long long)pl->Cg * isz);
    cg_line(e, "float *y = %s + ob * %lld;", Y, (long long)pl->Mg * osz);
    cg_line(e, "const float *bias = %s;",
            B ? arena_printf(&((Graph *)e->g)->arena, "%s + g * %lld", B, (long long)pl->Mg)
              : "0");
    cg_open(e, "for (int32_t oh0 = 0; oh0 < %lld; oh0 += %lld)", OH, (long long)pl->RB);
    cg_line(e, "const int32_t rb = %lld - oh0 < %lld ? %lld - oh0 : %lld;", OH,
            (long long)pl->RB, OH, (long long)pl->RB);
    cg_line(e, "const float *xs = %s;", pl->padded ? "xb" : arena_printf(
        &((Graph *)e->g)->arena, "x + oh0 * %lld", (long long)(s->stride[1] * s->in[2])));
    band(e, n, p, pl, A, koff);
    cg_close(e);
    cg_close(e);
}

bool cg_conv_direct(Emitter *e, const Node *n, const ConvParams *p)
{
    Plan pl = {0};
    if (!plan(e->opt->target, n, p, &pl))
        return false;
    ukr(e, &pl.s);
    cg_open(e, "%s", "");
    driver(e, n, p, &pl);
    cg_close(e);
    return true;
}
