/*
 * onnx_write.c: writes TensorProto files (raw_data, little-endian), the
 * layout of ONNX backend test data, atomically (temporary name, then rename).
 */
#include "wrpnc_pack.h"
#include "onnx_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static Status write_atomic(const char *path, const uint8_t *buf, size_t len, Diag *d)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return diag_error(d, WR_ENOMEM, "out of memory");
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    bool ok = f && fwrite(buf, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = false;
    if (ok && rename(tmp, path) != 0)
        ok = false;
    Status s = ok ? WR_OK : diag_error(d, WR_EIO, "%s: cannot write: %s", path, strerror(errno));
    if (!ok)
        remove(tmp);
    free(tmp);
    return s;
}

Status fe_tensor_write_pb(const char *path, const char *name, DType dtype, int ndim,
                          const int64_t *dim, const void *data, Diag *d)
{
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[IR_MAX_DIMS];
    for (int i = 0; i < ndim; i++)
        dims[i] = dim[i];
    tp.n_dims = (size_t)ndim;
    tp.dims = dims;
    tp.has_data_type = 1;
    tp.data_type = dtype_info[dtype].onnx;
    tp.name = (char *)name;
    tp.has_raw_data = 1;
    tp.raw_data.len = (size_t)(ir_shape_numel(ndim, dim) * dtype_info[dtype].bytes);
    tp.raw_data.data = (uint8_t *)data;
    uint8_t *sub = NULL;
    int sb = dtype_subbyte_bits(dtype);
    if (sb) { /* one element per byte in memory, packed in files */
        int64_t n = ir_shape_numel(ndim, dim);
        tp.raw_data.len = (size_t)WRPNC_SUBBYTE_BYTES(n, sb);
        sub = calloc(tp.raw_data.len + 1, 1);
        if (!sub)
            return diag_error(d, WR_ENOMEM, "out of memory");
        wrpnc_pack_subbyte(data, n, sb, sub);
        tp.raw_data.data = sub;
    }
    size_t len = onnx__tensor_proto__get_packed_size(&tp);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        free(sub);
        return diag_error(d, WR_ENOMEM, "out of memory");
    }
    onnx__tensor_proto__pack(&tp, buf);
    Status s = write_atomic(path, buf, len, d);
    free(buf);
    free(sub);
    return s;
}
