/*
 * onnx_load.c: ModelProto -> Graph. Steps: unpack, read opset imports, make
 * constants of initializers, declare graph inputs (shapes pinned by options),
 * flatten nodes (inlining local functions, renaming their internal values),
 * order them topologically (a cycle or an undefined input is an error), and
 * create IR nodes with their attributes. Shapes are inferred later (ir_infer).
 */
#include "onnx_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Inlining limits: nesting depth, and nodes after inlining (a few calls of a
 * function that calls another several times multiply quickly). */
enum { MAX_INLINE_DEPTH = 8, MAX_NODES = 1 << 20 };

/* A node after function inlining: names already renamed into the arena. */
typedef struct FlatNode {
    const Onnx__NodeProto *np;
    const char *name;
    int64_t opset;
    int nin, nout, nimp;
    const char **in, **out;
    const char **imp; /* implicit inputs: names its subgraphs read from around them */
    int nattr;
    const Onnx__AttributeProto **attr;
    bool placed;
} FlatNode;

typedef struct Loader {
    Graph *g;
    const char *path;
    char dir[4096];
    const Onnx__ModelProto *model;
    FlatNode *flat;
    int nflat, cap_flat;
    int inline_seq;
} Loader;

Status fe_read_file(const char *path, unsigned char **buf, size_t *len, Diag *d)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return diag_error(d, WR_EIO, "cannot open: %s", strerror(errno));
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        unsigned char *nb = realloc(b, cap * 2);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    bool err = ferror(f);
    fclose(f);
    if (!b || err) {
        free(b);
        return diag_error(d, WR_EIO, "cannot read: %s", b ? strerror(errno) : "out of memory");
    }
    *buf = b;
    *len = n;
    return WR_OK;
}

Status fe_parse_input_shape(const char *arg, InputShape *s, Diag *d)
{
    memset(s, 0, sizeof *s);
    const char *eq = strrchr(arg, '='), *p = eq ? eq + 1 : arg;
    if (eq) {
        if ((size_t)(eq - arg) >= sizeof s->name || eq == arg)
            return diag_error(d, WR_EUSAGE, "bad --input-shape '%.300s' (input name empty or "
                              "longer than %zu bytes)", arg, sizeof s->name - 1);
        memcpy(s->name, arg, (size_t)(eq - arg));
    }
    if (!*p)
        return WR_OK; /* a scalar */
    for (;;) {
        char *end;
        errno = 0;
        long long v = isdigit((unsigned char)*p) ? strtoll(p, &end, 10) : -1;
        if (v < 0 || errno || s->ndim == IR_MAX_DIMS || (*end && *end != 'x') ||
            (*end == 'x' && !end[1]))
            return diag_error(d, WR_EUSAGE, "bad --input-shape '%.300s' (want NAME=1x3x224x224)",
                              arg);
        s->dim[s->ndim++] = v;
        if (!*end)
            return WR_OK;
        p = end + 1;
    }
}

static int64_t opset_of(const Onnx__OperatorSetIdProto *const *ops, size_t n, const char *domain)
{
    const char *dom = domain ? domain : "";
    if (strcmp(dom, "ai.onnx") == 0)
        dom = "";
    for (size_t i = 0; i < n; i++) {
        const char *od = ops[i]->domain ? ops[i]->domain : "";
        if (strcmp(od, "ai.onnx") == 0)
            od = "";
        if (strcmp(od, dom) == 0)
            return ops[i]->version;
    }
    return -1;
}

int64_t fe_opset_of(const Onnx__ModelProto *m, const char *domain)
{
    return opset_of((const Onnx__OperatorSetIdProto *const *)m->opset_import, m->n_opset_import,
                    domain);
}

static Status add_initializers(Loader *L, Diag *d)
{
    const Onnx__GraphProto *gp = L->model->graph;
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        const char *name = tp->name ? tp->name : "";
        if (ir_tensor_get(L->g, name, false))
            return diag_error(d, WR_EPARSE, "initializer '%s' is defined twice", name);
        char what[512];
        snprintf(what, sizeof what, "initializer '%s'", name);
        HostTensor h;
        WR_TRY(fe_decode_tensor(tp, L->dir, what, &h, d));
        Tensor *t = ir_tensor_get(L->g, name, true);
        ir_tensor_set_shape(t, h.dtype, h.ndim, h.dim);
        ir_tensor_alloc_data(L->g, t);
        memcpy(t->data, h.data, h.bytes);
        fe_host_tensor_free(&h);
    }
    if (gp->n_sparse_initializer)
        return diag_error(d, WR_EUNSUPPORTED, "sparse initializers are not supported");
    return WR_OK;
}

static const InputShape *find_override(const FrontendOptions *opt, const char *name, int index)
{
    for (int i = 0; opt && i < opt->nshape; i++)
        if (opt->shape[i].name[0] ? strcmp(opt->shape[i].name, name) == 0 : index == 0)
            return &opt->shape[i];
    return NULL;
}

/* Sets t's dtype and shape from the ValueInfo's type; unknown dims get sym_dim. */
static Status input_type(Loader *L, Tensor *t, const Onnx__ValueInfoProto *vi, Diag *d)
{
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return diag_error(d, WR_EUNSUPPORTED, "graph input '%s' is not a tensor", t->name);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    t->dtype = dtype_from_onnx(tt->has_elem_type ? tt->elem_type : 0);
    if (t->dtype == DT_UNDEF)
        return diag_error(d, WR_EUNSUPPORTED, "graph input '%s' has unsupported element type %d",
                          t->name, tt->elem_type);
    if (!tt->shape)
        return WR_OK; /* rank unknown: must be pinned */
    if (tt->shape->n_dim > IR_MAX_DIMS)
        return diag_error(d, WR_EUNSUPPORTED, "graph input '%s' has rank %zu (max %d)", t->name,
                          tt->shape->n_dim, IR_MAX_DIMS);
    t->ndim = (int)tt->shape->n_dim;
    for (int i = 0; i < t->ndim; i++) {
        const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[i];
        bool known = dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        t->dim[i] = known ? dm->dim_value : -1;
        if (known && dm->dim_value < 0)
            return diag_error(d, WR_ESHAPE, "graph input '%s' has negative dim %lld", t->name,
                              (long long)dm->dim_value);
        if (!known)
            t->sym_dim[i] = arena_strdup(&L->g->arena, dm->dim_param ? dm->dim_param : "?");
    }
    return WR_OK;
}

static Status pin_shape(Tensor *t, const InputShape *s, Diag *d)
{
    if (t->ndim >= 0 && s->ndim != t->ndim)
        return diag_error(d, WR_EUSAGE, "--input-shape for '%s' has rank %d, the model says %d",
                          t->name, s->ndim, t->ndim);
    for (int i = 0; i < s->ndim; i++) {
        if (t->ndim >= 0 && t->dim[i] >= 0 && t->dim[i] != s->dim[i])
            return diag_error(d, WR_EUSAGE,
                              "--input-shape for '%s': dim %d is %lld in the model, not %lld",
                              t->name, i, (long long)t->dim[i], (long long)s->dim[i]);
        t->dim[i] = s->dim[i];
        t->sym_dim[i] = NULL;
    }
    t->ndim = s->ndim;
    return WR_OK;
}

static Status unpinned(const Tensor *t, Diag *d)
{
    char dims[512] = "";
    size_t k = 0;
    for (int i = 0; i < t->ndim && k < sizeof dims; i++)
        if (t->dim[i] < 0)
            k += (size_t)snprintf(dims + k, sizeof dims - k, "%s%d ('%s')", k ? ", " : "", i,
                                  t->sym_dim[i] ? t->sym_dim[i] : "?");
    if (t->ndim < 0)
        snprintf(dims, sizeof dims, "all (rank unknown)");
    return diag_error(d, WR_EUSAGE,
                      "graph input '%s' has unknown dims %s; pin them with --input-shape %s=AxBx...",
                      t->name, dims, t->name);
}

/* Every dim known, and the byte size within what the IR handles (2^40 elements). */
static Status check_input_size(const Tensor *t, Diag *d)
{
    for (int i = 0; i < t->ndim; i++)
        if (t->dim[i] < 0)
            return unpinned(t, d);
    if (t->ndim < 0)
        return unpinned(t, d);
    int64_t n = ir_shape_numel(t->ndim, t->dim);
    if (n < 0 || n > (INT64_C(1) << 40))
        return diag_error(d, WR_ESHAPE, "graph input '%s' is too large (more than 2^40 elements)",
                          t->name);
    return WR_OK;
}

/* --input-shape named something else than a graph input: the error lists the inputs. */
static Status not_an_input(const Graph *g, const char *nm, Diag *d)
{
    char names[512] = "";
    for (int i = 0, n = 0; i < g->ninput && n < (int)sizeof names; i++)
        n += snprintf(names + n, sizeof names - (size_t)n, "%s'%.100s'", i ? ", " : "",
                      g->input[i]->name);
    return diag_error(d, WR_EUSAGE, "--input-shape names '%s', which is not a graph input (the "
                      "graph inputs: %s)", nm, g->ninput ? names : "none");
}

static Status add_inputs(Loader *L, const FrontendOptions *opt, Diag *d)
{
    const Onnx__GraphProto *gp = L->model->graph;
    Graph *g = L->g;
    g->input = arena_alloc(&g->arena, sizeof(Tensor *) * (gp->n_input + 1));
    for (size_t i = 0; i < gp->n_input; i++) {
        const char *name = gp->input[i]->name ? gp->input[i]->name : "";
        Tensor *t = ir_tensor_get(g, name, false);
        if (t && t->data)
            continue; /* an initializer that is also an input: a constant */
        if (t)
            return diag_error(d, WR_EPARSE, "graph input '%s' is declared twice", name);
        t = ir_tensor_get(g, name, true);
        t->ndim = -1;
        WR_TRY(input_type(L, t, gp->input[i], d));
        const InputShape *s = find_override(opt, name, g->ninput);
        if (s)
            WR_TRY(pin_shape(t, s, d));
        t->input_index = g->ninput;
        g->input[g->ninput++] = t;
    }
    for (int i = 0; opt && i < opt->nshape; i++) { /* a misspelled name before what it misses */
        const char *nm = opt->shape[i].name;
        Tensor *t = *nm ? ir_tensor_get(g, nm, false) : NULL;
        if (*nm && (!t || t->input_index < 0))
            return not_an_input(g, nm, d);
    }
    for (int i = 0; i < g->ninput; i++)
        WR_TRY(check_input_size(g->input[i], d));
    return WR_OK;
}

static const Onnx__FunctionProto *find_function(const Loader *L, const Onnx__NodeProto *np)
{
    for (size_t i = 0; i < L->model->n_functions; i++) {
        const Onnx__FunctionProto *f = L->model->functions[i];
        const char *fd = f->domain ? f->domain : "", *nd = np->domain ? np->domain : "";
        if (f->name && np->op_type && strcmp(f->name, np->op_type) == 0 && strcmp(fd, nd) == 0)
            return f;
    }
    return NULL;
}

/* Nodes fn expands to once inlined, capped at MAX_NODES + 1 (memo[i] caches
 * function i, -1 while it is being counted: recursion, reported by inlining). */
static int64_t expanded_size(const Loader *L, const Onnx__FunctionProto *fn, int64_t *memo)
{
    size_t k = 0;
    while (L->model->functions[k] != fn)
        k++;
    if (memo[k] != 0)
        return memo[k] < 0 ? 1 : memo[k];
    memo[k] = -1;
    int64_t total = 0;
    for (size_t i = 0; i < fn->n_node && total <= MAX_NODES; i++) {
        const Onnx__FunctionProto *callee = find_function(L, fn->node[i]);
        total += callee ? expanded_size(L, callee, memo) : 1;
    }
    memo[k] = total > MAX_NODES ? MAX_NODES + 1 : total;
    return memo[k];
}

/* Refuses a model whose functions would inline to too many nodes, before
 * spending time and memory on it. */
static Status check_expanded_size(const Loader *L, Diag *d)
{
    int64_t *memo = calloc(L->model->n_functions + 1, sizeof *memo), total = 0;
    if (!memo)
        return diag_error(d, WR_ENOMEM, "out of memory");
    const Onnx__GraphProto *gp = L->model->graph;
    for (size_t i = 0; i < gp->n_node && total <= MAX_NODES; i++) {
        const Onnx__FunctionProto *fn = find_function(L, gp->node[i]);
        total += fn ? expanded_size(L, fn, memo) : 1;
    }
    free(memo);
    if (total > MAX_NODES)
        return diag_error(d, WR_EUNSUPPORTED, "the model has too many nodes (more than %d after "
                          "inlining functions)", MAX_NODES);
    return WR_OK;
}

static FlatNode *flat_push(Loader *L)
{
    if (L->nflat == L->cap_flat) {
        L->cap_flat = L->cap_flat ? L->cap_flat * 2 : 256;
        FlatNode *nf = realloc(L->flat, sizeof *nf * (size_t)L->cap_flat);
        if (!nf)
            wr_die(__FILE__, __LINE__, "out of memory");
        L->flat = nf;
    }
    FlatNode *f = &L->flat[L->nflat++];
    memset(f, 0, sizeof *f);
    return f;
}

/* Renaming scope of one function call: formal names -> actual names. */
typedef struct Scope {
    const struct Scope *parent;
    const Onnx__FunctionProto *fn;
    const FlatNode *call;
    const char *prefix;
} Scope;

static const char *rename_value(Loader *L, const Scope *sc, const char *name)
{
    if (!sc || !*name)
        return name;
    for (size_t i = 0; i < sc->fn->n_input; i++)
        if (strcmp(sc->fn->input[i], name) == 0)
            return i < (size_t)sc->call->nin ? sc->call->in[i] : "";
    for (size_t i = 0; i < sc->fn->n_output; i++)
        if (strcmp(sc->fn->output[i], name) == 0)
            return i < (size_t)sc->call->nout ? sc->call->out[i] : "";
    return arena_printf(&L->g->arena, "%s/%s", sc->prefix, name);
}

/* Attributes of a node inside a function: ref_attr_name ones take the caller's. */
static void flat_attrs(Loader *L, FlatNode *f, const Onnx__NodeProto *np, const Scope *sc)
{
    // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
    f->attr = arena_alloc(&L->g->arena, sizeof *f->attr * (np->n_attribute + 1));
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *a = np->attribute[i];
        if (sc && a->ref_attr_name && *a->ref_attr_name) {
            const Onnx__AttributeProto *src = NULL;
            for (int j = 0; j < sc->call->nattr; j++)
                if (strcmp(sc->call->attr[j]->name, a->ref_attr_name) == 0)
                    src = sc->call->attr[j];
            if (!src)
                continue; /* not given by the caller: the attribute is absent */
            Onnx__AttributeProto *copy = arena_alloc(&L->g->arena, sizeof *copy);
            *copy = *src;
            copy->name = a->name;
            a = copy;
        }
        f->attr[f->nattr++] = a;
    }
}

static Status flatten(Loader *L, const Onnx__NodeProto *np, const Scope *sc, int depth,
                      const Onnx__OperatorSetIdProto *const *ops, size_t nops, Diag *d);

static Status inline_call(Loader *L, const FlatNode *call, const Onnx__FunctionProto *fn,
                          const Scope *sc, int depth, Diag *d)
{
    for (const Scope *s = sc; s; s = s->parent)
        if (s->fn == fn)
            return diag_error(d, WR_EPARSE, "node '%s' (%s): function '%s' calls itself "
                              "(recursion)", call->name, fn->name, fn->name);
    if (depth >= MAX_INLINE_DEPTH)
        return diag_error(d, WR_EUNSUPPORTED, "node '%s' (%s): functions nested too deep",
                          call->name, fn->name);
    Scope inner = {sc, fn, call, arena_printf(&L->g->arena, "%s#%d", call->name, L->inline_seq++)};
    const Onnx__OperatorSetIdProto *const *ops =
        (const Onnx__OperatorSetIdProto *const *)fn->opset_import;
    size_t nops = fn->n_opset_import;
    if (!nops) {
        ops = (const Onnx__OperatorSetIdProto *const *)L->model->opset_import;
        nops = L->model->n_opset_import;
    }
    for (size_t i = 0; i < fn->n_node; i++)
        WR_TRY(flatten(L, fn->node[i], &inner, depth + 1, ops, nops, d));
    return WR_OK;
}

static Status flatten(Loader *L, const Onnx__NodeProto *np, const Scope *sc, int depth,
                      const Onnx__OperatorSetIdProto *const *ops, size_t nops, Diag *d)
{
    Arena *A = &L->g->arena;
    FlatNode tmp = {0};
    if (L->nflat >= MAX_NODES)
        return diag_error(d, WR_EUNSUPPORTED, "the model has too many nodes (more than %d after "
                          "inlining functions)", MAX_NODES);
    const char *base = np->name && *np->name ? np->name : arena_printf(A, "%s_%d",
                                                   np->op_type ? np->op_type : "node", L->nflat);
    tmp.name = sc ? arena_printf(A, "%s/%s", sc->prefix, base) : base;
    tmp.np = np;
    tmp.nin = (int)np->n_input;
    tmp.nout = (int)np->n_output;
    tmp.in = arena_alloc(A, sizeof(char *) * (np->n_input + 1));
    tmp.out = arena_alloc(A, sizeof(char *) * (np->n_output + 1));
    for (int i = 0; i < tmp.nin; i++)
        tmp.in[i] = rename_value(L, sc, np->input[i] ? np->input[i] : "");
    for (int i = 0; i < tmp.nout; i++)
        tmp.out[i] = rename_value(L, sc, np->output[i] ? np->output[i] : "");
    tmp.opset = opset_of(ops, nops, np->domain);
    tmp.imp = fe_implicit_inputs(A, np, &tmp.nimp);
    for (int i = 0; i < tmp.nimp; i++)
        tmp.imp[i] = rename_value(L, sc, tmp.imp[i]);
    flat_attrs(L, &tmp, np, sc);
    if (!np->op_type)
        return diag_error(d, WR_EPARSE, "node '%s' has no op_type", tmp.name);
    const Onnx__FunctionProto *fn = find_function(L, np);
    if (fn)
        return inline_call(L, &tmp, fn, sc, depth, d);
    *flat_push(L) = tmp;
    return WR_OK;
}

/* ---- nodes ---- */

static Status make_node(Loader *L, FlatNode *f, Diag *d)
{
    const char *dom = f->np->domain ? f->np->domain : "";
    int op = op_lookup(dom, f->np->op_type);
    if (op < 0)
        return diag_error(d, WR_EUNSUPPORTED, "node '%s' (%s%s%s): unsupported operator", f->name,
                          dom, *dom ? "::" : "", f->np->op_type);
    Graph *g = L->g;
    Node *n = ir_node_new(g, op, f->name, f->nin, f->nout);
    n->domain = arena_strdup(&g->arena, dom);
    n->opset = f->opset;
    if (n->opset < 0 && !*op_info[op].domain)
        return diag_node(d, WR_EPARSE, n, "the model imports no opset for domain '%s'", dom);
    for (int i = 0; i < f->nin; i++)
        if (*f->in[i])
            ir_node_set_input(n, i, ir_tensor_get(g, f->in[i], false));
    for (int i = 0; i < f->nout; i++) {
        if (!*f->out[i])
            continue;
        Tensor *t = ir_tensor_get(g, f->out[i], true);
        if (t->producer || t->data || t->input_index >= 0)
            return diag_node(d, WR_EPARSE, n, "output '%s' is already defined elsewhere", t->name);
        t->producer = n;
        n->out[i] = t;
    }
    n->nattr = f->nattr;
    n->attr = arena_alloc(&g->arena, sizeof(Attr) * (size_t)(f->nattr + 1));
    AttrEnv env = {g, L->dir, L->model};
    for (int i = 0; i < f->nattr; i++)
        WR_TRY(fe_convert_attr(&env, f->name, f->attr[i], &n->attr[i], d));
    return WR_OK;
}

/* ---- topological order ---- */

/* Which flat node produces each value: open addressing over output names. */
typedef struct Producers {
    const char **key;
    int *val;
    size_t mask;
} Producers;

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int producer_of(const Producers *p, const char *name)
{
    for (size_t h = name_hash(name) & p->mask; p->key[h]; h = (h + 1) & p->mask)
        if (strcmp(p->key[h], name) == 0)
            return p->val[h];
    return -1;
}

/* The first producer of each name wins; a second one is reported by make_node. */
static bool producers_build(const Loader *L, Producers *p)
{
    size_t cap = 16, total = 0;
    for (int i = 0; i < L->nflat; i++)
        total += (size_t)L->flat[i].nout;
    while (cap < 2 * total + 2)
        cap *= 2;
    p->mask = cap - 1;
    p->key = calloc(cap, sizeof *p->key);
    p->val = calloc(cap, sizeof *p->val);
    if (!p->key || !p->val)
        return false;
    for (int i = 0; i < L->nflat; i++)
        for (int j = 0; j < L->flat[i].nout; j++) {
            const char *nm = L->flat[i].out[j];
            if (!*nm || producer_of(p, nm) >= 0)
                continue;
            size_t h = name_hash(nm) & p->mask;
            while (p->key[h])
                h = (h + 1) & p->mask;
            p->key[h] = nm;
            p->val[h] = i;
        }
    return true;
}

/* Defined before any node runs: an initializer or a graph input. */
static bool predefined(const Loader *L, const char *name)
{
    Tensor *t = ir_tensor_get(L->g, name, false);
    return t && (t->data || t->input_index >= 0);
}

/* Dependency j of f: its inputs, then its implicit inputs. */
static const char *dep(const FlatNode *f, int j)
{
    return j < f->nin ? f->in[j] : f->imp[j - f->nin];
}

/* The flat node that dependency j of node i waits for; -2 when none (absent,
 * predefined, an implicit input nothing produces or the node's own output:
 * those are reported when the subgraph is expanded), -1 when nothing produces it. */
static int dep_source(const Loader *L, const Producers *p, int i, int j)
{
    const FlatNode *f = &L->flat[i];
    const char *nm = dep(f, j);
    int src = *nm && !predefined(L, nm) ? producer_of(p, nm) : -2;
    return j >= f->nin && (src < 0 || src == i) ? -2 : src;
}

/* Explains why nodes could not be placed: an undefined input, else a cycle
 * (found by walking producers from an unplaced node until one repeats). */
static Status stuck(const Loader *L, const Producers *p, Diag *d)
{
    int u = -1, in = -1;
    for (int i = 0; i < L->nflat; i++) {
        const FlatNode *f = &L->flat[i];
        for (int j = 0; j < f->nin + f->nimp && !f->placed; j++) {
            int src = dep_source(L, p, i, j);
            if (src == -1)
                return diag_error(d, WR_EPARSE, "node '%s' (%s): input '%s' is not defined by "
                                  "any node, initializer or input", f->name, f->np->op_type,
                                  f->in[j]);
            if (u < 0 && src >= 0 && !L->flat[src].placed)
                u = i, in = j;
        }
    }
    WR_ASSERT(u >= 0);
    for (int step = 0; step < L->nflat; step++) {
        const FlatNode *f = &L->flat[u];
        for (int j = 0; j < f->nin + f->nimp; j++) {
            int src = dep_source(L, p, u, j);
            if (src >= 0 && !L->flat[src].placed) {
                in = j;
                break;
            }
        }
        u = dep_source(L, p, u, in);
    }
    const FlatNode *f = &L->flat[u];
    return diag_error(d, WR_EPARSE, "node '%s' (%s): input '%s' depends on this node's own output "
                      "(graph cycle)", f->name, f->np->op_type, dep(f, in));
}

/* Min-heap of flat node indices that are ready to be placed. */
static void heap_push(int *h, int *n, int v)
{
    int i = (*n)++;
    for (; i > 0 && h[(i - 1) / 2] > v; i = (i - 1) / 2)
        h[i] = h[(i - 1) / 2];
    h[i] = v;
}

static int heap_pop(int *h, int *n)
{
    int top = h[0], v = h[--*n], i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && h[c + 1] < h[c])
            c++;
        if (h[c] >= v)
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
    return top;
}

/* Dependency edges producer -> consumer as CSR (first[i]..first[i+1] in next). */
typedef struct Deps {
    int *pending; /* per node: inputs whose producer is not placed yet */
    int *first, *next;
} Deps;

static bool deps_build(const Loader *L, const Producers *p, Deps *dp)
{
    int n = L->nflat;
    size_t nedge = 0;
    for (int i = 0; i < n; i++)
        nedge += (size_t)(L->flat[i].nin + L->flat[i].nimp);
    dp->pending = calloc((size_t)n + 1, sizeof(int));
    dp->first = calloc((size_t)n + 2, sizeof(int));
    dp->next = malloc((nedge + 1) * sizeof(int));
    int *cursor = malloc(((size_t)n + 1) * sizeof(int));
    if (!dp->pending || !dp->first || !dp->next || !cursor) {
        free(cursor);
        return false;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < L->flat[i].nin + L->flat[i].nimp; j++) {
                int src = dep_source(L, p, i, j);
                if (pass == 0 && src != -2)
                    dp->pending[i]++; /* never drops to 0 when nothing produces nm */
                if (pass == 0 && src >= 0)
                    dp->first[src + 1]++;
                if (pass == 1 && src >= 0)
                    dp->next[cursor[src]++] = i;
            }
        for (int i = 0; pass == 0 && i < n; i++)
            dp->first[i + 1] += dp->first[i];
        memcpy(cursor, dp->first, sizeof(int) * (size_t)n);
    }
    free(cursor);
    return true;
}

/* Places nodes by Kahn's algorithm, lowest index first among the ready ones, so
 * a sorted model keeps its order; O(E log N) for any order. */
static Status place_nodes(Loader *L, const Producers *p, const Deps *dp, Diag *d)
{
    int *heap = malloc(sizeof(int) * ((size_t)L->nflat + 1)), nheap = 0, placed = 0;
    if (!heap)
        return diag_error(d, WR_ENOMEM, "out of memory");
    for (int i = 0; i < L->nflat; i++)
        if (dp->pending[i] == 0)
            heap_push(heap, &nheap, i);
    Status s = WR_OK;
    while (nheap && s == WR_OK) {
        int i = heap_pop(heap, &nheap);
        s = make_node(L, &L->flat[i], d);
        L->flat[i].placed = true;
        placed++;
        for (int k = dp->first[i]; k < dp->first[i + 1]; k++)
            if (--dp->pending[dp->next[k]] == 0)
                heap_push(heap, &nheap, dp->next[k]);
    }
    free(heap);
    if (s == WR_OK && placed < L->nflat)
        s = stuck(L, p, d);
    return s;
}

static void deps_free(Deps *dp)
{
    free(dp->pending);
    free(dp->first);
    free(dp->next);
}

static const char *dom_of(const Onnx__NodeProto *np) { return np->domain ? np->domain : ""; }

static bool same_op(const Onnx__NodeProto *a, const Onnx__NodeProto *b)
{
    return !strcmp(dom_of(a), dom_of(b)) && !strcmp(a->op_type, b->op_type);
}

/* Every operator wrpnc lacks, in one error: per op its first node and how many use it
 * (one node alone keeps the message make_node gives). */
static Status unsupported(const Loader *L, Diag *d)
{
    enum { MAX_KINDS = 16 };
    int first[MAX_KINDS], count[MAX_KINDS], nkind = 0, total = 0, kinds = 0;
    for (int i = 0; i < L->nflat; i++) {
        const Onnx__NodeProto *np = L->flat[i].np;
        if (op_lookup(dom_of(np), np->op_type) >= 0)
            continue;
        int k = 0;
        while (k < nkind && !same_op(L->flat[first[k]].np, np))
            k++;
        if (k == nkind) {
            kinds++;
            if (nkind < MAX_KINDS) {
                first[nkind] = i;
                count[nkind++] = 0;
            }
        }
        if (k < nkind)
            count[k]++;
        total++;
    }
    if (total <= 1)
        return WR_OK; /* none, or make_node's message */
    char list[768] = "";
    for (int k = 0, n = 0; k < nkind; k++) {
        const FlatNode *f = &L->flat[first[k]];
        const char *dom = dom_of(f->np);
        n += snprintf(list + n, sizeof list - (size_t)n, "%snode '%.60s' (%s%s%.60s)",
                      k ? ", " : "", f->name, dom, *dom ? "::" : "", f->np->op_type);
        if (count[k] > 1 && n < (int)sizeof list)
            n += snprintf(list + n, sizeof list - (size_t)n, " and %d more", count[k] - 1);
        if (n >= (int)sizeof list)
            break;
    }
    return diag_error(d, WR_EUNSUPPORTED, "%d nodes use %d unsupported operators: %s%s", total,
                      kinds, list, kinds > nkind ? ", ..." : "");
}

static Status add_nodes(Loader *L, Diag *d)
{
    WR_TRY(unsupported(L, d));
    Producers p = {0};
    Deps dp = {0};
    Status s = producers_build(L, &p) && deps_build(L, &p, &dp)
                   ? place_nodes(L, &p, &dp, d)
                   : diag_error(d, WR_ENOMEM, "out of memory");
    deps_free(&dp);
    free(p.key);
    free(p.val);
    return s;
}

static Status add_outputs(Loader *L, Diag *d)
{
    const Onnx__GraphProto *gp = L->model->graph;
    Graph *g = L->g;
    if (gp->n_output == 0)
        return diag_error(d, WR_EPARSE, "the graph has no outputs");
    g->output = arena_alloc(&g->arena, sizeof(Tensor *) * gp->n_output);
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = gp->output[i]->name ? gp->output[i]->name : "";
        Tensor *t = ir_tensor_get(g, name, false);
        if (!t)
            return diag_error(d, WR_EPARSE, "graph output '%s' is never computed", name);
        for (int j = 0; j < g->noutput; j++)
            if (g->output[j] == t)
                return diag_error(d, WR_EUNSUPPORTED, "graph output '%s' is listed twice", name);
        t->output_index = g->noutput;
        g->output[g->noutput++] = t;
    }
    return WR_OK;
}

static Status load_model(Loader *L, const FrontendOptions *opt, Diag *d)
{
    const Onnx__ModelProto *m = L->model;
    if (!m->graph)
        return diag_error(d, WR_EPARSE, "the model has no graph");
    L->g->opset = opset_of((const Onnx__OperatorSetIdProto *const *)m->opset_import,
                           m->n_opset_import, "");
    if (L->g->opset < 0)
        return diag_error(d, WR_EPARSE, "the model imports no default-domain opset");
    if (L->g->opset < 6)
        return diag_error(d, WR_EUNSUPPORTED, "opset %lld is older than 6, the oldest supported",
                          (long long)L->g->opset);
    WR_TRY(add_initializers(L, d));
    WR_TRY(add_inputs(L, opt, d));
    WR_TRY(check_expanded_size(L, d));
    for (size_t i = 0; i < m->graph->n_node; i++)
        WR_TRY(flatten(L, m->graph->node[i], NULL, 0,
                       (const Onnx__OperatorSetIdProto *const *)m->opset_import,
                       m->n_opset_import, d));
    WR_TRY(add_nodes(L, d));
    WR_TRY(add_outputs(L, d));
    ir_graph_relink(L->g);
    return WR_OK;
}

/* ---- nesting depth ---- */

/* protobuf-c unpacks nested messages recursively, so a few megabytes of
 * nested subgraphs overflow the stack. The wire format is walked first,
 * guided by the generated descriptors, with the depth bounded; anything else
 * malformed is left for the real parser to refuse. */
enum { MAX_PROTO_DEPTH = 200 };

static bool wire_varint(const uint8_t *p, size_t len, size_t *i, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; *i < len && shift < 64; shift += 7) {
        uint8_t b = p[(*i)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

static bool depth_ok(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
                     int depth)
{
    if (depth > MAX_PROTO_DEPTH)
        return false;
    size_t i = 0;
    uint64_t key, v;
    while (i < len && wire_varint(p, len, &i, &key)) {
        switch (key & 7) {
        case 0: if (!wire_varint(p, len, &i, &v)) return true; break;
        case 1: i += 8; break;
        case 5: i += 4; break;
        case 2: {
            if (!wire_varint(p, len, &i, &v) || v > len - i)
                return true;
            const ProtobufCFieldDescriptor *f =
                key >> 3 <= UINT32_MAX
                    ? protobuf_c_message_descriptor_get_field(desc, (unsigned)(key >> 3))
                    : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                !depth_ok(f->descriptor, p + i, (size_t)v, depth + 1))
                return false;
            i += (size_t)v;
            break;
        }
        default: return true; /* groups or garbage: the parser decides */
        }
    }
    return true;
}

static void model_dir(const char *path, char *dir, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, n, ".");
    else if (slash == path)
        snprintf(dir, n, "/");
    else
        snprintf(dir, n, "%.*s", (int)(slash - path), path);
}

static const char *base_name(Arena *a, const char *path)
{
    const char *slash = strrchr(path, '/');
    char *s = arena_strdup(a, slash ? slash + 1 : path);
    char *dot = strrchr(s, '.');
    if (dot && dot != s)
        *dot = 0;
    return s;
}

Status fe_onnx_load_mem(const uint8_t *buf, size_t len, const char *path,
                        const FrontendOptions *opt, Graph **out, Diag *d)
{
    *out = NULL;
    if (!depth_ok(&onnx__model_proto__descriptor, buf, len, 0))
        return diag_error(d, WR_EPARSE, "messages nested deeper than %d levels", MAX_PROTO_DEPTH);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    if (!m)
        return diag_error(d, WR_EPARSE, "not a valid ONNX model (protobuf parse failed)");
    Loader L = {0};
    L.path = path;
    L.model = m;
    model_dir(path, L.dir, sizeof L.dir);
    L.g = ir_graph_new(NULL);
    L.g->name = base_name(&L.g->arena, path);
    L.g->path = arena_strdup(&L.g->arena, path);
    Status s = load_model(&L, opt, d);
    free(L.flat);
    onnx__model_proto__free_unpacked(m, NULL);
    if (s != WR_OK) {
        ir_graph_free(L.g);
        return s;
    }
    *out = L.g;
    return WR_OK;
}

Status fe_onnx_load(const char *path, const FrontendOptions *opt, Graph **out, Diag *d)
{
    unsigned char *buf;
    size_t len;
    *out = NULL;
    WR_TRY(fe_read_file(path, &buf, &len, d));
    Status s = fe_onnx_load_mem(buf, len, path, opt, out, d);
    free(buf);
    return s;
}
