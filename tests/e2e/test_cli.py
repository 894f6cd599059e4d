#!/usr/bin/env python3
"""test_cli.py: the command line as a user meets it.

  - `wrpnc --version` prints the project version (CMakeLists.txt);
  - `wrpnc COMMAND --help` for every command `wrpnc --help` lists: exit 0, its usage
    line, and exactly the options it accepts: each option of `wrpnc --help` that a
    command's help leaves out is a usage error there (exit 2, "does not apply"),
    each one it lists is not;
  - usage errors (exit 2): --keep-fp32 naming no node, --dump=PASS naming no pass,
    --wbits without --abits, a zero dim in --input-shape;
  - bad input (exit 1, the error names it): a misspelled --input-shape name (the
    message lists the graph inputs), a .pb whose shape has another rank than the input;
  - `wrpnc verify MODEL DIR` over DIR/test_data_set_*: every set checked against ONNX
    Runtime's outputs, one wrong expected output fails that set and the command.
  - generated C for an x86 target includes <immintrin.h> only when it uses intrinsics
    (a conv does, an Add does not), and both build with the target's flags.

    python tests/e2e/test_cli.py --wrpnc build/wrpnc
"""
import argparse
import os
import re
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from e2e_util import ROOT, Tally, scratch


def wrpnc(exe, *args):
    return subprocess.run([exe] + list(args), capture_output=True, text=True, timeout=300)


def small_model(path):
    r = np.random.default_rng(2)
    w = numpy_helper.from_array(r.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("Relu", ["c"], ["y"], name="relu")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", 1, [1, 3, 5, 5])],
                          [helper.make_tensor_value_info("y", 1, [1, 4, 5, 5])], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.save(m, path)
    return path


def options(text):
    """The long options a help text lists."""
    return set(re.findall(r"^  (?:-\w, )?(--[a-z0-9-]+)", text, re.M))


def test_version_help(t, exe):
    r = wrpnc(exe, "--version")
    cm = open(os.path.join(ROOT, "CMakeLists.txt")).read()
    ver = re.search(r"project\(wrpnc VERSION ([0-9.]+)", cm).group(1)
    t.check(r.returncode == 0 and r.stdout.startswith("wrpnc " + ver),
            f"--version prints wrpnc {ver}: {r.stdout.strip()}")
    top = wrpnc(exe, "--help").stdout
    commands = re.findall(r"^  ([a-z]+) +\1 ", top, re.M)
    every = options(top) - {"--help", "--version"}
    t.check(len(commands) == 10 and "compare" in commands, f"commands listed: {commands}")
    for cmd in commands:
        r = wrpnc(exe, cmd, "--help")
        mine = options(r.stdout) - {"--help"}
        ok = r.returncode == 0 and r.stdout.startswith(f"usage: wrpnc {cmd}")
        t.check(ok and "Traceback" not in r.stderr, f"wrpnc {cmd} --help")
        wrong = []
        model = ["m.onnx"] if "MODEL" in r.stdout.splitlines()[0] else []
        for opt in sorted(every):
            r = wrpnc(exe, cmd, *model, opt, "1")
            refused = r.returncode == 2 and "does not apply" in r.stderr
            if refused == (opt in mine):
                wrong.append(opt)
        t.check(not wrong, f"{cmd}: the options its help lists are exactly those it takes "
                f"(wrong: {wrong})")


def test_usage_errors(t, exe, tmp):
    path = small_model(os.path.join(tmp, "m.onnx"))
    out = os.path.join(tmp, "out")
    cases = [(["--keep-fp32", "conv,nosuchnode"], "'nosuchnode', which is no node"),
             (["--dump=foo"], "--dump=foo names no pass"),
             (["--wbits", "4"], "--wbits and --abits go together"),
             (["--input-shape", "x=1x3x0x5"], "dim 2 is 0"),
             (["--calibrate", tmp], "--calibrate needs --wbits")]
    for args, msg in cases:
        r = wrpnc(exe, "compile", path, "-o", out, *args)
        t.check(r.returncode == 2 and msg in r.stderr,
                f"compile {' '.join(args)}: exit 2, '{msg}' ({r.returncode}: "
                f"{r.stderr.strip()[:200]})")
    r = wrpnc(exe, "compile", path, "-o", out, "--keep-fp32", "conv")
    t.check(r.returncode == 0, f"--keep-fp32 naming a node is fine: {r.stderr.strip()[:200]}")
    r = wrpnc(exe, "compile", path, "-o", out, "--input-shape", "X=1x3x5x5")
    t.check(r.returncode == 1 and "'X', which is not a graph input" in r.stderr and
            "(the graph inputs: 'x')" in r.stderr, f"misspelled input name: {r.stderr.strip()}")


def test_pb_rank(t, exe, tmp):
    path = small_model(os.path.join(tmp, "m.onnx"))
    x = np.zeros((1, 75), np.float32)  # the same bytes as 1x3x5x5, another rank
    pb = os.path.join(tmp, "x.pb")
    with open(pb, "wb") as f:
        f.write(numpy_helper.from_array(x, "x").SerializeToString())
    r = wrpnc(exe, "run", path, "--input", pb, "--output-dir", os.path.join(tmp, "o"),
              "--engine", "interp")
    t.check(r.returncode == 1 and "has shape 1x75 (rank 2), the model wants 1x3x5x5 (rank 4)"
            in r.stderr, f"a .pb of another rank: {r.stderr.strip()}")


def test_verify_sets(t, exe, tmp):
    path = small_model(os.path.join(tmp, "m.onnx"))
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    r = np.random.default_rng(3)
    d = os.path.join(tmp, "data")
    for k in range(3):
        sub = os.path.join(d, f"test_data_set_{k}")
        os.makedirs(sub)
        x = r.standard_normal((1, 3, 5, 5)).astype(np.float32)
        y = s.run(None, {"x": x})[0]
        for name, a in (("input_0", x), ("output_0", y)):
            with open(os.path.join(sub, name + ".pb"), "wb") as f:
                f.write(numpy_helper.from_array(a, name).SerializeToString())
    for engine in ("c", "interp"):
        p = wrpnc(exe, "verify", path, d, "--engine", engine)
        t.check(p.returncode == 0 and "3 of 3 sets passed: PASS" in p.stdout and
                p.stdout.count("test_data_set_") == 3, f"verify DIR of 3 sets ({engine}): "
                f"{p.stdout.strip()[-200:]} {p.stderr.strip()[-200:]}")
    y = np.ones((1, 4, 5, 5), np.float32)
    with open(os.path.join(d, "test_data_set_1", "output_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(y, "output_0").SerializeToString())
    p = wrpnc(exe, "verify", path, d)
    t.check(p.returncode == 1 and "2 of 3 sets passed: FAIL" in p.stdout,
            f"one wrong set fails verify: {p.stdout.strip()[-200:]}")
    p = wrpnc(exe, "verify", path, os.path.join(d, "test_data_set_0"))
    t.check(p.returncode == 0 and p.stdout.strip().endswith("PASS"),
            f"verify one set folder: {p.stdout.strip()[-100:]}")


def add_model(path):
    x = helper.make_tensor_value_info("x", 1, [2, 3])
    g = helper.make_graph([helper.make_node("Add", ["x", "x"], ["y"], name="add")], "g", [x],
                          [helper.make_tensor_value_info("y", 1, [2, 3])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.save(m, path)
    return path


def test_simd_include(t, exe, tmp):
    """<immintrin.h> is most of a small model's build time: only code that uses it has it."""
    models = {"conv": (small_model(os.path.join(tmp, "c.onnx")), True),
              "add": (add_model(os.path.join(tmp, "a.onnx")), False)}
    for target in ("avx2", "avx512"):
        flags = wrpnc(exe, "cflags", "--target", target).stdout.split()
        for what, (path, simd) in models.items():
            out = os.path.join(tmp, f"inc-{what}-{target}")
            r = wrpnc(exe, "compile", path, "-o", out, "--name", "m", "--target", target)
            src = open(os.path.join(out, "m.c")).read() if r.returncode == 0 else ""
            cc = subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"]
                                + flags + [os.path.join(out, "m.c")], capture_output=True,
                                text=True)
            t.check(r.returncode == 0 and ("<immintrin.h>" in src) == simd and ("_mm" in src) == simd
                    and cc.returncode == 0, f"{what} on {target}: includes <immintrin.h> "
                    f"{'(uses intrinsics)' if simd else 'no (uses none)'}, builds "
                    f"{cc.stderr.strip()[-200:]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    exe = os.path.abspath(a.wrpnc)
    t = Tally()
    test_version_help(t, exe)
    with scratch("wrpnc-cli-") as tmp:
        test_usage_errors(t, exe, tmp)
        test_pb_rank(t, exe, tmp)
        test_verify_sets(t, exe, tmp)
        test_simd_include(t, exe, tmp)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
