/*
 * test_quant.c: the reference quantizers (ir/quant.c) against hand-computed
 * values, ties included, and the packed layouts of runtime/wrpnc_pack.h:
 * pack then unpack is bit-exact, bit positions follow the documented diagrams,
 * and the sign-magnitude popcount identity reproduces a naive integer dot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "quant.h"
#include "wrpnc_pack.h"

static void test_act_ties(void **state)
{
    (void)state;
    assert_int_equal(quant_wrpn_act_code_ref(0.5f, 1), 0); /* 0.5 itself gives 0 */
    assert_int_equal(quant_wrpn_act_code_ref(0.5000001f, 1), 1);
    assert_int_equal(quant_wrpn_act_code_ref(-3.0f, 1), 0);
    assert_int_equal(quant_wrpn_act_code_ref(7.0f, 1), 1);
    assert_int_equal(quant_wrpn_act_code_ref(0.5f, 2), 2);  /* 1.5 -> 2 */
    assert_int_equal(quant_wrpn_act_code_ref(0.25f, 2), 1); /* 0.75 -> 1 */
    assert_int_equal(quant_wrpn_act_code_ref(0.5f, 4), 8);  /* 7.5 -> 8 */
    assert_int_equal(quant_wrpn_act_code_ref(0.5f, 8), 128); /* 127.5 -> 128 */
    assert_int_equal(quant_wrpn_act_code_ref(1.0f, 8), 255);
    assert_true(quant_wrpn_act_ref(0.5f, 2) == 2.0f / 3.0f);
}

static void test_weight_ties(void **state)
{
    (void)state;
    assert_int_equal(quant_wrpn_weight_code_ref(0.5f, 2), 0); /* ternary: |w| = 0.5 -> 0 */
    assert_int_equal(quant_wrpn_weight_code_ref(-0.5f, 2), 0);
    assert_int_equal(quant_wrpn_weight_code_ref(0.51f, 2), 1);
    assert_int_equal(quant_wrpn_weight_code_ref(-0.6f, 2), -1);
    assert_int_equal(quant_wrpn_weight_code_ref(-1.0f, 4), -7); /* never -8 */
    assert_int_equal(quant_wrpn_weight_code_ref(-5.0f, 4), -7);
    assert_int_equal(quant_wrpn_weight_code_ref(0.07f, 4), 0); /* |w| < 1/14 -> 0 */
    assert_int_equal(quant_wrpn_weight_code_ref(-0.0714f, 4), 0);
    assert_int_equal(quant_wrpn_weight_code_ref(0.0715f, 4), 1);
    assert_int_equal(quant_wrpn_weight_code_ref(0.5f, 4), 4);  /* 3.5 -> 4 */
    assert_int_equal(quant_wrpn_weight_code_ref(0.5f, 8), 64); /* 63.5 -> 64 */
    assert_true(quant_wrpn_weight_ref(1.0f, 4) == 1.0f);
}

static void test_binary(void **state)
{
    (void)state;
    const float W[8] = {0.0f, -0.5f, 1.0f, -2.5f, 0.25f, 0.25f, -0.25f, -0.25f};
    int8_t code[8];
    float alpha[2];
    quant_wrpn_binary_ref(W, 2, 4, code, alpha);
    const int8_t want[8] = {1, -1, 1, -1, 1, 1, -1, -1}; /* sign(0) = +1 */
    assert_memory_equal(code, want, 8);
    assert_true(alpha[0] == 1.0f);
    assert_true(alpha[1] == 0.25f);
}

static void test_intquant(void **state)
{
    (void)state;
    assert_true(quant_int_code_ref(1.25f, 0.5f, 0, 8, 1, 0, QROUND_HALF_EVEN) == 2.0f);
    assert_true(quant_int_code_ref(1.75f, 0.5f, 0, 8, 1, 0, QROUND_HALF_EVEN) == 4.0f);
    assert_true(quant_int_code_ref(-1.25f, 0.5f, 0, 8, 1, 0, QROUND_TO_ZERO) == -2.0f);
    assert_true(quant_int_code_ref(1.05f, 0.5f, 0, 8, 1, 0, QROUND_CEIL) == 3.0f);
    assert_true(quant_int_code_ref(-1.05f, 0.5f, 0, 8, 1, 0, QROUND_FLOOR) == -3.0f);
    assert_true(quant_int_code_ref(-100, 1, 0, 4, 1, 0, QROUND_HALF_EVEN) == -8.0f);
    assert_true(quant_int_code_ref(-100, 1, 0, 4, 1, 1, QROUND_HALF_EVEN) == -7.0f);
    assert_true(quant_int_code_ref(100, 1, 0, 4, 1, 1, QROUND_HALF_EVEN) == 7.0f);
    assert_true(quant_int_code_ref(100, 1, 0, 4, 0, 1, QROUND_HALF_EVEN) == 14.0f);
    assert_true(quant_int_code_ref(100, 1, 0, 4, 0, 0, QROUND_HALF_EVEN) == 15.0f);
    assert_true(quant_int_code_ref(-3, 1, 0, 4, 0, 0, QROUND_HALF_EVEN) == 0.0f);
    assert_true(quant_int_code_ref(1.0f, 0.5f, 3, 8, 0, 0, QROUND_HALF_EVEN) == 5.0f);
    assert_true(quant_int_ref(1.0f, 0.5f, 3, 8, 0, 0, QROUND_HALF_EVEN) == 1.0f);
    assert_true(quant_int_ref(0.3f, 0.25f, 0, 2, 1, 1, QROUND_HALF_EVEN) == 0.25f);
    assert_true(quant_bipolar_ref(0.0f, 2.0f) == 2.0f);
    assert_true(quant_bipolar_ref(-0.0f, 2.0f) == 2.0f);
    assert_true(quant_bipolar_ref(-1e-9f, 2.0f) == -2.0f);
    assert_int_equal(quant_round_mode("ROUND_TO_ZERO"), QROUND_TO_ZERO);
    assert_int_equal(quant_round_mode("nope"), -1);
}

static void test_linear(void **state)
{
    (void)state;
    assert_int_equal(quant_linear_ref(2.5f, 1.0f, 0, -128, 127), 2);
    assert_int_equal(quant_linear_ref(3.5f, 1.0f, 0, -128, 127), 4);
    assert_int_equal(quant_linear_ref(-300.0f, 1.0f, 0, -128, 127), -128);
    assert_int_equal(quant_linear_ref(1.0f, 0.5f, 128, 0, 255), 130);
    assert_int_equal(quant_linear_ref(1e30f, 1e-30f, 0, -8, 7), 7);
    assert_true(dequant_linear_ref(130, 0.5f, 128) == 1.0f);
}

static void test_planes(void **state)
{
    (void)state;
    const int64_t Ks[] = {1, 63, 64, 65, 130};
    uint8_t a[130], b[130];
    uint64_t planes[8 * 3];
    srand(1);
    for (int k = 1; k <= 8; k++)
        for (size_t t = 0; t < sizeof Ks / sizeof Ks[0]; t++) {
            int64_t K = Ks[t], W = WRPNC_PLANE_WORDS(K);
            for (int64_t e = 0; e < K; e++)
                a[e] = (uint8_t)(rand() & ((1 << k) - 1));
            wrpnc_pack_planes_u8(a, K, k, planes);
            for (int i = 0; i < k; i++) /* the tail past K is zero */
                assert_true((planes[i * W + W - 1] & ~WRPNC_MASK64(K - 64 * (W - 1))) == 0);
            memset(b, 0xff, sizeof b);
            wrpnc_unpack_planes_u8(planes, K, k, b);
            assert_memory_equal(a, b, (size_t)K);
        }
    memset(a, 0, sizeof a);
    a[65] = 1; /* element 65 = bit 1 of word 1 */
    a[0] = 2;  /* bit 1 of code 0 = bit 0 of plane 1 */
    wrpnc_pack_planes_u8(a, 130, 2, planes);
    assert_true(planes[0] == 0 && planes[1] == 2 && planes[2] == 0);
    assert_true(planes[3] == 1 && planes[4] == 0 && planes[5] == 0);
}

/* sum a*q via the sign-magnitude planes equals the naive integer dot */
static void test_signmag(void **state)
{
    (void)state;
    enum { K = 150 };
    uint8_t a[K];
    int8_t q[K], r[K];
    uint64_t A[8 * 3], P[7 * 3], N[7 * 3];
    srand(2);
    for (int kw = 2; kw <= 8; kw++)
        for (int ka = 1; ka <= 8; ka++) {
            int m = kw - 1, M = (1 << m) - 1;
            int64_t naive = 0, fast = 0;
            for (int e = 0; e < K; e++) {
                a[e] = (uint8_t)(rand() & ((1 << ka) - 1));
                q[e] = (int8_t)(rand() % (2 * M + 1) - M);
                naive += (int64_t)a[e] * q[e];
            }
            wrpnc_pack_planes_u8(a, K, ka, A);
            wrpnc_pack_signmag_i8(q, K, m, P, N);
            wrpnc_unpack_signmag_i8(P, N, K, m, r);
            assert_memory_equal(q, r, K);
            for (int i = 0; i < ka; i++)
                for (int j = 0; j < m; j++)
                    for (int w = 0; w < 3; w++)
                        fast += ((int64_t)wrpnc_popcount64(A[i * 3 + w] & P[j * 3 + w]) -
                                 wrpnc_popcount64(A[i * 3 + w] & N[j * 3 + w])) *
                                ((int64_t)1 << (i + j)); /* a multiply: the difference may be < 0 */
            assert_true(fast == naive);
        }
}

static void test_subbyte(void **state)
{
    (void)state;
    const uint8_t x4[3] = {1, 2, 3};
    uint8_t p[4], u[16];
    wrpnc_pack_subbyte(x4, 3, 4, p);
    assert_int_equal(p[0], 0x21); /* low nibble first */
    assert_int_equal(p[1], 0x03);
    const int8_t x2[4] = {1, -1, 0, -2};
    wrpnc_pack_subbyte((const uint8_t *)x2, 4, 2, p);
    assert_int_equal(p[0], 1 | 3 << 2 | 0 << 4 | 2 << 6);
    wrpnc_unpack_subbyte(p, 4, 2, 1, u);
    assert_memory_equal(u, x2, 4);
    int8_t all[16];
    for (int i = 0; i < 16; i++)
        all[i] = (int8_t)(i - 8);
    uint8_t big[8];
    wrpnc_pack_subbyte((const uint8_t *)all, 15, 4, big);
    assert_int_equal(big[7] >> 4, 0); /* odd tail: high nibble zero */
    wrpnc_unpack_subbyte(big, 15, 4, 1, u);
    assert_memory_equal(u, all, 15);
    wrpnc_unpack_subbyte(big, 15, 4, 0, u);
    for (int i = 0; i < 15; i++)
        assert_int_equal(u[i], (uint8_t)(all[i] & 15));
    assert_true(WRPNC_SETBITS(UINT64_C(0xff), 0, 4, 2) == 0xcf);
    assert_true(WRPNC_GETBITS(UINT64_C(0xf0), 4, 3) == 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_act_ties),  cmocka_unit_test(test_weight_ties),
        cmocka_unit_test(test_binary),    cmocka_unit_test(test_intquant),
        cmocka_unit_test(test_linear),    cmocka_unit_test(test_planes),
        cmocka_unit_test(test_signmag),   cmocka_unit_test(test_subbyte),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
