/*
 * grid.h: GridSample's sampling taps (and RoiAlign's samples) as text compiled twice: into the
 * reference (ir/ops/grid.c) and, stringified, into generated code
 * (codegen/kernels/grid.c), so both take the same taps and weights.
 * gs_taps maps a normalized coordinate v in [-1, 1] of a dim of len pixels
 * (align: corners at -1 and 1) to its taps idx[] (-1: a zero from padding)
 * and weights w[]; mode 0 nearest (1 tap), 1 linear (2), 2 cubic (4, Keys
 * a = -0.75); pad 0 zeros, 1 border, 2 reflection. Returns the tap count.
 */
#ifndef WRPNC_GRID_H
#define WRPNC_GRID_H

#define GS_HELPERS                                                                                 \
    static double gs_reflect(double x, double lo, double hi)                                       \
    {                                                                                              \
        const double rng = hi - lo;                                                                \
        if (x < lo) {                                                                              \
            const double dx = lo - x;                                                              \
            const int64_t k = (int64_t)(dx / rng);                                                 \
            const double r = dx - (double)k * rng;                                                 \
            return k % 2 == 0 ? lo + r : hi - r;                                                   \
        }                                                                                          \
        if (x > hi) {                                                                              \
            const double dx = x - hi;                                                              \
            const int64_t k = (int64_t)(dx / rng);                                                 \
            const double r = dx - (double)k * rng;                                                 \
            return k % 2 == 0 ? hi - r : lo + r;                                                   \
        }                                                                                          \
        return x;                                                                                  \
    }                                                                                              \
    static int64_t gs_tap(int64_t i, int64_t len, int32_t pad, double lo, double hi)               \
    {                                                                                              \
        if (pad == 0)                                                                              \
            return i >= 0 && i < len ? i : -1;                                                    \
        if (pad == 1)                                                                              \
            return i < 0 ? 0 : (i >= len ? len - 1 : i);                                           \
        return (int64_t)gs_reflect((double)i, lo, hi);                                             \
    }                                                                                              \
    static int32_t gs_taps(double v, int64_t len, int32_t mode, int32_t pad, int32_t align,        \
                           int64_t *idx, double *w)                                                \
    {                                                                                              \
        const double n = (double)len, a = -0.75;                                                   \
        const double lo = align ? 0.0 : -0.5, hi = align ? n - 1.0 : n - 0.5;                      \
        double x = align ? (v + 1.0) / 2.0 * (n - 1.0) : ((v + 1.0) * n - 1.0) / 2.0;              \
        if (mode == 0)                                                                             \
            x = rint(x);                                                                           \
        if ((x < lo || x > hi) && pad == 1)                                                        \
            x = x < 0.0 ? 0.0 : (x > n - 1.0 ? n - 1.0 : x);                                       \
        else if ((x < lo || x > hi) && pad == 2)                                                   \
            x = gs_reflect(x, lo, hi);                                                             \
        if (mode == 0) {                                                                           \
            idx[0] = gs_tap((int64_t)x, len, pad, lo, hi);                                         \
            w[0] = 1.0;                                                                            \
            return 1;                                                                              \
        }                                                                                          \
        const double f = floor(x), t = x - f;                                                      \
        const int64_t x0 = (int64_t)f;                                                             \
        if (mode == 1) {                                                                           \
            idx[0] = gs_tap(x0, len, pad, lo, hi);                                                 \
            idx[1] = gs_tap(x0 + 1, len, pad, lo, hi);                                             \
            w[0] = 1.0 - t;                                                                        \
            w[1] = t;                                                                              \
            return 2;                                                                              \
        }                                                                                          \
        w[0] = ((a * (t + 1.0) - 5.0 * a) * (t + 1.0) + 8.0 * a) * (t + 1.0) - 4.0 * a;            \
        w[1] = ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0;                                          \
        w[2] = ((a + 2.0) * (1.0 - t) - (a + 3.0)) * (1.0 - t) * (1.0 - t) + 1.0;                  \
        w[3] = ((a * (2.0 - t) - 5.0 * a) * (2.0 - t) + 8.0 * a) * (2.0 - t) - 4.0 * a;            \
        for (int32_t k = 0; k < 4; k++)                                                            \
            idx[k] = gs_tap(x0 - 1 + k, len, pad, lo, hi);                                         \
        return 4;                                                                                  \
    }

/* RoiAlign: ra_roi writes the (C, PH, PW) output Y of one region of
 * interest roi (x1, y1, x2, y2, scaled by scale; half: half-pixel offsets)
 * over image batch b of X (N, C, H, W): sr x sr bilinear samples per bin
 * (sr 0: ceil(bin size)), averaged (maxmode 0) or maxed. */
#define RA_HELPERS                                                                                 \
    static void ra_sample(double y, double x, int64_t H, int64_t W, int64_t *pos, double *w)       \
    {                                                                                              \
        for (int32_t k = 0; k < 4; k++)                                                            \
            pos[k] = 0, w[k] = 0.0;                                                                \
        if (y < -1.0 || y > (double)H || x < -1.0 || x > (double)W)                                \
            return;                                                                                \
        y = y < 0.0 ? 0.0 : y;                                                                     \
        x = x < 0.0 ? 0.0 : x;                                                                     \
        int64_t yl = (int64_t)y, xl = (int64_t)x, yh = yl + 1, xh = xl + 1;                        \
        if (yl >= H - 1)                                                                           \
            yh = yl = H - 1, y = (double)yl;                                                       \
        if (xl >= W - 1)                                                                           \
            xh = xl = W - 1, x = (double)xl;                                                       \
        const double ly = y - (double)yl, lx = x - (double)xl, hy = 1.0 - ly, hx = 1.0 - lx;       \
        pos[0] = yl * W + xl, pos[1] = yl * W + xh, pos[2] = yh * W + xl, pos[3] = yh * W + xh;    \
        w[0] = hy * hx, w[1] = hy * lx, w[2] = ly * hx, w[3] = ly * lx;                            \
    }                                                                                              \
    static void ra_roi(const float *X, int64_t C, int64_t H, int64_t W, const float *roi,          \
                       int64_t b, double scale, int32_t half, int64_t sr, int32_t maxmode,         \
                       int64_t PH, int64_t PW, float *Y)                                           \
    {                                                                                              \
        const double off = half ? 0.5 : 0.0;                                                       \
        const double x0 = (double)roi[0] * scale - off, y0 = (double)roi[1] * scale - off;         \
        double rw = (double)roi[2] * scale - off - x0, rh = (double)roi[3] * scale - off - y0;     \
        if (!half) {                                                                               \
            rw = rw > 1.0 ? rw : 1.0;                                                              \
            rh = rh > 1.0 ? rh : 1.0;                                                              \
        }                                                                                          \
        const double bh = rh / (double)PH, bw = rw / (double)PW;                                   \
        const int64_t gh = sr > 0 ? sr : (int64_t)ceil(rh / (double)PH);                           \
        const int64_t gw = sr > 0 ? sr : (int64_t)ceil(rw / (double)PW);                           \
        const int64_t cnt = gh * gw > 1 ? gh * gw : 1;                                             \
        for (int64_t c = 0; c < C; c++) {                                                          \
            const float *x = X + (b * C + c) * H * W;                                              \
            for (int64_t ph = 0; ph < PH; ph++)                                                    \
                for (int64_t pw = 0; pw < PW; pw++) {                                              \
                    double acc = 0.0;                                                              \
                    int32_t first = 1;                                                             \
                    for (int64_t iy = 0; iy < gh; iy++)                                            \
                        for (int64_t ix = 0; ix < gw; ix++) {                                      \
                            int64_t pos[4];                                                        \
                            double w[4];                                                           \
                            ra_sample(y0 + (double)ph * bh + ((double)iy + 0.5) * bh / (double)gh, \
                                      x0 + (double)pw * bw + ((double)ix + 0.5) * bw / (double)gw, \
                                      H, W, pos, w);                                               \
                            double v = 0.0;                                                        \
                            for (int32_t k = 0; k < 4; k++) {                                      \
                                const double t = w[k] * (double)x[pos[k]];                         \
                                v = maxmode ? (k == 0 || t > v ? t : v) : v + t;                   \
                            }                                                                      \
                            acc = maxmode ? (first || v > acc ? v : acc) : acc + v;                \
                            first = 0;                                                             \
                        }                                                                          \
                    Y[(c * PH + ph) * PW + pw] = (float)(maxmode ? acc : acc / (double)cnt);       \
                }                                                                                  \
        }                                                                                          \
    }

/* DeformConv: dc_sample is the bilinear value of the H x W plane x at (y, x),
 * corners outside the plane read as 0 (GridSample, align_corners, zeros). */
#define DC_HELPERS                                                                                 \
    static double dc_sample(const float *x, int64_t H, int64_t W, double y, double xx)             \
    {                                                                                              \
        const double fy = floor(y), fx = floor(xx), ty = y - fy, tx = xx - fx;                     \
        const int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;                                          \
        double v = 0.0;                                                                            \
        for (int32_t a = 0; a < 2; a++)                                                            \
            for (int32_t b = 0; b < 2; b++) {                                                      \
                const int64_t yy = y0 + a, xc = x0 + b;                                            \
                if (yy < 0 || yy >= H || xc < 0 || xc >= W)                                        \
                    continue;                                                                      \
                v += (a ? ty : 1.0 - ty) * (b ? tx : 1.0 - tx) * (double)x[yy * W + xc];           \
            }                                                                                      \
        return v;                                                                                  \
    }

#endif
