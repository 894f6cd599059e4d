/*
 * test_printer.c: text the code generator prints (codegen/printer.c,
 * cg_literal and cg_comment_safe in codegen/emit.c): literals read back
 * exactly (hex floats), the values C cannot write directly (INT64_MIN,
 * INT32_MIN, NaN, infinities), buffers that grow, and model names made safe
 * for comments.
 */
#include "unit.h"

#include "codegen.h"

#include <math.h>
#include <stdlib.h>

static const char *lit(Buf *b, DType t, const void *data, int64_t i)
{
    b->len = 0;
    if (b->p)
        b->p[0] = 0;
    cg_literal(b, t, data, i);
    return b->p;
}

static void test_float_exact(void **state)
{
    (void)state;
    Buf b = {0};
    float f[] = {0.1f, -3.0e-38f, 1.4e-45f /* denormal */, 3.4028235e38f, -0.0f, 1.0f};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        const char *s = lit(&b, DT_F32, f, (int64_t)i);
        assert_non_null(strstr(s, "0x"));
        assert_int_equal(s[strlen(s) - 1], 'f'); /* a float literal, not a double */
        float back = strtof(s, NULL);
        assert_memory_equal(&back, &f[i], sizeof back); /* bit-exact, sign of zero too */
    }
    double dv[] = {0.1, 1e-310, -1.7976931348623157e308};
    for (size_t i = 0; i < sizeof dv / sizeof dv[0]; i++) {
        const char *s = lit(&b, DT_F64, dv, (int64_t)i);
        assert_int_not_equal(s[strlen(s) - 1], 'f');
        double back = strtod(s, NULL);
        assert_memory_equal(&back, &dv[i], sizeof back);
    }
    buf_free(&b);
}

static void test_nan_inf(void **state)
{
    (void)state;
    Buf b = {0};
    float f[] = {NAN, INFINITY, -INFINITY};
    assert_string_equal(lit(&b, DT_F32, f, 0), "NAN");
    assert_string_equal(lit(&b, DT_F32, f, 1), "INFINITY");
    assert_string_equal(lit(&b, DT_F32, f, 2), "-INFINITY");
    double d[] = {-NAN, -INFINITY}; /* cast: a float constant in a double is promoted */
    assert_string_equal(lit(&b, DT_F64, d, 0), "(double)NAN");
    assert_string_equal(lit(&b, DT_F64, d, 1), "-(double)INFINITY");
    buf_free(&b);
}

static void test_integers(void **state)
{
    (void)state;
    Buf b = {0};
    int64_t i64[] = {INT64_MIN, INT64_MAX, -1, 0};
    assert_string_equal(lit(&b, DT_I64, i64, 0), "(-INT64_C(9223372036854775807) - 1)");
    assert_string_equal(lit(&b, DT_I64, i64, 1), "INT64_C(9223372036854775807)");
    assert_string_equal(lit(&b, DT_I64, i64, 2), "INT64_C(-1)");
    int32_t i32[] = {INT32_MIN, INT32_MAX};
    assert_string_equal(lit(&b, DT_I32, i32, 0), "(-2147483647 - 1)");
    assert_string_equal(lit(&b, DT_I32, i32, 1), "2147483647");
    uint64_t u64[] = {UINT64_MAX};
    assert_string_equal(lit(&b, DT_U64, u64, 0), "UINT64_C(18446744073709551615)");
    uint32_t u32[] = {UINT32_MAX};
    assert_string_equal(lit(&b, DT_U32, u32, 0), "4294967295u");
    int8_t i8[] = {-128};
    assert_string_equal(lit(&b, DT_I8, i8, 0), "-128");
    uint8_t bl[] = {1};
    assert_string_equal(lit(&b, DT_BOOL, bl, 0), "1");
    buf_free(&b);
}

static void test_buf_growth(void **state)
{
    (void)state;
    Buf b = {0};
    for (int i = 0; i < 10000; i++)
        buf_printf(&b, "%d,", i % 10);
    assert_int_equal(b.len, 20000);
    assert_int_equal(strlen(b.p), 20000);
    char big[9000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = 0;
    buf_puts(&b, big);
    assert_int_equal(b.len, 20000 + sizeof big - 1);
    buf_free(&b);
    assert_null(b.p);
}

static void test_comment_safe(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    Emitter e = {0};
    e.g = g;
    const char *s = cg_comment_safe(&e, "a*/b/*c?\?/\\\n\td\x80/ok");
    assert_null(strstr(s, "*/"));
    assert_null(strstr(s, "/*"));
    assert_null(strstr(s, "??"));
    assert_null(strchr(s, '\\'));
    assert_null(strchr(s, '\n'));
    assert_non_null(strstr(s, "/ok"));
    assert_string_equal(cg_comment_safe(&e, "model/conv1/Conv:0"), "model/conv1/Conv:0");
    ir_graph_free(g);
}

/* --weights blob: cg_const_array returns an expression over `wts` at a
 * 64-byte aligned offset, stores the data little-endian, and marks the node
 * function as reading the blob. */
static void test_blob_constants(void **state)
{
    (void)state;
    Graph *g = unit_graph();
    CodegenOptions o = {"m", TARGET_GENERIC, WEIGHTS_BLOB, "m.onnx", 0};
    Emitter e = {0};
    e.g = g;
    e.opt = &o;
    const float f[] = {1.5f, -2.0f, 3.25f};
    const int64_t i64[] = {INT64_MIN, 7};
    const uint8_t none[1] = {0};
    assert_string_equal(cg_const_array(&e, "c", DT_F32, f, 3), "((const float *)(wts + 0))");
    assert_true(e.wts_used);
    assert_string_equal(cg_const_array(&e, "c", DT_U8, none, 0), "((const uint8_t *)(wts + 64))");
    assert_string_equal(cg_const_array(&e, "c", DT_I64, i64, 2), "((const int64_t *)(wts + 128))");
    assert_int_equal(e.blob.len, 192);
    const unsigned char *b = (const unsigned char *)e.blob.p;
    static const unsigned char f0[] = {0x00, 0x00, 0xc0, 0x3f}; /* 1.5f, little-endian */
    assert_memory_equal(b, f0, 4);
    for (int i = 12; i < 128; i++)
        assert_int_equal(b[i], 0); /* padding and the empty constant */
    static const unsigned char m0[] = {0, 0, 0, 0, 0, 0, 0, 0x80, 7, 0, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(b + 128, m0, sizeof m0);
    buf_free(&e.blob);
    buf_free(&e.consts);
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float_exact), cmocka_unit_test(test_nan_inf),
        cmocka_unit_test(test_integers),    cmocka_unit_test(test_buf_growth),
        cmocka_unit_test(test_comment_safe), cmocka_unit_test(test_blob_constants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
