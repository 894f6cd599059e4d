#!/usr/bin/env python3
"""Shape-computing chains as PyTorch exports them, compared with ONNX Runtime.

Each model is written to a temporary folder with one data set whose expected
outputs come from ONNX Runtime, then checked with `wrpnc verify` on both
engines. The models exercise constant folding of Shape -> Gather -> Unsqueeze
-> Concat -> Reshape, views inside a graph (which must emit no code), and
data movement after them (Transpose, Slice with a negative step, Pad reflect,
Concat, Split, Expand, Tile, Gather with run-time indices), and generated
code that must build with e2e_util.WARN (-Wall ... -Wdouble-promotion -Werror).

  test_shape_chain.py --wrpnc build/wrpnc
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from e2e_util import WARN_FLAGS


def const(name, arr):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.array(arr)))


def flatten_chain():
    """x (2,3,4,5) -> reshape to (2, -1) computed from Shape -> Transpose -> Relu."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        const("i0", np.array(0, dtype=np.int64)),
        helper.make_node("Gather", ["s", "i0"], ["n"], axis=0),
        const("ax", np.array([0], dtype=np.int64)),
        helper.make_node("Unsqueeze", ["n", "ax"], ["n1"]),
        const("m1", np.array([-1], dtype=np.int64)),
        helper.make_node("Concat", ["n1", "m1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["x", "shape"], ["r"]),
        helper.make_node("Transpose", ["r"], ["t"], perm=[1, 0]),
        helper.make_node("Relu", ["t"], ["y"]),
    ]
    g = helper.make_graph(nodes, "flatten_chain",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4, 5])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return g, [np.random.randn(2, 3, 4, 5).astype(np.float32)]


def movement_mix():
    """Slice (negative step) -> Pad reflect -> Split -> Concat, Expand, Tile, Gather."""
    nodes = [
        const("st", np.array([-1, 0], dtype=np.int64)),
        const("en", np.array([-100, 100], dtype=np.int64)),
        const("axs", np.array([1, 2], dtype=np.int64)),
        const("sp", np.array([-1, 2], dtype=np.int64)),
        helper.make_node("Slice", ["x", "st", "en", "axs", "sp"], ["sl"]),
        const("pads", np.array([0, 1, 2, 0, 1, 1], dtype=np.int64)),
        helper.make_node("Pad", ["sl", "pads"], ["pd"], mode="reflect"),
        helper.make_node("Split", ["pd"], ["a", "b"], axis=1, num_outputs=2),
        helper.make_node("Concat", ["b", "a"], ["c"], axis=2),
        const("es", np.array([2, 1, 1, 1], dtype=np.int64)),
        helper.make_node("Expand", ["c", "es"], ["ex"]),
        const("rep", np.array([1, 2, 1, 1], dtype=np.int64)),
        helper.make_node("Tile", ["ex", "rep"], ["ti"]),
        helper.make_node("Gather", ["ti", "idx"], ["y"], axis=3),
        helper.make_node("Identity", ["ex"], ["z"]),
    ]
    g = helper.make_graph(nodes, "movement_mix",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 6, 7]),
                           helper.make_tensor_value_info("idx", TensorProto.INT64, [2, 2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
                           helper.make_tensor_value_info("z", TensorProto.FLOAT, None)])
    idx = np.array([[0, -1], [2, 1]], dtype=np.int64)
    return g, [np.random.randn(3, 6, 7).astype(np.float32), idx]


def shape_only():
    """An input read only for its shape, and an empty output: NAME_run must
    still compile warning-free."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"], start=1),
        helper.make_node("Size", ["x"], ["n"]),
        const("five", np.array([5], dtype=np.int64)),
        helper.make_node("Slice", ["w", "five", "five"], ["e"]),
    ]
    g = helper.make_graph(nodes, "shape_only",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4]),
                           helper.make_tensor_value_info("w", TensorProto.INT32, [7])],
                          [helper.make_tensor_value_info("s", TensorProto.INT64, None),
                           helper.make_tensor_value_info("n", TensorProto.INT64, None),
                           helper.make_tensor_value_info("e", TensorProto.INT32, None)])
    return g, [np.zeros((2, 3, 4), np.float32), np.arange(7, dtype=np.int32)]


def write_case(d, g, inputs):
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 8
    path = os.path.join(d, "model.onnx")
    onnx.save(m, path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    outs = sess.run(None, {v.name: a for v, a in zip(g.input, inputs)})
    ds = os.path.join(d, "data")
    os.makedirs(ds)
    for i, a in enumerate(inputs):
        open(os.path.join(ds, f"input_{i}.pb"), "wb").write(
            numpy_helper.from_array(a).SerializeToString())
    for i, a in enumerate(outs):
        open(os.path.join(ds, f"output_{i}.pb"), "wb").write(
            numpy_helper.from_array(a).SerializeToString())
    return path, ds


def check(wrpnc, name, g, inputs, want_views):
    with tempfile.TemporaryDirectory() as d:
        path, ds = write_case(d, g, inputs)
        for engine in ("c", "interp"):
            r = subprocess.run([wrpnc, "verify", path, ds, "--engine", engine,
                                "--cflags=" + WARN_FLAGS],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(f"FAIL {name} ({engine}): {r.stdout}{r.stderr}")
                return False
        out = os.path.join(d, "gen")
        r = subprocess.run([wrpnc, "compile", path, "-o", out, "--name", "m"],
                           capture_output=True, text=True)
        src = open(os.path.join(out, "m.c")).read() if r.returncode == 0 else ""
        views = src.count("is a view, no code")
        if r.returncode != 0 or views < want_views:
            print(f"FAIL {name}: expected {want_views} view(s) without code, found {views}"
                  f"\n{r.stderr}")
            return False
        if "Shape" in src or "Concat" in src.split("void m_run(")[1]:
            print(f"FAIL {name}: the shape chain was not folded")
            return False
    print(f"PASS {name}")
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    np.random.seed(0)
    ok = check(a.wrpnc, "flatten_chain", *flatten_chain(), want_views=1)
    ok = check(a.wrpnc, "movement_mix", *movement_mix(), want_views=0) and ok
    ok = check(a.wrpnc, "shape_only", *shape_only(), want_views=0) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
