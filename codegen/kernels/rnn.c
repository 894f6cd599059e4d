/*
 * LSTM, GRU and RNN kernels (shapes and the reference eval: ir/ops/rnn.c).
 *   1. the input projections of every step and direction, X (T*B, I) .
 *      W[d]^T -> xw[d] (T*B, G*H): one packed GEMM (cg_sgemm), W packed at
 *      compile time when constant;
 *   2. per direction, per step: the recurrent product h (B, H) . R[d]^T into
 *      the gate buffer, then the cell update per batch element, elementwise.
 * The recurrent product is a GEMV when the batch is small and R constant: an
 * axpy over R^T transposed at compile time (contiguous, vectorizable), which
 * beats a GEMM tile that would be mostly padding rows; otherwise cg_sgemm.
 * Everything lives in the node's scratch output (RnnScratch). Steps past an
 * element's sequence_lens (run time, clamped to [0, T]) are skipped: its
 * state stays, its rows of Y stay zero. GRU without linear_before_reset needs
 * (r * h) . Rh^T, a second product per step after r is known.
 */
#include "codegen.h"
#include "opparams.h"

#include <stdlib.h>
#include <string.h>

enum { GEMV_MAX_BATCH = 4 }; /* below this many rows a GEMM tile is mostly padding */

typedef struct Rnn {
    const Node *n;
    const RnnParams *p;
    RnnScratch s;
    int64_t GH;
    const char *X, *W, *R, *Bi, *len, *h0, *c0, *P, *Y, *Yh, *Yc; /* NULL: absent */
} Rnn;

static const char *opt_in(Emitter *e, const Node *n, int i)
{
    return i < n->nin && n->in[i] ? cg_in(e, i) : NULL;
}

static const char *opt_out(Emitter *e, const Node *n, int i)
{
    return i < op_info[n->op].max_out && i < n->nout && n->out[i] ? cg_out(e, i) : NULL;
}

static const char *flit(Emitter *e, float v)
{
    Buf b = {0};
    cg_literal(&b, DT_F32, &v, 0);
    const char *s = arena_strdup(&((Graph *)e->g)->arena, b.p);
    buf_free(&b);
    return s;
}

/* The activation a applied to variable x: its table template filled in. */
static const char *act_expr(Emitter *e, const RnnAct *a, const char *x)
{
    Buf b = {0};
    for (const char *t = rnn_act_info[a->kind].c; *t; t++) {
        if (t[0] == '$' && (t[1] == 'x' || t[1] == 'a' || t[1] == 'b')) {
            buf_puts(&b, t[1] == 'x' ? x : flit(e, t[1] == 'a' ? a->alpha : a->beta));
            t++;
        } else
            buf_printf(&b, "%c", *t);
    }
    const char *s = arena_strdup(&((Graph *)e->g)->arena, b.p);
    buf_free(&b);
    return s;
}

/* const float NAME = act(v), v clipped first when the layer clips. */
static void emit_act(Emitter *e, const Rnn *r, const RnnAct *a, const char *name, const char *v)
{
    if (r->p->clip > 0.0f) {
        const char *c = flit(e, r->p->clip);
        cg_line(e, "%s = %s < -%s ? -%s : (%s > %s ? %s : %s);", v, v, c, c, v, c, c, v);
    }
    cg_line(e, "const float %s = %s;", name, act_expr(e, a, v));
}

/* ---- setup: biases, projections, initial state ---- */

/* bias (D, G*H) = Wb + Rb, except GRU's h gate: Wbh there, Rbh in rbh (D, H). */
static void emit_bias(Emitter *e, const Rnn *r)
{
    const RnnParams *p = r->p;
    long long GH = r->GH, H = p->H, D = p->D;
    if (!r->Bi) {
        cg_line(e, "memset(S + %lld, 0, sizeof(float) * %lld);", (long long)r->s.bias,
                D * GH + D * H);
        return;
    }
    cg_open(e, "for (int64_t q = 0; q < %lld; q++)", D * GH);
    cg_line(e, "const int64_t d = q / %lld, g = q %% %lld;", GH, GH);
    cg_line(e, "S[%lld + q] = %s[d * %lld + g] + %s[d * %lld + %lld + g];", (long long)r->s.bias,
            r->Bi, 2 * GH, r->Bi, 2 * GH, GH);
    cg_close(e);
    if (r->n->op != OP_GRU)
        return;
    cg_open(e, "for (int64_t q = 0; q < %lld; q++)", D * H);
    cg_line(e, "const int64_t d = q / %lld, g = 2 * %lld + q %% %lld;", H, H, H);
    cg_line(e, "S[%lld + d * %lld + g] = %s[d * %lld + g];", (long long)r->s.bias, GH, r->Bi,
            2 * GH);
    cg_line(e, "S[%lld + q] = %s[d * %lld + %lld + g];", (long long)r->s.rbh, r->Bi, 2 * GH, GH);
    cg_close(e);
}

/* xw[d] (T*B, G*H) = X (T*B, I) . W[d]^T for every direction d (ob). */
static void emit_projection(Emitter *e, const Rnn *r)
{
    const RnnParams *p = r->p;
    Arena *A = &((Graph *)e->g)->arena;
    const Tensor *W = r->n->in[1];
    SgemmSpec s = {.M = p->T * p->B, .N = r->GH, .K = p->I, .nouter = p->D, .alpha = 1.0f,
                   .ldy = r->GH};
    s.A = (SgemmOperand){.base = r->X, .sk = 1, .so = p->I};
    if (W->data)
        s.B = (SgemmOperand){.data = W->data, .sk = 1, .so = p->I, .nconst = p->D,
                             .cstride = r->GH * p->I, .cidx = "ob"};
    else
        s.B = (SgemmOperand){.base = arena_printf(A, "%s + ob * %lld", r->W,
                                                  (long long)(r->GH * p->I)),
                             .sk = 1, .so = p->I};
    s.Y = arena_printf(A, "S + %lld + ob * %lld", (long long)r->s.xw,
                       (long long)(p->T * p->B * r->GH));
    cg_line(e, "/* input projections of all %lld steps: one GEMM per direction */",
            (long long)p->T);
    cg_sgemm(e, &s);
}

/* Offset of state (d, b) in initial_h / Y_h: (D, B, H), or (B, D, H) in layout 1. */
static const char *state_at(Emitter *e, const Rnn *r, int d, const char *b)
{
    const RnnParams *p = r->p;
    Arena *A = &((Graph *)e->g)->arena;
    if (p->layout)
        return arena_printf(A, "(%s * %d + %d) * %lld", b, p->D, d, (long long)p->H);
    return arena_printf(A, "(%lld + %s) * %lld", (long long)d * p->B, b, (long long)p->H);
}

/* h and c of every batch element from initial_h / initial_c, or zeros. */
static void emit_init(Emitter *e, const Rnn *r, int d)
{
    long long H = r->p->H, B = r->p->B;
    const char *src[2] = {r->h0, r->c0};
    int64_t dst[2] = {r->s.h, r->s.c};
    for (int k = 0; k < (r->n->op == OP_LSTM ? 2 : 1); k++) {
        if (!src[k]) {
            cg_line(e, "memset(S + %lld, 0, sizeof(float) * %lld);", (long long)dst[k], B * H);
            continue;
        }
        cg_open(e, "for (int64_t bt = 0; bt < %lld; bt++)", B);
        cg_line(e, "memcpy(S + %lld + bt * %lld, %s + %s, sizeof(float) * %lld);",
                (long long)dst[k], H, src[k], state_at(e, r, d, "bt"), H);
        cg_close(e);
    }
}

/* ---- the recurrent product ---- */

/* gates[b][n0 .. n0 + N) = src[b] (H) . R[d] rows n0 .. n0 + N, for every b. */
static void emit_product(Emitter *e, const Rnn *r, int d, int64_t src, int64_t n0, int64_t N)
{
    const RnnParams *p = r->p;
    const Tensor *R = r->n->in[2];
    int64_t H = p->H, row0 = d * r->GH + n0;
    Arena *A = &((Graph *)e->g)->arena;
    if (R->data && p->B < GEMV_MAX_BATCH) {
        float *rt = malloc(sizeof *rt * (size_t)(H * N));
        if (!rt)
            wr_die(__FILE__, __LINE__, "out of memory");
        for (int64_t k = 0; k < H; k++)
            for (int64_t q = 0; q < N; q++)
                rt[k * N + q] = ((const float *)R->data)[(row0 + q) * H + k];
        const char *RT = cg_const_array(e, "rt", DT_F32, rt, H * N);
        free(rt);
        cg_open(e, "for (int64_t bt = 0; bt < %lld; bt++)", (long long)p->B);
        cg_line(e, "float *restrict gv = S + %lld + bt * %lld;", (long long)(r->s.gates + n0),
                (long long)r->GH);
        cg_line(e, "const float *hv = S + %lld + bt * %lld;", (long long)src, (long long)H);
        cg_line(e, "for (int64_t q = 0; q < %lld; q++) gv[q] = 0.0f;", (long long)N);
        cg_open(e, "for (int64_t kk = 0; kk < %lld; kk++)", (long long)H);
        cg_line(e, "const float hk = hv[kk];");
        cg_line(e, "const float *restrict rr = %s + kk * %lld;", RT, (long long)N);
        cg_line(e, "for (int64_t q = 0; q < %lld; q++) gv[q] += hk * rr[q];", (long long)N);
        cg_close(e);
        cg_close(e);
        return;
    }
    SgemmSpec s = {.M = p->B, .N = N, .K = H, .nouter = 1, .alpha = 1.0f, .ldy = r->GH};
    s.A = (SgemmOperand){.base = arena_printf(A, "S + %lld", (long long)src), .sk = 1, .so = H};
    if (R->data)
        s.B = (SgemmOperand){.data = (const float *)R->data + row0 * H, .sk = 1, .so = H};
    else
        s.B = (SgemmOperand){.base = arena_printf(A, "%s + %lld", r->R, (long long)(row0 * H)),
                             .sk = 1, .so = H};
    s.Y = arena_printf(A, "S + %lld", (long long)(r->s.gates + n0));
    cg_sgemm(e, &s);
}

/* ---- cell updates, one batch element (bt) at step tt ---- */

/* len: the steps of element bt, sequence_lens[bt] clamped to [0, T]. */
static void emit_len(Emitter *e, const Rnn *r)
{
    long long T = r->p->T;
    if (r->len)
        cg_line(e, "const int64_t len = %s[bt] < 0 ? 0 : %s[bt] > %lld ? %lld : %s[bt];", r->len,
                r->len, T, T, r->len);
    else
        cg_line(e, "const int64_t len = %lld;", T);
}

/* The per-element loop head: skip elements past their length, find tt and the rows. */
static void open_batch(Emitter *e, const Rnn *r, int d)
{
    const RnnParams *p = r->p;
    long long T = p->T, B = p->B, GH = r->GH;
    cg_open(e, "for (int64_t bt = 0; bt < %lld; bt++)", B);
    emit_len(e, r);
    cg_line(e, "if (step >= len) continue;");
    cg_line(e, "const int64_t tt = %s;", rnn_dir_reverse(p, d) ? "len - 1 - step" : "step");
    if (p->layout)
        cg_line(e, "const float *xr = S + %lld + (bt * %lld + tt) * %lld;",
                (long long)r->s.xw + d * T * B * GH, T, GH);
    else
        cg_line(e, "const float *xr = S + %lld + (tt * %lld + bt) * %lld;",
                (long long)r->s.xw + d * T * B * GH, B, GH);
    cg_line(e, "const float *gr = S + %lld + bt * %lld, *bi = S + %lld;", (long long)r->s.gates,
            GH, (long long)r->s.bias + d * GH);
    cg_line(e, "float *hb = S + %lld + bt * %lld;", (long long)r->s.h, (long long)p->H);
}

/* Closes open_batch, after copying the new h into Y's row (tt, d, bt). */
static void close_batch(Emitter *e, const Rnn *r, int d, bool write_y)
{
    const RnnParams *p = r->p;
    long long H = p->H;
    if (write_y && r->Y && p->layout)
        cg_line(e, "memcpy(%s + ((bt * %lld + tt) * %d + %d) * %lld, hb, sizeof(float) * %lld);",
                r->Y, (long long)p->T, p->D, d, H, H);
    else if (write_y && r->Y)
        cg_line(e, "memcpy(%s + ((tt * %d + %d) * %lld + bt) * %lld, hb, sizeof(float) * %lld);",
                r->Y, p->D, d, (long long)p->B, H, H);
    cg_close(e);
}

/* Gate g's pre-activation at jj: projection + recurrent product + bias. */
static void pre(Emitter *e, const Rnn *r, const char *v, int g, bool rec, const char *extra)
{
    long long o = (long long)g * r->p->H;
    cg_line(e, "float %s = xr[%lld + jj]%s + bi[%lld + jj]%s;", v, o,
            rec ? arena_printf(&((Graph *)e->g)->arena, " + gr[%lld + jj]", o) : "", o,
            extra ? extra : "");
}

static void lstm_cell(Emitter *e, const Rnn *r, int d)
{
    const RnnParams *p = r->p;
    const RnnAct *a = p->act[d];
    Arena *A = &((Graph *)e->g)->arena;
    long long H = p->H, P0 = (long long)d * 3 * H;
    cg_line(e, "float *cb = S + %lld + bt * %lld;", (long long)r->s.c, H);
    cg_open(e, "for (int64_t jj = 0; jj < %lld; jj++)", H);
    const char *pi = r->P ? arena_printf(A, " + %s[%lld + jj] * cb[jj]", r->P, P0) : NULL;
    const char *pf = r->P ? arena_printf(A, " + %s[%lld + jj] * cb[jj]", r->P, P0 + 2 * H) : NULL;
    const char *po = r->P ? arena_printf(A, " + %s[%lld + jj] * cn", r->P, P0 + H) : NULL;
    pre(e, r, "vi", 0, true, pi);
    emit_act(e, r, &a[0], "gi", "vi");
    if (p->input_forget)
        cg_line(e, "const float gf = 1.0f - gi;");
    else {
        pre(e, r, "vf", 2, true, pf);
        emit_act(e, r, &a[0], "gf", "vf");
    }
    pre(e, r, "vc", 3, true, NULL);
    emit_act(e, r, &a[1], "gc", "vc");
    cg_line(e, "const float cn = gf * cb[jj] + gi * gc;");
    cg_line(e, "cb[jj] = cn;");
    pre(e, r, "vo", 1, true, po);
    emit_act(e, r, &a[0], "go", "vo");
    cg_line(e, "hb[jj] = go * %s;", act_expr(e, &a[2], "cn"));
    cg_close(e);
}

static void rnn_cell(Emitter *e, const Rnn *r, int d)
{
    cg_open(e, "for (int64_t jj = 0; jj < %lld; jj++)", (long long)r->p->H);
    pre(e, r, "vi", 0, true, NULL);
    emit_act(e, r, &r->p->act[d][0], "gi", "vi");
    cg_line(e, "hb[jj] = gi;");
    cg_close(e);
}

/* GRU, first half without linear_before_reset: rh = r * h. */
static void gru_reset(Emitter *e, const Rnn *r, int d)
{
    long long H = r->p->H;
    cg_open(e, "for (int64_t jj = 0; jj < %lld; jj++)", H);
    pre(e, r, "vr", 1, true, NULL);
    emit_act(e, r, &r->p->act[d][0], "gq", "vr");
    cg_line(e, "S[%lld + bt * %lld + jj] = gq * hb[jj];", (long long)r->s.rh, H);
    cg_close(e);
}

/* GRU update: h~ from the product in gates' h part (linear_before_reset: times r). */
static void gru_cell(Emitter *e, const Rnn *r, int d)
{
    const RnnParams *p = r->p;
    const RnnAct *a = p->act[d];
    long long H = p->H, rbh = (long long)r->s.rbh + d * H;
    cg_open(e, "for (int64_t jj = 0; jj < %lld; jj++)", H);
    pre(e, r, "vz", 0, true, NULL);
    emit_act(e, r, &a[0], "gz", "vz");
    if (p->linear_before_reset) {
        pre(e, r, "vr", 1, true, NULL);
        emit_act(e, r, &a[0], "gq", "vr");
        pre(e, r, "vh", 2, false,
            arena_printf(&((Graph *)e->g)->arena, " + gq * (gr[%lld + jj] + S[%lld + jj])",
                         2 * H, rbh));
    } else
        pre(e, r, "vh", 2, true, arena_printf(&((Graph *)e->g)->arena, " + S[%lld + jj]", rbh));
    emit_act(e, r, &a[1], "gh", "vh");
    cg_line(e, "hb[jj] = (1.0f - gz) * gh + gz * hb[jj];");
    cg_close(e);
}

/* ---- one direction ---- */

static void emit_steps(Emitter *e, const Rnn *r, int d)
{
    const RnnParams *p = r->p;
    bool two = r->n->op == OP_GRU && !p->linear_before_reset; /* r * h, then its product */
    cg_open(e, "for (int64_t step = 0; step < %lld; step++)", (long long)p->T);
    emit_product(e, r, d, r->s.h, 0, two ? 2 * p->H : r->GH);
    open_batch(e, r, d);
    if (r->n->op == OP_LSTM)
        lstm_cell(e, r, d);
    else if (r->n->op == OP_RNN)
        rnn_cell(e, r, d);
    else if (two)
        gru_reset(e, r, d);
    else
        gru_cell(e, r, d);
    close_batch(e, r, d, !two);
    if (two) {
        emit_product(e, r, d, r->s.rh, 2 * p->H, p->H);
        open_batch(e, r, d);
        gru_cell(e, r, d);
        close_batch(e, r, d, true);
    }
    cg_close(e);
}

static void emit_direction(Emitter *e, const Rnn *r, int d)
{
    const RnnParams *p = r->p;
    long long H = p->H;
    cg_line(e, "/* direction %d: %s */", d, rnn_dir_reverse(p, d) ? "reverse" : "forward");
    emit_init(e, r, d);
    if (r->n->op == OP_GRU && !p->linear_before_reset)
        cg_line(e, "memset(S + %lld, 0, sizeof(float) * %lld);", (long long)r->s.rh,
                (long long)p->B * H);
    emit_steps(e, r, d);
    const char *fin[2] = {r->Yh, r->Yc};
    int64_t src[2] = {r->s.h, r->s.c};
    for (int k = 0; k < 2; k++) {
        if (!fin[k])
            continue;
        cg_open(e, "for (int64_t bt = 0; bt < %lld; bt++)", (long long)p->B);
        const char *dst = state_at(e, r, d, "bt");
        if (r->len) { /* no step at all: zeros, as ONNX Runtime gives */
            emit_len(e, r);
            cg_line(e, "if (len == 0) memset(%s + %s, 0, sizeof(float) * %lld);", fin[k], dst,
                    H);
            cg_line(e, "else");
        }
        cg_line(e, "%smemcpy(%s + %s, S + %lld + bt * %lld, sizeof(float) * %lld);",
                r->len ? "    " : "", fin[k], dst, (long long)src[k], H, H);
        cg_close(e);
    }
}

Status cg_rnn_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const RnnParams *p = n->priv;
    Rnn r = {.n = n, .p = p, .GH = p->G * p->H};
    rnn_scratch_layout(p, &r.s);
    r.X = cg_in(e, 0);
    r.W = n->in[1]->data ? NULL : cg_in(e, 1); /* constant weights are packed copies */
    r.R = n->in[2]->data ? NULL : cg_in(e, 2);
    r.Bi = opt_in(e, n, 3);
    r.len = opt_in(e, n, 4);
    r.h0 = opt_in(e, n, 5);
    r.c0 = n->op == OP_LSTM ? opt_in(e, n, 6) : NULL;
    r.P = n->op == OP_LSTM ? opt_in(e, n, 7) : NULL;
    r.Y = opt_out(e, n, 0);
    r.Yh = opt_out(e, n, 1);
    r.Yc = n->op == OP_LSTM ? opt_out(e, n, 2) : NULL;
    cg_line(e, "float *S = %s; /* scratch */", cg_out(e, op_info[n->op].max_out));
    if (r.Y && r.len)
        cg_line(e, "memset(%s, 0, %lld);", r.Y, (long long)ir_tensor_bytes(n->out[0]));
    emit_bias(e, &r);
    emit_projection(e, &r);
    for (int dir = 0; dir < p->D; dir++)
        emit_direction(e, &r, dir);
    return WR_OK;
}
