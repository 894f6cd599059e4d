#!/usr/bin/env python3
"""The quantize pass end to end: models in, wrpnc::QConv out, outputs checked.

1. Float model Conv -> Relu -> Conv -> Relu -> Conv with --wbits/--abits: the middle
   conv becomes QConv (first and last stay float), and the output matches a numpy
   float64 evaluation of the WRPN formulas (wrpn.md section 1). Inputs and first-layer
   weights are dyadic, so the float first conv is exact and codes cannot differ.
   Also --kernel bitserial/int8, --quantize-all, --keep-fp32, and the kernel family the
   cost model picks per target (`wrpnc info --json --target T`): bit-serial up to the
   target's k_a x k_w crossover (AVX2: 2, others 5), else int8.
2. QONNX model: Relu -> Quant (unsigned 4-bit) -> Conv with Quant (signed narrow
   4-bit, per-channel scale) weights; expected from numpy transcriptions of QONNX.
3. QDQ model (QuantizeLinear -> DequantizeLinear activations, DequantizeLinear
   per-axis int8 weights): expected from ONNX Runtime.
Every case checks that QConv is in the lowered graph (--dump=quantize).

  test_quantize.py --wrpnc build/wrpnc
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

F = np.float32


def conv_np(x, w, b=None, pad=0):
    x = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    N, C, H, W = x.shape
    M, _, KH, KW = w.shape
    y = np.zeros((N, M, H - KH + 1, W - KW + 1))
    for kh in range(KH):
        for kw in range(KW):
            y += np.einsum("nchw,mc->nmhw", x[:, :, kh:kh + y.shape[2], kw:kw + y.shape[3]],
                           w[:, :, kh, kw].astype(np.float64))
    return y + (0 if b is None else b[None, :, None, None])


def act_q(x, k):
    n = 2 ** k - 1
    return np.rint(F(n) * np.clip(x, 0, 1).astype(F)) / n


def weight_q(w, k):
    if k == 1:
        alpha = np.abs(w).reshape(w.shape[0], -1).mean(1).astype(np.float64)
        return np.where(w < 0, -1.0, 1.0) * alpha[:, None, None, None]
    m = 2 ** (k - 1) - 1
    return np.rint(F(m) * np.clip(w, -1, 1).astype(F)) / m


def save_case(root, name, graph, feeds, want, opsets):
    d = os.path.join(root, name)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid(k, v) for k, v in opsets])
    onnx.save(m, os.path.join(d, "model.onnx"))
    for i, (k, v) in enumerate(feeds.items()):
        with open(os.path.join(d, "test_data_set_0", f"input_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(v, k).SerializeToString())
    with open(os.path.join(d, "test_data_set_0", "output_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(want.astype(F), "y").SerializeToString())
    return d


def float_model(rng):
    x = (rng.integers(-8, 9, size=(1, 3, 8, 8)) / 8).astype(F)
    w1 = (rng.integers(-4, 5, size=(16, 3, 3, 3)) / 16).astype(F)
    w2 = rng.normal(0, 0.4, size=(24, 16, 3, 3)).astype(F)
    b2 = rng.normal(0, 0.1, size=24).astype(F)
    w3 = rng.normal(0, 0.2, size=(5, 24, 1, 1)).astype(F)
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
             helper.make_node("Conv", ["r2", "w3"], ["y"], name="conv3")]
    inits = [numpy_helper.from_array(v, k) for k, v in
             (("w1", w1), ("w2", w2), ("b2", b2), ("w3", w3))]
    g = helper.make_graph(nodes, "fm", [helper.make_tensor_value_info("x", 1, list(x.shape))],
                          [helper.make_tensor_value_info("y", 1, [1, 5, 8, 8])], inits)
    return g, x, (w1, w2, b2, w3)


def float_expected(x, ws, wb, ab, quantize_all=False, keep=False):
    w1, w2, b2, w3 = ws
    r1 = np.maximum(conv_np(x, w1, pad=1).astype(F), 0)
    if keep:
        r2 = np.maximum(conv_np(r1, w2, b2, pad=1), 0)
        return conv_np(r2, w3)
    r2 = np.maximum(conv_np(act_q(r1, ab), weight_q(w2, wb), b2, pad=1), 0)
    if quantize_all:
        return conv_np(act_q(r2.astype(F), ab), weight_q(w3, wb))
    return conv_np(r2, w3)


def qonnx_model(rng):
    x = rng.normal(0.3, 0.5, size=(1, 8, 6, 6)).astype(F)
    w = rng.normal(0, 0.3, size=(12, 8, 3, 3)).astype(F)
    ws = rng.uniform(0.02, 0.05, size=(12, 1, 1, 1)).astype(F)
    sa = F(0.07)
    qd = "qonnx.custom_op.general"
    nodes = [helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node("Quant", ["r", "sa", "z", "ba"], ["q"], domain=qd, signed=0,
                              narrow=0, rounding_mode="ROUND"),
             helper.make_node("Quant", ["w", "ws", "z", "bw"], ["wq"], domain=qd, signed=1,
                              narrow=1, rounding_mode="ROUND"),
             helper.make_node("Conv", ["q", "wq"], ["y"], pads=[1, 1, 1, 1])]
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in
             (("w", w), ("ws", ws), ("sa", sa), ("z", F(0)), ("ba", F(4)), ("bw", F(4)))]
    g = helper.make_graph(nodes, "qm", [helper.make_tensor_value_info("x", 1, list(x.shape))],
                          [helper.make_tensor_value_info("y", 1, [1, 12, 6, 6])], inits)
    aq = np.clip(np.round(np.maximum(x, 0) / sa), 0, 15) * sa
    wq = np.clip(np.round(w / ws), -7, 7) * ws
    return g, x, conv_np(aq.astype(F), wq.astype(F), pad=1)


def qdq_model(rng):
    x = rng.normal(0.5, 1.0, size=(1, 8, 7, 7)).astype(F)
    wi = rng.integers(-127, 128, size=(10, 8, 3, 3)).astype(np.int8)
    wi[3] = 0  # an all-zero filter
    ws = rng.uniform(0.001, 0.01, size=10).astype(F)
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "zu"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "s", "zu"], ["xd"]),
             helper.make_node("DequantizeLinear", ["wi", "ws", "zi"], ["wd"], axis=0),
             helper.make_node("Conv", ["xd", "wd"], ["y"], pads=[1, 1, 1, 1], strides=[2, 2])]
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in
             (("s", F(0.02)), ("zu", np.uint8(0)), ("wi", wi), ("ws", ws),
              ("zi", np.zeros(10, np.int8)))]
    g = helper.make_graph(nodes, "dm", [helper.make_tensor_value_info("x", 1, list(x.shape))],
                          [helper.make_tensor_value_info("y", 1, [1, 10, 4, 4])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
        None, {"x": x})[0]
    return g, x, want


def run(wrpnc, d, extra, expect_qconv, engines=("c", "interp")):
    model = os.path.join(d, "model.onnx")
    r = subprocess.run([wrpnc, "compile", model, "-o", os.path.join(d, "gen"),
                        "--dump=quantize", *extra], capture_output=True, text=True)
    has = "QConv" in r.stderr
    if r.returncode or has != expect_qconv:
        return False, f"QConv in graph: {has}, expected {expect_qconv}\n{r.stderr[-3000:]}"
    for eng in engines:
        r = subprocess.run([wrpnc, "verify", model, os.path.join(d, "test_data_set_0"),
                            "--engine", eng, "--atol", "1e-4", "--rtol", "1e-4", *extra],
                           capture_output=True, text=True)
        if r.returncode:
            return False, r.stdout + r.stderr
    return True, ""


# (target, W bits, A bits, kernel the cost model must pick) for the float model
PICKS = [("avx2", 2, 2, "int8"), ("avx2", 1, 2, "bitserial"), ("avx2", 2, 1, "bitserial"),
         ("avx2", 1, 3, "int8"), ("avx512", 2, 2, "bitserial"), ("avx512", 3, 2, "int8"),
         ("generic", 2, 2, "bitserial"), ("neon", 1, 5, "bitserial")]


def picks(wrpnc, path):
    """One (ok, message) per PICKS row: the middle conv's QConv kernel from wrpnc info."""
    res = []
    for target, wb, ab, want in PICKS:
        r = subprocess.run([wrpnc, "info", path, "--json", "--target", target, "--wbits",
                            str(wb), "--abits", str(ab)], capture_output=True, text=True)
        nodes = json.loads(r.stdout)["nodes"] if r.returncode == 0 else []
        got = [n.get("kernel") for n in nodes if n["op"] == "QConv"]
        res.append((got == [want], f"pick_{target}_w{wb}a{ab}: {got} (want [{want!r}])"))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    rng = np.random.default_rng(5)
    passed = failed = 0
    with tempfile.TemporaryDirectory() as root:
        g, x, ws = float_model(rng)
        cases = [(f"float_w{wb}a{ab}", ["--wbits", str(wb), "--abits", str(ab)], True,
                  float_expected(x, ws, wb, ab))
                 for wb, ab in ((1, 1), (2, 2), (4, 4), (8, 8), (2, 4), (3, 5), (1, 3))]
        for k in ("bitserial", "int8"):
            cases.append((f"float_w4a4_{k}", ["--wbits", "4", "--abits", "4", "--kernel", k],
                          True, float_expected(x, ws, 4, 4)))
        cases.append(("float_all_w2a2", ["--wbits", "2", "--abits", "2", "--quantize-all"], True,
                      float_expected(x, ws, 2, 2, quantize_all=True)))
        cases.append(("float_keep", ["--wbits", "2", "--abits", "2", "--keep-fp32", "conv2"],
                      False, float_expected(x, ws, 2, 2, keep=True)))
        cases.append(("float_plain", [], False, float_expected(x, ws, 2, 2, keep=True)))
        for name, extra, expect, want in cases:
            d = save_case(root, name, g, {"x": x}, want, [("", 13)])
            ok, log = run(a.wrpnc, d, extra, expect)
            print(f"{'PASS' if ok else 'FAIL'}  {name}", flush=True)
            passed, failed = passed + ok, failed + (not ok)
            if not ok:
                print(log)
        for ok, what in picks(a.wrpnc, os.path.join(root, "float_plain", "model.onnx")):
            print(f"{'PASS' if ok else 'FAIL'}  {what}", flush=True)
            passed, failed = passed + ok, failed + (not ok)
        for name, (g2, x2, want), ops in (
                ("qonnx", qonnx_model(rng), [("", 13), ("qonnx.custom_op.general", 1)]),
                ("qdq", qdq_model(rng), [("", 13)])):
            d = save_case(root, name, g2, {"x": x2}, want, ops)
            ok, log = run(a.wrpnc, d, [], True)
            print(f"{'PASS' if ok else 'FAIL'}  {name}", flush=True)
            passed, failed = passed + ok, failed + (not ok)
            if not ok:
                print(log)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
