#!/usr/bin/env python3
"""MaxPool on packed codes (a QPool reading bit planes or bytes), bit-exact against ONNX
Runtime on the float QCDQ graph.

Each model is x -> QuantizeLinear -> Clip (k-bit codes, unsigned or signed) ->
DequantizeLinear -> MaxPool [-> Conv on a weight grid]; quant_sink turns the MaxPool on
the dequantized codes into a QPool on the codes, which reads the planes (k < 8) or bytes
(k = 8) its producer writes. The cases reach every way the kernel works: one-bit planes
(the max is an OR), several bits (the bit-sliced max), signed codes (their top plane
flipped while compared), bytes of uint8 and int8 codes, channel counts with several words
and a tail, padding, stride, dilation, ceil_mode, 1-D and 3-D pools, and an output in
another layout (4-bit planes in, bytes out for an int8 QConv). `wrpnc info` must show
the QPool and its layouts. Scales are powers of two and the inputs lie on the grid, so
outputs are compared with atol = rtol = 0 on every target and in the interpreter.

  test_qpool.py --wrpnc build/wrpnc
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from e2e_util import Tally, ort_run, verify_everywhere, write_dataset

F = np.float32

# name, bits, signed, channels, input spatial shape, MaxPool attributes, then convs (1: the
# pool feeds a Conv with 4-bit weights; 2: so do the codes the pool reads, which makes
# 8-bit codes bytes on both sides) and the layouts the QPool must read and write
CASES = [
    ("1bit_3words", 1, False, 130, (15, 15),
     dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), 0, "planes", "planes"),
    ("2bit_pad", 2, False, 70, (14, 14),
     dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), 0, "planes", "planes"),
    ("s3bit", 3, True, 40, (10, 10),
     dict(kernel_shape=[2, 2], strides=[2, 2]), 0, "planes", "planes"),
    ("s3bit_dilated", 3, True, 70, (9, 9),
     dict(kernel_shape=[3, 3], pads=[2, 2, 2, 2], dilations=[2, 2]), 0, "planes", "planes"),
    ("2bit_ceil", 2, False, 64, (8, 8),
     dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1), 0, "planes", "planes"),
    ("s8bit_bytes", 8, True, 20, (9, 9),
     dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), 2, "bytes", "bytes"),
    ("8bit_bytes", 8, False, 36, (6, 6),
     dict(kernel_shape=[2, 2]), 2, "bytes", "bytes"),
    ("4bit_to_bytes", 4, False, 130, (12, 12),
     dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), 1, "planes", "bytes"),
    ("1d_5bit", 5, False, 130, (11,),
     dict(kernel_shape=[3], strides=[2], pads=[1, 1]), 0, "planes", "planes"),
    ("3d_s2bit", 2, True, 100, (4, 5, 5),
     dict(kernel_shape=[2, 2, 2], pads=[0, 1, 1, 0, 1, 1]), 0, "planes", "planes"),
]


def const(inits, name, v):
    inits.append(numpy_helper.from_array(np.asarray(v), name))
    return name


def conv_node(nodes, inits, rng, x, y, C):
    """y = Conv(x) with 16 filters of 3x3 on a 4-bit grid."""
    w = (rng.integers(-7, 8, (16, C, 3, 3)) * F(2.0 ** -4)).astype(F)
    const(inits, "w" + y, w)
    nodes.append(helper.make_node("Conv", [x, "w" + y], [y], pads=[1, 1, 1, 1]))
    return y


def build(bits, signed, C, sp, pool, convs, rng):
    """The QCDQ model and an input on its grid."""
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)
    zt = np.int8 if signed else np.uint8
    inits, s = [], F(2.0 ** -3)
    const(inits, "s", s)
    const(inits, "z", zt(0))
    const(inits, "lo", zt(lo))
    const(inits, "hi", zt(hi))
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
             helper.make_node("Clip", ["q", "lo", "hi"], ["c"]),
             helper.make_node("DequantizeLinear", ["c", "s", "z"], ["a"]),
             helper.make_node("MaxPool", ["a"], ["y"], **pool)]
    outs = [conv_node(nodes, inits, rng, "y", "o", C) if convs else "y"]
    if convs == 2:
        outs.append(conv_node(nodes, inits, rng, "a", "o2", C))
    shape = [1, C, *sp]
    g = helper.make_graph(nodes, "qpool", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, shape)], [helper.make_tensor_value_info(
            o, TensorProto.FLOAT, None) for o in outs], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    x = (rng.integers(lo - 2, hi + 3, shape) * s).astype(F)  # on the grid, some clipped
    return m, x


def layouts(wrpnc, path):
    """(QPool's input layout, its output layout) from `wrpnc info`, or None."""
    out = subprocess.run([wrpnc, "info", path], capture_output=True, text=True).stdout
    rows = [l for l in out.splitlines() if re.match(r"\s*\d+\s", l)]
    for i, r in enumerate(rows):
        if r.split()[1] == "QPool" and i > 0:
            lay = [re.search(r"(planes|bytes|dense)", x) for x in (rows[i - 1], r)]
            return tuple(m.group(1) if m else "dense" for m in lay)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    t = Tally()
    rng = np.random.default_rng(11)
    with tempfile.TemporaryDirectory() as root:
        for name, bits, signed, C, sp, pool, convs, lin, lout in CASES:
            m, x = build(bits, signed, C, sp, pool, convs, rng)
            d = os.path.join(root, name)
            os.makedirs(d)
            path = os.path.join(d, "model.onnx")
            with open(path, "wb") as f:
                f.write(m.SerializeToString())
            ys = ort_run(m, {"x": x})
            write_dataset(os.path.join(d, "data"), [("x", x)],
                          [(f"y{i}", y) for i, y in enumerate(ys)])
            got = layouts(a.wrpnc, path)
            t.check(got == (lin, lout), f"{name}: QPool reads {lin} and writes {lout} ({got})")
            verify_everywhere(a.wrpnc, t, name, path, os.path.join(d, "data"), tol=("0", "0"))
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
