/*
 * cli_options.c: the command line. One table of commands (synopsis, what they do)
 * and one table of options (name, value, the commands it applies to, where it is
 * stored, its help). The parser, `wrpnc --help` and `wrpnc COMMAND --help` all read
 * those tables, so an option cannot be documented for a command that ignores it:
 * an option given to a command it does not apply to is a usage error (exit 2).
 */
#include "cli.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define C_(x) (1u << CMD_##x)
/* Commands that load a model and run the middle end. */
#define PIPE (C_(COMPILE) | C_(RUN) | C_(VERIFY) | C_(INFO))
/* Commands that build generated code and run it. */
#define BUILD (C_(RUN) | C_(VERIFY) | C_(COMPARE))
/* Commands that quantize (the middle end, compare's variants, calibrate's output). */
#define QUANT (PIPE | C_(COMPARE) | C_(CALIBRATE))

static const struct {
    const char *name, *args, *about;
    int npos; /* positional arguments */
} commands[CMD_COUNT] = {
    [CMD_COMPILE] = {"compile", "MODEL.onnx -o OUTDIR", "write OUTDIR/NAME.c and OUTDIR/NAME.h", 1},
    [CMD_RUN] = {"run", "MODEL.onnx --input FILE.pb [--input ...] --output-dir DIR",
                 "compile, build and run; write DIR/output_<i>.pb", 1},
    [CMD_VERIFY] = {"verify", "MODEL.onnx DIR",
                    "run DIR/input_*.pb (or every DIR/test_data_set_*), compare with output_*.pb",
                    2},
    [CMD_INFO] = {"info", "MODEL.onnx",
                  "per node: output type (bits, layout), bytes, MACs, integer or float (why); "
                  "workspace peak",
                  1},
    [CMD_WIDEN] = {"widen", "MODEL.onnx -o WIDE.onnx --width W",
                   "widen hidden layers, write ONNX", 1},
    [CMD_CALIBRATE] = {"calibrate", "MODEL.onnx DATASET -o OUT.onnx --wbits K --abits J",
                       "write the model with calibrated QONNX quantizers (Quant nodes)", 2},
    [CMD_COMPARE] = {"compare", "MODEL.onnx --variants \"fp32, w8a8, w4a4@2x\" --report DIR",
                     "build, time and compare variants; write DIR/report.{md,csv,json,svg,html}",
                     1},
    [CMD_TARGETS] = {"targets", "", "list targets and whether this CPU runs them", 0},
    [CMD_CFLAGS] = {"cflags", "[--target T]", "compiler flags code generated for T needs", 0},
    [CMD_OPS] = {"ops", "", "list the supported operators (domain::name)", 0},
};

typedef enum { OT_FLAG, OT_STR, OT_INT, OT_NUM, OT_FN } OptType;

typedef struct OptSpec {
    const char *name, *alias;
    const char *arg; /* the value in the help; NULL: a flag; "[=X]": optional, inline only */
    unsigned cmds;   /* commands it applies to */
    OptType type;
    size_t off;      /* OT_FLAG, OT_STR, OT_INT, OT_NUM: the field in CliOptions */
    double lo, hi;   /* OT_INT, OT_NUM: the accepted range */
    int (*fn)(CliOptions *o, const char *v); /* OT_FN: returns 0 or 2 */
    const char *help; /* lines after the first are indented under it */
} OptSpec;

/* ---- setters of options with their own syntax ---- */

static int set_target(CliOptions *o, const char *v)
{
    Diag d = {0};
    return target_parse(v, &o->target, &d) == WR_OK ? 0 : cli_usage_error("%s", d.msg);
}

static int set_engine(CliOptions *o, const char *v)
{
    if (strcmp(v, "c") != 0 && strcmp(v, "interp") != 0)
        return cli_usage_error("unknown engine '%s' (c, interp)", v);
    o->engine = v;
    return 0;
}

static int set_weights(CliOptions *o, const char *v)
{
    static const char *const names[] = {[WEIGHTS_INLINE] = "inline", [WEIGHTS_C] = "c",
                                        [WEIGHTS_BLOB] = "blob", [WEIGHTS_AUTO] = "auto"};
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(v, names[i]) == 0) {
            o->weights = (WeightsMode)i;
            return 0;
        }
    return cli_usage_error("unknown weights mode '%s' (auto, inline, c, blob)", v);
}

static int set_threshold(CliOptions *o, const char *v)
{
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= 1 && x <= 9e15) || x != (double)(int64_t)x)
        return cli_usage_error("--weights-threshold wants a byte count >= 1, not '%s'", v);
    o->weights_threshold = (int64_t)x;
    return 0;
}

static int set_shape(CliOptions *o, const char *v)
{
    Diag d = {0};
    if (o->fe.nshape == FE_MAX_SHAPES)
        return cli_usage_error("too many --input-shape options");
    InputShape *s = &o->fe.shape[o->fe.nshape++];
    if (fe_parse_input_shape(v, s, &d) != WR_OK)
        return cli_usage_error("%s", d.msg);
    for (int i = 0; i < s->ndim; i++)
        if (s->dim[i] == 0)
            return cli_usage_error("bad --input-shape '%s': dim %d is 0 (dims are >= 1)", v, i);
    return 0;
}

static int set_input(CliOptions *o, const char *v)
{
    if (o->ninputs == CLI_MAX_FILES)
        return cli_usage_error("too many --input options");
    o->inputs[o->ninputs++] = v;
    return 0;
}

static int set_init(CliOptions *o, const char *v)
{
    if (strcmp(v, "preserve") != 0 && strcmp(v, "random") != 0)
        return cli_usage_error("unknown width init '%s' (preserve, random)", v);
    o->passes.width_init = v[0] == 'r' ? WIDTH_RANDOM : WIDTH_PRESERVE;
    return 0;
}

static int set_seed(CliOptions *o, const char *v)
{
    char *end;
    unsigned long long x = strtoull(v, &end, 0);
    if (end == v || *end || *v == '-')
        return cli_usage_error("--seed wants an integer >= 0, not '%s'", v);
    o->passes.width_seed = x;
    return 0;
}

static int set_map(CliOptions *o, const char *v)
{
    if (strcmp(v, "mod") != 0 && strcmp(v, "random") != 0)
        return cli_usage_error("unknown channel map '%s' (mod, random)", v);
    o->passes.width_random_map = v[0] == 'r';
    return 0;
}

static int set_kernel(CliOptions *o, const char *v)
{
    static const char *const names[] = {"auto", "bitserial", "int8"};
    for (int i = 0; i < 3; i++)
        if (strcmp(v, names[i]) == 0) {
            o->passes.kernel = i;
            return 0;
        }
    return cli_usage_error("unknown kernel '%s' (bitserial, int8, auto)", v);
}

/* --dump or --dump=PASS, PASS one of the names pass_pipeline_name lists (or calibrate). */
static int set_dump(CliOptions *o, const char *v)
{
    o->passes.dump = true;
    o->passes.dump_only = v;
    if (!v || strcmp(v, "calibrate") == 0)
        return 0;
    char names[512] = "calibrate";
    for (int i = 0; pass_pipeline_name(i); i++) {
        if (strcmp(v, pass_pipeline_name(i)) == 0)
            return 0;
        size_t k = strlen(names);
        snprintf(names + k, sizeof names - k, ", %s", pass_pipeline_name(i));
    }
    return cli_usage_error("--dump=%s names no pass (%s)", v, names);
}

#define F(field) offsetof(CliOptions, field)
#define FLAG(field) OT_FLAG, F(field), 0, 0, NULL
#define STR(field) OT_STR, F(field), 0, 0, NULL
#define INT(field, lo, hi) OT_INT, F(field), lo, hi, NULL
#define NUM(field, lo, hi) OT_NUM, F(field), lo, hi, NULL
#define FN(f) OT_FN, 0, 0, 0, f

/* clang-format off */
static const OptSpec options[] = {
    /* name                 alias  value    commands */
    {"--output",            "-o",  "PATH",  C_(COMPILE) | C_(WIDEN) | C_(CALIBRATE), STR(outdir),
     "output folder (compile) or .onnx file (widen, calibrate)"},
    {"--output-dir",        NULL,  "DIR",   C_(RUN), STR(outdir), "where run writes output_<i>.pb"},
    {"--name",              NULL,  "NAME",  C_(COMPILE) | C_(RUN) | C_(VERIFY), STR(name),
     "symbol prefix of generated code (default: model file name)"},
    {"--target",            NULL,  "T",     PIPE | C_(COMPARE) | C_(CFLAGS), FN(set_target),
     "generic | avx2 | avx512 | neon | native (default: native)"},
    {"--input-shape",       NULL,  "[NAME=]AxBx..", QUANT | C_(WIDEN), FN(set_shape),
     "pin an input's shape (repeatable; dims >= 1)"},
    {"--weights",           NULL,  "MODE",  C_(COMPILE) | BUILD, FN(set_weights),
     "auto (default): inline up to the threshold, else c |\n"
     "inline | c: weights in NAME_weights.c |\n"
     "blob: weights in NAME.bin, passed to NAME_run at run time"},
    {"--weights-threshold", NULL,  "BYTES", C_(COMPILE) | BUILD, FN(set_threshold),
     "constants above this go to NAME_weights.c with --weights auto\n(default 16777216: 16 MiB)"},
    {"--cc",                NULL,  "CC",    BUILD, STR(cc),
     "C compiler for generated code (default: $WRPNC_CC, else clang, else cc)"},
    {"--cflags",            NULL,  "FLAGS", BUILD, STR(cflags),
     "extra flags for building generated code;\n"
     "the environment variable WRPNC_CFLAGS is appended to them"},
    {"--exec",              NULL,  "CMD",   BUILD, STR(exec),
     "run the built code through CMD, e.g. an emulator (default:\n"
     "$WRPNC_EXEC; for neon on another CPU: qemu-aarch64 -L\n"
     "/usr/aarch64-linux-gnu, built with aarch64-linux-gnu-gcc;\n"
     "WRPNC_NO_EMULATION=1 turns that default off)"},
    {"--engine",            NULL,  "E",     C_(RUN) | C_(VERIFY), FN(set_engine),
     "c (default) | interp: the reference interpreter"},
    {"--input",             NULL,  "FILE.pb", C_(RUN), FN(set_input),
     "an input TensorProto, in graph-input order"},
    {"--rtol",              NULL,  "R",     C_(VERIFY), NUM(rtol, 0, 1e30),
     "relative tolerance (default 1e-3)"},
    {"--atol",              NULL,  "A",     C_(VERIFY), NUM(atol, 0, 1e30),
     "absolute tolerance (default 1e-5)"},
    {"--reps",              NULL,  "N",     C_(RUN) | C_(COMPARE), INT(reps, 0, 1e9),
     "time N runs, print the median latency (compare: default 20)"},
    {"--warmup",            NULL,  "N",     C_(RUN) | C_(COMPARE), INT(warmup, 0, 1e9),
     "untimed runs first (compare: default 2)"},
    {"--width",             NULL,  "W",     PIPE | C_(WIDEN) | C_(CALIBRATE),
     NUM(passes.width, 1, 64), "widen hidden layers by W (1 to 64)"},
    {"--init",              NULL,  "I",     PIPE | C_(WIDEN) | C_(COMPARE) | C_(CALIBRATE),
     FN(set_init), "width init: preserve (default; compare: random) | random"},
    {"--seed",              NULL,  "N",     PIPE | C_(WIDEN) | C_(COMPARE) | C_(CALIBRATE),
     FN(set_seed), "seed of random init, random channel map, random inputs"},
    {"--map",               NULL,  "M",     PIPE | C_(WIDEN) | C_(COMPARE) | C_(CALIBRATE),
     FN(set_map), "preserve: copied channels j mod C (mod) | random"},
    {"--dump",              NULL,  "[=PASS]", PIPE, FN(set_dump),
     "print the IR after every pass (or after PASS) to stderr"},
    {"--no-fuse",           NULL,  NULL,    PIPE | C_(COMPARE), FLAG(passes.no_fuse),
     "no BatchNormalization folding or fused activations"},
    {"--no-pack",           NULL,  NULL,    PIPE | C_(COMPARE), FLAG(passes.no_pack),
     "quantized layers pass uint8 codes, repacked by PackAct"},
    {"--keep",              NULL,  NULL,    C_(RUN) | C_(VERIFY), FLAG(keep),
     "keep the temporary build folder"},
    {"--wbits",             NULL,  "K",     PIPE | C_(CALIBRATE), INT(passes.wbits, 1, 8),
     "quantize a float model to K-bit weights (with --abits)"},
    {"--abits",             NULL,  "K",     PIPE | C_(CALIBRATE), INT(passes.abits, 1, 8),
     "... and K-bit activations (WRPN's quantizers, or calibrated ones)"},
    {"--quantize-all",      NULL,  NULL,    QUANT, FLAG(passes.quantize_all),
     "also quantize the first conv and the last layer"},
    {"--require-integer",   NULL,  NULL,    PIPE, FLAG(passes.require_integer),
     "fail, naming each Conv / Gemm / MatMul that would stay float\nand why"},
    {"--json",              NULL,  NULL,    C_(INFO), FLAG(json),
     "info: one JSON object (nodes, layers, totals, workspace peak)"},
    {"--keep-fp32",         NULL,  "NODE,...", QUANT, STR(passes.keep_fp32),
     "nodes to keep in float32 (each must name a node)"},
    {"--kernel",            NULL,  "K",     PIPE | C_(COMPARE), FN(set_kernel),
     "bitserial | int8 | auto (default: cost model per layer)"},
    {"--calibrate",         NULL,  "DATASET", PIPE | C_(COMPARE), STR(calibrate),
     "post-training calibration of --wbits/--abits (compare: of wKaJ):\n"
     "per-channel weight scales, activation ranges from DATASET (a\n"
     "folder of test_data_set_N/input_i.pb, an .npy array, or\n"
     "Fashion-MNIST idx files: their folder or an images file)"},
    {"--calibrate-samples", NULL,  "N",     QUANT, INT(calib_samples, 1, 1e9),
     "calibrate on at most N examples (default 512)"},
    {"--calibrate-percentile", NULL, "P",   QUANT, NUM(calib_percentile, 50, 100),
     "activation range: this percentile of |x| (default 100: the max)"},
    {"--requantize",        NULL,  NULL,    QUANT, FLAG(requantize),
     "strip a quantized model's own quantizers first (else --wbits,\n"
     "--calibrate and compare's wKaJ refuse a quantized model)"},
    {"--variants",          NULL,  "LIST",  C_(COMPARE), STR(variants),
     "comma-separated: fp32 | wKaJ (K, J in 1..8 or 32) | as exported,\n"
     "each optionally @Wx (width) and :preserve | :random"},
    {"--report",            NULL,  "DIR",   C_(COMPARE), STR(report), "where the report goes"},
    {"--inputs",            NULL,  "DIR",   C_(COMPARE), STR(inputs_dir),
     "inputs: DIR/input_i.pb or DIR/test_data_set_N/input_i.pb"},
    {"--dataset",           NULL,  "DATA",  C_(COMPARE), STR(data),
     "examples: an .npy array (N, ...) or Fashion-MNIST idx files\n"
     "(their folder: the t10k test set, with its labels)"},
    {"--labels",            NULL,  "FILE",  C_(COMPARE), STR(labels),
     "integer labels (.npy or idx): report accuracy"},
    {"--samples",           NULL,  "N",     C_(COMPARE), INT(samples, 1, 1e9),
     "random inputs when no data is given (default 8); with data:\nat most N examples"},
    {"--jobs",              "-j",  "N",     C_(COMPARE), INT(jobs, 1, 256),
     "variants built in parallel (default: the CPU count)"},
    {"--dry-run",           NULL,  NULL,    C_(COMPARE), FLAG(dry_run),
     "print the parsed variants and stop"},
};
/* clang-format on */

enum { NOPT = sizeof options / sizeof options[0] };

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "wrpnc: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see wrpnc --help)\n");
    return 2;
}

int cli_command(const char *s)
{
    for (int c = 0; c < CMD_COUNT; c++)
        if (strcmp(s, commands[c].name) == 0)
            return c;
    return -1;
}

const char *cli_command_name(Command c) { return commands[c].name; }

/* ---- help ---- */

/* An option whose value is optional and only given as --name=VALUE (--dump). */
static bool inline_only(const OptSpec *s) { return s->arg && !strncmp(s->arg, "[=", 2); }

static void print_option(FILE *f, const OptSpec *s)
{
    char head[64];
    const char *arg = s->arg ? s->arg : "";
    snprintf(head, sizeof head, "%s%s%s%s%s", s->alias ? s->alias : "", s->alias ? ", " : "",
             s->name, s->arg && !inline_only(s) ? " " : "", arg);
    fprintf(f, "  %-28s ", head);
    for (const char *p = s->help; *p;) {
        size_t n = strcspn(p, "\n");
        fprintf(f, "%.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
        if (*p)
            fprintf(f, "  %-28s ", "");
    }
}

void cli_help(FILE *f, int cmd)
{
    if (cmd >= 0) {
        fprintf(f, "usage: wrpnc %s %s\n\n%s.\n", commands[cmd].name, commands[cmd].args,
                commands[cmd].about);
    } else {
        fprintf(f, "usage: wrpnc COMMAND [options]   (wrpnc COMMAND --help: its options)\n\n"
                   "commands:\n");
        for (int c = 0; c < CMD_COUNT; c++)
            fprintf(f, "  %-10s %s %s\n  %-10s %s\n", commands[c].name, commands[c].name,
                    commands[c].args, "", commands[c].about);
    }
    fprintf(f, "\noptions:\n");
    for (int i = 0; i < NOPT; i++)
        if (cmd < 0 || options[i].cmds & (1u << cmd))
            print_option(f, &options[i]);
    fprintf(f, "  %-28s this text\n", "-h, --help");
    if (cmd < 0)
        fprintf(f, "  %-28s print the version\n", "--version");
}

/* ---- parsing ---- */

static const OptSpec *find_option(const char *arg, size_t n)
{
    for (int i = 0; i < NOPT; i++) {
        const OptSpec *s = &options[i];
        if ((strlen(s->name) == n && strncmp(arg, s->name, n) == 0) ||
            (s->alias && strlen(s->alias) == n && strncmp(arg, s->alias, n) == 0))
            return s;
    }
    return NULL;
}

/* A whole-string number in [lo, hi] (atof/atoi would take "abc" as 0). */
static bool number(const char *v, double lo, double hi, double *out)
{
    char *end;
    if (!v)
        return false;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= lo && x <= hi))
        return false;
    *out = x;
    return true;
}

static int set_value(CliOptions *o, const OptSpec *s, const char *v)
{
    char *field = (char *)o + s->off;
    bool yes = true;
    double x;
    int k;
    switch (s->type) {
    case OT_FLAG: memcpy(field, &yes, sizeof yes); return 0;
    case OT_STR: memcpy(field, &v, sizeof v); return 0;
    case OT_INT:
        if (!number(v, s->lo, s->hi, &x) || x != (double)(int)x)
            return cli_usage_error("%s wants an integer from %g to %g, not '%s'", s->name, s->lo,
                                   s->hi, v);
        k = (int)x;
        memcpy(field, &k, sizeof k);
        return 0;
    case OT_NUM:
        if (!number(v, s->lo, s->hi, &x))
            return cli_usage_error("%s wants a number from %g to %g, not '%s'", s->name, s->lo,
                                   s->hi, v);
        memcpy(field, &x, sizeof x);
        return 0;
    case OT_FN: return s->fn(o, v);
    }
    return 2;
}

/* One option at argv[*i]; advances *i past its value. */
static int option(CliOptions *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *eq = strchr(a, '=');
    size_t n = eq && a[1] == '-' ? (size_t)(eq - a) : strlen(a);
    const OptSpec *s = find_option(a, n);
    if (!s)
        return cli_usage_error("unknown option '%.*s'", (int)n, a);
    if (!(s->cmds & (1u << o->cmd)))
        return cli_usage_error("option %s does not apply to '%s' (wrpnc %s --help lists its "
                               "options)", s->name, commands[o->cmd].name, commands[o->cmd].name);
    const char *v = n < strlen(a) ? a + n + 1 : NULL;
    if (!s->arg && v)
        return cli_usage_error("option %s takes no value", s->name);
    if (s->arg && !inline_only(s) && !v) {
        if (*i + 1 >= argc)
            return cli_usage_error("option %s needs a value (%s)", s->name, s->arg);
        v = argv[++*i];
    }
    return set_value(o, s, v);
}

static void defaults(CliOptions *o)
{
    o->target = target_native();
    o->engine = "c";
    o->rtol = 1e-3;
    o->atol = 1e-5;
    o->weights = WEIGHTS_AUTO;
    o->calib_samples = 512;
    o->calib_percentile = 100;
    if (o->cmd == CMD_COMPARE) {
        o->reps = 20;
        o->warmup = 2;
        o->passes.width_init = WIDTH_RANDOM;
        o->passes.width_seed = 1;
    }
}

/* Checks that hold across options: pairs that go together. */
static int cross_checks(const CliOptions *o)
{
    if ((o->passes.wbits != 0) != (o->passes.abits != 0))
        return cli_usage_error("--wbits and --abits go together");
    if (o->calibrate && !o->passes.wbits && o->cmd != CMD_COMPARE)
        return cli_usage_error("--calibrate needs --wbits and --abits (the bit widths to "
                               "calibrate)");
    if (o->inputs_dir && o->data)
        return cli_usage_error("--inputs and --dataset exclude each other");
    if (o->labels && !o->data)
        return cli_usage_error("--labels needs --dataset");
    return 0;
}

int cli_parse(CliOptions *o, int argc, char **argv, const char **pos, int *npos)
{
    defaults(o);
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            cli_help(stdout, o->cmd);
            return -1;
        }
        if (argv[i][0] == '-' && argv[i][1]) {
            int rc = option(o, argc, argv, &i);
            if (rc)
                return rc;
        } else if (*npos < commands[o->cmd].npos)
            pos[(*npos)++] = argv[i];
        else
            return cli_usage_error("unexpected argument '%s' (wrpnc %s %s)", argv[i],
                                   commands[o->cmd].name, commands[o->cmd].args);
    }
    return cross_checks(o);
}
