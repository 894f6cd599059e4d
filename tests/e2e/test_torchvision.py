#!/usr/bin/env python3
"""End-to-end differential test on real networks, compared with ONNX Runtime.

ResNet-18, MobileNetV2 and SqueezeNet 1.1 from torchvision and a small
VGG-style net (conv-relu-maxpool blocks, dropout, classifier) get random
weights (torch.manual_seed, batch-norm statistics randomised too so folding
them matters), are exported with torch.onnx.export (opset 13, eval mode, batch
norm and dropout kept as nodes), run once through ONNX Runtime with graph
optimisations off, and the result is written as a test_data_set folder. Then
`wrpnc verify MODEL DIR --rtol 1e-4 --atol 1e-4` runs for every target
`wrpnc targets` lists (targets this CPU cannot run are reported skipped), for
the reference interpreter, and, for the smaller nets, with --no-fuse on the
native target (batch norm and activations as their own kernels). Exports are
cached in the build folder, keyed by this file's contents. A target that runs
under emulation (neon under qemu-user on x86-64) is slow: by default only the
--emulated-models run on it, the others are reported skipped (ctest runs every
model on neon in e2e_test_torchvision_neon, label slow).

  test_torchvision.py --wrpnc build/wrpnc [--models a,b] [--targets t,u] [--size S] [-j N]
                      [--emulated-models a,b|all]

Prints one line per (model, target), then "N passed, N failed, N skipped";
exits 1 when anything fails.
"""
import argparse
import concurrent.futures as cf
import hashlib
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

OPSET = 13
TOL = ["--rtol", "1e-4", "--atol", "1e-4"]


def vgg_small(torch):
    nn = torch.nn

    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2)]

    return nn.Sequential(*block(3, 16), *block(16, 32), *block(32, 64),
                         nn.AdaptiveAvgPool2d((2, 2)), nn.Flatten(),
                         nn.Linear(64 * 4, 64), nn.ReLU(inplace=True), nn.Dropout(0.5),
                         nn.Linear(64, 10))


def build(name, torch):
    import torchvision.models as tvm
    makers = {"vgg_small": lambda: vgg_small(torch), "squeezenet1_1": tvm.squeezenet1_1,
              "mobilenet_v2": tvm.mobilenet_v2, "resnet18": tvm.resnet18}
    return makers[name]()


MODELS = ["vgg_small", "squeezenet1_1", "mobilenet_v2", "resnet18"]
# Nets small enough to compile once more, unfused (ResNet-18 is 11.7 M weights).
NOFUSE = ["vgg_small", "squeezenet1_1", "mobilenet_v2"]


def randomise_bn(model, torch):
    """Default BN statistics (mean 0, var 1, scale 1, shift 0) would make
    folding a no-op: give every BN layer random ones."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.rand(c, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(c, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(c, generator=g) - 0.5)


def export(name, size, path):
    import torch
    torch.manual_seed(0)
    model = build(name, torch)
    with torch.no_grad():
        randomise_bn(model, torch)
    model.eval()
    x = torch.randn(1, 3, size, size)
    tmp = path + ".tmp"
    # The model is in eval mode, so folding constants changes no parameter.
    warnings.filterwarnings("ignore", message="It is recommended that constant folding")
    # PRESERVE keeps BatchNormalization and Dropout as nodes (EVAL would fold
    # BN into the convs inside the exporter): the compiler's passes get them.
    torch.onnx.export(model, x, tmp, opset_version=OPSET, input_names=["input"],
                      output_names=["logits"], training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=True)
    os.replace(tmp, path)


def reference(model_path, size, dataset):
    """ONNX Runtime output for a fixed input, as test_data_set files."""
    x = np.random.RandomState(0).standard_normal((1, 3, size, size)).astype(np.float32)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {sess.get_inputs()[0].name: x})
    tmp = tempfile.mkdtemp(dir=os.path.dirname(dataset))
    with open(os.path.join(tmp, "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x, "input").SerializeToString())
    with open(os.path.join(tmp, "output_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(y, "logits").SerializeToString())
    os.replace(tmp, dataset)


def prepare(name, size, cache):
    """The cached model and its data set, exported on first use."""
    import torch
    src = hashlib.sha1(open(os.path.abspath(__file__), "rb").read()).hexdigest()[:8]
    key = f"{name}_s{size}_op{OPSET}_torch{torch.__version__}_{src}"
    model = os.path.join(cache, key + ".onnx")
    dataset = os.path.join(cache, key + "_data", "test_data_set_0")
    if not os.path.exists(model):
        export(name, size, model)
    if not os.path.isdir(dataset):
        os.makedirs(os.path.dirname(dataset), exist_ok=True)
        reference(model, size, dataset)
    return model, dataset


def wrpnc_lines(wrpnc, *args):
    out = subprocess.run([wrpnc, *args], capture_output=True, text=True, check=True).stdout
    return [l.strip() for l in out.splitlines() if l.strip()]


def targets(wrpnc):
    """(name, how) for every target, from `wrpnc targets`: "here", "emulated" or ""."""
    res = []
    for line in wrpnc_lines(wrpnc, "targets"):
        if line.startswith("native"):
            continue
        name, _, rest = line.partition(" ")
        rest = rest.strip()
        res.append((name, "here" if rest == "runs here" else
                    "emulated" if rest.startswith(("runs under", "runs emulated")) else ""))
    return res


def missing_ops(wrpnc, model):
    have = set(wrpnc_lines(wrpnc, "ops"))
    m = onnx.load(model, load_external_data=False)
    return sorted({n.op_type for n in m.graph.node if n.domain in ("", "ai.onnx")} - have)


def verify(wrpnc, model, dataset, target):
    cmd = [wrpnc, "verify", model, dataset, *TOL]
    if target == "interp":
        cmd += ["--engine", "interp"]
    elif target == "native-nofuse":
        cmd += ["--target", "native", "--no-fuse"]
    else:
        cmd += ["--target", target]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    except subprocess.TimeoutExpired:
        return False, "timeout"
    if r.returncode == 0:
        return True, ""
    lines = [l.strip() for l in r.stdout.splitlines() if "FAIL" in l] or \
        (r.stderr.strip().splitlines() or r.stdout.strip().splitlines() or ["?"])[-1:]
    return False, lines[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--targets", default="",
                    help="default: every target, interp and native-nofuse")
    ap.add_argument("--size", type=int, default=96, help="input height and width")
    ap.add_argument("--cache", default="", help="default: e2e-models next to wrpnc")
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("--emulated-models", default="vgg_small",
                    help="models run on emulated targets (default vgg_small; all: every one)")
    a = ap.parse_args()
    wrpnc = os.path.abspath(a.wrpnc)
    cache = a.cache or os.path.join(os.path.dirname(wrpnc), "e2e-models")
    os.makedirs(cache, exist_ok=True)
    tlist = targets(wrpnc) + [("interp", "here"), ("native-nofuse", "here")]
    if a.targets:
        want = a.targets.split(",")
        tlist = [t for t in tlist if t[0] in want]
    jobs, lines = [], []
    passed = failed = skipped = 0
    for name in a.models.split(","):
        model, dataset = prepare(name, a.size, cache)
        missing = missing_ops(wrpnc, model)
        for t, how in tlist:
            if t == "native-nofuse" and name not in NOFUSE:
                continue
            slow = how == "emulated" and a.emulated_models != "all" and \
                name not in a.emulated_models.split(",")
            if missing or not how or slow:
                why = f"ops not supported: {' '.join(missing)}" if missing else \
                    "emulated, in the slow run only" if slow else "this CPU cannot run the target"
                lines.append((name, t, f"SKIP  {name} [{t}]: {why}"))
                skipped += 1
            else:
                jobs.append((name, t, model, dataset))
    with cf.ThreadPoolExecutor(a.j) as ex:
        futs = {ex.submit(verify, wrpnc, m, ds, t): (n, t) for n, t, m, ds in jobs}
        for f in cf.as_completed(futs):
            n, t = futs[f]
            ok, why = f.result()
            passed += ok
            failed += not ok
            lines.append((n, t, f"PASS  {n} [{t}]" if ok else f"FAIL  {n} [{t}]: {why}"))
    for _, _, line in sorted(lines):
        print(line)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
