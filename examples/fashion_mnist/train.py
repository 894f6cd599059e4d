#!/usr/bin/env python3
"""Trains the Fashion-MNIST CNN the WRPN way and exports it to ONNX.

  train.py --width 2 --wbits 4 --abits 4 --epochs 4 --out fmnist_w2_4b.onnx [--export FORM]
  train.py --load fmnist_w2_4b.pt --export qonnx --out fmnist_w2_4b_qonnx.onnx

Writes MODEL.pt (the trained weights), and for each exported ONNX file X.onnx,
X.json (settings and the framework's test accuracy) and X.pred.u8 (the
framework's predicted class for every test image, one byte each: the reference
the compiled C model is held to). FORM: arith (default; quantizers as
Clip -> Mul -> Round -> Div), qonnx (QONNX Quant / IntQuant / BipolarQuant
nodes), both (arith at --out, qonnx at OUT_qonnx.onnx). --load skips training.
Uses --threads cores; deterministic for a given --seed.
"""
import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import wrpn  # noqa: E402

# Learning rate multiplier of the k-bit conv weights (see wrpn.Net.param_groups and the
# README for the experiment that chose it).
QLR_MULT = 30.0


def evaluate(model, x, y):
    model.eval()
    preds = []
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            preds.append(model(torch.from_numpy(x[i:i + 1000])).argmax(1).numpy())
    p = np.concatenate(preds)
    return float((p == y).mean()), p


def train(model, x, y, epochs, lr, seed, qlr_mult):
    g = torch.Generator().manual_seed(seed)
    # the k-bit conv weights get a larger rate (wrpn.Net.param_groups says why)
    groups = model.param_groups(lr, qlr_mult)
    opt = torch.optim.Adam(groups)
    steps = epochs * (len(x) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, [gr["lr"] for gr in groups],
                                                total_steps=steps)
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=g).numpy()
        t0, tot = time.time(), 0.0
        for i in range(0, len(x) - 127, 128):
            idx = perm[i:i + 128]
            loss = F.cross_entropy(model(torch.from_numpy(x[idx])), torch.from_numpy(y[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item()
        print(f"epoch {ep + 1}/{epochs}: loss {tot / (len(x) // 128):.4f} "
              f"({time.time() - t0:.0f} s)", file=sys.stderr)


def export(model, path, form="arith"):
    model.eval()
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", message="The shape inference of qonnx")
    warnings.filterwarnings("ignore", category=FutureWarning)
    model.set_mode(form)
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, opset_version=13,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True,
                      custom_opsets={wrpn.QONNX_DOMAIN: 1} if form == "qonnx" else None)
    model.set_mode("train")
    fix_output_shape(path)


def fix_output_shape(path):
    """torch cannot infer shapes through the QONNX nodes and declares the logits
    ?x?; declare batch x 10 as the arithmetic form does."""
    import onnx
    m = onnx.load(path)
    dims = m.graph.output[0].type.tensor_type.shape.dim
    if len(dims) == 2 and not dims[1].dim_value:
        dims[0].dim_param, dims[1].dim_value = "batch", 10
        onnx.save(m, path)


def write_form(model, form, path, meta, xte, yte):
    """Exports one form with the framework's own accuracy and predictions for it."""
    model.set_mode(form)
    acc, pred = evaluate(model, xte, yte)
    export(model, path, form)
    base = os.path.splitext(path)[0]
    with open(base + ".json", "w") as f:
        json.dump(dict(meta, export=form, test_accuracy=acc), f)
    pred.astype(np.uint8).tofile(base + ".pred.u8")
    print(f"{path}: test accuracy {100 * acc:.2f} % ({form})")


def args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--wbits", type=int, default=32)
    ap.add_argument("--abits", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--train-size", type=int, default=60000,
                    help="train on the first N training images (all 60000 by default)")
    ap.add_argument("--test-size", type=int, default=10000,
                    help="evaluate on the first N test images (all 10000 by default)")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--qlr-mult", type=float, default=QLR_MULT,
                    help="learning rate multiplier of the k-bit conv weights")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--export", choices=["arith", "qonnx", "both"], default="arith")
    ap.add_argument("--load", metavar="MODEL.pt", help="export these weights, do not train")
    ap.add_argument("--out", required=True)
    return ap.parse_args()


def trained(a):
    """The model and its settings: trained now, or loaded with the settings of training."""
    if a.load:
        meta = json.load(open(os.path.splitext(a.load)[0] + ".json"))
        model = wrpn.Net(meta["width"], meta["wbits"], meta["abits"])
        model.load_state_dict(torch.load(a.load))
        return model, meta
    xtr, ytr = data.load("train")
    xtr, ytr = xtr[:a.train_size], ytr[:a.train_size]
    model = wrpn.Net(a.width, a.wbits, a.abits)
    t0 = time.time()
    train(model, xtr, ytr, a.epochs, a.lr, a.seed, a.qlr_mult)
    meta = {"width": a.width, "wbits": a.wbits, "abits": a.abits, "epochs": a.epochs,
            "lr": a.lr, "qlr_mult": a.qlr_mult,
            "train_size": len(xtr), "seed": a.seed, "train_seconds": round(time.time() - t0),
            "params": sum(p.numel() for p in model.parameters())}
    base = os.path.splitext(a.out)[0]
    torch.save(model.state_dict(), base + ".pt")
    with open(base + ".json", "w") as f:
        json.dump(meta, f)
    return model, meta


def main():
    a = args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    xte, yte = data.load("test")
    xte, yte = xte[:a.test_size], yte[:a.test_size]
    model, meta = trained(a)
    meta = {k: v for k, v in meta.items() if k not in ("export", "test_accuracy")}
    if a.export in ("arith", "both"):
        write_form(model, "arith", a.out, meta, xte, yte)
    if a.export == "qonnx":
        write_form(model, "qonnx", a.out, meta, xte, yte)
    if a.export == "both":
        write_form(model, "qonnx", os.path.splitext(a.out)[0] + "_qonnx.onnx", meta, xte, yte)


if __name__ == "__main__":
    main()
