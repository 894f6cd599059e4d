/*
 * GatherND and ScatterND: one loop over index tuples; the k coordinates are
 * loaded, wrapped once and bounds-checked in unrolled code, then the slice
 * is copied (memcpy) or reduced element by element. A tuple out of range
 * writes a zero slice (gather) or nothing (scatter).
 */
#include "move.h"

/* Declares int64_t off (data offset of tuple t in batch bi) and int ok. */
static void tuple_offset(Emitter *e, const NdParams *p, const char *I, const char *bi)
{
    cg_line(e, "const int64_t *tp = %s + t * %lld;", I, (long long)p->k);
    cg_line(e, "int64_t off = %s * %lld;", bi, (long long)p->dbatch);
    cg_line(e, "int ok = 1;");
    for (int j = 0; j < p->k; j++) {
        long long D = (long long)p->dim[j];
        cg_line(e, "const int64_t v%d = tp[%d] + (tp[%d] < 0 ? %lld : 0);", j, j, j, D);
        cg_line(e, "ok &= v%d >= 0 && v%d < %lld;", j, j, D);
        cg_line(e, "off += v%d * %lld;", j, (long long)p->stride[j]);
    }
}

Status cg_gathernd_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const NdParams *p = n->priv;
    if (ir_tensor_numel(n->out[0]) == 0)
        return WR_OK;
    const char *X = cg_in(e, 0), *Y = cg_out(e, 0);
    long long S = (long long)p->slice, row = S * dtype_info[n->out[0]->dtype].bytes;
    cg_line(e, "int64_t t = 0;");
    cg_open(e, "for (int64_t bi = 0; bi < %lld; bi++)", (long long)p->batch);
    cg_open(e, "for (int64_t q = 0; q < %lld; q++, t++)", (long long)p->q);
    tuple_offset(e, p, cg_in(e, 1), "bi");
    cg_open(e, "if (ok)");
    cg_line(e, "memcpy(%s + t * %lld, %s + off, %lld);", Y, S, X, row);
    cg_close_with(e, " else {");
    e->indent++;
    cg_line(e, "memset(%s + t * %lld, 0, %lld);", Y, S, row);
    cg_close(e);
    cg_close(e);
    cg_close(e);
    return WR_OK;
}

Status cg_scatternd_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const NdParams *p = n->priv;
    const char *Y = cg_out(e, 0);
    if (ir_tensor_numel(n->out[0]) == 0)
        return WR_OK;
    cg_line(e, "memcpy(%s, %s, %lld);", Y, cg_in(e, 0), (long long)ir_tensor_bytes(n->out[0]));
    if (p->q * p->slice == 0)
        return WR_OK;
    const char *U = cg_in(e, 2);
    cg_open(e, "for (int64_t t = 0; t < %lld; t++)", (long long)p->q);
    tuple_offset(e, p, cg_in(e, 1), "0");
    cg_line(e, "if (!ok) continue;");
    cg_open(e, "for (int64_t s = 0; s < %lld; s++)", (long long)p->slice);
    cg_line(e, "const int64_t u = t * %lld + s;", (long long)p->slice);
    switch (p->reduction) {
    case 1: cg_line(e, "%s[off + s] += %s[u];", Y, U); break;
    case 2: cg_line(e, "%s[off + s] *= %s[u];", Y, U); break;
    case 3: cg_line(e, "if (%s[u] > %s[off + s]) %s[off + s] = %s[u];", U, Y, Y, U); break;
    case 4: cg_line(e, "if (%s[u] < %s[off + s]) %s[off + s] = %s[u];", U, Y, Y, U); break;
    default: cg_line(e, "%s[off + s] = %s[u];", Y, U); break;
    }
    cg_close(e);
    cg_close(e);
    return WR_OK;
}
