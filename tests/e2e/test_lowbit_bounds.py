#!/usr/bin/env python3
"""Accumulator bounds of the integer layers.

Every sum a QConv kernel forms must fit int32. A layer whose worst case does not (an
8-bit Gemm over K = 70,000) stays float, with the reason in `wrpnc info`, and the model
still compiles and matches ONNX Runtime; a layer just inside the bound (8-bit, K = 33,000,
ending in an 8-bit quantizer, so 255 thresholds per channel near the bound) is integer and
exact against ONNX Runtime on the QCDQ float graph (power-of-two scales: exact sums).

  test_lowbit_bounds.py --wrpnc build/wrpnc
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from e2e_util import Tally

F = np.float32


def qdq(nodes, inits, x, name, lo, hi, scale):
    s, z = f"{name}_s", f"{name}_z"
    inits += [numpy_helper.from_array(F(scale), s), numpy_helper.from_array(np.uint8(0), z),
              numpy_helper.from_array(np.uint8(lo), f"{name}_lo"),
              numpy_helper.from_array(np.uint8(hi), f"{name}_hi")]
    nodes += [helper.make_node("QuantizeLinear", [x, s, z], [f"{name}_q"]),
              helper.make_node("Clip", [f"{name}_q", f"{name}_lo", f"{name}_hi"], [f"{name}_c"]),
              helper.make_node("DequantizeLinear", [f"{name}_c", s, z], [f"{name}_d"])]
    return f"{name}_d"


def model(K, M, rng, out_quant):
    """x (1, K) -> 8-bit QDQ -> Gemm (7-bit grid weights) [-> 8-bit QDQ]."""
    nodes, inits = [], []
    a = qdq(nodes, inits, "x", "a", 0, 255, 2.0 ** -8)
    w = (rng.integers(-127, 128, (K, M)) * F(2.0 ** -7)).astype(F)
    inits.append(numpy_helper.from_array(w, "w"))
    nodes.append(helper.make_node("MatMul", [a, "w"], ["y"], name="fc"))
    y = qdq(nodes, inits, "y", "o", 0, 255, 2.0 ** 4) if out_quant else "y"
    g = helper.make_graph(nodes, "bounds", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                          [1, K])],
                          [helper.make_tensor_value_info(y, TensorProto.FLOAT, None)], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def case(root, name, K, M, out_quant, rng):
    d = os.path.join(root, name)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    m = model(K, M, rng, out_quant)
    onnx.save(m, os.path.join(d, "model.onnx"))
    x = rng.integers(0, 256, (1, K)).astype(F) * F(2.0 ** -8)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    y = ort.InferenceSession(m.SerializeToString(), so,
                             providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    for fn, v, n in (("input_0", x, "x"), ("output_0", y, m.graph.output[0].name)):
        with open(os.path.join(d, "test_data_set_0", fn + ".pb"), "wb") as f:
            f.write(numpy_helper.from_array(v, n).SerializeToString())
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    t = Tally()
    rng = np.random.default_rng(3)
    with tempfile.TemporaryDirectory() as root:
        for name, K, M, oq, integer, tol in (("k70000", 70000, 3, False, False, "1e-6"),
                                             ("k33000", 33000, 16, True, True, "0")):
            d = case(root, name, K, M, oq, rng)
            model_path = os.path.join(d, "model.onnx")
            r = subprocess.run([a.wrpnc, "info", model_path, "--json"], capture_output=True,
                               text=True)
            nodes = json.loads(r.stdout)["nodes"] if r.returncode == 0 else []
            fc = [n for n in nodes if n["op"] in ("QConv", "MatMul")]
            if integer:
                ok = len(fc) == 1 and fc[0]["integer"]
                t.check(ok, f"{name}: the layer is integer ({[n['op'] for n in fc]})")
            else:
                ok = len(fc) == 1 and not fc[0]["integer"] and \
                    "accumulator bound" in fc[0].get("why_float", "")
                t.check(ok, f"{name}: the layer stays float, info says why ({fc})")
            r = subprocess.run([a.wrpnc, "verify", model_path, os.path.join(d, "test_data_set_0"),
                                "--atol", tol, "--rtol", tol], capture_output=True, text=True)
            t.check(r.returncode == 0, f"{name}: matches onnxruntime (atol {tol})" +
                    ("" if r.returncode == 0 else "\n" + (r.stdout + r.stderr)[-1500:]))
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
