#!/usr/bin/env python3
"""test_gemm_rows.py: Gemm and MatMul of few rows (a classifier head at batch 1), compared
with ONNX Runtime on every target this CPU runs (avx512 emulated through SIMDe and neon
under qemu-user where `wrpnc targets` says so; others skipped, never passed). The packed
GEMM of sgemm.c computes one row with its one-row tile (x86) and a last panel of at most
half the tile width with its half-width tile: 1000 outputs are 62 x 16 + 8 on AVX2, K =
1280 is five K blocks (the tiles reload Y), an odd K leaves one k after the pairs of k.
The generated code is built with -Wall -Wextra -Wpedantic -Wshadow -Wconversion
-Wdouble-promotion -Werror.

  test_gemm_rows.py --wrpnc build/wrpnc
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from e2e_util import Tally, check_on_targets, run_vs_ort

# name, op, x shape, weight shape, bias, fused activation after the op
CASES = [
    ("head_1x1280_1000_relu", "Gemm", [1, 1280], [1000, 1280], True, "Relu"),
    ("matmul_1x37_20", "MatMul", [1, 37], [37, 20], False, None),
    ("gemm_2x33_40_clip", "Gemm", [2, 33], [40, 33], True, "Clip"),
]


def model(d, name, op, xs, ws, bias, act, rng):
    w = rng.standard_normal(ws).astype(np.float32) * np.float32(ws[-1] ** -0.5)
    inits = [numpy_helper.from_array(w, "W")]
    ins = ["x", "W"]
    if bias:
        inits.append(numpy_helper.from_array(rng.standard_normal(ws[0]).astype(np.float32), "B"))
        ins.append("B")
    at = dict(transB=1) if op == "Gemm" else {}
    nodes = [helper.make_node(op, ins, ["g" if act else "y"], **at)]
    if act == "Clip":
        inits += [numpy_helper.from_array(np.array(v, np.float32), n)
                  for n, v in (("lo", 0.0), ("hi", 0.5))]
        nodes.append(helper.make_node("Clip", ["g", "lo", "hi"], ["y"]))
    elif act:
        nodes.append(helper.make_node(act, ["g"], ["y"]))
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, xs)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    path = os.path.join(d, name + ".onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def check(wrpnc, d, case, target):
    name, op, xs, ws, bias, act = case
    rng = np.random.default_rng(3)
    path = model(d, name, op, xs, ws, bias, act, rng)
    x = rng.standard_normal(xs).astype(np.float32)
    return run_vs_ort(wrpnc, path, x, os.path.join(d, name), target)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    tally = Tally()
    with tempfile.TemporaryDirectory() as d:
        check_on_targets(a.wrpnc, tally, CASES, lambda c, t: check(a.wrpnc, d, c, t))
    sys.exit(tally.finish())


if __name__ == "__main__":
    main()
