/*
 * cli_compare.c: `wrpnc compare MODEL --variants LIST --report DIR`: builds each
 * variant (precision, width) with wrpnc's own passes and the C compiler, times
 * it with the generated harness, runs every sample, and writes the report. No
 * interpreter or package beyond a C compiler is needed.
 *
 *   1. variants parsed (compare_variant.c); the fp32 1x reference added if absent
 *   2. the model loaded once for its inputs and outputs, and whether it is quantized
 *      (then wKaJ needs --requantize)
 *   3. inputs: --inputs (TensorProto folders), --dataset [--labels], or seeded random
 *      samples, written to DIR/build/inputs
 *   4. builds, in parallel (compare_build.c); runs, one at a time (compare_run.c)
 *   5. Pareto fronts and the five report files (compare_report.c, compare_plot.c)
 */
#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void dry_run(const Variant *v, int n)
{
    static const char *const kind[] = {"fp32", "bits", "exported"};
    for (int i = 0; i < n; i++)
        printf("%s: kind %s kw %d ka %d width %g init %s\n", v[i].name, kind[v[i].kind],
               v[i].kw, v[i].ka, v[i].width,
               v[i].init < 0 ? "-" : v[i].init == WIDTH_RANDOM ? "random" : "preserve");
}

/* The fp32 1x variant, added first as "fp32 (reference)" when the list has none. */
static void reference(Compare *c)
{
    for (c->ref = 0; c->ref < c->n; c->ref++)
        if (c->v[c->ref].kind == VK_FP32 && c->v[c->ref].width == 1)
            return;
    memmove(&c->v[1], &c->v[0], sizeof c->v[0] * (size_t)c->n);
    memset(&c->v[0], 0, sizeof c->v[0]);
    snprintf(c->v[0].name, sizeof c->v[0].name, "fp32 (reference)");
    c->v[0].kind = VK_FP32;
    c->v[0].kw = c->v[0].ka = 32;
    c->v[0].width = 1;
    c->v[0].init = -1;
    c->v[0].reference = true;
    c->ref = 0;
    c->n++;
}

static const char *quant_label(const Compare *c, const Variant *v)
{
    switch (v->kind) {
    case VK_FP32: return c->own ? "float (quantizers stripped)" : "float";
    case VK_BITS: return c->o->calibrate ? "calibrated" : "uncalibrated (WRPN)";
    case VK_EXPORTED: return c->own ? "trained (as exported)" : "float (not quantized)";
    }
    return "";
}

/* Folders, names, labels and unknown measurements of every variant. */
static void setup(Compare *c)
{
    for (int i = 0; i < c->n; i++) {
        Variant *v = &c->v[i];
        char slug[96];
        cmp_slug(v->name, slug, sizeof slug);
        snprintf(v->dir, sizeof v->dir, "%.4000s/build/%s", c->o->report, slug);
        snprintf(v->cname, sizeof v->cname, "v_%s", slug);
        snprintf(v->quant, sizeof v->quant, "%s", quant_label(c, v));
        snprintf(v->status, sizeof v->status, "ok");
        v->layers = v->qlayers = -1;
        v->params = v->macs = v->bops = v->text = v->rodata = v->weights = v->workspace = -1;
        v->latency_ms = v->max_abs_err = v->agreement = v->accuracy = NAN;
    }
}

/* A quantized model's wKaJ variants replace its quantization: only with --requantize. */
static int refuse(const Compare *c)
{
    for (int i = 0; i < c->n && c->own && !c->o->requantize; i++)
        if (c->v[i].kind == VK_BITS)
            return cli_usage_error(
                "%s is already quantized (node '%.200s', %s): variant '%s' would replace its "
                "own quantization. Compare 'as exported' (the model's quantization), or add "
                "--requantize to strip it first.", c->o->model, c->own->name, op_name(c->own),
                c->v[i].name);
    return 0;
}

/* The model as loaded (shapes inferred): inputs, outputs, its own quantizer. */
static Status load_model(Compare *c, Diag *d)
{
    WR_TRY(fe_onnx_load(c->o->model, &c->o->fe, &c->g, d));
    c->own = quant_first(c->g);
    return ir_infer(c->g, NULL, d);
}

static Status load_data(Compare *c, Diag *d)
{
    CliOptions *o = c->o;
    if (o->inputs_dir)
        return cli_data_load(o->inputs_dir, NULL, c->g, SPLIT_TEST, o->samples, &c->data, d);
    if (o->data)
        return cli_data_load(o->data, o->labels, c->g, SPLIT_TEST, o->samples, &c->data, d);
    c->random_inputs = true;
    cli_data_random(c->g, o->samples ? o->samples : 8, o->passes.width_seed, &c->data);
    return WR_OK;
}

static Status write_file(const char *path, const void *p, size_t n, bool append, Diag *d)
{
    FILE *f = fopen(path, append ? "ab" : "wb");
    bool ok = f && fwrite(p, 1, n, f) == n;
    if (f)
        ok &= fclose(f) == 0;
    return ok ? WR_OK : diag_error(d, WR_EIO, "%s: cannot write", path);
}

/* DIR/build/inputs/all_in<i>.bin (every sample) and s0_in<i>.bin (the timed one). */
static Status write_inputs(Compare *c, Diag *d)
{
    snprintf(c->inputs_dir, sizeof c->inputs_dir, "%.4000s/build/inputs", c->o->report);
    WR_TRY(cli_mkdir_p(c->inputs_dir, d));
    for (int i = 0; i < c->g->ninput; i++) {
        char all[4300], s0[4300];
        size_t n = (size_t)ir_tensor_bytes(c->g->input[i]);
        snprintf(all, sizeof all, "%s/all_in%d.bin", c->inputs_dir, i);
        snprintf(s0, sizeof s0, "%s/s0_in%d.bin", c->inputs_dir, i);
        WR_TRY(write_file(s0, c->data.x[i], n, false, d));
        WR_TRY(write_file(all, "", 0, false, d));
        for (int s = 0; s < c->data.nsample; s++)
            WR_TRY(write_file(all, c->data.x[s * c->g->ninput + i], n, true, d));
    }
    return WR_OK;
}

/* The C compiler (and an emulator) for the target; whether and how its code runs. */
static void pick_tools(Compare *c)
{
    Diag d = {0};
    CliOptions *o = c->o;
    bool ok = cli_pick_tools(o, cli_default_cc, &d) == WR_OK;
    if (!o->cc)
        o->cc = cli_default_cc();
    c->runs = ok && (target_runs_here(o->target) || o->exec);
    c->timed = c->runs && !o->exec;
}

static Status compare(Compare *c, Diag *d)
{
    WR_TRY(load_model(c, d));
    if (refuse(c)) {
        c->o->usage_failed = true;
        return WR_EUSAGE;
    }
    WR_TRY(load_data(c, d));
    pick_tools(c);
    setup(c);
    WR_TRY(cli_mkdir_p(c->o->report, d));
    WR_TRY(write_inputs(c, d));
    cmp_build_all(c);
    cmp_run_all(c);
    cmp_pareto(c);
    return cmp_write_reports(c, d);
}

/* Prints report.md, as written, to stdout. */
static void show(const CliOptions *o)
{
    char path[4300], line[4096];
    snprintf(path, sizeof path, "%s/report.md", o->report);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        fputs(line, stdout);
    if (f)
        fclose(f);
    fprintf(stderr, "wrote %s/report.{md,csv,json,svg,html}\n", o->report);
}

int cli_cmd_compare(CliOptions *o)
{
    if (!o->variants)
        return cli_usage_error("compare needs --variants LIST (e.g. \"fp32, w4a4, w2a2@2x\")");
    Compare *c = calloc(1, sizeof *c);
    WR_ASSERT(c);
    Diag d = {0};
    c->o = o;
    if (cmp_parse_variants(o->variants, o->passes.width_init, c->v, &c->n, &d) != WR_OK) {
        free(c);
        return cli_usage_error("%s", d.msg);
    }
    if (o->dry_run) {
        dry_run(c->v, c->n);
        free(c);
        return 0;
    }
    if (!o->report) {
        free(c);
        return cli_usage_error("compare needs --report DIR");
    }
    if (!o->jobs)
        o->jobs = (int)sysconf(_SC_NPROCESSORS_ONLN) > 0 ? (int)sysconf(_SC_NPROCESSORS_ONLN) : 1;
    reference(c);
    Status s = compare(c, &d);
    int rc = s != WR_OK ? (o->usage_failed ? 2 : cli_fail(o, &d)) : c->v[c->ref].error[0] != 0;
    if (s == WR_OK)
        show(o);
    if (c->g)
        ir_graph_free(c->g);
    cli_data_free(&c->data);
    free(c);
    return rc;
}
