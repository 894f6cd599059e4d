/*
 * memplan.c: static memory plan for the one workspace of generated code.
 *
 * Tensors that nodes produce and that are neither constants, graph inputs nor
 * graph outputs live in the workspace. Views (OPF_VIEW) share their input's
 * storage; an OPF_INPLACE node writes over its first input when that input
 * (with everything sharing its storage) is not read after the node. Each
 * storage group lives from its first definition to its last use; groups are
 * placed first-fit, largest first, at 64-byte aligned offsets.
 */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

enum { ALIGN = 64 };

typedef struct Group {
    int root;      /* tensor id */
    int begin, end; /* node indices: defined at begin, last read at end */
    int64_t bytes, offset;
} Group;

static bool planned(const Tensor *t)
{
    return t && !t->data && t->producer && t->input_index < 0 && t->output_index < 0;
}

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
    for (int i = 0; i < g->nnode; i++)
        for (int j = 0; j < g->node[i]->nin; j++)
            if (g->node[i]->in[j]) {
                int r = root_of(g, g->node[i]->in[j]->id);
                if (end[r] < i)
                    end[r] = i;
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
    for (int j = 1; j < n->nin; j++)
        if (n->in[j] && root_of(g, n->in[j]->id) == r)
            return false;
    return true;
}

static void assign_aliases(Graph *g)
{
    int *end = malloc(sizeof(int) * (size_t)g->ntensor);
    if (!end)
        wr_die(__FILE__, __LINE__, "out of memory");
    for (int i = 0; i < g->ntensor; i++)
        g->tensor[i]->alias_of = -1;
    group_ends(g, end);
    for (int i = 0; i < g->nnode; i++) {
        Node *n = g->node[i];
        if (n->nout < 1 || !can_share(g, n, end, i))
            continue;
        int r = root_of(g, n->in[0]->id), y = n->out[0]->id;
        n->out[0]->alias_of = r;
        /* The group now also ends where the new member does. Nothing aliases
         * y yet (its readers come later), so its own end is its group's: a
         * running max, not a rescan per node (unrolled loops are long). */
        if (end[y] > end[r])
            end[r] = end[y];
    }
    free(end);
}

static int cmp_group(const void *a, const void *b)
{
    const Group *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->begin - y->begin;
}

static int64_t place(Group *gs, int n)
{
    int64_t total = 0;
    qsort(gs, (size_t)n, sizeof *gs, cmp_group);
    for (int i = 0; i < n; i++) {
        int64_t off = 0;
        for (bool moved = true; moved;) {
            moved = false;
            for (int j = 0; j < i; j++) {
                bool live = gs[j].begin <= gs[i].end && gs[i].begin <= gs[j].end;
                bool hit = off < gs[j].offset + gs[j].bytes && gs[j].offset < off + gs[i].bytes;
                if (live && hit) {
                    off = (gs[j].offset + gs[j].bytes + ALIGN - 1) / ALIGN * ALIGN;
                    moved = true;
                }
            }
        }
        gs[i].offset = off;
        if (off + gs[i].bytes > total)
            total = off + gs[i].bytes;
    }
    return total;
}

Status pass_memplan(Graph *g, const PassOptions *opt, Diag *d)
{
    (void)opt;
    (void)d;
    assign_aliases(g);
    int *end = malloc(sizeof(int) * (size_t)g->ntensor);
    Group *gs = malloc(sizeof(Group) * (size_t)(g->ntensor + 1));
    if (!end || !gs)
        wr_die(__FILE__, __LINE__, "out of memory");
    group_ends(g, end);
    int n = 0;
    for (int i = 0; i < g->ntensor; i++) {
        Tensor *t = g->tensor[i];
        t->offset = -1;
        if (!planned(t) || t->alias_of >= 0)
            continue;
        int64_t b = ir_tensor_bytes(t);
        gs[n++] = (Group){i, t->producer->id, end[i] < t->producer->id ? t->producer->id : end[i],
                          (b + ALIGN - 1) / ALIGN * ALIGN, 0};
    }
    g->ws_bytes = place(gs, n);
    for (int i = 0; i < n; i++)
        g->tensor[gs[i].root]->offset = gs[i].offset;
    free(end);
    free(gs);
    return WR_OK;
}
