/*
 * onnx_attr.c: AttributeProto -> Attr, for the loader's nodes and for the
 * nodes of subgraphs. A GRAPH attribute (the bodies of Loop, Scan and If)
 * becomes a SubGraph (ir/subgraph.h): value names, nodes with their ops
 * looked up and attributes converted, initializers decoded. Tensors are made
 * only when shape inference instantiates the body. Nesting is bounded by the
 * loader's wire-format depth check, so the recursion here is too.
 */
#include "onnx_internal.h"
#include "subgraph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* memcpy, except that an empty protobuf field may come with a NULL pointer. */
static void copy_bytes(void *dst, const void *src, size_t n)
{
    if (n)
        memcpy(dst, src, n);
}

static const char *name_copy(Arena *A, const char *s) { return arena_strdup(A, s ? s : ""); }

static Status tensor_attr(const AttrEnv *env, const char *node, const Onnx__TensorProto *tp,
                          const char *name, Tensor **out, Diag *d)
{
    Arena *A = &env->g->arena;
    char what[512];
    snprintf(what, sizeof what, "node '%s': attribute '%s'", node, name);
    HostTensor h;
    WR_TRY(fe_decode_tensor(tp, env->dir, what, &h, d));
    Tensor *t = arena_alloc(A, sizeof *t);
    t->name = name;
    t->id = t->input_index = t->output_index = t->alias_of = -1;
    ir_tensor_set_shape(t, h.dtype, h.ndim, h.dim);
    t->data = arena_alloc(A, h.bytes ? h.bytes : 1);
    memcpy(t->data, h.data, h.bytes);
    fe_host_tensor_free(&h);
    *out = t;
    return WR_OK;
}

static Status sub_node(const AttrEnv *env, const char *graph, const Onnx__NodeProto *np, int index,
                       SubNode *s, Diag *d)
{
    Arena *A = &env->g->arena;
    const char *dom = np->domain ? np->domain : "";
    s->name = np->name && *np->name
                  ? name_copy(A, np->name)
                  : arena_printf(A, "%s_%d", np->op_type ? np->op_type : "node", index);
    if (!np->op_type)
        return diag_error(d, WR_EPARSE, "node '%s' in subgraph '%s' has no op_type", s->name,
                          graph);
    s->op = op_lookup(dom, np->op_type);
    if (s->op < 0)
        return diag_error(d, WR_EUNSUPPORTED, "node '%s' (%s%s%s) in subgraph '%s': unsupported "
                          "operator", s->name, dom, *dom ? "::" : "", np->op_type, graph);
    s->domain = name_copy(A, dom);
    s->opset = fe_opset_of(env->model, dom);
    s->nin = (int)np->n_input;
    s->nout = (int)np->n_output;
    s->in = arena_alloc(A, sizeof(char *) * (np->n_input + 1));
    s->out = arena_alloc(A, sizeof(char *) * (np->n_output + 1));
    for (size_t i = 0; i < np->n_input; i++)
        s->in[i] = name_copy(A, np->input[i]);
    for (size_t i = 0; i < np->n_output; i++)
        s->out[i] = name_copy(A, np->output[i]);
    s->nattr = (int)np->n_attribute;
    s->attr = arena_alloc(A, sizeof(Attr) * (np->n_attribute + 1));
    for (size_t i = 0; i < np->n_attribute; i++)
        WR_TRY(fe_convert_attr(env, s->name, np->attribute[i], &s->attr[i], d));
    return WR_OK;
}

static Status sub_values(const AttrEnv *env, const Onnx__GraphProto *gp, SubGraph *sg, Diag *d)
{
    Arena *A = &env->g->arena;
    sg->ninput = (int)gp->n_input;
    sg->noutput = (int)gp->n_output;
    sg->ninit = (int)gp->n_initializer;
    sg->input = arena_alloc(A, sizeof(char *) * (gp->n_input + 1));
    sg->output = arena_alloc(A, sizeof(char *) * (gp->n_output + 1));
    sg->init = arena_alloc(A, sizeof(Tensor *) * (gp->n_initializer + 1));
    for (size_t i = 0; i < gp->n_input; i++)
        sg->input[i] = name_copy(A, gp->input[i]->name);
    for (size_t i = 0; i < gp->n_output; i++)
        sg->output[i] = name_copy(A, gp->output[i]->name);
    for (size_t i = 0; i < gp->n_initializer; i++)
        WR_TRY(tensor_attr(env, sg->name, gp->initializer[i],
                           name_copy(A, gp->initializer[i]->name), &sg->init[i], d));
    if (gp->n_sparse_initializer)
        return diag_error(d, WR_EUNSUPPORTED, "subgraph '%s': sparse initializers are not "
                          "supported", sg->name);
    return WR_OK;
}

static Status subgraph(const AttrEnv *env, const char *node, const Onnx__GraphProto *gp,
                       const char *attr, const SubGraph **out, Diag *d)
{
    Arena *A = &env->g->arena;
    if (!gp)
        return WR_OK; /* a typed stub, as for the other types: ops needing it refuse */
    SubGraph *sg = arena_alloc(A, sizeof *sg);
    sg->name = gp->name && *gp->name ? name_copy(A, gp->name)
                                     : arena_printf(A, "%s/%s", node, attr);
    WR_TRY(sub_values(env, gp, sg, d));
    sg->nnode = (int)gp->n_node;
    sg->node = arena_alloc(A, sizeof *sg->node * (gp->n_node + 1));
    for (size_t i = 0; i < gp->n_node; i++)
        WR_TRY(sub_node(env, sg->name, gp->node[i], (int)i, &sg->node[i], d));
    *out = sg;
    return WR_OK;
}

Status fe_convert_attr(const AttrEnv *env, const char *node, const Onnx__AttributeProto *a,
                       Attr *out, Diag *d)
{
    Arena *A = &env->g->arena;
    out->name = name_copy(A, a->name);
    out->type = a->has_type ? (AttrType)a->type : ATTR_UNDEF;
    out->i = a->i;
    out->f = a->f;
    switch ((int)out->type) {
    case ATTR_STRING:
        out->s = arena_alloc(A, a->s.len + 1);
        copy_bytes((char *)out->s, a->s.data, a->s.len);
        break;
    case ATTR_INTS:
        out->n = (int)a->n_ints;
        out->ints = arena_alloc(A, sizeof(int64_t) * (a->n_ints + 1));
        copy_bytes(out->ints, a->ints, sizeof(int64_t) * a->n_ints);
        break;
    case ATTR_FLOATS:
        out->n = (int)a->n_floats;
        out->floats = arena_alloc(A, sizeof(float) * (a->n_floats + 1));
        copy_bytes(out->floats, a->floats, sizeof(float) * a->n_floats);
        break;
    case ATTR_STRINGS:
        out->n = (int)a->n_strings;
        out->strings = arena_alloc(A, sizeof(char *) * (a->n_strings + 1));
        for (size_t i = 0; i < a->n_strings; i++) {
            char *s = arena_alloc(A, a->strings[i].len + 1);
            copy_bytes(s, a->strings[i].data, a->strings[i].len);
            out->strings[i] = s;
        }
        break;
    case ATTR_TENSOR:
        if (!a->t)
            return diag_error(d, WR_EPARSE, "node '%s': attribute '%s' has no tensor", node,
                              out->name);
        return tensor_attr(env, node, a->t, out->name, &out->t, d);
    case ATTR_GRAPH: return subgraph(env, node, a->g, out->name, &out->sub, d);
    default: break; /* the rest: kept as a typed stub; ops needing them refuse */
    }
    return WR_OK;
}

/* ---- implicit inputs ---- */

/* A set of names (open addressing), grown by doubling. */
typedef struct NameSet {
    const char **key;
    size_t mask, count;
} NameSet;

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Adds name; true when it was not there. Dies when out of memory. */
static bool set_add(NameSet *s, const char *name)
{
    if (2 * (s->count + 1) > s->mask) {
        NameSet b = {calloc(2 * (s->mask + 1), sizeof(char *)), 2 * s->mask + 1, 0};
        if (!b.key)
            wr_die(__FILE__, __LINE__, "out of memory");
        for (size_t i = 0; s->key && i <= s->mask; i++)
            if (s->key[i])
                set_add(&b, s->key[i]);
        free(s->key);
        *s = b;
    }
    size_t h = name_hash(name) & s->mask;
    for (; s->key[h]; h = (h + 1) & s->mask)
        if (strcmp(s->key[h], name) == 0)
            return false;
    s->key[h] = name;
    s->count++;
    return true;
}

static bool set_has(const NameSet *s, const char *name)
{
    size_t h = name_hash(name) & s->mask;
    for (; s->key[h]; h = (h + 1) & s->mask)
        if (strcmp(s->key[h], name) == 0)
            return true;
    return false;
}

/* Every name gp and its nested graphs define into def, every name they read into use. */
static void scan_graph(const Onnx__GraphProto *gp, NameSet *def, NameSet *use)
{
    for (size_t i = 0; i < gp->n_input; i++)
        set_add(def, gp->input[i]->name ? gp->input[i]->name : "");
    for (size_t i = 0; i < gp->n_initializer; i++)
        set_add(def, gp->initializer[i]->name ? gp->initializer[i]->name : "");
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        for (size_t j = 0; j < np->n_output; j++)
            set_add(def, np->output[j] ? np->output[j] : "");
        for (size_t j = 0; j < np->n_input; j++)
            if (np->input[j] && *np->input[j])
                set_add(use, np->input[j]);
        for (size_t j = 0; j < np->n_attribute; j++) {
            const Onnx__AttributeProto *a = np->attribute[j];
            if (a->g)
                scan_graph(a->g, def, use);
            for (size_t k = 0; k < a->n_graphs; k++)
                scan_graph(a->graphs[k], def, use);
        }
    }
}

const char **fe_implicit_inputs(Arena *A, const Onnx__NodeProto *np, int *n)
{
    NameSet def = {calloc(16, sizeof(char *)), 15, 0}, use = {calloc(16, sizeof(char *)), 15, 0};
    if (!def.key || !use.key)
        wr_die(__FILE__, __LINE__, "out of memory");
    for (size_t j = 0; j < np->n_attribute; j++) {
        const Onnx__AttributeProto *a = np->attribute[j];
        if (a->g)
            scan_graph(a->g, &def, &use);
        for (size_t k = 0; k < a->n_graphs; k++)
            scan_graph(a->graphs[k], &def, &use);
    }
    const char **out = arena_alloc(A, sizeof(char *) * (use.count + 1));
    *n = 0;
    for (size_t i = 0; i <= use.mask; i++)
        if (use.key[i] && !set_has(&def, use.key[i]))
            out[(*n)++] = use.key[i];
    free(def.key);
    free(use.key);
    return out;
}
