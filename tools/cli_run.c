/*
 * cli_run.c: `wrpnc run` and `wrpnc verify`. Inputs and outputs are ONNX
 * TensorProto files (the ONNX backend-test layout). The model runs either as
 * generated C (built and executed in a temporary folder, through --exec's
 * command, e.g. an emulator, when given: cli_cross.c) or in the reference
 * interpreter (--engine interp).
 */
#include "cli.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int fail(const CliOptions *o, const Diag *d)
{
    fprintf(stderr, "%s: error: %s\n", o->model, d->msg);
    return 1;
}

static Status check_input(const Tensor *t, const HostTensor *h, const char *path, Diag *d)
{
    if (h->dtype != t->dtype)
        return diag_error(d, WR_EUSAGE, "%s: input '%s' is %s, the model wants %s", path, t->name,
                          dtype_info[h->dtype].name, dtype_info[t->dtype].name);
    if ((int64_t)h->bytes != ir_tensor_bytes(t)) {
        char s[128];
        return diag_error(d, WR_EUSAGE, "%s: input '%s' has %zu bytes, the model wants shape %s",
                          path, t->name, h->bytes, ir_shape_str(t, s, sizeof s));
    }
    return WR_OK;
}

static Status write_raw(const char *path, const void *p, size_t n, Diag *d)
{
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(p, 1, n, f) == n;
    if (f)
        ok &= fclose(f) == 0;
    return ok ? WR_OK : diag_error(d, WR_EIO, "%s: cannot write", path);
}

static Status read_raw(const char *path, void *p, size_t n, Diag *d)
{
    FILE *f = fopen(path, "rb");
    bool ok = f && fread(p, 1, n, f) == n;
    if (f)
        fclose(f);
    return ok ? WR_OK : diag_error(d, WR_EIO, "%s: cannot read %zu bytes", path, n);
}

/* Runs generated code on in[] and fills out[] (allocated by the caller). */
static Status run_c(const CliOptions *o, const Graph *g, void **in, void **out, double *ns,
                    Diag *d)
{
    char dir[] = "/tmp/wrpnc-run-XXXXXX", name[256], exe[4096], path[4096], reps[32], warm[32];
    if (!mkdtemp(dir))
        return diag_error(d, WR_EIO, "cannot create a temporary folder");
    cli_model_name(o, name, sizeof name);
    Status s = cli_generate(o, g, dir, name, d);
    if (s == WR_OK)
        s = cli_build_harness(o, dir, name, exe, sizeof exe, d);
    char *argv[2 * CLI_MAX_FILES + 40];
    char files[2 * CLI_MAX_FILES][64];
    int a = 0;
    char *prefix = o->exec ? arena_strdup((Arena *)&g->arena, o->exec) : NULL;
    if (prefix) /* an emulator: its words come first */
        a = cli_split_words(prefix, argv, 32);
    snprintf(reps, sizeof reps, "%d", o->reps > 0 ? o->reps : 1);
    snprintf(warm, sizeof warm, "%d", o->warmup);
    argv[a++] = exe;
    argv[a++] = "-r";
    argv[a++] = reps;
    argv[a++] = "-w";
    argv[a++] = warm;
    if (o->weights == WEIGHTS_BLOB) {
        argv[a++] = "-b";
        argv[a++] = arena_printf((Arena *)&g->arena, "%s/%s.bin", dir, name);
    }
    int first_out = a + g->ninput;
    for (int i = 0; i < g->ninput && s == WR_OK; i++) {
        snprintf(files[i], sizeof files[i], "in%d.bin", i);
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        s = write_raw(path, in[i], (size_t)ir_tensor_bytes(g->input[i]), d);
        argv[a++] = arena_printf((Arena *)&g->arena, "%s", path);
    }
    for (int i = 0; i < g->noutput; i++)
        argv[a++] = arena_printf((Arena *)&g->arena, "%s/out%d.bin", dir, i);
    argv[a] = NULL;
    char text[512] = "";
    if (s == WR_OK && cli_exec(argv, text, sizeof text) != 0)
        s = diag_error(d, WR_EVERIFY, "the generated code failed to run (kept in %s)", dir);
    for (int i = 0; i < g->noutput && s == WR_OK; i++)
        s = read_raw(argv[first_out + i], out[i], (size_t)ir_tensor_bytes(g->output[i]), d);
    if (ns)
        *ns = s == WR_OK ? strtod(strstr(text, "median_ns") ? strstr(text, "median_ns") + 9 : "0",
                                  NULL)
                         : 0;
    if (o->keep || (s != WR_OK && d->status == WR_EVERIFY))
        fprintf(stderr, "wrpnc: generated code kept in %s\n", dir);
    else
        cli_rm_rf(dir);
    return s;
}

/* Loads input files, runs, and returns malloc'ed outputs (g->noutput of them). */
static Status execute(const CliOptions *o, const Graph *g, const char *const *files, int nfiles,
                      void **out, double *ns, Diag *d)
{
    if (nfiles != g->ninput)
        return diag_error(d, WR_EUSAGE, "the model has %d inputs, %d input files given",
                          g->ninput, nfiles);
    HostTensor h[CLI_MAX_FILES];
    void *in[CLI_MAX_FILES] = {0};
    int loaded = 0;
    Status s = WR_OK;
    for (; loaded < nfiles && s == WR_OK; loaded++) {
        s = fe_tensor_read_pb(files[loaded], &h[loaded], d);
        if (s == WR_OK)
            s = check_input(g->input[loaded], &h[loaded], files[loaded], d);
        in[loaded] = h[loaded].data;
    }
    for (int i = 0; i < g->noutput; i++) {
        int64_t b = ir_tensor_bytes(g->output[i]);
        out[i] = calloc(1, (size_t)(b ? b : 1));
    }
    if (s == WR_OK && strcmp(o->engine, "interp") == 0)
        s = ir_interp_run((Graph *)g, in, out, d);
    else if (s == WR_OK)
        s = run_c(o, g, in, out, ns, d);
    for (int i = 0; i < loaded; i++)
        fe_host_tensor_free(&h[i]);
    return s;
}

static void free_outputs(const Graph *g, void **out)
{
    for (int i = 0; i < g->noutput; i++)
        free(out[i]);
}

int cli_cmd_run(CliOptions *o)
{
    Diag d = {0};
    Graph *g;
    if (!o->outdir) {
        fprintf(stderr, "wrpnc run: --output-dir is required\n");
        return 2;
    }
    if (cli_load(o, &g, &d) != WR_OK)
        return fail(o, &d);
    void *out[CLI_MAX_FILES] = {0};
    double ns = 0;
    Status s = g->noutput > CLI_MAX_FILES
                   ? diag_error(&d, WR_EUNSUPPORTED, "more than %d outputs", CLI_MAX_FILES)
                   : execute(o, g, o->inputs, o->ninputs, out, &ns, &d);
    if (s == WR_OK)
        s = cli_mkdir_p(o->outdir, &d);
    for (int i = 0; i < g->noutput && s == WR_OK; i++) {
        char path[4096];
        const Tensor *t = g->output[i];
        snprintf(path, sizeof path, "%s/output_%d.pb", o->outdir, i);
        s = fe_tensor_write_pb(path, t->name, t->dtype, t->ndim, t->dim, out[i], &d);
    }
    if (s == WR_OK && o->reps > 1)
        printf("median latency: %.3f ms over %d runs%s\n", ns / 1e6, o->reps,
               o->exec ? " (through --exec: not the target's speed)" : "");
    free_outputs(g, out);
    ir_graph_free(g);
    return s == WR_OK ? 0 : fail(o, &d);
}

/* ---- verify ---- */

static int count_files(const char *dir, const char *prefix)
{
    int n = 0;
    char path[4096];
    struct stat st;
    for (;; n++) {
        snprintf(path, sizeof path, "%s/%s_%d.pb", dir, prefix, n);
        if (stat(path, &st) != 0)
            return n;
    }
}

/* Compares one output; prints its errors; returns whether it is within tolerance. */
static bool compare(const CliOptions *o, const Tensor *t, const void *got, const HostTensor *want)
{
    int64_t n = ir_tensor_numel(t), bad = 0;
    double max_abs = 0, max_rel = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = dtype_get_f64(t->dtype, got, i), b = dtype_get_f64(t->dtype, want->data, i);
        if ((a != a) && (b != b))
            continue;
        double err = fabs(a - b), rel = err / (fabs(b) > 0 ? fabs(b) : 1);
        if (a == b)
            err = rel = 0; /* infinities of the same sign */
        bool tol = dtype_is_float(t->dtype) || dtype_is_narrow_float(t->dtype);
        bool ok = tol ? err <= o->atol + o->rtol * fabs(b) : a == b;
        bad += !ok;
        if (err > max_abs || err != err)
            max_abs = err;
        if (rel > max_rel || rel != rel)
            max_rel = rel;
    }
    printf("  output %d '%s': %lld values, max abs err %.3g, max rel err %.3g, %lld outside "
           "tolerance%s\n",
           t->output_index, t->name, (long long)n, max_abs, max_rel, (long long)bad,
           bad ? "  FAIL" : "");
    return bad == 0;
}

static Status check_output(const Tensor *t, const HostTensor *h, Diag *d)
{
    if (h->dtype != t->dtype || (int64_t)h->bytes != ir_tensor_bytes(t))
        return diag_error(d, WR_EVERIFY,
                          "expected output %d '%s' is %s with %zu bytes; the model gives %s with "
                          "%lld bytes",
                          t->output_index, t->name, dtype_info[h->dtype].name, h->bytes,
                          dtype_info[t->dtype].name, (long long)ir_tensor_bytes(t));
    return WR_OK;
}

static Status verify_outputs(const CliOptions *o, const Graph *g, void **out, bool *ok, Diag *d)
{
    *ok = true;
    if (count_files(o->dataset, "output") != g->noutput)
        return diag_error(d, WR_EVERIFY, "%s holds %d expected outputs, the model has %d",
                          o->dataset, count_files(o->dataset, "output"), g->noutput);
    for (int i = 0; i < g->noutput; i++) {
        char path[4096];
        HostTensor h;
        snprintf(path, sizeof path, "%s/output_%d.pb", o->dataset, i);
        WR_TRY(fe_tensor_read_pb(path, &h, d));
        Status s = check_output(g->output[i], &h, d);
        if (s == WR_OK)
            *ok &= compare(o, g->output[i], out[i], &h);
        fe_host_tensor_free(&h);
        WR_TRY(s);
    }
    return WR_OK;
}

int cli_cmd_verify(CliOptions *o)
{
    Diag d = {0};
    Graph *g;
    if (!o->dataset) {
        fprintf(stderr, "wrpnc verify: a DATASET_DIR is required\n");
        return 2;
    }
    if (cli_load(o, &g, &d) != WR_OK)
        return fail(o, &d);
    int nin = count_files(o->dataset, "input");
    char *files[CLI_MAX_FILES];
    for (int i = 0; i < nin && i < CLI_MAX_FILES; i++)
        files[i] = arena_printf(&g->arena, "%s/input_%d.pb", o->dataset, i);
    void *out[CLI_MAX_FILES] = {0};
    bool ok = false;
    Status s = g->noutput > CLI_MAX_FILES || nin > CLI_MAX_FILES
                   ? diag_error(&d, WR_EUNSUPPORTED, "more than %d inputs or outputs", CLI_MAX_FILES)
                   : execute(o, g, (const char *const *)files, nin, out, NULL, &d);
    if (s == WR_OK) {
        printf("%s on %s (engine %s, target %s):\n", o->model, o->dataset, o->engine,
               target_name(o->target));
        s = verify_outputs(o, g, out, &ok, &d);
    }
    free_outputs(g, out);
    ir_graph_free(g);
    if (s != WR_OK)
        return fail(o, &d);
    printf("%s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
}
