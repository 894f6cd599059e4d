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
