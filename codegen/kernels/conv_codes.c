/*
 * A Conv that writes codes (a quantizer folded into it: passes/quant_float.c;
 * reference: ir/ops/conv.c). The packed GEMM of sgemm.c runs on blocks of qblock
 * output channels by qpix output pixels into the scratch output 1 ([qblock][qpix]),
 * and each block is quantized into the codes right away (cg_quant_code, stored
 * through the layout table): no float tensor of the whole output exists. Where the
 * scratch holds every channel of a chunk of pixels (qblock = M), each chunk's input
 * is packed once for all channels, in full micro-kernel rows. The weights (and bias)
 * are padded to whole blocks with zeros at compile time; the padded channels are
 * never stored.
 */
#include "codegen.h"
#include "opparams.h"
#include "quant.h"

#include <stdlib.h>
#include <string.h>

static Arena *arena(Emitter *e) { return &((Graph *)e->g)->arena; }

/* Weights (M, K) padded to nblk * Mb rows, in the arena. */
static const float *padded_weights(Emitter *e, const Node *n, int64_t rows, int64_t K)
{
    float *w = arena_alloc(arena(e), sizeof(float) * (size_t)(rows * K + 1));
    memcpy(w, n->in[1]->data, sizeof(float) * (size_t)(n->in[1]->dim[0] * K));
    return w;
}

/* The bias padded to rows values, as a constant array; NULL without bias. */
static const char *padded_bias(Emitter *e, const Node *n, int64_t rows)
{
    const Tensor *B = n->nin > 2 ? n->in[2] : NULL;
    if (!B)
        return NULL;
    if (!B->data) /* a run-time bias: the blocks read it in place */
        return cg_in(e, 2);
    float *b = arena_alloc(arena(e), sizeof(float) * (size_t)(rows + 1));
    memcpy(b, B->data, sizeof(float) * (size_t)B->dim[0]);
    return cg_const_array(e, "qbias", DT_F32, b, rows);
}

/* Planes when the scratch holds every channel (qblock = M): per W pixels from qp and
 * word of 64 channels, the bit planes are built in registers (pixels along the vector
 * lanes) and each stored once, not read, modified and written per code. */
static void planes_words(Emitter *e, const Node *n, int64_t npix, const char *qc0, int W)
{
    const ConvParams *p = n->priv;
    const Tensor *y = n->out[0];
    long long Cg = (long long)layout_cg(y), CW = (long long)layout_plane_words(y);
    long long P = (long long)ir_tensor_pixels(y), G = (long long)y->group;
    int bits = y->q->bits;
    cg_open(e, "for (int64_t qg = 0; qg < %lld; qg++) for (int64_t qw = 0; qw < %lld; qw++)",
            G, CW);
    cg_line(e, "uint64_t qb[%d][%d] = {{0}};", bits, W);
    cg_open(e, "for (int64_t qi = 0; qi < %lld - qw * 64 && qi < 64; qi++)", Cg);
    cg_line(e, "const int64_t qm = qg * %lld + qw * 64 + qi;", Cg);
    cg_open(e, "for (int32_t qj = 0; qj < %d; qj++)", W);
    cg_line(e, "const float qy = %s[qm * %lld + qp + qj];", cg_out(e, 1), (long long)npix);
    cg_line(e, "int32_t qc;");
    cg_quant_code(e, p->qout, "qm", "qy", "qc");
    for (int i = 0; i < bits; i++)
        cg_line(e, "qb[%d][qj] |= (uint64_t)((uint32_t)qc >> %d & 1u) << qi;", i, i);
    cg_close(e);
    cg_close(e);
    cg_open(e, "for (int32_t qj = 0; qj < %d; qj++)", W);
    cg_line(e, "uint64_t *qx = %s + ((qimg * %lld + qg) * %lld + %s + qp + qj) * %lld + qw;",
            cg_out(e, 0), G, P, qc0, bits * CW);
    for (int i = 0; i < bits; i++)
        cg_line(e, "qx[%lld] = qb[%d][qj];", i * CW, i);
    cg_close(e);
    cg_close(e);
}

/* The quantized block of every channel into planes: groups of 8 pixels, then one by one. */
static void planes_block(Emitter *e, const Node *n, int64_t npix, const char *qc0)
{
    cg_open(e, "for (int64_t qp = 0; qp < %lld; qp += 8)", (long long)(npix / 8 * 8));
    planes_words(e, n, npix, qc0, 8);
    cg_close(e);
    if (npix % 8 == 0)
        return;
    cg_open(e, "for (int64_t qp = %lld; qp < %lld; qp++)", (long long)(npix / 8 * 8),
            (long long)npix);
    planes_words(e, n, npix, qc0, 1);
    cg_close(e);
}

/* Whether blocks go through planes_block: every channel in the scratch, planes out. */
static bool planes_fast(const Node *n)
{
    const ConvParams *p = n->priv;
    return n->out[0]->layout == LAYOUT_PLANES && p->qblock == p->M;
}

/* The block of channels qblk by the npix pixels from qc0 (C expressions): GEMM into
 * the scratch, then quantized into the codes. */
static void emit_block(Emitter *e, const Node *n, SgemmSpec g, int64_t npix, const char *qc0)
{
    const ConvParams *p = n->priv;
    long long Mb = (long long)p->qblock;
    g.N = g.ldy = npix;
    g.noff = qc0;
    cg_sgemm(e, &g);
    if (planes_fast(n)) {
        planes_block(e, n, npix, qc0);
        return;
    }
    cg_open(e, "for (int64_t qm = qblk * %lld; qm < %lld && qm < (qblk + 1) * %lld; qm++)", Mb,
            (long long)p->M, Mb);
    cg_open(e, "for (int64_t qp = 0; qp < %lld; qp++)", (long long)npix);
    cg_line(e, "const float qy = %s[(qm - qblk * %lld) * %lld + qp];", cg_out(e, 1), Mb,
            (long long)npix);
    cg_line(e, "int32_t qc;");
    cg_quant_code(e, p->qout, "qm", "qy", "qc");
    cg_layout_put(e, n->out[0], cg_out(e, 0), "qimg", "qm",
                  arena_printf(arena(e), "%s + qp", qc0), "qc");
    cg_close(e);
    cg_close(e);
}

/* Every block of one image: whole chunks of qpix pixels in a loop, then the rest. */
static void emit_blocks(Emitter *e, const Node *n, const SgemmSpec *g, int64_t nblk)
{
    const ConvParams *p = n->priv;
    const Spatial *s = &p->sp;
    int64_t osz = s->out[0] * s->out[1] * s->out[2], Q = p->qpix;
    int64_t whole = Q > 0 ? osz / Q * Q : 0;
    if (whole > 0) {
        cg_open(e, "for (int64_t qc0 = 0; qc0 < %lld; qc0 += %lld)", (long long)whole,
                (long long)Q);
        cg_open(e, "for (int64_t qblk = 0; qblk < %lld; qblk++)", (long long)nblk);
        emit_block(e, n, *g, Q, "qc0");
        cg_close(e);
        cg_close(e);
    }
    if (osz > whole) {
        cg_open(e, "for (int64_t qblk = 0; qblk < %lld; qblk++)", (long long)nblk);
        emit_block(e, n, *g, osz - whole, arena_printf(arena(e), "%lld", (long long)whole));
        cg_close(e);
    }
}

Status cg_conv_codes_emit(Emitter *e, const Node *n, Diag *d)
{
    const ConvParams *p = n->priv;
    const Spatial *s = &p->sp;
    const Tensor *y = n->out[0];
    int64_t Mb = p->qblock, nblk = (p->M + Mb - 1) / Mb;
    int64_t isz = s->in[0] * s->in[1] * s->in[2], osz = s->out[0] * s->out[1] * s->out[2];
    int64_t K = p->C * s->k[0] * s->k[1] * s->k[2];
    if (!n->in[1]->data || (n->nin > 2 && n->in[2] && !n->in[2]->data && p->M % Mb))
        return diag_node(d, WR_EUNSUPPORTED, n, "codes out need constant weights and bias");
    if (p->C * isz > INT32_MAX || Mb * osz > INT32_MAX) /* sgemm.c's im2col: int32_t offsets */
        return diag_node(d, WR_EUNSUPPORTED, n, "convolution of more than 2^31 elements per "
                                                "image (im2col indexes with int32_t)");
    SgemmSpec g = {.M = Mb, .K = K, .nouter = 1, .alpha = 1.0f, .act_node = n, .conv = p,
                   .Y = cg_out(e, 1)};
    g.A = (SgemmOperand){.sk = 1, .so = K, .data = padded_weights(e, n, nblk * Mb, K),
                         .nconst = nblk, .cstride = Mb * K, .cidx = "qblk"};
    g.B.base = arena_printf(arena(e), "%s + qimg * %lld", cg_in(e, 0), (long long)(p->C * isz));
    const char *B = padded_bias(e, n, nblk * Mb);
    if (B)
        g.bias = arena_printf(arena(e), "%s + qblk * %lld", B, (long long)Mb);
    if (y->layout != LAYOUT_DENSE && !planes_fast(n))
        cg_line(e, "memset(%s, 0, %lld);", cg_out(e, 0), (long long)ir_tensor_bytes(y));
    cg_line(e, "/* %lld output channels by %lld pixels at a time through the scratch, then "
               "quantized */", (long long)Mb, (long long)p->qpix);
    cg_open(e, "for (int64_t qimg = 0; qimg < %lld; qimg++)", (long long)p->N);
    emit_blocks(e, n, &g, nblk);
    cg_close(e);
    return WR_OK;
}
