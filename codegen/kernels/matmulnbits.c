/*
 * com.microsoft::MatMulNBits (reference: ir/ops/matmulnbits.c): per output
 * row and column, per block, the codes are unpacked as integers and summed
 * against A in float, then the block's scale is applied once.
 */
#include "codegen.h"
#include "opparams.h"

Status cg_matmulnbits_emit(Emitter *e, const Node *n, Diag *d)
{
    (void)d;
    const MatMulNBitsParams *p = n->priv;
    long long K = p->K, N = p->N, KB = p->kblocks, BS = p->block, bits = p->bits;
    long long zrow = (p->kblocks * p->bits + 7) / 8;
    cg_open(e, "for (int64_t m = 0; m < %lld; m++)", (long long)p->M);
    cg_line(e, "const float *a = %s + m * %lld;", cg_in(e, 0), K);
    cg_open(e, "for (int64_t j = 0; j < %lld; j++)", N);
    cg_line(e, "float acc = 0.0f;");
    cg_open(e, "for (int64_t k = 0; k < %lld; k++)", KB);
    cg_line(e, "const uint8_t *blob = %s + (j * %lld + k) * %lld;", cg_in(e, 1), KB,
            (long long)p->blob);
    if (p->zp_kind == 1)
        cg_line(e, "const int32_t z = (%s[j * %lld + k * %lld / 8] >> (k * %lld %% 8)) & %d;",
                cg_in(e, 3), zrow, bits, bits, (1 << bits) - 1);
    else if (p->zp_kind == 2)
        cg_line(e, "const float z = %s[j * %lld + k];", cg_in(e, 3), KB);
    else
        cg_line(e, "const int32_t z = %d;", 1 << (bits - 1));
    cg_line(e, "const int64_t len = %lld - k * %lld < %lld ? %lld - k * %lld : %lld;", K, BS, BS,
            K, BS, BS);
    cg_line(e, "float s = 0.0f;");
    cg_open(e, "for (int64_t i = 0; i < len; i++)");
    cg_line(e, "const int32_t q = (blob[i * %lld / 8] >> (i * %lld %% 8)) & %d;", bits, bits,
            (1 << bits) - 1);
    if (p->zp_kind == 2)
        cg_line(e, "s += a[k * %lld + i] * ((float)q - z);", BS);
    else
        cg_line(e, "s += a[k * %lld + i] * (float)(q - z);", BS);
    cg_close(e);
    cg_line(e, "acc += s * %s[j * %lld + k];", cg_in(e, 2), KB);
    cg_close(e);
    if (p->bias)
        cg_line(e, "acc += %s[j];", cg_in(e, 5));
    cg_line(e, "%s[m * %lld + j] = acc;", cg_out(e, 0), N);
    cg_close(e);
    cg_close(e);
    return WR_OK;
}
