#!/usr/bin/env python3
"""Integer arithmetic at the edges of its type: Add, Sub, Mul, Neg, Abs, Sum and
PRelu on int32, int64 and uint16 operands at and near their limits wrap around,
as numpy computes them (and ONNX Runtime on these CPUs). Checked three ways per
dtype, one model each: the generated C (built with UBSan, so signed overflow in
it is an error), the reference interpreter on the same inputs, and constant
folding at load (the operands as initializers, the outputs then constants).

  test_int_wrap.py --wrpnc build/wrpnc [--cc clang]

Ends with "N passed, N failed, N skipped".
"""
import argparse
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

from e2e_util import Tally, scratch

OPS = ["Add", "Sub", "Mul", "Neg", "Abs", "Sum", "PRelu"]
UNARY = {"Neg", "Abs"}
SIGNED_ONLY = {"Neg", "Abs", "PRelu"}
UBSAN = "-fsanitize=undefined -fno-sanitize-recover=undefined"


def operands(dt):
    """Values at and next to the limits, paired so that every op overflows somewhere."""
    lo, hi = int(np.iinfo(dt).min), int(np.iinfo(dt).max)
    if lo < 0:
        a = [lo, lo + 1, -1, 0, 1, hi - 1, hi, hi // 2 + 1]
        b = [-1, lo, lo, 7, hi, 2, 2, 3]
    else:  # uint16: 65535 * 65535 overflows int, to which C promotes the operands
        a = [0, 1, 255, 256, 65534, 65535, 40000, 32768]
        b = [65535, 65535, 257, 256, 2, 65535, 40000, 2]
    return np.array(a, dtype=dt), np.array(b, dtype=dt)


def expected(op, a, b):
    with np.errstate(over="ignore"):
        return {"Add": a + b, "Sub": a - b, "Mul": a * b, "Neg": -a, "Abs": np.abs(a),
                "Sum": a + b, "PRelu": np.where(a < 0, a * b, a)}[op]


def model(dt, ops, folded, a, b):
    t = helper.np_dtype_to_tensor_dtype(np.dtype(dt))
    nodes = [helper.make_node(op, ["A"] if op in UNARY else ["A", "B"], [f"y_{op}"], name=op)
             for op in ops]
    vi = [helper.make_tensor_value_info(n, t, [len(a)]) for n in ("A", "B")]
    outs = [helper.make_tensor_value_info(f"y_{op}", t, [len(a)]) for op in ops]
    inits = [numpy_helper.from_array(a, "A"), numpy_helper.from_array(b, "B")] if folded else []
    g = helper.make_graph(nodes, "wrap", [] if folded else vi, outs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def run(a_, wrpnc, path, inputs, out, engine):
    cmd = [wrpnc, "run", path, "--output-dir", out, "--engine", engine, "--target", "generic",
           "--cc", a_.cc]
    for f in inputs:
        cmd += ["--input", f]
    env = dict(os.environ, WRPNC_CFLAGS=UBSAN, WRPNC_NO_EMULATION="1")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    if r.returncode != 0 or "runtime error" in r.stderr:
        raise RuntimeError(f"wrpnc run --engine {engine} ({r.returncode}): {r.stderr.strip()[-500:]}")


def check_dtype(a_, t, dt, d):
    a, b = operands(dt)
    ops = [op for op in OPS if np.issubdtype(dt, np.signedinteger) or op not in SIGNED_ONLY]
    files = []
    for name, v in (("A", a), ("B", b)):
        files.append(os.path.join(d, f"{name}.pb"))
        with open(files[-1], "wb") as f:
            f.write(numpy_helper.from_array(v, name).SerializeToString())
    for how in ("c", "interp", "folded"):
        path = os.path.join(d, f"{how}.onnx")
        onnx.save(model(dt, ops, how == "folded", a, b), path)
        out = os.path.join(d, how)
        try:
            run(a_, a_.wrpnc, path, [] if how == "folded" else files, out,
                "c" if how == "c" else "interp")
        except RuntimeError as e:
            t.error(f"{np.dtype(dt).name} [{how}]: {e}")
            continue
        for i, op in enumerate(ops):
            got = numpy_helper.to_array(onnx.load_tensor(os.path.join(out, f"output_{i}.pb")))
            want = expected(op, a, b)
            t.check(np.array_equal(got, want),
                    f"{np.dtype(dt).name} {op} [{how}]"
                    + ("" if np.array_equal(got, want) else f": {got} vs numpy {want}"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--cc", default=shutil.which("clang") or "cc")
    a_ = ap.parse_args()
    a_.wrpnc = os.path.abspath(a_.wrpnc)
    t = Tally()
    for dt in (np.int32, np.int64, np.uint16):
        with scratch("wrpnc-wrap-") as d:
            check_dtype(a_, t, dt, d)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
