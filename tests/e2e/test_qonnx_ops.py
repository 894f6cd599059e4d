#!/usr/bin/env python3
"""QONNX Quant / IntQuant / BipolarQuant / Trunc through `wrpnc verify`, both engines.

Expected outputs come from numpy transcriptions of the QONNX reference
implementations (qonnx.custom_op.general quant.py / bipolar_quant.py / trunc.py),
computed in float32 as they are. Inputs include exact ties (x / scale = k + 0.5),
so every rounding mode is exercised; comparison is exact (atol = rtol = 0).

  test_qonnx_ops.py --wrpnc build/wrpnc
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROUND = {"ROUND": np.round, "CEIL": np.ceil, "FLOOR": np.floor, "ROUND_TO_ZERO": np.fix}


def int_range(signed, narrow, bits):
    if signed:
        return (-(2 ** (bits - 1)) + narrow, 2 ** (bits - 1) - 1)
    return (0, 2 ** bits - 1 - narrow)


def quant_ref(x, scale, zp, bits, signed, narrow, mode):
    y = x / scale + zp
    y = ROUND[mode](y)
    lo, hi = int_range(signed, narrow, bits)
    y = np.clip(y, np.float32(lo), np.float32(hi)).astype(np.float32)
    return ((y - zp) * scale).astype(np.float32)


def trunc_v1_ref(x, scale, zp, in_bw, out_bw, mode):
    y = np.round(x / scale + zp)
    y = y / np.float32(2.0 ** (in_bw - out_bw))
    y = ROUND[mode](y)
    return ((y - zp) * scale).astype(np.float32)


def trunc_v2_ref(x, scale, zp, in_bw, out_scale, out_bw, signed, narrow, mode):
    y = np.round(x / scale + zp)
    ts = np.float32(2 ** np.round(np.log2(out_scale / scale)))
    y = y / ts
    lo, hi = int_range(signed, narrow, out_bw)
    y = np.where(y > hi, np.float32(hi), y)
    y = np.where(y < lo, np.float32(lo), y)
    y = ROUND[mode](y)
    return ((y - zp / ts) * out_scale).astype(np.float32)


def write_case(root, name, node, inits, x, y):
    d = os.path.join(root, name)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    g = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(y.shape))],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                            helper.make_opsetid(node.domain, 1)])
    onnx.save(m, os.path.join(d, "model.onnx"))
    for nm, v in (("input_0", x), ("output_0", y)):
        t = numpy_helper.from_array(v, "x" if nm == "input_0" else "y")
        with open(os.path.join(d, "test_data_set_0", nm + ".pb"), "wb") as f:
            f.write(t.SerializeToString())
    return d


def cases(rng):
    x = (rng.integers(-40, 41, size=(2, 3, 4, 5)) * 0.125).astype(np.float32)  # many ties
    f32 = np.float32
    for op, dom in (("Quant", "qonnx.custom_op.general"), ("IntQuant", "finn.custom_op.general")):
        for bits, signed, narrow, mode in ((4, 1, 1, "ROUND"), (2, 1, 0, "FLOOR"),
                                           (3, 0, 0, "CEIL"), (8, 0, 1, "ROUND_TO_ZERO"),
                                           (1, 0, 0, "ROUND")):
            scale = (rng.integers(1, 5, size=(1, 3, 1, 1)) * 0.25).astype(np.float32)
            zp = f32(0.0) if signed else f32(1.0)
            node = helper.make_node(op, ["x", "s", "z", "b"], ["y"], domain=dom, signed=signed,
                                    narrow=narrow, rounding_mode=mode)
            y = quant_ref(x, scale, zp, bits, signed, narrow, mode)
            yield (f"{op}_{bits}_{signed}{narrow}_{mode}", node,
                   {"s": scale, "z": np.array(zp, np.float32), "b": np.array(bits, np.float32)},
                   x, y)
    node = helper.make_node("BipolarQuant", ["x", "s"], ["y"], domain="qonnx.custom_op.general")
    s = np.array([0.5, 1.5, 2.0], np.float32).reshape(3, 1, 1)
    yield "bipolar", node, {"s": s}, x, np.where(x >= 0, f32(1), f32(-1)) * s
    for mode in ("FLOOR", "ROUND", "CEIL"):
        node = helper.make_node("Trunc", ["x", "s", "z", "ib", "ob"], ["y"],
                                domain="qonnx.custom_op.general", rounding_mode=mode)
        inits = {"s": f32(0.125), "z": f32(0.0), "ib": f32(8), "ob": f32(4)}
        yield (f"trunc1_{mode}", node, inits, x,
               trunc_v1_ref(x, f32(0.125), f32(0), 8, 4, mode))
        node = helper.make_node("Trunc", ["x", "s", "z", "ib", "os", "oz", "ob"], ["y"],
                                domain="qonnx.custom_op.general", rounding_mode=mode, signed=1)
        inits = {"s": f32(0.125), "z": f32(0.0), "ib": f32(8), "os": f32(0.5), "oz": f32(0),
                 "ob": f32(3)}
        yield (f"trunc2_{mode}", node, inits, x,
               trunc_v2_ref(x, f32(0.125), f32(0), 8, f32(0.5), 3, 1, 0, mode))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    rng = np.random.default_rng(7)
    failed = total = 0
    with tempfile.TemporaryDirectory() as root:
        for name, node, inits, x, y in cases(rng):
            d = write_case(root, name, node, inits, x, y.astype(np.float32))
            for engine in ("c", "interp"):
                total += 1
                r = subprocess.run([a.wrpnc, "verify", os.path.join(d, "model.onnx"),
                                    os.path.join(d, "test_data_set_0"), "--engine", engine,
                                    "--atol", "0", "--rtol", "0"], capture_output=True, text=True)
                ok = r.returncode == 0
                failed += not ok
                print(f"{'PASS' if ok else 'FAIL'}  {name} ({engine})")
                if not ok:
                    print(r.stdout + r.stderr)
    print(f"{total - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
