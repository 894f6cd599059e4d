#!/usr/bin/env python3
"""ONNX Runtime's quantized formats against ONNX Runtime itself.

- A small CNN (convs with stride, padding and groups, max pool, a MatMul
  classifier) exported by PyTorch and quantized by onnxruntime.quantization
  .quantize_static in the QOperator format (QuantizeLinear, QLinearConv,
  QLinearMatMul, DequantizeLinear), calibrated on random data: int8
  activations per tensor and per channel, and uint8 activations with
  reduce_range (7-bit weights). The outputs must be identical (rtol = atol =
  0): integer accumulators and ONNX Runtime's requantization are exact.
  `wrpnc info --json` must show every QLinearConv / QLinearMatMul of it
  replaced by a QConv on the int8 kernels (passes/quant_qop.c).
  (uint8 activations with full-range int8 weights are not compared: ONNX
  Runtime's AVX2 u8s8 kernel saturates pairs of products to int16.)
- The same for quantize_dynamic (DynamicQuantizeLinear, MatMulInteger,
  ConvInteger, then Cast and Mul in float), uint8 weights (off the kernels'
  grid: plain loops, and `wrpnc info` must say why) and 7-bit int8 weights
  (reduce_range; on the int8 kernels, the run-time x zero point subtracted
  after them).
- QLinearMatMul / MatMulInteger / ConvInteger / QLinearConv /
  DynamicQuantizeLinear nodes on cases the CNN does not cover (per-column
  zero points, broadcast batches, uint8 x uint8, bias), also exact.
- com.microsoft::MatMulNBits with 2, 4 and 8-bit codes, default, packed and
  float zero points, bias, K not a multiple of the block: rtol = atol = 1e-4
  (ONNX Runtime dequantizes and runs a float GEMM; the summation order differs).
Each on every target this CPU runs and the reference interpreter.

  test_qoperator.py --wrpnc build/wrpnc

Prints one line per (model, engine), then "N passed, N failed, N skipped".
"""
import argparse
import json
import logging
import os
import subprocess
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto as TP, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import exec_engines, Tally, run, scratch  # noqa: E402

RNG = np.random.default_rng(5)


def cnn(torch):
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = torch.nn.Conv2d(3, 8, 3, padding=1)
            self.c2 = torch.nn.Conv2d(8, 16, 3, stride=2, padding=1)
            self.c3 = torch.nn.Conv2d(16, 16, 3, padding=1, groups=4)
            self.w = torch.nn.Parameter(torch.randn(16 * 4 * 4, 10) * 0.05)

        def forward(self, x):
            x = torch.nn.functional.max_pool2d(torch.relu(self.c1(x)), 2)
            x = torch.relu(self.c3(torch.relu(self.c2(x))))
            return torch.matmul(x.flatten(1), self.w)

    return Net()


def dense(torch):
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w1 = torch.nn.Parameter(torch.randn(32, 48) * 0.1)
            self.w2 = torch.nn.Parameter(torch.randn(48, 10) * 0.1)
            self.c = torch.nn.Conv2d(2, 4, 3, padding=1)

        def forward(self, x, z):
            return torch.matmul(torch.relu(torch.matmul(x, self.w1)), self.w2), self.c(z)

    return Net()


def quantized_models(tmp):
    """(name, path, input shapes) of the ONNX Runtime-quantized models."""
    import torch
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_dynamic, quantize_static)
    torch.manual_seed(0)
    f32 = os.path.join(tmp, "cnn.onnx")
    torch.onnx.export(cnn(torch).eval(), torch.randn(1, 3, 16, 16), f32, opset_version=13,
                      input_names=["x"], output_names=["y"])

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.i = 0

        def get_next(self):
            self.i += 1
            x = np.random.RandomState(self.i).standard_normal((1, 3, 16, 16)).astype(np.float32)
            return {"x": x} if self.i <= 8 else None

    out = []
    for name, act, pc, rr in (("qop_s8", QuantType.QInt8, False, False),
                              ("qop_s8_per_channel", QuantType.QInt8, True, False),
                              ("qop_u8_reduce_range", QuantType.QUInt8, True, True)):
        path = os.path.join(tmp, name + ".onnx")
        quantize_static(f32, path, Reader(), quant_format=QuantFormat.QOperator,
                        activation_type=act, weight_type=QuantType.QInt8, per_channel=pc,
                        reduce_range=rr)
        out.append((name, path, {"x": (1, 3, 16, 16)}))
    fd = os.path.join(tmp, "dense.onnx")
    torch.onnx.export(dense(torch).eval(), (torch.randn(4, 32), torch.randn(1, 2, 6, 6)), fd,
                      opset_version=13, input_names=["x", "z"], output_names=["y", "v"])
    # int8 weights with reduce_range (7 bits): full-range ones meet ONNX Runtime's
    # saturating u8s8 kernel, as above
    for name, wt, rr in (("dynamic_u8", QuantType.QUInt8, False),
                         ("dynamic_s8", QuantType.QInt8, True)):
        qd = os.path.join(tmp, name + ".onnx")
        quantize_dynamic(fd, qd, weight_type=wt, op_types_to_quantize=["MatMul", "Conv"],
                         reduce_range=rr)
        out.append((name, qd, {"x": (4, 32), "z": (1, 2, 6, 6)}))
    return out


QOP = ("QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger")
# The QOperator layers of each model that must run on the int8 QConv kernels. uint8
# weights minus their zero point reach -128 and 134 (outside [-127, 127]): plain loops.
KERNEL_OPS = {"qop_s8": QOP[:2], "qop_s8_per_channel": QOP[:2], "qop_u8_reduce_range": QOP[:2],
              "dynamic_u8": (), "dynamic_s8": QOP[2:]}
INPUTS = {"dynamic_s8": 1}  # the time budget: dynamic_u8 runs the same graph twice


def qnodes():
    """One model of QOperator nodes the CNN leaves out, and its feeds."""
    mk, t = helper.make_node, numpy_helper.from_array
    u8 = lambda *s: RNG.integers(0, 256, s).astype(np.uint8)  # noqa: E731
    s8 = lambda *s: RNG.integers(-128, 128, s).astype(np.int8)  # noqa: E731
    f = lambda *v: np.array(v, np.float32)  # noqa: E731
    inits = [t(u8(6, 5), "B1"), t(f(0.02), "as"), t(np.uint8(120), "az"),
             t(f(*RNG.uniform(0.01, 0.03, 5)).reshape(1, 5), "bs"), t(u8(1, 5), "bz"),
             t(f(0.7), "ys"),
             t(np.uint8(128), "yz"),
             t(s8(4, 7), "B2"), t(f(0.05), "as2"), t(np.int8(-3), "az2"), t(f(0.04), "bs2"),
             t(np.int8(2), "bz2"), t(f(0.9), "ys2"), t(np.int8(-5), "yz2"),
             t(u8(6, 3), "B3"), t(np.uint8(100), "mz"), t(u8(3), "mbz"),
             # W4 - wz on the int8 kernels' grid [-127, 127]
             t(np.clip(s8(4, 2, 3, 3), -126, 127), "W4"), t(np.uint8(131), "cz"),
             t(np.int8(1), "wz"),
             t(u8(6, 2, 3, 3), "W5"), t(f(0.03), "xs5"), t(np.uint8(125), "xz5"),
             t(f(*RNG.uniform(0.01, 0.02, 6)), "ws5"), t(u8(6), "wz5"), t(f(0.5), "ys5"),
             t(np.uint8(110), "yz5"), t(RNG.integers(-500, 500, 6).astype(np.int32), "b5"),
             t(RNG.integers(0, 6, (8, 6)).astype(np.uint8), "B7"), t(f(0.5), "h7"),
             t(f(1.0), "one"), t(np.uint8(0), "z0")]
    nodes = [mk("QLinearMatMul", ["a1", "as", "az", "B1", "bs", "bz", "ys", "yz"], ["y1"]),
             mk("QLinearMatMul", ["a2", "as2", "az2", "B2", "bs2", "bz2", "ys2", "yz2"], ["y2"]),
             mk("MatMulInteger", ["a3", "B3", "mz", "mbz"], ["y3"]),
             mk("ConvInteger", ["x4", "W4", "cz", "wz"], ["y4"], pads=[1, 0, 1, 2], strides=[2, 1]),
             mk("QLinearConv", ["x5", "xs5", "xz5", "W5", "ws5", "wz5", "ys5", "yz5", "b5"], ["y5"],
                group=2, pads=[1, 1, 1, 1], dilations=[2, 1]),
             mk("DynamicQuantizeLinear", ["x6"], ["y6", "s6", "z6"]),
             # multiplier 0.5: half of the results are ties (rounded to even)
             mk("QLinearMatMul", ["a7", "h7", "z0", "B7", "one", "z0", "one", "z0"], ["y7"])]
    feeds = {"a1": u8(3, 4, 6), "a2": s8(2, 3, 4), "a3": u8(5, 6), "x4": u8(1, 2, 7, 6),
             "x5": u8(2, 4, 6, 6), "x6": RNG.standard_normal((3, 5)).astype(np.float32) * 3,
             "a7": RNG.integers(0, 4, (5, 8)).astype(np.uint8)}
    vis = [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
           for k, v in feeds.items()]
    outs = [o for n in nodes for o in n.output]
    g = helper.make_graph(nodes, "qnodes", vis, [onnx.ValueInfoProto(name=o) for o in outs],
                          inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), feeds


def nbits_node(k, bits, bs, K, N, zp, bias):
    """A MatMulNBits node reading a{k} and its initializers (codes packed low bits first)."""
    kb = (K + bs - 1) // bs
    codes = RNG.integers(0, 2 ** bits, (N, kb * bs)).astype(np.uint8)
    B = np.zeros((N, kb, bs * bits // 8), np.uint8)
    for j in range(kb * bs):
        shift = (j % bs) * bits % 8
        B[:, j // bs, (j % bs) * bits // 8] |= (codes[:, j] << shift).astype(np.uint8)
    inits = [numpy_helper.from_array(B, f"B{k}"),
             numpy_helper.from_array(RNG.uniform(0.01, 0.1, N * kb).astype(np.float32), f"S{k}")]
    ins = [f"a{k}", f"B{k}", f"S{k}"]
    if zp == "packed":
        zc = RNG.integers(0, 2 ** bits, (N, kb)).astype(np.uint8)
        Z = np.zeros((N, (kb * bits + 7) // 8), np.uint8)
        for b in range(kb):
            Z[:, b * bits // 8] |= (zc[:, b] << (b * bits % 8)).astype(np.uint8)
        inits.append(numpy_helper.from_array(Z.reshape(-1), f"Z{k}"))
    elif zp == "float":
        inits.append(numpy_helper.from_array(
            RNG.uniform(0, 2 ** bits, N * kb).astype(np.float32), f"Z{k}"))
    ins.append(f"Z{k}" if zp else "")
    if bias:
        inits.append(numpy_helper.from_array(RNG.standard_normal(N).astype(np.float32), f"c{k}"))
        ins += ["", f"c{k}"]
    while ins[-1] == "":
        ins.pop()
    node = helper.make_node("MatMulNBits", ins, [f"y{k}"], domain="com.microsoft", K=K, N=N,
                            bits=bits, block_size=bs)
    return node, inits


# bits, block_size, K, N, zero points, bias
NBITS = [(4, 32, 64, 8, None, False), (4, 16, 50, 7, "packed", True),
         (8, 32, 70, 5, "packed", False), (2, 16, 48, 6, None, True),
         (2, 32, 40, 3, "packed", False), (4, 64, 128, 9, "float", False)]


def nbits_model():
    nodes, inits, feeds = [], [], {}
    for k, (bits, bs, K, N, zp, bias) in enumerate(NBITS):
        n, i = nbits_node(k, bits, bs, K, N, zp, bias)
        nodes.append(n)
        inits += i
        feeds[f"a{k}"] = RNG.standard_normal((2, 3, K) if k % 2 else (4, K)).astype(np.float32)
    vis = [helper.make_tensor_value_info(k, TP.FLOAT, v.shape) for k, v in feeds.items()]
    outs = [onnx.ValueInfoProto(name=n.output[0]) for n in nodes]
    g = helper.make_graph(nodes, "nbits", vis, outs, inits)
    ops = [helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(g, opset_imports=ops), feeds


def write_case(d, m, feeds):
    """ONNX Runtime's outputs as a test_data_set next to the typed model."""
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    ys = sess.run(None, feeds)
    ds = os.path.join(d, "test_data_set_0")
    os.makedirs(ds, exist_ok=True)
    for i, (o, y) in enumerate(zip(m.graph.output, ys)):
        o.CopyFrom(helper.make_tensor_value_info(
            o.name, helper.np_dtype_to_tensor_dtype(y.dtype), y.shape))
        onnx.save_tensor(numpy_helper.from_array(y, o.name), os.path.join(ds, f"output_{i}.pb"))
    for i, v in enumerate(m.graph.input):
        onnx.save_tensor(numpy_helper.from_array(feeds[v.name], v.name),
                         os.path.join(ds, f"input_{i}.pb"))
    onnx.save(m, os.path.join(d, "model.onnx"))
    return ds


def check_kernels(t, wrpnc, name, path, ops=(), names=()):
    """From wrpnc info --json: each node of the model whose op is in `ops` or whose name
    is in `names` became a QConv on the int8 kernels (named after it), and every
    QOperator layer left on the plain loops says why."""
    # unnamed nodes are OP_index to wrpnc
    nodes = [(n.name or f"{n.op_type}_{i}", n.op_type)
             for i, n in enumerate(onnx.load(path).graph.node) if n.op_type in QOP]
    want = [k for k, op in nodes if op in ops or k in names]
    r = subprocess.run([wrpnc, "info", path, "--json"], capture_output=True, text=True)
    info = json.loads(r.stdout)["nodes"] if r.returncode == 0 else []
    kernel = {n["name"]: n.get("kernel") for n in info if n["op"] == "QConv"}
    bad = [w for w in want if kernel.get(w + "_q") != "int8"]
    bad += [n["name"] + " (no reason)" for n in info if n["op"] in QOP and
            not n.get("why_qlinear")]
    bad += [n["name"] + " (left)" for n in info if n["name"] in want]
    t.check(r.returncode == 0 and bool(want or not (ops or names)) and not bad,
            f"{name}: {len(want)} layers on the int8 QConv kernels" +
            (f": not {', '.join(bad)}" if bad else ""))


def check(t, wrpnc, name, d, ds, tol, engs):
    for label, eng in engs:
        if eng is None:
            t.skip(f"{name} {label}: this machine cannot run it")
            continue
        r = subprocess.run([wrpnc, "verify", os.path.join(d, "model.onnx"), ds, "--rtol", tol,
                            "--atol", tol, *eng, "--cflags=-Wall -Wextra -Wpedantic -Werror"],
                           capture_output=True, text=True)
        lines = [l.strip() for l in r.stdout.splitlines() if "FAIL" in l]
        why = lines[0] if lines else (r.stderr.strip().splitlines() or ["?"])[-1]
        t.check(r.returncode == 0, f"{name} {label}" + ("" if r.returncode == 0 else ": " + why))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)  # the quantizer's advice on formats
    t = Tally()
    engs = exec_engines(a.wrpnc)
    with scratch("wrpnc-qop-") as tmp:
        for name, path, shapes in quantized_models(tmp):
            check_kernels(t, a.wrpnc, name, path, KERNEL_OPS[name])
            m = onnx.load(path)
            for k in range(INPUTS.get(name, 2)):  # inputs scaled differently
                feeds = {n: (RNG.standard_normal(s) * (1 + 2 * k)).astype(np.float32)
                         for n, s in shapes.items()}
                d = os.path.join(tmp, f"{name}_{k}")
                check(t, a.wrpnc, f"{name} input {k}", d, write_case(d, m, feeds), "0", engs)
        m, feeds = qnodes()
        d = os.path.join(tmp, "qnodes")
        check(t, a.wrpnc, "qlinear_nodes", d, write_case(d, m, feeds), "0", engs)
        # the ties (multiplier 0.5) and ConvInteger's int32 accumulators on the kernels
        check_kernels(t, a.wrpnc, "qlinear_nodes", os.path.join(d, "model.onnx"),
                      names=["ConvInteger_3", "QLinearMatMul_6"])
        m, feeds = nbits_model()
        d = os.path.join(tmp, "nbits")
        check(t, a.wrpnc, "matmulnbits", d, write_case(d, m, feeds), "1e-4", engs)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
