#!/usr/bin/env python3
"""Workspace budget of a wide low-bit ResNet-18 (a budget test: sizes from `wrpnc info`,
nothing timed).

torchvision ResNet-18 (random weights, 224x224, batch 1) as exported by PyTorch, widened
2x by `wrpnc widen --init random`, quantized with --wbits K --abits K. Between the first
quantizer and the last quantized layer every tensor is packed codes (the stem writes
codes, residual adds fold into the QConv epilogues, pools read codes), so the workspace
must stay within:
  2x w2a2 <= 1/4 and 2x w4a4 <= 1/2 of the 1x fp32 workspace,
with the kernel families pinned (bit planes for k <= 2, bytes above): where the target's
cost model runs 2x2 bits as int8 for speed (AVX2), codes take a byte each instead.
and shrink as k does at 2x width (w8a8 >= w4a4 >= w2a2 >= w1a1), with no float tensor
as large as an activation of the network left in the peak of w2a2.

  test_workspace.py --wrpnc build/wrpnc
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

from e2e_util import Tally


def export(path):
    import torch
    import torchvision
    torch.manual_seed(0)
    net = torchvision.models.resnet18(weights=None).eval()
    torch.onnx.export(net, torch.randn(1, 3, 224, 224), path, opset_version=13,
                      input_names=["x"], output_names=["logits"])


def workspace(wrpnc, model, extra=()):
    r = subprocess.run([wrpnc, "info", model, *extra], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(r.stderr)
    ws = int(re.search(r"^workspace: (\d+) bytes", r.stdout, re.M).group(1))
    peak = r.stdout[r.stdout.index("\npeak:"):] if "\npeak:" in r.stdout else ""
    return ws, peak


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    t = Tally()
    with tempfile.TemporaryDirectory() as root:
        fp, wide = os.path.join(root, "resnet18.onnx"), os.path.join(root, "resnet18_w2.onnx")
        export(fp)
        subprocess.run([a.wrpnc, "widen", fp, "-o", wide, "--width", "2", "--init", "random"],
                       check=True, capture_output=True)
        base, _ = workspace(a.wrpnc, fp)
        ws = {k: workspace(a.wrpnc, wide, ["--wbits", str(k), "--abits", str(k), "--kernel",
                                           "bitserial" if k <= 2 else "int8"])
              for k in (8, 4, 2, 1)}
        print(f"1x fp32 workspace {base} bytes; 2x: " +
              ", ".join(f"w{k}a{k} {v[0]} ({v[0] / base:.3f})" for k, v in ws.items()))
        t.check(ws[2][0] <= base / 4, f"2x w2a2 {ws[2][0]} <= 1/4 of 1x fp32 ({base / 4:.0f})")
        t.check(ws[4][0] <= base / 2, f"2x w4a4 {ws[4][0]} <= 1/2 of 1x fp32 ({base / 2:.0f})")
        t.check(ws[8][0] >= ws[4][0] >= ws[2][0] >= ws[1][0], "2x workspace shrinks with k")
        big = [l for l in ws[2][1].splitlines() if "float32" in l and int(l.split()[0]) >= 1 << 20]
        t.check(not big, "no float tensor of 1 MiB or more in the w2a2 peak" +
                ("" if not big else ":\n" + "\n".join(big)))
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
