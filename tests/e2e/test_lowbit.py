#!/usr/bin/env python3
"""Low-bit convolution kernels (wrpnc::QConv) against a naive int64 numpy convolution.

One model per kernel family (bitserial, int8) holds a QConv node per (activation codes,
weight width 1..8), each fed by its own PackAct, in four geometries that cycle over the
nodes: 3x3 pad 1; groups 2 with stride 2; 1x1 with M = 9 (not a multiple of any lane
count); groups 3, 2x3 kernel, asymmetric pads, dilation 2. C = 72 channels, so K is not a
multiple of 64 per pixel. Activation codes come in every kind real exports have:
unsigned, signed (two's complement: the top bit plane weighs -2^(k-1); int8 bytes),
unsigned with a zero point (a = code - zp) and bipolar (a = 2 code - 1) on the bit-serial
and int8 kernels (both corrected by the weights' tap sums, padded taps left out), each
with a full-scale row. Every model contains an all-zero filter and weights drawn from
the full narrow grid [-(2^(k-1) - 1), 2^(k-1) - 1] (binary: +-1). Outputs are the int32
accumulators, compared exactly (atol = rtol = 0), on every target this CPU runs: AVX-512
natively where the CPU has it, else emulated through SIMDe (labelled so), else compiled
only and reported as skipped, never passed. NEON code
runs where `wrpnc targets` says so (on x86-64: cross-built, under qemu-user): baseline
ARMv8-A, and the int8 layout also with dotprod (vdotq_s32; the bit-serial code is the
same either way, --full runs it anyway), built with e2e_util.WARN; clang
--target=aarch64-linux-gnu compiles it too.
A float-epilogue model checks Y = acc * scale + B, and a thresholds model the folded
WRPN quantizer's codes, on unsigned and signed codes. The xnor kernel (+-1 activations,
bit 1 = +1, times +-1 weights; padded taps contribute 0) runs the four geometries at
C = 72 and C = 132 against the same convolution of 2 * code - 1 with zero padding.

  test_lowbit.py --wrpnc build/wrpnc [--full] [--abits LIST]
The default run covers unsigned widths 1, 2, 8 (1-bit, and the widened 8-bit AVX2 path)
with every weight width, signed 2 and 8, zero point at 8 bits and bipolar with weights of
1, 2, 4 and 8 bits, and compiles AVX-512 with clang -O1; emulated AVX-512 runs the small
models (float epilogue, folded thresholds, xnor C = 72) and reports the big sweeps
skipped; --full (ctest label slow) covers unsigned and signed 1..8 (every k_a x k_w), a
zero point at 3 bits too, adds batch 2 and C = 132, runs every model on emulated AVX-512
too, and compiles AVX-512 with gcc and clang.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# the layout (ir/layouts.def) each kernel family reads its activation codes in
PACKING = {"bitserial": "planes", "int8": "bytes", "xnor": "planes"}

from e2e_util import WARN
from e2e_util import target_label, target_runs

GEOMS = [
    dict(group=1, k=(3, 3), pads=[1, 1, 1, 1], strides=[1, 1], dil=[1, 1], M=5),
    dict(group=2, k=(3, 3), pads=[1, 1, 1, 1], strides=[2, 2], dil=[1, 1], M=6),
    dict(group=1, k=(1, 1), pads=[0, 0, 0, 0], strides=[1, 1], dil=[1, 1], M=9),
    dict(group=3, k=(2, 3), pads=[0, 1, 1, 0], strides=[1, 2], dil=[2, 1], M=6),
]


def conv_ref(a, w, group, pads, strides, dil):
    """Naive int64 convolution of codes a (N,C,H,W) with codes w (M,C/g,kh,kw)."""
    N, C, H, W = a.shape
    M, Cg, KH, KW = w.shape
    ap = np.zeros((N, C, H + pads[0] + pads[2], W + pads[1] + pads[3]), np.int64)
    ap[:, :, pads[0]:pads[0] + H, pads[1]:pads[1] + W] = a
    OH = (H + pads[0] + pads[2] - dil[0] * (KH - 1) - 1) // strides[0] + 1
    OW = (W + pads[1] + pads[3] - dil[1] * (KW - 1) - 1) // strides[1] + 1
    y = np.zeros((N, M, OH, OW), np.int64)
    Mg = M // group
    for m in range(M):
        g = m // Mg
        for kh in range(KH):
            for kw in range(KW):
                patch = ap[:, g * Cg:(g + 1) * Cg,
                           kh * dil[0]:kh * dil[0] + strides[0] * (OH - 1) + 1:strides[0],
                           kw * dil[1]:kw * dil[1] + strides[1] * (OW - 1) + 1:strides[1]]
                y[:, m] += np.einsum("nchw,c->nhw", patch, w[m, :, kh, kw].astype(np.int64))
    return y


def weight_codes(rng, wbits, shape, zero_filter):
    if wbits == 1:
        w = rng.choice([-1, 1], size=shape)
    else:
        M = 2 ** (wbits - 1) - 1
        w = rng.integers(-M, M + 1, size=shape)
        w[0, 0, 0, 0] = M  # both ends of the grid appear
        w[-1, 0, 0, 0] = -M
    if zero_filter:
        w[zero_filter % shape[0]] = 0
    return w.astype(np.int8)


# Activation codes: (kind, bits). u: unsigned; s: signed two's complement (int8 input);
# z: unsigned with zero point 2^(bits-1) (a = code - zp); b: bipolar, a = 2 code - 1
# (bit-serial and int8 kernels correct by the tap sums; xnor has its own model).
def codes(rng, kind, bits, shape):
    if kind == "s":
        x = rng.integers(-2 ** (bits - 1), 2 ** (bits - 1), size=shape).astype(np.int8)
        x[0, :, 0, :] = -2 ** (bits - 1)  # a full-scale negative row
        return x, x.astype(np.int64), {}
    x = rng.integers(0, 2 ** bits, size=shape).astype(np.uint8)
    x[0, :, 0, :] = 2 ** bits - 1  # a full-scale row
    if kind == "z":
        zp = 2 ** (bits - 1)
        return x, x.astype(np.int64) - zp, {"zero_point": zp}
    if kind == "b":
        return x, 2 * x.astype(np.int64) - 1, {"bipolar": 1}
    return x, x.astype(np.int64), {}


def build(root, name, specs, layout, N, C, H, W, rng, out_acc=True, out_bits=0):
    """One model: input x<j> (codes of each spec) and one QConv per (spec, wbits 1..8)."""
    xs, nodes, inits, outs, want = [], [], [], [], []
    for spec in specs:
        kind, abits = spec[:2]
        wlist = spec[2] if len(spec) > 2 else range(1, 9)
        xn = f"x_{kind}{abits}"
        x, a, extra = codes(rng, kind, abits, (N, C, H, W))
        xs.append((xn, x))
        for wbits in wlist:
            j = len(want)
            gm = GEOMS[j % len(GEOMS)]
            w = weight_codes(rng, wbits, (gm["M"], C // gm["group"]) + gm["k"], zero_filter=j + 1)
            nodes.append(helper.make_node("PackAct", [xn], [f"p{j}"], domain="wrpnc",
                                          bits=abits, group=gm["group"],
                                          layout=PACKING[layout], **extra))
            ins = [f"p{j}", f"w{j}"]
            inits.append(numpy_helper.from_array(w, f"w{j}"))
            acc = conv_ref(a, w, gm["group"], gm["pads"], gm["strides"], gm["dil"])
            if out_bits:  # folded quantizer: the reference float expression, float32
                s = (rng.uniform(0.002, 0.02, gm["M"]) * rng.choice([-1, 1], gm["M"]))
                s = s.astype(np.float32)
                s[1] = 0  # a dead channel
                b = rng.uniform(-0.5, 1.0, gm["M"]).astype(np.float32)
                inits += [numpy_helper.from_array(s, f"s{j}"), numpy_helper.from_array(b, f"b{j}")]
                ins += [f"s{j}", f"b{j}"]
                y = acc.astype(np.float32) * s[None, :, None, None] + b[None, :, None, None]
                n = np.float32(2 ** out_bits - 1)
                want.append(np.rint(n * np.clip(y, 0, 1).astype(np.float32)).astype(np.uint8))
            elif out_acc:
                want.append(acc.astype(np.int32))
            else:
                s = rng.uniform(0.01, 0.1, gm["M"]).astype(np.float32)
                b = rng.uniform(-1, 1, gm["M"]).astype(np.float32)
                inits += [numpy_helper.from_array(s, f"s{j}"), numpy_helper.from_array(b, f"b{j}")]
                ins += [f"s{j}", f"b{j}"]
                want.append((acc.astype(np.float32) * s[None, :, None, None] +
                             b[None, :, None, None]).astype(np.float32))
            nodes.append(helper.make_node("QConv", ins, [f"y{j}"], domain="wrpnc", abits=abits,
                                          wbits=wbits, kernel=layout, group=gm["group"],
                                          pads=gm["pads"], strides=gm["strides"],
                                          dilations=gm["dil"], out_acc=int(out_acc),
                                          out_bits=out_bits))
            et = (TensorProto.UINT8 if out_bits else TensorProto.INT32 if out_acc
                  else TensorProto.FLOAT)
            outs.append(helper.make_tensor_value_info(f"y{j}", et, list(acc.shape)))
    ins = [helper.make_tensor_value_info(n, TensorProto.INT8 if x.dtype == np.int8 else
                                         TensorProto.UINT8, list(x.shape)) for n, x in xs]
    m = helper.make_model(helper.make_graph(nodes, name, ins, outs, inits),
                          opset_imports=[helper.make_opsetid("", 13),
                                         helper.make_opsetid("wrpnc", 1)])
    d = os.path.join(root, name)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    onnx.save(m, os.path.join(d, "model.onnx"))
    tensors = [(f"input_{i}", x, n) for i, (n, x) in enumerate(xs)]
    tensors += [(f"output_{j}", v, f"y{j}") for j, v in enumerate(want)]
    for fn, v, tn in tensors:
        with open(os.path.join(d, "test_data_set_0", fn + ".pb"), "wb") as f:
            f.write(numpy_helper.from_array(v, tn).SerializeToString())
    return d


def build_xnor(root, name, N, C, H, W, rng):
    """One model of xnor QConvs, one per geometry, int32 accumulators out."""
    x = rng.integers(0, 2, size=(N, C, H, W)).astype(np.uint8)
    nodes, inits, outs, want = [], [], [], []
    for j, gm in enumerate(GEOMS):
        w = weight_codes(rng, 1, (gm["M"], C // gm["group"]) + gm["k"], zero_filter=0)
        inits.append(numpy_helper.from_array(w, f"w{j}"))
        nodes.append(helper.make_node("PackAct", ["x"], [f"p{j}"], domain="wrpnc", bits=1,
                                      bipolar=1, group=gm["group"], layout="planes"))
        nodes.append(helper.make_node("QConv", [f"p{j}", f"w{j}"], [f"y{j}"], domain="wrpnc",
                                      abits=1, wbits=1, kernel="xnor", group=gm["group"],
                                      pads=gm["pads"], strides=gm["strides"],
                                      dilations=gm["dil"], out_acc=1))
        acc = conv_ref(2 * x.astype(np.int64) - 1, w, gm["group"], gm["pads"], gm["strides"],
                       gm["dil"])
        want.append(acc.astype(np.int32))
        outs.append(helper.make_tensor_value_info(f"y{j}", TensorProto.INT32, list(acc.shape)))
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.UINT8,
                                                                      list(x.shape))], outs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                            helper.make_opsetid("wrpnc", 1)])
    d = os.path.join(root, name)
    os.makedirs(os.path.join(d, "test_data_set_0"))
    onnx.save(m, os.path.join(d, "model.onnx"))
    tensors = [("input_0", x, "x")] + [(f"output_{j}", v, f"y{j}") for j, v in enumerate(want)]
    for fn, v, tn in tensors:
        with open(os.path.join(d, "test_data_set_0", fn + ".pb"), "wb") as f:
            f.write(numpy_helper.from_array(v, tn).SerializeToString())
    return d


# NEON builds: (label, extra C flags); the dotprod one takes the vdotq_s32 path.
NEON_WARN = " ".join(w for w in WARN if w != "-Wpedantic")
NEON_RUNS = [("neon", NEON_WARN), ("neon+dotprod", NEON_WARN + " -march=armv8.2-a+dotprod")]


def targets(wrpnc):
    """{name: runs}: "runs here" or "runs under qemu (...)" both run."""
    out = subprocess.run([wrpnc, "targets"], capture_output=True, text=True).stdout
    return {l.split()[0]: " runs " in l for l in out.splitlines() if l and "=" not in l}


def verify(wrpnc, d, target, engine, tol):
    """target is a name or a NEON_RUNS label (then built with its flags)."""
    flags = dict(NEON_RUNS).get(target)
    r = subprocess.run([wrpnc, "verify", os.path.join(d, "model.onnx"),
                        os.path.join(d, "test_data_set_0"), "--target", target.split("+")[0],
                        "--engine", engine, "--atol", tol, "--rtol", tol] +
                       (["--cflags", flags] if flags else []),
                       capture_output=True, text=True)
    return r.returncode == 0, r.stdout + r.stderr


def compile_neon_clang(wrpnc, d, variants):
    """clang --target=aarch64-linux-gnu -Werror, baseline and dotprod; None: no clang."""
    if not shutil.which("clang"):
        return None, ""
    out = os.path.join(d, "gen_neon")
    r = subprocess.run([wrpnc, "compile", os.path.join(d, "model.onnx"), "-o", out, "--target",
                        "neon", "--name", "m"], capture_output=True, text=True)
    if r.returncode:
        return False, r.stderr
    bad = []
    for extra in variants:
        # -O0: clang's warnings come from its front end; optimizing costs a minute here
        r = subprocess.run(["clang", "--target=aarch64-linux-gnu", "-std=c99", "-O0",
                            *NEON_WARN.split(), *extra, "-c", os.path.join(out, "m.c"), "-o",
                            os.path.join(out, "clang.o")], capture_output=True, text=True)
        if r.returncode:
            bad.append(" ".join(extra) + ": " + r.stderr)
    return not bad, "\n".join(bad)


def zero_weights(root, name, layout):
    """2-bit codes times 3-bit weights that are all zero."""
    nodes = [helper.make_node("PackAct", ["x"], ["p"], domain="wrpnc", bits=2,
                              layout=PACKING[layout]),
             helper.make_node("QConv", ["p", "w"], ["y"], domain="wrpnc", abits=2, wbits=3,
                              kernel=layout, out_acc=1, pads=[1, 1, 1, 1])]
    g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.UINT8,
                                                                      [1, 8, 5, 5])],
                          [helper.make_tensor_value_info("y", TensorProto.INT32, None)],
                          [numpy_helper.from_array(np.zeros((4, 8, 3, 3), np.int8), "w")])
    d = os.path.join(root, name)
    os.makedirs(d)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                                  helper.make_opsetid("wrpnc", 1)]),
              os.path.join(d, "model.onnx"))
    return d


def builds_warning_free(wrpnc, d, target):
    out = os.path.join(d, "gen_" + target)
    r = subprocess.run([wrpnc, "compile", os.path.join(d, "model.onnx"), "-o", out, "--target",
                        target, "--name", "m"], capture_output=True, text=True)
    if r.returncode:
        return False, r.stderr
    flags = subprocess.run([wrpnc, "cflags", "--target", target], capture_output=True,
                           text=True).stdout.split()
    for cc in ("gcc", "clang"):
        r = subprocess.run([cc, "-std=c99", "-O1", *WARN, *flags, "-c", os.path.join(out, "m.c"),
                            "-o", os.path.join(out, cc + ".o")], capture_output=True, text=True)
        if r.returncode:
            return False, f"{cc}: {r.stderr}"
    return True, ""


def compile_only(wrpnc, d, target, full):
    """Generates and compiles (no run) with the target's flags; True when it builds."""
    out = os.path.join(d, "gen_" + target)
    r = subprocess.run([wrpnc, "compile", os.path.join(d, "model.onnx"), "-o", out, "--target",
                        target, "--name", "m"], capture_output=True, text=True)
    if r.returncode:
        return False, r.stderr
    flags = {"avx512": "-mavx2 -mfma -mbmi2 -mpopcnt -mavx512f -mavx512bw -mavx512vl "
                       "-mavx512dq -mavx512vpopcntdq -mavx512vnni"}[target].split()
    res = []
    for cc in (("gcc", "clang") if full else ("clang",)):
        r = subprocess.run([cc, "-std=c99", "-O2" if full else "-O1", *WARN,
                            *flags, "-c", os.path.join(out, "m.c"), "-o", os.path.join(out, cc + ".o")],
                           capture_output=True, text=True)
        res.append((cc, r.returncode == 0, r.stderr))
    bad = [f"{cc}: {err}" for cc, ok, err in res if not ok]
    return not bad, "\n".join(bad)


def chunks(specs, limit=64):
    """specs split so that no model has more than limit outputs (one per weight width),
    the most files `wrpnc verify` takes."""
    out, cur, n = [], [], 0
    for sp in specs:
        k = len(sp[2]) if len(sp) > 2 else 8
        if cur and n + k > limit:
            out.append(cur)
            cur, n = [], 0
        cur.append(sp)
        n += k
    return out + [cur]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--abits", default=None, help="comma list of unsigned and signed widths "
                    "(default 1,2,8; --full: 1..8)")
    a = ap.parse_args()
    a.abits = a.abits or ("1,2,3,4,5,6,7,8" if a.full else "1,2,8")
    rng = np.random.default_rng(11)
    tg = targets(a.wrpnc)
    how = target_runs(a.wrpnc)
    run_targets = [t for t in ("generic", "avx2", "avx512") if how.get(t)]
    run_targets += [label for label, _ in NEON_RUNS if tg.get("neon")]
    lab = lambda t: target_label(t, how)  # noqa: E731
    # emulated avx512 builds of the big sweeps cost a minute: --full only (reported skipped)
    heavy = {t for t in run_targets if how.get(t) == "emulated (SIMDe)" and not a.full}
    passed = failed = skipped = 0
    shapes = [(1, 72, 7, 6)] + ([(2, 132, 5, 9)] if a.full else [])
    abits = [int(v) for v in a.abits.split(",")]
    # default: unsigned codes x every weight width; the other kinds x weights 1, 2, 4, 8
    few = None if a.full else (1, 2, 4, 8)
    specs = ([("u", k) for k in abits] +
             [("s", k, few or range(1, 9)) for k in abits if k > 1 or a.full] +
             [("z", k, few or range(1, 9)) for k in (3, 8) if a.full or k == 8] +
             [("b", 1, few or range(1, 9))])
    with tempfile.TemporaryDirectory() as root:
        for layout in ("bitserial", "int8"):
            for si, ci, (N, C, H, W), part in ((si, ci, shp, part)
                                               for si, shp in enumerate(shapes)
                                               for ci, part in enumerate(chunks(specs))):
                name = f"q_{layout}_{si}" + (f"_{ci}" if ci else "")
                d = build(root, name, part, layout, N, C, H, W, rng)
                # dotprod changes only the int8 code: the bit-serial twin is in --full
                mine = [t for t in run_targets if a.full or layout == "int8" or "+" not in t]
                for t in sorted(heavy):
                    print(f"SKIP  {name} {lab(t)}: the emulated sweep runs with --full")
                    skipped += 1
                runs = [(t, "c") for t in mine if t not in heavy] + [("generic", "interp")]
                for target, engine in runs:
                    ok, log = verify(a.wrpnc, d, target, engine, "0")
                    print(f"{'PASS' if ok else 'FAIL'}  {name} (codes {[sp[:2] for sp in part]}) "
                          f"{lab(target)}/{engine}")
                    passed += ok
                    failed += not ok
                    if not ok:
                        print(log)
                if si == 0 and tg.get("neon"):
                    dot = layout == "int8" or a.full
                    ok, log = compile_neon_clang(a.wrpnc, d, [[]] + dot * [
                        ["-march=armv8.2-a+dotprod"]])
                    if ok is not None:
                        print(f"{'PASS' if ok else 'FAIL'}  {name} neon: clang "
                              f"--target=aarch64-linux-gnu -Werror (baseline"
                              f"{', dotprod' if dot else ''})")
                        passed += ok
                        failed += not ok
                        if not ok:
                            print(log)
                elif si == 0:
                    print(f"SKIP  {name} neon: this machine cannot run aarch64 code")
                    skipped += 1
                if si == 0:
                    ok, log = compile_only(a.wrpnc, d, "avx512", a.full)
                    ran = bool(how.get("avx512"))
                    print(f"{'SKIP' if ok and not ran else 'PASS' if ok else 'FAIL'}  {name} "
                          f"avx512: {'compiled' if ok else 'does not compile'} with its flags"
                          f"{'' if ran else ', cannot run here'}")
                    skipped += ok and not ran
                    passed += ok and ran
                    failed += not ok
                    if not ok:
                        print(log)
            d = build(root, f"qf_{layout}", [("u", 3), ("s", 3)], layout, 1, 72, 6, 5, rng,
                      out_acc=False)
            for target in [t for t in run_targets if a.full or "+" not in t]:
                ok, log = verify(a.wrpnc, d, target, "c", "1e-6")
                print(f"{'PASS' if ok else 'FAIL'}  float epilogue {layout} {lab(target)}")
                passed += ok
                failed += not ok
                if not ok:
                    print(log)
            for ob in ((1, 2, 4) if a.full else (2,)):  # folded thresholds: exact codes
                d = build(root, f"qt{ob}_{layout}", [("u", 2), ("s", 2)], layout, 1, 72, 6, 5, rng,
                          out_acc=False, out_bits=ob)
                mine = [t for t in run_targets if a.full or "+" not in t]
                for target, engine in [(t, "c") for t in mine] + [("generic", "interp")]:
                    ok, log = verify(a.wrpnc, d, target, engine, "0")
                    print(f"{'PASS' if ok else 'FAIL'}  folded thresholds out_bits {ob} {layout} "
                          f"{lab(target)}/{engine}")
                    passed += ok
                    failed += not ok
                    if not ok:
                        print(log)
        for si, (N, C, H, W) in enumerate([(1, 72, 7, 6), (2, 132, 5, 9)]):
            d = build_xnor(root, f"qx_{si}", N, C, H, W, rng)
            mine = [t for t in run_targets if (a.full or "+" not in t) and (si == 0 or
                                                                             t not in heavy)]
            for t in sorted(heavy) if si else []:
                print(f"SKIP  xnor C={C} {lab(t)}: the emulated run is in --full")
                skipped += 1
            for target, engine in [(t, "c") for t in mine] + [("generic", "interp")]:
                ok, log = verify(a.wrpnc, d, target, engine, "0")
                print(f"{'PASS' if ok else 'FAIL'}  xnor C={C} {lab(target)}/{engine}")
                passed += ok
                failed += not ok
                if not ok:
                    print(log)
            if si == 0:
                ok, log = compile_only(a.wrpnc, d, "avx512", a.full)
                ran = bool(how.get("avx512"))
                print(f"{'SKIP' if ok and not ran else 'PASS' if ok else 'FAIL'}  xnor avx512: "
                      f"{'compiled' if ok else 'does not compile'} with its flags"
                      f"{'' if ran else ', cannot run here'}")
                skipped += ok and not ran
                passed += ok and ran
                failed += not ok
                if not ok:
                    print(log)
        # every filter zero (each plane unused): the kernels still build warning-free
        for layout in ("bitserial", "int8"):
            d = zero_weights(root, f"qz_{layout}", layout)
            for target in ("generic", "avx2", "avx512"):
                ok, log = builds_warning_free(a.wrpnc, d, target)
                print(f"{'PASS' if ok else 'FAIL'}  all-zero weights {layout} {target}: "
                      f"builds with gcc and clang, every warning flag")
                passed += ok
                failed += not ok
                if not ok:
                    print(log)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
