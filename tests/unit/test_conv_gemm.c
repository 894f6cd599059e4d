/*
 * test_conv_gemm.c: Conv, Gemm and MatMul with fused activations.
 * 1. The reference evals (ir/ops/) against naive loops written here, for
 *    shapes chosen to hit every kernel path: odd channel counts, stride 2,
 *    dilation, padding, groups, depthwise, 1x1, K above one k-block and not a
 *    multiple of the vector width, batch > 1, broadcast batches.
 * 2. The generated code of every target this CPU runs (generic, avx2), built
 *    with -Wall -Wextra -Wshadow -Wconversion -Wdouble-promotion -Werror, against the
 *    reference eval. AVX-512 code is built with clang and gcc, then run natively, or
 *    emulated through SIMDe on an AVX2 CPU (said so), or the test is reported skipped
 *    for running.
 *    NEON code runs natively on AArch64, elsewhere cross-built and run under
 *    qemu-user when both are installed (else skipped).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen.h"
#include "opparams.h"
#include "passes.h"

/* ---- graph construction ---- */

typedef struct Spec {
    int op;                   /* OP_CONV, OP_GEMM, OP_MATMUL */
    int nin;                  /* node inputs */
    int rank[3];
    int64_t dim[3][6];
    bool cnst[3];             /* input i is an initializer (else a graph input) */
    int nints;                /* INTS attributes */
    const char *iname[4];
    int icount[4];
    int64_t ival[4][6];
    int64_t group, transA, transB;
    float alpha, beta;
    Act act;
    float lo, hi;
} Spec;

static float frand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void add_attr(Graph *g, Node *n, const char *name, AttrType t, int64_t i, float f,
                     int cnt, const int64_t *ints)
{
    Attr *a = &n->attr[n->nattr++];
    a->name = arena_strdup(&g->arena, name);
    a->type = t;
    a->i = i;
    a->f = f;
    a->n = cnt;
    a->ints = arena_alloc(&g->arena, sizeof(int64_t) * (size_t)(cnt + 1));
    if (cnt)
        memcpy(a->ints, ints, sizeof(int64_t) * (size_t)cnt);
}

static void set_attrs(Graph *g, Node *n, const Spec *s)
{
    n->attr = arena_alloc(&g->arena, sizeof(Attr) * 12);
    for (int i = 0; i < s->nints; i++)
        add_attr(g, n, s->iname[i], ATTR_INTS, 0, 0, s->icount[i], s->ival[i]);
    if (s->op == OP_CONV)
        add_attr(g, n, "group", ATTR_INT, s->group ? s->group : 1, 0, 0, NULL);
    if (s->op == OP_GEMM) {
        add_attr(g, n, "transA", ATTR_INT, s->transA, 0, 0, NULL);
        add_attr(g, n, "transB", ATTR_INT, s->transB, 0, 0, NULL);
        add_attr(g, n, "alpha", ATTR_FLOAT, 0, s->alpha, 0, NULL);
        add_attr(g, n, "beta", ATTR_FLOAT, 0, s->beta, 0, NULL);
    }
}

/* One-node graph for s, shapes inferred and memory planned; random data. */
static Graph *build(const Spec *s, unsigned seed)
{
    Graph *g = ir_graph_new("t");
    g->opset = 13;
    g->input = arena_alloc(&g->arena, sizeof(Tensor *) * 4);
    g->output = arena_alloc(&g->arena, sizeof(Tensor *) * 2);
    Node *n = ir_node_new(g, s->op, "node", s->nin, 1);
    static const char *names[] = {"X", "W", "B"};
    for (int i = 0; i < s->nin; i++) {
        Tensor *t = ir_tensor_get(g, names[i], true);
        ir_tensor_set_shape(t, DT_F32, s->rank[i], s->dim[i]);
        float *p = s->cnst[i] ? ir_tensor_alloc_data(g, t) : NULL;
        for (int64_t k = 0; p && k < ir_tensor_numel(t); k++)
            p[k] = frand(&seed);
        if (!s->cnst[i]) {
            t->input_index = g->ninput;
            g->input[g->ninput++] = t;
        }
        ir_node_set_input(n, i, t);
    }
    Tensor *y = ir_tensor_get(g, "Y", true);
    n->out[0] = y;
    y->output_index = 0;
    g->output[g->noutput++] = y;
    set_attrs(g, n, s);
    n->act = s->act;
    n->act_lo = s->lo;
    n->act_hi = s->hi;
    ir_graph_relink(g);
    Diag d = {0};
    PassOptions po = {0};
    Status st = pass_pipeline(g, &po, &d);
    if (st != WR_OK)
        fail_msg("pipeline: %s", d.msg);
    return g;
}

static float *rand_inputs(const Graph *g, float **in, unsigned seed)
{
    for (int i = 0; i < g->ninput; i++) {
        int64_t n = ir_tensor_numel(g->input[i]);
        in[i] = malloc(sizeof(float) * (size_t)(n + 1));
        for (int64_t k = 0; k < n; k++)
            in[i][k] = frand(&seed);
    }
    return NULL;
}

/* The data of every node input: graph inputs from in[], constants from the graph. */
static void node_inputs(const Graph *g, float *const *in, void **out)
{
    const Node *n = g->node[0];
    for (int i = 0; i < n->nin; i++)
        out[i] = n->in[i]->data ? n->in[i]->data : in[n->in[i]->input_index];
}

/* ---- naive loops, written independently of ir/ops/ ---- */

static float act_naive(const Spec *s, float v)
{
    switch (s->act) {
    case ACT_NONE: return v;
    case ACT_RELU: return fmaxf(v, 0.0f);
    case ACT_CLIP: return fminf(fmaxf(v, s->lo), s->hi);
    case ACT_LEAKY_RELU: return v >= 0 ? v : v * s->lo;
    case ACT_SIGMOID: return (float)(1.0 / (1.0 + exp(-(double)v)));
    case ACT_HARD_SWISH: return v * fminf(fmaxf(v / 6.0f + 0.5f, 0.0f), 1.0f);
    }
    return v;
}

/* 2-D NCHW conv; ints: kernel_shape? no: strides, pads, dilations in Spec order. */
static void conv_naive(const Spec *s, const Tensor *yt, const float *X, const float *W,
                       const float *B, float *Y)
{
    int64_t N = s->dim[0][0], C = s->dim[0][1], H = s->dim[0][2], Wd = s->dim[0][3];
    int64_t M = s->dim[1][0], KH = s->dim[1][2], KW = s->dim[1][3], G = s->group ? s->group : 1;
    int64_t st[2] = {1, 1}, pd[4] = {0, 0, 0, 0}, dl[2] = {1, 1};
    for (int i = 0; i < s->nints; i++) {
        int64_t *dst = !strcmp(s->iname[i], "strides") ? st
                       : !strcmp(s->iname[i], "pads")  ? pd
                                                       : dl;
        memcpy(dst, s->ival[i], sizeof(int64_t) * (size_t)s->icount[i]);
    }
    int64_t OH = yt->dim[2], OW = yt->dim[3], cg = C / G, mg = M / G;
    for (int64_t b = 0; b < N; b++)
        for (int64_t m = 0; m < M; m++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    double acc = B ? B[m] : 0;
                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t ky = 0; ky < KH; ky++)
                            for (int64_t kx = 0; kx < KW; kx++) {
                                int64_t iy = oy * st[0] - pd[0] + ky * dl[0];
                                int64_t ix = ox * st[1] - pd[1] + kx * dl[1];
                                if (iy < 0 || iy >= H || ix < 0 || ix >= Wd)
                                    continue;
                                int64_t xi = ((b * C + m / mg * cg + c) * H + iy) * Wd + ix;
                                acc += (double)X[xi] * W[((m * cg + c) * KH + ky) * KW + kx];
                            }
                    Y[((b * M + m) * OH + oy) * OW + ox] = act_naive(s, (float)acc);
                }
}

static void gemm_naive(const Spec *s, const float *A, const float *B, const float *C, float *Y)
{
    int64_t M = s->dim[0][s->transA], K = s->dim[0][!s->transA], N = s->dim[1][!s->transB];
    int64_t cm = s->nin > 2 && s->rank[2] == 2 ? s->dim[2][0] : 1;
    int64_t cn = s->nin > 2 && s->rank[2] >= 1 ? s->dim[2][s->rank[2] - 1] : 1;
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += (double)(s->transA ? A[k * M + i] : A[i * K + k]) *
                       (s->transB ? B[j * K + k] : B[k * N + j]);
            double c = C ? C[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)] : 0;
            Y[i * N + j] = act_naive(s, (float)(s->alpha * acc + s->beta * c));
        }
}

/* A (bA.., M, K) or (K); B (bB.., K, N) or (K); batch dims of equal rank or absent. */
static void matmul_naive(const Spec *s, const Tensor *yt, const float *A, const float *B, float *Y)
{
    int ra = s->rank[0], rb = s->rank[1];
    int64_t K = s->dim[0][ra - 1], M = ra > 1 ? s->dim[0][ra - 2] : 1;
    int64_t N = rb > 1 ? s->dim[1][rb - 1] : 1;
    int64_t nbatch = ir_tensor_numel(yt) / (M * N);
    int nd = (ra > rb ? ra : rb) - 2;
    for (int64_t b = 0; b < nbatch; b++) {
        int64_t ia = 0, ib = 0, sa = 1, sb = 1, rem = b;
        for (int i = nd - 1; i >= 0; i--) {
            int64_t od = yt->dim[i], c = rem % od;
            rem /= od;
            int ja = i - (nd - (ra - 2)), jb = i - (nd - (rb - 2));
            int64_t da = ja >= 0 ? s->dim[0][ja] : 1, db = jb >= 0 ? s->dim[1][jb] : 1;
            ia += (da == 1 ? 0 : c) * sa;
            ib += (db == 1 ? 0 : c) * sb;
            sa *= da;
            sb *= db;
        }
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double acc = 0;
                for (int64_t k = 0; k < K; k++)
                    acc += (double)A[(ia * M + i) * K + k] * B[(ib * K + k) * N + j];
                Y[(b * M + i) * N + j] = act_naive(s, (float)acc);
            }
    }
}

static void expect_close(const float *got, const float *want, int64_t n, const char *what)
{
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++)
        if (!(fabsf(got[i] - want[i]) <= 1e-4f + 1e-4f * fabsf(want[i]))) {
            if (bad++ < 5)
                print_error("%s: [%lld] got %g want %g\n", what, (long long)i, got[i], want[i]);
        }
    if (bad)
        fail_msg("%s: %lld of %lld values differ", what, (long long)bad, (long long)n);
}

/* ---- cases ---- */

#define CONV(N, C, H, W, M, K, G, ...)                                                            \
    {.op = OP_CONV, .nin = 3, .rank = {4, 4, 1}, .dim = {{N, C, H, W}, {M, C / G, K, K}, {M}},    \
     .group = G, __VA_ARGS__}
#define CW .cnst = {false, true, true} /* constant weights and bias */
#define INTS3(s0, s1, p0, p1, p2, p3, d0, d1)                                                    \
    .nints = 3, .iname = {"strides", "pads", "dilations"}, .icount = {2, 4, 2},                 \
    .ival = {{s0, s1}, {p0, p1, p2, p3}, {d0, d1}}

static const Spec convs[] = {
    CONV(1, 3, 9, 9, 5, 3, 1, INTS3(1, 1, 1, 1, 1, 1, 1, 1), CW, .act = ACT_RELU),
    CONV(1, 7, 11, 10, 13, 3, 1, INTS3(2, 2, 1, 1, 1, 1, 1, 1), CW, .act = ACT_CLIP, .lo = -0.5f,
         .hi = 0.7f),
    CONV(1, 4, 12, 12, 6, 3, 1, INTS3(1, 1, 2, 2, 2, 2, 2, 2), CW, .act = ACT_LEAKY_RELU,
         .lo = 0.1f),
    CONV(1, 6, 8, 9, 9, 3, 3, INTS3(1, 1, 1, 0, 0, 1, 1, 1), CW, .act = ACT_SIGMOID),
    CONV(1, 8, 13, 17, 8, 3, 8, INTS3(2, 2, 1, 1, 1, 1, 1, 1), CW, .act = ACT_HARD_SWISH),
    CONV(1, 12, 15, 15, 12, 5, 12, INTS3(1, 1, 2, 2, 2, 2, 1, 1), CW, .act = ACT_CLIP, .lo = 0.0f,
         .hi = 6.0f),
    CONV(1, 16, 7, 7, 24, 1, 1, INTS3(1, 1, 0, 0, 0, 0, 1, 1), CW, .act = ACT_RELU),
    CONV(1, 5, 10, 10, 7, 1, 1, INTS3(2, 2, 0, 0, 0, 0, 1, 1), CW),
    CONV(1, 33, 20, 20, 17, 3, 1, INTS3(1, 1, 1, 1, 1, 1, 1, 1), CW, .act = ACT_RELU),
    CONV(2, 4, 9, 7, 6, 3, 2, INTS3(1, 2, 0, 1, 2, 1, 1, 2), .cnst = {false, false, false}),
    CONV(1, 3, 30, 34, 20, 7, 1, INTS3(2, 2, 3, 3, 3, 3, 1, 1), CW, .act = ACT_RELU),
    CONV(1, 10, 6, 6, 10, 3, 10, INTS3(1, 1, 1, 1, 1, 1, 2, 2), .cnst = {false, false, true}),
    /* conv_direct.c (avx2, avx512): K in two blocks, a partial channel and pixel tile */
    CONV(1, 160, 6, 7, 20, 3, 1, INTS3(1, 1, 1, 1, 1, 1, 1, 1), CW, .act = ACT_RELU),
    CONV(1, 80, 8, 9, 48, 3, 1, INTS3(1, 1, 1, 1, 1, 1, 1, 1), CW, .act = ACT_RELU),
    /* two bands of rows through the padded buffer, asymmetric pads */
    CONV(1, 16, 70, 64, 8, 3, 1, INTS3(1, 1, 1, 2, 0, 1, 1, 1), CW, .act = ACT_LEAKY_RELU,
         .lo = 0.1f),
    /* unpadded: read in place, four bands (accumulator tiles bound the band) */
    CONV(1, 8, 30, 60, 64, 3, 1, INTS3(1, 1, 0, 0, 0, 0, 1, 1), CW, .act = ACT_CLIP, .lo = -0.3f,
         .hi = 0.4f),
    /* groups, stride 2, dilation 2 */
    CONV(1, 24, 21, 19, 40, 3, 2, INTS3(2, 2, 2, 2, 2, 2, 2, 2), CW, .act = ACT_HARD_SWISH),
};

#define GEMM(M, N, K, tA, tB, al, be, ...)                                                         \
    {.op = OP_GEMM, .rank = {2, 2}, .dim = {{tA ? K : M, tA ? M : K}, {tB ? N : K, tB ? K : N}},  \
     .transA = tA, .transB = tB, .alpha = al, .beta = be, __VA_ARGS__}

static const Spec gemms[] = {
    GEMM(5, 19, 13, 0, 0, 1.0f, 1.0f, .nin = 3, .rank[2] = 1, .dim[2] = {19}, .act = ACT_RELU),
    GEMM(7, 33, 300, 1, 1, 0.5f, 2.0f, .nin = 3, .rank[2] = 2, .dim[2] = {7, 1},
         .act = ACT_LEAKY_RELU, .lo = 0.2f),
    GEMM(1, 10, 64, 0, 1, 1.0f, 1.0f, .nin = 3, .rank[2] = 2, .dim[2] = {1, 10},
         .cnst = {false, true, true}),
    GEMM(13, 9, 8, 1, 0, 1.5f, 0.0f, .nin = 2, .cnst = {true, false}, .act = ACT_SIGMOID),
    GEMM(50, 70, 17, 0, 0, 1.0f, -1.0f, .nin = 3, .rank[2] = 2, .dim[2] = {50, 70},
         .act = ACT_HARD_SWISH),
};

static const Spec matmuls[] = {
    {.op = OP_MATMUL, .nin = 2, .rank = {4, 2}, .dim = {{2, 3, 5, 7}, {7, 9}},
     .cnst = {false, true}, .act = ACT_RELU},
    {.op = OP_MATMUL, .nin = 2, .rank = {1, 3}, .dim = {{9}, {4, 9, 6}}},
    {.op = OP_MATMUL, .nin = 2, .rank = {4, 3}, .dim = {{3, 1, 4, 17}, {2, 17, 5}},
     .act = ACT_CLIP, .lo = -1.0f, .hi = 1.0f},
    {.op = OP_MATMUL, .nin = 2, .rank = {3, 1}, .dim = {{2, 6, 11}, {11}}},
    {.op = OP_MATMUL, .nin = 2, .rank = {2, 2}, .dim = {{70, 300}, {300, 41}},
     .cnst = {true, false}},
};

#define NCASE(a) ((int)(sizeof(a) / sizeof(a[0])))

/* ---- reference eval against the naive loops ---- */

static float *reference(const Graph *g, float *const *in)
{
    const Node *n = g->node[0];
    void *ins[3], *outs[1];
    node_inputs(g, in, ins);
    float *y = calloc((size_t)ir_tensor_numel(n->out[0]) + 1, sizeof *y);
    outs[0] = y;
    Diag d = {0};
    assert_int_equal(op_info[n->op].eval(n, ins, outs, &d), WR_OK);
    return y;
}

static void check_reference(const Spec *s, int idx)
{
    Graph *g = build(s, 100u + (unsigned)idx);
    float *in[3] = {0};
    rand_inputs(g, in, 7u + (unsigned)idx);
    float *got = reference(g, in);
    const Node *n = g->node[0];
    void *ins[3];
    node_inputs(g, in, ins);
    int64_t cnt = ir_tensor_numel(n->out[0]);
    float *want = calloc((size_t)cnt + 1, sizeof *want);
    if (s->op == OP_CONV)
        conv_naive(s, n->out[0], ins[0], ins[1], s->nin > 2 ? ins[2] : NULL, want);
    else if (s->op == OP_GEMM)
        gemm_naive(s, ins[0], ins[1], s->nin > 2 ? ins[2] : NULL, want);
    else
        matmul_naive(s, n->out[0], ins[0], ins[1], want);
    char what[64];
    snprintf(what, sizeof what, "%s case %d reference", op_info[s->op].name, idx);
    expect_close(got, want, cnt, what);
    for (int i = 0; i < 3; i++)
        free(in[i]);
    free(got);
    free(want);
    ir_graph_free(g);
}

static void test_reference(void **state)
{
    (void)state;
    for (int i = 0; i < NCASE(convs); i++)
        check_reference(&convs[i], i);
    for (int i = 0; i < NCASE(gemms); i++)
        check_reference(&gemms[i], i);
    for (int i = 0; i < NCASE(matmuls); i++)
        check_reference(&matmuls[i], i);
}

/* ---- generated code ---- */

static bool have_cc(const char *cc)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "%s --version >/dev/null 2>&1", cc);
    return system(cmd) == 0;
}

/* AVX-512 code runs on an AVX2 CPU without AVX-512 when SIMDe is installed: built with
 * the avx2 flags and runtime/wrpnc_simde.h force-included (as wrpnc run does). */
static bool simde_emulated(Target t)
{
    return t == TARGET_AVX512 && !target_runs_here(t) && target_runs_here(TARGET_AVX2) &&
           access("/usr/include/simde/x86/avx512.h", R_OK) == 0;
}

/* Writes m.c/m.h for target t into a fresh folder; builds m.o with cc -Werror
 * (emulate: through SIMDe, see simde_emulated). */
static void generate_as(Graph *g, Target t, const char *cc, char *dir, bool emulate)
{
    strcpy(dir, "/tmp/wrpnc-cg-XXXXXX");
    assert_non_null(mkdtemp(dir));
    CodegenOptions co = {"m", t, WEIGHTS_INLINE, "test", 0};
    Diag d = {0};
    if (cg_generate(g, &co, dir, &d) != WR_OK)
        fail_msg("codegen: %s", d.msg);
    char cmd[1024], flags[512], hdr[96];
    snprintf(flags, sizeof flags, "%s", target_cflags(t));
    if (emulate) {
        snprintf(hdr, sizeof hdr, "%s/wrpnc_simde.h", dir);
        FILE *f = fopen(hdr, "w");
        assert_non_null(f);
        fputs(cg_runtime_file("wrpnc_simde.h"), f);
        fclose(f);
        snprintf(flags, sizeof flags, "%s -Wno-psabi -include %s", target_cflags(TARGET_AVX2),
                 hdr);
    }
    snprintf(cmd, sizeof cmd, "%s -O1 -std=c99 -Wall -Wextra -Wshadow -Wconversion "
             "-Wdouble-promotion -Werror %s -c -o %s/m.o %s/m.c", cc, flags, dir, dir);
    if (system(cmd) != 0)
        fail_msg("generated code does not build: %s", cmd);
}

static void generate(Graph *g, Target t, const char *cc, char *dir)
{
    generate_as(g, t, cc, dir, false);
}

/* The compiler and the run-command prefix (an emulator, or "") for target t. */
static const char *cross_cc(Target t)
{
    return t == TARGET_NEON && !target_runs_here(t) ? "aarch64-linux-gnu-gcc" : NULL;
}

static const char *run_prefix(Target t)
{
    return cross_cc(t) ? "qemu-aarch64 -L /usr/aarch64-linux-gnu " : "";
}

static void run_generated(Graph *g, const char *dir, float *const *in, float *out, Target t)
{
    char path[512], cmd[2048];
    snprintf(path, sizeof path, "%s/h.c", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(cg_runtime_file("wrpnc_harness.c"), f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s -O1 -I%s -DWRPNC_HEADER='\"m.h\"' -DWRPNC_NAME=m "
             "-DWRPNC_UNAME=M -o %s/h %s/h.c %s/m.o -lm && %s%s/h",
             cross_cc(t) ? cross_cc(t) : "cc", dir, dir, dir, dir, run_prefix(t), dir);
    for (int i = 0; i < g->ninput; i++) {
        snprintf(path, sizeof path, "%s/in%d.bin", dir, i);
        f = fopen(path, "wb");
        fwrite(in[i], 4, (size_t)ir_tensor_numel(g->input[i]), f);
        fclose(f);
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", path);
    }
    snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s/out.bin >/dev/null", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, "%s/out.bin", dir);
    f = fopen(path, "rb");
    assert_non_null(f);
    int64_t n = ir_tensor_numel(g->output[0]);
    assert_int_equal(fread(out, 4, (size_t)n, f), (size_t)n);
    fclose(f);
}

static void rm_dir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        print_error("cannot remove %s\n", dir);
}

static void check_generated(const Spec *s, int idx, Target t)
{
    Graph *g = build(s, 300u + (unsigned)idx);
    float *in[3] = {0};
    rand_inputs(g, in, 9u + (unsigned)idx);
    float *want = reference(g, in);
    int64_t cnt = ir_tensor_numel(g->output[0]);
    float *got = calloc((size_t)cnt + 1, sizeof *got);
    char dir[64], what[96];
    generate_as(g, t, cross_cc(t) ? cross_cc(t) : have_cc("clang") ? "clang" : "cc", dir,
                simde_emulated(t));
    run_generated(g, dir, in, got, t);
    snprintf(what, sizeof what, "%s case %d, target %s", op_info[s->op].name, idx, target_name(t));
    expect_close(got, want, cnt, what);
    rm_dir(dir);
    for (int i = 0; i < 3; i++)
        free(in[i]);
    free(got);
    free(want);
    ir_graph_free(g);
}

static void check_target(Target t)
{
    if (!target_runs_here(t) && !simde_emulated(t))
        skip();
    if (simde_emulated(t))
        print_message("target %s runs emulated (SIMDe)\n", target_name(t));
    for (int i = 0; i < NCASE(convs); i++)
        check_generated(&convs[i], i, t);
    for (int i = 0; i < NCASE(gemms); i++)
        check_generated(&gemms[i], i, t);
    for (int i = 0; i < NCASE(matmuls); i++)
        check_generated(&matmuls[i], i, t);
}

static void test_generic(void **state) { (void)state; check_target(TARGET_GENERIC); }
static void test_avx2(void **state) { (void)state; check_target(TARGET_AVX2); }

/* Every case compiles for AVX-512 with clang and gcc; then runs natively where the CPU
 * has AVX-512, else emulated through SIMDe where installed, else the test is skipped. */
static void compile_only(const Spec *s, int idx, Target t)
{
    Graph *g = build(s, 500u + (unsigned)idx);
    const char *ccs[] = {"clang", "gcc"};
    for (int c = 0; c < 2; c++) {
        if (!have_cc(ccs[c]))
            continue;
        char dir[64];
        generate(g, t, ccs[c], dir);
        rm_dir(dir);
    }
    ir_graph_free(g);
}

static void test_avx512(void **state)
{
    (void)state;
    for (int i = 0; i < NCASE(convs); i++)
        compile_only(&convs[i], i, TARGET_AVX512);
    for (int i = 0; i < NCASE(gemms); i++)
        compile_only(&gemms[i], i, TARGET_AVX512);
    for (int i = 0; i < NCASE(matmuls); i++)
        compile_only(&matmuls[i], i, TARGET_AVX512);
    check_target(TARGET_AVX512);
}

/* NEON code also builds warning-free with clang for AArch64 (compile only). */
static void compile_neon_clang(const Spec *s, int idx)
{
    Graph *g = build(s, 700u + (unsigned)idx);
    char dir[64];
    generate(g, TARGET_NEON, "clang --target=aarch64-linux-gnu", dir);
    rm_dir(dir);
    ir_graph_free(g);
}

/* Where aarch64 code cannot run natively: cross-built, under qemu-user. */
static void test_neon(void **state)
{
    (void)state;
    for (int i = 0; have_cc("clang --target=aarch64-linux-gnu") && i < NCASE(convs); i++)
        compile_neon_clang(&convs[i], i);
    if (!target_runs_here(TARGET_NEON) &&
        (!have_cc("aarch64-linux-gnu-gcc") || !have_cc("qemu-aarch64")))
        skip();
    for (int i = 0; i < NCASE(convs); i++)
        check_generated(&convs[i], i, TARGET_NEON);
    for (int i = 0; i < NCASE(gemms); i++)
        check_generated(&gemms[i], i, TARGET_NEON);
    for (int i = 0; i < NCASE(matmuls); i++)
        check_generated(&matmuls[i], i, TARGET_NEON);
}

/* argv[1], if given: the one test to run (test_avx2, ...); a name of no test fails. */
int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference),
        cmocka_unit_test(test_generic),
        cmocka_unit_test(test_avx2),
        cmocka_unit_test(test_avx512),
        cmocka_unit_test(test_neon),
    };
    if (argc > 1) {
        bool found = false;
        for (int i = 0; i < NCASE(tests); i++)
            found |= strcmp(tests[i].name, argv[1]) == 0;
        if (!found)
            return fprintf(stderr, "%s: no test named %s\n", argv[0], argv[1]), 1;
        cmocka_set_test_filter(argv[1]);
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
