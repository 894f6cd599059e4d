#!/usr/bin/env python3
"""Instructions per output of the QConv kernels (valgrind --tool=callgrind), per layer.

Wall and CPU time are noisy on a loaded machine; instruction counts are repeatable,
so kernel changes are compared by them (and timed by bench_lowbit.py). For each layer
of bench_lowbit.LAYERS, width and variant of bench_lowbit.QVARIANTS (and our fp32
Conv), builds the model with `wrpnc run --keep`, runs the harness once under
callgrind collecting only inside the layer's function (the node that holds the Conv
or QConv, inclusive; clang -O2 as the benchmarks, with -fno-inline-functions so
that the node stays a function), and prints instructions per output element and per MAC.
--e2e counts bench_lowbit's end-to-end networks instead: 2x-wide ResNet-18 (weights
redrawn as there) at W/A bits k/k for k in --e2e-bits, one inference, with the share of
the float first conv (its node, inclusive).

  lowbit_insns.py --wrpnc build/wrpnc [--target avx2] [--widths 1,2]
                  [--layers s2,s3,s4,d3] [--variants 1x1,2x2,...] [--no-fp32]
                  [--e2e [--e2e-bits 2,1,4]]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_lowbit as bl  # noqa: E402
import kept  # noqa: E402


def layer_function(gen, op):
    """The name of the generated function of the first node whose op is `op`."""
    src = open(os.path.join(gen, [f for f in os.listdir(gen) if f.endswith(".c") and
                                  "harness" not in f and "weights" not in f][0])).read()
    m = re.search(r"/\* node \d+: %s .*?\*/\s*static void (\w+)\(" % op, src, re.S)
    if not m:
        sys.exit(f"no {op} node in {gen}")
    return m.group(1)


def insns(a, root, name, model, x, op):
    """Instructions executed inside the layer's function, one run."""
    d = os.path.join(root, name)
    os.makedirs(d)
    path = os.path.join(d, "model.onnx")
    bl.onnx.save(model, path)
    # node functions (not `inline`) stay out of line; the static inline helpers and
    # intrinsics are still inlined
    gen, exe = kept.build(a.wrpnc, path, x, d, ["--target", a.target, "--cc", "clang",
                                                 "--cflags", "-fno-inline-functions"])
    n = kept.callgrind(exe, layer_function(gen, op), os.path.join(d, "callgrind.out"))
    subprocess.run(["rm", "-rf", gen])
    return n


def inclusive(out, fn):
    """Instructions inside fn and its callees, from callgrind_annotate."""
    r = subprocess.run(["callgrind_annotate", "--inclusive=yes", out], check=True,
                       capture_output=True, text=True).stdout
    m = re.search(r"^\s*([\d,]+) .*:%s " % fn, r, re.M)
    return int(m.group(1).replace(",", "")) if m else 0


def e2e(a, root):
    """2x-wide ResNet-18 at each W/A width: instructions of one inference, and the stem's."""
    fp = bl.resnet18(root, 224)
    wide, wq = os.path.join(root, "w2.onnx"), os.path.join(root, "w2_u.onnx")
    subprocess.run([a.wrpnc, "widen", fp, "-o", wide, "--width", "2"], check=True,
                   capture_output=True)
    bl.redraw_conv_weights(wide, wq, np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((1, 3, 224, 224)).astype(np.float32)
    print(f"2x-wide ResNet-18, one inference (callgrind), target {a.target}")
    print("| variant | instructions | first conv (codes out) | its share |")
    print("|---|---|---|---|")
    for k in [int(b) for b in a.e2e_bits.split(",")]:
        d = os.path.join(root, f"w{k}")
        os.makedirs(d)
        gen, exe = kept.build(a.wrpnc, wq, x, d, ["--target", a.target, "--cc", "clang",
                                                  "--cflags", "-fno-inline-functions",
                                                  "--wbits", str(k), "--abits", str(k)])
        run_fn = re.sub(r"_node\d+$", "_run", layer_function(gen, "Conv"))
        out = os.path.join(d, "callgrind.out")
        kept.callgrind(exe, run_fn, out)
        total, stem = inclusive(out, run_fn), inclusive(out, layer_function(gen, "Conv"))
        subprocess.run(["rm", "-rf", gen])
        print(f"| W{k}/A{k} | {total} | {stem} | {100 * stem / max(total, 1):.1f} % |",
              flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--target", default="avx2")
    ap.add_argument("--widths", default="1,2")
    ap.add_argument("--layers", default="s2,s3,s4,d3")
    ap.add_argument("--variants", default=None, help="labels of bench_lowbit.QVARIANTS")
    ap.add_argument("--no-fp32", action="store_true")
    ap.add_argument("--e2e", action="store_true", help="2x ResNet-18 end to end instead")
    ap.add_argument("--e2e-bits", default="2,1,4")
    a = ap.parse_args()
    if a.e2e:
        with tempfile.TemporaryDirectory() as root:
            e2e(a, root)
        return 0
    want = a.variants.split(",") if a.variants else None
    rng = np.random.default_rng(0)
    print(f"instructions per output (callgrind, one run, inside the layer), target {a.target}")
    print("| layer | C->M, HxW | variant | instructions / output | per MAC |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as root:
        for layer in a.layers.split(","):
            for wd in [int(v) for v in a.widths.split(",")]:
                geom = bl.geometry(layer, wd)
                C, M, H, k, _, _, OH = geom
                outs, macs = M * OH * OH, M * OH * OH * C * k * k
                rows = []
                if not a.no_fp32:
                    model, x = bl.fp32_model(geom, rng)
                    rows.append(("fp32 (ours)", model, x, "Conv"))
                for label, kernel, ab, wb, signed in bl.QVARIANTS:
                    model, x = bl.q_model(geom, wb, ab, rng, kernel, signed)
                    if want is None or label in want:
                        rows.append((f"{label} {kernel}", model, x, "QConv"))
                for i, (label, model, x, op) in enumerate(rows):
                    n = insns(a, root, f"{layer}_{wd}_{i}", model, x, op)
                    print(f"| {wd}x {bl.LAYERS[layer][0]} | {C}->{M}, {OH}x{OH} | {label} | "
                          f"{n / outs:.1f} | {n / macs:.4f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
