/*
 * test_passes.c: unit tests of remove_noop, fold_bn and fuse_act. Each test
 * builds a small graph with the IR API, runs the reference interpreter,
 * runs one pass, then checks the new structure and that the interpreter
 * gives the same outputs (within 1e-5). Ops a build does not declare are
 * looked up by name: the tests that need them are reported as skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "passes.h"

enum { MAX_IO = 8, MAX_ATTR = 8 };

/* ---- graph building ---- */

static Graph *graph_new(void)
{
    Graph *g = ir_graph_new("t");
    g->opset = 13;
    g->input = arena_alloc(&g->arena, sizeof(Tensor *) * MAX_IO);
    g->output = arena_alloc(&g->arena, sizeof(Tensor *) * MAX_IO);
    return g;
}

static uint32_t rng_state = 12345;

/* Deterministic values in [-1, 1). */
static float rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) * (1.0 / 8388608.0) - 1.0);
}

static Tensor *input(Graph *g, const char *name, int ndim, const int64_t *dim)
{
    Tensor *t = ir_tensor_get(g, name, true);
    ir_tensor_set_shape(t, DT_F32, ndim, dim);
    t->input_index = g->ninput;
    g->input[g->ninput++] = t;
    return t;
}

/* A float constant filled with rnd() * scale + offset. */
static Tensor *constant(Graph *g, const char *name, int ndim, const int64_t *dim, float scale,
                        float offset)
{
    Tensor *t = ir_tensor_get(g, name, true);
    ir_tensor_set_shape(t, DT_F32, ndim, dim);
    float *v = ir_tensor_alloc_data(g, t);
    for (int64_t i = 0; i < ir_tensor_numel(t); i++)
        v[i] = rnd() * scale + offset;
    return t;
}

static Tensor *scalar(Graph *g, const char *name, float x)
{
    Tensor *t = constant(g, name, 0, NULL, 0.0f, 0.0f);
    *(float *)t->data = x;
    return t;
}

static void output(Graph *g, Tensor *t)
{
    t->output_index = g->noutput;
    g->output[g->noutput++] = t;
}

/* A node of the named op reading in[0..nin) and writing a tensor named out,
 * or NULL when the op is not declared in this build. */
static Node *node(Graph *g, const char *op, int nin, Tensor *const *in, const char *out)
{
    int k = op_lookup("", op);
    if (k < 0)
        return NULL;
    Node *n = ir_node_new(g, k, out, nin, 1);
    for (int i = 0; i < nin; i++)
        n->in[i] = in[i];
    n->out[0] = ir_tensor_get(g, out, true);
    n->attr = arena_alloc(&g->arena, sizeof(Attr) * MAX_ATTR);
    return n;
}

static Attr *attr(Graph *g, Node *n, const char *name, AttrType type)
{
    Attr *a = &n->attr[n->nattr++];
    a->name = arena_strdup(&g->arena, name);
    a->type = type;
    return a;
}

static void attr_int(Graph *g, Node *n, const char *name, int64_t v)
{
    attr(g, n, name, ATTR_INT)->i = v;
}

static void attr_float(Graph *g, Node *n, const char *name, float v)
{
    attr(g, n, name, ATTR_FLOAT)->f = v;
}

static void attr_ints(Graph *g, Node *n, const char *name, int cnt, const int64_t *v)
{
    Attr *a = attr(g, n, name, ATTR_INTS);
    a->n = cnt;
    a->ints = arena_alloc(&g->arena, sizeof(int64_t) * (size_t)(cnt ? cnt : 1));
    memcpy(a->ints, v, sizeof(int64_t) * (size_t)cnt);
}

static void prepare(Graph *g)
{
    Diag d = {0};
    ir_graph_relink(g);
    Status s = ir_infer(g, NULL, &d);
    if (s != WR_OK)
        fail_msg("infer: %s", d.msg);
    s = ir_verify(g, &d);
    if (s != WR_OK)
        fail_msg("verify: %s", d.msg);
}

/* ---- running and comparing ---- */

typedef struct Snap {
    int n;
    float *v[MAX_IO];
    int64_t len[MAX_IO];
} Snap;

static void run(Graph *g, Snap *s)
{
    void *in[MAX_IO], *out[MAX_IO];
    uint32_t keep = rng_state;
    rng_state = 777;
    for (int i = 0; i < g->ninput; i++) {
        float *x = malloc((size_t)ir_tensor_bytes(g->input[i]));
        for (int64_t j = 0; j < ir_tensor_numel(g->input[i]); j++)
            x[j] = rnd() * 2.0f;
        in[i] = x;
    }
    rng_state = keep;
    s->n = g->noutput;
    for (int i = 0; i < g->noutput; i++) {
        s->len[i] = ir_tensor_numel(g->output[i]);
        s->v[i] = out[i] = malloc((size_t)ir_tensor_bytes(g->output[i]));
    }
    Diag d = {0};
    Status st = ir_interp_run(g, in, out, &d);
    for (int i = 0; i < g->ninput; i++)
        free(in[i]);
    if (st != WR_OK)
        fail_msg("interp: %s", d.msg);
}

static void snap_free(Snap *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->v[i]);
}

static void assert_same(Graph *g, Snap *before)
{
    Snap after;
    run(g, &after);
    assert_int_equal(after.n, before->n);
    for (int i = 0; i < after.n; i++) {
        assert_int_equal(after.len[i], before->len[i]);
        for (int64_t j = 0; j < after.len[i]; j++) {
            float a = before->v[i][j], b = after.v[i][j];
            float tol = 1e-5f * (1.0f + (a < 0 ? -a : a));
            if (!(a - b <= tol && b - a <= tol))
                fail_msg("output %d [%lld]: %g before the pass, %g after", i, (long long)j,
                         (double)a, (double)b);
        }
    }
    snap_free(&after);
    snap_free(before);
}

static void run_pass(Graph *g, PassFn pass, const PassOptions *opt)
{
    Diag d = {0};
    Status s = pass(g, opt, &d);
    if (s != WR_OK)
        fail_msg("pass: %s", d.msg);
    s = ir_verify(g, &d);
    if (s != WR_OK)
        fail_msg("verify after the pass: %s", d.msg);
}

static int count_op(const Graph *g, const char *op)
{
    int k = op_lookup("", op), c = 0;
    for (int i = 0; i < g->nnode; i++)
        c += g->node[i]->op == k;
    return c;
}

static Node *find_op(const Graph *g, const char *op)
{
    int k = op_lookup("", op);
    for (int i = 0; i < g->nnode; i++)
        if (g->node[i]->op == k)
            return g->node[i];
    return NULL;
}

#define NEED_OP(op)                                                                                \
    do {                                                                                           \
        if (op_lookup("", op) < 0) {                                                               \
            print_message("op %s is not declared in this build\n", op);                           \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* x (1,3,6,6) -> Conv 3x3 pad 1 (4 channels, with bias) -> tensor named out;
 * the weight w is created on first use and shared after. */
static Node *conv(Graph *g, Tensor *x, const char *w, const char *out)
{
    int64_t wd[4] = {4, 3, 3, 3}, bd[1] = {4}, pads[4] = {1, 1, 1, 1};
    char bname[64];
    snprintf(bname, sizeof bname, "%s_b", out);
    Tensor *wt = ir_tensor_get(g, w, false);
    Tensor *in[3] = {x, wt ? wt : constant(g, w, 4, wd, 0.3f, 0.0f),
                     constant(g, bname, 1, bd, 0.5f, 0.0f)};
    Node *n = node(g, "Conv", 3, in, out);
    attr_ints(g, n, "pads", 4, pads);
    return n;
}

static Tensor *image(Graph *g)
{
    int64_t xd[4] = {1, 3, 6, 6};
    return input(g, "x", 4, xd);
}

/* ---- remove_noop ---- */

static void test_noop_identity(void **state)
{
    (void)state;
    Graph *g = graph_new();
    Node *c = conv(g, image(g), "w", "c");
    Node *id = node(g, "Identity", 1, c->out, "i");
    Node *r = node(g, "Relu", 1, id->out, "y");
    output(g, r->out[0]);
    prepare(g);
    Snap s;
    run(g, &s);
    run_pass(g, pass_remove_noop, NULL);
    assert_int_equal(g->nnode, 2);
    assert_int_equal(count_op(g, "Identity"), 0);
    assert_ptr_equal(find_op(g, "Relu")->in[0], find_op(g, "Conv")->out[0]);
    assert_string_equal(g->output[0]->name, "y");
    assert_same(g, &s);
    ir_graph_free(g);
}

/* Conv -> Identity -> graph output "y": Conv now writes "y" itself. */
static void test_noop_output_name_kept(void **state)
{
    (void)state;
    Graph *g = graph_new();
    Node *c = conv(g, image(g), "w", "c");
    output(g, node(g, "Identity", 1, c->out, "y")->out[0]);
    prepare(g);
    Snap s;
    run(g, &s);
    run_pass(g, pass_remove_noop, NULL);
    assert_int_equal(g->nnode, 1);
    assert_int_equal(g->noutput, 1);
    assert_string_equal(g->output[0]->name, "y");
    assert_ptr_equal(g->node[0]->out[0], g->output[0]);
    assert_same(g, &s);
    ir_graph_free(g);
}

/* Identities whose input is a graph input or another graph output must stay,
 * or an output would be renamed. */
static void test_noop_refused(void **state)
{
    (void)state;
    Graph *g = graph_new();
    Tensor *x = image(g);
    output(g, node(g, "Identity", 1, &x, "y0")->out[0]);
    Node *c = conv(g, x, "w", "c");
    output(g, c->out[0]);
    output(g, node(g, "Identity", 1, c->out, "y1")->out[0]);
    prepare(g);
    Snap s;
    run(g, &s);
    run_pass(g, pass_remove_noop, NULL);
    assert_int_equal(count_op(g, "Identity"), 2);
    assert_string_equal(g->output[0]->name, "y0");
    assert_string_equal(g->output[1]->name, "c");
    assert_string_equal(g->output[2]->name, "y1");
    assert_same(g, &s);
    ir_graph_free(g);
}

/* Appends Dropout, Reshape, Cast and Transpose nodes that change nothing to
 * t, as far as this build declares them; *declared counts them. */
static Tensor *noop_chain(Graph *g, Tensor *t, int *declared)
{
    int64_t shape[4] = {1, 4, 6, 6}, sd = 4, perm[4] = {0, 1, 2, 3};
    Node *n;
    if ((n = node(g, "Dropout", 1, &t, "drop")) && ++*declared)
        t = n->out[0];
    Tensor *sh = ir_tensor_get(g, "shape", true);
    ir_tensor_set_shape(sh, DT_I64, 1, &sd);
    memcpy(ir_tensor_alloc_data(g, sh), shape, sizeof shape);
    Tensor *rin[2] = {t, sh};
    if ((n = node(g, "Reshape", 2, rin, "resh")) && ++*declared)
        t = n->out[0];
    if ((n = node(g, "Cast", 1, &t, "cast")) && ++*declared) {
        attr_int(g, n, "to", 1);
        t = n->out[0];
    }
    if ((n = node(g, "Transpose", 1, &t, "tr")) && ++*declared) {
        attr_ints(g, n, "perm", 4, perm);
        t = n->out[0];
    }
    return t;
}

/* The no-op chain goes; a Transpose that does permute stays. */
static void test_noop_other_ops(void **state)
{
    (void)state;
    Graph *g = graph_new();
    int declared = 0;
    Tensor *t = noop_chain(g, conv(g, image(g), "w", "c")->out[0], &declared);
    int64_t swap[4] = {0, 1, 3, 2};
    Node *swapped = node(g, "Transpose", 1, &t, "tr2");
    if (swapped) {
        attr_ints(g, swapped, "perm", 4, swap);
        t = swapped->out[0];
    }
    output(g, node(g, "Relu", 1, &t, "y")->out[0]);
    if (!declared) {
        ir_graph_free(g);
        NEED_OP("Dropout");
    }
    prepare(g);
    Snap s;
    run(g, &s);
    run_pass(g, pass_remove_noop, NULL);
    assert_int_equal(g->nnode, 2 + (swapped != NULL));
    assert_int_equal(count_op(g, "Transpose"), swapped != NULL);
    assert_string_equal(g->output[0]->name, "y");
    assert_same(g, &s);
    ir_graph_free(g);
}

/* ---- fold_bn ---- */

/* BatchNormalization over channels of x, named out (variance kept positive). */
static Node *batchnorm(Graph *g, Tensor *x, int64_t ch, const char *out)
{
    char nm[64];
    Tensor *in[5] = {x};
    const float scale[4] = {0.8f, 0.5f, 0.4f, 0.5f}, offset[4] = {1.0f, 0.0f, 0.0f, 1.0f};
    for (int i = 1; i < 5; i++) {
        snprintf(nm, sizeof nm, "%s_p%d", out, i);
        in[i] = constant(g, nm, 1, &ch, scale[i - 1], offset[i - 1]);
    }
    Node *n = node(g, "BatchNormalization", 5, in, out);
    if (n)
        attr_float(g, n, "epsilon", 1e-3f);
    return n;
}

static void test_fold_bn_conv(void **state)
{
    (void)state;
    NEED_OP("BatchNormalization");
    Graph *g = graph_new();
    Node *c = conv(g, image(g), "w", "c");
    Tensor *w = c->in[1];
    float w0 = ((float *)w->data)[0];
    output(g, batchnorm(g, c->out[0], 4, "y")->out[0]);
    prepare(g);
    Snap s;
    run(g, &s);
    run_pass(g, pass_fold_bn, NULL);
    assert_int_equal(g->nnode, 1);
    assert_ptr_equal(g->node[0], c);
    assert_ptr_not_equal(c->in[1], w);
    assert_true(((float *)w->data)[0] == w0);
    assert_string_equal(g->output[0]->name, "y");
    assert_ptr_equal(c->out[0], g->output[0]);
    assert_same(g, &s);
    ir_graph_free(g);
}

/* Two convs share one weight initializer; both fold, the shared data stays. */
static void test_fold_bn_shared_weights(void **state)
{
    (void)state;
    NEED_OP("BatchNormalization");
    Graph *g = graph_new();
    Tensor *x = image(g);
    Node *c1 = conv(g, x, "w", "c1"), *c2 = conv(g, x, "w", "c2");
    assert_ptr_equal(c1->in[1], c2->in[1]);
    Tensor *w = c1->in[1];
    float *copy = malloc((size_t)ir_tensor_bytes(w));
    memcpy(copy, w->data, (size_t)ir_tensor_bytes(w));
    output(g, batchnorm(g, c1->out[0], 4, "y1")->out[0]);
    output(g, batchnorm(g, c2->out[0], 4, "y2")->out[0]);
    prepare(g);
    Snap s;
    run(g, &s);
    run_pass(g, pass_fold_bn, NULL);
    assert_int_equal(count_op(g, "BatchNormalization"), 0);
    assert_memory_equal(w->data, copy, (size_t)ir_tensor_bytes(w));
    assert_ptr_not_equal(c1->in[1], c2->in[1]);
    assert_same(g, &s);
    free(copy);
    ir_graph_free(g);
}

/* The conv's output has a second reader: the BN must stay. So must a BN
 * after a conv whose output is a graph output, and nothing folds with no_fuse. */
static void test_fold_bn_refused(void **state)
{
    (void)state;
    NEED_OP("BatchNormalization");
    Graph *g = graph_new();
    Tensor *x = image(g);
    Node *c1 = conv(g, x, "w", "c1");
    output(g, batchnorm(g, c1->out[0], 4, "y1")->out[0]);
    output(g, node(g, "Relu", 1, c1->out, "r1")->out[0]);
    Node *c2 = conv(g, x, "w2", "c2");
    output(g, c2->out[0]);
    output(g, batchnorm(g, c2->out[0], 4, "y2")->out[0]);
    Node *c3 = conv(g, x, "w3", "c3");
    output(g, batchnorm(g, c3->out[0], 4, "y3")->out[0]);
    prepare(g);
    Snap s;
    run(g, &s);
    PassOptions opt = {.no_fuse = true};
    run_pass(g, pass_fold_bn, &opt);
    assert_int_equal(count_op(g, "BatchNormalization"), 3);
    run_pass(g, pass_fold_bn, NULL);
    assert_int_equal(count_op(g, "BatchNormalization"), 2);
    const char *names[5] = {"y1", "r1", "c2", "y2", "y3"};
    for (int i = 0; i < 5; i++)
        assert_string_equal(g->output[i]->name, names[i]);
    assert_same(g, &s);
    ir_graph_free(g);
}

/* ConvTranspose with 2 groups: W is (C, M/g, kh, kw). */
static void test_fold_bn_conv_transpose(void **state)
{
    (void)state;
    NEED_OP("BatchNormalization");
    NEED_OP("ConvTranspose");
    Graph *g = graph_new();
    int64_t xd[4] = {1, 4, 5, 5}, wd[4] = {4, 3, 3, 3}, bd = 6, st[2] = {2, 2};
    Tensor *in[3] = {input(g, "x", 4, xd), constant(g, "w", 4, wd, 0.3f, 0.0f),
                     constant(g, "b", 1, &bd, 0.3f, 0.0f)};
    Node *ct = node(g, "ConvTranspose", 3, in, "ct");
    attr_int(g, ct, "group", 2);
    attr_ints(g, ct, "strides", 2, st);
    output(g, batchnorm(g, ct->out[0], 6, "y")->out[0]);
    prepare(g);
    Snap s;
    run(g, &s);
    run_pass(g, pass_fold_bn, NULL);
    assert_int_equal(g->nnode, 1);
    assert_string_equal(g->output[0]->name, "y");
    assert_same(g, &s);
    ir_graph_free(g);
}

/* Gemm, with B transposed and not, with alpha and beta, C broadcast. */
static void fold_gemm(int trans_b, bool with_c)
{
    NEED_OP("BatchNormalization");
    NEED_OP("Gemm");
    Graph *g = graph_new();
    int64_t ad[2] = {3, 5}, bd[2] = {trans_b ? 6 : 5, trans_b ? 5 : 6}, cd = 6;
    Tensor *in[3] = {input(g, "a", 2, ad), constant(g, "b", 2, bd, 0.5f, 0.0f),
                     with_c ? constant(g, "c", 1, &cd, 0.5f, 0.0f) : NULL};
    Node *gm = node(g, "Gemm", with_c ? 3 : 2, in, "gm");
    attr_int(g, gm, "transB", trans_b);
    attr_float(g, gm, "alpha", 0.7f);
    attr_float(g, gm, "beta", 0.5f);
    output(g, batchnorm(g, gm->out[0], 6, "y")->out[0]);
    prepare(g);
    Snap s;
    run(g, &s);
    run_pass(g, pass_fold_bn, NULL);
    assert_int_equal(g->nnode, 1);
    assert_int_equal(gm->nin, 3);
    assert_string_equal(g->output[0]->name, "y");
    assert_same(g, &s);
    ir_graph_free(g);
}

static void test_fold_bn_gemm(void **state)
{
    (void)state;
    fold_gemm(1, true);
    fold_gemm(0, true);
    fold_gemm(1, false);
}

/* ---- fuse_act ---- */

/* Whether op's reference eval applies n->act: a producer whose result is all
 * negative, with ACT_RELU set by hand, must give zeros. */
static bool eval_applies_act(const char *op)
{
    Graph *g = graph_new();
    int64_t xd[4] = {1, 1, 2, 2}, wd[4] = {1, 1, 1, 1}, md[2] = {2, 2};
    bool mat = strcmp(op, "Conv") != 0;
    Tensor *in[2] = {input(g, "x", mat ? 2 : 4, mat ? md : xd),
                     constant(g, "w", mat ? 2 : 4, mat ? md : wd, 0.0f, -1.0f)};
    Node *n = node(g, op, 2, in, "y");
    output(g, n->out[0]);
    prepare(g);
    n->act = ACT_RELU;
    float x[4] = {1, 2, 3, 4}, y[4] = {-1, -1, -1, -1};
    void *xi[1] = {x}, *yo[1] = {y};
    Diag d = {0};
    bool ok = ir_interp_run(g, xi, yo, &d) == WR_OK && y[0] == 0 && y[3] == 0;
    ir_graph_free(g);
    return ok;
}

static void fuse_one(const char *prod, const char *act_op, Act want)
{
    NEED_OP(prod);
    NEED_OP(act_op);
    Graph *g = graph_new();
    Node *p;
    if (strcmp(prod, "Conv") == 0)
        p = conv(g, image(g), "w", "c");
    else {
        int64_t ad[2] = {3, 5}, bd[2] = {5, 6};
        Tensor *in[2] = {input(g, "a", 2, ad), constant(g, "b", 2, bd, 1.0f, 0.0f)};
        p = node(g, prod, 2, in, "c");
    }
    Tensor *in[3] = {p->out[0], scalar(g, "lo", -0.3f), scalar(g, "hi", 0.4f)};
    Node *a = node(g, act_op, strcmp(act_op, "Clip") ? 1 : 3, in, "y");
    if (want == ACT_LEAKY_RELU)
        attr_float(g, a, "alpha", 0.2f);
    output(g, a->out[0]);
    prepare(g);
    Snap s;
    run(g, &s);
    run_pass(g, pass_fuse_act, NULL);
    assert_int_equal(g->nnode, 1);
    assert_ptr_equal(g->node[0], p);
    assert_int_equal(p->act, want);
    assert_string_equal(g->output[0]->name, "y");
    assert_ptr_equal(p->out[0], g->output[0]);
    if (want == ACT_CLIP)
        assert_true(p->act_lo == -0.3f && p->act_hi == 0.4f);
    if (want == ACT_LEAKY_RELU)
        assert_true(p->act_lo == 0.2f);
    if (!eval_applies_act(prod)) {
        snap_free(&s);
        ir_graph_free(g);
        print_message("%s's reference eval does not apply n->act in this build\n", prod);
        skip();
    }
    assert_same(g, &s);
    ir_graph_free(g);
}

static void test_fuse_conv_relu(void **state) { (void)state; fuse_one("Conv", "Relu", ACT_RELU); }
static void test_fuse_conv_clip(void **state) { (void)state; fuse_one("Conv", "Clip", ACT_CLIP); }
static void test_fuse_conv_leaky(void **state)
{
    (void)state;
    fuse_one("Conv", "LeakyRelu", ACT_LEAKY_RELU);
}
static void test_fuse_conv_sigmoid(void **state)
{
    (void)state;
    fuse_one("Conv", "Sigmoid", ACT_SIGMOID);
}
static void test_fuse_conv_hardswish(void **state)
{
    (void)state;
    fuse_one("Conv", "HardSwish", ACT_HARD_SWISH);
}
static void test_fuse_gemm_relu(void **state) { (void)state; fuse_one("Gemm", "Relu", ACT_RELU); }
static void test_fuse_matmul_clip(void **state)
{
    (void)state;
    fuse_one("MatMul", "Clip", ACT_CLIP);
}

/* A conv read twice, a conv that is a graph output, a Clip with a bound
 * computed at run time, and anything under no_fuse: nothing fuses. */
static void test_fuse_refused(void **state)
{
    (void)state;
    Graph *g = graph_new();
    Tensor *x = image(g);
    Node *c1 = conv(g, x, "w", "c1");
    output(g, node(g, "Relu", 1, c1->out, "r1")->out[0]);
    output(g, node(g, "Identity", 1, c1->out, "i1")->out[0]);
    Node *c2 = conv(g, x, "w2", "c2");
    output(g, c2->out[0]);
    output(g, node(g, "Relu", 1, c2->out, "r2")->out[0]);
    Node *c3 = conv(g, x, "w3", "c3");
    Tensor *clip_in[2] = {c3->out[0], input(g, "lo", 0, NULL)};
    Node *clip = node(g, "Clip", 2, clip_in, "y3");
    output(g, clip ? clip->out[0] : c3->out[0]);
    Node *c4 = conv(g, x, "w4", "c4");
    output(g, node(g, "Relu", 1, c4->out, "r4")->out[0]);
    int relus = 3;
    prepare(g);
    PassOptions opt = {.no_fuse = true};
    run_pass(g, pass_fuse_act, &opt);
    assert_int_equal(count_op(g, "Relu"), relus);
    run_pass(g, pass_fuse_act, NULL);
    assert_int_equal(count_op(g, "Relu"), relus - 1);
    assert_int_equal(c1->act, ACT_NONE);
    assert_int_equal(c2->act, ACT_NONE);
    assert_int_equal(c3->act, ACT_NONE);
    assert_int_equal(c4->act, ACT_RELU);
    assert_string_equal(g->output[5]->name, "r4");
    ir_graph_free(g);
}

/* ---- pipeline ---- */

/* Conv -> Identity -> BN -> Relu through the whole pipeline: one node left
 * when BN and fused activations exist, and the outputs agree. */
static void test_pipeline(void **state)
{
    (void)state;
    NEED_OP("BatchNormalization");
    Graph *g = graph_new();
    Node *c = conv(g, image(g), "w", "c");
    Node *id = node(g, "Identity", 1, c->out, "i");
    Node *bn = batchnorm(g, id->out[0], 4, "bn");
    output(g, node(g, "Relu", 1, bn->out, "y")->out[0]);
    prepare(g);
    Snap s;
    run(g, &s);
    Diag d = {0};
    assert_int_equal(pass_pipeline(g, NULL, &d), WR_OK);
    assert_int_equal(g->nnode, 1);
    assert_string_equal(g->output[0]->name, "y");
    if (!eval_applies_act("Conv")) {
        snap_free(&s);
        ir_graph_free(g);
        skip();
    }
    assert_same(g, &s);
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noop_identity),
        cmocka_unit_test(test_noop_output_name_kept),
        cmocka_unit_test(test_noop_refused),
        cmocka_unit_test(test_noop_other_ops),
        cmocka_unit_test(test_fold_bn_conv),
        cmocka_unit_test(test_fold_bn_shared_weights),
        cmocka_unit_test(test_fold_bn_refused),
        cmocka_unit_test(test_fold_bn_conv_transpose),
        cmocka_unit_test(test_fold_bn_gemm),
        cmocka_unit_test(test_fuse_conv_relu),
        cmocka_unit_test(test_fuse_conv_clip),
        cmocka_unit_test(test_fuse_conv_leaky),
        cmocka_unit_test(test_fuse_conv_sigmoid),
        cmocka_unit_test(test_fuse_conv_hardswish),
        cmocka_unit_test(test_fuse_gemm_relu),
        cmocka_unit_test(test_fuse_matmul_clip),
        cmocka_unit_test(test_fuse_refused),
        cmocka_unit_test(test_pipeline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
