#!/usr/bin/env python3
"""Low-bit kernels against wrpnc's own fp32 kernel, per layer and end to end.

(a) Per layer: ResNet-18's 3x3 convs of stages 2, 3 and 4 (28x28 x 128, 14x14 x 256,
    7x7 x 512 channels, pad 1) and its stage-3 1x1 stride-2 conv (128 -> 256 channels),
    at width 1x and 2x (LAYERS). Variants: fp32 Conv; wrpnc::QConv (PackAct + QConv,
    float epilogue) at A/W bits 1/1 (bit-serial and xnor), 2/2 (bit-serial), 4/4 and
    8/8 (int8 path), and 4/4 with signed codes; ONNX Runtime's fp32 conv (one thread)
    as a yardstick. --variants "LABEL KERNEL,..." picks among those and QMORE (both
    families at 2x2, 1x2, 2x1 and 3x1 bits: where the target's crossover lies).
(b) End to end: torchvision ResNet-18 (random weights, batch 1, 224x224, BN folded by
    the exporter): ours fp32 at 1x; ours 2x width (`wrpnc widen --width 2`, conv
    weights redrawn uniform in [-1, 1] so that low-bit codes are mixed) at W/A bits
    k/k for k in --e2e-bits (and W2/A2 with --no-pack, --e2e-nopack); ONNX Runtime fp32
    at 1x, one thread, and each variant's latency over it. Workspace bytes from
    `wrpnc info`.
(c) Workspace of a chain of quantized 3x3 convs at fp32 and k bits, packed or not.
Every variant is built once. Times are the harness's (runtime/wrpnc_harness.c, the
timing of `wrpnc run --reps` and compare): median over REPS runs, after a warm-up, of
each run's CPU time, so waiting for a core on a loaded machine does not count; ONNX
Runtime is timed the same way (process CPU time per run). The variants are timed in
alternation, --rounds times, and the table shows the median round. Every kernel line
also shows GMAC/s and its fraction of this CPU's peak for that kernel family
(bench/roofline.py, measured in the same run): fp32 FMA for fp32 convs, the int8 dot
product for the int8 path, the 1-bit AND + popcount rate / (k_a k_w) for k_a x k_w
bit-serial; end to end, the time the model's layers would take at their peaks over
the measured time.

  bench_lowbit.py --wrpnc build/wrpnc [--target avx2] [--reps 20] [--rounds 5]
                  [--widths 1,2] [--layers s2,s3,s4,d3] [--variants V,..] [--e2e] [--e2e-reps 3]
                  [--e2e-bits 2,1,4] [--e2e-nopack] [--no-layers] [--workspace]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kept  # noqa: E402
import roofline  # noqa: E402


# Per-layer geometries (ResNet-18 at width 1x; channels scale with the width):
# name, input channels, output channels, input size, kernel, stride, pad.
LAYERS = {
    "s2": ("stage-2 3x3", 128, 128, 28, 3, 1, 1),
    "s3": ("stage-3 3x3", 256, 256, 14, 3, 1, 1),
    "s4": ("stage-4 3x3", 512, 512, 7, 3, 1, 1),
    "d3": ("stage-3 1x1 stride 2", 128, 256, 28, 1, 2, 0),
}
# Low-bit variants: label, kernel family, activation / weight bits, signed activations.
QVARIANTS = [("1x1", "bitserial", 1, 1, False), ("1x1 xnor", "xnor", 1, 1, False),
             ("2x2", "bitserial", 2, 2, False), ("4x4", "int8", 4, 4, False),
             ("8x8", "int8", 8, 8, False), ("s4x4 (signed codes)", "int8", 4, 4, True)]
# more, for --variants (the crossover between the kernel families: docs/quantization.md)
QMORE = [("2x2", "int8", 2, 2, False), ("1x2", "bitserial", 1, 2, False),
         ("1x2", "int8", 1, 2, False), ("2x1", "bitserial", 2, 1, False),
         ("2x1", "int8", 2, 1, False), ("3x1", "bitserial", 3, 1, False),
         ("3x1", "int8", 3, 1, False)]


def geometry(layer, wd):
    """(C, M, H, k, stride, pad, OH) of a LAYERS entry at width wd."""
    _, C, M, H, k, st, pad = LAYERS[layer]
    return C * wd, M * wd, H, k, st, pad, (H + 2 * pad - k) // st + 1


def fp32_model(geom, rng):
    C, M, H, k, st, pad, OH = geom
    w = rng.normal(0, 0.05, size=(M, C, k, k)).astype(np.float32)
    g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[pad] * 4,
                                            strides=[st, st])],
                          "fp32", [helper.make_tensor_value_info("x", 1, [1, C, H, H])],
                          [helper.make_tensor_value_info("y", 1, [1, M, OH, OH])],
                          [numpy_helper.from_array(w, "w")])
    x = rng.uniform(0, 1, size=(1, C, H, H)).astype(np.float32)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), x


def q_model(geom, wb, ab, rng, kernel="bitserial", signed=False):
    """PackAct + QConv (float epilogue) with weight codes covering the narrow grid."""
    C, M, H, k, st, pad, OH = geom
    m = 2 ** (wb - 1) - 1 if wb > 1 else 1
    w = rng.integers(-m, m + 1, size=(M, C, k, k)).astype(np.int8)
    if wb == 1:
        w = np.where(w < 0, -1, 1).astype(np.int8)
    s = np.full(M, 0.01, np.float32)
    packing = {"bitserial": "planes", "xnor": "planes", "int8": "bytes"}[kernel]
    bip = {"bipolar": 1} if kernel == "xnor" else {}
    nodes = [helper.make_node("PackAct", ["x"], ["p"], domain="wrpnc", bits=ab,
                              layout=packing, **bip),
             helper.make_node("QConv", ["p", "w", "s"], ["y"], domain="wrpnc", abits=ab,
                              wbits=wb, kernel=kernel, pads=[pad] * 4, strides=[st, st])]
    xt = TensorProto.INT8 if signed else TensorProto.UINT8
    g = helper.make_graph(nodes, "q", [helper.make_tensor_value_info("x", xt, [1, C, H, H])],
                          [helper.make_tensor_value_info("y", 1, [1, M, OH, OH])],
                          [numpy_helper.from_array(w, "w"), numpy_helper.from_array(s, "s")])
    lo, hi = (-2 ** (ab - 1), 2 ** (ab - 1)) if signed else (0, 2 ** ab)
    x = rng.integers(lo, hi, size=(1, C, H, H)).astype(np.int8 if signed else np.uint8)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                               helper.make_opsetid("wrpnc", 1)]), x


class Variant:
    """One generated program, built once by `wrpnc run --keep`, timed many times."""

    def __init__(self, a, root, name, model, x, extra=(), reps=None):
        self.name, self.reps, self.times = name, reps or a.reps, []
        d = os.path.join(root, name)
        os.makedirs(d)
        self.path = model if isinstance(model, str) else os.path.join(d, "model.onnx")
        if not isinstance(model, str):
            onnx.save(model, self.path)
        self.gen, self.exe = kept.build(a.wrpnc, self.path, x, d,
                                        ["--target", a.target] + list(extra))
        info = subprocess.run([a.wrpnc, "info", self.path] + list(extra), capture_output=True,
                              text=True).stdout
        m = re.search(r"workspace: (\d+) bytes", info)
        self.ws = int(m.group(1)) if m else -1
        self.info = info

    def time(self):
        """One round: the harness's median CPU ms over reps runs after a warm-up."""
        r = subprocess.run([self.exe, "-r", str(self.reps), "-w", "1",
                            os.path.join(self.gen, "in0.bin"), os.path.join(self.gen, "out0.bin")],
                           check=True, capture_output=True, text=True)
        self.times.append(float(re.search(r"^median_ns (\S+)", r.stdout, re.M).group(1)) / 1e6)

    def median(self):
        return statistics.median(self.times)

    def close(self):
        subprocess.run(["rm", "-rf", self.gen])


class OrtVariant:
    """The same fp32 model in ONNX Runtime, one thread, CPU ms per run."""

    def __init__(self, name, model, x, reps):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        data = model.SerializeToString() if not isinstance(model, str) else model
        self.sess = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
        self.feed = {self.sess.get_inputs()[0].name: x}
        self.sess.run(None, self.feed)
        self.name, self.reps, self.times, self.ws = name, reps, [], -1

    def time(self):
        """One round, as the harness times: median process CPU ms per run after a warm-up."""
        self.sess.run(None, self.feed)
        t = []
        for _ in range(self.reps):
            t0 = time.process_time()
            self.sess.run(None, self.feed)
            t.append(time.process_time() - t0)
        self.times.append(statistics.median(t) * 1e3)

    median = Variant.median

    def close(self):
        pass


def rounds(a, variants):
    for _ in range(a.rounds):
        for v in variants:
            v.time()


def peak_of(a, kind):
    """GMAC/s limit of a kernel family on this CPU (None: the target does not run natively)."""
    if not a.peaks:
        return None
    family, ka, kw = kind
    return roofline.peak_for(a.peaks, family, ka, kw)


def rate(macs, ms, peak):
    """'GMAC/s | % of peak' cells."""
    g = macs / ms * 1e-6
    return f"{g:.1f} | " + (f"{100 * g / peak:.0f} %" if peak else "n/a")


def chosen(a):
    """The QVARIANTS (+ QMORE) rows --variants names ("LABEL KERNEL", e.g. "2x2 int8")."""
    if not a.variants:
        return QVARIANTS
    want = [v.strip() for v in a.variants.split(",")]
    rows = [r for r in QVARIANTS + QMORE if f"{r[0]} {r[1]}" in want]
    if len(rows) != len(want):
        sys.exit(f"--variants: unknown among {want}")
    return rows


def per_layer(a, root, rng):
    print(f"(a) ResNet-18 convs, target {a.target}: median of {a.rounds} alternating rounds, "
          f"CPU ms per run; % of peak: of the roofline of the kernel family (bench/roofline.py)")
    print("| layer | C->M, HxW | variant | CPU ms | speed-up vs our fp32 | vs onnxruntime | "
          "GMAC/s | % of peak |")
    print("|---|---|---|---|---|---|---|---|")
    for layer in a.layers.split(","):
        for wd in [int(v) for v in a.widths.split(",")]:
            geom = geometry(layer, wd)
            model, x = fp32_model(geom, rng)
            tag = f"{layer}_{wd}"
            vs = [Variant(a, root, f"fp32_{tag}", model, x, reps=max(2, a.reps // 10)),
                  OrtVariant("fp32 onnxruntime", model, x, max(2, a.reps // 10))]
            vs[0].label = "fp32 (ours)"
            vs[1].label = "fp32 onnxruntime"
            vs[0].kind = vs[1].kind = ("fp32", 1, 1)
            for label, kernel, ab, wb, signed in chosen(a):
                model, x = q_model(geom, wb, ab, rng, kernel, signed)
                v = Variant(a, root, f"q{len(vs)}_{tag}", model, x)
                v.label = f"{label} {kernel}"
                v.kind = (kernel, ab, wb)
                vs.append(v)
            rounds(a, vs)
            base, ort = vs[0].median(), vs[1].median()
            C, M, H, k, st, pad, OH = geom
            macs = C * M * k * k * OH * OH
            name = f"{wd}x {LAYERS[layer][0]}"
            shape = f"{C}->{M}, {H}x{H}"
            for v in vs:
                print(f"| {name} | {shape} | {v.label} | {v.median():.3f} | "
                      f"{base / v.median():.2f} | {ort / v.median():.2f} | "
                      f"{rate(macs, v.median(), peak_of(a, v.kind))} |", flush=True)
            for v in vs:
                v.close()


def resnet18(root, size):
    """torchvision ResNet-18, random weights, eval mode (the exporter folds BN)."""
    import torch
    import torchvision
    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None).eval()
    path = os.path.join(root, "resnet18.onnx")
    torch.onnx.export(net, torch.randn(1, 3, size, size), path, opset_version=13,
                      input_names=["x"], output_names=["logits"])
    return path


def redraw_conv_weights(src, dst, rng):
    """Conv weights uniform in [-1, 1]: WRPN's clipped range, so low-bit codes are mixed."""
    m = onnx.load(src)
    convw = {n.input[1] for n in m.graph.node if n.op_type == "Conv"}
    for i, t in enumerate(m.graph.initializer):
        if t.name in convw:
            w = numpy_helper.to_array(t)
            m.graph.initializer[i].CopyFrom(numpy_helper.from_array(
                rng.uniform(-1, 1, size=w.shape).astype(np.float32), t.name))
    onnx.save(m, dst)


def roofline_ms(a, info, q_bits=None):
    """Milliseconds the layers of `wrpnc info`'s listing take at their kernel family's
    peak: QConv at q_bits x q_bits on the family `wrpnc info` names (bit-serial, xnor or
    int8), Conv / Gemm / MatMul at the fp32 FMA peak; None without peaks."""
    if not a.peaks:
        return None
    ms = 0.0
    for line in info.splitlines():
        # id, op, type, shape, then out bytes, workspace offset and MACs
        m = re.match(r"\s*\d+\s+(\w+)\s.*?\s\d+\s+-?\d+\s+(\d+)(\s|$)", line)
        if not m:
            continue
        op, macs = m.group(1), int(m.group(2))
        fam = re.search(r"integer (bitserial|xnor|int8) ", line)
        if op == "QConv" and q_bits and fam:
            ms += macs / (peak_of(a, (fam.group(1), q_bits, q_bits)) * 1e6)
        elif op in ("Conv", "Gemm", "MatMul", "QConv"):
            ms += macs / (peak_of(a, ("fp32", 1, 1)) * 1e6)
    return ms


def end_to_end(a, root, rng):
    size = a.size
    fp = resnet18(root, size)
    wide = os.path.join(root, "resnet18_w2.onnx")
    r = subprocess.run([a.wrpnc, "widen", fp, "-o", wide, "--width", "2"], capture_output=True,
                       text=True)
    if r.returncode:
        sys.exit(f"widen failed\n{r.stderr}")
    wq = os.path.join(root, "resnet18_w2_u.onnx")
    redraw_conv_weights(wide, wq, rng)
    x = np.random.default_rng(1).standard_normal((1, 3, size, size)).astype(np.float32)
    vs = [Variant(a, root, "e2e_fp32", fp, x, reps=a.e2e_reps),
          OrtVariant("ort", fp, x, a.e2e_reps)]
    labels, qbits = ["1x fp32 (ours)", "1x fp32 onnxruntime, 1 thread"], [None, None]
    for k in [int(b) for b in a.e2e_bits.split(",")]:
        q = ["--wbits", str(k), "--abits", str(k)]
        vs.append(Variant(a, root, f"e2e_w{k}a{k}", wq, x, q, reps=a.e2e_reps))
        labels.append(f"2x width, W{k}/A{k} (ours)")
        qbits.append(k)
        if k == 2 and a.e2e_nopack:
            vs.append(Variant(a, root, "e2e_w2a2_nopack", wq, x, q + ["--no-pack"],
                              reps=a.e2e_reps))
            labels.append("2x width, W2/A2, --no-pack (ours)")
            qbits.append(k)
    rounds(a, vs)
    base, ort = vs[0].median(), vs[1].median()
    vs[1].info = vs[0].info
    print(f"\n(b) torchvision ResNet-18, {size}x{size}, batch 1, target {a.target}: median of "
          f"{a.rounds} alternating rounds of {a.e2e_reps} runs, CPU ms per run; % of roofline: "
          f"the time its layers take at their kernel family's peak over the measured time")
    print("| variant | CPU ms | speed-up vs our 1x fp32 | latency vs onnxruntime 1x fp32 | "
          "% of roofline | workspace bytes |")
    print("|---|---|---|---|---|---|")
    for v, lab, qb in zip(vs, labels, qbits):
        ws = f"{v.ws}" if v.ws >= 0 else "n/a"
        ideal = roofline_ms(a, v.info, q_bits=qb)
        frac = f"{100 * ideal / v.median():.0f} %" if ideal else "n/a"
        print(f"| {lab} | {v.median():.1f} | {base / v.median():.2f} | {v.median() / ort:.2f}x "
              f"| {frac} | {ws} |", flush=True)
    for v in vs:
        v.close()


def chain_workspace(a, root, rng):
    """Workspace of a chain of eight 3x3 convs (128 channels, 28x28, Relu between) at fp32
    and at k bits with --quantize-all, with and without packed activations."""
    C, H, L = 128, 28, 8
    nodes, inits, x = [], [], "x"
    for i in range(L):
        w = rng.uniform(-1, 1, size=(C, C, 3, 3)).astype(np.float32)
        inits.append(numpy_helper.from_array(w, f"w{i}"))
        nodes += [helper.make_node("Relu", [x], [f"r{i}"]),
                  helper.make_node("Conv", [f"r{i}", f"w{i}"], [f"y{i}"], pads=[1] * 4)]
        x = f"y{i}"
    g = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", 1, [1, C, H, H])],
                          [helper.make_tensor_value_info(x, 1, [1, C, H, H])], inits)
    path = os.path.join(root, "chain.onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)

    def ws(extra):
        out = subprocess.run([a.wrpnc, "info", path] + extra, capture_output=True,
                             text=True).stdout
        return int(re.search(r"workspace: (\d+) bytes", out).group(1))

    base = ws([])
    print(f"\n(c) workspace of {L} chained 3x3 convs, {C} channels, {H}x{H} (every conv "
          f"quantized, --quantize-all)")
    print("| variant | workspace bytes | vs fp32 | k/32 |")
    print("|---|---|---|---|")
    print(f"| fp32 | {base} | 1 | |")
    for k in (1, 2, 4, 8):
        q = ["--wbits", str(k), "--abits", str(k), "--quantize-all"]
        for extra, lab in ((["--no-pack"], "uint8 codes + PackAct (--no-pack)"), ([], "packed")):
            b = ws(q + extra)
            print(f"| {k}-bit, {lab} | {b} | {b / base:.4f} | {k / 32:.4f} |", flush=True)
        if k == 4:  # the cost model picks the int8 path (one byte per code) above 2x2 bits
            b = ws(q + ["--kernel", "bitserial"])
            print(f"| {k}-bit, packed, --kernel bitserial | {b} | {b / base:.4f} | "
                  f"{k / 32:.4f} |", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--target", default="avx2")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--widths", default="1,2")
    ap.add_argument("--layers", default="s2,s3,s4,d3", help="of " + ",".join(LAYERS))
    ap.add_argument("--variants", default=None,
                    help="per-layer variants, 'LABEL KERNEL' of QVARIANTS and QMORE")
    ap.add_argument("--e2e", action="store_true", help="also ResNet-18 end to end")
    ap.add_argument("--e2e-reps", type=int, default=3)
    ap.add_argument("--e2e-bits", default="2,1,4", help="2x-wide ResNet-18 at WkAk, k of")
    ap.add_argument("--e2e-nopack", action="store_true", help="also W2/A2 with --no-pack")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--no-layers", action="store_true", help="skip the per-layer table")
    ap.add_argument("--workspace", action="store_true", help="only the workspace table (c)")
    ap.add_argument("--cc", default="clang", help="compiler of the roofline benchmark")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"CPU: {roofline.cpu_name()}")
    a.peaks = None
    if not a.workspace and a.target in roofline.native_targets(a.wrpnc):
        a.peaks = roofline.peaks(a.wrpnc, a.target, a.cc)
        print("peaks, GMAC/s: " + ", ".join(f"{k} {a.peaks[k]:.1f}" for k in
                                            ("fp32", "int8", "bin_and", "bin_xor", "bs22")))
    with tempfile.TemporaryDirectory() as root:
        if a.workspace:
            chain_workspace(a, root, rng)
            return 0
        if not a.no_layers:
            per_layer(a, root, rng)
        if a.e2e:
            end_to_end(a, root, rng)
        chain_workspace(a, root, rng)
    return 0


if __name__ == "__main__":
    sys.exit(main())
