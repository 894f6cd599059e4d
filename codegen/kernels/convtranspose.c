/*
 * ConvTranspose: gathered per output element. Output position o along a
 * dim reads input i = (o + pad0 - k*dil) / stride for the taps where that
 * division is exact and in range; all geometry is constant.
 */
#include "codegen.h"
#include "opparams.h"

/* Opens the tap loop of spatial dim j (letter v) and the checks of its input index. */
static void open_tap(Emitter *e, const Spatial *s, int j, char v)
{
    cg_open(e, "for (int64_t k%c = 0; k%c < %lld; k%c++)", v, v, (long long)s->k[j], v);
    cg_line(e, "const int64_t t%c = o%c + %lld - k%c * %lld;", v, v, (long long)s->pad0[j], v,
            (long long)s->dil[j]);
    cg_line(e, "if (t%c < 0 || t%c %% %lld != 0 || t%c / %lld >= %lld) continue;", v, v,
            (long long)s->stride[j], v, (long long)s->stride[j], (long long)s->in[j]);
    cg_line(e, "const int64_t i%c = t%c / %lld;", v, v, (long long)s->stride[j]);
}

Status cg_convtranspose_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const ConvTransposeParams *p = n->priv;
    const Spatial *s = &p->sp;
    const char *X = cg_in(e, 0), *W = cg_in(e, 1), *Y = cg_out(e, 0);
    const char *B = n->nin > 2 && n->in[2] ? cg_in(e, 2) : NULL;
    long long Cg = p->C / p->group, Mg = p->M / p->group;
    long long isz = s->in[0] * s->in[1] * s->in[2], ksz = s->k[0] * s->k[1] * s->k[2];
    cg_line(e, "int64_t j = 0;");
    cg_open(e, "for (int64_t nb = 0; nb < %lld; nb++)", (long long)p->N);
    cg_open(e, "for (int64_t m = 0; m < %lld; m++)", (long long)p->M);
    cg_line(e, "const int64_t c0 = m / %lld * %lld;", Mg, Cg);
    cg_open(e, "for (int64_t od = 0; od < %lld; od++)", (long long)s->out[0]);
    cg_open(e, "for (int64_t oh = 0; oh < %lld; oh++)", (long long)s->out[1]);
    cg_open(e, "for (int64_t ow = 0; ow < %lld; ow++, j++)", (long long)s->out[2]);
    cg_line(e, "float acc = 0.0f;");
    cg_open(e, "for (int64_t c = c0; c < c0 + %lld; c++)", Cg);
    cg_line(e, "const float *x = %s + (nb * %lld + c) * %lld;", X, (long long)p->C, isz);
    cg_line(e, "const float *w = %s + (c * %lld + m %% %lld) * %lld;", W, Mg, Mg, ksz);
    open_tap(e, s, 0, 'd');
    open_tap(e, s, 1, 'h');
    open_tap(e, s, 2, 'w');
    cg_line(e, "acc += x[(id * %lld + ih) * %lld + iw] * w[(kd * %lld + kh) * %lld + kw];",
            (long long)s->in[1], (long long)s->in[2], (long long)s->k[1], (long long)s->k[2]);
    for (int i = 0; i < 4; i++)
        cg_close(e);
    if (B)
        cg_line(e, "%s[j] = acc + %s[m];", Y, B);
    else
        cg_line(e, "%s[j] = acc;", Y);
    for (int i = 0; i < 5; i++)
        cg_close(e);
    return WR_OK;
}
