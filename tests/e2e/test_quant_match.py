#!/usr/bin/env python3
"""Quantization written as plain arithmetic, through pooling, and in fully connected
layers: the quantize pass must lower it to wrpnc::QConv and keep the outputs of the
original (un-lowered) model, as ONNX Runtime computes them.

1. fake_conv: WRPN fake-quant activations Clip(0,1) -> Mul(N) -> Round -> Div(N) (and the
   Mul(1/N) form), fake-quant weights (the same arithmetic on a constant, with |w| = 0.5/M
   ties and an all-zero filter), Conv -> BatchNormalization (gamma of both signs) ->
   quantizer -> MaxPool -> Conv (the shape of the shipped Fashion-MNIST model). Inputs hold 0.5 exactly (a tie).
2. fc: 1-bit quantizer -> Gemm (transB, alpha, beta, bias) -> Relu -> quantizer -> MatMul.
3. flatten: Conv -> quantizer -> MaxPool -> Flatten -> Gemm.
4. float_pool: --wbits/--abits on a float Conv -> Relu -> MaxPool -> Conv -> Relu -> Conv;
   the reference is the same graph with the WRPN quantizers written as arithmetic.
5. bipolar: QONNX BipolarQuant activations (x >= 0 ? s : -s, zeros in the input) into
   convs and a Gemm with +-alpha weights -> the XNOR kernel (padding, 70 channels: two
   words with a tail, MaxPool in between); the reference replaces BipolarQuant with
   Where(x >= 0, s, -s) for ONNX Runtime.
6. brevitas_qcdq / brevitas_qonnx: a QuantConv2d/QuantReLU network exported by Brevitas
   (tests/data/brevitas, see export.py there) as QCDQ and as QONNX; both are checked
   against ONNX Runtime on the QCDQ export (the two carry the same weights and scales).
Each case checks the number of QConv nodes after the pass (--dump=quantize), then
`wrpnc verify` with the generic target, the native target and the reference interpreter,
at atol = rtol = 1e-4 (QConv outputs are exact integers times a float scale; the float
model accumulates in a different order), and that the argmax over channels agrees.

  test_quant_match.py --wrpnc build/wrpnc
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
from onnx import helper, numpy_helper

F = np.float32
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BREVITAS = os.path.join(ROOT, "tests", "data", "brevitas")


class G:
    """A graph under construction: nodes, initializers, fresh names."""

    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def const(self, v):
        self.n += 1
        name = f"k{self.n}"
        self.inits.append(numpy_helper.from_array(np.asarray(v), name))
        return name

    def op(self, op, ins, **attrs):
        self.n += 1
        out = f"t{self.n}"
        self.nodes.append(helper.make_node(op, ins, [out], name=f"{op}_{self.n}", **attrs))
        return out

    def act(self, x, k, mul_tail=False):
        """WRPN activation quantizer written as ONNX arithmetic (wrpn.py, export mode)."""
        n = F(2 ** k - 1)
        c = self.op("Clip", [x, self.const(F(0)), self.const(F(1))])
        r = self.op("Round", [self.op("Mul", [c, self.const(n)])])
        if mul_tail:
            return self.op("Mul", [r, self.const(F(1.0 / n))])
        return self.op("Div", [r, self.const(n)])

    def wq(self, w, k):
        """Fake-quant weights: the same arithmetic on a constant (folded at load)."""
        m = F(2 ** (k - 1) - 1)
        c = self.op("Clip", [self.const(w), self.const(F(-1)), self.const(F(1))])
        return self.op("Div", [self.op("Round", [self.op("Mul", [c, self.const(m)])]),
                               self.const(m)])

    def model(self, x, xshape, y, opset=13):
        g = helper.make_graph(self.nodes, "qm", [helper.make_tensor_value_info(x, 1, xshape)],
                              [helper.make_tensor_value_info(y, 1, None)], self.inits)
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def tie_input(rng, shape):
    """Values below 0, above 1, inside, and exactly 0.5 (N * 0.5 is a rounding tie)."""
    x = rng.uniform(-0.3, 1.3, size=shape).astype(F)
    x.flat[::5] = 0.5
    return x


def tie_weights(rng, shape, k):
    """Weights with |w| = (j + 0.5) / M ties, and filter 1 all zero."""
    m = 2 ** (k - 1) - 1
    w = rng.uniform(-1.2, 1.2, size=shape).astype(F)
    w.flat[::7] = F((rng.integers(0, m) + 0.5) / m)
    w.flat[3::7] = -F(0.5 / m)
    w[1] = 0
    return w


def bn(g, x, rng, c):
    # gamma of both signs: channels whose codes fall as the accumulator grows
    vals = (rng.choice([-1, 1], c) * rng.uniform(0.5, 2, c), rng.uniform(-0.2, 0.6, c),
            rng.uniform(-0.5, 0.5, c), rng.uniform(0.5, 2, c))
    return g.op("BatchNormalization", [x] + [g.const(v.astype(F)) for v in vals])


def fake_conv(rng):
    g = G()
    a0 = g.act("x", 4)
    c1 = g.op("Conv", [a0, g.wq(tie_weights(rng, (12, 4, 3, 3), 4), 4),
                       g.const(rng.uniform(-0.5, 0.5, 12).astype(F))], pads=[1, 1, 1, 1])
    a1 = g.act(bn(g, c1, rng, 12), 4, mul_tail=True)
    p = g.op("MaxPool", [a1], kernel_shape=[2, 2], strides=[2, 2])
    w2 = rng.integers(-1, 2, size=(6, 12, 3, 3)).astype(F) * rng.uniform(
        0.1, 0.9, size=(6, 1, 1, 1)).astype(F)  # ternary grid, per-channel scale
    w2[2] = 0
    y = g.op("Conv", [p, g.const(w2)], pads=[1, 1, 1, 1])
    return g.model("x", [1, 4, 10, 10], y), tie_input(rng, (1, 4, 10, 10)), 2


def fc(rng):
    g = G()
    a0 = g.act("x", 1)  # N = 1: the 0.5 inputs round to 0 (half to even), not 1
    w1 = tie_weights(rng, (10, 20), 3)
    h = g.op("Gemm", [a0, g.wq(w1, 3), g.const(rng.normal(0, 1, 10).astype(F))], transB=1,
             alpha=0.5, beta=2.0)
    a1 = g.act(g.op("Relu", [h]), 2)
    w2 = rng.integers(-3, 4, size=(10, 7)).astype(F) / F(3)
    w2[:, 4] = 0
    y = g.op("MatMul", [a1, g.const(w2)])
    return g.model("x", [3, 20], y), tie_input(rng, (3, 20)), 2


def flatten(rng):
    g = G()
    c = g.op("Conv", ["x", g.const(rng.normal(0, 0.5, size=(8, 3, 3, 3)).astype(F))])
    p = g.op("MaxPool", [g.act(c, 2)], kernel_shape=[2, 2], strides=[2, 2])
    w = rng.integers(-7, 8, size=(32, 5)).astype(F) / F(7)
    y = g.op("Gemm", [g.op("Flatten", [p]), g.const(w), g.const(F(0.25))])
    return g.model("x", [2, 3, 6, 6], y), rng.normal(0, 1, size=(2, 3, 6, 6)).astype(F), 1


def float_pool(rng, wb, ab, fake):
    """Float graph (fake=False) or its WRPN reference (fake=True)."""
    g = G()
    w1 = rng.normal(0, 0.4, size=(8, 3, 3, 3)).astype(F)
    w2 = rng.normal(0, 0.5, size=(16, 8, 3, 3)).astype(F)
    w2[1] = 0
    b2 = rng.normal(0, 0.1, 16).astype(F)
    w3 = rng.normal(0, 0.3, size=(5, 16, 1, 1)).astype(F)
    c1 = g.op("Conv", ["x", g.const(w1)], pads=[1, 1, 1, 1])
    a1 = g.act(c1, ab) if fake else g.op("Relu", [c1])
    p = g.op("MaxPool", [a1], kernel_shape=[2, 2], strides=[2, 2])
    c2 = g.op("Conv", [p, g.wq(w2, wb) if fake else g.const(w2), g.const(b2)], pads=[1, 1, 1, 1])
    y = g.op("Conv", [g.op("Relu", [c2]), g.const(w3)])
    return g.model("x", [1, 3, 8, 8], y), 1


def bipolar(rng, reference):
    g = G()
    qd = "qonnx.custom_op.general"

    def bq(x, s):
        if reference:
            ge = g.op("GreaterOrEqual", [x, g.const(F(0))])
            return g.op("Where", [ge, g.const(F(s)), g.const(F(-s))])
        g.n += 1
        g.nodes.append(helper.make_node("BipolarQuant", [x, g.const(F(s))], [f"t{g.n}"],
                                        domain=qd))
        return f"t{g.n}"

    def pm(shape):
        sign = np.where(rng.integers(0, 2, size=shape) > 0, F(1), F(-1))
        return (sign * rng.uniform(0.05, 0.3, size=(shape[0],) + (1,) * (len(shape) - 1))
                ).astype(F)

    def half(w, s):
        """Bias of +-s * alpha / 2: a sum of +-s * alpha plus it is never 0, a value whose sign
        float rounding decides differently in each accumulation order."""
        a = np.abs(w).reshape(w.shape[0], -1)[:, 0].astype(np.float64)
        return g.const((a * s * rng.choice([-0.5, 0.5], w.shape[0])).astype(F))

    w1, w2 = pm((70, 3, 3, 3)), pm((9, 70, 3, 3))
    c1 = g.op("Conv", [bq("x", 0.7), g.const(w1), half(w1, 0.7)], pads=[1, 1, 1, 1])
    p = g.op("MaxPool", [bq(c1, 0.25)], kernel_shape=[2, 2], strides=[2, 2])
    c2 = g.op("Conv", [p, g.const(w2), half(w2, 0.25)], pads=[1, 1, 1, 1], strides=[1, 2])
    f = g.op("Flatten", [bq(c2, 1.5)])
    y = g.op("Gemm", [f, g.const(pm((5, 9 * 4 * 2))), g.const(F(0.1) * np.arange(5, dtype=F))],
             transB=1)
    m = g.model("x", [1, 3, 8, 8], y)
    m.opset_import.append(helper.make_opsetid(qd, 1))
    return m


def ort_run(model, x):
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x})[0]


def save(root, name, model, x, want):
    d = os.path.join(root, name)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    onnx.save(model, os.path.join(d, "model.onnx"))
    iname = model.graph.input[0].name
    for fn, t in (("input_0.pb", numpy_helper.from_array(x, iname)),
                  ("output_0.pb", numpy_helper.from_array(want.astype(F),
                                                          model.graph.output[0].name))):
        with open(os.path.join(d, "test_data_set_0", fn), "wb") as f:
            f.write(t.SerializeToString())
    return d


def emitted(wrpnc, d, extra, marker):
    """The code generated for the generic and the native target both contain marker."""
    for t in ("generic", "native"):
        out = os.path.join(d, "gen_" + t)
        subprocess.run([wrpnc, "compile", os.path.join(d, "model.onnx"), "-o", out, "--name",
                        "m", "--target", t, *extra], capture_output=True, check=True)
        with open(os.path.join(out, "m.c")) as f:
            if marker not in f.read():
                return f"no '{marker}' in the code for {t}"
    return ""


def check(wrpnc, d, extra, nq, want):
    model = os.path.join(d, "model.onnx")
    r = subprocess.run([wrpnc, "compile", model, "-o", os.path.join(d, "gen"),
                        "--dump=quantize", *extra], capture_output=True, text=True)
    got = len(re.findall(r"^\s*\d+: QConv ", r.stderr, re.M))
    if r.returncode or got != nq:
        return f"{got} QConv after quantize, expected {nq}\n{r.stderr[-3000:]}"
    runs = [["--target", "generic"], ["--target", "native"], ["--engine", "interp"]]
    for how in runs:
        r = subprocess.run([wrpnc, "verify", model, os.path.join(d, "test_data_set_0"),
                            "--atol", "1e-4", "--rtol", "1e-4", *how, *extra],
                           capture_output=True, text=True)
        if r.returncode:
            return f"verify {' '.join(how)}:\n{r.stdout}{r.stderr}"
    out = os.path.join(d, "out")
    r = subprocess.run([wrpnc, "run", model, "--input",
                        os.path.join(d, "test_data_set_0", "input_0.pb"), "--output-dir", out,
                        *extra], capture_output=True, text=True)
    if r.returncode:
        return f"run:\n{r.stdout}{r.stderr}"
    t = onnx.TensorProto()
    with open(os.path.join(out, "output_0.pb"), "rb") as f:
        t.ParseFromString(f.read())
    got = numpy_helper.to_array(t)
    if not np.array_equal(got.argmax(1), want.argmax(1)):
        return f"argmax differs: {got.argmax(1)} vs {want.argmax(1)}"
    return ""


def cases(rng):
    for name, make in (("fake_conv", fake_conv), ("fc", fc), ("flatten", flatten)):
        model, x, nq = make(rng)
        yield name, model, x, [], nq, ort_run(model, x)
    x = rng.normal(0, 1, size=(1, 3, 8, 8)).astype(F)
    x.flat[::6] = 0  # BipolarQuant(0) = +s
    seed = rng.integers(1 << 30)
    yield ("bipolar", bipolar(np.random.default_rng(seed), False), x, [], 3,
           ort_run(bipolar(np.random.default_rng(seed), True), x))
    x = rng.normal(0.2, 1, size=(1, 3, 8, 8)).astype(F)
    for wb, ab in ((4, 4), (2, 3), (3, 2)):
        model, nq = float_pool(np.random.default_rng(wb * 10 + ab), wb, ab, False)
        ref, _ = float_pool(np.random.default_rng(wb * 10 + ab), wb, ab, True)
        yield (f"float_pool_w{wb}a{ab}", model, x, ["--wbits", str(wb), "--abits", str(ab)], nq,
               ort_run(ref, x))
    qcdq = onnx.load(os.path.join(BREVITAS, "tiny_qcdq.onnx"))
    x = rng.uniform(-0.2, 2.2, size=(1, 3, 8, 8)).astype(F)
    want = ort_run(qcdq, x)
    yield "brevitas_qcdq", qcdq, x, [], 2, want
    yield "brevitas_qonnx", onnx.load(os.path.join(BREVITAS, "tiny_qonnx.onnx")), x, [], 2, want


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as root:
        for name, model, x, extra, nq, want in cases(np.random.default_rng(11)):
            d = save(root, name, model, x, want)
            err = check(a.wrpnc, d, extra, nq, want)
            if not err and name == "bipolar":
                err = emitted(a.wrpnc, d, extra, "/* xnor, ")
            print(f"{'FAIL' if err else 'PASS'}  {name}", flush=True)
            if err:
                print(err)
            passed, failed = passed + (not err), failed + bool(err)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
