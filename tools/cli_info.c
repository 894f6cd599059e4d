/*
 * cli_info.c: `wrpnc info`: what the middle end made of a model, one row per node:
 * op, output type (dtype, or the codes' QType and layout), output bytes, workspace
 * offset, MACs, and for every Conv / Gemm / MatMul whether it runs on integer kernels
 * (kernel family, widths, the layout it reads) or in float, and why; then totals
 * (parameters, constant bytes, MACs, BOPs), the costliest layers, and the workspace
 * with its peak: the node where the most bytes are live and which tensors they are.
 * Names are printed whole, last on each row. --json writes the same as one object.
 */
#include "cli.h"
#include "opparams.h"
#include "quant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Peak {
    int node;        /* where the live bytes peak */
    int64_t bytes;
    int *roots;      /* tensor ids live there, largest first */
    int nroots;
} Peak;

static int root_of(const Graph *g, int id)
{
    while (g->tensor[id]->alias_of >= 0)
        id = g->tensor[id]->alias_of;
    return id;
}

/* Last node reading each planned storage (indexed by root id), -1 if none. */
static int *last_reads(const Graph *g)
{
    int *end = malloc(sizeof(int) * ((size_t)g->ntensor + 1));
    WR_ASSERT(end);
    for (int i = 0; i < g->ntensor; i++)
        end[i] = -1;
    for (int i = 0; i < g->nnode; i++)
        for (int k = 0; k < g->node[i]->nin; k++)
            if (g->node[i]->in[k]) {
                int r = root_of(g, g->node[i]->in[k]->id);
                end[r] = end[r] > i ? end[r] : i;
            }
    return end;
}

static bool live_at(const Graph *g, const int *end, int r, int i)
{
    const Tensor *t = g->tensor[r];
    if (t->offset < 0 || t->alias_of >= 0 || !t->producer)
        return false;
    int b = t->producer->id, e = end[r] > b ? end[r] : b;
    return b <= i && i <= e;
}

static Peak peak_of(const Graph *g)
{
    Peak p = {-1, 0, NULL, 0};
    int *end = last_reads(g);
    for (int i = 0; i < g->nnode; i++) {
        int64_t live = 0;
        for (int r = 0; r < g->ntensor; r++)
            live += live_at(g, end, r, i) ? ir_tensor_bytes(g->tensor[r]) : 0;
        if (live > p.bytes)
            p.bytes = live, p.node = i;
    }
    p.roots = malloc(sizeof(int) * ((size_t)g->ntensor + 1));
    WR_ASSERT(p.roots);
    for (int r = 0; p.node >= 0 && r < g->ntensor; r++)
        if (live_at(g, end, r, p.node)) {
            int k = p.nroots++;
            for (; k > 0 && ir_tensor_bytes(g->tensor[p.roots[k - 1]]) <
                                ir_tensor_bytes(g->tensor[r]); k--)
                p.roots[k] = p.roots[k - 1];
            p.roots[k] = r;
        }
    free(end);
    return p;
}

/* "u2 s 0.333 planes/1", or the dtype of plain values. */
static const char *type_str(const Tensor *t, char *buf, size_t n)
{
    if (!t->q)
        return snprintf(buf, n, "%s", dtype_info[t->dtype].name), buf;
    qtype_str(t->q, buf, n);
    size_t k = strlen(buf);
    snprintf(buf + k, n - k, " %s/%lld", layout_info[t->layout].name, (long long)t->group);
    return buf;
}

/* ONNX Runtime's QOperator layers that stayed on their plain integer loops. */
static bool is_qop(const Node *n) { return op_info[n->op].flags & OPF_QLINEAR; }

static bool is_layer(const Node *n)
{
    return n->op == OP_QCONV || n->op == OP_CONV || n->op == OP_GEMM || n->op == OP_MATMUL ||
           n->op == OP_MATMUL_NBITS || is_qop(n);
}

/* "integer bitserial a2s x w2, reads planes/1", "integer qlinear loops: why" or
 * "float: why". */
static const char *layer_str(const Node *n, char *buf, size_t size)
{
    if (n->op == OP_QCONV) {
        const QConvParams *p = n->priv;
        const Tensor *x = n->in[0];
        snprintf(buf, size, "integer %s a%d%s x w%d, reads %s/%lld", qkernel_info[p->kind].name,
                 p->abits, x->q->bipolar ? "b" : p->asigned ? "s" : "", p->wbits,
                 layout_info[x->layout].name, (long long)x->group);
    } else if (n->op == OP_MATMUL_NBITS) {
        const MatMulNBitsParams *p = n->priv;
        if (p->int8)
            snprintf(buf, size, "integer int8 compute x w%lld, blocks of %lld", (long long)p->bits,
                     (long long)p->block);
        else
            snprintf(buf, size, "float: %s", p->why_fp32);
    } else
        snprintf(buf, size, "%s%s%s", is_qop(n) ? "integer qlinear loops" : "float",
                 n->why_float ? ": " : "", n->why_float ? n->why_float : "");
    return buf;
}

static int64_t node_bops(const Node *n)
{
    const QConvParams *p = n->op == OP_QCONV ? n->priv : NULL;
    int64_t m = cost_node_macs(n);
    return p ? m * p->abits * p->wbits : m * 32 * 32;
}

static void print_rows(const Graph *g)
{
    printf("%4s  %-14s %-26s %-16s %12s %10s %14s  %-44s %s\n", "id", "op", "output type",
           "shape", "out bytes", "ws offset", "MACs", "layer", "name");
    for (int i = 0; i < g->nnode; i++) {
        const Node *n = g->node[i];
        const Tensor *y = n->nout > 0 ? n->out[0] : NULL;
        char t[96] = "-", s[96] = "-", l[160] = "";
        if (y) {
            type_str(y, t, sizeof t);
            ir_shape_str(y, s, sizeof s);
        }
        if (is_layer(n))
            layer_str(n, l, sizeof l);
        printf("%4d  %-14s %-26s %-16s %12lld %10lld %14lld  %-44s %s\n", i, op_name(n), t, s,
               y ? (long long)ir_tensor_bytes(y) : 0LL, y ? (long long)y->offset : -1LL,
               (long long)cost_node_macs(n), l, n->name);
    }
}

/* Node ids of the k costliest layers by MACs, into top; returns how many. */
static int top_layers(const Graph *g, int *top, int k)
{
    int n = 0;
    for (int i = 0; i < g->nnode; i++) {
        int64_t m = cost_node_macs(g->node[i]);
        if (!is_layer(g->node[i]) || m <= 0)
            continue;
        int j = n < k ? n++ : k;
        if (j == k && m <= cost_node_macs(g->node[top[k - 1]]))
            continue;
        for (j = j == k ? k - 1 : j; j > 0 && cost_node_macs(g->node[top[j - 1]]) < m; j--)
            top[j] = top[j - 1];
        top[j] = i;
    }
    return n;
}

typedef struct Totals {
    int64_t params, macs, bops, consts;
    int integer, floating;
} Totals;

static Totals totals_of(const Graph *g)
{
    Totals t = {0};
    for (int i = 0; i < g->nnode; i++) {
        const Node *n = g->node[i];
        t.params += cost_node_params(n);
        t.macs += cost_node_macs(n);
        t.bops += node_bops(n);
        t.integer += n->op == OP_QCONV;
        t.floating += is_layer(n) && n->op != OP_QCONV;
    }
    t.consts = cg_const_bytes(g);
    return t;
}

static void print_text(const CliOptions *o, const Graph *g)
{
    Totals t = totals_of(g);
    Peak p = peak_of(g);
    int top[5], nt = top_layers(g, top, 5);
    printf("model %s: %d inputs, %d outputs, %d nodes, opset %lld\n", o->model, g->ninput,
           g->noutput, g->nnode, (long long)g->opset);
    print_rows(g);
    printf("layers: %d integer, %d float\n", t.integer, t.floating);
    printf("total: %lld parameters, %lld constant bytes, %lld MACs, %lld BOPs\n",
           (long long)t.params, (long long)t.consts, (long long)t.macs, (long long)t.bops);
    for (int i = 0; i < nt; i++) {
        const Node *n = g->node[top[i]];
        printf("  top %d: node %d (%s) %lld MACs, %.1f %% of all: %s\n", i + 1, n->id,
               op_name(n), (long long)cost_node_macs(n),
               t.macs ? 100.0 * (double)cost_node_macs(n) / (double)t.macs : 0.0, n->name);
    }
    printf("workspace: %lld bytes\n", (long long)g->ws_bytes);
    if (p.node >= 0)
        printf("peak: %lld bytes live at node %d (%s), in %d tensors:\n", (long long)p.bytes,
               p.node, g->node[p.node]->name, p.nroots);
    for (int i = 0; i < p.nroots; i++) {
        const Tensor *x = g->tensor[p.roots[i]];
        char ty[96];
        printf("  %12lld  %-26s %s\n", (long long)ir_tensor_bytes(x), type_str(x, ty, sizeof ty),
               x->name);
    }
    free(p.roots);
}

/* ---- --json ---- */

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json_tensor(const Tensor *t)
{
    printf("{\"name\": ");
    json_str(t->name);
    printf(", \"dtype\": \"%s\", \"shape\": [", dtype_info[t->dtype].name);
    for (int k = 0; k < t->ndim; k++)
        printf("%s%lld", k ? ", " : "", (long long)t->dim[k]);
    printf("], \"bytes\": %lld, \"ws_offset\": %lld", (long long)ir_tensor_bytes(t),
           (long long)t->offset);
    if (t->q)
        printf(", \"codes\": {\"bits\": %d, \"signed\": %s, \"bipolar\": %s, \"lo\": %d, "
               "\"hi\": %d, \"zero_point\": %d, \"scales\": %lld, \"layout\": \"%s\", "
               "\"group\": %lld}", t->q->bits, t->q->is_signed ? "true" : "false",
               t->q->bipolar ? "true" : "false", t->q->lo, t->q->hi, t->q->zp,
               (long long)t->q->nscale, layout_info[t->layout].name, (long long)t->group);
    printf("}");
}

static void json_node(const Node *n)
{
    char l[160];
    printf("    {\"id\": %d, \"op\": \"%s\", \"name\": ", n->id, op_name(n));
    json_str(n->name);
    printf(", \"macs\": %lld, \"params\": %lld, \"output\": ", (long long)cost_node_macs(n),
           (long long)cost_node_params(n));
    if (n->nout > 0 && n->out[0])
        json_tensor(n->out[0]);
    else
        printf("null");
    if (is_layer(n)) {
        printf(", \"layer\": ");
        json_str(layer_str(n, l, sizeof l));
        printf(", \"integer\": %s", n->op == OP_QCONV || is_qop(n) ? "true" : "false");
        if (n->op == OP_QCONV)
            printf(", \"kernel\": \"%s\"", qkernel_info[((const QConvParams *)n->priv)->kind].name);
        if (n->why_float) {
            printf(", \"%s\": ", is_qop(n) ? "why_qlinear" : "why_float");
            json_str(n->why_float);
        }
    }
    printf("}");
}

static void print_json(const CliOptions *o, const Graph *g)
{
    Totals t = totals_of(g);
    Peak p = peak_of(g);
    printf("{\"model\": ");
    json_str(o->model);
    printf(",\n  \"nodes\": [\n");
    for (int i = 0; i < g->nnode; i++) {
        json_node(g->node[i]);
        printf(i + 1 < g->nnode ? ",\n" : "\n");
    }
    printf("  ],\n  \"layers\": {\"integer\": %d, \"float\": %d},\n", t.integer, t.floating);
    printf("  \"totals\": {\"params\": %lld, \"constant_bytes\": %lld, \"macs\": %lld, "
           "\"bops\": %lld},\n", (long long)t.params, (long long)t.consts, (long long)t.macs,
           (long long)t.bops);
    printf("  \"workspace\": {\"bytes\": %lld, \"peak_node\": %d, \"peak_bytes\": %lld, "
           "\"peak_tensors\": [", (long long)g->ws_bytes, p.node, (long long)p.bytes);
    for (int i = 0; i < p.nroots; i++) {
        printf(i ? ", " : "");
        json_tensor(g->tensor[p.roots[i]]);
    }
    printf("]}\n}\n");
    free(p.roots);
}

int cli_cmd_info(CliOptions *o)
{
    Diag d = {0};
    Graph *g;
    if (cli_load(o, &g, &d) != WR_OK) {
        fprintf(stderr, "%s: error: %s\n", o->model, d.msg);
        return 1;
    }
    if (o->json)
        print_json(o, g);
    else
        print_text(o, g);
    ir_graph_free(g);
    return 0;
}
