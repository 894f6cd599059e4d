#!/usr/bin/env python3
"""test_api.py: the generated header as README.md shows it.

The C snippet under "### The generated code" in README.md is compiled as it
stands (-std=c99 and the warnings of e2e_util.WARN, gcc and clang) against a
model generated with --name resnet18, linked and run; its outputs are checked
against ONNX Runtime's (zero input). NAME_WORKSPACE_DECLARE is checked in each
of its branches: GNU C (aligned to NAME_WORKSPACE_ALIGN), C11 _Alignas and the
C99 union (clang with __GNUC__ undefined; gcc's own headers need it).

    python tests/e2e/test_api.py --wrpnc build/wrpnc
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

from e2e_util import ROOT, WARN, Tally, scratch

# Prints the output sum (the README snippet computes it on zeros) and ws's alignment.
CHECK = r'''
#include <stdint.h>
#include <stdio.h>
#include "resnet18.h"
static float in[RESNET18_INPUT_0_COUNT], out[RESNET18_OUTPUT_0_COUNT];
RESNET18_WORKSPACE_DECLARE(ws);
int main(void)
{
    double sum = 0;
    resnet18_run(in, out, ws);
    for (int i = 0; i < RESNET18_OUTPUT_0_COUNT; i++)
        sum += (double)out[i];
    printf("%.9g %u\n", sum, (unsigned)((uintptr_t)(void *)ws % RESNET18_WORKSPACE_ALIGN));
    return 0;
}
'''


def model(path):
    r = np.random.default_rng(9)
    w = numpy_helper.from_array(r.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(r.standard_normal(4).astype(np.float32), "b")
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["y"])]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", 1, [1, 3, 6, 6])],
                          [helper.make_tensor_value_info("y", 1, [1, 4, 6, 6])], [w, b])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.save(m, path)
    return path


def snippet():
    text = open(os.path.join(ROOT, "README.md")).read()
    sec = text[text.index("### The generated code"):]
    return re.search(r"```c\n(.*?)```", sec, re.S).group(1)


def build(cc, flags, srcs, out, exe):
    r = subprocess.run([cc, *flags, "-I", out, *srcs, "-o", exe, "-lm"], capture_output=True,
                       text=True)
    return r.returncode == 0, r.stderr.strip()[-600:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    t = Tally()
    with scratch("wrpnc-api-") as tmp:
        path = model(os.path.join(tmp, "m.onnx"))
        out = os.path.join(tmp, "gen")
        subprocess.run([a.wrpnc, "compile", path, "-o", out, "--name", "resnet18", "--target",
                        "generic"], check=True, capture_output=True)
        obj = os.path.join(tmp, "resnet18.o")
        subprocess.run(["cc", "-std=c99", "-O1", *WARN, "-c", os.path.join(out, "resnet18.c"),
                        "-o", obj], check=True)
        want = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(
            None, {"x": np.zeros((1, 3, 6, 6), np.float32)})[0].astype(np.float64).sum()
        readme = os.path.join(tmp, "readme.c")
        with open(readme, "w") as f:
            f.write(snippet())
        check = os.path.join(tmp, "check.c")
        with open(check, "w") as f:
            f.write(CHECK)
        for cc in ("gcc", "clang"):
            if not shutil.which(cc):
                t.skip(f"{cc} is not installed")
                continue
            exe = os.path.join(tmp, "readme-" + cc)
            ok, err = build(cc, ["-std=c99", *WARN], [readme, obj], out, exe)
            t.check(ok and subprocess.run([exe]).returncode == 0,
                    f"README's snippet builds with {cc} -std=c99 {' '.join(WARN)} and runs {err}")
        branches = [("gcc", ["-std=c99"], "GNU C aligned", True),
                    ("clang", ["-std=c99"], "GNU C aligned", True),
                    ("clang", ["-std=c11", "-U__GNUC__"], "C11 _Alignas", True),
                    ("clang", ["-std=c99", "-U__GNUC__"], "C99 union", False)]
        for cc, flags, what, aligned in branches:
            if not shutil.which(cc):
                t.skip(f"{what}: {cc} is not installed")
                continue
            exe = os.path.join(tmp, "check")
            ok, err = build(cc, [*flags, *WARN], [check, obj], out, exe)
            got = subprocess.run([exe], capture_output=True, text=True).stdout.split() if ok \
                else ["nan", "1"]
            same = abs(float(got[0]) - want) <= 1e-4 * max(1.0, abs(want))
            t.check(ok and same and (got[1] == "0" or not aligned),
                    f"NAME_WORKSPACE_DECLARE, {what} ({cc} {' '.join(flags)}): output sum "
                    f"{got[0]} (ONNX Runtime {want:.9g}), offset from 64 {got[1]} {err}")
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
