/*
 * test_memplan.c: the workspace plan (passes/memplan.c), checked against
 * rules recomputed here rather than trusted:
 *   - no two tensors live at the same time overlap, unless they share
 *     storage on purpose (a view, or an in-place op);
 *   - in-place sharing only when nothing reads the overwritten value later,
 *     and nothing writes into a graph input's storage;
 *   - running the nodes on the planned workspace gives the interpreter's
 *     results.
 * Exhaustive over every graph of 4 nodes (3 under sanitizers, which make
 * each graph's arena costly) drawn from Relu (in-place), Add (in-place) and
 * Identity (view) over an input and earlier results (Add also over a
 * constant), with one or two graph outputs.
 */
#include "unit.h"

#include "passes.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNIT_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNIT_SANITIZED 1
#endif
#endif
#ifdef UNIT_SANITIZED
enum { NNODE = 3, MIN_GRAPHS = 1000 };
#else
enum { NNODE = 4, MIN_GRAPHS = 40000 };
#endif
enum { NEL = 6 };
static const int64_t SHAPE[] = {2, 3};

static bool planned(const Tensor *t)
{
    return t && !t->data && t->producer && t->input_index < 0 && t->output_index < 0;
}

static const Tensor *root(const Graph *g, const Tensor *t)
{
    while (t->alias_of >= 0)
        t = g->tensor[t->alias_of];
    return t;
}

static int last_use(const Graph *g, const Tensor *t)
{
    int last = t->producer ? t->producer->id : -1;
    for (int i = 0; i < g->nnode; i++)
        for (int j = 0; j < g->node[i]->nin; j++)
            if (g->node[i]->in[j] == t && i > last)
                last = i;
    return last;
}

static bool is_view(const Node *n)
{
    return (op_info[n->op].flags & OPF_VIEW) && n->out[0]->alias_of >= 0;
}

/* Tensors with storage in the workspace occupy [offset, offset + bytes) of their root. */
static void check_no_overlap(const Graph *g)
{
    for (int a = 0; a < g->ntensor; a++) {
        const Tensor *ta = g->tensor[a], *ra = root(g, ta);
        if (!planned(ta) || !planned(ra))
            continue;
        assert_true(ra->offset >= 0 && ra->offset % 64 == 0);
        assert_true(ra->offset + ir_tensor_bytes(ra) <= g->ws_bytes);
        for (int b = a + 1; b < g->ntensor; b++) {
            const Tensor *tb = g->tensor[b], *rb = root(g, tb);
            if (!planned(tb) || !planned(rb) || ra == rb)
                continue;
            bool live = ta->producer->id <= last_use(g, tb) && tb->producer->id <= last_use(g, ta);
            bool hit = ra->offset < rb->offset + ir_tensor_bytes(rb) &&
                       rb->offset < ra->offset + ir_tensor_bytes(ra);
            if (live && hit)
                fail_msg("'%s' and '%s' are live together and overlap", ta->name, tb->name);
        }
    }
}

/* A node that writes into shared storage must be the last reader of what it overwrites. */
static void check_sharing_legal(const Graph *g)
{
    for (int i = 0; i < g->nnode; i++) {
        const Node *n = g->node[i];
        const Tensor *y = n->out[0];
        if (y->alias_of < 0)
            continue;
        assert_true(planned(y));
        const Tensor *r = root(g, y);
        assert_true(planned(r) || r->input_index >= 0);
        if (is_view(n))
            continue;
        assert_true(op_info[n->op].flags & OPF_INPLACE);
        assert_true(planned(r)); /* never written over a graph input */
        for (int t = 0; t < g->ntensor; t++) {
            const Tensor *m = g->tensor[t];
            if (m == y || root(g, m) != r || (m->producer && m->producer->id >= i))
                continue;
            if (last_use(g, m) > i)
                fail_msg("node %d overwrites '%s', read later", i, m->name);
            for (int j = 1; j < n->nin; j++)
                if (n->in[j] == m)
                    fail_msg("node %d overwrites its input %d", i, j);
        }
    }
}

/* Runs the nodes on the planned storage, as the generated code does. */
static void run_planned(Graph *g, const float *x, float outs[][NEL])
{
    unsigned char *ws = calloc(1, (size_t)g->ws_bytes + 64);
    assert_non_null(ws);
    for (int i = 0; i < g->nnode; i++) {
        Node *n = g->node[i];
        if (is_view(n))
            continue;
        void *in[2], *out[1];
        for (int j = 0; j < n->nin; j++) {
            const Tensor *t = n->in[j], *r = root(g, t);
            in[j] = t->data                ? t->data
                    : t->output_index >= 0 ? (void *)outs[t->output_index]
                    : r->input_index >= 0  ? (void *)x
                                           : (void *)(ws + r->offset);
        }
        const Tensor *y = n->out[0];
        out[0] = y->output_index >= 0 ? (void *)outs[y->output_index]
                                      : (void *)(ws + root(g, y)->offset);
        Diag d = {0};
        assert_int_equal(op_info[n->op].eval(n, in, out, &d), WR_OK);
    }
    for (int k = 0; k < g->noutput; k++) { /* outputs no node writes */
        const Tensor *t = g->output[k];
        if (!t->producer)
            memcpy(outs[k], t->data ? t->data : x, sizeof(float) * NEL);
    }
    free(ws);
}

typedef struct Choice {
    int op;   /* 0 Relu, 1 Identity, 2 Add */
    int a, b; /* operand: 0 input, 1 constant, 2 + k output of node k */
} Choice;

static Graph *build(const Choice *c, int extra_out)
{
    Graph *g = unit_graph();
    static const float cv[NEL] = {0.5f, -1, 2, -3, 4, -0.25f};
    Tensor *val[2 + NNODE];
    val[0] = unit_input(g, "x", 2, SHAPE);
    val[1] = unit_const(g, "c", 2, SHAPE, cv);
    static const int ops[] = {OP_RELU, OP_IDENTITY, OP_ADD};
    for (int k = 0; k < NNODE; k++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", k);
        Node *n = unit_node(g, ops[c[k].op], NULL, val[c[k].a], c[k].op == 2 ? val[c[k].b] : NULL,
                            name);
        val[2 + k] = n->out[0];
    }
    unit_output(g, val[1 + NNODE]);
    if (extra_out >= 0 && val[2 + extra_out]->output_index < 0)
        unit_output(g, val[2 + extra_out]);
    return g;
}

/* The interpreter ignores the plan, so it runs on the planned graph too. */
static int check_one(const Choice *c, int extra_out)
{
    static const float x[NEL] = {1, -2, 3, -4, 0.5f, -0.5f};
    float want[2][NEL], got[2][NEL];
    Graph *g = build(c, extra_out);
    Diag d = {0};
    PassOptions po = {0};
    assert_int_equal(pass_pipeline(g, &po, &d), WR_OK);
    void *in[1] = {(void *)x}, *o[2] = {want[0], want[1]};
    assert_int_equal(ir_interp_run(g, in, o, &d), WR_OK);
    check_no_overlap(g);
    check_sharing_legal(g);
    run_planned(g, x, got);
    for (int k = 0; k < g->noutput; k++)
        assert_memory_equal(got[k], want[k], sizeof(float) * NEL);
    int shared = 0;
    for (int i = 0; i < g->ntensor; i++)
        shared += g->tensor[i]->alias_of >= 0;
    ir_graph_free(g);
    return shared;
}

/* Operand choices of node k: the input or an earlier result; Add's second
 * operand may also be the constant. */
static int enumerate(Choice *c, int k, long *count)
{
    if (k == NNODE) {
        int shared = 0;
        for (int extra = -1; extra < 1; extra++) {
            shared += check_one(c, extra);
            ++*count;
        }
        return shared;
    }
    int shared = 0;
    for (int op = 0; op < 3; op++)
        for (int a = 0; a < 2 + k; a++)
            for (int b = 0; b < (op == 2 ? 2 + k : 1); b++) {
                if (a == 1 || (b == 1 && op != 2))
                    continue;
                c[k] = (Choice){op, a, b};
                shared += enumerate(c, k + 1, count);
            }
    return shared;
}

static void test_exhaustive(void **state)
{
    (void)state;
    Choice c[NNODE];
    long count = 0;
    int shared = enumerate(c, 0, &count);
    assert_true(count > MIN_GRAPHS);
    assert_true(shared > 0); /* the plan does share: the checks above are not vacuous */
}

/* y = Relu(x1) with x1 read again later: no in-place; when last read: in place. */
static void test_inplace_only_when_dead(void **state)
{
    (void)state;
    for (int reuse = 0; reuse < 2; reuse++) {
        Graph *g = unit_graph();
        Tensor *x = unit_input(g, "x", 2, SHAPE);
        Node *a = unit_node(g, OP_ADD, "a", x, x, "t0");
        Node *r = unit_node(g, OP_RELU, "r", a->out[0], NULL, "t1");
        Node *b = unit_node(g, OP_ADD, "b", r->out[0], reuse ? a->out[0] : x, "y");
        unit_output(g, b->out[0]);
        Diag d = {0};
        PassOptions po = {0};
        assert_int_equal(pass_pipeline(g, &po, &d), WR_OK);
        if (reuse)
            assert_int_equal(r->out[0]->alias_of, -1);
        else
            assert_int_equal(r->out[0]->alias_of, a->out[0]->id);
        check_no_overlap(g);
        check_sharing_legal(g);
        ir_graph_free(g);
    }
}

/* A chain of 200000 in-place Relus (an unrolled loop's shape): one storage
 * group for all but the input and the output, planned in linear time. The
 * CPU-time bound is a hundred times what the linear plan takes, and a
 * hundredth of what a rescan of the group ends per node took. */
static void test_long_chain(void **state)
{
    (void)state;
    enum { N = 200000 };
    Graph *g = unit_graph();
    Tensor *t = unit_input(g, "x", 2, SHAPE);
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%d", i);
        t = unit_node(g, OP_RELU, name, t, NULL, name)->out[0];
    }
    unit_output(g, t);
    Diag d = {0};
    assert_int_equal(ir_infer(g, NULL, &d), WR_OK);
    clock_t c0 = clock();
    assert_int_equal(pass_memplan(g, NULL, &d), WR_OK);
    double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    assert_true(cpu < 5.0);
    assert_int_equal(g->ws_bytes, 64); /* 6 floats, 64-byte aligned: one slot */
    for (int i = 1; i < N - 1; i++)
        assert_int_equal(g->node[i]->out[0]->alias_of, g->node[0]->out[0]->id);
    ir_graph_free(g);
}

/* A kernel's scratch (ir/scratch.c: an extra output nobody reads) gets
 * workspace for its node only: Det(x) -> Relu, the scratch of Det (a 3x3
 * double matrix) may overlap Relu's output but nothing live at Det. */
static void test_scratch_lives_with_node(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    g->opset = 22;
    static const int64_t sq[] = {4, 3, 3};
    Tensor *x = unit_input(g, "x", 3, sq);
    Node *a = unit_node(g, OP_ADD, "a", x, x, "t0");
    Node *det = unit_node(g, OP_DET, "det", a->out[0], NULL, "t1");
    Node *r = unit_node(g, OP_RELU, "r", det->out[0], NULL, "y");
    unit_output(g, r->out[0]);
    Diag d = {0};
    PassOptions po = {0};
    assert_int_equal(pass_pipeline(g, &po, &d), WR_OK);
    assert_int_equal(det->nout, 2);
    const Tensor *s = det->out[1];
    assert_int_equal(s->dtype, DT_F64);
    assert_int_equal(ir_tensor_numel(s), 9);
    assert_int_equal(s->nuse, 0);
    assert_true(s->offset >= 0);
    assert_int_equal(last_use(g, s), det->id);
    check_no_overlap(g);
    ir_graph_free(g);
}

/* A second inference (after --width, for --calibrate) finds a kernel's scratch
 * in slot max_out and keeps it; a model's own second Det output is an error. */
static void test_scratch_survives_reinference(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    g->opset = 22;
    static const int64_t sq[] = {2, 3, 3};
    Node *det = unit_node(g, OP_DET, "det", unit_input(g, "x", 3, sq), NULL, "y");
    unit_output(g, det->out[0]);
    Diag d = {0};
    assert_int_equal(ir_infer(g, NULL, &d), WR_OK);
    assert_int_equal(det->nout, 2);
    Tensor *s = det->out[1];
    assert_true(s->scratch);
    assert_int_equal(ir_infer(g, NULL, &d), WR_OK);
    assert_int_equal(det->nout, 2);
    assert_ptr_equal(det->out[1], s);
    assert_int_equal(ir_tensor_numel(s), 9);
    ir_graph_free(g);

    g = unit_graph();
    g->opset = 22;
    det = unit_node(g, OP_DET, "det", unit_input(g, "x", 3, sq), NULL, "y");
    Tensor **out = arena_alloc(&g->arena, sizeof(Tensor *) * 2);
    out[0] = det->out[0];
    out[1] = ir_tensor_get(g, "extra", true);
    out[1]->producer = det;
    det->out = out;
    det->nout = 2;
    unit_output(g, out[0]);
    d = (Diag){0};
    assert_int_equal(ir_infer(g, NULL, &d), WR_EPARSE);
    assert_non_null(strstr(d.msg, "has 2 outputs, expected 1 to 1"));
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_chain),
        cmocka_unit_test(test_scratch_lives_with_node),
        cmocka_unit_test(test_scratch_survives_reinference),
        cmocka_unit_test(test_inplace_only_when_dead),
        cmocka_unit_test(test_exhaustive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
