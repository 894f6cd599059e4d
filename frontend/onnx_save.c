/*
 * onnx_save.c: Graph -> ModelProto file (`wrpnc widen`). Writes the nodes
 * with their attributes as loaded (names kept), every constant a node reads
 * as an initializer in raw_data, graph inputs and outputs with element type
 * and shape. ir_version and the opset imports come from the model the graph
 * was loaded from (g->path) when it can be read, else from the nodes' opsets.
 * Everything protobuf-c packs is allocated in one scratch arena.
 */
#include "onnx_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Saver {
    Arena a; /* scratch: every proto struct below */
    const Graph *g;
    Onnx__ModelProto *src; /* the source model, or NULL */
} Saver;

static Status write_file(const char *path, const uint8_t *buf, size_t len, Diag *d)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(buf, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    return ok ? WR_OK : diag_error(d, WR_EIO, "%s: cannot write: %s", path, strerror(errno));
}

/* T is a type and init a brace list: neither can be parenthesized. */
#define NEW(S, T, init) new_msg((S), sizeof(T), &(T)init) // NOLINT(bugprone-macro-parentheses)
static void *new_msg(Saver *s, size_t n, const void *init)
{
    void *p = arena_alloc(&s->a, n);
    memcpy(p, init, n);
    return p;
}

static Onnx__TensorProto *tensor_proto(Saver *s, const Tensor *t, const char *name)
{
    Onnx__TensorProto *tp = NEW(s, Onnx__TensorProto, ONNX__TENSOR_PROTO__INIT);
    tp->n_dims = (size_t)t->ndim;
    tp->dims = arena_alloc(&s->a, sizeof(int64_t) * (size_t)(t->ndim + 1));
    memcpy(tp->dims, t->dim, sizeof(int64_t) * (size_t)t->ndim);
    tp->has_data_type = 1;
    tp->data_type = dtype_info[t->dtype].onnx;
    tp->name = (char *)name;
    tp->has_raw_data = 1;
    tp->raw_data.len = (size_t)ir_tensor_bytes(t);
    tp->raw_data.data = t->data;
    return tp;
}

static Onnx__AttributeProto *attr_proto(Saver *s, const Attr *at, const Node *n, Diag *d)
{
    Onnx__AttributeProto *a = NEW(s, Onnx__AttributeProto, ONNX__ATTRIBUTE_PROTO__INIT);
    a->name = (char *)at->name;
    a->has_type = 1;
    a->type = (Onnx__AttributeProto__AttributeType)at->type;
    switch (at->type) {
    case ATTR_FLOAT: a->has_f = 1, a->f = at->f; break;
    case ATTR_INT: a->has_i = 1, a->i = at->i; break;
    case ATTR_STRING:
        a->has_s = 1;
        a->s.data = (uint8_t *)at->s;
        a->s.len = strlen(at->s);
        break;
    case ATTR_TENSOR: a->t = tensor_proto(s, at->t, ""); break;
    case ATTR_FLOATS: a->n_floats = (size_t)at->n, a->floats = at->floats; break;
    case ATTR_INTS: a->n_ints = (size_t)at->n, a->ints = at->ints; break;
    case ATTR_STRINGS:
        a->n_strings = (size_t)at->n;
        a->strings = arena_alloc(&s->a, sizeof(ProtobufCBinaryData) * (size_t)(at->n + 1));
        for (int i = 0; i < at->n; i++) {
            a->strings[i].data = (uint8_t *)at->strings[i];
            a->strings[i].len = strlen(at->strings[i]);
        }
        break;
    case ATTR_UNDEF:
    case ATTR_GRAPH:
        diag_node(d, WR_EUNSUPPORTED, n, "attribute '%s' of type %s cannot be written", at->name,
                  ir_attr_type_name(at->type));
        return NULL;
    }
    return a;
}

static char *tname(const Tensor *t) { return t ? (char *)t->name : ""; }

static Status node_proto(Saver *s, const Node *n, Onnx__NodeProto **out, Diag *d)
{
    Onnx__NodeProto *np = NEW(s, Onnx__NodeProto, ONNX__NODE_PROTO__INIT);
    np->name = (char *)n->name;
    np->op_type = (char *)op_name(n);
    np->domain = (char *)(n->domain ? n->domain : "");
    np->n_input = (size_t)n->nin;
    np->input = arena_alloc(&s->a, sizeof(char *) * (size_t)(n->nin + 1));
    for (int i = 0; i < n->nin; i++)
        np->input[i] = tname(n->in[i]);
    /* an OPF_SCRATCH op's last output is the kernel's workspace, not ONNX's */
    const OpInfo *oi = &op_info[n->op];
    int nout = oi->flags & OPF_SCRATCH && n->nout > oi->max_out ? oi->max_out : n->nout;
    np->n_output = (size_t)nout;
    np->output = arena_alloc(&s->a, sizeof(char *) * (size_t)(nout + 1));
    for (int i = 0; i < nout; i++)
        np->output[i] = tname(n->out[i]);
    np->n_attribute = (size_t)n->nattr;
    np->attribute = arena_alloc(&s->a, sizeof(void *) * (size_t)(n->nattr + 1));
    for (int i = 0; i < n->nattr; i++)
        if (!(np->attribute[i] = attr_proto(s, &n->attr[i], n, d)))
            return d->status;
    *out = np;
    return WR_OK;
}

static Onnx__ValueInfoProto *value_info(Saver *s, const Tensor *t)
{
    Onnx__TensorShapeProto *sh = NEW(s, Onnx__TensorShapeProto, ONNX__TENSOR_SHAPE_PROTO__INIT);
    sh->n_dim = (size_t)t->ndim;
    sh->dim = arena_alloc(&s->a, sizeof(void *) * (size_t)(t->ndim + 1));
    for (int i = 0; i < t->ndim; i++) {
        Onnx__TensorShapeProto__Dimension *dm =
            NEW(s, Onnx__TensorShapeProto__Dimension, ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT);
        dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        dm->dim_value = t->dim[i];
        if (t->sym_dim[i]) {
            dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dm->dim_param = (char *)t->sym_dim[i];
        }
        sh->dim[i] = dm;
    }
    Onnx__TypeProto__Tensor *tt = NEW(s, Onnx__TypeProto__Tensor, ONNX__TYPE_PROTO__TENSOR__INIT);
    tt->has_elem_type = 1;
    tt->elem_type = dtype_info[t->dtype].onnx;
    tt->shape = sh;
    Onnx__TypeProto *tp = NEW(s, Onnx__TypeProto, ONNX__TYPE_PROTO__INIT);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    Onnx__ValueInfoProto *vi = NEW(s, Onnx__ValueInfoProto, ONNX__VALUE_INFO_PROTO__INIT);
    vi->name = (char *)t->name;
    vi->type = tp;
    return vi;
}

/* Constants read by nodes or listed as outputs, in tensor order. */
static void initializers(Saver *s, Onnx__GraphProto *gp)
{
    const Graph *g = s->g;
    gp->initializer = arena_alloc(&s->a, sizeof(void *) * (size_t)(g->ntensor + 1));
    for (int i = 0; i < g->ntensor; i++) {
        const Tensor *t = g->tensor[i];
        if (t->data && (t->nuse > 0 || t->output_index >= 0))
            gp->initializer[gp->n_initializer++] = tensor_proto(s, t, t->name);
    }
}

static Status graph_proto(Saver *s, Onnx__GraphProto **out, Diag *d)
{
    const Graph *g = s->g;
    Onnx__GraphProto *gp = NEW(s, Onnx__GraphProto, ONNX__GRAPH_PROTO__INIT);
    gp->name = (char *)g->name;
    gp->n_node = (size_t)g->nnode;
    gp->node = arena_alloc(&s->a, sizeof(void *) * (size_t)(g->nnode + 1));
    for (int i = 0; i < g->nnode; i++)
        WR_TRY(node_proto(s, g->node[i], &gp->node[i], d));
    initializers(s, gp);
    gp->n_input = (size_t)g->ninput;
    gp->input = arena_alloc(&s->a, sizeof(void *) * (size_t)(g->ninput + 1));
    for (int i = 0; i < g->ninput; i++)
        gp->input[i] = value_info(s, g->input[i]);
    gp->n_output = (size_t)g->noutput;
    gp->output = arena_alloc(&s->a, sizeof(void *) * (size_t)(g->noutput + 1));
    for (int i = 0; i < g->noutput; i++)
        gp->output[i] = value_info(s, g->output[i]);
    *out = gp;
    return WR_OK;
}

/* The IR version that goes with a default-domain opset (onnx/helper.py's table). */
static int64_t ir_version_for(int64_t opset)
{
    static const int64_t table[][2] = {{9, 4}, {10, 5}, {11, 6}, {14, 7},
                                       {18, 8}, {20, 9}, {22, 10}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (opset <= table[i][0])
            return table[i][1];
    return 11;
}

/* Opset imports derived from the graph: the default domain plus every node domain. */
static void derived_opsets(Saver *s, Onnx__ModelProto *m)
{
    const Graph *g = s->g;
    m->opset_import = arena_alloc(&s->a, sizeof(void *) * (size_t)(g->nnode + 2));
    Onnx__OperatorSetIdProto *o =
        NEW(s, Onnx__OperatorSetIdProto, ONNX__OPERATOR_SET_ID_PROTO__INIT);
    o->domain = "";
    o->has_version = 1;
    o->version = g->opset;
    m->opset_import[m->n_opset_import++] = o;
    for (int i = 0; i < g->nnode; i++) {
        const char *dom = g->node[i]->domain ? g->node[i]->domain : "";
        bool seen = false;
        for (size_t k = 0; k < m->n_opset_import; k++)
            seen |= strcmp(m->opset_import[k]->domain, dom) == 0 || (!*dom);
        if (seen)
            continue;
        o = NEW(s, Onnx__OperatorSetIdProto, ONNX__OPERATOR_SET_ID_PROTO__INIT);
        o->domain = (char *)dom;
        o->has_version = 1;
        o->version = g->node[i]->opset > 0 ? g->node[i]->opset : 1;
        m->opset_import[m->n_opset_import++] = o;
    }
    m->has_ir_version = 1;
    m->ir_version = ir_version_for(g->opset);
}

/* Reads the source model for its ir_version and opset imports (NULL if unreadable). */
static void load_source(Saver *s)
{
    unsigned char *buf;
    size_t len;
    Diag ignore = {0};
    if (!s->g->path || fe_read_file(s->g->path, &buf, &len, &ignore) != WR_OK)
        return;
    s->src = onnx__model_proto__unpack(NULL, len, buf);
    free(buf);
}

/* The source's opset imports plus any domain a node uses that they lack (a pass may
 * add nodes of a new domain: calibration's QONNX quantizers). */
static void source_opsets(Saver *s, Onnx__ModelProto *m)
{
    const Graph *g = s->g;
    m->opset_import = arena_alloc(&s->a, sizeof(void *) *
                                             (s->src->n_opset_import + (size_t)g->nnode + 1));
    for (size_t i = 0; i < s->src->n_opset_import; i++)
        m->opset_import[m->n_opset_import++] = s->src->opset_import[i];
    for (int i = 0; i < g->nnode; i++) {
        const char *dom = g->node[i]->domain ? g->node[i]->domain : "";
        bool seen = !*dom;
        for (size_t k = 0; k < m->n_opset_import && !seen; k++)
            seen = strcmp(m->opset_import[k]->domain ? m->opset_import[k]->domain : "", dom) == 0;
        if (seen)
            continue;
        Onnx__OperatorSetIdProto *o =
            NEW(s, Onnx__OperatorSetIdProto, ONNX__OPERATOR_SET_ID_PROTO__INIT);
        o->domain = (char *)dom;
        o->has_version = 1;
        o->version = g->node[i]->opset > 0 ? g->node[i]->opset : 1;
        m->opset_import[m->n_opset_import++] = o;
    }
}

static Status save_model(Saver *s, const char *path, Diag *d)
{
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    WR_TRY(graph_proto(s, &m.graph, d));
    m.producer_name = "wrpnc";
    if (s->src && s->src->n_opset_import) {
        source_opsets(s, &m);
        m.has_ir_version = 1;
        /* Before IR 4 initializers had to be graph inputs too; we list them once. */
        m.ir_version = s->src->ir_version < 4 ? 4 : s->src->ir_version;
    } else
        derived_opsets(s, &m);
    size_t len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return diag_error(d, WR_ENOMEM, "out of memory");
    onnx__model_proto__pack(&m, buf);
    Status st = write_file(path, buf, len, d);
    free(buf);
    return st;
}

Status fe_onnx_save(const Graph *g, const char *path, Diag *d)
{
    Saver s = {.g = g};
    load_source(&s);
    Status st = save_model(&s, path, d);
    if (s.src)
        onnx__model_proto__free_unpacked(s.src, NULL);
    arena_free(&s.a);
    return st;
}
