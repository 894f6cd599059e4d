/*
 * subgraph.c: instances of control-flow bodies in the main graph (see
 * subgraph.h). An instance maps the body's names to tensors of g: formal
 * inputs to the actual ones, initializers and node outputs to fresh tensors,
 * every other name to g's tensor of that name. Nested bodies (an If inside a
 * Loop) are copied with their free names rewritten to this instance's
 * tensors, so they resolve in g when inference expands them later.
 */
#include "subgraph.h"

#include <stdlib.h>
#include <string.h>

/* ---- name -> tensor map of one instance ---- */

typedef struct Entry {
    const char *name;
    Tensor *t;  /* NULL: an absent optional value */
    bool ready; /* defined by a node already instantiated (or an input) */
} Entry;

typedef struct Map {
    Entry *e;
    size_t mask;
} Map;

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static Entry *map_slot(const Map *m, const char *name)
{
    size_t h = hash_name(name) & m->mask;
    while (m->e[h].name && strcmp(m->e[h].name, name) != 0)
        h = (h + 1) & m->mask;
    return &m->e[h];
}

static Entry *map_find(const Map *m, const char *name)
{
    Entry *e = map_slot(m, name);
    return e->name ? e : NULL;
}

static bool map_init(Map *m, const SubGraph *sg)
{
    size_t n = (size_t)sg->ninput + (size_t)sg->ninit, cap = 16;
    for (int i = 0; i < sg->nnode; i++)
        n += (size_t)sg->node[i].nout;
    while (cap < 2 * n + 2)
        cap *= 2;
    m->mask = cap - 1;
    m->e = calloc(cap, sizeof *m->e);
    return m->e != NULL;
}

/* ---- nested bodies: free names rewritten to this instance's tensors ---- */

/* The chain of bodies enclosing a name, innermost first. */
typedef struct Bound {
    const SubGraph *sg;
    const struct Bound *up;
} Bound;

static bool defines(const SubGraph *sg, const char *name)
{
    for (int i = 0; i < sg->ninput; i++)
        if (strcmp(sg->input[i], name) == 0)
            return true;
    for (int i = 0; i < sg->ninit; i++)
        if (strcmp(sg->init[i]->name, name) == 0)
            return true;
    for (int i = 0; i < sg->nnode; i++)
        for (int j = 0; j < sg->node[i].nout; j++)
            if (strcmp(sg->node[i].out[j], name) == 0)
                return true;
    return false;
}

static const char *rename_free(const Map *m, const Bound *b, const char *name)
{
    if (!*name)
        return name;
    for (; b; b = b->up)
        if (defines(b->sg, name))
            return name;
    const Entry *e = map_find(m, name);
    return e ? (e->t ? e->t->name : "") : name;
}

static const SubGraph *subst(Arena *A, const SubGraph *sg, const Map *m, const Bound *up);

/* attr with its GRAPH entries rewritten; the same array when it has none. */
static Attr *subst_attrs(Arena *A, Attr *attr, int nattr, const Map *m, const Bound *b)
{
    bool any = false;
    for (int i = 0; i < nattr; i++)
        any |= attr[i].type == ATTR_GRAPH && attr[i].sub;
    if (!any)
        return attr;
    Attr *a = arena_alloc(A, sizeof *a * (size_t)(nattr + 1));
    memcpy(a, attr, sizeof *a * (size_t)nattr);
    for (int i = 0; i < nattr; i++)
        if (a[i].type == ATTR_GRAPH && a[i].sub)
            a[i].sub = subst(A, a[i].sub, m, b);
    return a;
}

static const SubGraph *subst(Arena *A, const SubGraph *sg, const Map *m, const Bound *up)
{
    Bound b = {sg, up};
    SubGraph *c = arena_alloc(A, sizeof *c);
    *c = *sg;
    c->output = arena_alloc(A, sizeof(char *) * (size_t)(sg->noutput + 1));
    for (int i = 0; i < sg->noutput; i++)
        c->output[i] = rename_free(m, &b, sg->output[i]);
    c->node = arena_alloc(A, sizeof *c->node * (size_t)(sg->nnode + 1));
    for (int i = 0; i < sg->nnode; i++) {
        const SubNode *s = &sg->node[i];
        SubNode *t = &c->node[i];
        *t = *s;
        t->in = arena_alloc(A, sizeof(char *) * (size_t)(s->nin + 1));
        for (int j = 0; j < s->nin; j++)
            t->in[j] = rename_free(m, &b, s->in[j]);
        t->attr = subst_attrs(A, s->attr, s->nattr, m, &b);
    }
    return c;
}

/* ---- one instance ---- */

/* The tensor a body name stands for: in the map, else in g. */
static Status resolve(Graph *g, const Map *m, const Node *at, const char *what, const char *name,
                      Tensor **t, Diag *d)
{
    *t = NULL;
    if (!*name)
        return WR_OK;
    const Entry *e = map_find(m, name);
    if (e && !e->ready)
        return diag_node(d, WR_EPARSE, at, "%s reads '%s' before the node that computes it "
                         "(the body's nodes are not in topological order)", what, name);
    *t = e ? e->t : ir_tensor_get(g, name, false);
    if (!e && !*t)
        return diag_node(d, WR_EPARSE, at, "%s reads '%s', which is not defined in the body or "
                         "around it", what, name);
    return WR_OK;
}

static Status bind_values(Graph *g, Map *m, const Node *at, const SubGraph *sg, const char *prefix,
                          Tensor *const *in, Diag *d)
{
    for (int i = 0; i < sg->ninput; i++) {
        Entry *e = map_slot(m, sg->input[i]);
        if (e->name)
            return diag_node(d, WR_EPARSE, at, "body input '%s' is listed twice", sg->input[i]);
        *e = (Entry){sg->input[i], in[i], true};
    }
    for (int i = 0; i < sg->ninit; i++) {
        const Tensor *c = sg->init[i];
        Entry *e = map_slot(m, c->name);
        if (e->name)
            return diag_node(d, WR_EPARSE, at, "body value '%s' is defined twice", c->name);
        Tensor *t = ir_tensor_fresh(g, arena_printf(&g->arena, "%s/%s", prefix, c->name));
        ir_tensor_set_shape(t, c->dtype, c->ndim, c->dim);
        memcpy(ir_tensor_alloc_data(g, t), c->data, (size_t)ir_tensor_bytes(c));
        *e = (Entry){c->name, t, true};
    }
    for (int i = 0; i < sg->nnode; i++)
        for (int j = 0; j < sg->node[i].nout; j++) {
            const char *nm = sg->node[i].out[j];
            Entry *e = map_slot(m, nm);
            if (!*nm)
                continue;
            if (e->name)
                return diag_node(d, WR_EPARSE, at, "body value '%s' is defined twice", nm);
            Tensor *t = ir_tensor_fresh(g, arena_printf(&g->arena, "%s/%s", prefix, nm));
            *e = (Entry){nm, t, false};
        }
    return WR_OK;
}

static Status add_node(Graph *g, Map *m, const Node *at, const SubNode *s, const char *prefix,
                       Diag *d)
{
    const char *name = arena_printf(&g->arena, "%s/%s", prefix, s->name);
    Node *n = ir_node_new(g, s->op, name, s->nin, s->nout);
    n->domain = s->domain;
    n->opset = s->opset;
    for (int j = 0; j < s->nin; j++) {
        Tensor *t;
        WR_TRY(resolve(g, m, at, arena_printf(&g->arena, "node '%s'", s->name), s->in[j], &t,
                       d));
        ir_node_set_input(n, j, t);
    }
    for (int j = 0; j < s->nout; j++) {
        if (!*s->out[j])
            continue;
        Entry *e = map_find(m, s->out[j]);
        n->out[j] = e->t;
        e->t->producer = n;
        e->ready = true;
    }
    n->nattr = s->nattr;
    n->attr = subst_attrs(&g->arena, s->attr, s->nattr, m, NULL);
    return WR_OK;
}

Status ir_subgraph_instance(Graph *g, const Node *at, const SubGraph *sg, const char *prefix,
                            Tensor *const *in, Tensor **out, Diag *d)
{
    if (g->nnode + sg->nnode > SUBGRAPH_MAX_NODES)
        return diag_node(d, WR_EUNSUPPORTED, at, "expanding the control flow takes the graph "
                         "past %d nodes", SUBGRAPH_MAX_NODES);
    Map m;
    if (!map_init(&m, sg))
        return diag_error(d, WR_ENOMEM, "out of memory");
    Status s = bind_values(g, &m, at, sg, prefix, in, d);
    for (int i = 0; i < sg->nnode && s == WR_OK; i++)
        s = add_node(g, &m, at, &sg->node[i], prefix, d);
    for (int i = 0; i < sg->noutput && s == WR_OK; i++) {
        s = resolve(g, &m, at, "the body's output list", sg->output[i], &out[i], d);
        if (s == WR_OK && !out[i])
            s = diag_node(d, WR_EPARSE, at, "body output %d has no name", i);
    }
    free(m.e);
    return s;
}

Status ir_subgraph_attr(const Node *n, const char *name, const SubGraph **sg, Diag *d)
{
    const Attr *a = ir_attr_find(n, name);
    *sg = a && a->type == ATTR_GRAPH ? a->sub : NULL;
    if (!*sg)
        return diag_node(d, WR_EPARSE, n, "graph attribute '%s' is missing", name);
    return WR_OK;
}

void ir_subgraph_splice(Graph *g, Node *n, int first)
{
    int p = n->id < g->nnode && g->node[n->id] == n ? n->id : 0;
    while (g->node[p] != n)
        p++;
    for (int j = 0; j < n->nin; j++)
        ir_node_set_input(n, j, NULL);
    int k = g->nnode - first;
    const size_t sz = sizeof(Node *); // NOLINT(bugprone-sizeof-expression): pointers
    Node **block = malloc(sz * (size_t)(k + 1));
    if (!block)
        wr_die(__FILE__, __LINE__, "out of memory");
    memcpy(block, &g->node[first], sz * (size_t)k);
    memmove(&g->node[p + k], &g->node[p + 1], sz * (size_t)(first - p - 1));
    memcpy(&g->node[p], block, sz * (size_t)k);
    free(block);
    g->nnode = first - 1 + k;
    for (int i = p; i < g->nnode; i++)
        g->node[i]->id = i;
}

/* ---- small nodes ---- */

static void int_attr(Graph *g, Node *n, const char *name, int64_t v)
{
    n->nattr = 1;
    n->attr = arena_alloc(&g->arena, sizeof *n->attr);
    n->attr[0] = (Attr){.name = name, .type = ATTR_INT, .i = v};
}

void ir_add_identity(Graph *g, const char *name, Tensor *x, Tensor *y)
{
    Node *n = ir_node_new(g, OP_IDENTITY, name, 1, 1);
    ir_node_set_input(n, 0, x);
    n->out[0] = y;
    y->producer = n;
}

Tensor *ir_add_scalar(Graph *g, const char *hint, int64_t v, bool is_bool)
{
    Tensor *t = ir_tensor_fresh(g, hint);
    ir_tensor_set_shape(t, is_bool ? DT_BOOL : DT_I64, 0, NULL);
    void *p = ir_tensor_alloc_data(g, t);
    if (is_bool)
        *(uint8_t *)p = v != 0;
    else
        *(int64_t *)p = v;
    return t;
}

Tensor *ir_add_take(Graph *g, const char *name, Tensor *x, int64_t index, int64_t axis)
{
    Node *n = ir_node_new(g, OP_GATHER, name, 2, 1);
    ir_node_set_input(n, 0, x);
    ir_node_set_input(n, 1, ir_add_scalar(g, arena_printf(&g->arena, "%s/index", name), index,
                                          false));
    int_attr(g, n, "axis", axis);
    n->out[0] = ir_tensor_fresh(g, name);
    n->out[0]->producer = n;
    return n->out[0];
}

static Tensor *unsqueeze(Graph *g, const char *name, Tensor *x, int64_t axis, Tensor *y)
{
    Node *n = ir_node_new(g, OP_UNSQUEEZE, name, 2, 1);
    n->opset = 13; /* axes as an input */
    Tensor *axes = ir_tensor_fresh(g, arena_printf(&g->arena, "%s/axes", name));
    int64_t one = 1;
    ir_tensor_set_shape(axes, DT_I64, 1, &one);
    *(int64_t *)ir_tensor_alloc_data(g, axes) = axis;
    ir_node_set_input(n, 0, x);
    ir_node_set_input(n, 1, axes);
    n->out[0] = y ? y : ir_tensor_fresh(g, name);
    n->out[0]->producer = n;
    return n->out[0];
}

/* Concat of parts[0..n) along axis into y, as a tree of at most 64 inputs a node. */
static void concat(Graph *g, const char *name, Tensor *const *part, int n, int64_t axis,
                   Tensor *y)
{
    enum { FAN = 64 };
    if (n > FAN) {
        int groups = (n + FAN - 1) / FAN;
        Tensor **mid = arena_alloc(&g->arena, sizeof(void *) * (size_t)groups);
        for (int k = 0; k < groups; k++) {
            int len = n - k * FAN < FAN ? n - k * FAN : FAN;
            mid[k] = ir_tensor_fresh(g, arena_printf(&g->arena, "%s/part%d", name, k));
            concat(g, arena_printf(&g->arena, "%s/part%d", name, k), part + (ptrdiff_t)k * FAN,
                   len, axis, mid[k]);
        }
        concat(g, name, mid, groups, axis, y);
        return;
    }
    Node *c = ir_node_new(g, OP_CONCAT, name, n, 1);
    for (int i = 0; i < n; i++)
        ir_node_set_input(c, i, part[i]);
    int_attr(g, c, "axis", axis);
    c->out[0] = y;
    y->producer = c;
}

void ir_add_stack(Graph *g, const char *name, Tensor *const *part, int n, int64_t axis,
                  Tensor *y)
{
    if (n == 1) {
        unsqueeze(g, arena_printf(&g->arena, "%s/unsqueeze", name), part[0], axis, y);
        return;
    }
    Tensor **u = arena_alloc(&g->arena, sizeof(void *) * (size_t)n);
    for (int i = 0; i < n; i++)
        u[i] = unsqueeze(g, arena_printf(&g->arena, "%s/unsqueeze%d", name, i), part[i], axis,
                         NULL);
    concat(g, name, u, n, axis, y);
}
