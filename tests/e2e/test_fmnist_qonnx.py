#!/usr/bin/env python3
"""The QONNX export of examples/fashion_mnist (train.py --export qonnx): small
WRPN models at 4/4, 2/2 and 1/1 bits, trained for 16 steps on 2048 training
images, are exported with QONNX Quant / IntQuant / BipolarQuant nodes. wrpnc
must lower both quantized convs to integer kernels (QConv in `wrpnc info`), and
the compiled C must predict PyTorch's class on each of the first 300 test
images (PyTorch evaluates the QONNX nodes' own arithmetic, train.py's
reference, and must predict at least 3 distinct classes, so that agreement
means something), for the generic target and the best target this machine runs."""
import argparse
import contextlib
import io
import os
import sys
import warnings

import numpy as np

from e2e_util import ROOT, Tally, scratch

EX = os.path.join(ROOT, "examples", "fashion_mnist")
sys.path.insert(0, EX)
import compiled  # noqa: E402

TEST_IMAGES = 300
TRAIN_IMAGES = 2048
BITS = (4, 2, 1)


def export_models(tmp):
    """Trains and exports one QONNX model per bit width; returns the ONNX paths."""
    import torch
    import data
    import train
    import wrpn
    torch.set_num_threads(2)
    xtr, ytr = data.load("train")
    xte, yte = data.load("test")
    paths = []
    for k in BITS:
        torch.manual_seed(k)
        model = wrpn.Net(1.0, k, k)
        with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            train.train(model, xtr[:TRAIN_IMAGES], ytr[:TRAIN_IMAGES], 1, 1e-2, k)
            path = os.path.join(tmp, f"q{k}.onnx")
            train.write_form(model, "qonnx", path, {"wbits": k, "abits": k},
                             xte[:TEST_IMAGES], yte[:TEST_IMAGES])
        paths.append(path)
    return paths


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    t = Tally()
    with scratch("wrpnc-fmnist-qonnx-") as tmp:
        try:
            images, labels = compiled.write_test_set(tmp, TEST_IMAGES)
            native = compiled.native_target(a.wrpnc)
            for model in export_models(tmp):
                name = os.path.basename(model)
                ref = np.fromfile(model[:-5] + ".pred.u8", np.uint8)
                # agreeing on a constant prediction would prove little
                t.check(len(set(ref)) >= 3, f"{name}: PyTorch predicts {len(set(ref))} classes")
                n = compiled.integer_layers(a.wrpnc, model)
                t.check(n == 2, f"{name}: {n} of 2 quantized convs lowered to QConv")
                for target in ["generic"] + ([native] if native != "generic" else []):
                    exe = compiled.build(a.wrpnc, model, os.path.join(tmp, target), target)
                    acc, differ = compiled.classify(exe, images, labels, model[:-5] + ".pred.u8")
                    t.check(differ == 0, f"{name} [{target}]: accuracy {100 * acc:.2f} %, "
                            f"{differ} of {TEST_IMAGES} predictions differ from PyTorch")
        except RuntimeError as e:
            t.error(e)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
