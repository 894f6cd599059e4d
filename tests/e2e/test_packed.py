#!/usr/bin/env python3
"""Activations kept packed between quantized convs (passes/pack_outputs.c), end to end.

Float models with --wbits/--abits --quantize-all, where every Relu feeding a conv
becomes the WRPN activation quantizer and a QConv read only by the next quantizer
writes the next layer's packed codes directly:
  chain:    Relu -> Conv(3x3) -> Relu -> Conv(3x3, stride 2, group 2) -> Relu -> Conv(1x1)
            (the input quantizer and two QConvs write packed codes; the second link
            has two channel groups)
  residual: h = Relu(x); Relu(Conv(Relu(Conv(h))) + h) -> Conv  (packed inside the
            branch and out of both quantizers, float values across the Add)
  concat:   Relu -> Conv -> Relu -> {Conv, Conv} -> Concat -> Relu -> Conv (one packed
            tensor read by two convs; float across the Concat, packed after it)
  disagree: Relu -> Conv -> Relu -> {Conv group 1, Conv group 2}: readers want
            different packings: the conv writes the first, one PackAct repacks it.
Expected outputs come from ONNX Runtime on an integer model of the same arithmetic:
codes by Clip -> Mul(N) -> Round, ConvInteger on the codes (weights as uint8 with
zero point 128), then Cast -> Mul(scale) -> Add(bias), all in float32: the WRPN
formulas of docs wrpn.md, with weights chosen on the grid so that they have one code.
At (1, 1), chain and residual run with C = 64 too (blocks of 32 output channels whose
1-bit codes the AVX2 kernel writes at once). Every case runs the generated C (generic and avx2 where the CPU has it), the
reference interpreter, and the unpacked pipeline (--no-pack), compared exactly
(atol = rtol = 0; avx2: see FLOAT_ATOL, the final float epilogue only); the IR after pack_outputs is checked for the expected number of
PackAct nodes; AVX2 code must build with -Werror under gcc and clang. AVX-512 code is
compiled (clang, -Werror) and runs natively where the CPU has it, else emulated through
SIMDe (labelled so; by default every chain and the (1,1) cases, all with --full), else
it is reported as skipped.

  test_packed.py --wrpnc build/wrpnc [--full]
The default run covers (a, w) bits (1,1) (2,2) (2,1) (1,3) (3,2) with every case and
(4,4) (8,8) (5,7) with the chain; --full (ctest label slow) adds every a, w in 1..8
for the chain.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from e2e_util import WARN
from e2e_util import target_label, target_runs

F = np.float32
DEFAULT = [(1, 1), (2, 2), (2, 1), (1, 3), (3, 2), (4, 4), (8, 8), (5, 7)]
# The last conv's float epilogue acc * scale + B may be one fused multiply-add under
# -mfma: one rounding less, a few ulp of |y| < 10. A wrong code upstream moves y by at
# least one weight step, scale >= 1 / (255 * 127) > 3e-5, so the bound still catches it.
FLOAT_ATOL = {"generic": "0", "avx2": "4e-6", "avx512": "4e-6"}


class Net:
    """Builds the float model (for wrpnc) and the integer model (for ONNX Runtime)."""

    def __init__(self, rng, ab, wb, C):
        self.rng, self.ab, self.wb = rng, ab, wb
        self.fn, self.qn, self.inits, self.qinits = [], [], [], []
        self.k = 0
        self.C = C

    def name(self, p):
        self.k += 1
        return f"{p}{self.k}"

    def weights(self, M, Cg, kh, kw):
        """Float weights with exactly one WRPN code each, and (codes, per-channel scale)."""
        shape = (M, Cg, kh, kw)
        if self.wb == 1:
            mag = self.rng.choice([0.25, 0.375, 0.5], size=M).astype(F)
            q = self.rng.choice([-1, 1], size=shape).astype(np.int8)
            return (q * mag[:, None, None, None]).astype(F), q, mag.astype(np.float64)
        Mx = 2 ** (self.wb - 1) - 1
        q = self.rng.integers(-Mx, Mx + 1, size=shape).astype(np.int8)
        q[self.rng.random(shape) < 0.3] = 0  # zeros, as in real WRPN layers
        q[-1] = 0  # an all-zero filter
        q[0, 0, 0, 0] = Mx
        return (q.astype(F) / F(Mx)).astype(F), q, np.full(M, 1.0 / Mx)

    def act(self, x):
        """Relu (float model); codes and values (integer model)."""
        r = self.name("r")
        self.fn.append(helper.make_node("Relu", [x], [r]))
        N = F(2 ** self.ab - 1)
        c0, c1, nn, c2, c3, v = (self.name("q") for _ in range(6))
        self.qconst(c0, np.array(0, F))
        self.qconst(c1, np.array(1, F))
        self.qconst(nn, np.array(N, F))
        self.qn += [helper.make_node("Clip", [x, c0, c1], [c2]),
                    helper.make_node("Mul", [c2, nn], [c3]),
                    helper.make_node("Round", [c3], [r + "_cf"]),
                    helper.make_node("Cast", [r + "_cf"], [r + "_codes"], to=TensorProto.UINT8),
                    helper.make_node("Div", [r + "_cf", nn], [v])]
        return r, (r + "_codes", v)

    def qconst(self, name, v):
        self.qinits.append(numpy_helper.from_array(v, name))

    def conv(self, x, codes, M, Cin, k=3, stride=1, group=1):
        """Quantized conv of activation x (codes in the integer model); float output."""
        pad = k // 2
        wf, q, ws = self.weights(M, Cin // group, k, k)
        b = self.rng.uniform(-0.3, 0.6, M).astype(F)
        y, wn, bn = self.name("y"), self.name("w"), self.name("b")
        self.inits += [numpy_helper.from_array(wf, wn), numpy_helper.from_array(b, bn)]
        geo = dict(pads=[pad] * 4, strides=[stride] * 2, group=group)
        self.fn.append(helper.make_node("Conv", [x, wn, bn], [y], **geo))
        scale = np.array([F(1.0 / (2 ** self.ab - 1) * s) for s in ws], F)  # as in double
        acc, qw, z, sc, bb, af, t = (self.name("i") for _ in range(7))
        self.qconst(qw, (q.astype(np.int16) + 128).astype(np.uint8))
        self.qconst(z, np.array(128, np.uint8))
        self.qconst(sc, scale.reshape(1, M, 1, 1))
        self.qconst(bb, b.reshape(1, M, 1, 1))
        self.qn += [helper.make_node("ConvInteger", [codes, qw, "", z], [acc], **geo),
                    helper.make_node("Cast", [acc], [af], to=TensorProto.FLOAT),
                    helper.make_node("Mul", [af, sc], [t]),
                    helper.make_node("Add", [t, bb], [y])]
        return y

    def node(self, op, ins, **kw):
        y = self.name("n")
        self.fn.append(helper.make_node(op, ins, [y], **kw))
        self.qn.append(helper.make_node(op, ins, [y], **kw))
        return y

    def add_values(self, a, values):
        """Add of a conv output and quantized activation values (the Relu in the float model)."""
        y = self.name("n")
        self.fn.append(helper.make_node("Add", [a[0], a[1]], [y]))
        self.qn.append(helper.make_node("Add", [a[0], values], [y]))
        return y

    def models(self, shape, out):
        def model(nodes, inits):
            g = helper.make_graph(nodes, "packed", [helper.make_tensor_value_info(
                "x", TensorProto.FLOAT, list(shape))], [helper.make_tensor_value_info(
                    out, TensorProto.FLOAT, None)], inits)
            return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        return model(self.fn, self.inits), model(self.qn, self.qinits)


def build_chain(net):
    C = net.C
    r, (c, _) = net.act("x")
    y = net.conv(r, c, 2 * C, C)
    r, (c, _) = net.act(y)
    y = net.conv(r, c, 2 * C, 2 * C, stride=2, group=2)
    r, (c, _) = net.act(y)
    return net.conv(r, c, 10, 2 * C, k=1), 0  # every code tensor packed by its producer


def build_residual(net):
    C = net.C
    h, (hc, hv) = net.act("x")
    y = net.conv(h, hc, C, C)
    r, (c, _) = net.act(y)
    y = net.conv(r, c, C, C)
    s = net.add_values((y, h), hv)
    r, (c, _) = net.act(s)
    return net.conv(r, c, 7, C, k=1), 0


def build_concat(net, groups=(1, 1)):
    C = net.C
    r, (c, _) = net.act("x")
    y = net.conv(r, c, 2 * C, C)
    r, (c, _) = net.act(y)
    ya = net.conv(r, c, C, 2 * C, group=groups[0])
    yb = net.conv(r, c, C, 2 * C, k=1, group=groups[1])
    cat = net.node("Concat", [ya, yb], axis=1)
    r, (c, _) = net.act(cat)
    # readers that disagree: the producer writes the first one's packing, and one
    # PackAct repacks it for the other
    return net.conv(r, c, 6, 2 * C, k=1), 0 if groups[0] == groups[1] else 1


CASES = {
    "chain": build_chain,
    "residual": build_residual,
    "concat": build_concat,
    "disagree": lambda net: build_concat(net, (1, 2)),
}


# 1-bit codes out of blocks of 32 channels (lowbit_avx2px.c writes their bits at once,
# with a residual input of 1-bit codes too): C = 64, at (1, 1)
WIDE = {"chain64": build_chain, "residual64": build_residual}


def make_case(root, name, build, ab, wb, seed, C=70):
    rng = np.random.default_rng(seed)
    net = Net(rng, ab, wb, C=C)  # 70 and 140 channels: more than one 64-bit word
    out, npack = build(net)
    shape = (1, net.C, 9, 8)
    fm, qm = net.models(shape, out)
    x = rng.uniform(-0.2, 1.2, size=shape).astype(F)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    want = ort.InferenceSession(qm.SerializeToString(), so,
                                providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    d = os.path.join(root, name)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    onnx.save(fm, os.path.join(d, "model.onnx"))
    for fn, v, tn in (("input_0", x, "x"), ("output_0", want, out)):
        with open(os.path.join(d, "test_data_set_0", fn + ".pb"), "wb") as f:
            f.write(numpy_helper.from_array(v, tn).SerializeToString())
    return d, npack


def bits(ab, wb):
    """Quantizer options; the kernel family pinned (bit-serial while k_a k_w <= 5, as the
    generic target's cost model picks), so every target runs the same family."""
    return ["--wbits", str(wb), "--abits", str(ab), "--quantize-all", "--kernel",
            "bitserial" if ab * wb <= 5 else "int8"]


def verify(wrpnc, d, extra, atol="0"):
    r = subprocess.run([wrpnc, "verify", os.path.join(d, "model.onnx"),
                        os.path.join(d, "test_data_set_0"), "--atol", atol, "--rtol", "0"] + extra,
                       capture_output=True, text=True)
    return r.returncode == 0, r.stdout + r.stderr


def packing(wrpnc, d, extra):
    """PackAct nodes, and QConv / ActQuant nodes writing packed codes, after pack_outputs."""
    r = subprocess.run([wrpnc, "compile", os.path.join(d, "model.onnx"), "-o",
                        os.path.join(d, "dump"), "--dump=pack_outputs"] + extra,
                       capture_output=True, text=True)
    packed = 0
    for line in r.stderr.splitlines():
        if ": QConv " in line or ": ActQuant " in line:  # codes <..., planes/G> or bytes/G
            m = re.search(r"-> \(%[^:]*:\w+(<[^>]*>)?\[", line)
            packed += bool(m and m.group(1)) and bool(re.search(r", (planes|bytes)/", m.group(1)))
    return len(re.findall(r": PackAct ", r.stderr)), packed


def workspace(wrpnc, d, extra):
    """Workspace bytes and the output bytes of each QConv / ActQuant, from `wrpnc info`."""
    out = subprocess.run([wrpnc, "info", os.path.join(d, "model.onnx"), "--json"] + extra,
                         capture_output=True, text=True).stdout
    nodes = json.loads(out)["nodes"]
    return (json.loads(out)["workspace"]["bytes"],
            [n["output"]["bytes"] for n in nodes if n["op"] in ("QConv", "ActQuant")])


def chain_bytes(ab, C=70, H=9, W=8):
    """Bit planes of the chain's three packed tensors, from its geometry: 64-bit words
    of ceil(Cg / 64) per plane, ab planes per pixel (the input: 1 group of C channels;
    conv 1: 2 groups of C, for the grouped conv 2; conv 2: 1 group of 2C, stride 2)."""
    words = lambda cg: (cg + 63) // 64
    oh, ow = (H - 1) // 2 + 1, (W - 1) // 2 + 1
    return [H * W * ab * words(C) * 8, 2 * H * W * ab * words(C) * 8,
            oh * ow * ab * words(2 * C) * 8]


FLAGS = {"avx2": "-mavx2 -mfma -mbmi2 -mpopcnt",
         "avx512": "-mavx2 -mfma -mbmi2 -mpopcnt -mavx512f -mavx512bw -mavx512vl -mavx512dq "
                   "-mavx512vpopcntdq -mavx512vnni"}


def builds(wrpnc, d, extra, target, ccs):
    """Generated code compiles warning-free (-Wall -Wextra -Werror) with each compiler."""
    out = os.path.join(d, "gen_" + target)
    r = subprocess.run([wrpnc, "compile", os.path.join(d, "model.onnx"), "-o", out, "--target",
                        target, "--name", "m"] + extra, capture_output=True, text=True)
    if r.returncode:
        return False, r.stderr
    for cc in ccs:
        r = subprocess.run([cc, "-std=c99", "-O1", *WARN,
                            *FLAGS[target].split(), "-c", os.path.join(out, "m.c"), "-o",
                            os.path.join(out, cc + ".o")], capture_output=True, text=True)
        if r.returncode:
            return False, f"{cc}: {r.stderr}"
    return True, ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--full", action="store_true")
    a = ap.parse_args()
    ort.set_default_logger_severity(3)
    how = target_runs(a.wrpnc)
    targets = [t for t in ("generic", "avx2") if how.get(t) == "native"]
    # avx512: native, or emulated (SIMDe; by default on every chain and the (1,1) cases)
    avx512 = how.get("avx512")
    combos = [(x, y) for x in range(1, 9) for y in range(1, 9)] if a.full else DEFAULT
    passed = failed = skipped = 0

    def report(ok, what, log=""):
        nonlocal passed, failed
        print(f"{'PASS' if ok else 'FAIL'}  {what}", flush=True)
        passed += ok
        failed += not ok
        if not ok:
            print(log[-3000:])

    with tempfile.TemporaryDirectory() as root:
        for ci, (ab, wb) in enumerate(combos):
            cases = CASES if (ab, wb) in DEFAULT[:5] else {"chain": build_chain}
            cases = {**cases, **WIDE} if (ab, wb) == (1, 1) else cases
            for cname, build in cases.items():
                name = f"{cname}_a{ab}w{wb}"
                d, npack = make_case(root, name, build, ab, wb, seed=100 + ci,
                                     C=64 if cname in WIDE else 70)
                ex = bits(ab, wb)
                got = packing(a.wrpnc, d, ex)
                nq = 3  # three code tensors, each written packed by its producer
                report(got == (npack, nq), f"{name}: {got[0]} PackAct, {got[1]} packed "
                       f"outputs (want {npack}, {nq})")
                if cname == "chain" and ab * wb <= 5:  # bit-serial: k bits per code
                    ws, got = workspace(a.wrpnc, d, ex)
                    ws0, _ = workspace(a.wrpnc, d, ex + ["--no-pack"])
                    want = chain_bytes(ab)
                    report(got[:3] == want and ws < ws0, f"{name}: packed bytes {got[:3]} "
                           f"(want {want}), workspace {ws} < {ws0} unpacked")
                for t in targets:
                    ok, log = verify(a.wrpnc, d, ex + ["--target", t], FLOAT_ATOL[t])
                    report(ok, f"{name} {t} vs onnxruntime", log)
                if avx512 == "native" or (avx512 and (a.full or cname == "chain" or ci == 0)):
                    ok, log = verify(a.wrpnc, d, ex + ["--target", "avx512"], FLOAT_ATOL["avx512"])
                    report(ok, f"{name} {target_label('avx512', how)} vs onnxruntime", log)
                elif avx512:
                    print(f"SKIP  {name} {target_label('avx512', how)}: in --full")
                    skipped += 1
                ok, log = verify(a.wrpnc, d, ex + ["--engine", "interp"])
                report(ok, f"{name} interp vs onnxruntime", log)
                ok, log = verify(a.wrpnc, d, ex + ["--no-pack", "--target", targets[-1]],
                                 FLOAT_ATOL[targets[-1]])
                report(ok, f"{name} --no-pack {targets[-1]} vs onnxruntime", log)
                if cname == "chain" and (ab, wb) in DEFAULT[:3] + [(8, 8)]:
                    ok, log = builds(a.wrpnc, d, ex, "avx2", ("gcc", "clang"))
                    report(ok, f"{name} avx2 code builds with -Werror (gcc, clang)", log)
                    ok, log = builds(a.wrpnc, d, ex, "avx512", ("clang",))
                    print(f"{'SKIP' if ok and not avx512 else 'PASS' if ok else 'FAIL'}  {name} "
                          f"avx512: {'compiled' if ok else 'does not compile'} with its flags"
                          f"{'' if avx512 else ', cannot run here'}")
                    skipped += ok and not avx512
                    passed += ok and bool(avx512)
                    failed += not ok
                    if not ok:
                        print(log[-3000:])
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
