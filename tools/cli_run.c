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

/* Generated code built once in a temporary folder, run for each set of inputs. */
typedef struct Built {
    char dir[64], name[256], exe[4096];
} Built;

static Status build(const CliOptions *o, const Graph *g, Built *b, Diag *d)
{
    snprintf(b->dir, sizeof b->dir, "/tmp/wrpnc-run-XXXXXX");
    if (!mkdtemp(b->dir))
        return diag_error(d, WR_EIO, "cannot create a temporary folder");
    cli_model_name(o, b->name, sizeof b->name);
    WR_TRY(cli_generate(o, g, b->dir, b->name, d));
    return cli_build_harness(o, b->dir, b->name, b->exe, sizeof b->exe, d);
}

/* Keeps the folder with --keep or after the generated code failed, else removes it. */
static void unbuild(const CliOptions *o, const Built *b, Status s, const Diag *d)
{
    if (o->keep || (s != WR_OK && d->status == WR_EVERIFY))
        fprintf(stderr, "wrpnc: generated code kept in %s\n", b->dir);
    else
        cli_rm_rf(b->dir);
}

/* Runs the built harness on in[] and fills out[] (allocated by the caller). */
static Status run_c(const CliOptions *o, const Graph *g, const Built *b, void **in, void **out,
                    double *ns, Diag *d)
{
    char path[4200], reps[32], warm[32], *argv[2 * CLI_MAX_FILES + 40];
    int a = 0;
    char *prefix = o->exec ? arena_strdup((Arena *)&g->arena, o->exec) : NULL;
    if (prefix) /* an emulator: its words come first */
        a = cli_split_words(prefix, argv, 32);
    snprintf(reps, sizeof reps, "%d", o->reps > 0 ? o->reps : 1);
    snprintf(warm, sizeof warm, "%d", o->warmup);
    char *head[] = {(char *)b->exe, "-r", reps, "-w", warm};
    for (int i = 0; i < 5; i++)
        argv[a++] = head[i];
    if (o->weights == WEIGHTS_BLOB) {
        argv[a++] = "-b";
        argv[a++] = arena_printf((Arena *)&g->arena, "%s/%s.bin", b->dir, b->name);
    }
    Status s = WR_OK;
    for (int i = 0; i < g->ninput && s == WR_OK; i++) {
        snprintf(path, sizeof path, "%s/in%d.bin", b->dir, i);
        s = write_raw(path, in[i], (size_t)ir_tensor_bytes(g->input[i]), d);
        argv[a++] = arena_strdup((Arena *)&g->arena, path);
    }
    int first_out = a;
    for (int i = 0; i < g->noutput; i++)
        argv[a++] = arena_printf((Arena *)&g->arena, "%s/out%d.bin", b->dir, i);
    argv[a] = NULL;
    char text[512] = "";
    if (s == WR_OK && cli_exec(argv, text, sizeof text) != 0)
        s = diag_error(d, WR_EVERIFY, "the generated code failed to run (kept in %s)", b->dir);
    for (int i = 0; i < g->noutput && s == WR_OK; i++)
        s = read_raw(argv[first_out + i], out[i], (size_t)ir_tensor_bytes(g->output[i]), d);
    const char *med = strstr(text, "median_ns");
    if (ns)
        *ns = s == WR_OK && med ? strtod(med + 9, NULL) : 0;
    return s;
}

/* Loads input files, runs (b: the built code, or NULL for the interpreter), and fills
 * malloc'ed outputs (g->noutput of them). */
static Status execute(const CliOptions *o, const Graph *g, const Built *b,
                      const char *const *files, int nfiles, void **out, double *ns, Diag *d)
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
            s = cli_check_input(g->input[loaded], &h[loaded], files[loaded], d);
        in[loaded] = h[loaded].data;
    }
    for (int i = 0; i < g->noutput; i++) {
        int64_t bytes = ir_tensor_bytes(g->output[i]);
        out[i] = out[i] ? out[i] : calloc(1, (size_t)(bytes ? bytes : 1));
    }
    if (s == WR_OK && !b)
        s = ir_interp_run((Graph *)g, in, out, d);
    else if (s == WR_OK)
        s = run_c(o, g, b, in, out, ns, d);
    for (int i = 0; i < loaded; i++)
        fe_host_tensor_free(&h[i]);
    return s;
}

static void free_outputs(const Graph *g, void **out)
{
    for (int i = 0; i < g->noutput; i++)
        free(out[i]);
}

/* The generated code's build when the engine is c (b->exe set), else nothing. */
static Status maybe_build(const CliOptions *o, const Graph *g, Built *b, Diag *d)
{
    memset(b, 0, sizeof *b);
    return strcmp(o->engine, "c") == 0 ? build(o, g, b, d) : WR_OK;
}

static Status write_outputs(const CliOptions *o, const Graph *g, void **out, Diag *d)
{
    WR_TRY(cli_mkdir_p(o->outdir, d));
    for (int i = 0; i < g->noutput; i++) {
        char path[4096];
        const Tensor *t = g->output[i];
        snprintf(path, sizeof path, "%s/output_%d.pb", o->outdir, i);
        WR_TRY(fe_tensor_write_pb(path, t->name, t->dtype, t->ndim, t->dim, out[i], d));
    }
    return WR_OK;
}

int cli_cmd_run(CliOptions *o)
{
    Diag d = {0};
    Graph *g;
    if (!o->outdir)
        return cli_usage_error("run needs --output-dir DIR");
    if (cli_load(o, &g, &d) != WR_OK)
        return cli_fail(o, &d);
    void *out[CLI_MAX_FILES] = {0};
    double ns = 0;
    Built b;
    memset(&b, 0, sizeof b);
    Status s = g->noutput > CLI_MAX_FILES
                   ? diag_error(&d, WR_EUNSUPPORTED, "more than %d outputs", CLI_MAX_FILES)
                   : maybe_build(o, g, &b, &d);
    if (s == WR_OK)
        s = execute(o, g, b.exe[0] ? &b : NULL, o->inputs, o->ninputs, out, &ns, &d);
    if (b.dir[0])
        unbuild(o, &b, s, &d);
    if (s == WR_OK)
        s = write_outputs(o, g, out, &d);
    if (s == WR_OK && o->reps > 1)
        printf("median latency: %.3f ms over %d runs%s\n", ns / 1e6, o->reps,
               o->exec ? " (through --exec: not the target's speed)" : "");
    free_outputs(g, out);
    ir_graph_free(g);
    return s == WR_OK ? 0 : cli_fail(o, &d);
}

/* ---- verify ---- */

static int count_files(const char *dir, const char *prefix)
{
    int n = 0;
    char path[4400];
    struct stat st;
    for (;; n++) {
        snprintf(path, sizeof path, "%.4200s/%s_%d.pb", dir, prefix, n);
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

static Status verify_outputs(const CliOptions *o, const Graph *g, const char *dir, void **out,
                             bool *ok, Diag *d)
{
    *ok = true;
    if (count_files(dir, "output") != g->noutput)
        return diag_error(d, WR_EVERIFY, "%s holds %d expected outputs, the model has %d", dir,
                          count_files(dir, "output"), g->noutput);
    for (int i = 0; i < g->noutput; i++) {
        char path[4400];
        HostTensor h;
        snprintf(path, sizeof path, "%.4200s/output_%d.pb", dir, i);
        WR_TRY(fe_tensor_read_pb(path, &h, d));
        Status s = check_output(g->output[i], &h, d);
        if (s == WR_OK)
            *ok &= compare(o, g->output[i], out[i], &h);
        fe_host_tensor_free(&h);
        WR_TRY(s);
    }
    return WR_OK;
}

/* Runs one test-data folder (input_*.pb, output_*.pb); *ok tells whether it passed. */
static Status verify_set(const CliOptions *o, const Graph *g, const Built *b, const char *dir,
                         bool *ok, Diag *d)
{
    int nin = count_files(dir, "input");
    char *files[CLI_MAX_FILES];
    if (nin > CLI_MAX_FILES)
        return diag_error(d, WR_EUNSUPPORTED, "more than %d inputs", CLI_MAX_FILES);
    for (int i = 0; i < nin; i++)
        files[i] = arena_printf((Arena *)&g->arena, "%s/input_%d.pb", dir, i);
    void *out[CLI_MAX_FILES] = {0};
    Status s = execute(o, g, b, (const char *const *)files, nin, out, NULL, d);
    if (s == WR_OK) {
        printf("%s on %s (engine %s, target %s):\n", o->model, dir, o->engine,
               target_name(o->target));
        s = verify_outputs(o, g, dir, out, ok, d);
    }
    free_outputs(g, out);
    return s;
}

/* Every test_data_set_<k> of o->verify_dir, or the folder itself; npass counts passes. */
static Status verify_all(const CliOptions *o, const Graph *g, int *npass, int *nset, Diag *d)
{
    Built b;
    int sets = cli_count_sets(o->verify_dir);
    *nset = sets ? sets : 1;
    *npass = 0;
    WR_TRY(maybe_build(o, g, &b, d));
    Status s = WR_OK;
    for (int k = 0; k < *nset && s == WR_OK; k++) {
        char dir[4200];
        bool ok = false;
        snprintf(dir, sizeof dir, sets ? "%s/test_data_set_%d" : "%s", o->verify_dir, k);
        s = verify_set(o, g, b.exe[0] ? &b : NULL, dir, &ok, d);
        *npass += ok;
    }
    if (b.dir[0])
        unbuild(o, &b, s, d);
    return s;
}

int cli_cmd_verify(CliOptions *o)
{
    Diag d = {0};
    Graph *g;
    if (!o->verify_dir)
        return cli_usage_error("verify needs a DIR of input_*.pb and output_*.pb (or of "
                               "test_data_set_* folders)");
    if (cli_load(o, &g, &d) != WR_OK)
        return cli_fail(o, &d);
    if (g->noutput > CLI_MAX_FILES) {
        ir_graph_free(g);
        diag_error(&d, WR_EUNSUPPORTED, "more than %d outputs", CLI_MAX_FILES);
        return cli_fail(o, &d);
    }
    int npass, nset;
    Status s = verify_all(o, g, &npass, &nset, &d);
    ir_graph_free(g);
    if (s != WR_OK)
        return cli_fail(o, &d);
    if (nset > 1)
        printf("%d of %d sets passed: ", npass, nset);
    printf("%s\n", npass == nset ? "PASS" : "FAIL");
    return npass == nset ? 0 : 1;
}
