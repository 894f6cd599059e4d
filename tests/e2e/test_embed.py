#!/usr/bin/env python3
"""The integration example (examples/embed) built three ways: through the CMake
helper wrpnc_add_model, through the plain Makefile, and cross-compiled for
aarch64 (Debian's gcc-aarch64-linux-gnu) and run under qemu-user. All three
must print the same predicted class and scores within 1e-4; the cross build
is skipped (not passed) when the cross tools are missing."""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMBED = os.path.join(ROOT, "examples", "embed")


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout


def scores(text):
    vals = [float(m) for m in re.findall(r"class \d+: (-?[0-9.]+)", text)]
    pred = re.search(r"predicted class: (\d+)", text)
    return vals, int(pred.group(1)) if pred else -1


def same(a, b):
    (va, pa), (vb, pb) = scores(a), scores(b)
    return pa == pb and len(va) == len(vb) == 10 and all(abs(x - y) <= 1e-4 for x, y in zip(va, vb))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    wrpnc = os.path.abspath(a.wrpnc)
    passed = failed = skipped = 0
    tmp = tempfile.mkdtemp(prefix="wrpnc-embed-")
    try:
        bdir = os.path.join(tmp, "cmake")
        run(["cmake", "-S", EMBED, "-B", bdir, f"-DWRPNC_EXECUTABLE={wrpnc}"])
        run(["cmake", "--build", bdir])
        ref = run([os.path.join(bdir, "product")])
        print("PASS cmake helper build runs:", scores(ref)[1])
        passed += 1
        out = os.path.join(tmp, "make")
        run(["make", "-s", "-C", EMBED, f"WRPNC={wrpnc}", f"OUT={out}"])
        text = run([os.path.join(out, "product")])
        ok = same(ref, text)
        print("PASS" if ok else "FAIL", "Makefile build agrees with the CMake build")
        passed += ok
        failed += not ok
        cross, qemu = shutil.which("aarch64-linux-gnu-gcc"), shutil.which("qemu-aarch64")
        if not cross or not qemu:
            print("SKIP aarch64 cross build: aarch64-linux-gnu-gcc or qemu-aarch64 missing")
            skipped += 1
        else:
            out = os.path.join(tmp, "arm")
            run(["make", "-s", "-C", EMBED, f"WRPNC={wrpnc}", f"OUT={out}", f"CC={cross}",
                 "CFLAGS=-O2 -std=c99 -Wall -Wextra -Wpedantic -Werror -static"])
            text = run([qemu, os.path.join(out, "product")])
            ok = same(ref, text)
            print("PASS" if ok else "FAIL", "aarch64 build under qemu agrees with x86-64")
            passed += ok
            failed += not ok
    except RuntimeError as e:
        print("FAIL", e)
        failed += 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
