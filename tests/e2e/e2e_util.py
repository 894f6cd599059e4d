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
