/*
 * interp.c: the reference interpreter. Runs every node's plain-C reference
 * eval in order, on heap buffers. It is the oracle the tests hold generated
 * kernels to, and `wrpnc run --engine interp` exposes it.
 */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

static void **values_new(Graph *g)
{
    void **v = calloc((size_t)g->ntensor, sizeof *v);
    if (!v)
        wr_die(__FILE__, __LINE__, "out of memory");
    return v;
}

static void values_free(Graph *g, void **v, bool *own)
{
    for (int i = 0; i < g->ntensor; i++)
        if (own[i])
            free(v[i]);
    free(v);
    free(own);
}

static Status run_node(const Node *n, void **val, bool *own, Diag *d)
{
    void *in[64], *out[64];
    if (n->nin > 64 || n->nout > 64)
        return diag_node(d, WR_EUNSUPPORTED, n, "too many inputs or outputs");
    for (int i = 0; i < n->nin; i++)
        in[i] = n->in[i] ? val[n->in[i]->id] : NULL;
    for (int i = 0; i < n->nout; i++) {
        out[i] = NULL;
        if (!n->out[i])
            continue;
        int64_t b = ir_tensor_bytes(n->out[i]);
        out[i] = calloc(1, (size_t)(b ? b : 1));
        if (!out[i])
            return diag_node(d, WR_ENOMEM, n, "out of memory (%lld bytes)", (long long)b);
        val[n->out[i]->id] = out[i];
        own[n->out[i]->id] = true;
    }
    return op_info[n->op].eval(n, in, out, d);
}

Status ir_interp_run(Graph *g, void *const *inputs, void *const *outputs, Diag *d)
{
    void **val = values_new(g);
    bool *own = calloc((size_t)g->ntensor, sizeof *own);
    if (!own)
        wr_die(__FILE__, __LINE__, "out of memory");
    for (int i = 0; i < g->ntensor; i++)
        val[i] = g->tensor[i]->data;
    for (int i = 0; i < g->ninput; i++)
        val[g->input[i]->id] = inputs[i];
    Status s = WR_OK;
    for (int i = 0; i < g->nnode && s == WR_OK; i++)
        s = run_node(g->node[i], val, own, d);
    for (int i = 0; i < g->noutput && s == WR_OK; i++) {
        const Tensor *t = g->output[i];
        if (!val[t->id])
            s = diag_error(d, WR_EVERIFY, "output '%s' was never computed", t->name);
        else
            memcpy(outputs[i], val[t->id], (size_t)ir_tensor_bytes(t));
    }
    values_free(g, val, own);
    return s;
}
