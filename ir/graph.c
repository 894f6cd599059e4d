/*
 * graph.c: building and editing the graph. Tensors are found by name through
 * an open-addressing hash; nodes stay in topological order; ir_graph_relink
 * restores producers, use counts and ids after any structural edit.
 */
#include "ir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Graph *ir_graph_new(const char *name)
{
    Graph *g = calloc(1, sizeof *g);
    if (!g)
        wr_die(__FILE__, __LINE__, "out of memory");
    g->name = arena_strdup(&g->arena, name ? name : "model");
    return g;
}

void ir_graph_free(Graph *g)
{
    if (!g)
        return;
    free(g->node);
    free(g->tensor);
    free(g->hash);
    arena_free(&g->arena);
    free(g);
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void *grow(void *p, int *cap, size_t elem)
{
    int n = *cap ? *cap * 2 : 64;
    void *q = realloc(p, (size_t)n * elem);
    if (!q)
        wr_die(__FILE__, __LINE__, "out of memory");
    *cap = n;
    return q;
}

static void hash_insert(Graph *g, Tensor *t)
{
    if (2 * (g->ntensor + 1) > g->hash_cap) {
        int cap = g->hash_cap ? g->hash_cap * 2 : 256;
        free(g->hash);
        g->hash = malloc(sizeof(int) * (size_t)cap);
        if (!g->hash)
            wr_die(__FILE__, __LINE__, "out of memory");
        memset(g->hash, -1, sizeof(int) * (size_t)cap);
        g->hash_cap = cap;
        for (int i = 0; i < g->ntensor; i++)
            hash_insert(g, g->tensor[i]);
        if (t->id < g->ntensor)
            return;
    }
    size_t m = (size_t)g->hash_cap - 1, h = hash_str(t->name) & m;
    while (g->hash[h] >= 0)
        h = (h + 1) & m;
    g->hash[h] = t->id;
}

static Tensor *hash_find(const Graph *g, const char *name)
{
    if (!g->hash_cap)
        return NULL;
    size_t m = (size_t)g->hash_cap - 1, h = hash_str(name) & m;
    for (; g->hash[h] >= 0; h = (h + 1) & m)
        if (strcmp(g->tensor[g->hash[h]]->name, name) == 0)
            return g->tensor[g->hash[h]];
    return NULL;
}

static Tensor *tensor_add(Graph *g, const char *name)
{
    if (g->ntensor == g->cap_tensor)
        // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
        g->tensor = grow(g->tensor, &g->cap_tensor, sizeof *g->tensor);
    Tensor *t = arena_alloc(&g->arena, sizeof *t);
    t->name = arena_strdup(&g->arena, name);
    t->ndim = -1;
    t->id = g->ntensor;
    t->input_index = t->output_index = -1;
    t->offset = -1;
    t->alias_of = -1;
    hash_insert(g, t);
    g->tensor[g->ntensor++] = t;
    return t;
}

Tensor *ir_tensor_get(Graph *g, const char *name, bool create)
{
    Tensor *t = hash_find(g, name);
    if (!t && create)
        t = tensor_add(g, name);
    return t;
}

Tensor *ir_tensor_fresh(Graph *g, const char *hint)
{
    char buf[256];
    do
        snprintf(buf, sizeof buf, "%.200s__%d", hint, g->name_seq++);
    while (hash_find(g, buf));
    return tensor_add(g, buf);
}

Node *ir_node_new(Graph *g, int op, const char *name, int nin, int nout)
{
    if (g->nnode == g->cap_node)
        // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
        g->node = grow(g->node, &g->cap_node, sizeof *g->node);
    Node *n = arena_alloc(&g->arena, sizeof *n);
    n->op = op;
    n->name = name && *name ? arena_strdup(&g->arena, name)
                            : arena_printf(&g->arena, "%s_%d", op_info[op].name, g->nnode);
    n->domain = "";
    n->opset = g->opset;
    n->nin = nin;
    n->nout = nout;
    n->in = arena_alloc(&g->arena, sizeof(Tensor *) * (size_t)(nin ? nin : 1));
    n->out = arena_alloc(&g->arena, sizeof(Tensor *) * (size_t)(nout ? nout : 1));
    n->id = g->nnode;
    g->node[g->nnode++] = n;
    return n;
}

void ir_node_set_input(Node *n, int i, Tensor *t)
{
    if (n->in[i])
        n->in[i]->nuse--;
    n->in[i] = t;
    if (t)
        t->nuse++;
}

void ir_graph_relink(Graph *g)
{
    for (int i = 0; i < g->ntensor; i++) {
        g->tensor[i]->producer = NULL;
        g->tensor[i]->nuse = 0;
    }
    for (int i = 0; i < g->nnode; i++) {
        Node *n = g->node[i];
        n->id = i;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j])
                n->in[j]->nuse++;
        for (int j = 0; j < n->nout; j++)
            if (n->out[j])
                n->out[j]->producer = n;
    }
}

static bool node_live(const Node *n)
{
    for (int j = 0; j < n->nout; j++) {
        const Tensor *t = n->out[j];
        if (t && t->producer == n && (t->nuse > 0 || t->output_index >= 0))
            return true;
    }
    return false;
}

int ir_graph_remove_dead(Graph *g)
{
    ir_graph_relink(g);
    int removed = 0;
    for (int i = g->nnode - 1; i >= 0; i--) {
        Node *n = g->node[i];
        if (node_live(n))
            continue;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j])
                n->in[j]->nuse--;
        g->node[i] = NULL;
        removed++;
    }
    int k = 0;
    for (int i = 0; i < g->nnode; i++)
        if (g->node[i])
            g->node[k++] = g->node[i];
    g->nnode = k;
    ir_graph_relink(g);
    return removed;
}

void ir_graph_replace_uses(Graph *g, Tensor *old, Tensor *t)
{
    for (int i = 0; i < g->nnode; i++) {
        Node *n = g->node[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] == old)
                ir_node_set_input(n, j, t);
    }
    for (int i = 0; i < g->noutput; i++)
        if (g->output[i] == old)
            g->output[i] = t;
}

int64_t ir_shape_numel(int ndim, const int64_t *dim)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dim[i] < 0)
            return -1;
        if (dim[i] != 0 && n > (INT64_C(1) << 62) / dim[i])
            return -1;
        n *= dim[i];
    }
    return n;
}

int64_t ir_tensor_numel(const Tensor *t)
{
    WR_ASSERT(t->ndim >= 0);
    return ir_shape_numel(t->ndim, t->dim);
}

int64_t ir_tensor_bytes(const Tensor *t)
{
    int64_t n = ir_tensor_numel(t);
    WR_ASSERT(n >= 0 && n <= (INT64_C(1) << 59));
    return layout_info[t->layout].bytes(t);
}

void ir_tensor_set_shape(Tensor *t, DType dtype, int ndim, const int64_t *dim)
{
    WR_ASSERT(ndim >= 0 && ndim <= IR_MAX_DIMS);
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->dim[i] = dim[i];
    t->q = NULL;
    t->layout = LAYOUT_DENSE;
    t->group = 1;
}

void ir_tensor_set_codes(Tensor *t, const QType *q, Layout l, int64_t group)
{
    WR_ASSERT(q && t->ndim >= 0 && group >= 1);
    t->q = q;
    t->layout = l;
    t->group = group;
    t->dtype = layout_dtype(l, q);
}

int64_t ir_tensor_pixels(const Tensor *t)
{
    int64_t p = 1;
    for (int i = 2; i < t->ndim; i++)
        p *= t->dim[i];
    return p;
}

bool ir_tensor_is_const(const Tensor *t) { return t && t->data != NULL; }

void *ir_tensor_alloc_data(Graph *g, Tensor *t)
{
    int64_t b = ir_tensor_bytes(t);
    t->data = arena_alloc(&g->arena, (size_t)(b ? b : 1));
    return t->data;
}

const char *ir_shape_str(const Tensor *t, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = 0;
    if (t->ndim < 0) {
        snprintf(buf, n, "?");
        return buf;
    }
    if (t->ndim == 0) {
        snprintf(buf, n, "scalar");
        return buf;
    }
    for (int i = 0; i < t->ndim && k < n; i++) {
        int w = snprintf(buf + k, n - k, i ? "x%lld" : "%lld", (long long)t->dim[i]);
        if (w < 0)
            break;
        k += (size_t)w;
    }
    return buf;
}
