/*
 * Reduce family: one table-driven emitter. Kept dims are the outer loops;
 * each output element accumulates its reduced dims in a double (LogSumExp
 * scans for the max first), with every stride a compile-time constant.
 */
#include "codegen.h"
#include "opparams.h"

#include <string.h>

/* Per op: start value, update of acc with x, final value (of acc, cnt, m). */
typedef struct ReduceRule {
    int op;
    const char *init, *update, *final;
} ReduceRule;

static const ReduceRule rules[] = {
    /* op                    init         update                        final */
    {OP_REDUCE_SUM,         "0.0",       "acc += x;",                  "acc"},
    {OP_REDUCE_MEAN,        "0.0",       "acc += x;",                  "acc / %lld.0"},
    /* INFINITY is a float: cast, or -Wdouble-promotion warns */
    {OP_REDUCE_MAX,         "-(double)INFINITY", "acc = x > acc ? x : acc;", "acc"},
    {OP_REDUCE_MIN,         "(double)INFINITY",  "acc = x < acc ? x : acc;", "acc"},
    {OP_REDUCE_PROD,        "1.0",       "acc *= x;",                  "acc"},
    {OP_REDUCE_L1,          "0.0",       "acc += fabs(x);",            "acc"},
    {OP_REDUCE_L2,          "0.0",       "acc += x * x;",              "sqrt(acc)"},
    {OP_REDUCE_SUM_SQUARE,  "0.0",       "acc += x * x;",              "acc"},
    {OP_REDUCE_LOG_SUM,     "0.0",       "acc += x;",                  "log(acc)"},
    {OP_REDUCE_LOG_SUM_EXP, "0.0",       "acc += exp(x - m);",         "m + log(acc)"},
};

static const ReduceRule *rule_of(int op)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i].op == op)
            return &rules[i];
    WR_UNREACHABLE();
}

/* Opens loops over the dims where red == want; returns the index expression. */
static char *open_loops(Emitter *e, const ReduceParams *p, bool want, const char *v, char *buf,
                        size_t n)
{
    int64_t stride = 1, strides[IR_MAX_DIMS];
    for (int k = p->ndim - 1; k >= 0; k--) {
        strides[k] = stride;
        stride *= p->dim[k];
    }
    size_t len = (size_t)snprintf(buf, n, "0");
    for (int k = 0; k < p->ndim; k++) {
        if (p->red[k] != want)
            continue;
        cg_open(e, "for (int64_t %s%d = 0; %s%d < %lld; %s%d++)", v, k, v, k,
                (long long)p->dim[k], v, k);
        if (len < n)
            len += (size_t)snprintf(buf + len, n - len, " + %s%d * %lld", v, k,
                                    (long long)strides[k]);
    }
    return buf;
}

static int count_dims(const ReduceParams *p, bool want)
{
    int c = 0;
    for (int k = 0; k < p->ndim; k++)
        c += p->red[k] == want;
    return c;
}

static void close_n(Emitter *e, int k)
{
    while (k-- > 0)
        cg_close(e);
}

/* Integer outputs cannot hold the infinities of empty max / min scans. */
static const char *init_of(const ReduceRule *r, DType t)
{
    if (dtype_is_float(t) || (r->op != OP_REDUCE_MAX && r->op != OP_REDUCE_MIN))
        return r->init;
    if (t == DT_BOOL || t == DT_U8)
        return r->op == OP_REDUCE_MAX ? "0.0" : (t == DT_BOOL ? "1.0" : "255.0");
    return r->op == OP_REDUCE_MAX ? "-9.2233720368547758e18" : "9.2233720368547758e18";
}

Status cg_reduce_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const ReduceParams *p = n->priv;
    const ReduceRule *r = rule_of(n->op);
    DType t = n->out[0]->dtype;
    const char *X = cg_in(e, 0), *Y = cg_out(e, 0), *ct = cg_ctype(t);
    if (p->noop) {
        cg_line(e, "memcpy(%s, %s, %lld);", Y, X, (long long)ir_tensor_bytes(n->out[0]));
        return WR_OK;
    }
    char ob[512], ib[512];
    cg_line(e, "int64_t o = 0;");
    int nk = count_dims(p, false), nr = count_dims(p, true);
    open_loops(e, p, false, "i", ob, sizeof ob);
    cg_line(e, "const %s *xb = %s + (%s);", ct, X, ob);
    cg_line(e, "double acc = %s;", init_of(r, t));
    if (n->op == OP_REDUCE_LOG_SUM_EXP) {
        cg_line(e, "double m = -(double)INFINITY;");
        open_loops(e, p, true, "r", ib, sizeof ib);
        cg_line(e, "const double x = (double)xb[%s];", ib);
        cg_line(e, "m = x > m ? x : m;");
        close_n(e, nr);
    }
    open_loops(e, p, true, "r", ib, sizeof ib);
    cg_line(e, "const double x = (double)xb[%s];", ib);
    cg_line(e, "%s", r->update);
    close_n(e, nr);
    char fin[64];
    snprintf(fin, sizeof fin, r->final, (long long)p->count);
    cg_line(e, "%s[o++] = (%s)(%s);", Y, ct, fin);
    close_n(e, nk);
    cg_line(e, "(void)o;");
    return WR_OK;
}
