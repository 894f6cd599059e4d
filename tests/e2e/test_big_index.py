#!/usr/bin/env python3
"""Generated code for tensors of 2^31 elements and more: compile only.

Flat indices of such tensors do not fit int32_t, so every loop variable and
every index the emitters compute from one must be int64_t. Each model here has
tensors above INT32_MAX elements (8 GiB of float: the code is never run). The
test compiles the generated C with gcc and clang (-std=c99, e2e_util.WARN)
and scans it: no int32_t loop may count to a bound above
INT32_MAX, and no int32_t variable may be scaled by a constant into an index
above INT32_MAX (`v * K` with int32_t v whose loop bound times K is too big).
A dense conv too big for the im2col kernel's int32_t offsets is refused with a
clear error. The quantized cases lower to ActQuant, QPool and QConv (bit-serial and
int8 kernels) on 2^31 codes. The loader must still reject tensors whose byte size overflows
(tests/e2e/test_malformed.py, cases *_overflow*); one such case is repeated here.

  test_big_index.py --wrpnc build/wrpnc
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from e2e_util import WARN

INT32_MAX = 2**31 - 1
BIG = [1, 2, 32768, 32768]      # 2^31 elements
PLANE = [1, 2, 46341, 46341]    # one channel plane above 2^31 elements
failures = []


def check(what, ok, detail=""):
    print(("PASS " if ok else "FAIL ") + what + ("" if ok else ": " + detail))
    if not ok:
        failures.append(what)


def model(name, nodes, inputs, out_shape, inits=(), opset=17):
    g = helper.make_graph(nodes, name,
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, s)
                           for n, s in inputs],
                          [helper.make_tensor_value_info("z", TensorProto.FLOAT, out_shape)],
                          initializer=list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def cases():
    n = helper.make_node
    yield "eltwise", model("eltwise", [n("Relu", ["x"], ["r"]), n("Add", ["r", "y"], ["s"]),
                                       n("Sigmoid", ["s"], ["z"])],
                           [("x", BIG), ("y", BIG)], BIG)
    yield "broadcast", model("broadcast", [n("Mul", ["x", "y"], ["z"])],
                             [("x", BIG), ("y", [1, 1, 1, 32768])], BIG)
    yield "movement", model(
        "movement", [n("Transpose", ["x"], ["t"], perm=[0, 1, 3, 2]),
                     n("Concat", ["t", "x"], ["c"], axis=1),
                     n("Slice", ["c", "st", "en"], ["s"]),
                     n("Pad", ["s", "pads"], ["z"])],
        [("x", BIG)], None,
        [init("st", np.array([1], np.int64)), init("en", np.array([3], np.int64)),
         init("pads", np.array([0, 0, 0, 1, 0, 0, 0, 1], np.int64))])
    yield "reduce_softmax", model(
        "reduce_softmax", [n("Softmax", ["x"], ["s"], axis=1),
                           n("ReduceMax", ["s"], ["r"], axes=[3], keepdims=1),
                           n("Mul", ["s", "r"], ["z"])],
        [("x", BIG)], BIG, opset=13)
    yield "depthwise", model(
        "depthwise", [n("Conv", ["x", "w"], ["z"], group=2, kernel_shape=[3, 3],
                        pads=[1, 1, 1, 1])],
        [("x", PLANE)], PLANE, [init("w", np.ones((2, 1, 3, 3), np.float32))])
    yield "pointwise", model(
        "pointwise", [n("Conv", ["x", "w"], ["z"], kernel_shape=[1, 1])],
        [("x", BIG)], None, [init("w", np.ones((1, 2, 1, 1), np.float32))])
    # quantized: ActQuant, QConv (bit-serial and int8) and a QPool over 2^31 codes
    for kernel, hi in (("bitserial", 3), ("int8", 127)):
        yield f"qconv_{kernel}", model(
            f"qconv_{kernel}",
            [n("QuantizeLinear", ["x", "s", "zp"], ["q"]), n("Clip", ["q", "lo", "hi"], ["c"]),
             n("DequantizeLinear", ["c", "s", "zp"], ["d"]),
             n("MaxPool", ["d"], ["m"], kernel_shape=[1, 2], strides=[1, 1], pads=[0, 0, 0, 1]),
             n("Conv", ["m", "w"], ["z"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
            [("x", BIG)], None,
            [init("s", np.float32(0.25)), init("zp", np.uint8(0)), init("lo", np.uint8(0)),
             init("hi", np.uint8(hi)), init("w", np.ones((2, 2, 3, 3), np.float32))], opset=13)
    yield "pool", model("pool", [n("MaxPool", ["x"], ["p"], kernel_shape=[1, 2]),
                                 n("AveragePool", ["x"], ["q"], kernel_shape=[1, 2]),
                                 n("Add", ["p", "q"], ["z"])],
                        [("x", PLANE)], None)


LOOP = re.compile(r"for \(int32_t (\w+) = [^;]*; \1 < (\d+);")
INT32_VARS = re.compile(r"\bint32_t (\w+) = ")


def scan(src):
    """Loops and scalings of int32_t variables that cannot hold their values."""
    bad, bound = [], {}
    for m in LOOP.finditer(src):
        bound[m.group(1)] = max(bound.get(m.group(1), 0), int(m.group(2)))
        if int(m.group(2)) > INT32_MAX:
            bad.append(m.group(0))
    for var, b in bound.items():
        for m in re.finditer(r"\b%s \* (\d+)" % re.escape(var), src):
            if b * int(m.group(1)) > INT32_MAX:
                bad.append(m.group(0))
    return bad


def compile_c(out, name):
    srcs = [os.path.join(out, f) for f in os.listdir(out) if f.endswith(".c")]
    for cc in ("gcc", "clang"):
        if not shutil.which(cc):
            print(f"SKIP {name}: {cc} missing")
            continue
        errs = ""
        for src in srcs:
            r = subprocess.run([cc, "-std=c99", "-O1", *WARN, "-c", "-I", out, src, "-o",
                                os.devnull], capture_output=True, text=True)
            errs += r.stderr if r.returncode else ""
        check(f"{name}: builds with {cc} -Wpedantic -Werror", not errs, errs[-2000:])


def conv_refused(wrpnc, tmp):
    """A dense 3x3 conv over planes of 2^31 elements: the im2col kernel indexes with
    int32_t, so wrpnc must refuse it with a clear error, not emit overflowing code."""
    path = os.path.join(tmp, "dense.onnx")
    onnx.save(model("dense", [helper.make_node("Conv", ["x", "w"], ["z"], kernel_shape=[3, 3],
                                               pads=[1, 1, 1, 1])],
                    [("x", PLANE)], None, [init("w", np.ones((2, 2, 3, 3), np.float32))]), path)
    r = subprocess.run([wrpnc, "compile", path, "-o", os.path.join(tmp, "dense")],
                       capture_output=True, text=True)
    check("dense conv above 2^31 elements per image refused cleanly",
          r.returncode == 1 and "2^31" in r.stderr, f"exit {r.returncode}: {r.stderr.strip()}")


def byte_overflow(wrpnc, tmp):
    """A float tensor of 2^62 elements: its byte size overflows int64."""
    path = os.path.join(tmp, "overflow.onnx")
    onnx.save(model("overflow", [helper.make_node("Relu", ["x"], ["z"])],
                    [("x", [1 << 31, 1 << 31])], None), path)
    r = subprocess.run([wrpnc, "compile", path, "-o", os.path.join(tmp, "ov")],
                       capture_output=True, text=True)
    check("byte-size overflow rejected cleanly", r.returncode == 1 and "error" in r.stderr,
          f"exit {r.returncode}: {r.stderr.strip()}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, m in cases():
            path, out = os.path.join(tmp, name + ".onnx"), os.path.join(tmp, name)
            onnx.save(m, path)
            for target in ("generic", "avx2"):
                r = subprocess.run([a.wrpnc, "compile", path, "-o", out, "--target", target],
                                   capture_output=True, text=True)
                check(f"{name} ({target}): compiles", r.returncode == 0, r.stderr.strip())
                if r.returncode != 0:
                    continue
                with open(os.path.join(out, name + ".c")) as f:
                    bad = scan(f.read())
                check(f"{name} ({target}): 64-bit indices", not bad, "; ".join(bad[:5]))
                if target == "generic":
                    compile_c(out, name)
        conv_refused(a.wrpnc, tmp)
        byte_overflow(a.wrpnc, tmp)
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
