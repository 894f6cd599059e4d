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
import sys

from e2e_util import ROOT, WARN_FLAGS, Tally, run, scratch

EMBED = os.path.join(ROOT, "examples", "embed")


def scores(text):
    vals = [float(m) for m in re.findall(r"class \d+: (-?[0-9.]+)", text)]
    pred = re.search(r"predicted class: (\d+)", text)
    return vals, int(pred.group(1)) if pred else -1


def same(a, b):
    (va, pa), (vb, pb) = scores(a), scores(b)
    return pa == pb and len(va) == len(vb) == 10 and all(abs(x - y) <= 1e-4 for x, y in zip(va, vb))


def cross(t, wrpnc, tmp, ref):
    gcc, qemu = shutil.which("aarch64-linux-gnu-gcc"), shutil.which("qemu-aarch64")
    if not gcc or not qemu:
        t.skip("aarch64 cross build: aarch64-linux-gnu-gcc or qemu-aarch64 missing")
        return
    out = os.path.join(tmp, "arm")
    run(["make", "-s", "-C", EMBED, f"WRPNC={wrpnc}", f"OUT={out}", f"CC={gcc}",
         "CFLAGS=-O2 -std=c99 -static " + WARN_FLAGS])
    t.check(same(ref, run([qemu, os.path.join(out, "product")])),
            "aarch64 build under qemu agrees with x86-64")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    wrpnc = os.path.abspath(ap.parse_args().wrpnc)
    t = Tally()
    with scratch("wrpnc-embed-") as tmp:
        try:
            bdir = os.path.join(tmp, "cmake")
            run(["cmake", "-S", EMBED, "-B", bdir, f"-DWRPNC_EXECUTABLE={wrpnc}"])
            run(["cmake", "--build", bdir])
            ref = run([os.path.join(bdir, "product")])
            t.check(True, f"cmake helper build runs: {scores(ref)[1]}")
            out = os.path.join(tmp, "make")
            run(["make", "-s", "-C", EMBED, f"WRPNC={wrpnc}", f"OUT={out}"])
            t.check(same(ref, run([os.path.join(out, "product")])),
                    "Makefile build agrees with the CMake build")
            cross(t, wrpnc, tmp, ref)
        except RuntimeError as e:
            t.error(e)
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
