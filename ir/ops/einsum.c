/*
 * Einsum: numpy's einsum for any number of inputs, with ellipsis broadcast,
 * repeated labels (diagonals), implicit output (labels seen once, in
 * alphabetical order, after the ellipsis dims) and reductions.
 *   inputs (float32 or float64) -> Y over the output labels
 * The reference sums over every combination of labels directly. The plan
 * the emitter runs (EinsumParams, ir/opparams.h) folds the inputs pairwise:
 * each operand gathered into (batch, free, contracted) order (summing the
 * labels only it has) unless already laid out so, one batched GEMM, and a
 * final gather into the output's label order. Emitter: codegen/kernels/einsum.c.
 */
#include "opparams.h"

#include <stdlib.h>
#include <string.h>

enum { ELL = 52, MAX_TERM = 80 };

typedef struct Term {
    int n, lab[MAX_TERM]; /* -1: the ellipsis */
} Term;

static int letter(char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return 26 + c - 'A';
    return -1;
}

/* Parses one term of the equation (s up to end) into t. */
static Status term(const Node *n, const char *s, const char *end, Term *t, Diag *d)
{
    t->n = 0;
    bool ell = false;
    while (s < end) {
        if (*s == ' ') {
            s++;
        } else if (end - s >= 3 && strncmp(s, "...", 3) == 0 && !ell && t->n < MAX_TERM) {
            ell = true;
            t->lab[t->n++] = -1;
            s += 3;
        } else if (letter(*s) >= 0 && t->n < MAX_TERM) {
            t->lab[t->n++] = letter(*s++);
        } else {
            return diag_node(d, WR_EPARSE, n, "bad character '%c' in the equation", *s);
        }
    }
    return WR_OK;
}

/* Label of position j of term t for an operand of rank r (E ellipsis labels in all). */
static int label_at(const Term *t, int r, int E, int j)
{
    int ne = r - (t->n - 1); /* dims the ellipsis covers */
    for (int q = 0, dim = 0; q < t->n; q++) {
        if (t->lab[q] >= 0) {
            if (dim++ == j)
                return t->lab[q];
            continue;
        }
        if (j < dim + ne)
            return ELL + E - ne + (j - dim);
        dim += ne;
    }
    return -1;
}

/* Sizes and strides of every label from the inputs' shapes. */
static Status label_dims(const Node *n, const Term *t, int E, EinsumParams *p, Diag *d)
{
    for (int l = 0; l < EINSUM_LABELS; l++)
        p->size[l] = -1;
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < n->nin; k++) {
            const Tensor *x = n->in[k];
            int64_t st = 1;
            for (int j = x->ndim - 1; j >= 0; j--) {
                int l = label_at(&t[k], x->ndim, E, j);
                int64_t v = x->dim[j];
                if (pass == 0 && p->size[l] >= 0 && v != p->size[l] && v != 1 && p->size[l] != 1)
                    return diag_node(d, WR_ESHAPE, n, "label dims disagree (%lld vs %lld)",
                                     (long long)v, (long long)p->size[l]);
                if (pass == 0 && v > p->size[l])
                    p->size[l] = v;
                if (pass == 1 && !(v == 1 && p->size[l] != 1))
                    p->stride[k][l] += st;
                st *= v;
            }
        }
    return WR_OK;
}

/* Output labels: explicit after "->", else the ellipsis then letters used once. */
static Status output_labels(const Node *n, const char *arrow, const Term *t, int E,
                            EinsumParams *p, Diag *d)
{
    p->nout = 0;
    if (arrow) {
        Term o;
        WR_TRY(term(n, arrow + 2, arrow + strlen(arrow), &o, d));
        for (int q = 0; q < o.n; q++) {
            if (o.lab[q] < 0) {
                for (int e = 0; e < E; e++)
                    p->out[p->nout++] = ELL + e;
                continue;
            }
            for (int j = 0; j < p->nout; j++)
                if (p->out[j] == o.lab[q])
                    return diag_node(d, WR_EPARSE, n, "output label repeated");
            if (p->size[o.lab[q]] < 0)
                return diag_node(d, WR_EPARSE, n, "output label not in any input");
            p->out[p->nout++] = o.lab[q];
        }
        return WR_OK;
    }
    int count[ELL] = {0};
    for (int k = 0; k < n->nin; k++)
        for (int q = 0; q < t[k].n; q++)
            if (t[k].lab[q] >= 0)
                count[t[k].lab[q]]++;
    for (int e = 0; e < E; e++)
        p->out[p->nout++] = ELL + e;
    for (int l = 26; l < 52; l++) /* ASCII order: upper case first */
        if (count[l] == 1)
            p->out[p->nout++] = l;
    for (int l = 0; l < 26; l++)
        if (count[l] == 1)
            p->out[p->nout++] = l;
    return WR_OK;
}

/* Splits the equation into the input terms, checks their ranks, fills p. */
static Status parse(Graph *g, Node *n, EinsumParams *p, Diag *d)
{
    const char *eq = ir_attr_str(n, "equation", NULL);
    if (!eq)
        return diag_node(d, WR_EPARSE, n, "attribute 'equation' is missing");
    const char *arrow = strstr(eq, "->");
    const char *end = arrow ? arrow : eq + strlen(eq), *s = eq;
    Term *t = arena_alloc(&g->arena, sizeof *t * (size_t)n->nin);
    int E = 0;
    for (int k = 0; k < n->nin; k++) {
        const char *c = memchr(s, ',', (size_t)(end - s));
        if ((k == n->nin - 1) != !c)
            return diag_node(d, WR_EPARSE, n, "the equation has not %d input terms", n->nin);
        WR_TRY(term(n, s, c ? c : end, &t[k], d));
        s = c ? c + 1 : end;
        int nl = 0, ell = 0;
        for (int q = 0; q < t[k].n; q++)
            t[k].lab[q] >= 0 ? nl++ : ell++;
        int r = n->in[k]->ndim;
        if (r < nl || (!ell && r != nl) || r - nl > 8)
            return diag_node(d, WR_ESHAPE, n, "input %d has rank %d, its term %d labels", k, r,
                             nl);
        E = ell && r - nl > E ? r - nl : E;
    }
    p->stride = arena_alloc(&g->arena, sizeof *p->stride * (size_t)n->nin);
    WR_TRY(label_dims(n, t, E, p, d));
    p->nlab = ELL + E;
    return output_labels(n, arrow, t, E, p, d);
}

/* ---- the plan ---- */

/* An operand of the plan: a buffer and its labels with their strides. */
typedef struct View {
    EinsumRef ref;
    int nl;
    int lab[EINSUM_DIMS];
    int64_t st[EINSUM_DIMS];
} View;

static int find(const int *a, int n, int x)
{
    for (int i = 0; i < n; i++)
        if (a[i] == x)
            return i;
    return -1;
}

static int64_t view_stride(const View *v, int l)
{
    int i = find(v->lab, v->nl, l);
    return i < 0 ? 0 : v->st[i];
}

static EinsumStep *new_step(EinsumParams *p, Diag *d, const Node *n)
{
    if (p->nstep == EINSUM_STEPS) {
        diag_node(d, WR_EUNSUPPORTED, n, "too many operands");
        return NULL;
    }
    WR_ASSERT(p->step);
    EinsumStep *s = &p->step[p->nstep++];
    memset(s, 0, sizeof *s);
    return s;
}

/* A contiguous view of labels lab[0..nl) in a fresh scratch region. */
static View scratch_view(EinsumParams *p, const int *lab, int nl)
{
    View v = {.ref = {EINSUM_SCRATCH, p->scratch_count}, .nl = nl};
    int64_t st = 1;
    for (int i = nl - 1; i >= 0; i--) {
        v.lab[i] = lab[i];
        v.st[i] = st;
        st *= p->size[lab[i]];
    }
    p->scratch_count += st;
    return v;
}

/* x laid out contiguously in exactly the order lab[0..nl)? */
static bool laid_out(const EinsumParams *p, const View *x, const int *lab, int nl)
{
    if (x->nl != nl)
        return false;
    int64_t st = 1;
    for (int i = nl - 1; i >= 0; i--) {
        if (x->lab[i] != lab[i] || (p->size[lab[i]] > 1 && x->st[i] != st))
            return false;
        st *= p->size[lab[i]];
    }
    return true;
}

/* x gathered into dst over labels lab[0..nl), summing x's other labels. */
static Status gather(EinsumParams *p, const Node *n, const View *x, const int *lab, int nl,
                     EinsumRef dst, Diag *d)
{
    EinsumStep *s = new_step(p, d, n);
    if (!s)
        return WR_EUNSUPPORTED;
    s->src = x->ref, s->dst = dst, s->nd = nl;
    for (int i = 0; i < nl; i++)
        s->dim[i] = p->size[lab[i]], s->sst[i] = view_stride(x, lab[i]);
    for (int i = 0; i < x->nl; i++)
        if (find(lab, nl, x->lab[i]) < 0) {
            s->rdim[s->nr] = p->size[x->lab[i]];
            s->rst[s->nr++] = x->st[i];
        }
    return WR_OK;
}

/* x as a contiguous view over lab (gathered unless already so). */
static Status arrange(EinsumParams *p, const Node *n, View *x, const int *lab, int nl, Diag *d)
{
    if (laid_out(p, x, lab, nl))
        return WR_OK;
    View v = scratch_view(p, lab, nl);
    WR_TRY(gather(p, n, x, lab, nl, v.ref, d));
    *x = v;
    return WR_OK;
}

static int64_t prod(const EinsumParams *p, const int *lab, int nl)
{
    int64_t r = 1;
    for (int i = 0; i < nl; i++)
        r *= p->size[lab[i]];
    return r;
}

/* Labels of x and y classified against keep: batch, left, right, contracted. */
typedef struct Split {
    int nb, nlft, nrgt, nc;
    int b[EINSUM_DIMS], lft[EINSUM_DIMS], rgt[EINSUM_DIMS], c[EINSUM_DIMS];
} Split;

static void split(const View *x, const View *y, const bool *keep, Split *s)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < x->nl; i++) {
        int l = x->lab[i];
        bool iny = find(y->lab, y->nl, l) >= 0;
        if (iny && keep[l])
            s->b[s->nb++] = l;
        else if (iny)
            s->c[s->nc++] = l;
        else if (keep[l])
            s->lft[s->nlft++] = l;
    }
    for (int i = 0; i < y->nl; i++)
        if (find(x->lab, x->nl, y->lab[i]) < 0 && keep[y->lab[i]])
            s->rgt[s->nrgt++] = y->lab[i];
}

/* x . y over the labels they share and keep does not, into a new view x. */
static Status contract(EinsumParams *p, const Node *n, View *x, View *y, const bool *keep,
                       Diag *d)
{
    Split s;
    split(x, y, keep, &s);
    int la[EINSUM_DIMS * 2], lb[EINSUM_DIMS * 2], lc[EINSUM_DIMS * 2], na = 0, nb = 0, nc = 0;
    for (int i = 0; i < s.nb; i++)
        la[na++] = lb[nb++] = lc[nc++] = s.b[i];
    for (int i = 0; i < s.nlft; i++)
        la[na++] = lc[nc++] = s.lft[i];
    for (int i = 0; i < s.nc; i++)
        la[na++] = lb[nb++] = s.c[i];
    for (int i = 0; i < s.nrgt; i++)
        lb[nb++] = lc[nc++] = s.rgt[i];
    if (na > EINSUM_DIMS || nb > EINSUM_DIMS || nc > EINSUM_DIMS)
        return diag_node(d, WR_EUNSUPPORTED, n, "too many labels in one product");
    WR_TRY(arrange(p, n, x, la, na, d));
    WR_TRY(arrange(p, n, y, lb, nb, d));
    EinsumStep *st = new_step(p, d, n);
    if (!st)
        return WR_EUNSUPPORTED;
    View c = scratch_view(p, lc, nc);
    *st = (EinsumStep){.matmul = true, .a = x->ref, .b = y->ref, .c = c.ref,
                       .nb = prod(p, s.b, s.nb), .M = prod(p, s.lft, s.nlft),
                       .N = prod(p, s.rgt, s.nrgt), .K = prod(p, s.c, s.nc)};
    *x = c;
    return WR_OK;
}

static View input_view(const EinsumParams *p, int k)
{
    View v = {.ref = {k, 0}};
    for (int l = 0; l < p->nlab; l++)
        if (p->stride[k][l] || p->size[l] == 1 || p->size[l] == 0)
            v.lab[v.nl] = l, v.st[v.nl++] = p->stride[k][l];
    return v;
}

/* Fills p->step: pairwise products, then the output gather. */
static Status plan(Graph *g, Node *n, EinsumParams *p, Diag *d)
{
    p->step = arena_alloc(&g->arena, sizeof *p->step * EINSUM_STEPS);
    View x = input_view(p, 0);
    for (int k = 1; k < n->nin; k++) {
        bool keep[EINSUM_LABELS] = {false};
        for (int i = 0; i < p->nout; i++)
            keep[p->out[i]] = true;
        for (int j = k + 1; j < n->nin; j++)
            for (int l = 0; l < p->nlab; l++)
                keep[l] |= p->stride[j][l] != 0 || p->size[l] <= 1;
        View y = input_view(p, k);
        if (x.nl > EINSUM_DIMS || y.nl > EINSUM_DIMS)
            return diag_node(d, WR_EUNSUPPORTED, n, "too many labels");
        WR_TRY(contract(p, n, &x, &y, keep, d));
    }
    EinsumStep *last = p->nstep ? &p->step[p->nstep - 1] : NULL;
    if (last && last->matmul && laid_out(p, &x, p->out, p->nout)) {
        last->c = (EinsumRef){EINSUM_OUT, 0}; /* the product lands in the output */
        p->scratch_count -= ir_tensor_numel(n->out[0]);
        return WR_OK;
    }
    if (p->nout > EINSUM_DIMS)
        return diag_node(d, WR_EUNSUPPORTED, n, "too many output labels");
    return gather(p, n, &x, p->out, p->nout, (EinsumRef){EINSUM_OUT, 0}, d);
}

Status op_einsum_infer(Graph *g, Node *n, Diag *d)
{
    DType t = n->in[0]->dtype;
    if (t != DT_F32 && t != DT_F64)
        return diag_node(d, WR_EUNSUPPORTED, n, "only float32 and float64 are supported");
    for (int k = 1; k < n->nin; k++)
        if (n->in[k]->dtype != t)
            return diag_node(d, WR_EPARSE, n, "inputs have different types");
    EinsumParams *p = arena_alloc(&g->arena, sizeof *p);
    WR_TRY(parse(g, n, p, d));
    int64_t dim[EINSUM_LABELS];
    for (int i = 0; i < p->nout; i++)
        dim[i] = p->size[p->out[i]];
    if (p->nout > IR_MAX_DIMS)
        return diag_node(d, WR_EUNSUPPORTED, n, "the output has more than %d dims", IR_MAX_DIMS);
    ir_tensor_set_shape(n->out[0], t, p->nout, dim);
    WR_TRY(plan(g, n, p, d));
    ir_node_add_scratch(g, n, t, p->scratch_count);
    p->scratch = n->nout - 1;
    n->priv = p;
    return WR_OK;
}

/* ---- reference: every combination of label values ---- */

Status op_einsum_eval(const Node *n, void *const *in, void *const *out, Diag *d)
{
    (void)d;
    const EinsumParams *p = n->priv;
    DType t = n->in[0]->dtype;
    int64_t total = 1, idx[EINSUM_LABELS] = {0}, ost[EINSUM_LABELS] = {0}, st = 1;
    for (int i = p->nout - 1; i >= 0; i--)
        ost[p->out[i]] = st, st *= p->size[p->out[i]];
    for (int l = 0; l < p->nlab; l++)
        total *= p->size[l] > 0 ? p->size[l] : (p->size[l] == 0 ? 0 : 1);
    int64_t numel = ir_tensor_numel(n->out[0]);
    for (int64_t i = 0; i < numel; i++)
        dtype_set_f64(t, out[0], i, 0.0);
    for (int64_t c = 0; c < total; c++) {
        double v = 1.0;
        int64_t o = 0;
        for (int k = 0; k < n->nin; k++) {
            int64_t off = 0;
            for (int l = 0; l < p->nlab; l++)
                off += idx[l] * p->stride[k][l];
            v *= dtype_get_f64(t, in[k], off);
        }
        for (int l = 0; l < p->nlab; l++)
            o += idx[l] * ost[l];
        dtype_set_f64(t, out[0], o, dtype_get_f64(t, out[0], o) + v);
        for (int l = p->nlab - 1; l >= 0; l--) { /* next combination */
            if (p->size[l] > 0 && ++idx[l] < p->size[l])
                break;
            idx[l] = 0;
        }
    }
    return WR_OK;
}
