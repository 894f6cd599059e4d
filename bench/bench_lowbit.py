#!/usr/bin/env python3
"""Low-bit QConv kernels against the fp32 Conv kernel on a ResNet-18 3x3 conv shape.

Shape: stage-3 3x3 conv, pad 1, 14x14 pixels, C = M = 256 (width 1x) and 512 (2x).
Variants: fp32 Conv; wrpnc::QConv (PackAct + QConv, float epilogue) at W/A bits
1/1, 2/2 (bit-serial) and 4/4, 8/8 (int8 path), as the cost model picks them.
Each model is built once for the target; the table shows CPU milliseconds per
run (mean over REPS runs, fp32 over REPS/10) and the speed ratio over fp32 at
the same width. The fp32 Conv is whatever kernel this tree's Conv emitter writes.

  bench_lowbit.py --wrpnc build/wrpnc [--target avx2] [--reps 20] [--widths 1,2]
"""
import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def fp32_model(C, H, rng):
    w = rng.normal(0, 0.05, size=(C, C, 3, 3)).astype(np.float32)
    g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])],
                          "fp32", [helper.make_tensor_value_info("x", 1, [1, C, H, H])],
                          [helper.make_tensor_value_info("y", 1, [1, C, H, H])],
                          [numpy_helper.from_array(w, "w")])
    x = rng.uniform(0, 1, size=(1, C, H, H)).astype(np.float32)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), x


def q_model(C, H, wb, ab, rng):
    m = 2 ** (wb - 1) - 1 if wb > 1 else 1
    w = rng.integers(-m, m + 1, size=(C, C, 3, 3)).astype(np.int8)
    if wb == 1:
        w = np.where(w < 0, -1, 1).astype(np.int8)
    layout = "bitserial" if wb * ab <= 5 else "int8"
    s = np.full(C, 0.01, np.float32)
    nodes = [helper.make_node("PackAct", ["x"], ["p"], domain="wrpnc", bits=ab, layout=layout),
             helper.make_node("QConv", ["p", "w", "s"], ["y"], domain="wrpnc", abits=ab,
                              wbits=wb, layout=layout, pads=[1, 1, 1, 1])]
    g = helper.make_graph(nodes, "q", [helper.make_tensor_value_info("x", TensorProto.UINT8,
                                                                     [1, C, H, H])],
                          [helper.make_tensor_value_info("y", 1, [1, C, H, H])],
                          [numpy_helper.from_array(w, "w"), numpy_helper.from_array(s, "s")])
    x = rng.integers(0, 2 ** ab, size=(1, C, H, H)).astype(np.uint8)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                               helper.make_opsetid("wrpnc", 1)]), x, layout


def time_model(a, root, name, model, x):
    """CPU milliseconds per run of the generated code (user + sys of the harness).

    CPU time rather than wall time: on a loaded machine the wall clock mostly
    measures waiting for a core. The harness is built once by `wrpnc run --keep`,
    then run with -r REPS; a second run with -r 1 is subtracted (load, I/O)."""
    d = os.path.join(root, name)
    os.makedirs(d)
    onnx.save(model, os.path.join(d, "model.onnx"))
    with open(os.path.join(d, "x.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x, "x").SerializeToString())
    r = subprocess.run([a.wrpnc, "run", os.path.join(d, "model.onnx"), "--input",
                        os.path.join(d, "x.pb"), "--output-dir", os.path.join(d, "out"),
                        "--target", a.target, "--keep"], capture_output=True, text=True)
    kept = re.search(r"kept in (\S+)", r.stderr)
    if r.returncode or not kept:
        sys.exit(f"{name}: failed\n{r.stdout}{r.stderr}")
    gen = kept.group(1)
    exe = [os.path.join(gen, f) for f in os.listdir(gen) if f.endswith("_harness")][0]
    reps = a.reps if "fp32" not in name else max(2, a.reps // 10)

    def cpu(n):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([exe, "-r", str(n), "-w", "0", os.path.join(gen, "in0.bin"),
                        os.path.join(gen, "out0.bin")], check=True, capture_output=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    one = cpu(1)
    many = cpu(reps + 1)
    subprocess.run(["rm", "-rf", gen])
    return max(many - one, 1e-9) / reps * 1e3


def ort_ms(model, x, reps):
    """CPU ms per run of the same fp32 conv in ONNX Runtime, one thread (a yardstick
    for a tuned fp32 kernel)."""
    import time

    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    sess.run(None, {"x": x})
    t0 = time.process_time()
    for _ in range(reps):
        sess.run(None, {"x": x})
    return (time.process_time() - t0) / reps * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--target", default="avx2")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--widths", default="1,2")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    H = 14
    print(f"ResNet-18 stage-3 3x3 conv, {H}x{H}, pad 1, target {a.target}, CPU ms per run")
    print(f"{'width':>5} {'C=M':>5} {'variant':>16} {'cpu ms':>9} {'vs fp32':>8}")
    with tempfile.TemporaryDirectory() as root:
        for wd in [int(v) for v in a.widths.split(",")]:
            C = 256 * wd
            model, x = fp32_model(C, H, rng)
            base = time_model(a, root, f"fp32_{wd}", model, x)
            print(f"{wd:>4}x {C:>5} {'fp32':>16} {base:9.3f} {1.0:8.2f}", flush=True)
            t = ort_ms(model, x, a.reps)
            print(f"{wd:>4}x {C:>5} {'fp32 onnxruntime':>16} {t:9.3f} {base / t:8.2f}", flush=True)
            for bits in (1, 2, 4, 8):
                model, x, layout = q_model(C, H, bits, bits, rng)
                t = time_model(a, root, f"q{bits}_{wd}", model, x)
                print(f"{wd:>4}x {C:>5} {f'{bits}x{bits} {layout}':>16} {t:9.3f} "
                      f"{base / t:8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
