"""bench_fp32.py: fp32 speed of wrpnc-generated code vs ONNX Runtime (one thread).

Per layer (--layers): the convolutions of ResNet-18 (3x3 of stages 1-4, the stride-2
3x3 and 1x1 downsampling convs, a 1x1 stride-1 conv; batch 1, 224x224 input sizes), at
width 1x (and 2x with --layer-widths 1,2), each a one-Conv model with bias.
End to end (--models): models exported from PyTorch with random weights, opset 13,
batch 1. For each target this machine runs natively (generic, avx2, avx512) the
script times `wrpnc compile`, the C build of the generated code (NAME.c and, for
models over the weights threshold, NAME_weights.c) with the runtime harness, and
the harness's timing: median over --reps runs after --warmup runs of each run's CPU
time (runtime/wrpnc_harness.c, the timing `wrpnc run --reps` and compare use). ONNX
Runtime runs the same model and input with intra_op_num_threads =
inter_op_num_threads = 1 in the same invocation, timed the same way (median of
per-run process CPU time after warm-up); rounds alternate the two. ratio = wrpnc /
ORT (below 1: wrpnc is faster). Every line also shows GMAC/s and the fraction of
this CPU's fp32 FMA peak for that target (bench/roofline.py, measured in the same
run; ONNX Runtime's lines: of the best target's peak). Outputs are compared with ORT's (max abs err) so a fast wrong kernel shows.

  bench_fp32.py --wrpnc build/wrpnc [--models resnet18,mobilenetv2,cifar_resnet,convnet]
                [--layers] [--layer-widths 1] [--reps 20] [--warmup 3] [--rounds 3]
                [--targets generic,avx2,avx512] [--cc clang] [--markdown]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.join(HERE, "..", "runtime", "wrpnc_harness.c")
sys.path.insert(0, HERE)
import roofline  # noqa: E402


# ---- models ----

def _torch_models():
    import torch
    import torch.nn as nn

    class Block(nn.Module):
        """CIFAR ResNet basic block: two 3x3 convs with BN, identity or 1x1 shortcut."""

        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.short = None
            if stride != 1 or cin != cout:
                self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                           nn.BatchNorm2d(cout))

        def forward(self, x):
            y = torch.relu(self.b1(self.c1(x)))
            y = self.b2(self.c2(y))
            return torch.relu(y + (self.short(x) if self.short is not None else x))

    class CifarResNet(nn.Module):
        """ResNet-14 for 32x32 inputs: 16/32/64 channels, two blocks per stage."""

        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16),
                                      nn.ReLU())
            layers, cin = [], 16
            for cout, stride in ((16, 1), (32, 2), (64, 2)):
                layers += [Block(cin, cout, stride), Block(cout, cout, 1)]
                cin = cout
            self.layers = nn.Sequential(*layers)
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            x = self.layers(self.stem(x))
            return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))

    def convnet():
        """The conv shapes of ResNet-18 as one Conv + Relu chain (no other ops)."""
        mods, cin = [nn.Conv2d(3, 64, 7, 2, 3), nn.ReLU(), nn.Conv2d(64, 64, 3, 2, 1), nn.ReLU()], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            for i in range(4):
                mods += [nn.Conv2d(cin, cout, 3, stride if i == 0 else 1, 1), nn.ReLU()]
                cin = cout
        return nn.Sequential(*mods)

    import torchvision
    return {
        "resnet18": (lambda: torchvision.models.resnet18(weights=None), (1, 3, 224, 224)),
        "mobilenetv2": (lambda: torchvision.models.mobilenet_v2(weights=None), (1, 3, 224, 224)),
        "cifar_resnet": (CifarResNet, (1, 3, 32, 32)),
        "convnet": (convnet, (1, 3, 224, 224)),
    }


def export(name, outdir):
    import torch
    path = os.path.join(outdir, name + ".onnx")
    ctor, shape = _torch_models()[name]
    torch.manual_seed(0)
    model = ctor().eval()
    x = torch.randn(*shape)
    torch.onnx.export(model, x, path, opset_version=13, input_names=["input"],
                      output_names=["output"], do_constant_folding=True)
    return path, x.numpy()


# ---- one-conv layer models ----

# (name, C, M, kernel, stride, input H=W): ResNet-18's convolutions at 224x224
RESNET18_CONVS = [
    ("s1 3x3 64", 64, 64, 3, 1, 56),
    ("s2 3x3 64>128 /2", 64, 128, 3, 2, 56),
    ("s2 3x3 128", 128, 128, 3, 1, 28),
    ("s2 1x1 64>128 /2", 64, 128, 1, 2, 56),
    ("s3 3x3 128>256 /2", 128, 256, 3, 2, 28),
    ("s3 3x3 256", 256, 256, 3, 1, 14),
    ("s3 1x1 128>256 /2", 128, 256, 1, 2, 28),
    ("s4 3x3 256>512 /2", 256, 512, 3, 2, 14),
    ("s4 3x3 512", 512, 512, 3, 1, 7),
    ("s4 1x1 256>512 /2", 256, 512, 1, 2, 14),
    ("1x1 256 (stride 1)", 256, 256, 1, 1, 14),
]


def conv_model(outdir, name, C, M, k, stride, H, rng):
    """One Conv (with bias) as an ONNX file; returns (path, input, MACs)."""
    w = rng.normal(0, (2.0 / (C * k * k)) ** 0.5, size=(M, C, k, k)).astype(np.float32)
    b = rng.normal(0, 0.1, size=(M,)).astype(np.float32)
    p = k // 2
    OH = (H + 2 * p - k) // stride + 1
    g = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[p] * 4, strides=[stride] * 2)],
        "conv", [helper.make_tensor_value_info("x", 1, [1, C, H, H])],
        [helper.make_tensor_value_info("y", 1, [1, M, OH, OH])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    path = os.path.join(outdir, re.sub(r"[^A-Za-z0-9]+", "_", name) + ".onnx")
    onnx.save(m, path)
    x = rng.standard_normal((1, C, H, H)).astype(np.float32)
    return path, x, M * C * k * k * OH * OH


# ---- runners ----

def ort_session(path):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_latency(sess, x, reps, warmup):
    """(median ms, min ms, output): process CPU time per run, reps runs after warmup runs
    (the harness's method)."""
    feed = {sess.get_inputs()[0].name: x}
    for _ in range(max(warmup, 1)):
        out = sess.run(None, feed)
    times = []
    for _ in range(reps):
        t0 = time.process_time()
        out = sess.run(None, feed)
        times.append(time.process_time() - t0)
    return float(np.median(times)) * 1e3, float(np.min(times)) * 1e3, out[0]


def target_flags(wrpnc, target):
    return subprocess.run([wrpnc, "cflags", "--target", target], capture_output=True, text=True,
                          check=True).stdout.split()


def wrpnc_build(a, path, target, work):
    """Compiles and builds; returns (compile s, build s, harness path) or raises RuntimeError."""
    d = os.path.join(work, target)
    os.makedirs(d, exist_ok=True)
    t0 = time.perf_counter()
    r = subprocess.run([a.wrpnc, "compile", path, "-o", d, "--name", "m", "--target", target],
                       capture_output=True, text=True)
    t_compile = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip().splitlines()[-1] if r.stderr.strip()
                           else "compile failed")
    exe = os.path.join(d, "harness")
    srcs = [os.path.join(d, "m.c")]
    if os.path.exists(os.path.join(d, "m_weights.c")):  # models over --weights-threshold
        srcs.append(os.path.join(d, "m_weights.c"))
    cmd = [a.cc, "-O2", "-std=c99"] + target_flags(a.wrpnc, target) + [
        "-I" + d, '-DWRPNC_HEADER="m.h"', "-DWRPNC_NAME=m", "-DWRPNC_UNAME=M", "-o", exe,
        HARNESS] + srcs + ["-lm"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    t_build = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError("C build failed: " + r.stderr[-300:])
    return t_compile, t_build, exe


def wrpnc_latency(a, exe, x, out_shape):
    """(median ms, min ms, output) of the built harness (CPU time per run)."""
    d = os.path.dirname(exe)
    xin, yout = os.path.join(d, "in.bin"), os.path.join(d, "out.bin")
    x.astype(np.float32).tofile(xin)
    r = subprocess.run([exe, "-r", str(a.reps), "-w", str(a.warmup), xin, yout],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("run failed: " + r.stderr[-300:])
    med = float(re.search(r"^median_ns (\S+)", r.stdout, re.M).group(1)) / 1e6
    mn = float(re.search(r"^min_ns (\S+)", r.stdout, re.M).group(1)) / 1e6
    return med, mn, np.fromfile(yout, dtype=np.float32).reshape(out_shape)


def model_macs(wrpnc, path):
    """The model's MACs, from `wrpnc info --json` (totals.macs)."""
    r = subprocess.run([wrpnc, "info", path, "--json"], capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"wrpnc info {path} failed:\n{r.stderr}")
    return int(json.loads(r.stdout)["totals"]["macs"])


def measure(a, runs, path, x, work):
    """Builds each target, alternates ORT and the targets --rounds times. Returns
    (ort (med, min), {target: (med, min, max err, compile s, build s) or error text})."""
    sess = ort_session(path)
    built, res = {}, {}
    for t in a.targets.split(","):
        if t not in runs:
            res[t] = "not run: this CPU does not run " + t + " natively"
            continue
        try:
            built[t] = wrpnc_build(a, path, t, work)
        except RuntimeError as e:
            res[t] = f"n/a: {e}"
    # Rounds alternate ORT and each target, so load changes on a shared machine
    # hit both sides; reported: median of the round medians, min of the minimums.
    times = {k: [] for k in ["ort"] + list(built)}
    for _ in range(a.rounds):
        times["ort"].append(ort_latency(sess, x, a.reps, a.warmup))
        for t in built:
            try:
                times[t].append(wrpnc_latency(a, built[t][2], x, times["ort"][0][2].shape))
            except RuntimeError as e:
                res[t] = f"n/a: {e}"
    ort = (float(np.median([r[0] for r in times["ort"]])), min(r[1] for r in times["ort"]))
    ref = times["ort"][0][2]
    for t in built:
        if t in res:
            continue
        med = float(np.median([r[0] for r in times[t]]))
        err = float(np.max(np.abs(times[t][0][2] - ref)))
        res[t] = (med, min(r[1] for r in times[t]), err, built[t][0], built[t][1])
    return ort, res


def frac(macs, ms, peak):
    return roofline.fraction(macs, ms / 1e3, peak) if peak else float("nan")


def bench_layers(a, runs, peaks, work):
    rng = np.random.default_rng(0)
    print(f"\nPer layer: ResNet-18 convolutions (batch 1), median CPU ms of {a.rounds} alternating "
          f"rounds x {a.reps} runs; % peak = GMAC/s over the fp32 FMA peak of the target")
    ts = [t for t in a.targets.split(",") if t in runs]
    best = ts[0] if ts else None  # ORT's fraction: of the best target's FMA peak
    print("| layer | width | C>M | out | ORT ms | ORT % peak | " + " | ".join(
        f"{t} ms | vs ORT | GMAC/s | % peak" for t in ts) + " | max abs err |")
    print("|---" * (6 + 4 * len(ts) + 1) + "|")
    for wd in [int(v) for v in a.layer_widths.split(",")]:
        for name, C, M, k, s, H in RESNET18_CONVS:
            C2, M2 = C * wd, M * wd
            d = os.path.join(work, f"layer_{wd}_{re.sub('[^A-Za-z0-9]+', '_', name)}")
            os.makedirs(d)
            path, x, macs = conv_model(d, name, C2, M2, k, s, H, rng)
            ort, res = measure(a, runs, path, x, d)
            cols, errs = [], []
            for t in a.targets.split(","):
                if t not in runs:
                    continue
                r = res[t]
                if isinstance(r, str):
                    cols.append(f"{r} | | |")
                    continue
                cols.append(f"{r[0]:.3f} | {r[0] / ort[0]:.2f} | {macs / r[0] * 1e-6:.1f} | "
                            f"{100 * frac(macs, r[0], peaks.get(t, {}).get('fp32')):.0f} %")
                errs.append(r[2])
            OH = (H + 2 * (k // 2) - k) // s + 1
            op = 100 * frac(macs, ort[0], peaks.get(best, {}).get("fp32"))
            print(f"| {name} | {wd}x | {C2}>{M2} | {OH}x{OH} | {ort[0]:.3f} | {op:.0f} % | " +
                  " | ".join(cols) + f" | {max(errs) if errs else float('nan'):.2g} |", flush=True)
            shutil.rmtree(d)


def bench_models(a, runs, peaks, work):
    print(f"\nEnd to end (batch 1): median CPU ms of {a.rounds} alternating rounds x {a.reps} "
          f"runs; ratio = wrpnc / ORT 1 thread (below 1: wrpnc faster)")
    print("| model | engine | median ms | vs ORT | min ms | vs ORT | GMAC/s | % fp32 peak | "
          "compile s | build s | max abs err |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for m in a.models.split(","):
        mdir = os.path.join(work, m)
        os.makedirs(mdir)
        path, x = export(m, mdir)
        macs = model_macs(a.wrpnc, path)
        ort, res = measure(a, runs, path, x, mdir)
        best = next((t for t in a.targets.split(",") if t in peaks), None)
        print(f"| {m} | onnxruntime 1 thread | {ort[0]:.3f} | 1.00 | {ort[1]:.3f} | 1.00 | "
              f"{macs / ort[0] * 1e-6:.1f} | "
              f"{100 * frac(macs, ort[0], peaks.get(best, {}).get('fp32')):.0f} % | | | |")
        for t in a.targets.split(","):
            r = res[t]
            if isinstance(r, str):
                print(f"| {m} | wrpnc {t} | {r} | | | | | | | | |")
                continue
            med, mn, err, tc, tb = r
            print(f"| {m} | wrpnc {t} | {med:.3f} | {med / ort[0]:.2f} | {mn:.3f} | "
                  f"{mn / ort[1]:.2f} | {macs / med * 1e-6:.1f} | "
                  f"{100 * frac(macs, med, peaks.get(t, {}).get('fp32')):.0f} % | {tc:.2f} | "
                  f"{tb:.2f} | {err:.3g} |", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--models", default="resnet18,mobilenetv2,cifar_resnet,convnet",
                    help="end-to-end models ('' for none)")
    ap.add_argument("--layers", action="store_true", help="also the per-layer table")
    ap.add_argument("--layer-widths", default="1")
    ap.add_argument("--targets", default="avx512,avx2,generic")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3, help="alternating ORT / wrpnc rounds")
    ap.add_argument("--cc", default="clang")
    ap.add_argument("--keep", action="store_true", help="keep the generated code")
    a = ap.parse_args()
    runs = roofline.native_targets(a.wrpnc)
    print(f"CPU: {roofline.cpu_name()}; compiler {a.cc}; ONNX Runtime "
          f"{__import__('onnxruntime').__version__}")
    peaks = {}
    for t in a.targets.split(","):
        if t in runs:
            peaks[t] = roofline.peaks(a.wrpnc, t, a.cc)
            print(f"fp32 FMA peak, {t}: {peaks[t]['fp32']:.1f} GMAC/s ({peaks[t]['what']['fp32']})")
    work = tempfile.mkdtemp(prefix="wrpnc-bench-")
    if a.layers:
        bench_layers(a, runs, peaks, work)
    if a.models:
        bench_models(a, runs, peaks, work)
    if a.keep:
        print(f"generated code kept in {work}")
    else:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
