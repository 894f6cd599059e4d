#!/usr/bin/env python3
"""Trains the Fashion-MNIST CNN the WRPN way and exports it to ONNX.

  train.py --width 2 --wbits 4 --abits 4 --epochs 4 --out fmnist_w2_4b.onnx

Writes MODEL.onnx, MODEL.json (settings and the framework's test accuracy)
and MODEL.pred.u8 (the framework's predicted class for every test image, one
byte each: the reference the compiled C model is held to). Uses both cores; deterministic for a given --seed.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import wrpn  # noqa: E402


def evaluate(model, x, y):
    model.eval()
    preds = []
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            preds.append(model(torch.from_numpy(x[i:i + 1000])).argmax(1).numpy())
    p = np.concatenate(preds)
    return float((p == y).mean()), p


def train(model, x, y, epochs, lr, seed):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * (len(x) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps)
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


def export(model, path):
    model.eval()
    model.set_exporting(True)
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, opset_version=13,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    model.set_exporting(False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--wbits", type=int, default=32)
    ap.add_argument("--abits", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    xtr, ytr = data.load("train")
    xte, yte = data.load("test")
    model = wrpn.Net(a.width, a.wbits, a.abits)
    train(model, xtr, ytr, a.epochs, a.lr, a.seed)
    acc, pred = evaluate(model, xte, yte)
    export(model, a.out)
    meta = {"width": a.width, "wbits": a.wbits, "abits": a.abits, "epochs": a.epochs,
            "seed": a.seed, "test_accuracy": acc,
            "params": sum(p.numel() for p in model.parameters())}
    base = os.path.splitext(a.out)[0]
    with open(base + ".json", "w") as f:
        json.dump(meta, f)
    pred.astype(np.uint8).tofile(base + ".pred.u8")
    print(f"{a.out}: test accuracy {100 * acc:.2f} %")


if __name__ == "__main__":
    main()
