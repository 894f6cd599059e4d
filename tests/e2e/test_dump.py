#!/usr/bin/env python3
"""Smoke test of `wrpnc compile --dump`: the IR can be printed after every
pass, `--dump=PASS` prints one, and the dumps show the passes at work on
x -> Conv -> Identity -> Relu -> y (Identity gone after remove_noop, Relu
fused into the Conv after fuse_act, kept with --no-fuse).

  test_dump.py --wrpnc build/wrpnc

Prints one line per check, then "N passed, N failed, N skipped".
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
from onnx import TensorProto, helper, numpy_helper

PASSES = ["infer", "remove_noop", "fold_bn", "fuse_act", "dce", "memplan"]


def model(path):
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Identity", ["c"], ["i"]),
             helper.make_node("Relu", ["i"], ["y"])]
    g = helper.make_graph(nodes, "dumped",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    with open(path, "wb") as f:
        f.write(m.SerializeToString())


def dump(wrpnc, path, outdir, *flags):
    """{pass name: dump text} from stderr of wrpnc compile."""
    r = subprocess.run([wrpnc, "compile", path, "-o", outdir, *flags], capture_output=True,
                       text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    parts = re.split(r"^---- after (\S+) ----$", r.stderr, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2])), [p for p in parts[1::2]]


def checks(wrpnc, path, outdir):
    full, order = dump(wrpnc, path, outdir, "--dump")
    yield "every pass dumped, in pipeline order", \
        [p for p in order if p in PASSES] == PASSES
    yield "each dump is a graph with its output", \
        all(t.lstrip().startswith("graph ") and "output %y:" in t for t in full.values())
    yield "Identity present after infer", " Identity " in full.get("infer", "")
    yield "Identity gone after remove_noop", \
        "remove_noop" in full and " Identity " not in full["remove_noop"]
    fused = full.get("fuse_act", "")
    yield "Relu fused into Conv after fuse_act", " Relu " not in fused and "+act" in fused
    one, order = dump(wrpnc, path, outdir, "--dump=fold_bn")
    yield "--dump=fold_bn prints only that pass", order == ["fold_bn"]
    nf, _ = dump(wrpnc, path, outdir, "--dump=fuse_act", "--no-fuse")
    kept = nf.get("fuse_act", "")
    yield "--no-fuse keeps Relu", " Relu " in kept and "+act" not in kept


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dumped.onnx")
        model(path)
        try:
            for what, ok in checks(os.path.abspath(a.wrpnc), path, os.path.join(tmp, "out")):
                print(("PASS  " if ok else "FAIL  ") + what)
                passed += bool(ok)
                failed += not ok
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print(f"FAIL  wrpnc compile --dump: {e}")
            failed += 1
    print(f"{passed} passed, {failed} failed, 0 skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
