#!/usr/bin/env python3
"""bench_compile.py: compile time and memory of wrpnc on a big model.

Exports torchvision's ResNet-50 (random weights, seed 0, opset 13, batch 1,
224x224; about 100 MB of weights) with its initializers in an external data
file, then for each weights mode measures
  - `wrpnc compile`: wall time, CPU time (user + system) and peak RSS of that
    process (from wait4),
  - the C build of each generated file (`cc -O2 -std=c99 <target flags> -c`):
    the same for the compiler,
and prints one table row per mode and file. Nothing is run: this measures the
tool chain, not the model (bench_fp32.py does that).

  bench_compile.py --wrpnc build/wrpnc [--modes auto,blob,inline] [--target avx2]
                   [--cc gcc] [--model resnet50] [--keep DIR]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time


def export(model, path):
    """torchvision model with random weights -> ONNX, initializers in path + '.data'."""
    import onnx
    import torch
    import torchvision

    torch.manual_seed(0)
    net = getattr(torchvision.models, model)(weights=None).eval()
    tmp = path + ".tmp"
    with torch.no_grad():
        torch.onnx.export(net, torch.randn(1, 3, 224, 224), tmp, opset_version=13,
                          input_names=["x"], output_names=["y"])
    m = onnx.load(tmp)
    os.remove(tmp)
    onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location=os.path.basename(path) + ".data", size_threshold=1024)


def measure(cmd):
    """(exit code, wall s, CPU s, peak RSS MiB, stderr) of one child process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    cpu = ru.ru_utime + ru.ru_stime
    return p.returncode, wall, cpu, ru.ru_maxrss / 1024.0, err  # ru_maxrss: KiB on Linux


def size_mb(path):
    return os.path.getsize(path) / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--modes", default="auto,blob")
    ap.add_argument("--target", default="avx2")
    ap.add_argument("--cc", default="gcc")
    ap.add_argument("--keep", help="work in this folder and keep it")
    a = ap.parse_args()
    work = a.keep or tempfile.mkdtemp(prefix="wrpnc-bench-compile-")
    os.makedirs(work, exist_ok=True)
    wrpnc = os.path.abspath(a.wrpnc)
    flags = subprocess.run([wrpnc, "cflags", "--target", a.target], capture_output=True,
                           text=True, check=True).stdout.split()
    rows, failed = [], False
    try:
        path = os.path.join(work, a.model + ".onnx")
        if not os.path.exists(path):
            export(a.model, path)
        print(f"{a.model}: {size_mb(path):.1f} MB graph + {size_mb(path + '.data'):.1f} MB "
              f"external data, target {a.target}, {a.cc}")
        for mode in a.modes.split(","):
            out = os.path.join(work, "out-" + mode)
            shutil.rmtree(out, ignore_errors=True)
            rc, wall, cpu, rss, err = measure([wrpnc, "compile", path, "-o", out, "--name", "net",
                                               "--target", a.target, "--weights", mode])
            if rc != 0:
                print(f"FAIL wrpnc compile --weights {mode}: {err.strip()[-500:]}")
                failed = True
                continue
            outs = sorted(os.listdir(out))
            rows.append((mode, "wrpnc compile", wall, cpu, rss, " ".join(
                f"{f} {size_mb(os.path.join(out, f)):.1f} MB" for f in outs)))
            for f in outs:
                if not f.endswith(".c"):
                    continue
                rc, wall, cpu, rss, err = measure([a.cc, "-O2", "-std=c99", *flags, "-I", out,
                                                   "-c", os.path.join(out, f), "-o",
                                                   os.path.join(out, f[:-2] + ".o")])
                if rc != 0:
                    print(f"FAIL {a.cc} {f}: {err.strip()[-500:]}")
                    failed = True
                    continue
                rows.append((mode, f"{a.cc} -O2 -c {f}", wall, cpu, rss, ""))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("\n| weights | step | wall s | CPU s | peak RSS MiB | output |")
    print("|---|---|---|---|---|---|")
    for mode, step, wall, cpu, rss, note in rows:
        print(f"| {mode} | {step} | {wall:.1f} | {cpu:.1f} | {rss:.0f} | {note} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
