#!/usr/bin/env python3
"""What `wrpnc compile` writes, and how it writes it.

  - weights modes: inline, c (NAME_weights.c) and blob (NAME.bin) give
    bit-identical outputs through `wrpnc run`, close to ONNX Runtime's, on a
    model with several constants; the blob holds each constant at a 64-byte
    aligned offset, little-endian, and its size is NAME_WEIGHTS_BYTES;
  - --weights auto (the default) keeps constants inline up to
    --weights-threshold bytes (16 MiB by default) and writes NAME_weights.c
    above it; `wrpnc run` builds and runs either result; numeric options that
    are not whole numbers in range are usage errors (exit 2);
  - the generated code of every mode builds with -std=c99 and e2e_util.WARN
    under gcc and clang, also with a constant emitted as a
    string literal longer than the 4095 bytes C99 promises;
  - determinism: compiling twice gives byte-identical files;
  - `wrpnc run --exec CMD` / WRPNC_EXEC run the built code through CMD (WRPNC_NO_EMULATION=1
    turns the automatic qemu and SIMDe off); avx512 runs natively or through SIMDe (said so in
    the output), and without either it is refused before anything runs; neon runs
    under qemu-user where the cross tools are installed, and without them
    `wrpnc targets` says it cannot run and `wrpnc run` says what to install;
  - nothing half-written: a failure after the first temporary file is written
    leaves no temporary behind and the older output untouched.

  test_outputs.py --wrpnc build/wrpnc        ends with "N passed, N failed, N skipped"
"""
import argparse
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from e2e_util import WARN

RESULTS = []
SKIPPED = []
WRPNC = None


def check(name, ok, why=""):
    RESULTS.append((name, ok, why))
    print(f"{'PASS' if ok else 'FAIL'}  {name}{'' if ok else ': ' + why}")


def const_model():
    """Conv -> Add -> Relu -> Conv -> Add: five constants of three shapes."""
    rng = np.random.default_rng(3)
    w1 = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    b1 = rng.standard_normal(4).astype(np.float32)
    c1 = rng.standard_normal((1, 4, 1, 1)).astype(np.float32)
    w2 = rng.standard_normal((3, 4, 1, 1)).astype(np.float32)
    c2 = rng.standard_normal((1, 3, 5, 5)).astype(np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in
             ((w1, "w1"), (b1, "b1"), (c1, "c1"), (w2, "w2"), (c2, "c2"))]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["t1"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["t1", "c1"], ["t2"]),
             helper.make_node("Relu", ["t2"], ["t3"]),
             helper.make_node("Conv", ["t3", "w2"], ["t4"]),
             helper.make_node("Add", ["t4", "c2"], ["y"])]
    g = helper.make_graph(nodes, "consts",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 5, 5])],
                          initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m, [w1, b1, c1, w2, c2]


def wrpnc(*args, **kw):
    # Compiled code is built here with plain flags: generate it for the generic target.
    extra = ["--target", "generic"] if args and args[0] == "compile" else []
    return subprocess.run([WRPNC, *args, *extra], capture_output=True, text=True, timeout=300,
                          **kw)


def files(d):
    return {f: open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))}


def test_weights_modes(tmp, path, consts):
    x = np.random.default_rng(5).standard_normal((1, 2, 5, 5)).astype(np.float32)
    xpb = os.path.join(tmp, "x.pb")
    with open(xpb, "wb") as f:
        f.write(numpy_helper.from_array(x, "x").SerializeToString())
    want = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    got = {}
    for mode in ("inline", "c", "blob"):
        out = os.path.join(tmp, "run-" + mode)
        r = wrpnc("run", path, "--input", xpb, "--output-dir", out, "--weights", mode)
        if r.returncode != 0:
            check(f"run --weights {mode}", False, r.stderr.strip()[-300:])
            continue
        t = onnx.load_tensor(os.path.join(out, "output_0.pb"))
        got[mode] = numpy_helper.to_array(t)
        err = float(np.max(np.abs(got[mode] - want)))
        check(f"run --weights {mode} matches onnxruntime", err < 1e-4, f"max abs err {err}")
    if len(got) == 3:
        same = all(got[m].tobytes() == got["inline"].tobytes() for m in ("c", "blob"))
        check("inline, c and blob outputs are bit-identical", same)


def test_weights_auto(tmp, path, consts):
    total = sum(a.nbytes for a in consts)  # 1076 bytes: far below 16 MiB
    for name, args, separate in (("default", [], False),
                                 ("auto, threshold above the constants",
                                  ["--weights", "auto", "--weights-threshold", str(100 * total)],
                                  False),
                                 ("threshold below the constants",
                                  ["--weights-threshold", str(total // 4)], True)):
        out = os.path.join(tmp, "auto-" + str(len(args)) + str(separate))
        r = wrpnc("compile", path, "-o", out, "--name", "net", *args)
        if r.returncode != 0:
            check(f"compile ({name})", False, r.stderr)
            continue
        has = os.path.exists(os.path.join(out, "net_weights.c"))
        c = open(os.path.join(out, "net.c")).read()
        check(f"{name}: weights {'in net_weights.c' if separate else 'inline'}",
              has == separate and ("static const" in c) != separate, f"net_weights.c: {has}")
    x = np.random.default_rng(6).standard_normal((1, 2, 5, 5)).astype(np.float32)
    xpb = os.path.join(tmp, "x-auto.pb")
    with open(xpb, "wb") as f:
        f.write(numpy_helper.from_array(x, "x").SerializeToString())
    want = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    out = os.path.join(tmp, "run-auto")
    r = wrpnc("run", path, "--input", xpb, "--output-dir", out, "--weights-threshold", "64")
    if r.returncode != 0:
        return check("run with weights over the threshold", False, r.stderr.strip()[-300:])
    got = numpy_helper.to_array(onnx.load_tensor(os.path.join(out, "output_0.pb")))
    err = float(np.max(np.abs(got - want)))
    check("run with weights over the threshold matches onnxruntime", err < 1e-4,
          f"max abs err {err}")
    for opt, bad in (("--weights-threshold", "lots"), ("--reps", "1.5"), ("--warmup", "x"),
                     ("--rtol", "tiny"), ("--atol", "-1"), ("--wbits", "4x")):
        r = wrpnc("compile", path, "-o", out, opt, bad)
        check(f"{opt} {bad} is a usage error (exit 2)", r.returncode == 2, r.stderr)


def test_blob_layout(tmp, path, consts):
    out = os.path.join(tmp, "blob")
    r = wrpnc("compile", path, "-o", out, "--weights", "blob", "--name", "net")
    if r.returncode != 0:
        return check("compile --weights blob", False, r.stderr)
    blob = open(os.path.join(out, "net.bin"), "rb").read()
    h = open(os.path.join(out, "net.h")).read()
    c = open(os.path.join(out, "net.c")).read()
    m = re.search(r"#define NET_WEIGHTS_BYTES (\d+)", h)
    check("blob size is NET_WEIGHTS_BYTES", bool(m) and int(m.group(1)) == len(blob),
          f"header {m and m.group(1)}, file {len(blob)}")
    check("header documents the weights argument",
          "const void *weights" in h and "net.bin" in h and "NET_WEIGHTS_ALIGN" in h)
    offs = [int(o) for o in re.findall(r"wts \+ (\d+)", c)]
    check("constants read from 64-byte aligned offsets", offs and all(o % 64 == 0 for o in offs),
          str(offs))
    check("no constant array left in the code", "static const float" not in c)
    for i, a in enumerate(consts):
        if a.ndim == 4:
            continue  # conv weights are repacked into the kernel's panel layout
        le = a.astype("<f4").tobytes()
        at = blob.find(le)
        check(f"constant {i} stored little-endian at an offset the code reads",
              at >= 0 and at in offs, f"found at {at}, offsets {offs}")


def big_const_model():
    """MatMul by a 128 KiB constant: emitted as a string literal above C99's 4095 bytes."""
    w = np.random.default_rng(4).standard_normal((128, 256)).astype(np.float32)
    g = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "bigc",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 128])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 256])],
                          initializer=[numpy_helper.from_array(w, "w")])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def test_builds(tmp, path, what=""):
    for mode in ("inline", "c", "blob"):
        out = os.path.join(tmp, "build-" + mode + what.replace(" ", "-"))
        r = wrpnc("compile", path, "-o", out, "--weights", mode)
        if r.returncode != 0:
            check(f"compile --weights {mode}", False, r.stderr)
            continue
        srcs = [os.path.join(out, f) for f in sorted(os.listdir(out)) if f.endswith(".c")]
        for cc in ("gcc", "clang"):
            if not shutil.which(cc):
                continue
            b = subprocess.run([cc, "-std=c99", *WARN, "-c", "-I", out] + srcs,
                               capture_output=True, text=True, cwd=tmp)
            check(f"--weights {mode}{what} builds warning-free with {cc}", b.returncode == 0,
                  b.stderr[-300:])


def test_isa_guard(tmp, path):
    """Code for an instruction set refuses to build without its flags, naming them."""
    out = os.path.join(tmp, "guard")
    r = subprocess.run([WRPNC, "compile", path, "-o", out, "--target", "avx2", "--name", "g"],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        return check("compile --target avx2", False, r.stderr)
    src = os.path.join(out, "g.c")
    b = subprocess.run(["cc", "-std=c99", "-c", "-I", out, src, "-o", os.devnull],
                       capture_output=True, text=True)
    check("avx2 code without its flags fails, naming them",
          b.returncode != 0 and "-mavx2 -mfma" in b.stderr, b.stderr[-300:])
    flags = subprocess.run([WRPNC, "cflags", "--target", "avx2"], capture_output=True,
                           text=True).stdout.split()
    b = subprocess.run(["cc", "-std=c99", *WARN, *flags, "-c", "-I", out, src, "-o",
                        os.devnull], capture_output=True, text=True)
    check("avx2 code builds with the flags wrpnc cflags prints", b.returncode == 0,
          b.stderr[-300:])


def test_determinism(tmp, path):
    for mode in ("inline", "c", "blob"):
        a, b = os.path.join(tmp, f"det-{mode}-a"), os.path.join(tmp, f"det-{mode}-b")
        ra = wrpnc("compile", path, "-o", a, "--weights", mode)
        rb = wrpnc("compile", path, "-o", b, "--weights", mode)
        fa, fb = files(a) if ra.returncode == 0 else None, files(b) if rb.returncode == 0 else None
        check(f"--weights {mode}: two compiles give byte-identical files",
              fa is not None and fa == fb and len(fa) >= 2,
              f"{sorted(fa or {})} vs {sorted(fb or {})}")


def seed_old(out, names):
    os.makedirs(out, exist_ok=True)
    for n in names:
        with open(os.path.join(out, n), "w") as f:
            f.write("old " + n)


def untouched(out, names):
    left = sorted(os.listdir(out))
    olds = all(open(os.path.join(out, n)).read() == "old " + n for n in names)
    return olds and left == sorted(names + [n for n in left if n not in names and
                                            os.path.isdir(os.path.join(out, n))]), left


def test_atomic(tmp, path):
    # 1. The header's final name is a folder: detected after every temporary
    #    file is written, before any rename.
    out = os.path.join(tmp, "atomic1")
    seed_old(out, ["consts.c"])
    os.mkdir(os.path.join(out, "consts.h"))
    r = wrpnc("compile", path, "-o", out)
    ok, left = untouched(out, ["consts.c"])
    check("failure after the temporaries: exit 1, older NAME.c untouched, no temporary left",
          r.returncode == 1 and ok and path in r.stderr, f"rc {r.returncode}, left {left}")

    # 2. A write fails after the first temporary (NAME_weights.c, small) is
    #    written: the file-size limit stops NAME.c.
    ref = os.path.join(tmp, "atomic-ref")
    wrpnc("compile", path, "-o", ref, "--weights", "c")
    small = os.path.getsize(os.path.join(ref, "consts_weights.c"))
    big = os.path.getsize(os.path.join(ref, "consts.c"))
    if not small < big:
        return check("file-size-limit case is set up", False, f"{small} >= {big}")
    out = os.path.join(tmp, "atomic2")
    names = ["consts.c", "consts.h", "consts_weights.c"]
    seed_old(out, names)

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (small + 1, small + 1))

    r = subprocess.run([WRPNC, "compile", path, "-o", out, "--weights", "c", "--target", "generic"],
                       capture_output=True,
                       text=True, timeout=300, preexec_fn=limit)
    ok, left = untouched(out, names)
    check("write failure after the first temporary: exit 1, older output untouched, "
          "no temporary left", r.returncode == 1 and ok and "cannot write" in r.stderr,
          f"rc {r.returncode}, left {left}, stderr {r.stderr.strip()[-200:]}")

    # 3. A model that fails to compile leaves the older output alone.
    out = os.path.join(tmp, "atomic3")
    names = ["consts.c", "consts.h"]
    seed_old(out, names)
    bad = os.path.join(tmp, "bad", "consts.onnx")
    os.makedirs(os.path.dirname(bad))
    with open(bad, "wb") as f:
        f.write(open(path, "rb").read()[:200])
    r = wrpnc("compile", bad, "-o", out)
    ok, left = untouched(out, names)
    check("a failing compile leaves the older output untouched", r.returncode == 1 and ok,
          f"rc {r.returncode}, left {left}")

    # 4. A symlink planted where a temporary could go is never written through.
    out = os.path.join(tmp, "atomic4")
    os.makedirs(out)
    victim = os.path.join(tmp, "victim.txt")
    with open(victim, "w") as f:
        f.write("keep")
    for ext in (".c.tmp", ".h.tmp", ".c", ".h"):
        os.symlink(victim, os.path.join(out, "consts" + ext))
    r = wrpnc("compile", path, "-o", out)
    check("no write through symlinks in OUT", r.returncode == 0 and
          open(victim).read() == "keep" and not os.path.islink(os.path.join(out, "consts.c")),
          f"rc {r.returncode} {r.stderr.strip()[-200:]}")


def test_exec(tmp, path):
    x = np.random.default_rng(6).standard_normal((1, 2, 5, 5)).astype(np.float32)
    xpb = os.path.join(tmp, "xe.pb")
    onnx.save_tensor(numpy_helper.from_array(x, "x"), xpb)

    def run(out, *args, env=None):
        r = wrpnc("run", path, "--input", xpb, "--output-dir", os.path.join(tmp, out), *args,
                  env=env)
        y = os.path.join(tmp, out, "output_0.pb")
        return r, numpy_helper.to_array(onnx.load_tensor(y)) if r.returncode == 0 else None

    r0, y0 = run("ex0", "--target", "generic")
    r1, y1 = run("ex1", "--target", "generic", "--exec", "env")
    check("--exec env runs the same code", y0 is not None and y1 is not None and
          np.array_equal(y0, y1), r1.stderr.strip()[-200:])
    r2, _ = run("ex2", "--target", "generic", env=dict(os.environ, WRPNC_EXEC="false"))
    check("WRPNC_EXEC is the run command", r2.returncode == 1 and "failed to run" in r2.stderr,
          f"rc {r2.returncode} {r2.stderr.strip()[-200:]}")
    empty = os.path.join(tmp, "empty-path")
    os.makedirs(empty, exist_ok=True)
    bare = dict(os.environ, PATH=empty)
    t = subprocess.run([WRPNC, "targets"], capture_output=True, text=True, env=bare).stdout
    r3, _ = run("ex3", "--target", "neon", "--cc", "cc", env=bare)
    check("without cross tools neon cannot run, and run says what to install",
          "neon     cannot run here" in t and r3.returncode == 1 and "qemu-user" in r3.stderr,
          t + r3.stderr.strip()[-200:])
    test_avx512(run, y0)
    test_timing(run)
    t = subprocess.run([WRPNC, "targets"], capture_output=True, text=True).stdout
    if "neon     runs under qemu" not in t:
        print("SKIP  neon under qemu-user: cross tools not installed")
        SKIPPED.append("neon")
        return
    r4, y4 = run("ex4", "--target", "neon")
    check("neon under qemu-user gives the generic outputs", y4 is not None and
          np.allclose(y4, y0, rtol=1e-5, atol=1e-5), r4.stderr.strip()[-200:])
    off = dict(os.environ, WRPNC_NO_EMULATION="1")
    t = subprocess.run([WRPNC, "targets"], capture_output=True, text=True, env=off).stdout
    r5, _ = run("ex5", "--target", "neon", env=off)
    check("WRPNC_NO_EMULATION=1 turns qemu off", "neon     cannot run here" in t and
          r5.returncode == 1 and "qemu-user" in r5.stderr, t + r5.stderr.strip()[-200:])


def test_timing(run):
    """The harness's timing: per-run CPU time, median of REPS after at least one warm-up."""
    r, _ = run("ext", "--target", "generic", "--reps", "5", "--keep")
    kept = re.search(r"kept in (\S+)", r.stderr)
    ok = r.returncode == 0 and "median latency:" in r.stdout and kept
    if ok:
        d = kept.group(1)
        exe = [os.path.join(d, f) for f in os.listdir(d) if f.endswith("_harness")][0]
        outs = [os.path.join(d, f) for f in sorted(os.listdir(d)) if re.match(r"out\d+\.bin$", f)]
        h = subprocess.run([exe, "-r", "7", "-w", "0", os.path.join(d, "in0.bin")] + outs,
                           capture_output=True, text=True)
        v = dict(l.split() for l in h.stdout.splitlines() if len(l.split()) == 2)
        ok = (h.returncode == 0 and v.get("reps") == "7" and v.get("warmup") == "1" and
              0 < float(v["min_ns"]) <= float(v["median_ns"]) and "wall_median_ns" in v)
        subprocess.run(["rm", "-rf", d])
    check("harness timing: CPU-time median of N runs after a warm-up (min, wall median too)",
          ok, r.stdout + r.stderr.strip()[-200:])


def test_avx512(run, y0):
    """avx512 runs natively, or emulated through SIMDe (said so), or is refused up front."""
    t = subprocess.run([WRPNC, "targets"], capture_output=True, text=True).stdout
    off = dict(os.environ, WRPNC_NO_EMULATION="1")
    if "avx512   runs here" not in t:
        t_off = subprocess.run([WRPNC, "targets"], capture_output=True, text=True,
                               env=off).stdout
        r, _ = run("ex512off", "--target", "avx512", env=off)
        check("without AVX-512 or SIMDe, avx512 is refused up front (no SIGILL)",
              "avx512   cannot run here" in t_off and r.returncode == 1 and
              "libsimde-dev" in r.stderr and "failed to run" not in r.stderr,
              t_off + r.stderr.strip()[-200:])
    if "avx512   runs here" not in t and "avx512   runs emulated (SIMDe" not in t:
        print("SKIP  avx512: no AVX-512 and SIMDe (libsimde-dev) not installed")
        SKIPPED.append("avx512")
        return
    r, y = run("ex512", "--target", "avx512")
    how = "natively" if "avx512   runs here" in t else "emulated (SIMDe)"
    said = how == "natively" or "runs emulated (SIMDe)" in r.stdout
    check(f"avx512 {how} gives the generic outputs and says how it ran",
          y is not None and np.allclose(y, y0, rtol=1e-5, atol=1e-5) and said,
          r.stdout + r.stderr.strip()[-200:])


def main():
    global WRPNC
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    WRPNC = os.path.abspath(a.wrpnc)
    tmp = tempfile.mkdtemp(prefix="wrpnc-out-")
    try:
        m, consts = const_model()
        path = os.path.join(tmp, "consts.onnx")
        onnx.save(m, path)
        test_weights_modes(tmp, path, consts)
        test_weights_auto(tmp, path, consts)
        test_blob_layout(tmp, path, consts)
        test_builds(tmp, path)
        big = os.path.join(tmp, "bigc.onnx")
        onnx.save(big_const_model(), big)
        test_builds(tmp, big, " (128 KiB constant)")
        test_isa_guard(tmp, path)
        test_determinism(tmp, path)
        test_atomic(tmp, path)
        test_exec(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    failed = sum(1 for r in RESULTS if not r[1])
    print(f"{len(RESULTS) - failed} passed, {failed} failed, {len(SKIPPED)} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
