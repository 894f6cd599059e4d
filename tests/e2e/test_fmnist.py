#!/usr/bin/env python3
"""Every model shipped in examples/fashion_mnist/models/ is compiled by wrpnc,
built into examples/fashion_mnist/classify.c, and run on the real Fashion-MNIST
test set (Debian's dataset-fashion-mnist). The compiled model must reach the
accuracy the framework recorded (MODEL.json) and predict the framework's class
(MODEL.pred.u8) on every image, for the generic target and the best target
this machine runs. A quantized model (MODEL.json wbits < 32, exported as WRPN fake-quant
arithmetic) must have its hidden convs lowered to wrpnc::QConv (`wrpnc info`), and so must
the fp32 model under --wbits 4 --abits 4."""
import argparse
import glob
import json
import os
import re
import sys

from e2e_util import ROOT, Tally, run, scratch

EX = os.path.join(ROOT, "examples", "fashion_mnist")
sys.path.insert(0, EX)
import compiled  # noqa: E402


def targets(wrpnc):
    native = compiled.native_target(wrpnc)
    return ["generic"] + ([native] if native != "generic" else [])


def qconvs(wrpnc, model, *extra):
    out = run([wrpnc, "info", model, "--input-shape", "image=1x1x28x28", *extra])
    return len(re.findall(r"^\s*\d+\s+QConv\s", out, re.M))


def check_lowered(t, wrpnc, model, want, *extra):
    n = qconvs(wrpnc, model, *extra)
    t.check(n == want, f"{os.path.basename(model)} {' '.join(extra)}: {n} QConv (expected {want})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    t = Tally()
    with scratch("wrpnc-fmnist-") as tmp:
        try:
            images, labels = compiled.write_test_set(tmp)
            for model in sorted(glob.glob(os.path.join(EX, "models", "*.onnx"))):
                base = model[:-5]
                meta = json.load(open(base + ".json"))
                want = meta["test_accuracy"]
                check_lowered(t, a.wrpnc, model, 2 if meta["wbits"] < 32 else 0)
                if meta["wbits"] >= 32:
                    check_lowered(t, a.wrpnc, model, 2, "--wbits", "4", "--abits", "4")
                for target in targets(a.wrpnc):
                    exe = compiled.build(a.wrpnc, model, os.path.join(tmp, target), target)
                    acc, differ = compiled.classify(exe, images, labels, base + ".pred.u8")
                    t.check(abs(acc - want) < 1e-9 and differ == 0,
                            f"{os.path.basename(model)} [{target}]: accuracy {100 * acc:.2f} % "
                            f"(framework {100 * want:.2f} %), {differ} predictions differ")
        except RuntimeError as e:
            t.error(e)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
