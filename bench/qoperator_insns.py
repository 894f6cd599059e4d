#!/usr/bin/env python3
"""Instructions of one inference of the ONNX Runtime QOperator-quantized CNN
(tests/e2e/test_qoperator.py: QuantizeLinear, QLinearConv, MaxPool, QLinearMatMul,
DequantizeLinear) under valgrind --tool=callgrind, counted inside the model's run
function (clang -O2, as the other benchmarks). Instruction counts do not depend on
the load of a shared machine, so they compare code generation changes.

  qoperator_insns.py --wrpnc build/wrpnc [--target avx2] [--reps 5]

Prints, per quantized variant, the instructions of one run and the median wall time
of the harness's own timing loop (--reps runs of 200 inferences).
"""
import argparse
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
sys.path.insert(0, HERE)
import kept  # noqa: E402
import test_qoperator as tq  # noqa: E402


def seconds(gen, exe, reps):
    """Median over reps of the harness's median time per inference (200 each), in ms."""
    ts = []
    for _ in range(reps):
        r = subprocess.run([exe, "-r", "200", "-w", "10", os.path.join(gen, "in0.bin"),
                            os.path.join(gen, "out0.bin")], capture_output=True, text=True,
                           check=True)
        ts.append(float(re.search(r"^median_ns (\S+)", r.stdout, re.M).group(1)) / 1e6)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--target", default="avx2")
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    print(f"ORT QOperator CNN, target {a.target}: instructions of one run (callgrind), "
          f"median over {a.reps} runs of the harness's median ms per inference (200 each)")
    with tempfile.TemporaryDirectory() as tmp:
        for name, path, _ in tq.quantized_models(tmp)[:3]:
            x = np.random.default_rng(1).standard_normal((1, 3, 16, 16)).astype(np.float32)
            gen, exe = kept.build(a.wrpnc, path, x, tmp, ["--target", a.target, "--cc", "clang"])
            mname = os.path.basename(exe)[:-len("_harness")]
            n = kept.callgrind(exe, f"{mname}_run", os.path.join(gen, "callgrind.out"))
            print(f"| {name} | {n} | {seconds(gen, exe, a.reps):.4f} ms |", flush=True)
            subprocess.run(["rm", "-rf", gen])
    return 0


if __name__ == "__main__":
    sys.exit(main())
