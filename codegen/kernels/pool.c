/*
 * Pools: loops over (N*C, oD, oH, oW) with the window taps innermost; all
 * geometry is constant. Taps in the padding are skipped; AveragePool
 * divides by the taps inside the input (or inside the padded input with
 * count_include_pad); MaxPool can also write Indices.
 */
#include "codegen.h"
#include "opparams.h"

static const char *lowest(DType t)
{
    return t == DT_U8 ? "0" : t == DT_I8 ? "-128" : "-INFINITY";
}

/* Opens the tap loop of spatial dim i (variable names from v: "d", "h", "w"). */
static void open_tap(Emitter *e, const Spatial *s, int i, char v)
{
    cg_open(e, "for (int64_t k%c = 0; k%c < %lld; k%c++)", v, v, (long long)s->k[i], v);
    cg_line(e, "const int64_t i%c = o%c * %lld - %lld + k%c * %lld;", v, v,
            (long long)s->stride[i], (long long)s->pad0[i], v, (long long)s->dil[i]);
    cg_line(e, "const int pin%c = i%c < %lld;", v, v, (long long)(s->in[i] + s->pad1[i]));
    cg_line(e, "const int ok%c = i%c >= 0 && i%c < %lld;", v, v, v, (long long)s->in[i]);
}

static void open_outputs(Emitter *e, const PoolParams *p)
{
    const Spatial *s = &p->sp;
    cg_line(e, "int64_t j = 0;");
    cg_open(e, "for (int64_t c = 0; c < %lld; c++)", (long long)p->NC);
    cg_line(e, "const %s *x = %s + c * %lld;", cg_ctype(e->node->in[0]->dtype), cg_in(e, 0),
            (long long)(s->in[0] * s->in[1] * s->in[2]));
    cg_open(e, "for (int64_t od = 0; od < %lld; od++)", (long long)s->out[0]);
    cg_open(e, "for (int64_t oh = 0; oh < %lld; oh++)", (long long)s->out[1]);
    cg_open(e, "for (int64_t ow = 0; ow < %lld; ow++, j++)", (long long)s->out[2]);
}

/* The update of one valid tap at plane index idx. */
static void tap_body(Emitter *e, const Node *n, const PoolParams *p)
{
    if (n->op == OP_MAX_POOL || n->op == OP_GLOBAL_MAX_POOL)
        cg_line(e, "if (x[idx] > acc) { acc = x[idx]; arg = idx; }");
    else if (p->p == 1)
        cg_line(e, "acc += fabs((double)x[idx]);");
    else if (p->p == 2)
        cg_line(e, "acc += (double)x[idx] * (double)x[idx];");
    else if (p->p > 2)
        cg_line(e, "acc += pow(fabs((double)x[idx]), %lld.0);", (long long)p->p);
    else
        cg_line(e, "acc += (double)x[idx];");
    cg_line(e, "cnt++;");
}

static void finish(Emitter *e, const Node *n, const PoolParams *p)
{
    const Spatial *s = &p->sp;
    const char *Y = cg_out(e, 0), *ct = cg_ctype(n->out[0]->dtype);
    if (n->op == OP_MAX_POOL || n->op == OP_GLOBAL_MAX_POOL) {
        cg_line(e, "%s[j] = acc;", Y);
        if (n->nout > 1 && n->out[1]) {
            if (p->storage_order) /* column-major spatial index: (w, h, d) */
                cg_line(e, "arg = (arg %% %lld * %lld + arg / %lld %% %lld) * %lld + arg / %lld;",
                        (long long)s->in[2], (long long)s->in[1], (long long)s->in[2],
                        (long long)s->in[1], (long long)s->in[0],
                        (long long)(s->in[1] * s->in[2]));
            cg_line(e, "%s[j] = c * %lld + arg;", cg_out(e, 1),
                    (long long)(s->in[0] * s->in[1] * s->in[2]));
        }
        cg_line(e, "(void)cnt; (void)pc; (void)arg;");
    } else if (p->p > 2)
        cg_line(e, "%s[j] = (%s)pow(acc, 1.0 / %lld.0);", Y, ct, (long long)p->p);
    else if (p->p == 2)
        cg_line(e, "%s[j] = (%s)sqrt(acc);", Y, ct);
    else if (p->p == 1)
        cg_line(e, "%s[j] = (%s)acc;", Y, ct);
    else
        cg_line(e, "%s[j] = (%s)(acc / (double)%s);", Y, ct, p->count_include_pad ? "pc" : "cnt");
    if (n->op != OP_MAX_POOL && n->op != OP_GLOBAL_MAX_POOL)
        cg_line(e, "(void)cnt; (void)pc;");
}

Status cg_pool_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const PoolParams *p = n->priv;
    const Spatial *s = &p->sp;
    bool max = n->op == OP_MAX_POOL || n->op == OP_GLOBAL_MAX_POOL;
    open_outputs(e, p);
    if (max)
        cg_line(e, "%s acc = %s;", cg_ctype(n->out[0]->dtype), lowest(n->out[0]->dtype));
    else
        cg_line(e, "double acc = 0.0;");
    cg_line(e, "int64_t cnt = 0, pc = 0, arg = 0;");
    open_tap(e, s, 0, 'd');
    open_tap(e, s, 1, 'h');
    open_tap(e, s, 2, 'w');
    cg_line(e, "pc += pind && pinh && pinw;");
    cg_open(e, "if (okd && okh && okw)");
    cg_line(e, "const int64_t idx = (id * %lld + ih) * %lld + iw;", (long long)s->in[1],
            (long long)s->in[2]);
    tap_body(e, n, p);
    for (int i = 0; i < 4; i++)
        cg_close(e);
    finish(e, n, p);
    for (int i = 0; i < 4; i++)
        cg_close(e);
    return WR_OK;
}
