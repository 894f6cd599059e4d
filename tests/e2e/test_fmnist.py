#!/usr/bin/env python3
"""Every model shipped in examples/fashion_mnist/models/ is compiled by wrpnc,
built into examples/fashion_mnist/classify.c, and run on the real Fashion-MNIST
test set (Debian's dataset-fashion-mnist). The compiled model must reach the
accuracy the framework recorded (MODEL.json) and predict the framework's class
(MODEL.pred.u8) on every image, for the generic target and the best target
this machine runs."""
import argparse
import glob
import json
import os
import sys

from e2e_util import ROOT, Tally, scratch

EX = os.path.join(ROOT, "examples", "fashion_mnist")
sys.path.insert(0, EX)
import compiled  # noqa: E402


def targets(wrpnc):
    native = compiled.native_target(wrpnc)
    return ["generic"] + ([native] if native != "generic" else [])


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
                want = json.load(open(base + ".json"))["test_accuracy"]
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
