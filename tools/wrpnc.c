/*
 * wrpnc.c: command-line entry point. Parses options, dispatches to the
 * commands, prints errors as "FILE: error: MESSAGE". Exit codes: 0 success,
 * 1 bad input or failed verification, 2 usage.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: wrpnc COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  compile MODEL.onnx -o OUTDIR     write OUTDIR/NAME.c and OUTDIR/NAME.h\n"
    "  run MODEL.onnx --input FILE.pb [--input ...] --output-dir DIR\n"
    "                                   compile, build and run; write DIR/output_<i>.pb\n"
    "  verify MODEL.onnx DATASET_DIR    run test_data_set_N/input_*.pb, compare with output_*.pb\n"
    "  info MODEL.onnx [--json]         per node: op, output type (codes: bits, layout) and\n"
    "                                   bytes, workspace offset, MACs, integer or float (why);\n"
    "                                   totals, costliest layers, workspace peak and its tensors\n"
    "  widen MODEL.onnx -o WIDE.onnx --width W   widen hidden layers, write ONNX\n"
    "  compare MODEL.onnx --variants \"fp32, w4a4@2x\" --report DIR   codegen-variant report\n"
    "                                   (wrpnc compare --help for its options)\n"
    "  targets                          list targets and whether this CPU runs them\n"
    "  cflags [--target T]              compiler flags code generated for T needs\n"
    "  ops                              list the supported operators (domain::name)\n"
    "\n"
    "options:\n"
    "  -o, --output DIR          output folder (compile)\n"
    "  --name NAME               symbol prefix of generated code (default: model file name)\n"
    "  --target T                generic | avx2 | avx512 | neon | native (default: native)\n"
    "  --input-shape [NAME=]AxBx..  pin an input's shape (repeatable)\n"
    "  --weights MODE            auto (default): inline up to the threshold, else c |\n"
    "                            inline | c: weights in NAME_weights.c |\n"
    "                            blob: weights in NAME.bin, passed to NAME_run at run time\n"
    "  --weights-threshold BYTES constants above this go to NAME_weights.c with --weights auto\n"
    "                            (default 16777216: 16 MiB)\n"
    "  --cc CC                   C compiler for run/verify (default: clang, else cc)\n"
    "  --cflags FLAGS            extra flags for building generated code (run, verify);\n"
    "                            the environment variable WRPNC_CFLAGS is appended to them\n"
    "  --exec CMD                run the built code through CMD, e.g. an emulator (default:\n"
    "                            $WRPNC_EXEC; for neon on another CPU: qemu-aarch64 -L\n"
    "                            /usr/aarch64-linux-gnu, built with aarch64-linux-gnu-gcc;\n"
    "                            WRPNC_NO_EMULATION=1 turns that default off)\n"
    "  --engine E                c (default) | interp: the reference interpreter\n"
    "  --input FILE.pb           an input TensorProto, in graph-input order (run)\n"
    "  --output-dir DIR          where run writes output_<i>.pb\n"
    "  --rtol R --atol A         verify tolerance (default 1e-3, 1e-5)\n"
    "  --reps N --warmup N       run N times, print the median latency\n"
    "  --width W                 widen hidden layers by W >= 1 (widen, compile, run...)\n"
    "  --init I                  width init: preserve (default, same outputs) | random\n"
    "  --seed N                  seed of random init / random channel map\n"
    "  --map M                   preserve: copied channels j mod C (mod) | random\n"
    "  --dump[=PASS]             print the IR after every pass (or one) to stderr\n"
    "  --no-fuse                 no BatchNormalization folding or fused activations\n"
    "  --no-pack                 quantized layers pass uint8 codes, repacked by PackAct\n"
    "  --keep                    keep the temporary build folder of run/verify\n"
    "  --wbits K --abits K       quantize a float model to K-bit WRPN weights / activations\n"
    "  --quantize-all            also quantize the first conv and the last layer\n"
    "  --require-integer         fail, naming each Conv / Gemm / MatMul that would stay float\n"
    "                            and why (wrpnc info shows the same per layer)\n"
    "  --keep-fp32 NODE,...      nodes to keep in float32\n"
    "  --kernel K                bitserial | int8 | auto (default: cost model per layer)\n"
    "  -h, --help                this text\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "wrpnc: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see wrpnc --help)\n");
    return 2;
}

static const char *default_cc(void)
{
    const char *env = getenv("WRPNC_CC");
    if (env && *env)
        return env;
    char *argv[] = {"clang", "--version", NULL};
    char out[256];
    return cli_exec(argv, out, sizeof out) == 0 ? "clang" : "cc";
}

/* Matches "--name VALUE" and "--name=VALUE"; advances *i past the value. */
static const char *value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] || *i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* A whole-string number in [lo, hi]: atof/atoi would take "abc" as 0. */
static bool number(const char *v, double lo, double hi, double *out)
{
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= lo && x <= hi))
        return false;
    *out = x;
    return true;
}

static bool integer(const char *v, int lo, int hi, int *out)
{
    double x;
    if (!number(v, lo, hi, &x) || x != (double)(int)x)
        return false;
    *out = (int)x;
    return true;
}

static int set_option(CliOptions *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *v;
    Diag d = {0};
    if ((v = value(argc, argv, i, "-o")) || (v = value(argc, argv, i, "--output")) ||
        (v = value(argc, argv, i, "--output-dir")))
        o->outdir = v;
    else if ((v = value(argc, argv, i, "--name")))
        o->name = v;
    else if ((v = value(argc, argv, i, "--cc")))
        o->cc = v;
    else if ((v = value(argc, argv, i, "--cflags")))
        o->cflags = v;
    else if ((v = value(argc, argv, i, "--exec")))
        o->exec = v;
    else if ((v = value(argc, argv, i, "--engine"))) {
        if (strcmp(v, "c") != 0 && strcmp(v, "interp") != 0)
            return usage_error("unknown engine '%s' (c, interp)", v);
        o->engine = v;
    } else if ((v = value(argc, argv, i, "--target"))) {
        if (target_parse(v, &o->target, &d) != WR_OK)
            return usage_error("%s", d.msg);
    } else if ((v = value(argc, argv, i, "--weights"))) {
        if (strcmp(v, "inline") == 0)
            o->weights = WEIGHTS_INLINE;
        else if (strcmp(v, "c") == 0)
            o->weights = WEIGHTS_C;
        else if (strcmp(v, "blob") == 0)
            o->weights = WEIGHTS_BLOB;
        else if (strcmp(v, "auto") == 0)
            o->weights = WEIGHTS_AUTO;
        else
            return usage_error("unknown weights mode '%s' (auto, inline, c, blob)", v);
    } else if ((v = value(argc, argv, i, "--weights-threshold"))) {
        double x;
        if (!number(v, 1.0, 9e15, &x) || x != (double)(int64_t)x)
            return usage_error("--weights-threshold wants a byte count >= 1, not '%s'", v);
        o->weights_threshold = (int64_t)x;
    } else if ((v = value(argc, argv, i, "--input-shape"))) {
        if (o->fe.nshape == FE_MAX_SHAPES)
            return usage_error("too many --input-shape options%s", "");
        if (fe_parse_input_shape(v, &o->fe.shape[o->fe.nshape++], &d) != WR_OK)
            return usage_error("%s", d.msg);
    } else if ((v = value(argc, argv, i, "--input"))) {
        if (o->ninputs == CLI_MAX_FILES)
            return usage_error("too many --input options%s", "");
        o->inputs[o->ninputs++] = v;
    } else if ((v = value(argc, argv, i, "--width"))) {
        char *end;
        o->passes.width = strtod(v, &end);
        if (*end || !(o->passes.width >= 1.0))
            return usage_error("--width wants a number >= 1, not '%s'", v);
    } else if ((v = value(argc, argv, i, "--init"))) {
        if (strcmp(v, "preserve") != 0 && strcmp(v, "random") != 0)
            return usage_error("unknown width init '%s' (preserve, random)", v);
        o->passes.width_init = v[0] == 'r' ? WIDTH_RANDOM : WIDTH_PRESERVE;
    } else if ((v = value(argc, argv, i, "--seed")))
        o->passes.width_seed = strtoull(v, NULL, 0);
    else if ((v = value(argc, argv, i, "--map"))) {
        if (strcmp(v, "mod") != 0 && strcmp(v, "random") != 0)
            return usage_error("unknown channel map '%s' (mod, random)", v);
        o->passes.width_random_map = v[0] == 'r';
    } else if ((v = value(argc, argv, i, "--rtol")) || (v = value(argc, argv, i, "--atol"))) {
        if (!number(v, 0.0, 1e30, a[2] == 'r' ? &o->rtol : &o->atol))
            return usage_error("tolerance '%s' (a number >= 0)", v);
    } else if ((v = value(argc, argv, i, "--reps")) || (v = value(argc, argv, i, "--warmup"))) {
        if (!integer(v, 0, 1000000000, a[2] == 'r' ? &o->reps : &o->warmup))
            return usage_error("repetition count '%s' (an integer >= 0)", v);
    } else if ((v = value(argc, argv, i, "--wbits")) || (v = value(argc, argv, i, "--abits"))) {
        int k;
        if (!integer(v, 1, 8, &k))
            return usage_error("bit width '%s' (1 to 8)", v);
        *(strncmp(a, "--wbits", 7) == 0 ? &o->passes.wbits : &o->passes.abits) = k;
    } else if ((v = value(argc, argv, i, "--keep-fp32")))
        o->passes.keep_fp32 = v;
    else if ((v = value(argc, argv, i, "--kernel"))) {
        if (strcmp(v, "auto") != 0 && strcmp(v, "bitserial") != 0 && strcmp(v, "int8") != 0)
            return usage_error("unknown kernel '%s' (bitserial, int8, auto)", v);
        o->passes.kernel = strcmp(v, "auto") == 0 ? 0 : strcmp(v, "bitserial") == 0 ? 1 : 2;
    } else if (strcmp(a, "--quantize-all") == 0)
        o->passes.quantize_all = true;
    else if (strcmp(a, "--dump") == 0 || strncmp(a, "--dump=", 7) == 0) {
        o->passes.dump = true;
        o->passes.dump_only = a[6] == '=' ? a + 7 : NULL;
    } else if (strcmp(a, "--no-fuse") == 0)
        o->passes.no_fuse = true;
    else if (strcmp(a, "--no-pack") == 0)
        o->passes.no_pack = true;
    else if (strcmp(a, "--require-integer") == 0)
        o->passes.require_integer = true;
    else if (strcmp(a, "--json") == 0)
        o->json = true;
    else if (strcmp(a, "--keep") == 0)
        o->keep = true;
    else
        return usage_error("unknown option '%s'", a);
    return 0;
}

static int parse(CliOptions *o, int argc, char **argv, const char **pos, int *npos)
{
    for (int i = 2; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            int rc = set_option(o, argc, argv, &i);
            if (rc)
                return rc;
        } else if (*npos < 2)
            pos[(*npos)++] = argv[i];
        else
            return usage_error("unexpected argument '%s'", argv[i]);
    }
    return 0;
}

static int cmd_compile(CliOptions *o)
{
    if (!o->outdir)
        return usage_error("compile needs -o OUTDIR%s", "");
    Diag d = {0};
    Graph *g;
    char name[256];
    cli_model_name(o, name, sizeof name);
    Status s = cli_load(o, &g, &d);
    if (s == WR_OK) {
        s = cli_generate(o, g, o->outdir, name, &d);
        ir_graph_free(g);
    }
    if (s != WR_OK) {
        fprintf(stderr, "%s: error: %s\n", o->model, d.msg);
        return 1;
    }
    const char *wext = o->weights == WEIGHTS_C ? "_weights.c" : ".bin";
    if (o->weights == WEIGHTS_INLINE)
        printf("wrote %s/%s.c and %s/%s.h\n", o->outdir, name, o->outdir, name);
    else
        printf("wrote %s/%s.c, %s/%s.h and %s/%s%s\n", o->outdir, name, o->outdir, name,
               o->outdir, name, wext);
    return 0;
}

static int cmd_targets(void)
{
    for (int t = 0; t < TARGET_COUNT; t++)
        printf("%-8s %s\n", target_name((Target)t),
               cli_target_how((Target)t));
    printf("native = %s\n", target_name(target_native()));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1], *pos[2] = {0};
    if (!strcmp(cmd, "compare"))
        return cli_cmd_compare(argc - 2, argv + 2);
    int npos = 0;
    CliOptions o = {0};
    o.target = target_native();
    o.engine = "c";
    o.rtol = 1e-3;
    o.weights = WEIGHTS_AUTO;
    o.atol = 1e-5;
    int rc = parse(&o, argc, argv, pos, &npos);
    if (rc)
        return rc;
    if (!strcmp(cmd, "targets"))
        return cmd_targets();
    if (!strcmp(cmd, "cflags")) {
        printf("%s\n", target_cflags(o.target));
        return 0;
    }
    if (!strcmp(cmd, "ops")) {
        for (int i = 0; i < OP_COUNT; i++)
            printf("%s%s%s\n", op_info[i].domain, *op_info[i].domain ? "::" : "", op_info[i].name);
        return 0;
    }
    o.model = pos[0];
    if (!o.model)
        return usage_error("%s needs a MODEL.onnx", cmd);
    if (!strcmp(cmd, "compile"))
        return cmd_compile(&o);
    if (!strcmp(cmd, "run") || !strcmp(cmd, "verify")) {
        Diag d = {0};
        if (cli_pick_tools(&o, default_cc, &d) != WR_OK) {
            fprintf(stderr, "%s: error: %s\n", o.model, d.msg);
            return 1;
        }
    }
    if (!o.cc) /* probing for clang takes a while: only where code is built */
        o.cc = default_cc();
    if (!strcmp(cmd, "run"))
        return cli_cmd_run(&o);
    if (!strcmp(cmd, "verify")) {
        o.dataset = pos[1];
        return cli_cmd_verify(&o);
    }
    if (!strcmp(cmd, "widen"))
        return cli_cmd_widen(&o);
    if (!strcmp(cmd, "info"))
        return cli_cmd_info(&o);
    return usage_error("unknown command '%s'", cmd);
}
