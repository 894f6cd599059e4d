/*
 * compare_run.c: running the built variants of `wrpnc compare`. The latency is
 * the generated harness's (runtime/wrpnc_harness.c: --warmup untimed runs, then
 * the median of --reps timed runs of the first sample); the outputs of every
 * sample come from the same harness run with -n (every sample in one process).
 * Outputs are compared with the reference's (fp32 at 1x): the largest absolute
 * difference over every output, and the top-1 agreement of output 0 read as
 * (rows, scores); with labels, top-1 accuracy. Variants run one at a time so
 * that they do not disturb each other's timing.
 */
#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* argv starting with the --exec command's words (an emulator), if any. */
static int exec_prefix(const Compare *c, char *buf, size_t n, char **argv)
{
    if (!c->o->exec)
        return 0;
    snprintf(buf, n, "%s", c->o->exec);
    return cli_split_words(buf, argv, 16);
}

static Status run(char **argv, char *out, size_t n, const char *what, Diag *d)
{
    int rc = cli_exec(argv, out, n);
    return rc == 0 ? WR_OK : diag_error(d, WR_EVERIFY, "%s failed (exit %d)", what, rc);
}

/* The harness on sample 0: the median latency in ms. */
static Status time_one(const Compare *c, const Variant *v, double *ms, Diag *d)
{
    char pre[512], exe[4300], reps[32], warm[32], text[1024] = "";
    char *argv[3 * CLI_MAX_FILES + 32];
    char files[2 * CLI_MAX_FILES][4300];
    int a = exec_prefix(c, pre, sizeof pre, argv), ni = c->g->ninput;
    snprintf(exe, sizeof exe, "%s/harness", v->dir);
    snprintf(reps, sizeof reps, "%d", c->o->reps > 0 ? c->o->reps : 1);
    snprintf(warm, sizeof warm, "%d", c->o->warmup);
    char *head[] = {exe, "-r", reps, "-w", warm};
    for (int i = 0; i < 5; i++)
        argv[a++] = head[i];
    for (int i = 0; i < ni + c->g->noutput; i++) {
        if (i < ni)
            snprintf(files[i], sizeof files[i], "%s/s0_in%d.bin", c->inputs_dir, i);
        else
            snprintf(files[i], sizeof files[i], "%s/s0_out%d.bin", v->dir, i - ni);
        argv[a++] = files[i];
    }
    argv[a] = NULL;
    WR_TRY(run(argv, text, sizeof text, "running the generated code (harness)", d));
    const char *m = strstr(text, "median_ns");
    if (!m)
        return diag_error(d, WR_EVERIFY, "the harness printed no median_ns");
    *ms = strtod(m + 9, NULL) / 1e6;
    return WR_OK;
}

static Status read_file(const char *path, void *p, size_t n, Diag *d)
{
    FILE *f = fopen(path, "rb");
    bool ok = f && fread(p, 1, n, f) == n;
    if (f)
        fclose(f);
    return ok ? WR_OK : diag_error(d, WR_EIO, "%s: cannot read %zu bytes", path, n);
}

/* The harness (-n) on every sample; out[k]: nsample outputs k back to back (malloc'ed). */
static Status eval_all(const Compare *c, const Variant *v, void **out, Diag *d)
{
    char pre[512], exe[4300], num[32];
    char *argv[3 * CLI_MAX_FILES + 32];
    char files[2 * CLI_MAX_FILES][4300];
    int a = exec_prefix(c, pre, sizeof pre, argv), ni = c->g->ninput, no = c->g->noutput;
    snprintf(exe, sizeof exe, "%s/harness", v->dir);
    snprintf(num, sizeof num, "%d", c->data.nsample);
    argv[a++] = exe;
    argv[a++] = "-n";
    argv[a++] = num;
    for (int i = 0; i < ni + no; i++) {
        if (i < ni)
            snprintf(files[i], sizeof files[i], "%s/all_in%d.bin", c->inputs_dir, i);
        else
            snprintf(files[i], sizeof files[i], "%s/out%d.bin", v->dir, i - ni);
        argv[a++] = files[i];
    }
    argv[a] = NULL;
    WR_TRY(run(argv, NULL, 0, "running the generated code on every sample", d));
    for (int k = 0; k < no; k++) {
        size_t n = (size_t)ir_tensor_bytes(c->g->output[k]) * (size_t)c->data.nsample;
        WR_ASSERT((out[k] = malloc(n + 1)));
        WR_TRY(read_file(files[ni + k], out[k], n, d));
    }
    return WR_OK;
}

/* ---- agreement, accuracy ---- */

static int64_t argmax(const double *x, int64_t n)
{
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

double cmp_top1_agree_d(const double *got, const double *ref, int64_t rows, int64_t cols)
{
    int64_t same = 0;
    for (int64_t r = 0; r < rows; r++)
        same += argmax(got + r * cols, cols) == argmax(ref + r * cols, cols);
    return rows ? (double)same / (double)rows : NAN;
}

void cmp_rows(const Tensor *t, int64_t *rows, int64_t *cols)
{
    int64_t per = ir_tensor_numel(t);
    *rows = t->ndim >= 2 && t->dim[0] > 0 ? t->dim[0] : 1;
    *cols = per / *rows;
}

/* Output 0 of every sample as doubles: rows x cols, cmp_rows' rows per sample. */
static double *scores(const Compare *c, const void *out, int64_t *rows, int64_t *cols)
{
    const Tensor *t = c->g->output[0];
    int64_t n = ir_tensor_numel(t) * c->data.nsample;
    double *x = calloc((size_t)n + 1, sizeof(double));
    WR_ASSERT(x);
    for (int64_t i = 0; i < n; i++)
        x[i] = dtype_get_f64(t->dtype, out, i);
    cmp_rows(t, rows, cols);
    *rows *= c->data.nsample;
    return x;
}

/* Largest |got - ref| over every output (NAN when an output is NaN in one only). */
static double max_err(const Compare *c, void **got, void **ref)
{
    double m = 0;
    for (int k = 0; k < c->g->noutput; k++) {
        const Tensor *t = c->g->output[k];
        for (int64_t i = 0, n = ir_tensor_numel(t) * c->data.nsample; i < n; i++) {
            double a = dtype_get_f64(t->dtype, got[k], i), b = dtype_get_f64(t->dtype, ref[k], i);
            if (a != a || b != b) {
                if ((a != a) != (b != b))
                    return NAN;
                continue;
            }
            m = a == b ? m : fmax(m, fabs(a - b));
        }
    }
    return m;
}

static void stats(const Compare *c, Variant *v, void **got, void **ref)
{
    int64_t rows, cols;
    double *g = scores(c, got[0], &rows, &cols), *r = scores(c, ref[0], &rows, &cols);
    v->max_abs_err = max_err(c, got, ref);
    v->agreement = cmp_top1_agree_d(g, r, rows, cols);
    v->accuracy = NAN;
    if (c->data.labels && rows == (int64_t)c->data.nsample * c->data.batch) {
        int64_t ok = 0;
        for (int64_t i = 0; i < rows; i++)
            ok += argmax(g + i * cols, cols) == c->data.labels[i];
        v->accuracy = (double)ok / (double)rows;
    }
    free(g);
    free(r);
}

static void free_outs(void **out)
{
    for (int k = 0; k < CLI_MAX_FILES; k++) {
        free(out[k]);
        out[k] = NULL;
    }
}

/* Times and runs v; its outputs in out (the caller frees them). */
static void run_one(Compare *c, int i, void **out)
{
    Variant *v = &c->v[i];
    Diag d = {0};
    fprintf(stderr, "[%d/%d] %s: running %d sample(s)\n", i + 1, c->n, v->name, c->data.nsample);
    Status s = c->timed ? time_one(c, v, &v->latency_ms, &d) : WR_OK;
    if (s == WR_OK)
        s = eval_all(c, v, out, &d);
    if (s != WR_OK) {
        snprintf(v->status, sizeof v->status, "failed");
        snprintf(v->error, sizeof v->error, "%.590s", d.msg);
        fprintf(stderr, "[%d/%d] %s: FAILED: %s\n", i + 1, c->n, v->name, v->error);
        free_outs(out);
    } else if (!c->timed)
        snprintf(v->status, sizeof v->status, "ran through --exec (%.100s): not timed",
                 c->o->exec);
}

void cmp_run_all(Compare *c)
{
    void *ref[CLI_MAX_FILES] = {0}, *out[CLI_MAX_FILES] = {0};
    for (int k = 0; k < c->n; k++) {
        int i = k == 0 ? c->ref : k <= c->ref ? k - 1 : k; /* the reference first */
        Variant *v = &c->v[i];
        if (v->error[0])
            continue;
        if (!c->runs) {
            snprintf(v->status, sizeof v->status, "built, not run (target %s cannot run here)",
                     target_name(c->o->target));
            continue;
        }
        run_one(c, i, i == c->ref ? ref : out);
        if (!v->error[0] && ref[0])
            stats(c, v, i == c->ref ? ref : out, ref);
        if (i != c->ref)
            free_outs(out);
    }
    free_outs(ref);
}

/* ---- Pareto fronts ---- */

double cmp_quality(const Compare *c, const Variant *v)
{
    return c->data.labels ? v->accuracy : v->agreement;
}

int64_t cmp_memory(const Variant *v)
{
    return v->weights < 0 || v->workspace < 0 ? -1 : v->weights + v->workspace;
}

static double cost(const Variant *v, bool lat)
{
    return lat ? v->latency_ms : cmp_memory(v) < 0 ? NAN : (double)cmp_memory(v);
}

/* v is on the front: no other point is at least as good on both axes and better on one. */
static bool front(const Compare *c, const Variant *v, bool lat)
{
    double x = cost(v, lat), q = cmp_quality(c, v);
    if (x != x || q != q)
        return false;
    for (int i = 0; i < c->n; i++) {
        double x2 = cost(&c->v[i], lat), q2 = cmp_quality(c, &c->v[i]);
        if (x2 == x2 && q2 == q2 && x2 <= x && q2 >= q && (x2 < x || q2 > q))
            return false;
    }
    return true;
}

void cmp_pareto(Compare *c)
{
    for (int i = 0; i < c->n; i++) {
        c->v[i].pareto_lat = front(c, &c->v[i], true);
        c->v[i].pareto_mem = front(c, &c->v[i], false);
    }
}
