#!/usr/bin/env python3
"""Every model shipped in examples/fashion_mnist/models/ is compiled by wrpnc,
built into examples/fashion_mnist/classify.c, and run on the real Fashion-MNIST
test set (Debian's dataset-fashion-mnist). The compiled model must reach the
accuracy the framework recorded (MODEL.json) and predict the framework's class
(MODEL.pred.u8) on every image, for the generic target and the best target
this machine runs."""
import argparse
import glob
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EX = os.path.join(ROOT, "examples", "fashion_mnist")
DATA = "/usr/share/datasets/fashion-mnist"


def sh(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode not in (0, 3):
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r.stdout


def targets(wrpnc):
    out = sh([wrpnc, "targets"])
    native = re.search(r"native = (\w+)", out).group(1)
    return ["generic"] + ([native] if native != "generic" else [])


def cflags(wrpnc, target):
    return sh([wrpnc, "cflags", "--target", target]).split()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    passed = failed = skipped = 0
    tmp = tempfile.mkdtemp(prefix="wrpnc-fmnist-")
    try:
        for name in ("images", "labels"):
            src = f"{DATA}/t10k-{name}-idx{3 if name == 'images' else 1}-ubyte.gz"
            with gzip.open(src) as f, open(os.path.join(tmp, name), "wb") as g:
                g.write(f.read())
        for model in sorted(glob.glob(os.path.join(EX, "models", "*.onnx"))):
            base = model[:-5]
            want = json.load(open(base + ".json"))["test_accuracy"]
            for t in targets(a.wrpnc):
                flags = cflags(a.wrpnc, t)
                tag = f"{os.path.basename(model)} [{t}]"
                out = os.path.join(tmp, t)
                sh([a.wrpnc, "compile", model, "-o", out, "--name", "fmnist", "--target", t,
                    "--input-shape", "image=1x1x28x28"])
                exe = os.path.join(out, "classify")
                sh(["cc", "-O2", "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", *flags,
                    f"-I{out}", os.path.join(EX, "classify.c"), os.path.join(out, "fmnist.c"), "-lm", "-o", exe])
                text = sh([exe, os.path.join(tmp, "images"), os.path.join(tmp, "labels"),
                           base + ".pred.u8"])
                acc = float(re.search(r"accuracy: ([0-9.]+) %", text).group(1)) / 100
                differ = int(re.search(r"framework's: (\d+)", text).group(1))
                ok = abs(acc - want) < 1e-9 and differ == 0
                print(f"{'PASS' if ok else 'FAIL'} {tag}: accuracy {100 * acc:.2f} % "
                      f"(framework {100 * want:.2f} %), {differ} predictions differ")
                passed += ok
                failed += not ok
    except RuntimeError as e:
        print("FAIL", e)
        failed += 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
