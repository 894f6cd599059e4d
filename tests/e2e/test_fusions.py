#!/usr/bin/env python3
"""Integer end to end: every fusion that keeps a network in packed codes, bit-exact
against ONNX Runtime on the original float graph.

The model is a small ResNet-shaped network written as a QCDQ float graph (QuantizeLinear
-> Clip -> DequantizeLinear activations of k bits, weights already on a k-bit grid), so
that ONNX Runtime runs it as any user's model:
  stem:     float Conv (+ bias, Relu) whose quantizer fuses into it (it writes codes)
  pool:     MaxPool 2x2 on the dequantized stem output (a QPool on codes)
  residual: Conv -> Relu -> Q -> Conv -> Add(block input) -> Relu -> Q (thresholds
            indexed by the shortcut's code)
  downsample: Conv stride 2 and a 1x1 stride 2 Conv on the shortcut -> Add -> Relu -> Q
            (a float residual operand: the epilogue runs in float)
  concat:   two Convs -> Relu -> Q each, Concat -> Conv (a QConcat: codes in and out)
  head:     GlobalAveragePool (a QPool reading codes) -> Flatten -> Gemm (float)
All scales are powers of two and the input and weights lie on grids, so ONNX Runtime's
float sums are exact and any difference is a real one: outputs are compared with
atol = rtol = 0 on every target this machine runs and in the interpreter. The test also
checks the IR (`wrpnc info`): no Add or MaxPool left, every inner layer a QConv, the
stem a Conv writing codes, the pools QPools, and a workspace no larger than --no-pack's.
The stem's scratch holds every channel of a chunk of pixels at 32x32 (24 channels: 288
pixels, then a shorter chunk) and with 100 channels (chunks of 81 pixels, no multiple of
8, written to 2-bit planes of two words, 100 no multiple of the micro-kernel's rows), but
only 8 channels of the whole image at 8x8 with 20 channels (too few pixels per chunk): the
two ways it is filled (ir/ops/conv.c). Input sizes are powers of two, so that the global
average pool's sums stay exact.

  test_fusions.py --wrpnc build/wrpnc [--full]   (default k = 1, 2, 3, 4, 8; full: 1..8)
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from e2e_util import Tally, target_label, target_runs

F = np.float32


class Net:
    def __init__(self, k, rng):
        self.k, self.rng = k, rng
        self.nodes, self.inits, self.n = [], [], 0
        self.sa = F(2.0 ** -(k // 2 + 1))  # activation scale, a power of two

    def name(self, p):
        self.n += 1
        return f"{p}{self.n}"

    def const(self, v, p="c"):
        n = self.name(p)
        self.inits.append(numpy_helper.from_array(np.asarray(v), n))
        return n

    def weights(self, M, C, kh, kw):
        k = self.k
        hi = 1 if k == 1 else 2 ** (k - 1) - 1
        q = self.rng.integers(-hi, hi + 1, size=(M, C, kh, kw))
        if k == 1:
            q = np.where(q == 0, 1, q)
        return (q * F(2.0 ** -3)).astype(F)  # a power-of-two weight scale

    def conv(self, x, M, C, k=3, stride=1, relu=True):
        y = self.name("y")
        w = self.const(self.weights(M, C, k, k), "w")
        b = self.const((self.rng.integers(-64, 64, M) * F(2.0 ** -8)).astype(F), "b")
        self.nodes.append(helper.make_node("Conv", [x, w, b], [y], pads=[k // 2] * 4,
                                           strides=[stride] * 2))
        return self.relu(y) if relu else y

    def relu(self, x):
        y = self.name("r")
        self.nodes.append(helper.make_node("Relu", [x], [y]))
        return y

    def quant(self, x):
        """QuantizeLinear (uint8) -> Clip(0, 2^k - 1) -> DequantizeLinear."""
        s, z = self.const(self.sa, "s"), self.const(np.uint8(0), "z")
        lo, hi = self.const(np.uint8(0), "lo"), self.const(np.uint8(2 ** self.k - 1), "hi")
        q, c, y = self.name("q"), self.name("cl"), self.name("a")
        self.nodes += [helper.make_node("QuantizeLinear", [x, s, z], [q]),
                       helper.make_node("Clip", [q, lo, hi], [c]),
                       helper.make_node("DequantizeLinear", [c, s, z], [y])]
        return y

    def node(self, op, ins, **kw):
        y = self.name("n")
        self.nodes.append(helper.make_node(op, ins, [y], **kw))
        return y


def build(k, rng, C0=3, H=32, C1=24, C2=72):
    net = Net(k, rng)
    a = net.quant(net.conv("x", C1, C0))                       # stem, quantizer fused
    a = net.node("MaxPool", [a], kernel_shape=[2, 2], strides=[2, 2])
    h = net.quant(net.conv(a, C1, C1))                         # residual block
    a = net.quant(net.relu(net.node("Add", [net.conv(h, C1, C1, relu=False), a])))
    h = net.quant(net.conv(a, C2, C1, stride=2))               # downsample block
    ds = net.conv(a, C2, C1, k=1, stride=2, relu=False)
    a = net.quant(net.relu(net.node("Add", [net.conv(h, C2, C2, relu=False), ds])))
    p = net.quant(net.conv(a, C2 // 2, C2))                    # concat
    q = net.quant(net.conv(a, C2 // 2, C2, k=1))
    a = net.quant(net.conv(net.node("Concat", [p, q], axis=1), C2, C2, stride=2))
    g = net.node("Flatten", [net.node("GlobalAveragePool", [a])])
    wf = net.const((rng.integers(-8, 9, (C2, 10)) * F(2.0 ** -4)).astype(F), "fc")
    y = net.node("Gemm", [g, wf])
    graph = helper.make_graph(net.nodes, f"fusions_k{k}",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                             [1, C0, H, H])],
                              [helper.make_tensor_value_info(a, TensorProto.FLOAT, None),
                               helper.make_tensor_value_info(y, TensorProto.FLOAT, None)],
                              net.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def write_case(root, k, rng, H=32, C1=24):
    d = os.path.join(root, f"k{k}_{H}_{C1}")
    os.makedirs(os.path.join(d, "test_data_set_0"))
    m = build(k, rng, H=H, C1=C1)
    onnx.save(m, os.path.join(d, "model.onnx"))
    x = (rng.integers(-32, 33, (1, 3, H, H)) * F(2.0 ** -5)).astype(F)  # on a grid
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    ys = sess.run(None, {"x": x})
    tensors = [("input_0", x, "x")] + [(f"output_{i}", v, o.name)
                                       for i, (v, o) in enumerate(zip(ys, sess.get_outputs()))]
    for fn, v, n in tensors:
        with open(os.path.join(d, "test_data_set_0", fn + ".pb"), "wb") as f:
            f.write(numpy_helper.from_array(v, n).SerializeToString())
    return d


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def info(wrpnc, model, extra=()):
    out = run([wrpnc, "info", model, *extra])[1]
    rows = [l.split() for l in out.splitlines() if re.match(r"\s*\d+\s", l)]
    ws = int(re.search(r"workspace: (\d+) bytes", out).group(1))
    return rows, ws


def structure(rows):
    """What must be true of the lowered graph, as (ok, message)."""
    ops = [r[1] for r in rows]
    stem = rows[0] if rows else []
    checks = [
        (ops.count("QConv") == 8, f"8 QConv ({ops.count('QConv')})"),
        ("Add" not in ops and "MaxPool" not in ops and "GlobalAveragePool" not in ops,
         "no Add, MaxPool or GlobalAveragePool left"),
        (ops.count("QPool") == 2, f"2 QPool ({ops.count('QPool')})"),
        (len(stem) > 2 and stem[1] == "Conv" and not stem[2].startswith("float"),
         "the stem Conv writes codes"),
        ("QConcat" in ops and "Concat" not in ops and "PackAct" not in ops,
         "the concat is a QConcat on packed codes, no PackAct left"),
        ("ActQuant" not in ops and ops.count("Dequant") == 1,
         "no ActQuant left, one Dequant (the quantized graph output)"),
    ]
    return checks




def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--full", action="store_true")
    a = ap.parse_args()
    ort.set_default_logger_severity(3)
    t = Tally()
    how = target_runs(a.wrpnc)
    runs = [x for x, h in how.items() if h]
    not_run = [x for x, h in how.items() if not h]
    # (k, stem input size H, stem channels C1)
    cases = [(k, 32, 24) for k in (range(1, 9) if a.full else (1, 2, 3, 4, 8))]
    cases += [(2, 32, 100), (2, 8, 20)]
    with tempfile.TemporaryDirectory() as root:
        for k, H, C1 in cases:
            d = write_case(root, k, np.random.default_rng(40 + k if C1 == 24 else H + C1), H, C1)
            tag = f"k={k}" + ("" if C1 == 24 else f" {H}x{H} stem of {C1}")
            model, data = os.path.join(d, "model.onnx"), os.path.join(d, "test_data_set_0")
            rows, ws = info(a.wrpnc, model)
            for ok, what in structure(rows):
                t.check(ok, f"{tag}: {what}")
            _, ws0 = info(a.wrpnc, model, ["--no-pack"])
            t.check(ws <= ws0, f"{tag}: workspace {ws} <= {ws0} with --no-pack")
            for target, engine in [(x, "c") for x in runs] + [("generic", "interp")]:
                rc, log = run([a.wrpnc, "verify", model, data, "--target", target, "--engine",
                               engine, "--atol", "0", "--rtol", "0"])
                t.check(rc == 0, f"{tag} {target_label(target, how)}/{engine} vs onnxruntime, exact" +
                        ("" if rc == 0 else "\n" + log[-2500:]))
    for target in not_run:
        t.skip(f"{target}: not run (this machine cannot run it)")
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
