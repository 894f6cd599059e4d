#!/usr/bin/env python3
"""bench_fp32.py: fp32 latency of wrpnc-generated code vs ONNX Runtime (one thread).

For each model (exported from PyTorch with random weights, opset 13, batch 1)
and each target this machine runs (generic, avx2, avx512), the script times
`wrpnc compile`, the C build of the generated code with the runtime harness,
and the median latency over --reps runs after --warmup runs. ONNX Runtime
runs the same model and input with intra_op_num_threads = inter_op_num_threads
= 1 in the same invocation; ratio = wrpnc / ORT (below 1: wrpnc is faster).
Outputs are compared with ORT's (max abs err) so a fast wrong kernel shows.

  bench_fp32.py --wrpnc build/wrpnc [--models resnet18,mobilenetv2,cifar_resnet,convnet]
                [--reps 20] [--warmup 3] [--rounds 3] [--targets generic,avx2,avx512] [--cc clang]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.join(HERE, "..", "runtime", "wrpnc_harness.c")


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


# ---- runners ----

def ort_session(path):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_latency(sess, x, reps, warmup):
    """(median ms, min ms, output) of reps runs after warmup runs."""
    feed = {sess.get_inputs()[0].name: x}
    for _ in range(warmup):
        out = sess.run(None, feed)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = sess.run(None, feed)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3, float(np.min(times)) * 1e3, out[0]


def target_flags(target):
    return {"generic": [], "avx2": ["-mavx2", "-mfma", "-mbmi2", "-mpopcnt"],
            "avx512": ["-mavx2", "-mfma", "-mbmi2", "-mpopcnt", "-mavx512f", "-mavx512bw",
                       "-mavx512vl", "-mavx512dq", "-mavx512vpopcntdq", "-mavx512vnni"]}[target]


def wrpnc_build(a, path, target, work):
    """Compiles and builds; returns (compile s, build s, harness path) or raises RuntimeError."""
    d = os.path.join(work, target)
    os.makedirs(d, exist_ok=True)
    t0 = time.perf_counter()
    r = subprocess.run([a.wrpnc, "compile", path, "-o", d, "--name", "m", "--target", target],
                       capture_output=True, text=True)
    t_compile = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "compile failed")
    exe = os.path.join(d, "harness")
    cmd = [a.cc, "-O2", "-std=c99"] + target_flags(target) + [
        "-I" + d, '-DWRPNC_HEADER="m.h"', "-DWRPNC_NAME=m", "-DWRPNC_UNAME=M", "-o", exe,
        HARNESS, os.path.join(d, "m.c"), "-lm"]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    t_build = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError("C build failed: " + r.stderr[-300:])
    return t_compile, t_build, exe


def wrpnc_latency(a, exe, x, out_shape):
    """(median ms, min ms, output) of the built harness."""
    d = os.path.dirname(exe)
    xin, yout = os.path.join(d, "in.bin"), os.path.join(d, "out.bin")
    x.astype(np.float32).tofile(xin)
    r = subprocess.run([exe, "-r", str(a.reps), "-w", str(a.warmup), xin, yout],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("run failed: " + r.stderr[-300:])
    med = float(r.stdout.split("median_ns")[1].split()[0]) / 1e6
    mn = float(r.stdout.split("min_ns")[1].split()[0]) / 1e6
    return med, mn, np.fromfile(yout, dtype=np.float32).reshape(out_shape)


def runnable_targets(wrpnc):
    out = subprocess.run([wrpnc, "targets"], capture_output=True, text=True).stdout
    return {l.split()[0] for l in out.splitlines() if "runs here" in l and "cannot" not in l}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--models", default="resnet18,mobilenetv2,cifar_resnet,convnet")
    ap.add_argument("--targets", default="avx512,avx2,generic")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3, help="alternating ORT / wrpnc rounds")
    ap.add_argument("--cc", default="clang")
    ap.add_argument("--keep", action="store_true", help="keep the generated code")
    a = ap.parse_args()
    runs = runnable_targets(a.wrpnc)
    work = tempfile.mkdtemp(prefix="wrpnc-bench-")
    print(f"{'model':13} {'engine':16} {'median ms':>10} {'vs ORT':>7} {'min ms':>8} "
          f"{'vs ORT':>7} {'compile s':>9} {'build s':>8} {'max abs err':>11}")
    for m in a.models.split(","):
        mdir = os.path.join(work, m)
        os.makedirs(mdir)
        path, x = export(m, mdir)
        sess = ort_session(path)
        built, failed = {}, {}
        for t in a.targets.split(","):
            if t not in runs:
                failed[t] = "skipped: this CPU cannot run " + t
                continue
            try:
                built[t] = wrpnc_build(a, path, t, mdir)
            except RuntimeError as e:
                failed[t] = f"n/a: {e}"
        # Rounds alternate ORT and each target, so load changes on a shared machine
        # hit both sides; reported: median of the round medians, min of the minimums.
        res = {k: [] for k in ["ort"] + list(built)}
        for _ in range(a.rounds):
            res["ort"].append(ort_latency(sess, x, a.reps, a.warmup))
            for t in built:
                res[t].append(wrpnc_latency(a, built[t][2], x, res["ort"][0][2].shape))
        o_med = float(np.median([r[0] for r in res["ort"]]))
        o_min = min(r[1] for r in res["ort"])
        ref = res["ort"][0][2]
        print(f"{m:13} {'onnxruntime-1t':16} {o_med:10.3f} {1.0:7.2f} {o_min:8.3f} {1.0:7.2f}")
        for t in a.targets.split(","):
            if t in failed:
                print(f"{m:13} {'wrpnc-' + t:16} {failed[t]}")
                continue
            med = float(np.median([r[0] for r in res[t]]))
            mn = min(r[1] for r in res[t])
            err = float(np.max(np.abs(res[t][0][2] - ref)))
            tc, tb, _ = built[t]
            print(f"{m:13} {'wrpnc-' + t:16} {med:10.3f} {med / o_med:7.2f} {mn:8.3f} "
                  f"{mn / o_min:7.2f} {tc:9.2f} {tb:8.2f} {err:11.3g}")
        sys.stdout.flush()
    if a.keep:
        print(f"generated code kept in {work}")
    else:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
