#!/usr/bin/env python3
"""bench_chain.py: how `wrpnc compile` time grows with the depth of a model.

Builds chains of N layers (N = 1000 and 5000 by default), each layer
  Conv 1x1 (4 -> 4 channels, 8x8) -> Add (a per-channel constant) -> Tanh
  -> Reshape (to the same shape)
so that the memory plan meets in-place ops and views on every layer (Add and
Tanh write over their input, Reshape is removed as a no-op), and measures
`wrpnc compile --target generic` on each: wall time, CPU time (user +
system) and peak RSS of that process (from wait4), plus CPU time per layer.
A linear compiler keeps CPU ms per layer flat as N grows; a quadratic pass
multiplies it by the growth of N.

  bench_chain.py --wrpnc build/wrpnc [--layers 1000,5000] [--reps 3] [--keep DIR]
"""
import argparse
import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_compile import measure  # noqa: E402


def chain(n):
    """The N-layer chain as an ONNX model."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], [numpy_helper.from_array(np.array([1, 4, 8, 8], np.int64), "shape")]
    rng = np.random.RandomState(0)
    x = "x"
    for i in range(n):
        inits.append(numpy_helper.from_array(
            rng.uniform(-0.5, 0.5, (4, 4, 1, 1)).astype(np.float32), f"w{i}"))
        inits.append(numpy_helper.from_array(
            rng.uniform(-0.1, 0.1, (1, 4, 1, 1)).astype(np.float32), f"b{i}"))
        nodes += [helper.make_node("Conv", [x, f"w{i}"], [f"c{i}"], name=f"conv{i}"),
                  helper.make_node("Add", [f"c{i}", f"b{i}"], [f"a{i}"], name=f"add{i}"),
                  helper.make_node("Tanh", [f"a{i}"], [f"t{i}"], name=f"tanh{i}"),
                  helper.make_node("Reshape", [f"t{i}", "shape"], [f"r{i}"], name=f"reshape{i}")]
        x = f"r{i}"
    vi = [helper.make_tensor_value_info(nm, TensorProto.FLOAT, [1, 4, 8, 8]) for nm in ("x", x)]
    g = helper.make_graph(nodes, "chain", vi[:1], vi[1:], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--layers", default="1000,5000")
    ap.add_argument("--reps", type=int, default=3, help="compiles per size; the best is shown")
    ap.add_argument("--keep", help="work in this folder and keep it")
    a = ap.parse_args()
    work = a.keep or tempfile.mkdtemp(prefix="wrpnc-bench-chain-")
    os.makedirs(work, exist_ok=True)
    wrpnc = os.path.abspath(a.wrpnc)
    failed = False
    print("| layers | nodes | wall s | CPU s | CPU ms / layer | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    try:
        for n in [int(s) for s in a.layers.split(",")]:
            path = os.path.join(work, f"chain{n}.onnx")
            if not os.path.exists(path):
                import onnx
                onnx.save(chain(n), path)
            runs = []
            for _ in range(a.reps):
                out = os.path.join(work, f"out{n}")
                shutil.rmtree(out, ignore_errors=True)
                rc, wall, cpu, rss, err = measure([wrpnc, "compile", path, "-o", out,
                                                   "--target", "generic"])
                if rc != 0:
                    print(f"chain of {n}: wrpnc compile failed ({rc}): {err.strip()}")
                    failed = True
                    break
                runs.append((cpu, wall, rss))
            if runs:
                cpu, wall, rss = min(runs)
                print(f"| {n} | {4 * n} | {wall:.2f} | {cpu:.2f} | {1000 * cpu / n:.3f} "
                      f"| {rss:.0f} |")
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
