#!/usr/bin/env python3
"""test_install.py: wrpnc installed with `cmake --install` into a temporary prefix,
used by a project outside this tree.

  - the prefix holds bin/wrpnc, the runtime headers and the CMake helper;
  - a CMake project finds it (find_package(wrpnc) through CMAKE_PREFIX_PATH) and builds
    two models with wrpnc_add_model: one with ISA native, one whose weights go to
    NAME_weights.c (--weights auto over a small --weights-threshold), and a program
    with -Wall -Wextra -Werror that includes a runtime header and runs both: their
    outputs match ONNX Runtime's;
  - the installed `wrpnc compare` writes its report with no Python: every python on
    PATH is a trap that records being run, and stays untouched.

    python tests/e2e/test_install.py --wrpnc build/wrpnc
"""
import argparse
import os
import stat
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

from e2e_util import Tally, scratch

PROJECT = """cmake_minimum_required(VERSION 3.20)
project(outside C)
find_package(wrpnc REQUIRED)
wrpnc_add_model(small_model MODEL ${CMAKE_SOURCE_DIR}/small.onnx NAME small ISA native)
wrpnc_add_model(big_model MODEL ${CMAKE_SOURCE_DIR}/big.onnx NAME big
                OPTIONS --weights-threshold 64)
add_executable(app main.c)
set_target_properties(app PROPERTIES C_STANDARD 99)
target_compile_options(app PRIVATE -Wall -Wextra -Werror)
target_include_directories(app PRIVATE ${WRPNC_INCLUDE_DIR})
target_link_libraries(app PRIVATE small_model big_model)
"""

MAIN = r"""#include <stdio.h>
#include "big.h"
#include "small.h"
#include "wrpnc_pack.h"

static float x[SMALL_INPUT_0_COUNT], ys[SMALL_OUTPUT_0_COUNT], yb[BIG_OUTPUT_0_COUNT];
SMALL_WORKSPACE_DECLARE(ws_small);
BIG_WORKSPACE_DECLARE(ws_big);

int main(void)
{
    double s = 0, b = 0;
    for (int i = 0; i < SMALL_INPUT_0_COUNT; i++)
        x[i] = (float)(i % 7) * 0.25f - 0.5f;
    small_run(x, ys, ws_small);
    big_run(x, yb, ws_big);
    for (int i = 0; i < SMALL_OUTPUT_0_COUNT; i++)
        s += (double)ys[i];
    for (int i = 0; i < BIG_OUTPUT_0_COUNT; i++)
        b += (double)yb[i];
    printf("%.9g %.9g %d\n", s, b, (int)WRPNC_MASK64(3));
    return 0;
}
"""


def conv_model(path, cout, seed):
    r = np.random.default_rng(seed)
    w = numpy_helper.from_array(r.standard_normal((cout, 3, 3, 3)).astype(np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["y"])]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", 1, [1, 3, 6, 6])],
                          [helper.make_tensor_value_info("y", 1, [1, cout, 6, 6])], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.save(m, path)
    return path


def sh(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stdout[-1500:]}"
                           f"\n{r.stderr[-1500:]}")
    return r.stdout


def expected(path):
    x = (np.arange(3 * 36) % 7 * 0.25 - 0.5).astype(np.float32).reshape(1, 3, 6, 6)
    y = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    return float(y.astype(np.float64).sum())


def project(t, tmp, prefix):
    src = os.path.join(tmp, "proj")
    os.makedirs(src)
    small = conv_model(os.path.join(src, "small.onnx"), 4, 1)
    big = conv_model(os.path.join(src, "big.onnx"), 8, 2)
    for name, text in (("CMakeLists.txt", PROJECT), ("main.c", MAIN)):
        with open(os.path.join(src, name), "w") as f:
            f.write(text)
    bld = os.path.join(tmp, "proj-build")
    sh(["cmake", "-S", src, "-B", bld, "-DCMAKE_PREFIX_PATH=" + prefix])
    sh(["cmake", "--build", bld])
    weights = os.path.join(bld, "wrpnc_big", "big_weights.c")
    stub = os.path.join(bld, "wrpnc_small", "small_weights.c")
    t.check(os.path.getsize(weights) > 100 and "static const" not in
            open(os.path.join(bld, "wrpnc_big", "big.c")).read(),
            "the big model's weights are in big_weights.c, and linked")
    t.check("weights are inline" in open(stub).read(), "the small model's weights stay inline")
    t.check("-mavx2" in open(os.path.join(bld, "CMakeFiles", "small_model.dir", "flags.make"))
            .read() or "avx2" not in sh([os.path.join(prefix, "bin", "wrpnc"), "targets"]),
            "ISA native builds with the native target's flags")
    got = sh([os.path.join(bld, "app")]).split()
    want = (expected(small), expected(big))
    ok = all(abs(float(g) - w) <= 1e-4 * max(1.0, abs(w)) for g, w in zip(got, want))
    t.check(ok and got[2] == "7", f"the program's outputs {got[:2]} match ONNX Runtime's {want}")
    return small


def no_python(t, tmp, prefix, model):
    trap = os.path.join(tmp, "trap")
    os.makedirs(trap)
    mark = os.path.join(tmp, "python-ran")
    for name in ("python", "python3"):
        p = os.path.join(trap, name)
        with open(p, "w") as f:
            f.write(f"#!/bin/sh\ntouch {mark}\nexit 1\n")
        os.chmod(p, stat.S_IRWXU)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WRPNC_")}
    env["PATH"] = trap + ":/usr/bin:/bin"
    rep = os.path.join(tmp, "rep")
    r = subprocess.run([os.path.join(prefix, "bin", "wrpnc"), "compare", model, "--variants",
                        "fp32, w4a4", "--report", rep, "--samples", "2", "--reps", "2", "-j",
                        "1"], capture_output=True, text=True, env=env)
    files = all(os.path.exists(os.path.join(rep, "report." + e))
                for e in ("md", "csv", "json", "svg", "html"))
    t.check(r.returncode == 0 and files and not os.path.exists(mark),
            f"the installed wrpnc compare needs no Python: exit {r.returncode}, "
            f"python ran: {os.path.exists(mark)} {r.stderr.strip()[-300:]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    build = os.path.dirname(os.path.abspath(a.wrpnc))
    t = Tally()
    with scratch("wrpnc-install-") as tmp:
        prefix = os.path.join(tmp, "prefix")
        sh(["cmake", "--install", build, "--prefix", prefix])
        want = ["bin/wrpnc", "include/wrpnc/wrpnc_pack.h", "include/wrpnc/wrpnc_float.h",
                "lib/cmake/wrpnc/WrpncModel.cmake", "lib/cmake/wrpnc/wrpncConfig.cmake"]
        missing = [w for w in want if not os.path.exists(os.path.join(prefix, w))]
        t.check(not missing, f"installed: {', '.join(want)} (missing {missing})")
        try:
            model = project(t, tmp, prefix)
            no_python(t, tmp, prefix, model)
        except RuntimeError as e:
            t.error(e)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
