/*
 * Pools: loops over (N*C, oD, oH, oW) with the window taps innermost; all
 * geometry is constant. Windows wholly inside the input (the interior,
 * known per dim at compile time) take a tap loop without bounds checks and
 * a constant divisor; border windows skip taps in the padding. AveragePool
 * divides by the taps inside the input (or inside the padded input with
 * count_include_pad); MaxPool can also write Indices.
 */
#include "codegen.h"
#include "opparams.h"

typedef struct PoolKind {
    bool max, indices, lp, include_pad;
} PoolKind;

static const char *lowest(DType t)
{
    /* INFINITY is a float: cast for double accumulators (-Wdouble-promotion) */
    return t == DT_U8 ? "0" : t == DT_I8 ? "-128" : t == DT_F64 ? "-(double)INFINITY" : "-INFINITY";
}

/* Output positions [lo, hi) of dim i whose windows lie inside the input. */
static void interior(const Spatial *s, int i, int64_t *lo, int64_t *hi)
{
    int64_t ext = (s->k[i] - 1) * s->dil[i];
    *lo = (s->pad0[i] + s->stride[i] - 1) / s->stride[i];
    int64_t last = s->in[i] - 1 - ext + s->pad0[i]; /* last window start, in padded coords */
    *hi = last < 0 ? 0 : last / s->stride[i] + 1;
    if (*hi > s->out[i])
        *hi = s->out[i];
    if (*lo > *hi)
        *lo = *hi;
}

/* Opens the tap loop of spatial dim i (letter v); checked adds bounds flags. */
static void open_tap(Emitter *e, const Spatial *s, int i, char v, bool checked)
{
    cg_open(e, "for (int64_t k%c = 0; k%c < %lld; k%c++)", v, v, (long long)s->k[i], v);
    cg_line(e, "const int64_t i%c = o%c * %lld - %lld + k%c * %lld;", v, v,
            (long long)s->stride[i], (long long)s->pad0[i], v, (long long)s->dil[i]);
    if (checked)
        cg_line(e, "if (i%c < 0 || i%c >= %lld) continue;", v, v, (long long)s->in[i]);
}

/* The update of one tap at plane index idx. */
static void tap_body(Emitter *e, const PoolKind *k, int64_t p)
{
    if (k->max)
        cg_line(e, "if (x[idx] > acc) { acc = x[idx];%s }", k->indices ? " arg = idx;" : "");
    else if (p == 1)
        cg_line(e, "acc += fabs((double)x[idx]);");
    else if (p == 2)
        cg_line(e, "acc += (double)x[idx] * (double)x[idx];");
    else if (p > 2)
        cg_line(e, "acc += pow(fabs((double)x[idx]), %lld.0);", (long long)p);
    else
        cg_line(e, "acc += (double)x[idx];");
}

/* One window: the tap loops, checked or not. */
static void window(Emitter *e, const PoolParams *p, const PoolKind *k, bool checked)
{
    const Spatial *s = &p->sp;
    bool avg = !k->max && !k->lp;
    static const char v[3] = {'d', 'h', 'w'};
    for (int i = 0; i < 3; i++)
        open_tap(e, s, i, v[i], checked);
    cg_line(e, "const int64_t idx = (id * %lld + ih) * %lld + iw;", (long long)s->in[1],
            (long long)s->in[2]);
    tap_body(e, k, p->p);
    if (checked && avg && !k->include_pad)
        cg_line(e, "cnt++;");
    for (int i = 0; i < 3; i++)
        cg_close(e);
}

/* Taps of the padded input that window o covers along dim i (count_include_pad). */
static void padded_count(Emitter *e, const Spatial *s, int i, char v)
{
    cg_line(e, "int64_t n%c = 0;", v);
    cg_line(e, "for (int64_t k%c = 0; k%c < %lld; k%c++) n%c += o%c * %lld + k%c * %lld < %lld;",
            v, v, (long long)s->k[i], v, v, v, (long long)s->stride[i], v, (long long)s->dil[i],
            (long long)(s->in[i] + s->pad0[i] + s->pad1[i]));
}

static void store(Emitter *e, const Node *n, const PoolParams *p, const PoolKind *k, bool checked)
{
    const Spatial *s = &p->sp;
    const char *Y = cg_out(e, 0), *ct = cg_ctype(n->out[0]->dtype);
    long long ksz = (long long)(s->k[0] * s->k[1] * s->k[2]);
    if (k->max)
        cg_line(e, "%s[j] = acc;", Y);
    else if (k->lp && p->p <= 2)
        cg_line(e, "%s[j] = (%s)%s;", Y, ct, p->p == 1 ? "acc" : "sqrt(acc)");
    else if (k->lp)
        cg_line(e, "%s[j] = (%s)pow(acc, 1.0 / %lld.0);", Y, ct, (long long)p->p);
    else if (!checked)
        cg_line(e, "%s[j] = (%s)(acc / %lld.0);", Y, ct, ksz);
    else if (k->include_pad) {
        padded_count(e, s, 0, 'd');
        padded_count(e, s, 1, 'h');
        padded_count(e, s, 2, 'w');
        cg_line(e, "%s[j] = (%s)(acc / (double)(nd * nh * nw));", Y, ct);
    } else
        cg_line(e, "%s[j] = (%s)(acc / (double)cnt);", Y, ct);
}

/* Loops over planes and output positions; Indices when asked. */
static void body(Emitter *e, const Node *n, const PoolParams *p, const PoolKind *k, bool checked)
{
    const Spatial *s = &p->sp;
    if (k->max)
        cg_line(e, "%s acc = %s;", cg_ctype(n->out[0]->dtype), lowest(n->out[0]->dtype));
    else
        cg_line(e, "double acc = 0.0;");
    if (k->indices)
        cg_line(e, "int64_t arg = 0;");
    if (checked && !k->max && !k->lp && !k->include_pad)
        cg_line(e, "int64_t cnt = 0;");
    window(e, p, k, checked);
    store(e, n, p, k, checked);
    if (!k->indices)
        return;
    if (p->storage_order) /* column-major spatial index: (w, h, d) */
        cg_line(e, "arg = (arg %% %lld * %lld + arg / %lld %% %lld) * %lld + arg / %lld;",
                (long long)s->in[2], (long long)s->in[1], (long long)s->in[2],
                (long long)s->in[1], (long long)s->in[0], (long long)(s->in[1] * s->in[2]));
    cg_line(e, "%s[j] = c * %lld + arg;", cg_out(e, 1),
            (long long)(s->in[0] * s->in[1] * s->in[2]));
}

Status cg_pool_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const PoolParams *p = n->priv;
    const Spatial *s = &p->sp;
    PoolKind k = {n->op == OP_MAX_POOL || n->op == OP_GLOBAL_MAX_POOL,
                  n->nout > 1 && n->out[1], p->p > 0, p->count_include_pad != 0};
    int64_t lo[3], hi[3];
    for (int i = 0; i < 3; i++)
        interior(s, i, &lo[i], &hi[i]);
    cg_line(e, "int64_t j = 0;");
    cg_open(e, "for (int64_t c = 0; c < %lld; c++)", (long long)p->NC);
    cg_line(e, "const %s *x = %s + c * %lld;", cg_ctype(n->in[0]->dtype), cg_in(e, 0),
            (long long)(s->in[0] * s->in[1] * s->in[2]));
    cg_open(e, "for (int64_t od = 0; od < %lld; od++)", (long long)s->out[0]);
    cg_open(e, "for (int64_t oh = 0; oh < %lld; oh++)", (long long)s->out[1]);
    cg_open(e, "for (int64_t ow = 0; ow < %lld; ow++, j++)", (long long)s->out[2]);
    cg_open(e, "if (od >= %lld && od < %lld && oh >= %lld && oh < %lld && ow >= %lld && "
               "ow < %lld)", (long long)lo[0], (long long)hi[0], (long long)lo[1],
            (long long)hi[1], (long long)lo[2], (long long)hi[2]);
    body(e, n, p, &k, false);
    cg_close_with(e, " else {");
    e->indent++;
    body(e, n, p, &k, true);
    cg_close(e);
    for (int i = 0; i < 4; i++)
        cg_close(e);
    return WR_OK;
}
