/*
 * test_cli.c: the command line's parts that need no model: option parsing
 * (which options apply to which command, values in range, pairs that go
 * together, --dump=PASS), compare's variant strings, and its agreement
 * arithmetic (top-1 over rows, a 1-D output as one row).
 */
#include "unit.h"

#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* cli_parse on "wrpnc CMD args...": its return code (0, 2, or -1 for --help). */
static int parse(Command cmd, const char *const *args, int n, CliOptions *o)
{
    char *argv[32] = {"wrpnc", (char *)cli_command_name(cmd)};
    const char *pos[2] = {0};
    int npos = 0;
    for (int i = 0; i < n; i++)
        argv[2 + i] = (char *)args[i];
    memset(o, 0, sizeof *o);
    o->cmd = cmd;
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w"); /* the usage messages */
    int rc = cli_parse(o, 2 + n, argv, pos, &npos);
    fclose(stderr);
    stderr = saved;
    return rc;
}

static void test_options_per_command(void **state)
{
    (void)state;
    CliOptions o;
    const char *reps[] = {"--reps", "3"}, *keep[] = {"--keep-fp32", "a,b"};
    assert_int_equal(parse(CMD_RUN, reps, 2, &o), 0);
    assert_int_equal(o.reps, 3);
    assert_int_equal(parse(CMD_COMPILE, reps, 2, &o), 2); /* compile does not run */
    assert_int_equal(parse(CMD_COMPILE, keep, 2, &o), 0);
    assert_string_equal(o.passes.keep_fp32, "a,b");
    const char *wonly[] = {"--wbits", "4"}, *both[] = {"--wbits", "4", "--abits=2"};
    assert_int_equal(parse(CMD_COMPILE, wonly, 2, &o), 2);
    assert_int_equal(parse(CMD_COMPILE, both, 3, &o), 0);
    assert_int_equal(o.passes.wbits * 10 + o.passes.abits, 42);
    const char *dump_ok[] = {"--dump=fold_bn"}, *dump_bad[] = {"--dump=foo"}, *dump[] = {"--dump"};
    assert_int_equal(parse(CMD_COMPILE, dump_ok, 1, &o), 0);
    assert_string_equal(o.passes.dump_only, "fold_bn");
    assert_int_equal(parse(CMD_COMPILE, dump_bad, 1, &o), 2);
    assert_int_equal(parse(CMD_COMPILE, dump, 1, &o), 0);
    assert_null(o.passes.dump_only);
    const char *zero[] = {"--input-shape", "x=0x3"}, *bits9[] = {"--wbits", "9", "--abits", "1"};
    assert_int_equal(parse(CMD_COMPILE, zero, 2, &o), 2);
    assert_int_equal(parse(CMD_COMPILE, bits9, 4, &o), 2);
    const char *help[] = {"--help"}, *cal[] = {"--calibrate", "d"};
    assert_int_equal(parse(CMD_INFO, help, 1, &o), -1);
    assert_int_equal(parse(CMD_COMPILE, cal, 2, &o), 2); /* without bit widths */
    assert_int_equal(parse(CMD_COMPARE, cal, 2, &o), 0); /* compare: its wKaJ variants */
}

static void test_variants_good(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int kw, ka;
        double w;
        int init;
    } ok[] = {{"fp32", 32, 32, 1, -1},           {"fp32@2x", 32, 32, 2, WIDTH_RANDOM},
              {" w4a4 ", 4, 4, 1, -1},           {"W1A1@3X", 1, 1, 3, WIDTH_RANDOM},
              {"w4a8@1.5x:preserve", 4, 8, 1.5, WIDTH_PRESERVE},
              {"w3a2@2", 3, 2, 2, WIDTH_RANDOM}, {"w4a32", 4, 32, 1, -1},
              {"as exported", 32, 32, 1, -1}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        Variant v[CMP_MAX_VARIANTS];
        int n;
        Diag d = {0};
        if (cmp_parse_variants(ok[i].s, WIDTH_RANDOM, v, &n, &d) != WR_OK)
            fail_msg("'%s' refused: %s", ok[i].s, d.msg);
        assert_int_equal(n, 1);
        assert_int_equal(v[0].kw, ok[i].kw);
        assert_int_equal(v[0].ka, ok[i].ka);
        assert_true(v[0].width == ok[i].w);
        assert_int_equal(v[0].init, ok[i].init);
    }
    Variant v[CMP_MAX_VARIANTS];
    int n;
    Diag d = {0};
    assert_int_equal(cmp_parse_variants("fp32, w2a2@2x,As Exported", WIDTH_PRESERVE, v, &n, &d),
                     WR_OK);
    assert_int_equal(n, 3);
    assert_string_equal(v[1].name, "w2a2@2x");
    assert_int_equal(v[1].init, WIDTH_PRESERVE);
    assert_int_equal(v[2].kind, VK_EXPORTED);
    assert_string_equal(v[2].name, "as exported");
    char slug[64];
    cmp_slug("w4a8@1.5x:preserve", slug, sizeof slug);
    assert_string_equal(slug, "w4a8_1_5x_preserve");
}

static void test_variants_bad(void **state)
{
    (void)state;
    const char *bad[] = {"", "fp16", "w4a4@0.5x", "w9a4", "w0a4", "w4a4@2x:foo", "fp32, ,w4a4",
                         "fp32,fp32", "w4a@2x", "w4a4@x", "w4a4@2x@3x", "int8", "fp32,",
                         "w4a4@65x", "as exported!"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Variant v[CMP_MAX_VARIANTS];
        int n;
        Diag d = {0};
        if (cmp_parse_variants(bad[i], WIDTH_RANDOM, v, &n, &d) != WR_EUSAGE)
            fail_msg("'%s' accepted", bad[i]);
        assert_true(strstr(d.msg, "variant") != NULL);
    }
}

static void test_agreement(void **state)
{
    (void)state;
    /* two samples: [[0,1,0],[1,0,0]] then [[0,0,1]]; got agrees on rows 0 and 2 */
    double ref[] = {0, 1, 0, 1, 0, 0, 0, 0, 1}, got[] = {0, 2, 0, 0, 1, 0, 0, 0, 3};
    assert_true(fabs(cmp_top1_agree_d(got, ref, 3, 3) - 2.0 / 3) < 1e-12);
    double tie[] = {5, 5, 1}, first[] = {9, 0, 0};
    assert_true(cmp_top1_agree_d(tie, first, 1, 3) == 1.0); /* ties: the first wins */
    Tensor t = {.dtype = DT_F32, .ndim = 1, .dim = {2}};
    int64_t rows, cols;
    cmp_rows(&t, &rows, &cols);
    assert_int_equal(rows, 1); /* a 1-D output is one row of 2 scores */
    assert_int_equal(cols, 2);
    Tensor b = {.dtype = DT_F32, .ndim = 3, .dim = {4, 5, 2}};
    cmp_rows(&b, &rows, &cols);
    assert_int_equal(rows * 100 + cols, 410);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_per_command),
        cmocka_unit_test(test_variants_good),
        cmocka_unit_test(test_variants_bad),
        cmocka_unit_test(test_agreement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
