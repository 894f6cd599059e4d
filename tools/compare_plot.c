/*
 * compare_plot.c: report.svg (quality against latency and against memory, log
 * x axes, Pareto fronts in red) and report.html (the table, the errors, the
 * notes of report.md and the plot). Tick labels are plain numbers (0.05 ms,
 * 10 kB); point labels are placed where they overlap no earlier label and stay
 * inside the panel; the page fits 1280 px without scrolling sideways (the plot
 * scales down with its viewBox, table headers wrap).
 */
#include "compare.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { PW = 560, PH = 400, PL = 64, PR = 24, PT = 36, PB = 52, CHAR_W = 7 };

/* ---- text ---- */

static void esc(Buf *b, const char *s)
{
    for (; s && *s; s++)
        switch (*s) {
        case '<': buf_puts(b, "&lt;"); break;
        case '>': buf_puts(b, "&gt;"); break;
        case '&': buf_puts(b, "&amp;"); break;
        case '"': buf_puts(b, "&quot;"); break;
        default: buf_printf(b, "%c", *s);
        }
}

/* A latency tick: 0.05, 0.5, 20 (ms), never "5e-2". */
static void ms_label(double v, int e, char *buf, size_t n)
{
    snprintf(buf, n, "%.*f", e < 0 ? -e : 0, v);
}

/* A byte tick: 500 B, 20 kB, 1 MB. */
static void bytes_label(double v, int e, char *buf, size_t n)
{
    static const char *const unit[] = {"B", "kB", "MB", "GB", "TB"};
    int u = e >= 0 ? e / 3 : 0;
    if (u > 4)
        u = 4;
    snprintf(buf, n, "%g %s", v / pow(10, 3 * u), unit[u]);
}

/* ---- one panel ---- */

typedef struct Panel {
    const Compare *c;
    bool lat;             /* x: latency (else memory) */
    int ox;               /* left edge in the figure */
    double x0, x1, y0, y1; /* log10 x range, quality range */
} Panel;

static double xval(const Panel *p, const Variant *v)
{
    return p->lat ? v->latency_ms : cmp_memory(v) > 0 ? (double)cmp_memory(v) : NAN;
}

static bool plotted(const Panel *p, const Variant *v)
{
    double x = xval(p, v), q = cmp_quality(p->c, v);
    return x == x && x > 0 && q == q;
}

static double px(const Panel *p, double x)
{
    return p->ox + PL + (log10(x) - p->x0) / (p->x1 - p->x0) * (PW - PL - PR);
}

static double py(const Panel *p, double q)
{
    return PT + (1 - (q - p->y0) / (p->y1 - p->y0)) * (PH - PT - PB);
}

/* Axis ranges from the plotted points: x in decades (padded), y 0..100 % or zoomed. */
static int ranges(Panel *p)
{
    double lo = INFINITY, hi = -INFINITY, qlo = INFINITY, qhi = -INFINITY;
    int n = 0;
    for (int i = 0; i < p->c->n; i++) {
        const Variant *v = &p->c->v[i];
        if (!plotted(p, v))
            continue;
        n++;
        lo = fmin(lo, log10(xval(p, v)));
        hi = fmax(hi, log10(xval(p, v)));
        qlo = fmin(qlo, cmp_quality(p->c, v));
        qhi = fmax(qhi, cmp_quality(p->c, v));
    }
    double pad = hi - lo < 0.2 ? 0.3 : (hi - lo) * 0.12;
    p->x0 = lo - pad;
    p->x1 = hi + pad;
    p->y0 = qhi - qlo > 0.4 ? 0 : fmax(0, floor((qlo - 0.02) * 20) / 20);
    p->y1 = qhi - qlo > 0.4 ? 1 : fmin(1, ceil((qhi + 0.02) * 20) / 20);
    if (p->y1 - p->y0 < 0.05)
        p->y0 = fmax(0, p->y1 - 0.05);
    return n;
}

static void y_axis(const Panel *p, Buf *b)
{
    for (int i = 0; i <= 4; i++) {
        double q = p->y0 + (p->y1 - p->y0) * i / 4;
        buf_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                   p->ox + PL, p->ox + PW - PR, py(p, q), py(p, q));
        buf_printf(b, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\" "
                   "font-size=\"11\">%g%%</text>\n", p->ox + PL - 5, py(p, q) + 4,
                   round(q * 1000) / 10);
    }
}

/* Ticks at 1, 2, 5 x 10^e (1 only when the range spans many decades). */
static void x_axis(const Panel *p, Buf *b)
{
    static const int steps[] = {1, 2, 5};
    int nstep = p->x1 - p->x0 < 2.5 ? 3 : 1;
    for (int e = (int)floor(p->x0); e <= (int)ceil(p->x1); e++)
        for (int k = 0; k < nstep; k++) {
            double t = e + log10(steps[k]);
            if (t < p->x0 || t > p->x1)
                continue;
            char label[32];
            double x = px(p, pow(10, t));
            (p->lat ? ms_label : bytes_label)(steps[k] * pow(10, e), e, label, sizeof label);
            buf_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#eee\"/>\n",
                       x, x, PT, PH - PB);
            buf_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" "
                       "font-size=\"11\">%s</text>\n", x, PH - PB + 15, label);
        }
}

/* ---- points and their labels ---- */

typedef struct Box {
    double x0, y0, x1, y1;
} Box;

static bool overlaps(const Box *a, const Box *b)
{
    return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1;
}

/* A label box near point (x, y), right of it or left of it, inside the plot area and
 * clear of the earlier boxes (and of the points). */
static Box place(const Panel *p, Box *boxes, int nbox, double x, double y, double w)
{
    static const int dy[] = {0, -14, 14, -28, 28, -42, 42, -56, 56};
    double left = p->ox + PL + 2, right = p->ox + PW - PR - 2, top = PT + 2, bot = PH - PB - 2;
    Box best = {0};
    for (int side = 0; side < 2; side++)
        for (size_t k = 0; k < sizeof dy / sizeof dy[0]; k++) {
            double bx = side ? x - 9 - w : x + 9, by = y - 4 + dy[k];
            Box b = {bx, by - 10, bx + w, by + 3};
            bool ok = b.x0 >= left && b.x1 <= right && b.y0 >= top && b.y1 <= bot;
            for (int i = 0; ok && i < nbox; i++)
                ok = !overlaps(&b, &boxes[i]);
            if (ok || (side == 0 && k == 0))
                best = b;
            if (ok)
                return best;
        }
    /* nowhere free: inside the area, overlapping */
    double sh = best.x1 > right ? best.x1 - right : best.x0 < left ? best.x0 - left : 0;
    best.x0 -= sh;
    best.x1 -= sh;
    return best;
}

static void points(const Panel *p, Buf *b)
{
    const Compare *c = p->c;
    Box boxes[2 * CMP_MAX_VARIANTS + 2];
    int nbox = 0;
    for (int i = 0; i < c->n; i++) /* the points themselves are taken */
        if (plotted(p, &c->v[i])) {
            double x = px(p, xval(p, &c->v[i])), y = py(p, cmp_quality(c, &c->v[i]));
            boxes[nbox++] = (Box){x - 6, y - 6, x + 6, y + 6};
        }
    for (int i = 0; i < c->n; i++) {
        const Variant *v = &c->v[i];
        if (!plotted(p, v))
            continue;
        bool on = p->lat ? v->pareto_lat : v->pareto_mem;
        double x = px(p, xval(p, v)), y = py(p, cmp_quality(c, v));
        buf_printf(b, "<circle class=\"point%s\" data-variant=\"", on ? " pareto-point" : "");
        esc(b, v->name);
        buf_printf(b, "\" cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"%s\" stroke=\"#222\"/>\n", x, y,
                   on ? "#d62728" : "#1f77b4");
        Box bx = place(p, boxes, nbox, x, y, CHAR_W * (double)strlen(v->name));
        boxes[nbox++] = bx;
        buf_printf(b, "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" font-size=\"11\">",
                   bx.x0, bx.y1 - 3);
        esc(b, v->name);
        buf_puts(b, "</text>\n");
    }
}

/* The front as a dashed red line through its points, in x order. */
static void front(const Panel *p, Buf *b)
{
    const Compare *c = p->c;
    int idx[CMP_MAX_VARIANTS + 1], n = 0;
    for (int i = 0; i < c->n; i++)
        if (plotted(p, &c->v[i]) && (p->lat ? c->v[i].pareto_lat : c->v[i].pareto_mem))
            idx[n++] = i;
    for (int i = 1; i < n; i++) /* insertion sort by x */
        for (int j = i; j > 0 && xval(p, &c->v[idx[j]]) < xval(p, &c->v[idx[j - 1]]); j--) {
            int t = idx[j];
            idx[j] = idx[j - 1];
            idx[j - 1] = t;
        }
    if (n < 2)
        return;
    buf_puts(b, "<polyline class=\"pareto\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\" "
                "stroke-dasharray=\"5,3\" points=\"");
    for (int i = 0; i < n; i++)
        buf_printf(b, "%s%.1f,%.1f", i ? " " : "", px(p, xval(p, &c->v[idx[i]])),
                   py(p, cmp_quality(c, &c->v[idx[i]])));
    buf_puts(b, "\"/>\n");
}

static void panel(Panel *p, Buf *b, const char *xlabel, const char *qlabel)
{
    int n = ranges(p), cx = p->ox + (PW + PL - PR) / 2, cy = (PH + PT - PB) / 2;
    buf_printf(b, "<g class=\"panel\">\n<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
               "fill=\"#fafafa\" stroke=\"#888\"/>\n", p->ox + PL, PT, PW - PL - PR,
               PH - PT - PB);
    buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"13\">%s</text>\n",
               cx, PH - 12, xlabel);
    buf_printf(b, "<text x=\"%d\" y=\"%d\" transform=\"rotate(-90 %d %d)\" "
               "text-anchor=\"middle\" font-size=\"13\">", p->ox + 16, cy, p->ox + 16, cy);
    esc(b, qlabel);
    buf_puts(b, "</text>\n");
    if (!n)
        buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">no data</text>\n", cx, cy);
    else {
        y_axis(p, b);
        x_axis(p, b);
        front(p, b);
        points(p, b);
    }
    buf_puts(b, "</g>\n");
}

void cmp_svg(const Compare *c, Buf *b)
{
    char q[160];
    snprintf(q, sizeof q, "%s", c->data.labels   ? "top-1 accuracy"
                                : c->random_inputs ? "top-1 agreement (random inputs)"
                                                   : "top-1 agreement with the reference");
    int w = 2 * PW, h = PH + 8;
    buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"wrpnc-plot\" width=\"%d\" "
               "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", w, h, w, h);
    buf_printf(b, "<text x=\"%d\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">%s against "
               "latency and memory (red: Pareto front)</text>\n", PW, q);
    Panel lat = {c, true, 0, 0, 0, 0, 0}, mem = {c, false, PW, 0, 0, 0, 0};
    panel(&lat, b, "median latency (ms, log scale)", q);
    panel(&mem, b, "memory: weights + workspace (log scale)", q);
    buf_puts(b, "</svg>\n");
}

/* ---- report.html ---- */

static const char style[] =
    "body{font-family:sans-serif;margin:16px;color:#222}\n"
    "h1{font-size:20px;word-break:break-all}\n"
    "table{border-collapse:collapse;font-size:12px}\n"
    "td,th{border:1px solid #aaa;padding:2px 5px;text-align:right}\n"
    "th{white-space:normal;background:#f0f0f0}\n"
    "td{white-space:nowrap}\n"
    "td.text{text-align:left;white-space:normal;max-width:12em}\n"
    "tr.failed{background:#fdd}\n"
    "#wrap{max-width:100%;overflow-x:auto}\n"
    "#plot svg{max-width:100%;height:auto}\n"
    "ol,ul{max-width:70em}\n";

static void table(const Compare *c, Buf *b)
{
    char cell[128];
    buf_puts(b, "<div id=\"wrap\"><table id=\"variants\">\n<tr>");
    for (int k = 0; k < cmp_ntable; k++)
        buf_printf(b, "<th>%s</th>", cmp_table[k].head);
    buf_puts(b, "</tr>\n");
    for (int i = 0; i < c->n; i++) {
        const Variant *v = &c->v[i];
        buf_printf(b, "<tr%s>", v->error[0] ? " class=\"failed\"" : "");
        for (int k = 0; k < cmp_ntable; k++) {
            buf_puts(b, cmp_table[k].format == CELL_TEXT ? "<td class=\"text\">" : "<td>");
            esc(b, cmp_cell(v, k, cell, sizeof cell));
            buf_puts(b, "</td>");
        }
        buf_puts(b, "</tr>\n");
    }
    buf_puts(b, "</table></div>\n");
}

void cmp_html(const Compare *c, const char *svg, Buf *b)
{
    char note[16][1024];
    int nn = cmp_notes(c, note, 16);
    buf_printf(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n<meta name=\"viewport\" "
                  "content=\"width=device-width\">\n<title>wrpnc variant report</title>\n"
                  "<style>\n%s</style>\n</head><body>\n<h1>wrpnc variant report: ", style);
    esc(b, c->o->model);
    buf_printf(b, "</h1>\n<p>target %s, ", target_name(c->o->target));
    esc(b, c->data.desc);
    buf_printf(b, ", %d timing reps (median, %d warm-up); agreement against ", c->o->reps,
               c->o->warmup);
    esc(b, c->v[c->ref].name);
    buf_puts(b, ".</p>\n");
    table(c, b);
    bool err = false;
    for (int i = 0; i < c->n; i++)
        if (c->v[i].error[0]) {
            buf_puts(b, err ? "<li><b>" : "<h2>Errors</h2>\n<ul>\n<li><b>");
            esc(b, c->v[i].name);
            buf_puts(b, "</b>: ");
            esc(b, c->v[i].error);
            buf_puts(b, "</li>\n");
            err = true;
        }
    buf_puts(b, err ? "</ul>\n" : "");
    buf_printf(b, "<div id=\"plot\">\n%s</div>\n<h2>Notes</h2>\n<ol id=\"notes\">\n",
               svg ? svg : "");
    for (int i = 0; i < nn; i++) {
        buf_puts(b, "<li>");
        esc(b, note[i]);
        buf_puts(b, "</li>\n");
    }
    buf_puts(b, "</ol>\n</body></html>\n");
}
