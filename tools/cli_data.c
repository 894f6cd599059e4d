/*
 * cli_data.c: examples for a model, for calibration (--calibrate) and for compare
 * (--inputs, --dataset, --labels, random inputs). Accepted:
 *   - a folder of test_data_set_N/input_<i>.pb (one model run each), or of input_<i>.pb;
 *   - an .npy array (N, ...) for a one-input model, batched by the input's first dim;
 *   - idx files (as Debian's dataset-fashion-mnist installs them, gzipped or not): an
 *     images file, or their folder (train-* for calibration, t10k-* for evaluation),
 *     uint8 pixels scaled to [0, 1] for a float input; labels from the idx1 file.
 * Every sample is checked against the graph input's dtype and shape.
 */
#include "cli.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static void ds_alloc(Dataset *ds, const Graph *g, int nsample, int batch)
{
    ds->nsample = nsample;
    ds->batch = batch;
    ds->ninput = g->ninput;
    ds->x = calloc((size_t)nsample * (size_t)g->ninput + 1, sizeof(void *));
    WR_ASSERT(ds->x);
}

void cli_data_free(Dataset *ds)
{
    for (int i = 0; ds->x && i < ds->nsample * ds->ninput; i++)
        free(ds->x[i]);
    free(ds->x);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

/* ---- TensorProto folders ---- */

Status cli_check_input(const Tensor *t, const HostTensor *h, const char *path, Diag *d)
{
    char want[128], got[128];
    bool same = h->ndim == t->ndim;
    for (int i = 0; same && i < t->ndim; i++)
        same = h->dim[i] == t->dim[i];
    if (h->dtype != t->dtype)
        return diag_error(d, WR_EUSAGE, "%s: input '%s' is %s, the model wants %s", path, t->name,
                          dtype_info[h->dtype].name, dtype_info[t->dtype].name);
    if (same)
        return WR_OK;
    Tensor ht = {.ndim = h->ndim, .dtype = h->dtype};
    memcpy(ht.dim, h->dim, sizeof h->dim);
    return diag_error(d, WR_EUSAGE, "%s: input '%s' has shape %s (rank %d), the model wants %s "
                      "(rank %d)", path, t->name, ir_shape_str(&ht, got, sizeof got), h->ndim,
                      ir_shape_str(t, want, sizeof want), t->ndim);
}

/* Reads dir/input_<i>.pb for every graph input into x[0..ninput). */
static Status pb_sample(const Graph *g, const char *dir, void **x, Diag *d)
{
    for (int i = 0; i < g->ninput; i++) {
        char path[4200];
        HostTensor h;
        snprintf(path, sizeof path, "%.4000s/input_%d.pb", dir, i);
        WR_TRY(fe_tensor_read_pb(path, &h, d));
        Status s = cli_check_input(g->input[i], &h, path, d);
        x[i] = h.data;
        h.data = NULL;
        free(h.name);
        WR_TRY(s);
    }
    return WR_OK;
}

/* How many test_data_set_<k> folders dir holds (k = 0, 1, ... without a gap). */
int cli_count_sets(const char *dir)
{
    char path[4200];
    int n = 0;
    for (;; n++) {
        snprintf(path, sizeof path, "%s/test_data_set_%d", dir, n);
        if (!is_dir(path))
            return n;
    }
}

static Status load_pb(const char *dir, const Graph *g, int limit, Dataset *ds, Diag *d)
{
    int sets = cli_count_sets(dir), n = sets ? sets : 1;
    if (limit > 0 && n > limit)
        n = limit;
    ds_alloc(ds, g, n, 1);
    for (int k = 0; k < n; k++) {
        char sub[4200];
        snprintf(sub, sizeof sub, "%s/test_data_set_%d", dir, k);
        WR_TRY(pb_sample(g, sets ? sub : dir, ds->x + (size_t)k * (size_t)g->ninput, d));
    }
    snprintf(ds->desc, sizeof ds->desc, "%d sample(s) from %.400s", n, dir);
    return WR_OK;
}

/* ---- arrays: .npy and idx ---- */

/* An array of N examples read from a file: dim[0] = N. */
typedef struct Array {
    DType dtype;
    int ndim;
    int64_t dim[IR_MAX_DIMS];
    void *data; /* malloc'ed, host byte order */
} Array;

/* The whole file, gunzipped when it is gzip (zlib reads plain files as they are). */
static Status slurp(const char *path, unsigned char **buf, size_t *len, Diag *d)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        return diag_error(d, WR_EIO, "%s: cannot open", path);
    size_t cap = 1 << 16, n = 0;
    unsigned char *p = malloc(cap);
    int r = 0;
    while (p && (r = gzread(f, p + n, (unsigned)(cap - n))) > 0)
        if ((n += (size_t)r) == cap) {
            unsigned char *q = realloc(p, cap *= 2);
            if (!q)
                free(p);
            p = q;
        }
    gzclose(f);
    if (!p || r < 0) {
        free(p);
        return diag_error(d, WR_EIO, "%s: cannot read (bad gzip data?)", path);
    }
    *buf = p;
    *len = n;
    return WR_OK;
}

static Status idx_array(const char *path, const unsigned char *b, size_t len, Array *a, Diag *d)
{
    static const DType types[16] = {[0x08] = DT_U8, [0x09] = DT_I8};
    if (len < 4 || b[0] || b[1] || b[2] >= 16 || !types[b[2]] || b[3] < 1 || b[3] > IR_MAX_DIMS)
        return diag_error(d, WR_EPARSE, "%s: not an idx file of (u)int8 values", path);
    a->dtype = types[b[2]];
    a->ndim = b[3];
    size_t off = 4 + 4 * (size_t)a->ndim;
    if (len < off)
        return diag_error(d, WR_EPARSE, "%s: truncated idx header", path);
    for (int i = 0; i < a->ndim; i++) {
        const unsigned char *p = b + 4 + (size_t)4 * (size_t)i;
        a->dim[i] = (int64_t)p[0] << 24 | (int64_t)p[1] << 16 | (int64_t)p[2] << 8 | p[3];
    }
    int64_t n = ir_shape_numel(a->ndim, a->dim);
    if (n < 0 || (size_t)n != len - off)
        return diag_error(d, WR_EPARSE, "%s: idx data holds %zu bytes, its header says %lld",
                          path, len - off, (long long)n);
    a->data = malloc((size_t)n + 1);
    WR_ASSERT(a->data);
    memcpy(a->data, b + off, (size_t)n);
    return WR_OK;
}

/* The value of 'key': in an .npy header dict, or NULL. */
static const char *npy_field(const char *h, const char *key)
{
    const char *p = strstr(h, key);
    return p ? p + strlen(key) : NULL;
}

static DType npy_dtype(const char *descr)
{
    static const struct { const char *s; DType t; } map[] = {
        {"<f4'", DT_F32}, {"<f8'", DT_F64}, {"|u1'", DT_U8}, {"|i1'", DT_I8}, {"<i4'", DT_I32},
        {"<i8'", DT_I64}, {"|b1'", DT_BOOL}, {"<u4'", DT_U32}, {"<i2'", DT_I16}, {"<u2'", DT_U16}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (descr && strncmp(descr, map[i].s, strlen(map[i].s)) == 0)
            return map[i].t;
    return DT_UNDEF;
}

static Status npy_array(const char *path, const unsigned char *b, size_t len, Array *a, Diag *d)
{
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return diag_error(d, WR_EPARSE, "%s: not an .npy file", path);
    size_t hl = b[6] == 1 ? (size_t)(b[8] | b[9] << 8) : len >= 12 ? (size_t)b[8] |
                (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24 : len;
    size_t off = (b[6] == 1 ? 10 : 12) + hl;
    if (off > len || hl > 65536)
        return diag_error(d, WR_EPARSE, "%s: truncated .npy header", path);
    char h[65537];
    memcpy(h, b + off - hl, hl);
    h[hl] = 0;
    const char *descr = npy_field(h, "'descr': '"), *shape = npy_field(h, "'shape': (");
    const char *fo = npy_field(h, "'fortran_order': ");
    a->dtype = npy_dtype(descr);
    if (!a->dtype || !shape || !fo || strncmp(fo, "False", 5) != 0)
        return diag_error(d, WR_EUNSUPPORTED, "%s: want a C-order array of a plain numeric "
                          "type (header %.200s)", path, h);
    for (const char *p = shape; *p && *p != ')' && a->ndim < IR_MAX_DIMS;) {
        char *e;
        long long v = strtoll(p, &e, 10);
        if (e == p)
            break;
        a->dim[a->ndim++] = v;
        for (p = e; *p == ',' || *p == ' ';)
            p++;
    }
    int64_t n = ir_shape_numel(a->ndim, a->dim);
    if (a->ndim < 1 || n < 0 || (size_t)n * (size_t)dtype_info[a->dtype].bytes != len - off)
        return diag_error(d, WR_EPARSE, "%s: the data does not match the header %.200s", path, h);
    a->data = malloc(len - off + 1);
    WR_ASSERT(a->data);
    memcpy(a->data, b + off, len - off);
    return WR_OK;
}

static Status read_array(const char *path, Array *a, Diag *d)
{
    unsigned char *b = NULL;
    size_t len = 0;
    memset(a, 0, sizeof *a);
    WR_TRY(slurp(path, &b, &len, d));
    Status s = len >= 6 && memcmp(b, "\x93NUMPY", 6) == 0 ? npy_array(path, b, len, a, d)
                                                         : idx_array(path, b, len, a, d);
    free(b);
    return s;
}

/* Examples per model run: the first dim of the (single) graph input. */
static int64_t batch_of(const Tensor *t)
{
    return t->ndim >= 1 && t->dim[0] > 0 ? t->dim[0] : 1;
}

/* Samples of batch examples each from a (at most limit examples; idx pixels scaled). */
static Status from_array(const char *path, const Array *a, const Graph *g, int limit,
                         bool scale, Dataset *ds, Diag *d)
{
    const Tensor *t = g->input[0];
    int64_t b = batch_of(t), per = ir_tensor_numel(t) / b, N = a->dim[0];
    char want[128];
    if (g->ninput != 1)
        return diag_error(d, WR_EUSAGE, "%s: an array feeds a one-input model; this one has %d",
                          path, g->ninput);
    if (ir_shape_numel(a->ndim - 1, a->dim + 1) != per)
        return diag_error(d, WR_EUSAGE, "%s: examples of %lld values do not fit input '%s' %s",
                          path, (long long)ir_shape_numel(a->ndim - 1, a->dim + 1), t->name,
                          ir_shape_str(t, want, sizeof want));
    if (limit > 0 && N > limit)
        N = limit;
    if (N < b)
        return diag_error(d, WR_EUSAGE, "%s: %lld examples, fewer than the batch of %lld", path,
                          (long long)N, (long long)b);
    ds_alloc(ds, g, (int)(N / b), (int)b);
    bool f = dtype_is_float(t->dtype) && scale;
    for (int s = 0; s < ds->nsample; s++) {
        void *x = ds->x[s] = calloc(1, (size_t)ir_tensor_bytes(t) + 1);
        WR_ASSERT(x);
        for (int64_t i = 0, o = (int64_t)s * b * per; i < b * per; i++) {
            double v = dtype_get_f64(a->dtype, a->data, o + i);
            dtype_set_f64(t->dtype, x, i, f ? v / 255.0 : v);
        }
    }
    snprintf(ds->desc, sizeof ds->desc, "%lld example(s) from %.400s", (long long)N, path);
    return WR_OK;
}

/* Labels (N integers: an idx1 or .npy file) for ds's examples. */
static Status read_labels(const char *path, Dataset *ds, Diag *d)
{
    Array a;
    WR_TRY(read_array(path, &a, d));
    int64_t n = (int64_t)ds->nsample * ds->batch;
    Status s = WR_OK;
    if (a.ndim != 1 && !(a.ndim == 2 && a.dim[1] == 1))
        s = diag_error(d, WR_EUSAGE, "%s: labels must be a 1-D array", path);
    else if (a.dim[0] < n)
        s = diag_error(d, WR_EUSAGE, "%s has %lld labels for %lld examples", path,
                       (long long)a.dim[0], (long long)n);
    if (s == WR_OK) {
        ds->labels = malloc(sizeof(int64_t) * (size_t)(n + 1));
        WR_ASSERT(ds->labels);
        for (int64_t i = 0; i < n; i++)
            ds->labels[i] = (int64_t)dtype_get_f64(a.dtype, a.data, i);
    }
    free(a.data);
    return s;
}

/* In an idx folder: the images file of the split (train-* or t10k-*), else any. */
static bool idx_in_dir(const char *dir, DataSplit split, char *path, size_t n)
{
    DIR *dd = opendir(dir);
    struct dirent *e;
    bool found = false;
    const char *want = split == SPLIT_TRAIN ? "train" : "t10k";
    while (dd && (e = readdir(dd))) {
        if (!strstr(e->d_name, "images-idx3-ubyte") || (found && strncmp(e->d_name, want, 4) != 0))
            continue;
        snprintf(path, n, "%s/%s", dir, e->d_name);
        found = true;
    }
    if (dd)
        closedir(dd);
    return found;
}

/* The labels file beside an idx images file (images-idx3 -> labels-idx1), or "". */
static void idx_labels(const char *images, char *path, size_t n)
{
    const char *p = strstr(images, "images-idx3");
    path[0] = 0;
    if (p && (size_t)(p - images) + 40 < n)
        snprintf(path, n, "%.*slabels-idx1%s", (int)(p - images), images, p + 11);
    if (*path && !exists(path))
        path[0] = 0;
}

Status cli_data_load(const char *path, const char *labels, const Graph *g, DataSplit split,
                     int limit, Dataset *ds, Diag *d)
{
    char file[4200], lab[4200] = "";
    memset(ds, 0, sizeof *ds);
    snprintf(file, sizeof file, "%s", path);
    if (is_dir(path)) {
        snprintf(lab, sizeof lab, "%s/input_0.pb", path);
        if (cli_count_sets(path) || exists(lab))
            return load_pb(path, g, limit, ds, d);
        if (!idx_in_dir(path, split, file, sizeof file))
            return diag_error(d, WR_EUSAGE, "%s holds no test_data_set_*, input_0.pb or "
                              "*-images-idx3-ubyte[.gz]", path);
    }
    Array a;
    WR_TRY(read_array(file, &a, d));
    bool idx = a.dtype == DT_U8 && !strstr(file, ".npy");
    Status s = from_array(file, &a, g, limit, idx, ds, d);
    free(a.data);
    if (!labels && idx)
        idx_labels(file, lab, sizeof lab);
    else
        snprintf(lab, sizeof lab, "%s", labels ? labels : "");
    if (s == WR_OK && *lab)
        s = read_labels(lab, ds, d);
    return s;
}

/* A standard normal draw from a splitmix64 stream (Box-Muller). */
static double normal(uint64_t *st)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        uint64_t z = (*st += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        u[i] = ((double)((z ^ (z >> 31)) >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

void cli_data_random(const Graph *g, int n, uint64_t seed, Dataset *ds)
{
    uint64_t st = seed;
    memset(ds, 0, sizeof *ds);
    ds_alloc(ds, g, n, 1);
    for (int s = 0; s < n; s++)
        for (int i = 0; i < g->ninput; i++) {
            const Tensor *t = g->input[i];
            void *x = ds->x[s * g->ninput + i] = calloc(1, (size_t)ir_tensor_bytes(t) + 1);
            WR_ASSERT(x);
            bool f = dtype_is_float(t->dtype) || dtype_is_narrow_float(t->dtype);
            bool sgn = f || dtype_is_signed_int(t->dtype);
            for (int64_t k = 0; k < ir_tensor_numel(t); k++) { /* integers: as numpy's astype */
                double v = normal(&st);
                dtype_set_f64(t->dtype, x, k, f ? v : trunc(sgn ? v : fabs(v)));
            }
        }
    snprintf(ds->desc, sizeof ds->desc, "%d seeded random sample(s) (seed %llu)", n,
             (unsigned long long)seed);
}
