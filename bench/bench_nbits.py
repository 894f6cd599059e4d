#!/usr/bin/env python3
"""bench_nbits.py: com.microsoft::MatMulNBits layers shaped like LLM projections,
wrpnc-generated code vs ONNX Runtime (one thread).

One MatMulNBits node per model: A (M x K) float, B N x K codes of --bits bits in
blocks of --block, packed zero points, at accuracy_level 0 (fp32 compute) and 4
(int8 compute). For each wrpnc binary (--wrpnc, and --base for a before/after
comparison) and target: `wrpnc compile`, the C built with the runtime harness (cc
-O2 -std=c99 and `wrpnc cflags`), then the harness's timing: the median over --reps
runs of each run's process CPU time after --warmup runs, and the median of that
over --rounds rounds; ONNX Runtime (intra_op = inter_op = 1 thread) timed the same
way on the same input. ratio = wrpnc / ORT (below 1: wrpnc faster). With
--callgrind, also the instructions of one run of NAME_run (valgrind
--tool=callgrind --toggle-collect), repeatable on a loaded machine. Every line
shows the max abs difference from ONNX Runtime's output at the same level.

  bench_nbits.py --wrpnc build/wrpnc [--base OLD/wrpnc] [--targets generic,avx2]
                 [--rows 1,16] [--K 2048] [--N 2048] [--bits 4] [--block 32]
                 [--levels 0,4] [--reps 20] [--warmup 3] [--rounds 3] [--callgrind]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto as TP, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import kept  # noqa: E402

HARNESS = os.path.join(HERE, "..", "runtime", "wrpnc_harness.c")


def pack(codes, bits):
    """(rows, n) codes -> (rows, n * bits / 8) bytes, low bits first."""
    per = 8 // bits
    c = codes.reshape(codes.shape[0], -1, per).astype(np.uint16)
    out = np.zeros(c.shape[:2], np.uint16)
    for j in range(per):
        out |= c[:, :, j] << (j * bits)
    return out.astype(np.uint8)


def model(a, M, level, path, rng):
    K, N, bits, bs = a.K, a.N, a.bits, a.block
    kb = (K + bs - 1) // bs
    B = pack(rng.integers(0, 2 ** bits, (N * kb, bs)), bits).reshape(N, kb, -1)
    zc = rng.integers(0, 2 ** bits, (N, kb))
    zrow = (kb * bits + 7) // 8
    Z = np.zeros((N, zrow), np.uint8)
    for b in range(kb):
        Z[:, b * bits // 8] |= (zc[:, b] << (b * bits % 8)).astype(np.uint8)
    inits = [numpy_helper.from_array(B, "B"),
             numpy_helper.from_array(rng.uniform(0.001, 0.01, N * kb).astype(np.float32), "S"),
             numpy_helper.from_array(Z.reshape(-1), "Z")]
    node = helper.make_node("MatMulNBits", ["a", "B", "S", "Z"], ["y"], domain="com.microsoft",
                            K=K, N=N, bits=bits, block_size=bs, accuracy_level=level)
    g = helper.make_graph([node], "nbits", [helper.make_tensor_value_info("a", TP.FLOAT, [M, K])],
                          [helper.make_tensor_value_info("y", TP.FLOAT, [M, N])], inits)
    ops = [helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)]
    onnx.save(helper.make_model(g, opset_imports=ops), path)


def build(wrpnc, cc, path, target, d):
    os.makedirs(d, exist_ok=True)
    subprocess.run([wrpnc, "compile", path, "-o", d, "--name", "m", "--target", target],
                   check=True, capture_output=True)
    flags = subprocess.run([wrpnc, "cflags", "--target", target], capture_output=True,
                           text=True, check=True).stdout.split()
    exe = os.path.join(d, "harness")
    subprocess.run([cc, "-O2", "-std=c99", *flags, "-I" + d, '-DWRPNC_HEADER="m.h"',
                    "-DWRPNC_NAME=m", "-DWRPNC_UNAME=M", "-o", exe, HARNESS,
                    os.path.join(d, "m.c"), "-lm"], check=True, capture_output=True)
    return exe


def run_harness(a, exe, x, N):
    d = os.path.dirname(exe)
    xin, yout = os.path.join(d, "in.bin"), os.path.join(d, "out.bin")
    x.tofile(xin)
    r = subprocess.run([exe, "-r", str(a.reps), "-w", str(a.warmup), xin, yout],
                       capture_output=True, text=True, check=True)
    med = float(re.search(r"^median_ns (\S+)", r.stdout, re.M).group(1)) / 1e6
    return med, np.fromfile(yout, np.float32).reshape(-1, N)


def insns(exe, x):
    """Instructions of one run of m_run (callgrind)."""
    d = os.path.dirname(exe)
    xin, out = os.path.join(d, "in.bin"), os.path.join(d, "cg.out")
    x.tofile(xin)
    return kept.callgrind(exe, "m_run_v", out, [xin, os.path.join(d, "o.bin")])


def ort_time(a, path, x):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    for _ in range(max(a.warmup, 1)):
        y = s.run(None, {"a": x})[0]
    ts = []
    for _ in range(a.reps):
        t0 = time.process_time()
        s.run(None, {"a": x})
        ts.append(time.process_time() - t0)
    return float(np.median(ts)) * 1e3, y


def bench_case(a, root, M, level, rng):
    path = os.path.join(root, f"m{M}_l{level}.onnx")
    model(a, M, level, path, rng)
    x = rng.standard_normal((M, a.K)).astype(np.float32)
    bins = [("after", a.wrpnc)] + ([("before", a.base)] if a.base else [])
    exes = {(lab, t): build(w, a.cc, path, t, os.path.join(root, f"{lab}_{t}_{M}_{level}"))
            for lab, w in bins for t in a.targets.split(",")}
    times = {k: [] for k in exes}
    ort_ms = []
    for _ in range(a.rounds):  # alternate, so a load spike hits every variant alike
        for k, exe in exes.items():
            ms, y = run_harness(a, exe, x, a.N)
            times[k].append(ms)
        ms, y_ort = ort_time(a, path, x)
        ort_ms.append(ms)
    o = float(np.median(ort_ms))
    print(f"| {M} | {level} | ONNX Runtime | {o:.3f} | 1.00 | | |")
    for (lab, t), exe in exes.items():
        ms = float(np.median(times[(lab, t)]))
        _, y = run_harness(a, exe, x, a.N)
        ins = f"{insns(exe, x) / 1e6:.2f} M" if a.callgrind else ""
        err = float(np.abs(y - y_ort).max())
        print(f"| {M} | {level} | wrpnc {t} ({lab}) | {ms:.3f} | {ms / o:.2f} | {ins} "
              f"| {err:.1e} |")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--base", help="an older wrpnc, for before/after")
    ap.add_argument("--targets", default="generic,avx2")
    ap.add_argument("--rows", default="1,16")
    ap.add_argument("--K", type=int, default=2048)
    ap.add_argument("--N", type=int, default=2048)
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--block", type=int, default=32)
    ap.add_argument("--levels", default="0,4")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cc", default="cc")
    ap.add_argument("--callgrind", action="store_true")
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"MatMulNBits K={a.K} N={a.N} {a.bits}-bit blocks of {a.block}, packed zero points; "
          "median ms (CPU time), one thread")
    print("| M | accuracy_level | engine | ms | ratio to ORT | instructions | max abs diff |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="wrpnc-nbits-") as root:
        for M in [int(v) for v in a.rows.split(",")]:
            for level in [int(v) for v in a.levels.split(",")]:
                bench_case(a, root, M, level, rng)


if __name__ == "__main__":
    main()
