"""What the end-to-end test scripts share: the repository root, the warning
flags generated code is built with, running a command (failure raises
RuntimeError with its output), a scratch folder, and the PASS / FAIL / SKIP
tally whose last line is the test's summary and whose exit code is the test's
result."""
import os
import shutil
import subprocess
import tempfile
from contextlib import contextmanager

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# What generated code must build without, as errors: the house style's -Wshadow,
# -Wconversion and -Wdouble-promotion on top of -Wall -Wextra -Wpedantic.
WARN = ["-Wall", "-Wextra", "-Wpedantic", "-Werror", "-Wshadow", "-Wconversion",
        "-Wdouble-promotion"]
WARN_FLAGS = " ".join(WARN)


def run(cmd, ok=(0,), **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode not in ok:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout


@contextmanager
def scratch(prefix):
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class Tally:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def check(self, ok, msg):
        print("PASS" if ok else "FAIL", msg)
        self.passed += bool(ok)
        self.failed += not ok
        return ok

    def skip(self, msg):
        print("SKIP", msg)
        self.skipped += 1

    def error(self, e):
        print("FAIL", e)
        self.failed += 1

    def finish(self):
        """Prints the summary line; the process exit code."""
        print(f"{self.passed} passed, {self.failed} failed, {self.skipped} skipped")
        return 1 if self.failed or not self.passed else 0


def target_runs(wrpnc):
    """How this machine runs each target `wrpnc targets` lists: "native", "emulated (SIMDe)"
    (avx512 code on a CPU without AVX-512), "emulated (qemu)" (neon elsewhere), or None when
    it cannot run it at all (a test then reports that target skipped, never passed)."""
    out = subprocess.run([wrpnc, "targets"], capture_output=True, text=True).stdout
    how = {}
    for line in out.splitlines():
        name, _, text = line.partition(" ")
        text = text.strip()
        if not name or "=" in line:
            continue
        how[name] = ("native" if text.startswith("runs here") else
                     "emulated (SIMDe)" if text.startswith("runs emulated (SIMDe") else
                     "emulated (qemu)" if text.startswith("runs under qemu") else None)
    return how


def target_label(target, how):
    """The target as report lines name it: 'avx512 [emulated (SIMDe)]' when not native."""
    return target if how.get(target.split("+")[0]) in (None, "native") else \
        f"{target} [{how[target.split('+')[0]]}]"
def write_dataset(path, inputs, outputs):
    """A test_data_set folder: inputs and outputs are lists of (name, array)."""
    from onnx import numpy_helper
    os.makedirs(path, exist_ok=True)
    for kind, values in (("input", inputs), ("output", outputs)):
        for i, (name, a) in enumerate(values):
            with open(os.path.join(path, f"{kind}_{i}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(a, name).SerializeToString())


def ort_run(model, feeds):
    """ONNX Runtime's outputs for feeds (name -> array), graph optimisations off."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    src = model if isinstance(model, str) else model.SerializeToString()
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"]).run(None, feeds)


def host_targets(wrpnc, want=("generic", "avx2", "avx512", "neon")):
    """(target, how) for each target of want that `wrpnc targets` lists, in want's order:
    how is "native", "emulated (SIMDe)", "emulated (qemu)", or None when this machine
    cannot run it (a test reports that target skipped, never passed)."""
    how = target_runs(wrpnc)
    return [(t, how[t]) for t in want if t in how]


def exec_engines(wrpnc, want=("generic", "avx2", "avx512", "neon")):
    """(label, verify arguments) for every target of want that `wrpnc targets` lists, then
    the reference interpreter; the label names an emulation; the arguments are None for
    a target this machine cannot run (the test reports it skipped, never passed)."""
    how = target_runs(wrpnc)
    res = [(target_label(t, how), ["--target", t] if how[t] else None)
           for t in want if t in how]
    return res + [("interp", ["--engine", "interp"])]


def run_vs_ort(wrpnc, path, x, stem, target, tol=1e-4):
    """`wrpnc run` of the model at path on input x (named "x", written to STEM.pb) for one
    target, its C built with WARN_FLAGS (output in STEM_TARGET), against ONNX Runtime's
    first output at rtol = atol = tol: None, or what failed."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper
    xin = stem + ".pb"
    onnx.save_tensor(numpy_helper.from_array(x, "x"), xin)
    ref = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    out = stem + "_" + target
    r = subprocess.run([wrpnc, "run", path, "--input", xin, "--output-dir", out, "--target", target,
                        "--cflags=" + WARN_FLAGS], capture_output=True, text=True)
    if r.returncode != 0:
        return f"wrpnc run failed: {r.stderr.strip()[-300:]}"
    y = numpy_helper.to_array(onnx.load_tensor(os.path.join(out, "output_0.pb")))
    if y.shape != ref.shape or not np.allclose(y, ref, rtol=tol, atol=tol):
        return f"mismatch, max abs err {float(np.abs(y - ref).max())}"
    return None


def check_on_targets(wrpnc, tally, cases, check, want=("generic", "avx2", "avx512", "neon")):
    """check(case, target) -> None or what failed, for every case (case[0] its name) on each
    target of want that `wrpnc targets` lists, each a tally line; a target this machine
    cannot run is skipped, never passed."""
    how = target_runs(wrpnc)
    for t in [t for t in want if t in how]:
        for case in cases:
            if not how[t]:
                tally.skip(f"{case[0]} {t}: this CPU cannot run {t}")
                continue
            err = check(case, t)
            tally.check(err is None, f"{case[0]} {target_label(t, how)}"
                        f"{': ' + err if err else ''}")


# The warnings generated code must be free of (README), as errors.
STRICT = "--cflags=-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wdouble-promotion -Werror"


def verify(wrpnc, model, dataset, target, tol=("1e-4", "1e-4"), extra=()):
    """wrpnc verify on one target (or "interp"), the C built with STRICT
    warnings: (ok, first failure line)."""
    cmd = [wrpnc, "verify", model, dataset, "--rtol", tol[0], "--atol", tol[1], *extra]
    cmd += ["--engine", "interp"] if target == "interp" else ["--target", target, STRICT]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode == 0:
        return True, ""
    lines = [l.strip() for l in r.stdout.splitlines() if "FAIL" in l] or \
        (r.stderr.strip().splitlines() or r.stdout.strip().splitlines() or ["?"])[-1:]
    return False, lines[0]


def verify_everywhere(wrpnc, tally, name, model, dataset, tol=("1e-4", "1e-4")):
    """verify() of one model on every target `wrpnc targets` lists and the interpreter,
    each a line of the tally (a target this machine cannot run: skipped, never passed)."""
    targets = host_targets(wrpnc) + [("interp", "native")]
    for t, how in targets:
        if not how:
            tally.skip(f"{name} {t}: not run (this machine cannot execute {t} code)")
            continue
        ok, why = verify(wrpnc, model, dataset, t, tol)
        tally.check(ok, f"{name} {target_label(t, dict(targets))}" + (f": {why}" if why else ""))
