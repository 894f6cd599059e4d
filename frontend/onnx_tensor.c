/*
 * onnx_tensor.c: TensorProto decoding. Handles raw_data, every typed field,
 * and external data (location/offset/length relative to the model's folder;
 * absolute paths, "..", and symlinks that leave the folder are refused).
 * Element counts and byte sizes are checked for overflow and for agreement
 * with the data actually present.
 */
#include "wrpnc_pack.h"
#include "onnx_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void fe_host_tensor_free(HostTensor *t)
{
    free(t->name);
    free(t->data);
    memset(t, 0, sizeof *t);
}

static Status check_dims(const Onnx__TensorProto *tp, const char *what, HostTensor *out, Diag *d)
{
    if (tp->n_dims > IR_MAX_DIMS)
        return diag_error(d, WR_EUNSUPPORTED, "%s has rank %zu (at most %d supported)", what,
                          tp->n_dims, IR_MAX_DIMS);
    out->ndim = (int)tp->n_dims;
    for (size_t i = 0; i < tp->n_dims; i++)
        out->dim[i] = tp->dims[i];
    int64_t n = ir_shape_numel(out->ndim, out->dim);
    int bytes = dtype_info[out->dtype].bytes;
    if (n < 0 || n > (INT64_C(1) << 40) / bytes)
        return diag_error(d, WR_ESHAPE, "%s has a negative or overflowing shape", what);
    out->bytes = (size_t)(n * bytes);
    return WR_OK;
}

static Status alloc_data(HostTensor *out, const char *what, Diag *d)
{
    out->data = calloc(1, out->bytes ? out->bytes : 1);
    if (!out->data)
        return diag_error(d, WR_ENOMEM, "%s: out of memory (%zu bytes)", what, out->bytes);
    return WR_OK;
}

/* Copies count typed-field values into out->data, converting to out->dtype. */
static Status from_field(HostTensor *out, const char *what, const char *field, size_t count,
                         const void *src, DType src_type, Diag *d)
{
    int64_t n = (int64_t)(out->bytes / (size_t)dtype_info[out->dtype].bytes);
    if ((int64_t)count != n)
        return diag_error(d, WR_EPARSE, "%s: %s holds %zu values, its shape needs %lld", what,
                          field, count, (long long)n);
    WR_TRY(alloc_data(out, what, d));
    for (int64_t i = 0; i < n; i++) {
        if (dtype_is_float(out->dtype))
            dtype_set_f64(out->dtype, out->data, i, dtype_get_f64(src_type, src, i));
        else if (out->dtype == DT_U64)
            ((uint64_t *)out->data)[i] = ((const uint64_t *)src)[i];
        else
            dtype_set_f64(out->dtype, out->data, i, (double)dtype_get_i64(src_type, src, i));
    }
    return WR_OK;
}

/* float16 / bfloat16 / float8 codes travel as one int32_data entry per element. */
static Status code_field(const Onnx__TensorProto *tp, const char *what, HostTensor *out,
                         Diag *d)
{
    int64_t n = (int64_t)(out->bytes / (size_t)dtype_info[out->dtype].bytes);
    if ((int64_t)tp->n_int32_data != n)
        return diag_error(d, WR_EPARSE, "%s: int32_data holds %zu values, its shape needs %lld",
                          what, tp->n_int32_data, (long long)n);
    WR_TRY(alloc_data(out, what, d));
    for (int64_t i = 0; i < n; i++) {
        uint32_t c = (uint32_t)tp->int32_data[i];
        if (dtype_info[out->dtype].bytes == 2)
            ((uint16_t *)out->data)[i] = (uint16_t)c;
        else
            ((uint8_t *)out->data)[i] = (uint8_t)c;
    }
    return WR_OK;
}

static Status typed_fields(const Onnx__TensorProto *tp, const char *what, HostTensor *out,
                           Diag *d)
{
    switch (out->dtype) {
    case DT_F32:
        return from_field(out, what, "float_data", tp->n_float_data, tp->float_data, DT_F32, d);
    case DT_F64:
        return from_field(out, what, "double_data", tp->n_double_data, tp->double_data, DT_F64,
                          d);
    case DT_I64:
        return from_field(out, what, "int64_data", tp->n_int64_data, tp->int64_data, DT_I64, d);
    case DT_U32:
    case DT_U64:
        return from_field(out, what, "uint64_data", tp->n_uint64_data, tp->uint64_data, DT_U64,
                          d);
    case DT_I32:
    case DT_I16:
    case DT_I8:
    case DT_U16:
    case DT_U8:
    case DT_U4:
    case DT_I4:
    case DT_U2:
    case DT_I2:
    case DT_BOOL:
        return from_field(out, what, "int32_data", tp->n_int32_data, tp->int32_data, DT_I32, d);
    DT_NARROW_FLOAT_CASES: /* float4 is packed: decoded by decode_subbyte */
        return code_field(tp, what, out, d);
    case DT_UNDEF:
    case DT_COUNT: break;
    }
    WR_UNREACHABLE();
}

static const char *ext_value(const Onnx__TensorProto *tp, const char *key)
{
    for (size_t i = 0; i < tp->n_external_data; i++)
        if (tp->external_data[i]->key && strcmp(tp->external_data[i]->key, key) == 0)
            return tp->external_data[i]->value ? tp->external_data[i]->value : "";
    return NULL;
}

static Status parse_u64(const char *s, const char *what, const char *key, uint64_t *v, Diag *d)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (!*s || *end || errno || s[0] == '-')
        return diag_error(d, WR_EPARSE, "%s: external data %s '%s' is not a number", what, key, s);
    *v = x;
    return WR_OK;
}

/* The external file's real path, refused unless it lies inside model_dir. */
static Status ext_path(const char *model_dir, const char *loc, const char *what, char *out,
                       Diag *d)
{
    if (!*model_dir)
        return diag_error(d, WR_EUNSUPPORTED, "%s: external data is not allowed here", what);
    if (loc[0] == '/' || strstr(loc, ".."))
        return diag_error(d, WR_EPARSE,
                          "%s: external data location '%s' leaves the model's folder", what, loc);
    char joined[PATH_MAX * 2], real_dir[PATH_MAX];
    snprintf(joined, sizeof joined, "%s/%s", model_dir, loc);
    if (!realpath(model_dir, real_dir) || !realpath(joined, out))
        return diag_error(d, WR_EIO, "%s: external data file '%s': %s", what, joined,
                          strerror(errno));
    size_t n = strlen(real_dir);
    if (strncmp(out, real_dir, n) != 0 || out[n] != '/')
        return diag_error(d, WR_EPARSE,
                          "%s: external data location '%s' resolves outside the model's folder",
                          what, loc);
    return WR_OK;
}

/* Opens path for reading when it is a regular file holding off + len bytes. */
static Status ext_open(const char *path, const char *what, uint64_t off, uint64_t len, FILE **f,
                       Diag *d)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return diag_error(d, WR_EIO, "%s: external data file '%s': %s", what, path,
                          strerror(errno));
    if (!S_ISREG(st.st_mode))
        return diag_error(d, WR_EPARSE, "%s: external data '%s' is not a regular file", what,
                          path);
    if (off > (uint64_t)st.st_size || len > (uint64_t)st.st_size - off)
        return diag_error(d, WR_EPARSE, "%s: '%s' is shorter than offset %llu + length %llu", what,
                          path, (unsigned long long)off, (unsigned long long)len);
    *f = fopen(path, "rb");
    if (!*f)
        return diag_error(d, WR_EIO, "%s: cannot open '%s': %s", what, path, strerror(errno));
    return WR_OK;
}

/* Checks location, offset and length against the file before allocating. */
static Status external(const Onnx__TensorProto *tp, const char *model_dir, const char *what,
                       HostTensor *out, Diag *d)
{
    const char *loc = ext_value(tp, "location"), *off_s = ext_value(tp, "offset"),
               *len_s = ext_value(tp, "length");
    if (!loc)
        return diag_error(d, WR_EPARSE, "%s: external data without a location", what);
    char path[PATH_MAX];
    uint64_t off = 0, len = out->bytes;
    WR_TRY(ext_path(model_dir, loc, what, path, d));
    if (off_s)
        WR_TRY(parse_u64(off_s, what, "offset", &off, d));
    if (len_s)
        WR_TRY(parse_u64(len_s, what, "length", &len, d));
    if (len != out->bytes)
        return diag_error(d, WR_EPARSE, "%s: external data length %llu, its shape needs %zu bytes",
                          what, (unsigned long long)len, out->bytes);
    FILE *f;
    WR_TRY(ext_open(path, what, off, len, &f, d));
    WR_TRY(alloc_data(out, what, d));
    bool ok = off <= (uint64_t)LONG_MAX && fseek(f, (long)off, SEEK_SET) == 0 &&
              fread(out->data, 1, out->bytes, f) == out->bytes;
    fclose(f);
    if (!ok)
        return diag_error(d, WR_EIO, "%s: cannot read %zu bytes at offset %llu of '%s'", what,
                          out->bytes, (unsigned long long)off, path);
    return WR_OK;
}

/* raw_data must hold exactly the shape's bytes. */
static Status raw(const Onnx__TensorProto *tp, const char *what, HostTensor *out, Diag *d)
{
    if (tp->raw_data.len != out->bytes)
        return diag_error(d, WR_EPARSE, "%s: raw_data has %zu bytes, its shape needs %zu", what,
                          tp->raw_data.len, out->bytes);
    WR_TRY(alloc_data(out, what, d));
    if (out->bytes)
        memcpy(out->data, tp->raw_data.data, out->bytes);
    return WR_OK;
}

/* Sub-byte types arrive packed (raw_data, external data, or one packed byte per
 * int32_data entry); decode them as bytes, then unpack one element per byte. */
static Status decode_subbyte(const Onnx__TensorProto *tp, const char *model_dir,
                             const char *what, HostTensor *out, Diag *d)
{
    DType t = out->dtype;
    int bits = dtype_subbyte_bits(t);
    int64_t n = ir_shape_numel(out->ndim, out->dim);
    Onnx__TensorProto tmp = *tp;
    tmp.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
    tmp.n_dims = 1;
    int64_t packed = WRPNC_SUBBYTE_BYTES(n, bits);
    tmp.dims = &packed;
    HostTensor raw;
    WR_TRY(fe_decode_tensor(&tmp, model_dir, what, &raw, d));
    Status s = alloc_data(out, what, d);
    if (s == WR_OK)
        wrpnc_unpack_subbyte(raw.data, n, bits, dtype_is_signed_int(t), out->data);
    fe_host_tensor_free(&raw);
    return s;
}

/* Data is allocated only once its source is known to hold all of it, so a
 * shape claiming terabytes without the bytes to back it is refused cheaply. */
Status fe_decode_tensor(const Onnx__TensorProto *tp, const char *model_dir, const char *what,
                        HostTensor *out, Diag *d)
{
    memset(out, 0, sizeof *out);
    int onnx_type = tp->has_data_type ? tp->data_type : 0;
    out->dtype = dtype_from_onnx(onnx_type);
    if (out->dtype == DT_UNDEF)
        return diag_error(d, WR_EUNSUPPORTED, "%s has unsupported data type %d", what, onnx_type);
    WR_TRY(check_dims(tp, what, out, d));
    Status s;
    if (dtype_subbyte_bits(out->dtype))
        s = decode_subbyte(tp, model_dir, what, out, d);
    else if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        s = external(tp, model_dir, what, out, d);
    else if (tp->has_raw_data)
        s = raw(tp, what, out, d);
    else
        s = typed_fields(tp, what, out, d);
    if (s != WR_OK) {
        free(out->data);
        out->data = NULL;
    }
    return s;
}

Status fe_tensor_read_pb(const char *path, HostTensor *t, Diag *d)
{
    unsigned char *buf;
    size_t len;
    Diag rd = {0};
    if (fe_read_file(path, &buf, &len, &rd) != WR_OK) /* name the file: it is not the model */
        return diag_error(d, rd.status, "%s: %s", path, rd.msg);
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, len, buf);
    free(buf);
    if (!tp)
        return diag_error(d, WR_EPARSE, "%s: not a valid TensorProto", path);
    char what[512];
    snprintf(what, sizeof what, "%s: tensor '%s'", path, tp->name ? tp->name : "");
    Status s = fe_decode_tensor(tp, "", what, t, d);
    if (s == WR_OK)
        t->name = strdup(tp->name ? tp->name : "");
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return s;
}
