#!/usr/bin/env python3
"""8-bit activation codes times 8-bit weight codes on the int8 kernels, against ONNX Runtime.

Where a pair of products can pass int16 (8-bit codes, |w| up to 127), the AVX2 kernel
takes the sign trick, 2 pixels x 4 vectors of 8 output channels per micro-kernel
(codegen/kernels/lowbit_simd.c); AVX-512 takes vpdpbusd, NEON its own kernels. One model
holds a PackAct + QConv (int32 accumulators out) per activation kind and geometry:
unsigned codes 0..255 (a full-scale row of 255, and zeros), signed codes -128..127 (a
row of -128) and unsigned codes with zero point 128; weights uniform on the 8-bit grid
with both ends, 127 and -127, in every filter's first taps (-128 is off the QConv grid,
which the operator rejects). Geometries: 3x3 pad 1 (7 pixels a row: a block of 2 left
with one), 1x1 stride 2 (ResNet's downsampling), groups 2 with a 3x3 kernel, stride
(1, 2) and asymmetric pads; C = 34 (17 a group: not multiples of 4, the codes zero-padded) and
M = 37 a group (a block of 32 channels and a partial one). The reference: ONNX Runtime's
float Conv of the same codes (minus the zero point) and weights, exact (every partial
sum is an integer below 2^24). Run on every target this machine executes (avx512
through SIMDe, neon under qemu-user, where not native) and the interpreter, atol = 0;
the AVX2 code must name the 4-vector sign-trick kernel.

  test_qconv_8x8.py --wrpnc build/wrpnc
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import Tally, ort_run, verify_everywhere, write_dataset  # noqa: E402

N, C, H, W = 1, 34, 5, 7
# geometry: output channels, group, kernel, pads, strides
GEOMS = [(37, 1, (3, 3), [1, 1, 1, 1], [1, 1]),
         (37, 1, (1, 1), [0, 0, 0, 0], [2, 2]),
         (74, 2, (3, 3), [1, 0, 0, 1], [1, 2])]
# activation kinds: name, input, zero point
KINDS = [("u", "xu", 0), ("s", "xs", 0), ("z", "xu", 128)]


def weights(rng, M, Cg, k):
    w = rng.integers(-127, 128, size=(M, Cg) + k)
    w[:, 0, 0, 0] = 127
    w[:, -1, 0, 0] = -127
    w[::2, :2] = 127  # pairs of large products of one sign: past int16 with code 255
    return w.astype(np.int8)


def models(rng):
    """(wrpnc model, ONNX Runtime float model, feeds of each)."""
    xu = rng.integers(0, 256, size=(N, C, H, W)).astype(np.uint8)
    xu[0, :, 0, :] = 255
    xu[0, :, -1, :3] = 0
    xs = rng.integers(-128, 128, size=(N, C, H, W)).astype(np.int8)
    xs[0, :, 1, :] = -128
    nodes, fnodes, inits, finits, outs, fouts = [], [], [], [], [], []
    for kind, xin, zp in KINDS:
        for j, (M, group, k, pads, strides) in enumerate(GEOMS):
            tag = f"{kind}{j}"
            w = weights(rng, M, C // group, k)
            inits.append(numpy_helper.from_array(w, f"w_{tag}"))
            finits.append(numpy_helper.from_array(w.astype(np.float32), f"w_{tag}"))
            extra = {"zero_point": zp} if zp else {}
            nodes += [helper.make_node("PackAct", [xin], [f"p_{tag}"], domain="wrpnc", bits=8,
                                       group=group, layout="bytes", **extra),
                      helper.make_node("QConv", [f"p_{tag}", f"w_{tag}"], [f"y_{tag}"],
                                       domain="wrpnc", abits=8, wbits=8, kernel="int8",
                                       group=group, pads=pads, strides=strides, out_acc=1)]
            fnodes.append(helper.make_node("Conv", [f"f{xin}_{zp}", f"w_{tag}"], [f"y_{tag}"],
                                           group=group, pads=pads, strides=strides))
            outs.append(helper.make_tensor_value_info(f"y_{tag}", TensorProto.INT32, None))
            fouts.append(helper.make_tensor_value_info(f"y_{tag}", TensorProto.FLOAT, None))
    ins = [helper.make_tensor_value_info("xu", TensorProto.UINT8, [N, C, H, W]),
           helper.make_tensor_value_info("xs", TensorProto.INT8, [N, C, H, W])]
    m = helper.make_model(helper.make_graph(nodes, "q8x8", ins, outs, inits),
                          opset_imports=[helper.make_opsetid("", 13),
                                         helper.make_opsetid("wrpnc", 1)])
    fin = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [N, C, H, W])
           for n in ("fxu_0", "fxs_0", "fxu_128")]
    fm = helper.make_model(helper.make_graph(fnodes, "f8x8", fin, fouts, finits),
                           opset_imports=[helper.make_opsetid("", 13)])
    feeds = {"fxu_0": xu.astype(np.float32), "fxs_0": xs.astype(np.float32),
             "fxu_128": xu.astype(np.float32) - 128}
    return m, fm, {"xu": xu, "xs": xs}, feeds


def avx2_kernel(wrpnc, path, d):
    """The kernel comments of the AVX2 code."""
    out = os.path.join(d, "gen_avx2")
    subprocess.run([wrpnc, "compile", path, "-o", out, "--target", "avx2", "--name", "m"],
                   check=True, capture_output=True)
    src = open(os.path.join(out, "m.c")).read()
    return [l.strip() for l in src.splitlines() if "int8 dot product" in l]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    t = Tally()
    m, fm, feeds, ffeeds = models(np.random.default_rng(8))
    want = ort_run(fm, ffeeds)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.onnx")
        with open(path, "wb") as f:
            f.write(m.SerializeToString())
        exact = all(np.abs(y).max() < 2 ** 24 and np.array_equal(y, np.rint(y)) for y in want)
        t.check(exact, "ONNX Runtime's float sums are integers below 2^24 (exact)")
        outs = [(o.name, y.astype(np.int32)) for o, y in zip(m.graph.output, want)]
        write_dataset(os.path.join(d, "ds"), [(n, feeds[n]) for n in ("xu", "xs")], outs)
        kern = avx2_kernel(a.wrpnc, path, d)
        sign4 = [l for l in kern if "sign trick" in l and "2 pixels x 32 output channels" in l]
        t.check(len(sign4) == len(outs), f"avx2: {len(sign4)} of {len(outs)} QConvs take the "
                "sign trick at 2 pixels x 32 channels")
        verify_everywhere(a.wrpnc, t, "8x8 QConv", path, os.path.join(d, "ds"), ("0", "0"))
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
