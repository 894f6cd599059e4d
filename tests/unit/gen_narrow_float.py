import numpy as np, ml_dtypes as md
from onnx import numpy_helper as nh
# inputs: specials, halfway cases, overflow edges, subnormals
xs = [0.0, -0.0, 1.0, -1.0, 0.1, 1.5, 2.5, 3.0, 0.25, 0.75, 5.0, -7.0, 65504.0, 65519.0, 65520.0,
      1e5, 1e-5, 6e-8, 3e-8, 2.9802322387695312e-08, 448.0, 464.0, 465.0, 480.0, 240.0, 248.0,
      57344.0, 61439.0, 61440.0, 1e-3, 0.0009765625, 0.001953125, 1.0000001, 3.3895313892515355e+38,
      1e-40, float('inf'), float('-inf'), float('nan'), 0.33333334, 1e-9, -1e-9]
x32 = np.array(xs, dtype=np.float32)
def row(name, vals, fmt):
    print('static const %s %s[%d] = {%s};' % (fmt, name, len(vals), ', '.join('0x%x' % int(v) for v in vals)))
print('static const double in[%d] = {%s};' % (len(xs), ', '.join(repr(float(v)) if np.isfinite(v) else ('INFINITY' if v > 0 else '-INFINITY') if np.isinf(v) else 'NAN' for v in x32.astype(np.float64))))
row('want_f16', x32.astype(np.float16).view(np.uint16), 'uint16_t')
row('want_bf16', x32.astype(md.bfloat16).view(np.uint16), 'uint16_t')
for t, n in [(md.float8_e4m3fn, 'e4m3fn'), (md.float8_e4m3fnuz, 'e4m3fnuz'), (md.float8_e5m2, 'e5m2'), (md.float8_e5m2fnuz, 'e5m2fnuz')]:
    row('want_%s' % n, x32.astype(t).view(np.uint8), 'uint8_t')
    row('want_%s_sat' % n, nh.saturate_cast(x32, t).view(np.uint8), 'uint8_t')
row('want_f4e2m1', x32.astype(md.float4_e2m1fn).view(np.uint8), 'uint8_t')
for mode in ['up', 'down', 'nearest']:
    row('want_e8m0_%s' % mode, nh.to_float8e8m0(x32, True, mode).view(np.uint8), 'uint8_t')
row('want_e8m0_up_nosat', nh.to_float8e8m0(x32, False, 'up').view(np.uint8), 'uint8_t')
# decode every code to float32 bits
codes = np.arange(256, dtype=np.uint8)
for t, n in [(md.float8_e4m3fn, 'e4m3fn'), (md.float8_e4m3fnuz, 'e4m3fnuz'), (md.float8_e5m2, 'e5m2'), (md.float8_e5m2fnuz, 'e5m2fnuz'), (md.float8_e8m0fnu, 'e8m0')]:
    row('dec_%s' % n, codes.view(t).astype(np.float32).view(np.uint32), 'uint32_t')
row('dec_f4e2m1', codes[:16].view(md.float4_e2m1fn).astype(np.float32).view(np.uint32), 'uint32_t')
h = np.array([0, 1, 0x3ff, 0x400, 0x3c00, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x8001, 0xc000, 0x3555], dtype=np.uint16)
print('static const uint16_t half_codes[%d] = {%s};' % (len(h), ', '.join('0x%x' % v for v in h)))
row('dec_f16', h.view(np.float16).astype(np.float32).view(np.uint32), 'uint32_t')
row('dec_bf16', h.view(md.bfloat16).astype(np.float32).view(np.uint32), 'uint32_t')
# double -> float16 directly (one rounding, numpy)
d = np.array([1.0 + 2**-11 + 2**-40, 1.0 + 2**-11, 65519.99, 1e300, 2**-25 + 2**-40], dtype=np.float64)
print('static const double in_f64[%d] = {%s};' % (len(d), ', '.join(repr(float(v)) for v in d)))
row('want_f16_from_f64', d.astype(np.float16).view(np.uint16), 'uint16_t')
# wrap to sub-byte ints: ml_dtypes astype from int64
iv = np.array([-9, -8, 7, 8, 15, 16, -1, 100, -100], dtype=np.int64)
print('static const int64_t wrap_in[%d] = {%s};' % (len(iv), ', '.join(str(v) for v in iv)))
for t, n in [(md.int4, 'int4'), (md.uint4, 'uint4'), (md.int2, 'int2'), (md.uint2, 'uint2')]:
    print('static const int32_t want_%s[%d] = {%s};' % (n, len(iv), ', '.join(str(int(v)) for v in iv.astype(t).astype(np.int64))))
