/*
 * test_dtype.c: the element-type table (ir/dtypes.def, ir/dtype.c): ONNX
 * codes map both ways, sizes match the C types, unknown codes are DT_UNDEF,
 * and typed element access round-trips.
 */
#include "unit.h"

static void test_table(void **state)
{
    (void)state;
    static const struct {
        int onnx, bytes;
        const char *ctype;
    } want[] = {{1, 4, "float"},   {2, 1, "uint8_t"},  {3, 1, "int8_t"},   {4, 2, "uint16_t"},
                {5, 2, "int16_t"}, {6, 4, "int32_t"},  {7, 8, "int64_t"},  {9, 1, "uint8_t"},
                {11, 8, "double"}, {12, 4, "uint32_t"}, {13, 8, "uint64_t"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        DType t = dtype_from_onnx(want[i].onnx);
        assert_int_not_equal(t, DT_UNDEF);
        assert_int_equal(dtype_info[t].onnx, want[i].onnx);
        assert_int_equal(dtype_info[t].bytes, want[i].bytes);
        assert_string_equal(dtype_info[t].ctype, want[i].ctype);
    }
    /* Every entry has a distinct ONNX code and a name. */
    for (int a = 1; a < DT_COUNT; a++) {
        assert_int_equal(dtype_from_onnx(dtype_info[a].onnx), a);
        assert_true(strlen(dtype_info[a].name) > 0);
    }
}

static void test_unknown(void **state)
{
    (void)state;
    int bad[] = {0, 8 /* string */, 14 /* complex64 */, 15, 27 /* float6 */, 100, -1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(dtype_from_onnx(bad[i]), DT_UNDEF);
}

static void test_classes(void **state)
{
    (void)state;
    assert_true(dtype_is_float(DT_F32));
    assert_true(dtype_is_float(DT_F64));
    assert_false(dtype_is_float(DT_I32));
    assert_true(dtype_is_signed_int(DT_I8));
    assert_true(dtype_is_signed_int(DT_I64));
    assert_false(dtype_is_signed_int(DT_U8));
    assert_false(dtype_is_signed_int(DT_BOOL));
    assert_false(dtype_is_signed_int(DT_F32));
}

static void test_access(void **state)
{
    (void)state;
    unsigned char buf[64];
    for (int t = 1; t < DT_COUNT; t++) {
        memset(buf, 0, sizeof buf);
        double v = dtype_is_narrow_float((DType)t) ? 4.0 : 5.0; /* 5 is not in float4e2m1 */
        dtype_set_f64((DType)t, buf, 3, v);
        assert_true(dtype_get_f64((DType)t, buf, 3) == v);
        assert_int_equal(dtype_get_i64((DType)t, buf, 3), (int64_t)v);
        assert_int_equal(dtype_get_i64((DType)t, buf, 2), 0);
    }
    int8_t i8[2] = {-128, 127};
    assert_int_equal(dtype_get_i64(DT_I8, i8, 0), -128);
    int64_t i64 = INT64_MIN;
    assert_int_equal(dtype_get_i64(DT_I64, &i64, 0), INT64_MIN);
    uint8_t u8 = 255;
    assert_int_equal(dtype_get_i64(DT_U8, &u8, 0), 255);
    float f[1];
    dtype_set_f64(DT_F32, f, 0, 0.1);
    assert_true(f[0] == 0.1f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_access),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
