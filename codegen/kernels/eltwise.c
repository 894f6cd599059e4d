/*
 * Elementwise family emitter (table in ir/eltwise.h, semantics in
 * ir/ops/eltwise.c). One loop nest per node from the broadcast plan: same-shape
 * operands merge into one flat loop, broadcast ones get nested loops with
 * compile-time strides and a contiguous inner dim. Scalars and constant
 * bounds are hoisted. Every operand is read at the output's index before the
 * output is written, so the node may run in place (out0 == in0).
 */
#include "codegen.h"
#include "eltwise.h"
#include "move.h"

#include <string.h>

/* The table's macros and helpers as text, expanded (this file must not
 * include math.h, so INFINITY stays a name for the generated code). */
#define EW_STR_(...) #__VA_ARGS__
#define EW_STR(...) EW_STR_(__VA_ARGS__)
#define EW_SUFF_F(fn) fn##f
#define EW_SUFF_D(fn) fn

static const struct {
    const char *name, *text;
} ew_helpers[] = {
    {"ew_ipow", EW_STR(EW_HELPER_IPOW)},
    {"ew_pymodf", EW_STR(EW_HELPER_PYMOD(float, EW_SUFF_F))},
    {"ew_pymod", EW_STR(EW_HELPER_PYMOD(double, EW_SUFF_D))},
};

static const char *expr_text[OP_COUNT][3] = {
#define EW_ROW(ID, kind, types, f, s, u) [OP_##ID] = {EW_STR(f), EW_STR(s), EW_STR(u)},
    EW_OPS(EW_ROW)
#undef EW_ROW
};

typedef struct Subst {
    const char *var[3]; /* what a, b, c become */
    DType T;
    const EwParams *p;
    bool used[3]; /* which of a, b, c the expression read */
} Subst;

static void request_helper(Emitter *e, const char *name)
{
    for (size_t i = 0; i < sizeof ew_helpers / sizeof ew_helpers[0]; i++)
        if (strcmp(ew_helpers[i].name, name) == 0)
            cg_helper(e, ew_helpers[i].name, ew_helpers[i].text);
}

static void param_literal(Buf *b, DType T, double v)
{
    char tmp[8];
    dtype_set_f64(T, tmp, 0, v);
    buf_puts(b, "(");
    cg_literal(b, T, tmp, 0);
    buf_puts(b, ")");
}

/* Rewrites identifier w of an expression template. */
static void subst_word(Emitter *e, Buf *b, const char *w, Subst *s)
{
    const EwParams *p = s->p;
    if (!w[1] && w[0] >= 'a' && w[0] <= 'c') {
        buf_puts(b, s->var[w[0] - 'a']);
        s->used[w[0] - 'a'] = true;
    }
    else if (!strcmp(w, "T"))
        buf_puts(b, cg_ctype(s->T));
    else if (!strcmp(w, "alpha") || !strcmp(w, "beta") || !strcmp(w, "gamma"))
        param_literal(b, s->T, w[0] == 'a' ? p->alpha : w[0] == 'b' ? p->beta : p->gamma);
    else if (!strcmp(w, "mode"))
        buf_printf(b, "%d", p->mode);
    else {
        request_helper(e, w);
        buf_puts(b, w);
    }
}

static bool is_word(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Expands template t into b: operands, T, attribute literals and F(fn). */
static void rewrite(Emitter *e, Buf *b, const char *t, Subst *s)
{
    while (*t) {
        if (!is_word(*t)) {
            buf_printf(b, "%c", *t++);
            continue;
        }
        char w[64];
        size_t k = 0;
        while (is_word(*t) && k + 2 < sizeof w)
            w[k++] = *t++;
        w[k] = 0;
        if (w[0] >= '0' && w[0] <= '9') {
            buf_puts(b, w);
        } else if (!strcmp(w, "F") && *t == '(') {
            /* F(fn): fn##f for float, fn for double */
            k = 0;
            for (t++; *t && *t != ')' && k + 2 < sizeof w; t++)
                w[k++] = *t;
            t += *t == ')';
            if (s->T == DT_F32)
                w[k++] = 'f';
            w[k] = 0;
            subst_word(e, b, w, s);
        } else {
            subst_word(e, b, w, s);
        }
    }
}

/* ---- operands ---- */

typedef struct Operand {
    int input;     /* node input index, or -1 for a constant bound */
    char var[8];   /* local variable name */
    bool hoisted;  /* loaded once before the loops (scalar or constant) */
    bool used;     /* read by the expression (PRelu on unsigned ignores its slope) */
    int plan;      /* index in the broadcast plan */
} Operand;

typedef struct Nest {
    Operand op[IR_BCAST_MAX];
    int nop;
    Bcast plan;
    const char *it; /* index type */
} Nest;

static void add_operand(Nest *x, const Node *n, int input, const char *var)
{
    Operand *o = &x->op[x->nop++];
    o->input = input;
    snprintf(o->var, sizeof o->var, "%s", var);
    o->hoisted = input < 0 || ir_tensor_numel(n->in[input]) == 1;
    o->plan = -1;
    o->used = true;
}

static void collect(Nest *x, const Node *n, const EwParams *p)
{
    static const char *names[3] = {"a", "b", "c"};
    EwKind kind = ew_kind(n->op);
    x->nop = 0;
    if (kind == EWK_FOLD) {
        for (int k = 0; k < n->nin; k++) {
            char v[16];
            snprintf(v, sizeof v, "x%d", k % 100);
            add_operand(x, n, k, v);
        }
        return;
    }
    int last = kind == EWK_CAST ? 1 : 3;
    for (int k = 0; k < last; k++) {
        if (k < n->nin && n->in[k])
            add_operand(x, n, k, names[k]);
        else if (p->has_const[k])
            add_operand(x, n, -1 - k, names[k]);
    }
}

static void plan(Nest *x, const Node *n)
{
    const Tensor *t[IR_BCAST_MAX];
    int np = 0;
    for (int k = 0; k < x->nop; k++)
        if (!x->op[k].hoisted) {
            x->op[k].plan = np;
            t[np++] = n->in[x->op[k].input];
        }
    ir_bcast_plan(&x->plan, n->out[0], np, t);
    x->it = cg_index_type(ir_tensor_numel(n->out[0]));
}

/* "i0 * 12 + i1 * 4 + i2" for strides st over the plan's loop variables. */
static void index_expr(Buf *b, const Bcast *bc, const int64_t *st)
{
    size_t start = b->len;
    for (int j = 0; j < bc->ndim; j++) {
        if (!st[j])
            continue;
        buf_printf(b, "%si%d", b->len > start ? " + " : "", j);
        if (st[j] != 1)
            buf_printf(b, " * %lld", (long long)st[j]);
    }
    if (b->len == start)
        buf_puts(b, "0");
}

static void load(Emitter *e, const Nest *x, const Operand *o, DType T, const EwParams *p)
{
    /* Where's condition stays bool: a float condition would not be a valid ?: test
     * under -Wconversion */
    if (ew_kind(e->node->op) == EWK_WHERE && o->input == 0)
        T = e->node->in[0]->dtype;
    const char *ct = cg_ctype(T);
    if (o->input < 0) {
        char v[8];
        Buf lit = {0};
        ew_const_value(p, -1 - o->input, v);
        cg_literal(&lit, T, v, 0);
        cg_line(e, "const %s %s = %s;", ct, o->var, lit.p);
        buf_free(&lit);
        return;
    }
    Buf idx = {0};
    if (o->hoisted)
        buf_puts(&idx, "0");
    else
        index_expr(&idx, &x->plan, x->plan.stride[o->plan]);
    char cast[32] = "";
    if (e->node->in[o->input]->dtype != T)
        snprintf(cast, sizeof cast, "(%s)", ct);
    cg_line(e, "const %s %s = %s%s[%s];", ct, o->var, cast, cg_in(e, o->input), idx.p);
    buf_free(&idx);
}

/* ---- the node ---- */

/* The value stored into out0: the table expression (folded for variadics). */
static const char *template_for(const Node *n, DType T)
{
    return expr_text[n->op][dtype_is_float(T) ? 0 : dtype_is_signed_int(T) ? 1 : 2];
}

/* Operands the expression does not read are not loaded (no unused variables). */
static void mark_used(Emitter *e, Nest *x, const Node *n, const EwParams *p)
{
    EwKind kind = ew_kind(n->op);
    if (kind == EWK_FOLD || kind == EWK_CAST)
        return;
    Subst s = {{"a", "b", "c"}, p->T, p, {false, false, false}};
    Buf tmp = {0};
    rewrite(e, &tmp, template_for(n, p->T), &s);
    buf_free(&tmp);
    for (int k = 0; k < x->nop; k++)
        x->op[k].used = s.used[x->op[k].var[0] - 'a'];
}

/* wrpnc_float.h's name for a narrow float ("f16", "e4m3fn"...) */
static const char *narrow_name(DType t)
{
    switch (t) {
    case DT_F16: return "f16";
    case DT_BF16: return "bf16";
    case DT_F8E4M3FN: return "e4m3fn";
    case DT_F8E4M3FNUZ: return "e4m3fnuz";
    case DT_F8E5M2: return "e5m2";
    case DT_F8E5M2FNUZ: return "e5m2fnuz";
    case DT_F4E2M1: return "f4e2m1";
    case DT_F8E8M0: return "e8m0";
    case DT_F32:
    case DT_F64:
    case DT_U8:
    case DT_I8:
    case DT_U16:
    case DT_I16:
    case DT_I32:
    case DT_I64:
    case DT_BOOL:
    case DT_U32:
    case DT_U64:
    case DT_U4:
    case DT_I4:
    case DT_U2:
    case DT_I2:
    case DT_UNDEF:
    case DT_COUNT: break;
    }
    WR_UNREACHABLE();
}

/* Cast of operand a from s to t (ew_cast_special in the reference), through
 * double, with runtime/wrpnc_float.h's conversions. */
static void special_cast_expr(Emitter *e, Buf *b, DType s, DType t, const EwParams *p)
{
    cg_helper(e, "wrpnc_float.h", cg_runtime_file("wrpnc_float.h"));
    Buf v = {0}, iv = {0};
    bool from_int = !dtype_is_float(s) && !dtype_is_narrow_float(s);
    if (dtype_is_narrow_float(s))
        buf_printf(&v, "(double)wrpnc_%s_to_f32(a)", narrow_name(s));
    else
        buf_puts(&v, "(double)a");
    if (from_int)
        buf_puts(&iv, "(int64_t)a");
    else
        buf_printf(&iv, "wrpnc_f64_to_i64(%s)", v.p);
    if (t == DT_F8E8M0)
        buf_printf(b, "wrpnc_e8m0_from_f32((float)%s, %d, %d)", v.p, p->sat, p->round_mode);
    else if (t == DT_F16 || t == DT_BF16 || t == DT_F4E2M1)
        buf_printf(b, "wrpnc_%s_from_f64(%s)", narrow_name(t), v.p);
    else if (dtype_is_narrow_float(t))
        buf_printf(b, "wrpnc_%s_from_f64(%s, %d)", narrow_name(t), v.p, p->sat);
    else if (dtype_subbyte_bits(t))
        buf_printf(b, "wrpnc_wrap_int(%s, %d, %d)", iv.p, dtype_subbyte_bits(t),
                   dtype_is_signed_int(t));
    else if (t == DT_BOOL)
        buf_printf(b, "%s != 0", v.p);
    else if (dtype_is_float(t))
        buf_puts(b, v.p);
    else
        buf_puts(b, iv.p);
    buf_free(&v);
    buf_free(&iv);
}

static void value_expr(Emitter *e, Buf *b, const Node *n, const Nest *x, const EwParams *p)
{
    const char *t = template_for(n, p->T);
    Subst s = {{"a", "b", "c"}, p->T, p, {false, false, false}};
    EwKind kind = ew_kind(n->op);
    if (kind == EWK_CAST && ew_cast_is_special(p->T, p->to)) {
        special_cast_expr(e, b, p->T, p->to, p);
    } else if (kind == EWK_CAST) {
        /* as the reference: float to integer through int64 (uint64 when large) */
        bool f2i = dtype_is_float(p->T) && !dtype_is_float(p->to);
        if (p->to == DT_BOOL)
            buf_puts(b, "a != 0");
        else if (f2i && p->to == DT_U64)
            buf_puts(b, "a < 0 ? (uint64_t)(int64_t)a : (uint64_t)a");
        else
            buf_puts(b, f2i ? "(int64_t)a" : "a");
    } else if (kind != EWK_FOLD) {
        rewrite(e, b, t, &s);
    } else if (x->nop == 1) {
        buf_puts(b, "x0");
    } else {
        /* acc = f(acc, x_k), k = 1.. */
        cg_line(e, "%s acc = x0;", cg_ctype(p->T));
        for (int k = 1; k < x->nop; k++) {
            Buf f = {0};
            s.var[0] = "acc";
            s.var[1] = x->op[k].var;
            rewrite(e, &f, t, &s);
            cg_line(e, "acc = (%s)(%s);", cg_ctype(p->T), f.p);
            buf_free(&f);
        }
        if (n->op == OP_MEAN)
            buf_printf(b, "acc / %d", n->nin);
        else
            buf_puts(b, "acc");
    }
}

static void body(Emitter *e, const Node *n, const Nest *x, const EwParams *p)
{
    for (int k = 0; k < x->nop; k++)
        if (!x->op[k].hoisted && x->op[k].used)
            load(e, x, &x->op[k], p->T, p);
    Buf v = {0}, idx = {0};
    value_expr(e, &v, n, x, p);
    index_expr(&idx, &x->plan, x->plan.ystride);
    cg_line(e, "%s[%s] = (%s)(%s);", cg_out(e, 0), idx.p, cg_ctype(p->to), v.p);
    buf_free(&v);
    buf_free(&idx);
}

Status cg_eltwise_emit(Emitter *e, const Node *n, Diag *d)
{
    const EwParams *p = n->priv;
    if (n->act != ACT_NONE)
        return diag_node(d, WR_EUNSUPPORTED, n, "fused activations are not supported here");
    if (ir_tensor_numel(n->out[0]) == 0)
        return WR_OK;
    Nest x;
    collect(&x, n, p);
    plan(&x, n);
    mark_used(e, &x, n, p);
    for (int k = 0; k < x.nop; k++)
        if (x.op[k].hoisted && x.op[k].used)
            load(e, &x, &x.op[k], p->T, p);
    for (int j = 0; j < x.plan.ndim; j++)
        cg_open(e, "for (%s i%d = 0; i%d < %lld; i%d++)", x.it, j, j, (long long)x.plan.dim[j], j);
    body(e, n, &x, p);
    for (int j = 0; j < x.plan.ndim; j++)
        cg_close(e);
    return WR_OK;
}
