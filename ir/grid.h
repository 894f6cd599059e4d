/*
 * grid.h: GridSample's sampling taps as text compiled twice: into the
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

#endif
