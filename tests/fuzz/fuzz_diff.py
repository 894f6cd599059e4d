#!/usr/bin/env python3
"""Differential run over fuzz_compile inputs: each input (a model description,
tests/fuzz/fuzz_model.c) becomes a model and its wrpnc options (fuzz_gen), and
a model that compiles runs
  - in the reference interpreter (wrpnc run --engine interp), and
  - as generated C for the generic target and for avx2 where this CPU runs it,
    built with -fsanitize=address,undefined and -Wall -Wextra -Wpedantic
    -Werror (--strict adds -Wshadow -Wconversion -Wdouble-promotion: every
    flag generated code must pass),
on the same random inputs. A finding is: wrpnc exiting other than 0 or 1
(a crash), generated code that does not build or run, a sanitizer report, or
outputs that differ from the interpreter's (integer outputs: exactly; float
outputs: beyond rtol = atol = 1e-4 of the output's magnitude; both engines
run the same lowered graph, so low-bit layers hold the same integer codes).
Targets this machine cannot run (avx512; neon without an emulator) are
compiled only: the generated C must build with the same warning flags (neon
with aarch64-linux-gnu-gcc when installed). A model wrpnc refuses with a
clean error counts as skipped (and as a failure with --seeds, whose models
are all valid).

  fuzz_diff.py --wrpnc build/wrpnc --gen build/tests/fuzz_gen (--seeds | INPUT_OR_DIR ...)
               [--targets generic,avx2,avx512,neon] [--alternate] [--strict] [--cc clang]
               [--limit N]
               [--keep DIR]

--alternate runs each input on one of the targets in turn (half the builds).

Ends with "N passed, N failed, N skipped".
"""
import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from e2e_util import Tally  # noqa: E402

SAN = "-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
WARN = "-Wall -Wextra -Wpedantic -Werror"
STRICT = "-Wshadow -Wconversion -Wdouble-promotion"
REPORTS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:",
           "internal error")
NP = {1: np.float32, 10: np.float16, 11: np.float64}
CROSS = {"neon": "aarch64-linux-gnu-gcc"}  # compilers of build-only targets (else --cc)


def inputs_for(model_path, work, seed):
    """Random input files for the model's graph inputs (normal, scaled by 2)."""
    m = onnx.load(model_path)
    rng = np.random.RandomState(seed)
    files = []
    for i, vi in enumerate(m.graph.input):
        tt = vi.type.tensor_type
        shape = [d.dim_value for d in tt.shape.dim]
        x = (rng.standard_normal(shape) * 2).astype(NP.get(tt.elem_type, np.float32))
        path = os.path.join(work, f"input_{i}.pb")
        with open(path, "wb") as f:
            f.write(numpy_helper.from_array(x, vi.name).SerializeToString())
        files.append(path)
    return files


def wrpnc_run(a, model, args, files, out, target=None):
    """(exit code, stderr) of wrpnc run."""
    cmd = [a.wrpnc, "run", model, "--output-dir", out, "--cc", a.cc] + args
    cmd += ["--engine", "interp"] if target is None else ["--target", target]
    for f in files:
        cmd += ["--input", f]
    warn = f"{WARN} {STRICT}" if a.strict else WARN
    env = dict(os.environ, WRPNC_CFLAGS=f"{warn} {SAN} -O1", WRPNC_NO_EMULATION="1")
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    except subprocess.TimeoutExpired:
        return -1, "timeout (600 s)"
    return r.returncode, r.stderr


def outputs(d):
    out, i = [], 0
    while os.path.exists(os.path.join(d, f"output_{i}.pb")):
        t = onnx.TensorProto()
        with open(os.path.join(d, f"output_{i}.pb"), "rb") as f:
            t.ParseFromString(f.read())
        out.append(numpy_helper.to_array(t))
        i += 1
    return out


def mismatch(got, want):
    """None when got matches want, else a description of the worst difference."""
    if len(got) != len(want):
        return f"{len(got)} outputs, the interpreter gives {len(want)}"
    for k, (g, w) in enumerate(zip(got, want)):
        if g.dtype != w.dtype or g.shape != w.shape:
            return f"output {k}: {g.dtype}{g.shape} vs {w.dtype}{w.shape}"
        if g.dtype.kind in "iub":
            bad = np.flatnonzero(g.ravel() != w.ravel())
        else:
            g64, w64 = g.astype(np.float64).ravel(), w.astype(np.float64).ravel()
            fin = w64[np.isfinite(w64)]
            scale = max(1.0, float(np.abs(fin).max()) if fin.size else 1.0)
            tol = 1e-4 * (np.abs(w64) + scale)
            same = (g64 == w64) | (np.isnan(g64) & np.isnan(w64)) | (np.abs(g64 - w64) <= tol)
            bad = np.flatnonzero(~same)
        if bad.size:
            i = bad[0]
            return (f"output {k}: {bad.size} of {g.size} values differ, first at {i}: "
                    f"{g.ravel()[i]} vs interpreter {w.ravel()[i]}")
    return None


def finding(err):
    return next((s for s in REPORTS if s in err), None)


def check_target(a, t, name, model, args, files, ref, work, target):
    out = os.path.join(work, f"out_{target}")
    rc, err = wrpnc_run(a, model, args, files, out, target)
    bad = finding(err)
    if bad or rc != 0:
        return t.check(False, f"{name} [{target}]: exit {rc}, {bad or 'failed'}: "
                              f"{err.strip()[-600:]}")
    why = mismatch(outputs(out), ref)
    return t.check(why is None, f"{name} [{target}] {' '.join(args)}" +
                   (f": {why}" if why else ""))


def build_only(a, t, name, model, args, work, target):
    """Generated C for a target this CPU cannot run must at least build."""
    out = os.path.join(work, f"gen_{target}")
    r = subprocess.run([a.wrpnc, "compile", model, "-o", out, "--name", "net", "--target", target]
                       + args, capture_output=True, text=True, timeout=600)
    bad = finding(r.stderr)
    if bad or r.returncode != 0:
        return t.check(False, f"{name} [{target}, build only]: exit {r.returncode}, "
                              f"{bad or 'failed'}: {r.stderr.strip()[-600:]}")
    flags = subprocess.run([a.wrpnc, "cflags", "--target", target], capture_output=True,
                           text=True).stdout.split()
    cc = CROSS.get(target, a.cc)
    warn = f"{WARN} {STRICT}" if a.strict else WARN
    srcs = [os.path.join(out, f) for f in sorted(os.listdir(out)) if f.endswith(".c")]
    errs = []
    for src in srcs:
        b = subprocess.run([cc, "-std=c99", "-O1", *warn.split(), *flags, "-c", "-o", os.devnull,
                            src], capture_output=True, text=True, timeout=600)
        if b.returncode != 0:
            errs.append(b.stderr.strip()[-600:])
    return t.check(not errs, f"{name} [{target}, build only] {' '.join(args)}"
                   + (f": {errs[0]}" if errs else ""))


def run_case(a, t, path, targets, seeds):
    name = os.path.basename(path)
    work = tempfile.mkdtemp(prefix="wrpnc-fuzz-diff-", dir=a.keep)
    try:
        subprocess.run([a.gen, path, work], check=True, capture_output=True)
        model = os.path.join(work, "model.onnx")
        with open(os.path.join(work, "args")) as f:
            args = shlex.split(f.read())
        i = args.index("--target")
        del args[i:i + 2]
        files = inputs_for(model, work, seed=len(name))
        rc, err = wrpnc_run(a, model, args, files, os.path.join(work, "ref"))
        bad = finding(err)
        if bad or rc not in (0, 1):
            return t.check(False, f"{name} [interp]: exit {rc}, {bad or 'crash'}: "
                                  f"{err.strip()[-600:]}")
        if rc == 1:
            msg = f"{name}: refused: {err.strip().splitlines()[-1][:200] if err.strip() else ''}"
            return t.check(False, msg) if seeds else t.skip(msg)
        ref = outputs(os.path.join(work, "ref"))
        for target, runs in targets:
            if runs:
                check_target(a, t, name, model, args, files, ref, work, target)
            else:
                build_only(a, t, name, model, args, work, target)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


def targets_of(a):
    """(target, runs here) for each requested target that can at least be built."""
    lines = subprocess.run([a.wrpnc, "targets"], capture_output=True, text=True).stdout
    here = {ln.split()[0] for ln in lines.splitlines() if "runs here" in ln}
    out = []
    for x in a.targets.split(","):
        if x in here:
            out.append((x, True))
        elif shutil.which(CROSS.get(x, a.cc)):
            out.append((x, False))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--gen", required=True, help="the fuzz_gen tool")
    ap.add_argument("--seeds", action="store_true", help="run fuzz_gen's seed inputs")
    ap.add_argument("--targets", default="generic,avx2,avx512,neon")
    ap.add_argument("--alternate", action="store_true", help="one target per input, in turn")
    ap.add_argument("--strict", action="store_true", help="every warning flag of generated code")
    ap.add_argument("--cc", default=shutil.which("clang") or "cc")
    ap.add_argument("--limit", type=int, default=0, help="at most N inputs")
    ap.add_argument("--keep", help="keep each case's folder under DIR")
    ap.add_argument("inputs", nargs="*")
    a = ap.parse_args()
    a.wrpnc, a.gen = os.path.abspath(a.wrpnc), os.path.abspath(a.gen)
    t = Tally()
    tmp = tempfile.mkdtemp(prefix="wrpnc-fuzz-seeds-")
    try:
        paths = []
        if a.seeds:
            subprocess.run([a.gen, "--seeds", tmp], check=True)
            paths += sorted(os.path.join(tmp, f) for f in os.listdir(tmp))
        for p in a.inputs:
            paths += sorted(os.path.join(p, f) for f in os.listdir(p)) if os.path.isdir(p) else [p]
        paths = [p for p in paths if os.path.isfile(p) and not p.endswith((".md", ".txt"))]
        if a.limit:
            paths = paths[:a.limit]
        targets = targets_of(a)
        for i, p in enumerate(paths):
            try:
                mine = [targets[i % len(targets)]] if a.alternate and targets else targets
                run_case(a, t, p, mine, a.seeds and p.startswith(tmp))
            except Exception as e:  # noqa: BLE001 - a harness error is a failure, not a crash
                t.error(f"{os.path.basename(p)}: {e}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
