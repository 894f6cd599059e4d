/*
 * fuzz_model.c: fuzz input bytes -> a small ONNX model (protobuf wire format
 * written here) plus wrpnc options, so that byte-level mutation becomes
 * structural mutation: layers, attributes, shapes, dtypes, bit widths and
 * quantizer parameters. Every byte string is a description; bytes past the
 * end read as zero. Most values are drawn from valid ranges, and one byte
 * value in 32 (0xF8..0xFF) picks a "wild" one (zero, negative, past a limit,
 * NaN) instead, to probe the error paths.
 *
 * Format:
 *   h0      wbits = h0 & 15, abits = h0 >> 4 (above 8: not given)
 *   h1      bit 0 --quantize-all, 1 --no-pack, 2 --no-fuse, 3-4 --kernel
 *           (auto, bitserial, int8), 5-6 target (generic, avx2, avx512, neon),
 *           7 --width 2
 *   h2 h3 h4  input channels C, height H, width W (bit 7 of h4: batch 2)
 *   h5      bit 0 opset 21 (else 13), bits 1-3 input dtype (6 float16,
 *           7 float64, else float32), bits 4-7 weight seed
 *   then up to FZ_MAX_LAYERS layers: an opcode byte (FZ_*, modulo FZ_COUNT)
 *   and the bytes its template reads (see each template).
 * The graph input is x (N, C, H, W); the last layer's output is the graph
 * output (FZ_OUTPUT adds more).
 */
#include "fuzz_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FZ_MAX_LAYERS = 24, FZ_MAX_VALS = 128, FZ_MAX_OUTS = 4, FZ_MAX_DIM = 256 };
enum { FZ_MAX_CONST = 1 << 16 }; /* elements of a generated constant; more: its data is cut short */

/* Layer templates, one opcode each. */
enum {
    FZ_CONV,    /* Conv with float, k-bit grid, Quant, QDQ or bipolar weights */
    FZ_ACT,     /* Relu, Clip, LeakyRelu, Sigmoid, Tanh, HardSwish, HardSigmoid, Elu */
    FZ_POOL,    /* MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool */
    FZ_BN,      /* BatchNormalization */
    FZ_BINARY,  /* Add, Mul, Sub with an earlier tensor of the same shape or a constant */
    FZ_CONCAT,  /* Concat along channels with an earlier tensor */
    FZ_QUANT,   /* QONNX Quant on activations */
    FZ_BIPOLAR, /* QONNX BipolarQuant */
    FZ_QDQ,     /* QuantizeLinear [-> Clip] -> DequantizeLinear */
    FZ_FAKEQ,   /* WRPN fake quantization: Clip(0,1) -> Mul(N) -> Round -> Div(N) */
    FZ_FC,      /* Flatten -> Gemm or MatMul */
    FZ_SHAPE,   /* Reshape (same shape), Transpose, Pad, Slice */
    FZ_TRUNC,   /* QONNX Trunc */
    FZ_CAST,    /* Cast to float16 / bfloat16 / int8 and back */
    FZ_SOFTMAX, /* Softmax */
    FZ_OUTPUT,  /* the current tensor becomes a graph output too */
    FZ_COUNT
};

/* ---- protobuf wire format ---- */

typedef struct Pb {
    uint8_t *p;
    size_t len, cap;
} Pb;

static void pb_put(Pb *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void pb_varint(Pb *b, uint64_t v)
{
    uint8_t c[10];
    size_t n = 0;
    do {
        c[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    pb_put(b, c, n);
}

static void pb_tag(Pb *b, int field, int wire) { pb_varint(b, (uint64_t)field << 3 | (uint64_t)wire); }

static void pb_int(Pb *b, int field, int64_t v)
{
    pb_tag(b, field, 0);
    pb_varint(b, (uint64_t)v);
}

static void pb_float(Pb *b, int field, float f)
{
    uint8_t c[4];
    uint32_t u;
    memcpy(&u, &f, 4);
    for (int i = 0; i < 4; i++)
        c[i] = (uint8_t)(u >> (8 * i));
    pb_tag(b, field, 5);
    pb_put(b, c, 4);
}

static void pb_bytes(Pb *b, int field, const void *p, size_t n)
{
    pb_tag(b, field, 2);
    pb_varint(b, n);
    pb_put(b, p, n);
}

static void pb_str(Pb *b, int field, const char *s) { pb_bytes(b, field, s, strlen(s)); }

/* Appends child as a nested message and frees it. */
static void pb_msg(Pb *b, int field, Pb *child)
{
    pb_bytes(b, field, child->p, child->len);
    free(child->p);
    memset(child, 0, sizeof *child);
}

/* ONNX field numbers and enums used below. */
enum { AT_FLOAT = 1, AT_INT = 2, AT_STRING = 3, AT_FLOATS = 6, AT_INTS = 7 };
enum {
    TP_FLOAT = 1, TP_UINT8 = 2, TP_INT8 = 3, TP_INT16 = 5, TP_INT32 = 6, TP_INT64 = 7,
    TP_FLOAT16 = 10, TP_DOUBLE = 11, TP_BFLOAT16 = 16, TP_UINT4 = 21, TP_INT4 = 22,
    TP_UINT2 = 25, TP_INT2 = 26
};

/* ---- the generator ---- */

typedef struct Val {
    char name[16];
    int ndim;
    int64_t dim[4];
} Val;

typedef struct Gen {
    const uint8_t *data;
    size_t size, pos;
    Pb graph;       /* GraphProto fields: nodes, initializers, inputs, outputs */
    Val val[FZ_MAX_VALS];
    int nval, cur;  /* tracked float tensors; the current one */
    int nname;
    uint32_t seed;  /* weights */
    int opset;
    bool qonnx[3];  /* domains used: qonnx, finn, onnx.brevitas */
    int out[FZ_MAX_OUTS], nout;
} Gen;

static const char *const QONNX_DOMAINS[3] = {"qonnx.custom_op.general",
                                             "finn.custom_op.general", "onnx.brevitas"};

static unsigned u8(Gen *g) { return g->pos < g->size ? g->data[g->pos++] : 0; }

/* lo..hi, or wild[b - 0xF8] for the top 8 byte values when wild is given. */
static int64_t pick(Gen *g, int64_t lo, int64_t hi, const int64_t *wild)
{
    unsigned b = u8(g);
    if (wild && b >= 0xF8)
        return wild[b - 0xF8];
    return lo + (int64_t)(b % (unsigned)(hi - lo + 1));
}

static float pickf(Gen *g, const float *normal, int nnormal, const float *wild)
{
    unsigned b = u8(g);
    return b >= 0xF8 ? wild[b - 0xF8] : normal[b % (unsigned)nnormal];
}

static const int64_t WILD_SIZE[8] = {0, -1, 65, 64, 129, 2, 1, 3};
static const int64_t WILD_ATTR[8] = {0, -1, -2, 5, 9, 64, INT32_MAX, -INT64_MAX};
static const float WILD_F[8] = {0.0f, -1.0f, 1e-30f, 1e30f, NAN, INFINITY, -0.0f, 3.5f};

static float rnd(Gen *g)
{
    g->seed = g->seed * 1664525u + 1013904223u;
    return (float)(g->seed >> 8) / (float)(1u << 24) * 2 - 1; /* [-1, 1) */
}

static const char *fresh(Gen *g, char *buf)
{
    snprintf(buf, 16, "t%d", g->nname++);
    return buf;
}

static Val *cur(Gen *g) { return &g->val[g->cur]; }

/* Wild attributes reach the shape arithmetic below: keep it far from overflow. */
static int64_t clampi(int64_t v) { return v < -(1 << 20) ? -(1 << 20) : v > 1 << 20 ? 1 << 20 : v; }

/* A new tracked tensor of the given shape; becomes current. */
static const char *push(Gen *g, int ndim, const int64_t *dim)
{
    int i = g->nval < FZ_MAX_VALS ? g->nval++ : FZ_MAX_VALS - 1;
    Val *v = &g->val[i];
    fresh(g, v->name);
    v->ndim = ndim;
    for (int k = 0; k < ndim; k++) /* tracked sizes only (the model's may differ) */
        v->dim[k] = dim[k] < 1 ? 1 : dim[k] > FZ_MAX_DIM ? FZ_MAX_DIM : dim[k];
    g->cur = i;
    return v->name;
}

/* Elements of a constant of these dims, at most FZ_MAX_CONST (dims are clamped). */
static int64_t numel(int ndim, const int64_t *dim)
{
    int64_t n = 1;
    for (int k = 0; k < ndim; k++) {
        n *= dim[k] > 0 ? (dim[k] < FZ_MAX_CONST ? dim[k] : FZ_MAX_CONST) : 1;
        n = n < FZ_MAX_CONST ? n : FZ_MAX_CONST;
    }
    return n;
}

/* ---- initializers ---- */

static void init_raw(Gen *g, const char *name, int dtype, int ndim, const int64_t *dim,
                     const void *raw, size_t n)
{
    Pb t = {0};
    for (int k = 0; k < ndim; k++)
        pb_int(&t, 1, dim[k]);
    pb_int(&t, 2, dtype);
    pb_str(&t, 8, name);
    pb_bytes(&t, 9, raw, n);
    pb_msg(&g->graph, 5, &t);
}

/* A float32 constant; v NULL: random values in [-scale, scale). Returns name (in buf). */
static const char *const_f(Gen *g, char *buf, int ndim, const int64_t *dim, const float *v,
                           float scale)
{
    int64_t n = numel(ndim, dim);
    float *f = malloc(sizeof(float) * (size_t)(n ? n : 1));
    if (!f)
        abort();
    for (int64_t i = 0; i < n; i++)
        f[i] = v ? v[0] : rnd(g) * scale;
    init_raw(g, fresh(g, buf), TP_FLOAT, ndim, dim, f, sizeof(float) * (size_t)n);
    free(f);
    return buf;
}

static const char *scalar_f(Gen *g, char *buf, float v) { return const_f(g, buf, 0, NULL, &v, 0); }

/* ---- nodes ---- */

typedef struct Node {
    Pb pb;
} Node;

static void node_begin(Gen *g, Node *n, const char *op, const char *domain)
{
    char name[32];
    memset(n, 0, sizeof *n);
    snprintf(name, sizeof name, "n%d_%s", g->nname++, op);
    pb_str(&n->pb, 3, name);
    pb_str(&n->pb, 4, op);
    if (domain)
        pb_str(&n->pb, 7, domain);
}

static void node_in(Node *n, const char *s) { pb_str(&n->pb, 1, s); }
static void node_out(Node *n, const char *s) { pb_str(&n->pb, 2, s); }

static void attr_i(Node *n, const char *name, int64_t v)
{
    Pb a = {0};
    pb_str(&a, 1, name);
    pb_int(&a, 3, v);
    pb_int(&a, 20, AT_INT);
    pb_msg(&n->pb, 5, &a);
}

static void attr_f(Node *n, const char *name, float v)
{
    Pb a = {0};
    pb_str(&a, 1, name);
    pb_float(&a, 2, v);
    pb_int(&a, 20, AT_FLOAT);
    pb_msg(&n->pb, 5, &a);
}

static void attr_s(Node *n, const char *name, const char *v)
{
    Pb a = {0};
    pb_str(&a, 1, name);
    pb_str(&a, 4, v);
    pb_int(&a, 20, AT_STRING);
    pb_msg(&n->pb, 5, &a);
}

static void attr_ints(Node *n, const char *name, const int64_t *v, int k)
{
    Pb a = {0};
    pb_str(&a, 1, name);
    for (int i = 0; i < k; i++)
        pb_int(&a, 8, v[i]);
    pb_int(&a, 20, AT_INTS);
    pb_msg(&n->pb, 5, &a);
}

static void node_end(Gen *g, Node *n) { pb_msg(&g->graph, 1, &n->pb); }

/* A node with inputs ins (NULL-terminated) and one output; no attributes. */
static void simple(Gen *g, const char *op, const char *const *ins, const char *out)
{
    Node n;
    node_begin(g, &n, op, NULL);
    for (int i = 0; ins[i]; i++)
        node_in(&n, ins[i]);
    node_out(&n, out);
    node_end(g, &n);
}

/* ---- weights of a Conv or Gemm ---- */

/* Weight name for a float layer: plain random, on a k-bit grid, through QONNX
 * Quant or BipolarQuant, or as int8 / int4 codes through DequantizeLinear. */
static const char *weights(Gen *g, char *buf, int ndim, const int64_t *dim)
{
    static const int64_t wild_bits[8] = {0, 9, 16, 32, -1, 24, 1, 2};
    unsigned kind = u8(g) % 6;
    int64_t bits = pick(g, 1, 8, wild_bits);
    int64_t n = numel(ndim, dim);
    char s[16], z[16], b[16], q[16];
    if (kind == 0 || kind == 1) {
        float *f = malloc(sizeof(float) * (size_t)n);
        if (!f)
            abort();
        float levels = bits >= 2 && bits <= 8 ? (float)((1 << (bits - 1)) - 1) : 1;
        for (int64_t i = 0; i < n; i++)
            f[i] = kind == 0 ? rnd(g) : roundf(rnd(g) * levels) / levels;
        init_raw(g, fresh(g, buf), TP_FLOAT, ndim, dim, f, sizeof(float) * (size_t)n);
        free(f);
        return buf;
    }
    if (kind == 2 || kind == 3) { /* Quant / BipolarQuant over float weights */
        const_f(g, q, ndim, dim, NULL, 1);
        Node nd;
        node_begin(g, &nd, kind == 2 ? "Quant" : "BipolarQuant", QONNX_DOMAINS[0]);
        g->qonnx[0] = true;
        node_in(&nd, q);
        node_in(&nd, scalar_f(g, s, kind == 2 ? 1.0f / (float)(bits > 1 ? bits : 1) : 0.5f));
        if (kind == 2) {
            node_in(&nd, scalar_f(g, z, 0));
            node_in(&nd, scalar_f(g, b, (float)bits));
            attr_i(&nd, "narrow", u8(g) & 1);
        }
        node_out(&nd, fresh(g, buf));
        node_end(g, &nd);
        return buf;
    }
    /* int8 (kind 4) or int4 (kind 5) codes -> DequantizeLinear */
    int dt = kind == 4 ? TP_INT8 : TP_INT4;
    size_t bytes = kind == 4 ? (size_t)n : (size_t)(n + 1) / 2;
    uint8_t *c = calloc(bytes ? bytes : 1, 1);
    if (!c)
        abort();
    for (int64_t i = 0; i < n; i++) {
        int v = (int)(rnd(g) * (kind == 4 ? 127 : 7));
        if (kind == 4)
            c[i] = (uint8_t)v;
        else
            c[i / 2] |= (uint8_t)((v & 15) << (4 * (i % 2)));
    }
    init_raw(g, fresh(g, q), dt, ndim, dim, c, bytes);
    free(c);
    Node nd;
    node_begin(g, &nd, "DequantizeLinear", NULL);
    node_in(&nd, q);
    node_in(&nd, scalar_f(g, s, 1.0f / (kind == 4 ? 127 : 7)));
    node_out(&nd, fresh(g, buf));
    node_end(g, &nd);
    return buf;
}

/* ---- layer templates ---- */

static int64_t conv_dim(int64_t in, int64_t k, int64_t s, int64_t p, int64_t dl)
{
    k = clampi(k), s = clampi(s), p = clampi(p), dl = clampi(dl);
    return s > 0 ? (in + 2 * p - dl * (k - 1) - 1) / s + 1 : 1;
}

/* Gemm on a rank-2 current tensor (what FZ_CONV does after FZ_FC). */
static void gemm(Gen *g, int64_t M)
{
    Val x = *cur(g);
    char w[16], b[16];
    int64_t wd[2] = {M, x.dim[1]}, bd[1] = {M};
    Node n;
    weights(g, w, 2, wd);
    node_begin(g, &n, "Gemm", NULL);
    node_in(&n, x.name);
    node_in(&n, w);
    node_in(&n, const_f(g, b, 1, bd, NULL, 0.1f));
    attr_i(&n, "transB", 1);
    int64_t yd[2] = {x.dim[0], M};
    node_out(&n, push(g, 2, yd));
    node_end(g, &n);
}

/* bytes: M, k, stride, pad, dilation, group mode, bias, auto_pad, weight kind, bits, [narrow] */
static void t_conv(Gen *g)
{
    Val x = *cur(g);
    int64_t M = pick(g, 1, 12, WILD_SIZE), k = pick(g, 1, 3, WILD_SIZE);
    int64_t s = pick(g, 1, 2, WILD_ATTR), p = pick(g, 0, 1, WILD_ATTR);
    int64_t dl = pick(g, 1, 2, WILD_ATTR);
    unsigned gm = u8(g) % 4, bias = u8(g) & 1, autopad = u8(g) % 8;
    if (x.ndim != 4) {
        gemm(g, M);
        return;
    }
    int64_t C = x.dim[1], group = gm == 2 ? C : gm == 3 && C % 2 == 0 ? 2 : 1;
    if (gm == 2)
        M = C;
    if (group > 1 && M % group)
        M = group;
    int64_t wd[4] = {M, C / (group ? group : 1), k, k}, bd[1] = {M};
    char w[16], b[16];
    weights(g, w, 4, wd);
    Node n;
    node_begin(g, &n, "Conv", NULL);
    node_in(&n, x.name);
    node_in(&n, w);
    if (bias)
        node_in(&n, const_f(g, b, 1, bd, NULL, 0.2f));
    int64_t ks[2] = {k, k}, st[2] = {s, s}, pads[4] = {p, p, p, p}, dil[2] = {dl, dl};
    attr_ints(&n, "kernel_shape", ks, 2);
    attr_ints(&n, "strides", st, 2);
    attr_ints(&n, "dilations", dil, 2);
    attr_i(&n, "group", group);
    if (autopad == 0)
        attr_s(&n, "auto_pad", "SAME_UPPER");
    else
        attr_ints(&n, "pads", pads, 4);
    int64_t yd[4] = {x.dim[0], M, conv_dim(x.dim[2], k, s, autopad ? p : k / 2, dl),
                     conv_dim(x.dim[3], k, s, autopad ? p : k / 2, dl)};
    node_out(&n, push(g, 4, yd));
    node_end(g, &n);
}

/* bytes: which, [alpha] */
static void t_act(Gen *g)
{
    static const char *const ops[8] = {"Relu",     "Clip",        "LeakyRelu", "Sigmoid",
                                       "Tanh",     "HardSwish",   "HardSigmoid", "Elu"};
    static const float alphas[4] = {0.1f, 0.2f, 0.01f, 1.0f};
    unsigned w = u8(g) % 8;
    Val x = *cur(g);
    char lo[16], hi[16];
    Node n;
    node_begin(g, &n, ops[w], NULL);
    node_in(&n, x.name);
    if (w == 1) {
        static const float his[4] = {6, 1, 0.5f, 3};
        node_in(&n, scalar_f(g, lo, 0));
        node_in(&n, scalar_f(g, hi, pickf(g, his, 4, WILD_F)));
    }
    if (w == 2 || w == 7)
        attr_f(&n, "alpha", pickf(g, alphas, 4, WILD_F));
    node_out(&n, push(g, x.ndim, x.dim));
    node_end(g, &n);
}

/* bytes: which, kernel, stride, pad, ceil_mode */
static void t_pool(Gen *g)
{
    static const char *const ops[4] = {"MaxPool", "AveragePool", "GlobalAveragePool",
                                       "GlobalMaxPool"};
    unsigned w = u8(g) % 4;
    int64_t k = pick(g, 1, 3, WILD_ATTR), s = pick(g, 1, 2, WILD_ATTR);
    int64_t p = pick(g, 0, 1, WILD_ATTR);
    unsigned ceil = u8(g) & 1;
    Val x = *cur(g);
    if (x.ndim != 4)
        return;
    Node n;
    node_begin(g, &n, ops[w], NULL);
    node_in(&n, x.name);
    int64_t yd[4] = {x.dim[0], x.dim[1], 1, 1};
    if (w < 2) {
        int64_t ks[2] = {k, k}, st[2] = {s, s}, pads[4] = {p, p, p, p};
        attr_ints(&n, "kernel_shape", ks, 2);
        attr_ints(&n, "strides", st, 2);
        attr_ints(&n, "pads", pads, 4);
        attr_i(&n, "ceil_mode", ceil);
        yd[2] = conv_dim(x.dim[2], k, s, p, 1);
        yd[3] = conv_dim(x.dim[3], k, s, p, 1);
    }
    node_out(&n, push(g, 4, yd));
    node_end(g, &n);
}

/* bytes: epsilon choice */
static void t_bn(Gen *g)
{
    static const float eps[4] = {1e-5f, 1e-3f, 0.1f, 0};
    Val x = *cur(g);
    int64_t cd[1] = {x.ndim >= 2 ? x.dim[1] : 1};
    char s[16], b[16], m[16], v[16];
    const_f(g, s, 1, cd, NULL, 1);
    const_f(g, b, 1, cd, NULL, 0.5f);
    const_f(g, m, 1, cd, NULL, 0.5f);
    float *var = malloc(sizeof(float) * (size_t)cd[0]);
    if (!var)
        abort();
    for (int64_t i = 0; i < cd[0]; i++)
        var[i] = 0.5f + fabsf(rnd(g));
    init_raw(g, fresh(g, v), TP_FLOAT, 1, cd, var, sizeof(float) * (size_t)cd[0]);
    free(var);
    Node n;
    node_begin(g, &n, "BatchNormalization", NULL);
    const char *ins[5] = {x.name, s, b, m, v};
    for (int i = 0; i < 5; i++)
        node_in(&n, ins[i]);
    attr_f(&n, "epsilon", pickf(g, eps, 4, WILD_F));
    node_out(&n, push(g, x.ndim, x.dim));
    node_end(g, &n);
}

/* The most recent earlier tensor whose shape equals cur's (dims from first_dim on), or -1. */
static int partner(Gen *g, int first_dim, unsigned skip)
{
    const Val *x = cur(g);
    for (int i = g->nval - 1; i >= 0; i--) {
        const Val *v = &g->val[i];
        if (i == g->cur || v->ndim != x->ndim)
            continue;
        bool same = v->dim[0] == x->dim[0];
        for (int k = first_dim; k < x->ndim; k++)
            same &= v->dim[k] == x->dim[k];
        if (same && skip-- == 0)
            return i;
    }
    return -1;
}

/* bytes: op, which earlier tensor */
static void t_binary(Gen *g)
{
    static const char *const ops[3] = {"Add", "Mul", "Sub"};
    unsigned w = u8(g) % 3;
    int j = partner(g, 1, u8(g) % 3);
    Val x = *cur(g);
    char c[16];
    const char *other = j >= 0 ? g->val[j].name : NULL;
    if (!other) {
        int64_t cd[4] = {1, x.ndim >= 2 ? x.dim[1] : 1, 1, 1};
        other = const_f(g, c, x.ndim, cd, NULL, 1);
    }
    const char *ins[3] = {x.name, other, NULL};
    simple(g, ops[w], ins, push(g, x.ndim, x.dim));
}

/* bytes: which earlier tensor */
static void t_concat(Gen *g)
{
    int j = partner(g, 2, u8(g) % 3);
    Val x = *cur(g);
    const Val *o = j >= 0 ? &g->val[j] : &x;
    if (x.ndim < 2)
        return;
    Node n;
    node_begin(g, &n, "Concat", NULL);
    node_in(&n, x.name);
    node_in(&n, o->name);
    attr_i(&n, "axis", 1);
    int64_t yd[4];
    memcpy(yd, x.dim, sizeof yd);
    yd[1] = x.dim[1] + o->dim[1];
    node_out(&n, push(g, x.ndim, yd));
    node_end(g, &n);
}

/* The activation scale: a scalar, or per channel. bytes: shape, value */
static const char *act_scale(Gen *g, char *buf)
{
    static const float sc[6] = {1, 0.5f, 0.25f, 1.0f / 3, 0.1f, 2};
    const Val *x = cur(g);
    bool per_channel = u8(g) % 4 == 0 && x->ndim >= 2;
    float v = pickf(g, sc, 6, WILD_F);
    if (!per_channel)
        return scalar_f(g, buf, v);
    int64_t cd[4] = {1, x->dim[1], 1, 1};
    float *f = malloc(sizeof(float) * (size_t)x->dim[1]);
    if (!f)
        abort();
    for (int64_t i = 0; i < x->dim[1]; i++)
        f[i] = v * (1 + 0.25f * (float)(i % 3));
    init_raw(g, fresh(g, buf), TP_FLOAT, x->ndim, cd, f, sizeof(float) * (size_t)x->dim[1]);
    free(f);
    return buf;
}

/* bytes: domain, scale shape, scale, zero point, bit width, signed/narrow, rounding */
static void t_quant(Gen *g)
{
    static const float zps[4] = {0, 0, 1, 2};
    static const float bws[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const float wild_bw[8] = {0, 9, 24, 25, 2.5f, -1, NAN, 32};
    static const char *const modes[6] = {"ROUND", "ROUND_TO_ZERO", "FLOOR", "CEIL", "HALF_EVEN",
                                         "UP"};
    int dom = (int)(u8(g) % 3);
    Val x = *cur(g);
    char s[16], z[16], b[16];
    Node n;
    act_scale(g, s);
    scalar_f(g, z, pickf(g, zps, 4, WILD_F));
    scalar_f(g, b, pickf(g, bws, 8, wild_bw));
    unsigned flags = u8(g), mode = u8(g);
    node_begin(g, &n, "Quant", QONNX_DOMAINS[dom]);
    g->qonnx[dom] = true;
    const char *ins[4] = {x.name, s, z, b};
    for (int i = 0; i < 4; i++)
        node_in(&n, ins[i]);
    attr_i(&n, "signed", flags & 1);
    attr_i(&n, "narrow", (flags >> 1) & 1);
    if (mode % 8 < 6)
        attr_s(&n, "rounding_mode", modes[mode % 8]);
    node_out(&n, push(g, x.ndim, x.dim));
    node_end(g, &n);
}

/* bytes: scale shape, scale */
static void t_bipolar(Gen *g)
{
    Val x = *cur(g);
    char s[16];
    act_scale(g, s);
    Node n;
    node_begin(g, &n, "BipolarQuant", QONNX_DOMAINS[0]);
    g->qonnx[0] = true;
    node_in(&n, x.name);
    node_in(&n, s);
    node_out(&n, push(g, x.ndim, x.dim));
    node_end(g, &n);
}

/* Zero point of dtype t as an initializer: a scalar (count 0) or count values v. */
static const char *zero_point(Gen *g, char *buf, int t, int v, int64_t count)
{
    int64_t n = count ? count : 1, dim[1] = {count};
    int bits = t == TP_INT4 || t == TP_UINT4 ? 4 : t == TP_INT2 || t == TP_UINT2 ? 2 : 0;
    size_t es = t == TP_INT16 || t == TP_BFLOAT16 || t == TP_FLOAT16 ? 2
                : t == TP_INT32 || t == TP_FLOAT                   ? 4
                : t == TP_INT64 || t == TP_DOUBLE                  ? 8
                                                                    : 1;
    size_t bytes = bits ? (size_t)(n * bits + 7) / 8 : (size_t)n * es;
    uint8_t *raw = calloc(bytes, 1);
    if (!raw)
        abort();
    for (int64_t i = 0; i < n; i++) {
        if (bits)
            raw[i * bits / 8] |= (uint8_t)((v & ((1 << bits) - 1)) << (i * bits % 8));
        else if (t == TP_FLOAT) {
            float f = (float)v;
            memcpy(raw + i * 4, &f, 4);
        } else
            raw[(size_t)i * es] = (uint8_t)v; /* low byte; others zero (small values) */
    }
    init_raw(g, fresh(g, buf), t, count ? 1 : 0, dim, raw, bytes);
    free(raw);
    return buf;
}

/* Scale of QuantizeLinear: a scalar, or 1-D of the channel count (per axis). */
static const char *qdq_scale(Gen *g, char *buf, bool per_axis)
{
    static const float sc[6] = {1, 0.5f, 0.25f, 1.0f / 3, 0.1f, 2};
    float v = pickf(g, sc, 6, WILD_F);
    const Val *x = cur(g);
    if (!per_axis || x->ndim < 2)
        return scalar_f(g, buf, v);
    int64_t cd[1] = {x->dim[1]};
    float *f = malloc(sizeof(float) * (size_t)cd[0]);
    if (!f)
        abort();
    for (int64_t i = 0; i < cd[0]; i++)
        f[i] = v * (1 + 0.25f * (float)(i % 3));
    init_raw(g, fresh(g, buf), TP_FLOAT, 1, cd, f, sizeof(float) * (size_t)cd[0]);
    free(f);
    return buf;
}

/* bytes: zero-point dtype, zero point, axis (0 mod 4: per axis 1, 4 mod 8: axis -1), scale,
 * clip (0: a Clip between, QCDQ) */
static void t_qdq(Gen *g)
{
    static const int types[8] = {TP_UINT8, TP_INT8, TP_INT4, TP_UINT4,
                                 TP_INT2,  TP_UINT2, TP_INT8, TP_UINT8};
    static const int wild_t[8] = {TP_INT16, TP_INT32, TP_FLOAT, TP_BFLOAT16,
                                  TP_INT64, TP_DOUBLE, TP_FLOAT16, 0};
    unsigned tb = u8(g);
    int t = tb >= 0xF8 ? wild_t[tb - 0xF8] : types[tb % 8];
    int zv = (int)(u8(g) % 4);
    unsigned axis = u8(g);
    Val x = *cur(g);
    char s[16], z[16], q[16];
    qdq_scale(g, s, axis % 4 == 0);
    zero_point(g, z, t ? t : TP_UINT8, t == TP_UINT8 || t == TP_UINT4 ? zv : zv - 1,
               axis % 4 == 0 && x.ndim >= 2 ? x.dim[1] : 0);
    unsigned clip = u8(g) % 4;
    for (int k = 0; k < 2; k++) {
        Node n;
        node_begin(g, &n, k ? "DequantizeLinear" : "QuantizeLinear", NULL);
        node_in(&n, k ? q : x.name);
        node_in(&n, s);
        node_in(&n, z);
        if (axis % 4 == 0)
            attr_i(&n, "axis", axis % 8 ? -1 : 1);
        if (k == 0)
            node_out(&n, fresh(g, q));
        else
            node_out(&n, push(g, x.ndim, x.dim));
        node_end(g, &n);
        if (k == 0 && clip == 0 && (t == TP_INT8 || t == TP_UINT8)) { /* QCDQ */
            char lo[16], hi[16], cq[16];
            zero_point(g, lo, t, t == TP_INT8 ? -8 : 0, 0);
            zero_point(g, hi, t, t == TP_INT8 ? 7 : 15, 0);
            const char *ins[4] = {q, lo, hi, NULL};
            simple(g, "Clip", ins, fresh(g, cq));
            memcpy(q, cq, sizeof q);
        }
    }
}

/* bytes: k (levels N = 2^k - 1), divide or multiply by 1/N */
static void t_fakeq(Gen *g)
{
    static const int64_t wild_k[8] = {0, 9, 16, 24, 31, -1, 1, 2};
    int64_t k = pick(g, 1, 8, wild_k);
    unsigned mul = u8(g) & 1;
    float N = k >= 0 && k < 31 ? (float)((1L << k) - 1) : -1;
    Val x = *cur(g);
    char lo[16], hi[16], nn[16], a[16], b[16], r[16];
    const char *c_in[4] = {x.name, scalar_f(g, lo, 0), scalar_f(g, hi, 1), NULL};
    simple(g, "Clip", c_in, fresh(g, a));
    const char *m_in[3] = {a, scalar_f(g, nn, N), NULL};
    simple(g, "Mul", m_in, fresh(g, b));
    const char *r_in[2] = {b, NULL};
    simple(g, "Round", r_in, fresh(g, r));
    char d[16];
    const char *d_in[3] = {r, mul ? scalar_f(g, d, N != 0 ? 1 / N : 0) : scalar_f(g, d, N),
                           NULL};
    simple(g, mul ? "Mul" : "Div", d_in, push(g, x.ndim, x.dim));
}

/* bytes: M, Gemm or MatMul, weight kind, bits, [narrow] */
static void t_fc(Gen *g)
{
    int64_t M = pick(g, 1, 16, WILD_SIZE);
    unsigned mm = u8(g) & 1;
    Val x = *cur(g);
    if (x.ndim != 2) {
        Node n;
        node_begin(g, &n, "Flatten", NULL);
        node_in(&n, x.name);
        attr_i(&n, "axis", 1);
        int64_t fd[2] = {x.dim[0], numel(x.ndim, x.dim) / x.dim[0]};
        node_out(&n, push(g, 2, fd));
        node_end(g, &n);
    }
    if (!mm) {
        gemm(g, M);
        return;
    }
    x = *cur(g);
    char w[16];
    int64_t wd[2] = {x.dim[1], M}, yd[2] = {x.dim[0], M};
    weights(g, w, 2, wd);
    const char *ins[3] = {x.name, w, NULL};
    simple(g, "MatMul", ins, push(g, 2, yd));
}

static void reshape_same(Gen *g, const Val *x)
{
    char s[16];
    int64_t sd[1] = {x->ndim};
    init_raw(g, fresh(g, s), TP_INT64, 1, sd, x->dim, sizeof(int64_t) * (size_t)x->ndim);
    const char *ins[3] = {x->name, s, NULL};
    simple(g, "Reshape", ins, push(g, x->ndim, x->dim));
}

/* bytes: which, amount */
static void t_shape(Gen *g)
{
    unsigned w = u8(g) % 4;
    int64_t a = pick(g, 0, 2, WILD_ATTR);
    Val x = *cur(g);
    if (w == 0 || x.ndim != 4) {
        reshape_same(g, &x);
        return;
    }
    Node n;
    int64_t yd[4] = {x.dim[0], x.dim[1], x.dim[2], x.dim[3]};
    if (w == 1) {
        static const int64_t perm[4] = {0, 1, 3, 2};
        node_begin(g, &n, "Transpose", NULL);
        node_in(&n, x.name);
        attr_ints(&n, "perm", perm, 4);
        yd[2] = x.dim[3], yd[3] = x.dim[2];
    } else if (w == 2) {
        char p[16];
        int64_t pd[1] = {8}, pads[8] = {0, 0, a, a, 0, 0, a, a};
        init_raw(g, fresh(g, p), TP_INT64, 1, pd, pads, sizeof pads);
        node_begin(g, &n, "Pad", NULL);
        node_in(&n, x.name);
        node_in(&n, p);
        yd[2] += 2 * clampi(a), yd[3] += 2 * clampi(a);
    } else {
        char st[16], en[16], ax[16];
        int64_t one[1] = {1}, s0 = a, e0 = x.dim[2], two = 2;
        init_raw(g, fresh(g, st), TP_INT64, 1, one, &s0, 8);
        init_raw(g, fresh(g, en), TP_INT64, 1, one, &e0, 8);
        init_raw(g, fresh(g, ax), TP_INT64, 1, one, &two, 8);
        node_begin(g, &n, "Slice", NULL);
        const char *ins[4] = {x.name, st, en, ax};
        for (int i = 0; i < 4; i++)
            node_in(&n, ins[i]);
        yd[2] = x.dim[2] - clampi(a);
    }
    node_out(&n, push(g, 4, yd));
    node_end(g, &n);
}

/* bytes: scale, in bits, out bits */
static void t_trunc(Gen *g)
{
    static const float sc[4] = {1, 0.5f, 0.25f, 2};
    static const int64_t wild_b[8] = {0, -1, 25, 32, 9, 1, 2, 3};
    Val x = *cur(g);
    char s[16], z[16], ib[16], ob[16];
    scalar_f(g, s, pickf(g, sc, 4, WILD_F));
    scalar_f(g, z, 0);
    int64_t in_bits = pick(g, 2, 8, wild_b), out_bits = pick(g, 1, 8, wild_b);
    scalar_f(g, ib, (float)in_bits);
    scalar_f(g, ob, (float)out_bits);
    Node n;
    node_begin(g, &n, "Trunc", QONNX_DOMAINS[0]);
    g->qonnx[0] = true;
    const char *ins[5] = {x.name, s, z, ib, ob};
    for (int i = 0; i < 5; i++)
        node_in(&n, ins[i]);
    node_out(&n, push(g, x.ndim, x.dim));
    node_end(g, &n);
}

/* bytes: type */
static void t_cast(Gen *g)
{
    static const int types[4] = {TP_FLOAT16, TP_BFLOAT16, TP_INT8, TP_DOUBLE};
    int t = types[u8(g) % 4];
    Val x = *cur(g);
    char mid[16];
    Node n;
    node_begin(g, &n, "Cast", NULL);
    node_in(&n, x.name);
    attr_i(&n, "to", t);
    node_out(&n, fresh(g, mid));
    node_end(g, &n);
    node_begin(g, &n, "Cast", NULL);
    node_in(&n, mid);
    attr_i(&n, "to", TP_FLOAT);
    node_out(&n, push(g, x.ndim, x.dim));
    node_end(g, &n);
}

/* bytes: axis */
static void t_softmax(Gen *g)
{
    int64_t axis = pick(g, -1, 1, WILD_ATTR);
    Val x = *cur(g);
    Node n;
    node_begin(g, &n, "Softmax", NULL);
    node_in(&n, x.name);
    attr_i(&n, "axis", axis);
    node_out(&n, push(g, x.ndim, x.dim));
    node_end(g, &n);
}

static void t_output(Gen *g)
{
    if (g->nout < FZ_MAX_OUTS - 1 && (g->nout == 0 || g->out[g->nout - 1] != g->cur))
        g->out[g->nout++] = g->cur;
}

static void (*const templates[FZ_COUNT])(Gen *) = {
    [FZ_CONV] = t_conv,       [FZ_ACT] = t_act,         [FZ_POOL] = t_pool,
    [FZ_BN] = t_bn,           [FZ_BINARY] = t_binary,   [FZ_CONCAT] = t_concat,
    [FZ_QUANT] = t_quant,     [FZ_BIPOLAR] = t_bipolar, [FZ_QDQ] = t_qdq,
    [FZ_FAKEQ] = t_fakeq,     [FZ_FC] = t_fc,           [FZ_SHAPE] = t_shape,
    [FZ_TRUNC] = t_trunc,     [FZ_CAST] = t_cast,       [FZ_SOFTMAX] = t_softmax,
    [FZ_OUTPUT] = t_output,
};

/* ---- the model ---- */

/* ValueInfoProto of a float tensor (elem type t) with the given dims. */
static void value_info(Pb *graph, int field, const char *name, int t, int ndim,
                       const int64_t *dim)
{
    Pb shape = {0}, tensor = {0}, type = {0}, vi = {0};
    for (int k = 0; k < ndim; k++) {
        Pb d = {0};
        pb_int(&d, 1, dim[k]);
        pb_msg(&shape, 1, &d);
    }
    pb_int(&tensor, 1, t);
    pb_msg(&tensor, 2, &shape);
    pb_msg(&type, 1, &tensor);
    pb_str(&vi, 1, name);
    pb_msg(&vi, 2, &type);
    pb_msg(graph, field, &vi);
}

static void header(Gen *g, FzOptions *o, int *in_type)
{
    static const int64_t wild_c[8] = {64, 65, 70, 128, 129, 0, 200, 63};
    unsigned h0 = u8(g), h1 = u8(g);
    o->wbits = (h0 & 15) <= 8 ? (int)(h0 & 15) : 0;
    o->abits = (h0 >> 4) <= 8 ? (int)(h0 >> 4) : 0;
    o->quantize_all = h1 & 1;
    o->no_pack = (h1 >> 1) & 1;
    o->no_fuse = (h1 >> 2) & 1;
    o->kernel = (h1 >> 3) & 3;
    o->kernel = o->kernel == 3 ? 0 : o->kernel;
    o->target = (int)((h1 >> 5) & 3);
    o->width = h1 >> 7 ? 2 : 1;
    int64_t C = pick(g, 1, 16, wild_c), H = pick(g, 1, 9, NULL);
    unsigned h4 = u8(g), h5 = u8(g);
    int64_t dim[4] = {1 + (h4 >> 7), C, H, 1 + (h4 & 127) % 9};
    g->opset = h5 & 1 ? 21 : 13;
    unsigned t = (h5 >> 1) & 7;
    *in_type = t == 6 ? TP_FLOAT16 : t == 7 ? TP_DOUBLE : TP_FLOAT;
    g->seed = h5 >> 4;
    push(g, 4, dim);
    memcpy(g->val[0].name, "x", 2);
}

static void finish(Gen *g, int in_type, FzModel *m)
{
    const Val *x = &g->val[0];
    value_info(&g->graph, 11, x->name, in_type, x->ndim, x->dim);
    g->out[g->nout++] = g->cur;
    for (int i = 0; i < g->nout; i++) {
        const Val *v = &g->val[g->out[i]];
        bool dup = false;
        for (int j = 0; j < i; j++)
            dup |= g->out[j] == g->out[i];
        if (!dup)
            value_info(&g->graph, 12, v->name, TP_FLOAT, v->ndim, v->dim);
    }
    pb_str(&g->graph, 2, "fuzz");
    Pb model = {0}, op = {0};
    pb_int(&model, 1, 8); /* ir_version */
    pb_int(&op, 2, g->opset);
    pb_msg(&model, 8, &op);
    for (int d = 0; d < 3; d++)
        if (g->qonnx[d]) {
            pb_str(&op, 1, QONNX_DOMAINS[d]);
            pb_int(&op, 2, 1);
            pb_msg(&model, 8, &op);
        }
    pb_msg(&model, 7, &g->graph);
    m->bytes = model.p;
    m->len = model.len;
}

void fz_model_build(const uint8_t *data, size_t size, FzModel *m)
{
    Gen *g = calloc(1, sizeof *g);
    if (!g)
        abort();
    g->data = data;
    g->size = size;
    memset(m, 0, sizeof *m);
    int in_type;
    header(g, &m->opt, &in_type);
    for (int i = 0; i < FZ_MAX_LAYERS && g->pos < g->size; i++)
        templates[u8(g) % FZ_COUNT](g);
    finish(g, in_type, m);
    free(g);
}

void fz_model_free(FzModel *m)
{
    free(m->bytes);
    memset(m, 0, sizeof *m);
}

void fz_options_args(const FzOptions *o, char *buf, size_t n)
{
    static const char *const targets[4] = {"generic", "avx2", "avx512", "neon"};
    static const char *const kernels[3] = {"auto", "bitserial", "int8"};
    int k = snprintf(buf, n, "--target %s --kernel %s", targets[o->target & 3],
                     kernels[o->kernel % 3]);
    /* one of --wbits / --abits alone is a usage error; on a model with quantizers of
     * its own the command line asks for --requantize explicitly */
    if (o->wbits && o->abits && k < (int)n)
        k += snprintf(buf + k, n - (size_t)k, " --wbits %d --abits %d --requantize", o->wbits,
                      o->abits);
    const char *flags[4] = {o->quantize_all ? " --quantize-all" : "",
                            o->no_pack ? " --no-pack" : "", o->no_fuse ? " --no-fuse" : "",
                            o->width > 1 ? " --width 2 --init random" : ""};
    for (int i = 0; i < 4 && k < (int)n; i++)
        k += snprintf(buf + k, n - (size_t)k, "%s", flags[i]);
}

/* ---- seeds ---- */

/* Seeds written with the templates' byte orders (sizes as the values they give). */
#define HDR(w, a, flags, C, H, W, op21, seed) (w) | (a) << 4, flags, (C) - 1, (H) - 1, (W) - 1, \
                                              (op21) | (seed) << 4
#define C70 0xFB /* HDR's C for byte 0xFA: 70 channels, a wild value */
#define CONV(M, k, s, p, gm, wk, bits) FZ_CONV, (M) - 1, (k) - 1, (s) - 1, p, 0, gm, 1, 1, wk, \
                                       (bits) - 1
#define CONVQ(M, k, s, p, gm, bits) CONV(M, k, s, p, gm, 2, bits), 0 /* Quant weights */
#define ACT(w) FZ_ACT, w
#define POOL(w, k, s, p) FZ_POOL, w, (k) - 1, (s) - 1, p, 0
#define BINARY(op, skip) FZ_BINARY, op, skip
#define QUANT(perch, scale, bits, flags) FZ_QUANT, 0, (perch) ? 0 : 1, scale, 0, (bits) - 1, \
                                         flags, 0
#define BIPOLAR(perch, scale) FZ_BIPOLAR, (perch) ? 0 : 1, scale
#define QDQ(t, zv, axis, scale, clip) FZ_QDQ, t, zv, axis, scale, clip
#define FAKEQ(k, mul) FZ_FAKEQ, (k) - 1, mul
#define FC(M, mm, wk, bits) FZ_FC, (M) - 1, mm, wk, (bits) - 1

typedef struct Seed {
    const char *name;
    uint8_t bytes[64];
    size_t len;
} Seed;

#define SEED(name, ...) {name, {__VA_ARGS__}, sizeof((uint8_t[]){__VA_ARGS__})}

static const Seed seeds[] = {
    SEED("float_cnn", HDR(0, 0, 0x00, 3, 8, 8, 0, 1), CONV(8, 3, 1, 1, 0, 0, 1), ACT(0),
         POOL(0, 2, 2, 0), CONV(6, 3, 1, 0, 0, 0, 1), FZ_BN, 0, ACT(0), FC(10, 0, 0, 1)),
    /* --wbits 2 --abits 2 on a float conv chain */
    SEED("wbits2_abits2", HDR(2, 2, 0x00, 4, 6, 6, 1, 3), CONV(8, 3, 1, 1, 0, 0, 1), ACT(0),
         CONV(8, 3, 1, 1, 0, 0, 1), ACT(0), CONV(4, 3, 1, 1, 0, 0, 1)),
    /* --wbits 1 --abits 1 --quantize-all --kernel bitserial, 70 channels (two words) */
    SEED("w1a1_all_70ch", HDR(1, 1, 0x09, C70, 4, 4, 1, 2), CONV(66, 3, 1, 1, 0, 0, 1), ACT(0),
         CONV(8, 1, 1, 0, 0, 0, 1)),
    /* --wbits 4 --abits 4 --kernel int8, a residual add and max pooling */
    SEED("w4a4_int8_residual", HDR(4, 4, 0x10, 8, 6, 6, 1, 4), CONV(8, 3, 1, 1, 0, 0, 1), ACT(0),
         CONV(8, 3, 1, 1, 0, 0, 1), BINARY(0, 0), ACT(0), POOL(0, 2, 2, 0),
         CONV(4, 1, 1, 0, 0, 0, 1)),
    /* --wbits 3 --abits 2 --no-pack, avx2 */
    SEED("w3a2_nopack_avx2", HDR(3, 2, 0x22, 6, 5, 5, 1, 5), CONV(8, 3, 1, 1, 0, 0, 1), ACT(0),
         CONV(8, 3, 1, 1, 0, 0, 1), ACT(0), CONV(8, 3, 1, 1, 0, 0, 1)),
    /* QONNX: Relu -> Quant(4 bits, unsigned) -> Conv(Quant 4-bit weights) -> Relu -> Quant -> Conv */
    SEED("qonnx_quant_chain", HDR(0, 0, 0x00, 4, 6, 6, 0, 6), ACT(0), QUANT(0, 2, 4, 0),
         CONVQ(8, 3, 1, 1, 0, 4), ACT(0), QUANT(1, 2, 4, 0), CONVQ(4, 3, 1, 1, 0, 4)),
    /* QONNX 2-bit signed narrow activations, per-channel scale */
    SEED("qonnx_2bit_signed", HDR(0, 0, 0x20, 6, 5, 5, 0, 7), QUANT(0, 1, 2, 3),
         CONVQ(8, 3, 1, 1, 0, 2), QUANT(1, 1, 2, 3), CONVQ(8, 1, 1, 0, 0, 2)),
    /* QONNX BipolarQuant -> Conv(bipolar weights) -> BipolarQuant -> Gemm */
    SEED("bipolar_chain", HDR(0, 0, 0x00, 8, 5, 5, 0, 8), BIPOLAR(0, 1),
         CONV(8, 3, 1, 1, 0, 3, 1), BIPOLAR(0, 1), FC(10, 0, 3, 1)),
    /* QCDQ uint8 (4-bit Clip) -> Conv(int8 weights) -> Relu -> QDQ uint8 -> Conv */
    SEED("qdq_int8", HDR(0, 0, 0x00, 4, 6, 6, 1, 9), ACT(0), QDQ(0, 0, 1, 1, 0),
         CONV(8, 3, 1, 1, 0, 4, 1), ACT(0), QDQ(0, 0, 1, 1, 1), CONV(4, 3, 1, 1, 0, 4, 1)),
    /* QDQ uint4 activations and int4 weights (opset 21) */
    SEED("qdq_int4", HDR(0, 0, 0x00, 4, 6, 6, 1, 10), ACT(0), QDQ(3, 0, 1, 1, 1),
         CONV(8, 3, 1, 1, 0, 5, 1), ACT(0), QDQ(3, 0, 1, 1, 1), CONV(4, 3, 1, 1, 0, 5, 1)),
    /* QDQ int8 on signed values, per channel (stays float) */
    SEED("qdq_int8_signed_axis", HDR(0, 0, 0x00, 4, 6, 6, 1, 13), QDQ(1, 1, 0, 1, 1),
         CONV(8, 3, 1, 1, 0, 4, 1), QDQ(2, 1, 1, 1, 1), CONV(4, 3, 1, 1, 0, 5, 1)),
    /* WRPN fake-quant: Clip(0,1) -> Mul(3) -> Round -> Div(3) -> Conv(2-bit grid weights) */
    SEED("wrpn_fakequant", HDR(0, 0, 0x00, 4, 6, 6, 0, 11), FAKEQ(2, 0),
         CONV(8, 3, 1, 1, 0, 1, 2), FZ_BN, 0, FAKEQ(2, 1), POOL(0, 2, 2, 0),
         CONV(4, 3, 1, 1, 0, 1, 2)),
    /* concat, depthwise conv, transpose, softmax and a second output, --wbits 2 --abits 2 */
    SEED("concat_depthwise", HDR(2, 2, 0x01, 6, 7, 7, 0, 12), CONV(6, 3, 1, 1, 0, 0, 1), ACT(0),
         FZ_OUTPUT, FZ_CONCAT, 0, CONV(6, 3, 1, 1, 2, 0, 1), ACT(0), FZ_SHAPE, 1, 0,
         FZ_SOFTMAX, 2),
};

int fz_seed_count(void) { return (int)(sizeof seeds / sizeof seeds[0]); }

const uint8_t *fz_seed(int i, size_t *len, const char **name)
{
    *len = seeds[i].len;
    *name = seeds[i].name;
    return seeds[i].bytes;
}
