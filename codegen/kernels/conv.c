/*
 * Conv: direct convolution specialized to the node's shapes. Interior and
 * border are not yet split: every tap checks its bounds.
 */
#include "codegen.h"
#include "opparams.h"

Status cg_conv_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const ConvParams *p = n->priv;
    const Spatial *s = &p->sp;
    const char *X = cg_in(e, 0), *W = cg_in(e, 1), *Y = cg_out(e, 0);
    const char *B = n->nin > 2 && n->in[2] ? cg_in(e, 2) : NULL;
    long long Cg = p->C / p->group, Mg = p->M / p->group;
    cg_open(e, "for (int32_t nb = 0; nb < %lld; nb++)", (long long)p->N);
    cg_open(e, "for (int32_t m = 0; m < %lld; m++)", (long long)p->M);
    cg_line(e, "const int32_t cbase = (int32_t)(m / %lld) * %lld;", Mg, Cg);
    cg_open(e, "for (int32_t od = 0; od < %lld; od++)", (long long)s->out[0]);
    cg_open(e, "for (int32_t oh = 0; oh < %lld; oh++)", (long long)s->out[1]);
    cg_open(e, "for (int32_t ow = 0; ow < %lld; ow++)", (long long)s->out[2]);
    cg_line(e, "float acc = %s;", B ? "0.0f" : "0.0f");
    cg_open(e, "for (int32_t c = 0; c < %lld; c++)", Cg);
    cg_open(e, "for (int32_t kd = 0; kd < %lld; kd++)", (long long)s->k[0]);
    cg_line(e, "const int32_t id = od * %lld - %lld + kd * %lld;", (long long)s->stride[0],
            (long long)s->pad0[0], (long long)s->dil[0]);
    cg_line(e, "if (id < 0 || id >= %lld) continue;", (long long)s->in[0]);
    cg_open(e, "for (int32_t kh = 0; kh < %lld; kh++)", (long long)s->k[1]);
    cg_line(e, "const int32_t ih = oh * %lld - %lld + kh * %lld;", (long long)s->stride[1],
            (long long)s->pad0[1], (long long)s->dil[1]);
    cg_line(e, "if (ih < 0 || ih >= %lld) continue;", (long long)s->in[1]);
    cg_open(e, "for (int32_t kw = 0; kw < %lld; kw++)", (long long)s->k[2]);
    cg_line(e, "const int32_t iw = ow * %lld - %lld + kw * %lld;", (long long)s->stride[2],
            (long long)s->pad0[2], (long long)s->dil[2]);
    cg_line(e, "if (iw < 0 || iw >= %lld) continue;", (long long)s->in[2]);
    cg_line(e, "acc += %s[((nb * %lld + cbase + c) * %lld + id) * %lld + ih * %lld + iw] * "
               "%s[((m * %lld + c) * %lld + kd) * %lld + kh * %lld + kw];",
            X, (long long)p->C, (long long)s->in[0], (long long)(s->in[1] * s->in[2]),
            (long long)s->in[2], W, Cg, (long long)s->k[0], (long long)(s->k[1] * s->k[2]),
            (long long)s->k[2]);
    for (int i = 0; i < 4; i++)
        cg_close(e);
    cg_line(e, "%s[((nb * %lld + m) * %lld + od) * %lld + oh * %lld + ow] = acc%s;", Y,
            (long long)p->M, (long long)s->out[0], (long long)(s->out[1] * s->out[2]),
            (long long)s->out[2], B ? " + in2[m]" : "");
    for (int i = 0; i < 5; i++)
        cg_close(e);
    return WR_OK;
}
