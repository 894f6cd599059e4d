#!/usr/bin/env python3
"""The QONNX export of examples/fashion_mnist (train.py --export qonnx): small
WRPN models at 4/4 and 1/1 bits, trained for 64 steps on 2048 training
images, are exported with QONNX Quant / IntQuant / BipolarQuant nodes. wrpnc
must lower both quantized convs to integer kernels (QConv in `wrpnc info`), and
the compiled C must predict PyTorch's class on each of the first 300 test
images (PyTorch evaluates the QONNX nodes' own arithmetic, train.py's
reference, and must predict at least 3 distinct classes, so that agreement
means something), for the generic target and the best target this machine runs.
Also checks the training recipe's parameter groups: the k-bit conv weights, and only
they, train at the larger rate."""
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
BITS = (4, 1)  # IntQuant weights; BipolarQuant weights


def quick_train(model, x, y):
    """One pass in batches of 32 at a constant rate: more updates than train.py's
    batches of 128 for the same work, so a few seconds give distinct predictions."""
    import torch
    import torch.nn.functional as F
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    model.train()
    for i in range(0, len(x), 32):
        loss = F.cross_entropy(model(torch.from_numpy(x[i:i + 32])), torch.from_numpy(y[i:i + 32]))
        opt.zero_grad()
        loss.backward()
        opt.step()


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
            quick_train(model, xtr[:TRAIN_IMAGES], ytr[:TRAIN_IMAGES])
            path = os.path.join(tmp, f"q{k}.onnx")
            train.write_form(model, "qonnx", path, {"wbits": k, "abits": k},
                             xte[:TEST_IMAGES], yte[:TEST_IMAGES])
        paths.append(path)
    return paths


def check_param_groups(t):
    """wrpn.Net.param_groups: conv2/conv3 weights at lr * mult when quantized, every other
    parameter (first conv, BatchNorm, classifier) at lr, each exactly once."""
    import wrpn
    for k in (4, 32):
        net = wrpn.Net(1.0, k, k)
        groups = net.param_groups(1e-3, 30.0)
        fast = [p for g in groups if g["lr"] == 1e-3 * 30.0 for p in g["params"]]
        want = [net.conv2.weight, net.conv3.weight] if k < 32 else []
        every = [p for g in groups for p in g["params"]]
        ok = ({id(p) for p in fast} == {id(p) for p in want} and
              sorted(map(id, every)) == sorted(map(id, net.parameters())))
        t.check(ok, f"{k}-bit Net: {len(fast)} tensors at 30x the rate, {len(every)} of "
                f"{len(list(net.parameters()))} parameters in groups")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    t = Tally()
    check_param_groups(t)
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
