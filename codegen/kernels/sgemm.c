/*
 * sgemm.c: the packed fp32 GEMM shared by Conv, Gemm and MatMul emitters.
 *   Y (M x N) (+)= A (M x K) B (K x N), N along the SIMD lanes.
 * A is packed in panels of MR rows, k-major ([M/MR][K][MR]; constant A at
 * compile time), B in panels of NR columns ([kc][NR], at run time, from a
 * strided matrix or as im2col of a convolution input, or at compile time
 * when constant). A register-blocked MR x NR microkernel (MR broadcasts x NR/VW
 * vectors, FMA) accumulates kc steps and applies bias and the fused
 * activation in registers. Per target: generic C (6 x 8; GNU C vectors where
 * the compiler has them, else fixed-size arrays), AVX2 (6 x 16 with FMA),
 * AVX-512 (8 x 32), NEON (8 x 12: 24 accumulators, 3 B vectors and the 8 A
 * values in 2 vectors, read by lane with vfmaq_laneq_f32: 29 of 32 registers).
 */
#include "codegen.h"
#include "conv_direct.h"
#include "opparams.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Tile {
    int mr, vw, nv; /* rows, vector width, vectors per row: NR = vw * nv */
    const char *vt, *pf; /* vector type and intrinsic prefix; NULL for generic C */
} Tile;

/* KC_MAX: K block; MC_MAX: rows of a runtime-packed A block; A_BLK_BYTES: a constant A
 * block (MC x KC floats) that stays in L2 while every column panel of B passes by. */
enum { KC_MAX = 256, MC_MAX = 48, A_BLK_BYTES = 256 << 10 };

static Tile tile_for(Target t)
{
    switch (t) {
    case TARGET_AVX2: return (Tile){6, 8, 2, "__m256", "_mm256"};
    case TARGET_AVX512: return (Tile){8, 16, 2, "__m512", "_mm512"};
    case TARGET_NEON: return (Tile){8, 4, 3, "float32x4_t", "neon"};
    case TARGET_GENERIC:
    case TARGET_COUNT: break;
    }
    return (Tile){6, 8, 1, NULL, NULL}; /* 12 SSE accumulators: no spills at baseline x86-64 */
}

/* ---- helpers emitted once per file ---- */

/* Scalar activation, codes = Act values (0 none ... 5 hard swish). */
static void act_helper(Emitter *e)
{
    Buf b = {0};
    const char *P = e->opt->name;
    buf_printf(&b, "static float %s_act(float v, int32_t act, float lo, float hi)\n{\n", P);
    buf_puts(&b, "    switch (act) {\n"
                 "    case 1: return v > 0.0f ? v : 0.0f;\n"
                 "    case 2: return v < lo ? lo : (v > hi ? hi : v);\n"
                 "    case 3: return v < 0.0f ? lo * v : v;\n"
                 "    case 4: return 1.0f / (1.0f + expf(-v));\n"
                 "    case 5: {\n"
                 "        float t = v * (1.0f / 6.0f) + 0.5f;\n"
                 "        return v * (t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t));\n"
                 "    }\n"
                 "    default: return v;\n    }\n}\n");
    cg_helper(e, "sgemm_act", b.p);
    buf_free(&b);
}

/* The signature every microkernel shares, named P_sfx. */
static void ukr_signature(Buf *b, const char *P, const char *sfx)
{
    buf_printf(b, "static void %s_%s(int32_t kc, const float *restrict a,\n"
                  "    const float *restrict b, float *restrict y, int64_t ldy, int32_t load,\n"
                  "    const float *bias, int32_t act, float lo, float hi)\n{\n", P, sfx);
}

static void ukr_head(Buf *b, const char *P)
{
    buf_puts(b, "/* Y tile (MR x NR, row stride ldy) = (load ? Y : bias)\n"
                " *   + a (kc x MR) . b (kc x NR); then activation act. */\n");
    ukr_signature(b, P, "ukr");
}

/* The activations the vector epilogue leaves to P_act (act 4), on the rows x cols tile
 * of y, and the microkernel's closing brace. */
static void ukr_act_tail(Buf *b, const char *P, int rows, int cols)
{
    if (rows == 1) {
        buf_printf(b, "    if (act == 4)\n"
                      "        for (int32_t j = 0; j < %d; j++)\n"
                      "            y[j] = %s_act(y[j], act, lo, hi);\n}\n", cols, P);
        return;
    }
    buf_printf(b, "    if (act == 4)\n"
                  "        for (int32_t r = 0; r < %d; r++)\n"
                  "            for (int32_t j = 0; j < %d; j++)\n"
                  "                y[r * ldy + j] = %s_act(y[r * ldy + j], act, lo, hi);\n}\n",
               rows, cols, P);
}

/* Plain C loops: the fallback for compilers without GNU vector extensions. */
static void ukr_loops(Buf *b, const char *P, Tile t)
{
    int NR = t.vw * t.nv;
    buf_printf(b, "    float acc[%d][%d];\n", t.mr, NR);
    buf_printf(b, "    for (int32_t r = 0; r < %d; r++)\n"
                  "        for (int32_t j = 0; j < %d; j++)\n"
                  "            acc[r][j] = load ? y[r * ldy + j] : (bias ? bias[r] : 0.0f);\n",
               t.mr, NR);
    buf_printf(b, "    for (int32_t k = 0; k < kc; k++)\n"
                  "        for (int32_t r = 0; r < %d; r++)\n"
                  "            for (int32_t j = 0; j < %d; j++)\n"
                  "                acc[r][j] += a[k * %d + r] * b[k * %d + j];\n",
               t.mr, NR, t.mr, NR);
    buf_printf(b, "    for (int32_t r = 0; r < %d; r++)\n"
                  "        for (int32_t j = 0; j < %d; j++)\n"
                  "            y[r * ldy + j] = act ? %s_act(acc[r][j], act, lo, hi)\n"
                  "                                 : acc[r][j];\n",
               t.mr, NR, P);
}

/* 4-float vectors of the GNU C vector extension (gcc, clang): plain loops
 * over fixed arrays get vectorized along the wrong dimension, with spills. */
static void ukr_vec4(Buf *b, const char *P, Tile t)
{
    int NR = t.vw * t.nv, NV = NR / 4;
    buf_printf(b, "    typedef float v4 __attribute__((vector_size(16)));\n"
                  "    v4 acc[%d][%d], bv[%d];\n    float tmp[%d];\n", t.mr, NV, NV, NR);
    buf_printf(b, "    for (int32_t r = 0; r < %d; r++) {\n"
                  "        for (int32_t j = 0; j < %d; j++)\n"
                  "            tmp[j] = load ? y[r * ldy + j] : (bias ? bias[r] : 0.0f);\n"
                  "        memcpy(acc[r], tmp, sizeof tmp);\n    }\n", t.mr, NR);
    buf_printf(b, "    for (int32_t k = 0; k < kc; k++) {\n"
                  "        memcpy(bv, b + k * %d, sizeof bv);\n"
                  "        for (int32_t r = 0; r < %d; r++) {\n"
                  "            const float s = a[k * %d + r];\n"
                  "            const v4 av = {s, s, s, s};\n"
                  "            for (int32_t v = 0; v < %d; v++)\n"
                  "                acc[r][v] += av * bv[v];\n"
                  "        }\n    }\n", NR, t.mr, t.mr, NV);
    buf_printf(b, "    for (int32_t r = 0; r < %d; r++) {\n"
                  "        memcpy(tmp, acc[r], sizeof tmp);\n"
                  "        for (int32_t j = 0; j < %d; j++)\n"
                  "            y[r * ldy + j] = act ? %s_act(tmp[j], act, lo, hi) : tmp[j];\n"
                  "    }\n", t.mr, NR, P);
}

static void ukr_generic(Buf *b, const char *P, Tile t)
{
    ukr_head(b, P);
    buf_puts(b, "#if defined(__GNUC__)\n");
    ukr_vec4(b, P, t);
    buf_puts(b, "#else\n");
    ukr_loops(b, P, t);
    buf_puts(b, "#endif\n}\n");
}

void cg_simd_act_consts(Buf *b, const char *vt, const char *pf)
{
    buf_printf(b, "        const %s z = %s_setzero_ps(), vl = %s_set1_ps(lo),\n"
                  "            vh = %s_set1_ps(hi);\n"
                  "        const %s s6 = %s_set1_ps(1.0f / 6.0f), h = %s_set1_ps(0.5f), "
                  "one = %s_set1_ps(1.0f);\n",
               vt, pf, pf, pf, vt, pf, pf, pf);
}

void cg_simd_act(Buf *b, const char *pf, const char *v)
{
    const char *fmt = "        %s = act == 1 ? %s_max_ps(%s, z)\n"
                      "            : act == 2 ? %s_min_ps(%s_max_ps(%s, vl), vh)\n"
                      "            : act == 3 ? %s_add_ps(%s_max_ps(%s, z), %s_mul_ps(vl, "
                      "%s_min_ps(%s, z)))\n"
                      "            : %s_mul_ps(%s, %s_min_ps(%s_max_ps(%s_add_ps(%s_mul_ps(%s, "
                      "s6), h), z), one));\n";
    buf_printf(b, fmt, v, pf, v, pf, pf, v, pf, pf, v, pf, pf, v, pf, v, pf, pf, pf, pf, v);
}

/* Activation in registers for every accumulator; sigmoid (4) is applied after the store. */
static void simd_epilogue(Buf *b, Tile t)
{
    const char *pf = t.pf;
    buf_puts(b, "    if (act == 1 || act == 2 || act == 3 || act == 5) {\n");
    cg_simd_act_consts(b, t.vt, pf);
    for (int r = 0; r < t.mr; r++)
        for (int v = 0; v < t.nv; v++) {
            char var[32];
            snprintf(var, sizeof var, "c%d_%d", r, v);
            cg_simd_act(b, pf, var);
        }
    buf_puts(b, "    }\n");
    for (int r = 0; r < t.mr; r++)
        for (int v = 0; v < t.nv; v++)
            buf_printf(b, "    %s_storeu_ps(y + %d * ldy + %d, c%d_%d);\n", pf, r, v * t.vw, r, v);
}

static void ukr_simd(Buf *b, const char *P, Tile t)
{
    const char *pf = t.pf, *vt = t.vt;
    int NR = t.vw * t.nv;
    ukr_head(b, P);
    for (int r = 0; r < t.mr; r++)
        for (int v = 0; v < t.nv; v++)
            buf_printf(b, "    %s c%d_%d = load ? %s_loadu_ps(y + %d * ldy + %d) : bias ? "
                          "%s_set1_ps(bias[%d]) : %s_setzero_ps();\n",
                       vt, r, v, pf, r, v * t.vw, pf, r, pf);
    buf_puts(b, "    for (int32_t k = 0; k < kc; k++) {\n");
    for (int v = 0; v < t.nv; v++)
        buf_printf(b, "        const %s b%d = %s_loadu_ps(b + k * %d + %d);\n", vt, v, pf, NR,
                   v * t.vw);
    for (int r = 0; r < t.mr; r++) {
        buf_printf(b, "        const %s a%d = %s_set1_ps(a[k * %d + %d]);\n", vt, r, pf, t.mr, r);
        for (int v = 0; v < t.nv; v++)
            buf_printf(b, "        c%d_%d = %s_fmadd_ps(a%d, b%d, c%d_%d);\n", r, v, pf, r, v, r,
                       v);
    }
    buf_puts(b, "    }\n");
    simd_epilogue(b, t);
    ukr_act_tail(b, P, t.mr, NR);
}

/* The half-width tile (MR x NR / 2) for a last panel of at most NR / 2 columns (7 x 7
 * images: 49 = 3 x 16 + 1 on AVX2), reading B rows of the full panel width NR. Two
 * accumulator sets for even and odd k keep 2 x MR FMAs in flight, as the full tile does. */
static void ukr_half_simd(Buf *b, const char *P, Tile t)
{
    const char *pf = t.pf, *vt = t.vt;
    int NR = t.vw * t.nv;
    Tile h = t;
    h.nv = 1;
    ukr_signature(b, P, "ukrh");
    for (int r = 0; r < t.mr; r++)
        buf_printf(b, "    %s c%d_0 = load ? %s_loadu_ps(y + %d * ldy) : bias ? %s_set1_ps(bias[%d]) "
                      ": %s_setzero_ps(), d%d = %s_setzero_ps();\n",
                   vt, r, pf, r, pf, r, pf, r, pf);
    buf_puts(b, "    int32_t k = 0;\n    for (; k + 1 < kc; k += 2) {\n");
    buf_printf(b, "        const %s b0 = %s_loadu_ps(b + k * %d), b1 = %s_loadu_ps(b + k * %d + %d);\n",
               vt, pf, NR, pf, NR, NR);
    for (int r = 0; r < t.mr; r++)
        buf_printf(b, "        c%d_0 = %s_fmadd_ps(%s_set1_ps(a[k * %d + %d]), b0, c%d_0);\n"
                      "        d%d = %s_fmadd_ps(%s_set1_ps(a[k * %d + %d]), b1, d%d);\n",
                   r, pf, pf, t.mr, r, r, r, pf, pf, t.mr, t.mr + r, r);
    buf_puts(b, "    }\n    if (k < kc) {\n");
    buf_printf(b, "        const %s b0 = %s_loadu_ps(b + k * %d);\n", vt, pf, NR);
    for (int r = 0; r < t.mr; r++)
        buf_printf(b, "        c%d_0 = %s_fmadd_ps(%s_set1_ps(a[k * %d + %d]), b0, c%d_0);\n", r, pf,
                   pf, t.mr, r, r);
    buf_puts(b, "    }\n");
    for (int r = 0; r < t.mr; r++)
        buf_printf(b, "    c%d_0 = %s_add_ps(c%d_0, d%d);\n", r, pf, r, r);
    simd_epilogue(b, h);
    ukr_act_tail(b, P, t.mr, t.vw);
}

/* The one-row tile (1 x NR) for M = 1 (a Gemm or MatMul of batch 1), where the MR-row
 * tile would compute MR - 1 rows of zeros: even and odd k in two accumulator sets. */
static void ukr_row_simd(Buf *b, const char *P, Tile t)
{
    const char *pf = t.pf, *vt = t.vt;
    int NR = t.vw * t.nv;
    Tile h = t;
    h.mr = 1;
    ukr_signature(b, P, "ukr1");
    for (int v = 0; v < t.nv; v++)
        buf_printf(b, "    %s c0_%d = load ? %s_loadu_ps(y + %d) : bias ? %s_set1_ps(bias[0]) "
                      ": %s_setzero_ps(), d%d = %s_setzero_ps();\n",
                   vt, v, pf, v * t.vw, pf, pf, v, pf);
    buf_puts(b, "    int32_t k = 0;\n    for (; k + 1 < kc; k += 2) {\n");
    buf_printf(b, "        const %s a0 = %s_set1_ps(a[k * %d]), a1 = %s_set1_ps(a[k * %d + %d]);\n",
               vt, pf, t.mr, pf, t.mr, t.mr);
    for (int v = 0; v < t.nv; v++)
        buf_printf(b, "        c0_%d = %s_fmadd_ps(a0, %s_loadu_ps(b + k * %d + %d), c0_%d);\n"
                      "        d%d = %s_fmadd_ps(a1, %s_loadu_ps(b + k * %d + %d), d%d);\n",
                   v, pf, pf, NR, v * t.vw, v, v, pf, pf, NR, NR + v * t.vw, v);
    buf_puts(b, "    }\n    if (k < kc) {\n");
    for (int v = 0; v < t.nv; v++)
        buf_printf(b, "        c0_%d = %s_fmadd_ps(%s_set1_ps(a[k * %d]), %s_loadu_ps(b + k * %d + %d), "
                      "c0_%d);\n", v, pf, pf, t.mr, pf, NR, v * t.vw, v);
    buf_puts(b, "    }\n");
    for (int v = 0; v < t.nv; v++)
        buf_printf(b, "    c0_%d = %s_add_ps(c0_%d, d%d);\n", v, pf, v, v);
    simd_epilogue(b, h);
    ukr_act_tail(b, P, 1, NR);
}

/* NEON: the activations of simd_epilogue with AArch64 intrinsics. */
static void neon_epilogue(Buf *b, Tile t)
{
    buf_puts(b, "    if (act == 1 || act == 2 || act == 3 || act == 5) {\n"
                "        const float32x4_t z = vdupq_n_f32(0.0f), vl = vdupq_n_f32(lo),\n"
                "            vh = vdupq_n_f32(hi);\n"
                "        const float32x4_t s6 = vdupq_n_f32(1.0f / 6.0f), h = vdupq_n_f32(0.5f),\n"
                "            one = vdupq_n_f32(1.0f);\n");
    for (int r = 0; r < t.mr; r++)
        for (int v = 0; v < t.nv; v++)
            buf_printf(b, "        c%d_%d = act == 1 ? vmaxq_f32(c%d_%d, z)\n"
                          "            : act == 2 ? vminq_f32(vmaxq_f32(c%d_%d, vl), vh)\n"
                          "            : act == 3 ? vaddq_f32(vmaxq_f32(c%d_%d, z), "
                          "vmulq_f32(vl, vminq_f32(c%d_%d, z)))\n"
                          "            : vmulq_f32(c%d_%d, vminq_f32(vmaxq_f32(vaddq_f32(vmulq_f32("
                          "c%d_%d, s6), h), z), one));\n",
                       r, v, r, v, r, v, r, v, r, v, r, v, r, v);
    buf_puts(b, "    }\n");
    for (int r = 0; r < t.mr; r++)
        for (int v = 0; v < t.nv; v++)
            buf_printf(b, "    vst1q_f32(y + %d * ldy + %d, c%d_%d);\n", r, v * t.vw, r, v);
}

/* NEON: A is read as MR / 4 vectors and broadcast by lane inside the FMA. */
static void ukr_neon(Buf *b, const char *P, Tile t)
{
    int NR = t.vw * t.nv;
    ukr_head(b, P);
    for (int r = 0; r < t.mr; r++)
        for (int v = 0; v < t.nv; v++)
            buf_printf(b, "    float32x4_t c%d_%d = load ? vld1q_f32(y + %d * ldy + %d) : "
                          "vdupq_n_f32(bias ? bias[%d] : 0.0f);\n", r, v, r, v * t.vw, r);
    buf_puts(b, "    for (int32_t k = 0; k < kc; k++) {\n");
    for (int v = 0; v < t.nv; v++)
        buf_printf(b, "        const float32x4_t b%d = vld1q_f32(b + k * %d + %d);\n", v, NR,
                   v * t.vw);
    for (int q = 0; q < t.mr / 4; q++)
        buf_printf(b, "        const float32x4_t a%d = vld1q_f32(a + k * %d + %d);\n", q, t.mr,
                   4 * q);
    for (int r = 0; r < t.mr; r++)
        for (int v = 0; v < t.nv; v++)
            buf_printf(b, "        c%d_%d = vfmaq_laneq_f32(c%d_%d, b%d, a%d, %d);\n", r, v, r,
                       v, v, r / 4, r % 4);
    buf_puts(b, "    }\n");
    neon_epilogue(b, t);
    ukr_act_tail(b, P, t.mr, NR);
}

/* Partial tiles (mr < MR or nr < NR) go through a full temporary tile of NR columns;
 * sfx names the microkernel (_ukr, or _ukrh for the half-width tile). */
static void edge_helper(Buf *b, const char *P, Tile t, int NR, const char *sfx)
{
    buf_printf(b, "static void %s_%s_edge(int32_t mr, int32_t nr, int32_t kc, const float *a,\n"
                  "    const float *b, float *y, int64_t ldy, int32_t load, const float *bias,\n"
                  "    int32_t act, float lo, float hi)\n{\n"
                  "    float t[%d * %d] = {0}, bt[%d] = {0};\n", P, sfx, t.mr, NR, t.mr);
    buf_printf(b, "    for (int32_t r = 0; r < mr; r++) {\n"
                  "        bt[r] = bias ? bias[r] : 0.0f;\n"
                  "        for (int32_t j = 0; j < nr && load; j++)\n"
                  "            t[r * %d + j] = y[r * ldy + j];\n    }\n", NR);
    buf_printf(b, "    %s_%s(kc, a, b, t, %d, load, bias ? bt : 0, act, lo, hi);\n", P, sfx, NR);
    buf_printf(b, "    for (int32_t r = 0; r < mr; r++)\n"
                  "        for (int32_t j = 0; j < nr; j++)\n"
                  "            y[r * ldy + j] = t[r * %d + j];\n}\n", NR);
}

/* Whether the target has the half-width and one-row tiles: x86 intrinsics, two B
 * vectors per row. */
static bool has_half(Tile t)
{
    return t.vt && t.nv == 2 && strcmp(t.pf, "neon") != 0;
}

static void ensure_helpers(Emitter *e, Tile t)
{
    act_helper(e);
    Buf b = {0};
    const char *P = e->opt->name;
    if (e->opt->target == TARGET_NEON)
        ukr_neon(&b, P, t);
    else if (t.vt)
        ukr_simd(&b, P, t);
    else
        ukr_generic(&b, P, t);
    edge_helper(&b, P, t, t.vw * t.nv, "ukr");
    if (has_half(t)) {
        Tile r = t;
        r.mr = 1;
        ukr_half_simd(&b, P, t);
        edge_helper(&b, P, t, t.vw, "ukrh");
        ukr_row_simd(&b, P, t);
        edge_helper(&b, P, r, t.vw * t.nv, "ukr1");
    }
    cg_helper(e, "sgemm_ukr", b.p);
    buf_free(&b);
}

const char *cg_act_expr(Emitter *e, const Node *n, const char *v)
{
    Arena *A = &((Graph *)e->g)->arena;
    if (n->act == ACT_NONE)
        return arena_printf(A, "(%s)", v);
    act_helper(e);
    return arena_printf(A, "%s_act(%s, %d, %a, %a)", e->opt->name, v, (int)n->act,
                        (double)n->act_lo, (double)n->act_hi);
}

/* ---- compile-time packing ---- */

static int64_t ceil_to(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

/* nconst matrices, each rows (M or N) x K, into [c][rows/R][K][R], zero-padded, times scale. */
static const char *pack_const(Emitter *e, const SgemmOperand *o, int64_t rows, int64_t K, int R,
                              float scale, const char *hint)
{
    int64_t rp = ceil_to(rows, R), nc = o->nconst > 0 ? o->nconst : 1;
    float *buf = calloc((size_t)(nc * rp * K), sizeof *buf);
    if (!buf)
        wr_die(__FILE__, __LINE__, "out of memory");
    for (int64_t c = 0; c < nc; c++)
        for (int64_t r = 0; r < rows; r++)
            for (int64_t k = 0; k < K; k++)
                buf[((c * (rp / R) + r / R) * K + k) * R + r % R] =
                    o->data[c * o->cstride + k * o->sk + r * o->so] * scale;
    const char *name = cg_const_array(e, hint, DT_F32, buf, nc * rp * K);
    free(buf);
    return name;
}

/* ---- the driver, written into the node function ---- */

static const char *flit(Emitter *e, float v)
{
    Buf b = {0};
    cg_literal(&b, DT_F32, &v, 0);
    const char *s = arena_strdup(&((Graph *)e->g)->arena, b.p);
    buf_free(&b);
    return s;
}

static void pack_a_runtime(Emitter *e, const SgemmSpec *s, Tile t)
{
    cg_open(e, "for (int64_t i = 0; i < (mc + %d) / %d * %d; i++)", t.mr - 1, t.mr, t.mr);
    cg_line(e, "float *dst = apack + (i / %d * kc) * %d + i %% %d;", t.mr, t.mr, t.mr);
    cg_open(e, "if (i >= mc)");
    cg_line(e, "for (int32_t k = 0; k < kc; k++) dst[k * %d] = 0.0f;", t.mr);
    cg_line(e, "continue;");
    cg_close(e);
    cg_line(e, "const float *src = A + (m0 + i) * %lld + k0 * %lld;", (long long)s->A.so,
            (long long)s->A.sk);
    const char *alpha = s->alpha == 1.0f ? "" : arena_printf(&((Graph *)e->g)->arena, "%s * ",
                                                              flit(e, s->alpha));
    cg_line(e, "for (int32_t k = 0; k < kc; k++) dst[k * %d] = %ssrc[k * %lld];", t.mr, alpha,
            (long long)s->A.sk);
    cg_close(e);
}

static void pack_b_strided(Emitter *e, const SgemmSpec *s, Tile t)
{
    int NR = t.vw * t.nv;
    cg_open(e, "for (int32_t k = 0; k < kc; k++)");
    cg_line(e, "const float *src = B + (k0 + k) * %lld + n0 * %lld;", (long long)s->B.sk,
            (long long)s->B.so);
    cg_line(e, "float *dst = bpack + k * %d;", NR);
    cg_open(e, "if (nr == %d)", NR);
    cg_line(e, "for (int32_t j = 0; j < %d; j++) dst[j] = src[j * %lld];", NR, (long long)s->B.so);
    cg_close(e);
    cg_open(e, "else");
    cg_line(e, "for (int32_t j = 0; j < %d; j++) dst[j] = j < nr ? src[j * %lld] : 0.0f;", NR,
            (long long)s->B.so);
    cg_close(e);
    cg_close(e);
}

/* Output positions [lo, hi) of spatial dim i whose every tap is inside the input. */
static void interior(const Spatial *s, int i, int64_t *lo, int64_t *hi)
{
    int64_t p = s->pad0[i], st = s->stride[i], ext = (s->k[i] - 1) * s->dil[i];
    *lo = (p + st - 1) / st;
    int64_t top = s->in[i] - 1 + p - ext;
    *hi = top < 0 ? 0 : top / st + 1;
    *hi = *hi > s->out[i] ? s->out[i] : *hi;
    *lo = *lo > *hi ? *hi : *lo;
}

/* Pixel coordinates of the panel and its segments: runs of pixels in one
 * output row that are all interior (every tap in bounds) or all not. */
static void im2col_setup(Emitter *e, const ConvParams *p, const char *noff, int NR)
{
    const Spatial *s = &p->sp;
    long long OH = s->out[1], OW = s->out[2];
    int64_t lo[3], hi[3];
    for (int i = 0; i < 3; i++)
        interior(s, i, &lo[i], &hi[i]);
    cg_line(e, "int32_t bd[%d], bh[%d], bw[%d], seg[%d + 1], sint[%d], sbase[%d], nseg = 0, "
               "cls = -1;", NR, NR, NR, NR, NR, NR);
    cg_open(e, "for (int32_t j = 0; j < nr; j++)");
    const char *n0 = noff ? arena_printf(&((Graph *)e->g)->arena, "(%s + n0)", noff) : "n0";
    cg_line(e, "const int32_t q = (int32_t)%s + j, od = q / %lld, oh = q / %lld %% %lld, "
               "ow = q %% %lld;", n0, OH * OW, OW, OH, OW);
    cg_line(e, "bd[j] = od * %lld - %lld;", (long long)s->stride[0], (long long)s->pad0[0]);
    cg_line(e, "bh[j] = oh * %lld - %lld;", (long long)s->stride[1], (long long)s->pad0[1]);
    cg_line(e, "bw[j] = ow * %lld - %lld;", (long long)s->stride[2], (long long)s->pad0[2]);
    cg_line(e, "const int32_t rowin = od >= %lld && od < %lld && oh >= %lld && oh < %lld;",
            (long long)lo[0], (long long)hi[0], (long long)lo[1], (long long)hi[1]);
    cg_line(e, "const int32_t c2 = ow < %lld ? 0 : ow < %lld ? 1 : 2;", (long long)lo[2],
            (long long)hi[2]);
    cg_open(e, "if (j == 0 || bh[j] != bh[j - 1] || bd[j] != bd[j - 1] || c2 != cls)");
    cg_line(e, "sint[nseg] = rowin && c2 == 1;");
    cg_line(e, "sbase[nseg] = (bd[j] * %lld + bh[j]) * %lld + bw[j];", (long long)s->in[1],
            (long long)s->in[2]);
    cg_line(e, "seg[nseg++] = j;");
    cg_close(e);
    cg_line(e, "cls = c2;");
    cg_close(e);
    cg_line(e, "seg[nseg] = nr;");
    cg_line(e, "const int32_t whole = nseg == 1 && sint[0] && nr == %d;", NR);
}

/* Interior segment: a strided copy; a fixed-length one (vectorized) where the
 * over-read stays inside the input (bpack has NR floats of slack). */
static void im2col_interior(Emitter *e, const ConvParams *p, int NR)
{
    const Spatial *s = &p->sp;
    long long SW = s->stride[2], isz = s->in[0] * s->in[1] * s->in[2];
    long long Cg = p->C / p->group;
    cg_open(e, "if (sint[g])");
    cg_line(e, "const int32_t o = sbase[g] + toff;");
    cg_line(e, "const float *src = xc + o;");
    cg_open(e, "if (c * %lld + o + %lld <= %lld)", isz, (long long)NR * SW, Cg * isz);
    cg_line(e, "for (int32_t q = 0; q < %d; q++) dst[j0 + q] = src[q * %lld];", NR, SW);
    cg_close(e);
    cg_open(e, "else");
    cg_line(e, "for (int32_t q = 0; q < len; q++) dst[j0 + q] = src[q * %lld];", SW);
    cg_close(e);
    cg_line(e, "continue;");
    cg_close(e);
}

/* One k row of the panel; border segments check each tap. */
static void im2col_row(Emitter *e, const ConvParams *p, int NR)
{
    const Spatial *s = &p->sp;
    long long ID = s->in[0], IH = s->in[1], IW = s->in[2], SW = s->stride[2];
    cg_line(e, "const float *xc = B + c * %lld;", (long long)(ID * IH * IW));
    cg_line(e, "float *dst = bpack + k * %d;", NR);
    cg_line(e, "const int32_t dd = kd * %lld, dh = kh * %lld, dw = kw * %lld;",
            (long long)s->dil[0], (long long)s->dil[1], (long long)s->dil[2]);
    cg_line(e, "const int32_t toff = (dd * %lld + dh) * %lld + dw;", IH, IW);
    cg_open(e, "for (int32_t g = 0; g < nseg; g++)");
    cg_line(e, "const int32_t j0 = seg[g], len = seg[g + 1] - j0;");
    im2col_interior(e, p, NR);
    cg_line(e, "const int32_t id = bd[j0] + dd, ih = bh[j0] + dh, iw0 = bw[j0] + dw;");
    cg_open(e, "if ((uint32_t)id >= %lldu || (uint32_t)ih >= %lldu)", ID, IH);
    cg_line(e, "for (int32_t q = 0; q < len; q++) dst[j0 + q] = 0.0f;");
    cg_line(e, "continue;");
    cg_close(e);
    cg_line(e, "const float *src = xc + (id * %lld + ih) * %lld;", IH, IW);
    cg_open(e, "for (int32_t q = 0; q < len; q++)");
    cg_line(e, "const int32_t iw = iw0 + q * %lld;", SW);
    cg_line(e, "dst[j0 + q] = (uint32_t)iw < %lldu ? src[iw] : 0.0f;", IW);
    cg_close(e);
    cg_close(e);
    cg_line(e, "for (int32_t j = nr; j < %d; j++) dst[j] = 0.0f;", NR);
}

/* koff[k]: offset of k = (c, kd, kh, kw)'s tap from a pixel's window origin. */
static const char *koff_table(Emitter *e, const ConvParams *p)
{
    const Spatial *s = &p->sp;
    int64_t K = p->C / p->group * s->k[0] * s->k[1] * s->k[2], k = 0;
    int32_t *t = malloc(sizeof *t * (size_t)K);
    if (!t)
        wr_die(__FILE__, __LINE__, "out of memory");
    for (int64_t c = 0; c < p->C / p->group; c++)
        for (int64_t kd = 0; kd < s->k[0]; kd++)
            for (int64_t kh = 0; kh < s->k[1]; kh++)
                for (int64_t kw = 0; kw < s->k[2]; kw++)
                    t[k++] = (int32_t)(((c * s->in[0] + kd * s->dil[0]) * s->in[1] +
                                        kh * s->dil[1]) * s->in[2] + kw * s->dil[2]);
    const char *name = cg_const_array(e, "koff", DT_I32, t, K);
    free(t);
    return name;
}

static void pack_b_im2col(Emitter *e, const ConvParams *p, const char *noff, Tile t)
{
    const Spatial *s = &p->sp;
    int NR = t.vw * t.nv;
    long long KD = s->k[0], KH = s->k[1], KW = s->k[2], KSZ = KD * KH * KW;
    const char *koff = koff_table(e, p);
    im2col_setup(e, p, noff, NR);
    cg_line(e, "int32_t c = (int32_t)(k0 / %lld), t = (int32_t)(k0 %% %lld);", KSZ, KSZ);
    cg_line(e, "int32_t kd = t / %lld, kh = t / %lld %% %lld, kw = t %% %lld;", KH * KW, KW, KH,
            KW);
    cg_open(e, "for (int32_t k = 0; k < kc; k++)");
    /* the whole panel is one interior run: a fixed-length copy, no bounds */
    cg_open(e, "if (whole)");
    cg_line(e, "const float *src = B + %s[k0 + k] + sbase[0];", koff);
    cg_line(e, "for (int32_t q = 0; q < %d; q++) bpack[k * %d + q] = src[q * %lld];", NR, NR,
            (long long)s->stride[2]);
    cg_close(e);
    cg_open(e, "else");
    im2col_row(e, p, NR);
    cg_close(e);
    cg_line(e, "if (++kw == %lld) { kw = 0; if (++kh == %lld) { kh = 0; if (++kd == %lld) "
               "{ kd = 0; c++; } } }", KW, KH, KD);
    cg_close(e);
}

/* Per-ob pointers: runtime operands, constant panels, output and bias. */
static void driver_bases(Emitter *e, const SgemmSpec *s, const char *Apk, const char *Bpk,
                         Tile t)
{
    int NR = t.vw * t.nv;
    if (Apk)
        cg_line(e, "const float *Ap = %s + (int64_t)(%s) * %lld;", Apk, s->A.cidx ? s->A.cidx : "0",
                (long long)(ceil_to(s->M, t.mr) * s->K));
    else
        cg_line(e, "const float *A = %s;", s->A.base);
    if (Bpk)
        cg_line(e, "const float *Bp = %s + (int64_t)(%s) * %lld;", Bpk, s->B.cidx ? s->B.cidx : "0",
                (long long)(ceil_to(s->N, NR) * s->K));
    else
        cg_line(e, "const float *B = %s;", s->B.base);
    cg_line(e, "float *Y = %s;", s->Y);
    cg_line(e, "const float *bias = %s;", s->bias ? s->bias : "0");
}

static void driver_tile(Emitter *e, const SgemmSpec *s, Tile t, bool apacked, bool bconst)
{
    int NR = t.vw * t.nv;
    const char *P = e->opt->name;
    const Node *an = s->act_node;
    int act = an ? (int)an->act : 0;
    if (bconst)
        cg_line(e, "const float *bp = Bp + (n0 / %d * %lld + k0) * %d;", NR, (long long)s->K, NR);
    cg_open(e, "for (int64_t m1 = 0; m1 < mc; m1 += %d)", t.mr);
    if (apacked)
        cg_line(e, "const float *ap = Ap + ((m0 + m1) / %d * %lld + k0) * %d;", t.mr,
                (long long)s->K, t.mr);
    else
        cg_line(e, "const float *ap = apack + m1 * kc;");
    cg_line(e, "const int32_t mr = (int32_t)(mc - m1 < %d ? mc - m1 : %d);", t.mr, t.mr);
    cg_line(e, "float *y = Y + (m0 + m1) * %lld + n0;", (long long)s->ldy);
    cg_line(e, "const float *bb = load || !bias ? 0 : bias + m0 + m1;");
    const char *lo = flit(e, an ? an->act_lo : 0.0f), *hi = flit(e, an ? an->act_hi : 0.0f);
    cg_line(e, "const int32_t act = k0 + kc == %lld ? %d : 0;", (long long)s->K, act);
    cg_line(e, "if (mr == %d && nr == %d) %s_ukr(kc, ap, %s, y, %lld, load, bb, act, %s, %s);",
            t.mr, NR, P, bconst ? "bp" : "bpack", (long long)s->ldy, lo, hi);
    if (has_half(t)) {
        cg_line(e, "else if (mr == 1 && nr == %d) %s_ukr1(kc, ap, %s, y, %lld, load, bb, act, "
                   "%s, %s);", NR, P, bconst ? "bp" : "bpack", (long long)s->ldy, lo, hi);
        cg_line(e, "else if (mr == 1) %s_ukr1_edge(mr, nr, kc, ap, %s, y, %lld, load, bb, act, "
                   "%s, %s);", P, bconst ? "bp" : "bpack", (long long)s->ldy, lo, hi);
    }
    if (has_half(t))
        cg_line(e, "else if (nr <= %d) %s_ukrh_edge(mr, nr, kc, ap, %s, y, %lld, load, bb, act, "
                   "%s, %s);", t.vw, P, bconst ? "bp" : "bpack", (long long)s->ldy, lo, hi);
    cg_line(e, "else %s_ukr_edge(mr, nr, kc, ap, %s, y, %lld, load, bb, act, %s, %s);", P,
            bconst ? "bp" : "bpack", (long long)s->ldy, lo, hi);
    cg_close(e);
}

/* Rows of a constant A block: all M when M x KC fits A_BLK_BYTES, else the fewest
 * balanced blocks that fit (whole MR panels). Without it, a wide layer (1280 x 160
 * floats of A for 49 pixels) streams all of A from L3 once per column panel of B. */
static int64_t const_a_rows(int64_t M, int64_t KC, int mr)
{
    int64_t rows = A_BLK_BYTES / (KC * (int64_t)sizeof(float)) / mr * mr;
    rows = rows < mr ? mr : rows;
    int64_t nb = (ceil_to(M, mr) + rows - 1) / rows;
    return ceil_to((M + nb - 1) / nb, mr);
}

void cg_sgemm(Emitter *e, const SgemmSpec *s)
{
    Tile t = tile_for(e->opt->target);
    int NR = t.vw * t.nv;
    ensure_helpers(e, t);
    const char *Apk = s->A.data ? pack_const(e, &s->A, s->M, s->K, t.mr, s->alpha, "pa") : NULL;
    const char *Bpk = s->B.data && !s->conv ? pack_const(e, &s->B, s->N, s->K, NR, 1.0f, "pb")
                                            : NULL;
    int64_t nkb = (s->K + KC_MAX - 1) / KC_MAX, KC = (s->K + nkb - 1) / nkb;
    int64_t MC = Apk ? const_a_rows(s->M, KC, t.mr)
                     : (ceil_to(s->M, t.mr) < MC_MAX ? ceil_to(s->M, t.mr) : MC_MAX);
    cg_open(e, "%s", "");
    if (!Bpk)
        cg_line(e, "float bpack[%lld * %d + %d];", (long long)KC, NR, NR);
    if (!Apk)
        cg_line(e, "float apack[%lld * %lld];", (long long)MC, (long long)KC);
    cg_open(e, "for (int64_t ob = 0; ob < %lld; ob++)", (long long)s->nouter);
    driver_bases(e, s, Apk, Bpk, t);
    cg_open(e, "for (int64_t k0 = 0; k0 < %lld; k0 += %lld)", (long long)s->K, (long long)KC);
    cg_line(e, "const int32_t kc = (int32_t)(%lld - k0 < %lld ? %lld - k0 : %lld);",
            (long long)s->K, (long long)KC, (long long)s->K, (long long)KC);
    cg_line(e, "const int32_t load = %s;", s->accumulate ? "1" : "k0 > 0");
    cg_open(e, "for (int64_t m0 = 0; m0 < %lld; m0 += %lld)", (long long)s->M, (long long)MC);
    cg_line(e, "const int64_t mc = %lld - m0 < %lld ? %lld - m0 : %lld;", (long long)s->M,
            (long long)MC, (long long)s->M, (long long)MC);
    if (!Apk)
        pack_a_runtime(e, s, t);
    cg_open(e, "for (int64_t n0 = 0; n0 < %lld; n0 += %d)", (long long)s->N, NR);
    cg_line(e, "const int32_t nr = (int32_t)(%lld - n0 < %d ? %lld - n0 : %d);", (long long)s->N,
            NR, (long long)s->N, NR);
    if (s->conv)
        pack_b_im2col(e, s->conv, s->noff, t);
    else if (!Bpk)
        pack_b_strided(e, s, t);
    driver_tile(e, s, t, Apk != NULL, Bpk != NULL);
    for (int i = 0; i < 5; i++)
        cg_close(e);
}
