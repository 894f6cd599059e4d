/*
 * memplan.c: static memory plan for the one workspace of generated code.
 *
 * Tensors that nodes produce and that are neither constants, graph inputs nor
 * graph outputs live in the workspace. Views (OPF_VIEW) share their input's
 * storage; an OPF_INPLACE node writes over its first input when that input
 * (with everything sharing its storage) is not read after the node. Each
 * storage group lives from its first definition to its last use; groups are
 * placed first-fit, largest first, at 64-byte aligned offsets: each at the
 * lowest offset that overlaps no placed group live at the same time.
 *
 * Cost: O((N + E + K) log N) for N nodes, E node inputs and K pairs of groups
 * live together (K is about N on a chain): aliases extend their group's end in
 * place, and placement asks an interval tree over node indices for the placed
 * groups live with the next one instead of scanning every placed group.
 */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

/* Work counter: tests/unit/test_memplan_scale.c includes this file with its
 * own definition, to check that the work grows as N log N, not N^2. */
#ifndef MEMPLAN_WORK
#define MEMPLAN_WORK(n) ((void)0)
#endif

enum { ALIGN = 64 };

typedef struct Group {
    int root;       /* tensor id */
    int begin, end; /* node indices: defined at begin, last read at end */
    int64_t bytes, offset;
} Group;

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        wr_die(__FILE__, __LINE__, "out of memory");
    return p;
}

static bool planned(const Tensor *t)
{
    return t && !t->data && t->producer && t->input_index < 0 && t->output_index < 0;
}

/* Aliases point at a root directly (a root is never made an alias later), so
 * this takes at most one step. */
static int root_of(const Graph *g, int id)
{
    while (g->tensor[id]->alias_of >= 0)
        id = g->tensor[id]->alias_of;
    return id;
}

/* Last node index reading each storage group (indexed by root id). */
static void group_ends(const Graph *g, int *end)
{
    for (int i = 0; i < g->ntensor; i++)
        end[i] = -1;
    for (int i = 0; i < g->nnode; i++) {
        MEMPLAN_WORK(1 + g->node[i]->nin);
        for (int j = 0; j < g->node[i]->nin; j++)
            if (g->node[i]->in[j]) {
                int r = root_of(g, g->node[i]->in[j]->id);
                if (end[r] < i)
                    end[r] = i;
            }
    }
}

static bool can_share(const Graph *g, const Node *n, const int *end, int i)
{
    const Tensor *x = n->in[0], *y = n->out[0];
    if (!x || !y || !planned(y) || x->dtype != y->dtype || x->data)
        return false;
    int r = root_of(g, x->id);
    const Tensor *rt = g->tensor[r];
    if (op_info[n->op].flags & OPF_VIEW)
        return planned(rt) || (rt->input_index >= 0 && rt->output_index < 0);
    if (!(op_info[n->op].flags & OPF_INPLACE) || !planned(rt) || end[r] != i)
        return false;
    if (ir_tensor_bytes(x) != ir_tensor_bytes(y))
        return false;
    MEMPLAN_WORK(n->nin);
    for (int j = 1; j < n->nin; j++)
        if (n->in[j] && root_of(g, n->in[j]->id) == r)
            return false;
    return true;
}

/* Sets alias_of, in node order. end[] is indexed by root: when y joins the
 * group of r, the group's last read becomes the later of the two. y was a root
 * of its own (no node before its producer can alias it), read last at end[y]. */
static void assign_aliases(Graph *g, int *end)
{
    for (int i = 0; i < g->ntensor; i++)
        g->tensor[i]->alias_of = -1;
    group_ends(g, end);
    for (int i = 0; i < g->nnode; i++) {
        Node *n = g->node[i];
        MEMPLAN_WORK(1);
        if (n->nout < 1 || !can_share(g, n, end, i))
            continue;
        int r = root_of(g, n->in[0]->id), y = n->out[0]->id;
        n->out[0]->alias_of = r;
        if (end[y] > end[r])
            end[r] = end[y];
    }
}

/* ---- placement ---- */

/* Placed groups by begin: a tree over node indices whose nodes hold the
 * latest end below them, and per begin a list of the groups starting there. */
typedef struct Placer {
    const Group *gs;
    int size;         /* leaves: a power of two >= the node count */
    int *maxend;      /* [2 size], -1 where nothing is placed below */
    int *head, *next; /* head[begin] -> group -> next[group] ..., -1 ends */
    int *live;        /* query result: placed groups live with the one being placed */
    int nlive;
} Placer;

typedef struct Span {
    int64_t lo, hi;
} Span;

static void placer_init(Placer *p, const Group *gs, int ngroup, int nnode)
{
    p->gs = gs;
    p->size = 1;
    while (p->size < nnode)
        p->size *= 2;
    p->maxend = xmalloc(sizeof(int) * 2 * (size_t)p->size);
    p->head = xmalloc(sizeof(int) * (size_t)p->size);
    p->next = xmalloc(sizeof(int) * (size_t)ngroup);
    p->live = xmalloc(sizeof(int) * (size_t)ngroup);
    for (int i = 0; i < 2 * p->size; i++)
        p->maxend[i] = -1;
    for (int i = 0; i < p->size; i++)
        p->head[i] = -1;
}

static void placer_free(Placer *p)
{
    free(p->maxend);
    free(p->head);
    free(p->next);
    free(p->live);
}

static void placer_insert(Placer *p, int j)
{
    int t = p->gs[j].begin, e = p->gs[j].end;
    p->next[j] = p->head[t];
    p->head[t] = j;
    for (int k = p->size + t; k >= 1; k /= 2) {
        MEMPLAN_WORK(1);
        if (p->maxend[k] < e)
            p->maxend[k] = e;
    }
}

/* Appends to p->live the placed groups of tree node k (covering node indices
 * lo..hi) with begin <= qe and end >= qb: the ones live during [qb, qe]. */
static void placer_query(Placer *p, int k, int lo, int hi, int qb, int qe)
{
    if (lo > qe || p->maxend[k] < qb)
        return;
    MEMPLAN_WORK(1);
    if (k >= p->size) {
        for (int j = p->head[lo]; j >= 0; j = p->next[j]) {
            MEMPLAN_WORK(1);
            if (p->gs[j].end >= qb)
                p->live[p->nlive++] = j;
        }
        return;
    }
    int mid = lo + (hi - lo) / 2;
    placer_query(p, 2 * k, lo, mid, qb, qe);
    placer_query(p, 2 * k + 1, mid + 1, hi, qb, qe);
}

static int cmp_span(const void *a, const void *b)
{
    const Span *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The lowest offset where bytes fit between the spans (offsets and sizes are
 * multiples of ALIGN, so every candidate is aligned). */
static int64_t lowest_fit(Span *s, int n, int64_t bytes)
{
    qsort(s, (size_t)n, sizeof *s, cmp_span);
    int64_t off = 0;
    for (int i = 0; i < n && s[i].lo < off + bytes; i++) {
        MEMPLAN_WORK(1);
        if (s[i].hi > off)
            off = s[i].hi;
    }
    return off;
}

static int cmp_group(const void *a, const void *b)
{
    const Group *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->begin - y->begin;
}

/* Places the groups (sorted largest first) and returns the workspace size. */
static int64_t place(Group *gs, int n, int nnode)
{
    int64_t total = 0;
    qsort(gs, (size_t)n, sizeof *gs, cmp_group);
    Placer p;
    placer_init(&p, gs, n, nnode);
    Span *spans = xmalloc(sizeof(Span) * (size_t)n);
    for (int i = 0; i < n; i++) {
        p.nlive = 0;
        placer_query(&p, 1, 0, p.size - 1, gs[i].begin, gs[i].end);
        for (int k = 0; k < p.nlive; k++) {
            const Group *o = &gs[p.live[k]];
            spans[k] = (Span){o->offset, o->offset + o->bytes};
        }
        gs[i].offset = lowest_fit(spans, p.nlive, gs[i].bytes);
        if (gs[i].offset + gs[i].bytes > total)
            total = gs[i].offset + gs[i].bytes;
        placer_insert(&p, i);
    }
    free(spans);
    placer_free(&p);
    return total;
}

Status pass_memplan(Graph *g, const PassOptions *opt, Diag *d)
{
    (void)opt;
    (void)d;
    int *end = xmalloc(sizeof(int) * (size_t)g->ntensor);
    Group *gs = xmalloc(sizeof(Group) * (size_t)(g->ntensor + 1));
    assign_aliases(g, end);
    group_ends(g, end);
    int *def = xmalloc(sizeof(int) * (size_t)g->ntensor); /* producing node's index */
    for (int i = 0; i < g->ntensor; i++)
        def[i] = 0;
    for (int i = 0; i < g->nnode; i++)
        for (int j = 0; j < g->node[i]->nout; j++)
            if (g->node[i]->out[j])
                def[g->node[i]->out[j]->id] = i;
    int n = 0;
    for (int i = 0; i < g->ntensor; i++) {
        Tensor *t = g->tensor[i];
        t->offset = -1;
        if (!planned(t) || t->alias_of >= 0)
            continue;
        int64_t b = ir_tensor_bytes(t);
        gs[n++] = (Group){i, def[i], end[i] < def[i] ? def[i] : end[i],
                          (b + ALIGN - 1) / ALIGN * ALIGN, 0};
    }
    g->ws_bytes = place(gs, n, g->nnode);
    for (int i = 0; i < n; i++)
        g->tensor[gs[i].root]->offset = gs[i].offset;
    free(def);
    free(end);
    free(gs);
    return WR_OK;
}
