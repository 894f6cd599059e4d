/*
 * compare_report.c: report.md, report.csv and report.json of `wrpnc compare`.
 * One X-macro list of fields (name, type, value) writes the CSV and the JSON,
 * so the two always hold the same numbers; the display table (report.md and
 * report.html) formats a subset. Unknown values are empty in CSV and null in
 * JSON: integers below 0, doubles that are NaN, strings that are NULL.
 */
#include "compare.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char *init_name(const Variant *v)
{
    return v->init < 0 ? NULL : v->init == WIDTH_RANDOM ? "random" : "preserve";
}

/* clang-format off */
/*  key               type  value */
#define CMP_FIELDS(X)                                   \
    X(variant,          STR,  v->name)                  \
    X(quant,            STR,  v->quant)                 \
    X(kw,               INT,  (int64_t)v->kw)           \
    X(ka,               INT,  (int64_t)v->ka)           \
    X(width,            NUM,  v->width)                 \
    X(init,             STR,  init_name(v))             \
    X(status,           STR,  v->status)                \
    X(error,            STR,  v->error)                 \
    X(latency_ms,       NUM,  v->latency_ms)            \
    X(text_bytes,       INT,  v->text)                  \
    X(rodata_bytes,     INT,  v->rodata)                \
    X(weight_bytes,     INT,  v->weights)               \
    X(workspace_bytes,  INT,  v->workspace)             \
    X(memory_bytes,     INT,  cmp_memory(v))            \
    X(params,           INT,  v->params)                \
    X(macs,             INT,  v->macs)                  \
    X(bops,             INT,  v->bops)                  \
    X(layers,           INT,  (int64_t)v->layers)       \
    X(int_layers,       INT,  (int64_t)v->qlayers)      \
    X(calib_examples,   INT,  (int64_t)v->calib_examples) \
    X(max_abs_err,      NUM,  v->max_abs_err)           \
    X(top1_agreement,   NUM,  v->agreement)             \
    X(accuracy,         NUM,  v->accuracy)              \
    X(pareto_latency,   BOOL, v->pareto_lat)            \
    X(pareto_memory,    BOOL, v->pareto_mem)
/* clang-format on */

/* ---- JSON ---- */

static void json_str(Buf *b, const char *s)
{
    if (!s) {
        buf_puts(b, "null");
        return;
    }
    buf_puts(b, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            buf_printf(b, "\\%c", ch);
        else if (ch < 0x20)
            buf_printf(b, "\\u%04x", ch);
        else
            buf_printf(b, "%c", ch);
    }
    buf_puts(b, "\"");
}

static void json_STR(Buf *b, const char *s) { json_str(b, s); }
static void json_INT(Buf *b, int64_t x)
{
    if (x < 0)
        buf_puts(b, "null");
    else
        buf_printf(b, "%lld", (long long)x);
}
static void json_NUM(Buf *b, double x)
{
    if (isfinite(x))
        buf_printf(b, "%.17g", x);
    else
        buf_puts(b, "null");
}
static void json_BOOL(Buf *b, bool x) { buf_puts(b, x ? "true" : "false"); }

static void json_variant(Buf *b, const Variant *v, bool last)
{
    const char *sep = "    {";
#define X(key, T, val)                                                                             \
    buf_printf(b, "%s\"%s\": ", sep, #key);                                                        \
    json_##T(b, val);                                                                              \
    sep = ", ";
    CMP_FIELDS(X)
#undef X
    buf_printf(b, "}%s\n", last ? "" : ",");
}

static void json(const Compare *c, Buf *b)
{
    char note[16][1024];
    int nn = cmp_notes(c, note, 16);
    buf_puts(b, "{\n  \"model\": ");
    json_str(b, c->o->model);
    buf_printf(b, ",\n  \"target\": \"%s\",\n  \"inputs\": ", target_name(c->o->target));
    json_str(b, c->data.desc);
    buf_printf(b, ",\n  \"samples\": %d,\n  \"examples\": %d,\n  \"labels\": %s,\n",
               c->data.nsample, c->data.nsample * c->data.batch,
               c->data.labels ? "true" : "false");
    buf_printf(b, "  \"random_inputs\": %s,\n  \"reps\": %d,\n  \"warmup\": %d,\n",
               c->random_inputs ? "true" : "false", c->o->reps, c->o->warmup);
    buf_puts(b, "  \"reference\": ");
    json_str(b, c->v[c->ref].name);
    buf_puts(b, ",\n  \"calibrate\": ");
    json_str(b, c->o->calibrate);
    buf_puts(b, ",\n  \"notes\": [");
    for (int i = 0; i < nn; i++) {
        buf_puts(b, i ? ", " : "");
        json_str(b, note[i]);
    }
    buf_puts(b, "],\n  \"variants\": [\n");
    for (int i = 0; i < c->n; i++)
        json_variant(b, &c->v[i], i == c->n - 1);
    buf_puts(b, "  ]\n}\n");
}

/* ---- CSV ---- */

static void csv_STR(Buf *b, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\n")) {
        buf_puts(b, s);
        return;
    }
    buf_puts(b, "\"");
    for (; *s; s++)
        if (*s == '"')
            buf_puts(b, "\"\"");
        else
            buf_printf(b, "%c", *s);
    buf_puts(b, "\"");
}
static void csv_INT(Buf *b, int64_t x)
{
    if (x >= 0)
        buf_printf(b, "%lld", (long long)x);
}
static void csv_NUM(Buf *b, double x)
{
    if (isfinite(x))
        buf_printf(b, "%.17g", x);
}
static void csv_BOOL(Buf *b, bool x) { buf_puts(b, x ? "true" : "false"); }

static void csv(const Compare *c, Buf *b)
{
    const char *sep = "";
#define X(key, T, val)                                                                             \
    buf_printf(b, "%s%s", sep, #key);                                                              \
    sep = ",";
    CMP_FIELDS(X)
#undef X
    buf_puts(b, "\n");
    for (int i = 0; i < c->n; i++) {
        const Variant *v = &c->v[i];
        sep = "";
#define X(key, T, val)                                                                             \
    buf_puts(b, sep);                                                                              \
    csv_##T(b, val);                                                                               \
    sep = ",";
        CMP_FIELDS(X)
#undef X
        buf_puts(b, "\n");
    }
}

/* ---- the display table (report.md, report.html) ---- */

#define OFF(f) offsetof(Variant, f)
/* clang-format off */
const CmpColumn cmp_table[] = {
    /* key               header          format      field */
    {"variant",         "variant",      CELL_TEXT,   OFF(name)},
    {"quant",           "quantization", CELL_TEXT,   OFF(quant)},
    {"int_layers",      "int layers",   CELL_LAYERS, 0},
    {"status",          "status",       CELL_TEXT,   OFF(status)},
    {"latency_ms",      "latency ms",   CELL_MS,     OFF(latency_ms)},
    {"text_bytes",      "text B",       CELL_BYTES,  OFF(text)},
    {"rodata_bytes",    "rodata B",     CELL_BYTES,  OFF(rodata)},
    {"weight_bytes",    "weights B",    CELL_BYTES,  OFF(weights)},
    {"workspace_bytes", "workspace B",  CELL_BYTES,  OFF(workspace)},
    {"macs",            "MACs",         CELL_COUNT,  OFF(macs)},
    {"bops",            "BOPs",         CELL_COUNT,  OFF(bops)},
    {"max_abs_err",     "max abs err",  CELL_ERR,    OFF(max_abs_err)},
    {"top1_agreement",  "top-1 agree",  CELL_PCT1,   OFF(agreement)},
    {"accuracy",        "accuracy",     CELL_PCT2,   OFF(accuracy)},
    {"pareto",          "Pareto",       CELL_PARETO, 0},
};
/* clang-format on */
const int cmp_ntable = sizeof cmp_table / sizeof cmp_table[0];

/* 1234567 -> "1,234,567". */
static const char *grouped(int64_t x, char *buf, size_t n)
{
    char raw[32];
    int len = snprintf(raw, sizeof raw, "%lld", (long long)x), k = 0;
    for (int i = 0; i < len && (size_t)k + 2 < n; i++) {
        if (i && (len - i) % 3 == 0)
            buf[k++] = ',';
        buf[k++] = raw[i];
    }
    buf[k] = 0;
    return buf;
}

/* 3 significant digits with k, M, G, T: 1919872 -> "1.92M". */
static const char *compact(int64_t x, char *buf, size_t n)
{
    static const char *const unit[] = {"", "k", "M", "G", "T", "P"};
    double v = (double)x;
    int u = 0;
    while (v >= 999.5 && u < 5) {
        v /= 1000;
        u++;
    }
    snprintf(buf, n, u ? "%.3g%s" : "%.0f%s", v, unit[u]);
    return buf;
}

static const char *number(char *buf, size_t n, const char *fmt, double x)
{
    snprintf(buf, n, fmt, x);
    return buf;
}

const char *cmp_cell(const Variant *v, int k, char *buf, size_t n)
{
    const CmpColumn *col = &cmp_table[k];
    const char *f = (const char *)v + col->off;
    int64_t i = -1;
    double x = NAN;
    if (col->format == CELL_BYTES || col->format == CELL_COUNT)
        memcpy(&i, f, sizeof i);
    else if (col->format >= CELL_MS && col->format <= CELL_PCT2)
        memcpy(&x, f, sizeof x);
    buf[0] = 0;
    switch (col->format) {
    case CELL_TEXT: return f;
    case CELL_LAYERS:
        if (v->layers >= 0)
            snprintf(buf, n, "%d/%d", v->qlayers, v->layers);
        break;
    case CELL_BYTES: return i >= 0 ? grouped(i, buf, n) : buf;
    case CELL_COUNT: return i >= 0 ? compact(i, buf, n) : buf;
    case CELL_MS: return isfinite(x) ? number(buf, n, "%.4f", x) : buf;
    case CELL_ERR: return isfinite(x) ? number(buf, n, "%.3g", x) : buf;
    case CELL_PCT1: return isfinite(x) ? number(buf, n, "%.1f%%", 100 * x) : buf;
    case CELL_PCT2: return isfinite(x) ? number(buf, n, "%.2f%%", 100 * x) : buf;
    case CELL_PARETO:
        snprintf(buf, n, "%s%s%s", v->pareto_lat ? "latency" : "",
                 v->pareto_lat && v->pareto_mem ? ", " : "", v->pareto_mem ? "memory" : "");
        break;
    }
    return buf;
}

/* ---- notes ---- */

static bool any(const Compare *c, VariantKind k)
{
    for (int i = 0; i < c->n; i++)
        if (c->v[i].kind == k)
            return true;
    return false;
}

static bool any_random_init(const Compare *c)
{
    for (int i = 0; i < c->n; i++)
        if (c->v[i].init == WIDTH_RANDOM)
            return true;
    return false;
}

/* The notes on quantization: how each kind of variant got its numbers. */
static int quant_notes(const Compare *c, char note[][1024], int k, int max)
{
    int used = 0;
    for (int i = 0; i < c->n; i++)
        used = c->v[i].calib_examples > used ? c->v[i].calib_examples : used;
    if (any(c, VK_BITS) && c->o->calibrate && k < max)
        snprintf(note[k++], 1024, "calibrated: post-training calibration on %d example(s) of "
                 "%.600s: per-channel weight scales (max |w| on the narrow signed grid), "
                 "activation ranges from the reference interpreter's run over the data%s; the "
                 "layers get QONNX quantizers and lower as an export's.",
                 used, c->o->calibrate,
                 c->o->calib_percentile < 100 ? " (a percentile of |x|)" : " (min/max)");
    if (any(c, VK_BITS) && !c->o->calibrate && k < max)
        snprintf(note[k++], 1024, "uncalibrated: WRPN's fixed quantizers (activations clipped "
                 "to [0, 1], weights to [-1, 1]), no calibration and no training: on a float "
                 "model accuracy can collapse. Give --calibrate DATASET.");
    char none[512] = "";
    for (int i = 0; i < c->n; i++)
        if (c->v[i].kind != VK_FP32 && c->v[i].qlayers == 0 && c->v[i].layers > 0) {
            size_t l = strlen(none);
            snprintf(none + l, sizeof none - l, "%s%.60s", l ? ", " : "", c->v[i].name);
        }
    if (*none && k < max)
        snprintf(note[k++], 1024, "No layer of %s runs on integer kernels: nothing matched "
                 "the quantizers (WRPN's --wbits/--abits needs a Relu in front of a layer), so "
                 "they compute in float. --calibrate quantizes any float activation.", none);
    if (c->own && k < max)
        snprintf(note[k++], 1024, "The model is quantized (node '%.200s', %s): 'as exported' "
                 "is its own quantization, as trained; fp32 is the network with its quantizers "
                 "stripped.", c->own->name, op_name(c->own));
    if (!c->own && any(c, VK_EXPORTED) && k < max)
        snprintf(note[k++], 1024, "The model carries no quantization: 'as exported' is the "
                 "float model.");
    return k;
}

int cmp_notes(const Compare *c, char note[][1024], int max)
{
    int k = 0;
    snprintf(note[k++], 1024, "Sizes are measured, not estimated: text B and rodata B are "
             "the .text and .rodata sections of the compiled objects, weights B the constant "
             "arrays in them (weights, scales, thresholds: their symbol sizes), workspace B "
             "the generated _WORKSPACE_BYTES. Memory in the plot = weights B + workspace B.");
    snprintf(note[k++], 1024, "int layers: Conv, Gemm and MatMul layers running on integer "
             "kernels, of all of them. BOPs = MACs x k_w x k_a per layer as built (32 x 32 "
             "for layers that stay float).");
    k = quant_notes(c, note, k, max);
    if (c->random_inputs && k < max)
        snprintf(note[k++], 1024, "No data was given: the inputs are %d seeded random "
                 "sample(s). Agreement on random inputs tells whether a variant computes the "
                 "same function as %s, not how accurate it is: a quantized variant can "
                 "disagree on noise and still classify real data well. Give --dataset (with "
                 "--labels) or --inputs.", c->data.nsample, c->v[c->ref].name);
    if (any_random_init(c) && k < max)
        snprintf(note[k++], 1024, "Widened variants with random init are untrained: their "
                 "agreement only says they run; use :preserve (function-preserving "
                 "widening) or a trained wide model to compare accuracy.");
    if (!c->timed && k < max)
        snprintf(note[k++], 1024, "Target %s does not run natively here: no latency.",
                 target_name(c->o->target));
    return k;
}

/* ---- report.md ---- */

static void md(const Compare *c, Buf *b)
{
    char note[16][1024], cell[128];
    int nn = cmp_notes(c, note, 16);
    buf_printf(b, "# wrpnc variant report: %s\n\n", c->o->model);
    buf_printf(b, "target %s, %s, %d timing reps (median, %d warm-up); agreement against "
               "%s.\n\n|", target_name(c->o->target), c->data.desc, c->o->reps,
               c->o->warmup, c->v[c->ref].name);
    for (int k = 0; k < cmp_ntable; k++)
        buf_printf(b, " %s |", cmp_table[k].head);
    buf_puts(b, "\n|");
    for (int k = 0; k < cmp_ntable; k++)
        buf_puts(b, "---|");
    for (int i = 0; i < c->n; i++) {
        buf_puts(b, "\n|");
        for (int k = 0; k < cmp_ntable; k++)
            buf_printf(b, " %s |", cmp_cell(&c->v[i], k, cell, sizeof cell));
    }
    buf_puts(b, "\n");
    bool err = false;
    for (int i = 0; i < c->n; i++)
        if (c->v[i].error[0]) {
            buf_printf(b, "%s- **%s**: %s\n", err ? "" : "\n## Errors\n\n", c->v[i].name,
                       c->v[i].error);
            err = true;
        }
    buf_puts(b, "\n## Notes\n\n");
    for (int i = 0; i < nn; i++)
        buf_printf(b, "%d. %s\n", i + 1, note[i]);
}

static Status write_buf(const char *dir, const char *file, const Buf *b, Diag *d)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(b->p ? b->p : "", 1, b->len, f) == b->len;
    if (f)
        ok &= fclose(f) == 0;
    return ok ? WR_OK : diag_error(d, WR_EIO, "%s: cannot write: %s", path, strerror(errno));
}

Status cmp_write_reports(const Compare *c, Diag *d)
{
    Buf b[5] = {{0}};
    md(c, &b[0]);
    csv(c, &b[1]);
    json(c, &b[2]);
    cmp_svg(c, &b[3]);
    cmp_html(c, b[3].p, &b[4]);
    static const char *const names[] = {"report.md", "report.csv", "report.json", "report.svg",
                                        "report.html"};
    Status s = WR_OK;
    for (int i = 0; i < 5; i++) {
        if (s == WR_OK)
            s = write_buf(c->o->report, names[i], &b[i], d);
        buf_free(&b[i]);
    }
    return s;
}
