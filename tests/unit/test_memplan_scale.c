/*
 * test_memplan_scale.c: the memory plan's cost and its placement rule.
 *   - Work, counted rather than timed: passes/memplan.c is included here
 *     (white-box) with MEMPLAN_WORK counting every step of its loops, and on
 *     chains of 2^12 and 2^15 nodes the count must stay under C N log2 N.
 *     The earlier plan re-scanned the graph once per aliased tensor and
 *     compared each group with every placed one: N^2 / 2 steps and more,
 *     over 100 times the bound at 2^15.
 *   - Placement: on random graphs (views, in-place ops, broadcasting adds of
 *     five sizes, some long-lived tensors), every offset equals the one the
 *     plain first-fit rule gives, recomputed here from scratch: groups
 *     largest first (then earliest), each at the lowest 64-byte aligned
 *     offset that overlaps no group placed before it and live at the same time.
 */
#include "unit.h"

#include "passes.h"

#include <stdio.h>
#include <stdlib.h>

static int64_t work;
#define MEMPLAN_WORK(n) (work += (n))
#define pass_memplan memplan_counted
Status memplan_counted(Graph *g, const PassOptions *opt, Diag *d);
#include "../../passes/memplan.c"
#undef pass_memplan

static Tensor *input_rows(Graph *g, const char *name, int64_t rows)
{
    const int64_t dim[2] = {rows, 16};
    return unit_input(g, name, 2, dim);
}

static Tensor *add_node(Graph *g, int op, Tensor *a, Tensor *b)
{
    char name[32];
    snprintf(name, sizeof name, "t%d", g->nnode);
    return unit_node(g, op, NULL, a, b, name)->out[0];
}

/* N nodes: Add(p, p) (a new group), Relu (in place), Identity (a view), and
 * every 32 nodes an Add reading the tensor 16 nodes back (a longer life). */
static Graph *chain(int N)
{
    Graph *g = unit_graph();
    Tensor **v = malloc(sizeof(Tensor *) * (size_t)N);
    assert_non_null(v);
    Tensor *p = input_rows(g, "x", 4);
    for (int i = 0; i < N; i++) {
        int k = i % 32 == 31 ? 3 : i % 3;
        p = k == 0   ? add_node(g, OP_ADD, p, p)
            : k == 1 ? add_node(g, OP_RELU, p, NULL)
            : k == 2 ? add_node(g, OP_IDENTITY, p, NULL)
                     : add_node(g, OP_ADD, p, v[i - 16]);
        v[i] = p;
    }
    unit_output(g, p);
    free(v);
    return g;
}

static int64_t plan_work(int N)
{
    Graph *g = chain(N);
    Diag d = {0};
    assert_int_equal(ir_infer(g, NULL, &d), WR_OK);
    work = 0;
    assert_int_equal(memplan_counted(g, NULL, &d), WR_OK);
    int shared = 0;
    for (int i = 0; i < g->ntensor; i++)
        shared += g->tensor[i]->alias_of >= 0;
    assert_true(shared > N / 2); /* Relu and Identity share: the alias path ran */
    assert_true(g->ws_bytes > 0);
    ir_graph_free(g);
    return work;
}

static void test_work_n_log_n(void **state)
{
    (void)state;
    enum { C = 16 };
    for (int lg = 12; lg <= 15; lg += 3) {
        int N = 1 << lg;
        int64_t w = plan_work(N);
        print_message("chain of %d nodes: %lld steps, %.1f N log2 N\n", N, (long long)w,
                      (double)w / N / lg);
        assert_true(w <= (int64_t)C * N * lg);
        assert_true(w >= N); /* the counter counts */
    }
}

/* ---- placement against the first-fit rule ---- */

typedef struct Ref {
    int root, begin, end;
    int64_t bytes, offset;
} Ref;

static int cmp_ref(const void *a, const void *b)
{
    const Ref *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->begin - y->begin;
}

static int ref_root(const Graph *g, int id)
{
    while (g->tensor[id]->alias_of >= 0)
        id = g->tensor[id]->alias_of;
    return id;
}

/* Lifetimes from scratch: a group is defined where its root is produced and
 * ends at the last node reading any tensor that shares its storage. Tensors
 * in the workspace: computed by a node, neither a graph input nor output. */
static int ref_groups(const Graph *g, Ref *r)
{
    int n = 0;
    for (int t = 0; t < g->ntensor; t++) {
        const Tensor *x = g->tensor[t];
        if (x->data || !x->producer || x->input_index >= 0 || x->output_index >= 0 ||
            x->alias_of >= 0)
            continue;
        int begin = x->producer->id, end = begin;
        for (int i = 0; i < g->nnode; i++)
            for (int j = 0; j < g->node[i]->nin; j++)
                if (g->node[i]->in[j] && ref_root(g, g->node[i]->in[j]->id) == t && i > end)
                    end = i;
        int64_t b = (ir_tensor_bytes(x) + 63) / 64 * 64;
        r[n++] = (Ref){t, begin, end, b, 0};
    }
    return n;
}

/* First fit, largest first: raise the offset past any live, overlapping group until none is left. */
static int64_t ref_place(Ref *r, int n)
{
    int64_t total = 0;
    qsort(r, (size_t)n, sizeof *r, cmp_ref);
    for (int i = 0; i < n; i++) {
        int64_t off = 0;
        for (bool moved = true; moved;) {
            moved = false;
            for (int j = 0; j < i; j++) {
                bool live = r[j].begin <= r[i].end && r[i].begin <= r[j].end;
                bool hit = off < r[j].offset + r[j].bytes && r[j].offset < off + r[i].bytes;
                if (live && hit) {
                    off = r[j].offset + r[j].bytes;
                    moved = true;
                }
            }
        }
        r[i].offset = off;
        total = off + r[i].bytes > total ? off + r[i].bytes : total;
    }
    return total;
}

/* A random graph of N nodes over inputs of 1, 2, 3, 5 and 8 rows: operands
 * mostly among the last 8 results, one in 16 from anywhere before. */
static Graph *random_graph(int N, unsigned seed)
{
    static const int64_t rows[] = {1, 2, 3, 5, 8};
    Graph *g = unit_graph();
    Tensor **v = malloc(sizeof(Tensor *) * (size_t)(N + 5));
    int64_t *vr = malloc(sizeof(int64_t) * (size_t)(N + 5)); /* rows of v[i] */
    assert_true(v && vr);
    int nv = 0;
    for (int k = 0; k < 5; k++) {
        char name[8];
        snprintf(name, sizeof name, "x%d", k);
        vr[nv] = rows[k];
        v[nv++] = input_rows(g, name, rows[k]);
    }
    srand(seed);
    for (int i = 0; i < N; i++) {
        int a = rand() % 16 ? nv - 1 - rand() % (nv < 8 ? nv : 8) : rand() % nv;
        int b = rand() % nv, op = rand() % 3;
        if (op == 2 && vr[a] != vr[b] && vr[a] != 1 && vr[b] != 1)
            b = 0; /* one row: broadcasts with anything */
        vr[nv] = op == 2 && vr[b] > vr[a] ? vr[b] : vr[a];
        v[nv++] = add_node(g, op == 0 ? OP_RELU : op == 1 ? OP_IDENTITY : OP_ADD, v[a],
                           op == 2 ? v[b] : NULL);
    }
    for (int k = 0; k < 6; k++)
        if (v[nv - 1 - 7 * k]->output_index < 0)
            unit_output(g, v[nv - 1 - 7 * k]);
    free(v);
    free(vr);
    return g;
}

static void check_first_fit(int N, unsigned seed)
{
    Graph *g = random_graph(N, seed);
    Diag d = {0};
    if (ir_infer(g, NULL, &d) != WR_OK)
        fail_msg("seed %u: %s", seed, d.msg);
    assert_int_equal(memplan_counted(g, NULL, &d), WR_OK);
    Ref *r = malloc(sizeof(Ref) * (size_t)g->ntensor);
    assert_non_null(r);
    int n = ref_groups(g, r);
    int64_t total = ref_place(r, n);
    assert_int_equal(g->ws_bytes, total);
    int64_t distinct = 0;
    for (int i = 0; i < n; i++) {
        if (g->tensor[r[i].root]->offset != r[i].offset)
            fail_msg("seed %u: '%s' at %lld, first fit puts it at %lld", seed,
                     g->tensor[r[i].root]->name, (long long)g->tensor[r[i].root]->offset,
                     (long long)r[i].offset);
        distinct += r[i].offset != 0;
    }
    assert_true(n > N / 8 && distinct > 0); /* groups of several sizes, not all at 0 */
    free(r);
    ir_graph_free(g);
}

static void test_first_fit(void **state)
{
    (void)state;
    for (unsigned seed = 1; seed <= 40; seed++)
        check_first_fit(seed % 4 == 0 ? 1500 : 60, seed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_work_n_log_n),
        cmocka_unit_test(test_first_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
