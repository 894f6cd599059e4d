/*
 * copyplan.c: emits the strided copies of data-movement ops (MoveParams in
 * ir/opparams.h) as nested loops with compile-time counts and strides. Plans
 * are already simplified (contiguous dims merged), so a contiguous innermost
 * run becomes one memcpy per outer index, and a fully contiguous plan one
 * memcpy. Outer loops follow the output order: writes are sequential.
 */
#include "move.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MEMCPY_MIN = 8 }; /* shorter contiguous runs are copied by a loop */

const char *cg_index_type(int64_t numel)
{
    return numel > INT32_MAX ? "int64_t" : "int32_t";
}

/* "OFF + i0 * S0 - i1 * S1 ..." over dims [0, nd) into buf (zero terms left out). */
static void index_expr(char *buf, size_t n, int64_t off, const int64_t *stride, int nd)
{
    size_t k = 0;
    buf[0] = 0;
    if (off)
        k += (size_t)snprintf(buf, n, "%lld", (long long)off);
    for (int i = 0; i < nd && k < n; i++) {
        long long s = (long long)stride[i];
        const char *op = s < 0 ? " - " : k ? " + " : "";
        if (s == 0)
            continue;
        if (s < 0 && !k)
            op = "-";
        s = s < 0 ? -s : s;
        if (s == 1)
            k += (size_t)snprintf(buf + k, n - k, "%si%d", op, i);
        else
            k += (size_t)snprintf(buf + k, n - k, "%si%d * %lld", op, i, s);
    }
    if (!k)
        snprintf(buf, n, "0");
}

static void emit_plan(Emitter *e, const Node *n, const CopyPlan *p)
{
    const Tensor *x = n->in[p->src], *y = n->out[p->dst];
    int64_t big = ir_tensor_numel(x) > ir_tensor_numel(y) ? ir_tensor_numel(x) : ir_tensor_numel(y);
    const char *it = cg_index_type(big);
    const char *X = cg_in(e, p->src), *Y = cg_out(e, p->dst);
    int last = p->ndim - 1;
    bool run = p->sstride[last] == 1 && p->dstride[last] == 1 && p->count[last] >= MEMCPY_MIN;
    int nloop = run ? last : p->ndim;
    for (int k = 0; k < nloop; k++)
        cg_open(e, "for (%s i%d = 0; i%d < %lld; i%d++)", it, k, k, (long long)p->count[k], k);
    char si[512], di[512];
    index_expr(si, sizeof si, p->soff, p->sstride, nloop);
    index_expr(di, sizeof di, p->doff, p->dstride, nloop);
    if (run)
        cg_line(e, "memcpy(%s + %s, %s + %s, %lld);", Y, di, X, si,
                (long long)(p->count[last] * dtype_info[y->dtype].bytes));
    else
        cg_line(e, "%s[%s] = %s[%s];", Y, di, X, si);
    for (int k = 0; k < nloop; k++)
        cg_close(e);
}

void cg_move_fill(Emitter *e, const Node *n, int o, const void *value)
{
    const Tensor *y = n->out[o];
    int64_t N = ir_tensor_numel(y);
    int es = dtype_info[y->dtype].bytes;
    if (N == 0)
        return;
    bool zero = true;
    for (int i = 0; i < es; i++)
        zero = zero && ((const unsigned char *)value)[i] == 0;
    const char *Y = cg_out(e, o);
    if (zero) {
        cg_line(e, "memset(%s, 0, %lld);", Y, (long long)(N * es));
        return;
    }
    Buf lit = {0};
    cg_literal(&lit, y->dtype, value, 0);
    const char *it = cg_index_type(N);
    cg_open(e, "for (%s i = 0; i < %lld; i++)", it, (long long)N);
    cg_line(e, "%s[i] = %s;", Y, lit.p);
    cg_close(e);
    buf_free(&lit);
}

Status cg_move_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    cg_move_emit_params(e, n, n->priv);
    return WR_OK;
}

void cg_move_emit_params(Emitter *e, const Node *n, const MoveParams *p)
{
    for (int o = 0; o < n->nout; o++)
        if (n->out[o] && p->fill[o])
            cg_move_fill(e, n, o, p->fill[o]);
    for (int i = 0; i < p->nplan; i++)
        if (n->out[p->plan[i].dst] && move_plan_numel(&p->plan[i]) > 0)
            emit_plan(e, n, &p->plan[i]);
}

Status cg_value_emit(Emitter *e, const Node *n, Diag *d)
{
    void *in[64] = {0}, *out[64] = {0};
    Status s = WR_OK;
    WR_ASSERT(n->nin <= 64 && n->nout <= 64);
    for (int i = 0; i < n->nin; i++)
        in[i] = n->in[i] ? n->in[i]->data : NULL;
    for (int o = 0; o < n->nout && s == WR_OK; o++)
        if (n->out[o] && !(out[o] = calloc(1, (size_t)ir_tensor_bytes(n->out[o]) + 1)))
            s = diag_node(d, WR_ENOMEM, n, "out of memory");
    if (s == WR_OK)
        s = op_info[n->op].eval(n, in, out, d);
    for (int o = 0; o < n->nout && s == WR_OK; o++) {
        const Tensor *y = n->out[o];
        if (!y || ir_tensor_numel(y) == 0)
            continue;
        const char *c = cg_const_array(e, "v", y->dtype, out[o], ir_tensor_numel(y));
        cg_line(e, "memcpy(%s, %s, %lld);", cg_out(e, o), c, (long long)ir_tensor_bytes(y));
    }
    for (int o = 0; o < n->nout; o++)
        free(out[o]);
    return s;
}
