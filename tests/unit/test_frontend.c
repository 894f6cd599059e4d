/*
 * test_frontend.c: the frontend's small parsers: --input-shape arguments
 * (fe_parse_input_shape) accepted and refused, and TensorProto files written
 * by fe_tensor_write_pb read back by fe_tensor_read_pb; a missing or
 * garbage file is an error naming it.
 */
#include "unit.h"

#include "frontend.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void test_shape_ok(void **state)
{
    (void)state;
    InputShape s;
    Diag d = {0};
    assert_int_equal(fe_parse_input_shape("1x3x224x224", &s, &d), WR_OK);
    assert_string_equal(s.name, "");
    assert_int_equal(s.ndim, 4);
    assert_int_equal(s.dim[3], 224);
    assert_int_equal(fe_parse_input_shape("input:0=8", &s, &d), WR_OK);
    assert_string_equal(s.name, "input:0");
    assert_int_equal(s.ndim, 1);
    assert_int_equal(s.dim[0], 8);
    assert_int_equal(fe_parse_input_shape("a=b=0x5", &s, &d), WR_OK); /* last '=' splits */
    assert_string_equal(s.name, "a=b");
    assert_int_equal(s.dim[0], 0);
    assert_int_equal(fe_parse_input_shape("x=", &s, &d), WR_OK); /* a scalar */
    assert_int_equal(s.ndim, 0);
    assert_int_equal(fe_parse_input_shape("1x1x1x1x1x1x1x9223372036854775807", &s, &d), WR_OK);
    assert_int_equal(s.dim[7], INT64_MAX);
    assert_int_equal(d.status, WR_OK);
}

static void test_shape_bad(void **state)
{
    (void)state;
    const char *bad[] = {"1xx2", "1x", "x1", "-1", "1x-2", "a=b", "1x1x1x1x1x1x1x1x1",
                         "99999999999999999999", "=1x2", " 3", "+3", "3 ", "1x2y", "1x 2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        InputShape s;
        Diag d = {0};
        if (fe_parse_input_shape(bad[i], &s, &d) != WR_EUSAGE)
            fail_msg("'%s' accepted", bad[i]);
        assert_non_null(strstr(d.msg, "--input-shape"));
    }
    char longname[400];
    memset(longname, 'n', 300);
    strcpy(longname + 300, "=1");
    InputShape s;
    Diag d = {0};
    assert_int_equal(fe_parse_input_shape(longname, &s, &d), WR_EUSAGE);
}

static void test_tensor_roundtrip(void **state)
{
    (void)state;
    char path[] = "/tmp/wrpnc-unit-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    const int64_t dim[] = {2, 3};
    const int64_t v[] = {INT64_MIN, -1, 0, 1, 2, INT64_MAX};
    Diag d = {0};
    assert_int_equal(fe_tensor_write_pb(path, "t", DT_I64, 2, dim, v, &d), WR_OK);
    HostTensor h;
    assert_int_equal(fe_tensor_read_pb(path, &h, &d), WR_OK);
    assert_string_equal(h.name, "t");
    assert_int_equal(h.dtype, DT_I64);
    assert_int_equal(h.ndim, 2);
    assert_int_equal(h.bytes, sizeof v);
    assert_memory_equal(h.data, v, sizeof v);
    fe_host_tensor_free(&h);
    FILE *f = fopen(path, "wb"); /* garbage */
    fputs("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", f);
    fclose(f);
    Diag e = {0};
    assert_int_equal(fe_tensor_read_pb(path, &h, &e), WR_EPARSE);
    assert_non_null(strstr(e.msg, path));
    unlink(path);
    Diag m = {0};
    assert_int_equal(fe_tensor_read_pb(path, &h, &m), WR_EIO);
    assert_non_null(strstr(m.msg, path)); /* the message names the missing file */
}

/* Narrow float codes in int32_data (float4 packed two per entry), as written by
 *   onnx.helper.make_tensor("h", T, [3], [1.0, 0.5, -2.0], raw=False).SerializeToString()
 * for T = FLOAT16, FLOAT8E4M3FN, FLOAT4E2M1. */
static void test_tensor_narrow_fields(void **state)
{
    (void)state;
    static const struct {
        const char *pb;
        size_t len;
        DType t;
        unsigned code[3];
    } c[] = {
        {"\x08\x03\x10\x0a\x2a\x07\x80\x78\x80\x70\x80\x80\x03\x42\x01\x68", 16, DT_F16,
         {0x3c00, 0x3800, 0xc000}},
        {"\x08\x03\x10\x11\x2a\x04\x38\x30\xc0\x01\x42\x01\x68", 13, DT_F8E4M3FN,
         {0x38, 0x30, 0xc0}},
        {"\x08\x03\x10\x17\x2a\x02\x12\x0c\x42\x01\x68", 11, DT_F4E2M1, {0x2, 0x1, 0xc}},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char path[] = "/tmp/wrpnc-unit-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, c[i].pb, c[i].len), (ssize_t)c[i].len);
        close(fd);
        HostTensor h;
        Diag d = {0};
        assert_int_equal(fe_tensor_read_pb(path, &h, &d), WR_OK);
        unlink(path);
        assert_int_equal(h.dtype, c[i].t);
        assert_int_equal(h.bytes, 3 * (size_t)dtype_info[c[i].t].bytes);
        for (int k = 0; k < 3; k++)
            assert_int_equal(dtype_info[c[i].t].bytes == 2 ? ((uint16_t *)h.data)[k]
                                                           : ((uint8_t *)h.data)[k],
                             c[i].code[k]);
        fe_host_tensor_free(&h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_ok),
        cmocka_unit_test(test_shape_bad),
        cmocka_unit_test(test_tensor_roundtrip),
        cmocka_unit_test(test_tensor_narrow_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
