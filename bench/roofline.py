#!/usr/bin/env python3
"""roofline.py: this CPU's per-core peak per target, the yardstick of the benchmarks.

Builds bench/roofline.c once per target this CPU runs natively (flags from `wrpnc cflags`;
avx512 only where the CPU has AVX-512: under SIMDe its speed means nothing), runs it and
prints, per target, GMAC/s for fp32 FMA, int8 dot products, 1-bit AND/XOR + popcount and
2x2-bit bit-serial planes. The k_a x k_w bit-serial limit is the 1-bit (AND) rate divided
by k_a k_w. Rates are CPU time on one core (no performance counters in a VM, so no
per-cycle figures). bench_fp32.py and bench_lowbit.py import this module and print every
kernel line as a fraction of the matching peak, measured in the same run.

  roofline.py --wrpnc build/wrpnc [--targets generic,avx2,avx512] [--cc clang]
              [--seconds 0.2] [--json]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "roofline.c")
LABELS = {"fp32": "fp32 FMA", "int8": "int8 dot product", "bin_and": "1-bit AND + popcount",
          "bin_xor": "1-bit XOR + popcount", "bs22": "2x2-bit bit-serial planes"}


def cpu_name():
    """Model name, family/model and vector ISA of this CPU, from /proc/cpuinfo."""
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                info.setdefault(k.strip(), v.strip())
    except OSError:
        import platform
        return platform.processor() or platform.machine()
    flags = set(info.get("flags", "").split())
    isa = "AVX-512 (" + ", ".join(sorted(f[6:] for f in flags if f.startswith("avx512"))) + ")" \
        if "avx512f" in flags else "AVX2, no AVX-512" if "avx2" in flags else "no AVX2"
    return "%s (family %s model %s), %d cores, %s" % (
        info.get("model name", "unknown CPU"), info.get("cpu family", "?"), info.get("model", "?"),
        os.cpu_count() or 0, isa)


def native_targets(wrpnc):
    """Targets `wrpnc targets` says run here natively (not emulated)."""
    out = subprocess.run([wrpnc, "targets"], capture_output=True, text=True).stdout
    return [l.split()[0] for l in out.splitlines()
            if len(l.split()) > 1 and l.split(None, 1)[1].startswith("runs here")]


def peaks(wrpnc, target, cc="clang", seconds=0.2):
    """{key: GMAC/s} for one target, plus 'what' (instruction mix per key)."""
    flags = subprocess.run([wrpnc, "cflags", "--target", target], capture_output=True,
                           text=True, check=True).stdout.split()
    with tempfile.TemporaryDirectory() as d:
        exe = os.path.join(d, "roofline")
        subprocess.run([cc, "-O2", "-std=c99"] + flags + [SOURCE, "-o", exe], check=True)
        out = subprocess.run([exe, str(seconds)], capture_output=True, text=True,
                             check=True).stdout
    res = json.loads(out)
    p = {t["key"]: t["gmac_s"] for t in res["tests"]}
    p["what"] = {t["key"]: t["what"] for t in res["tests"]}
    p["ginstr"] = {t["key"]: t["ginstr_s"] for t in res["tests"]}
    return p


def peak_for(p, family, ka=1, kw=1):
    """GMAC/s limit of a kernel family: 'fp32', 'int8', 'bitserial' (k_a x k_w), 'xnor'."""
    if family == "bitserial":
        return p["bin_and"] / (ka * kw)
    return p["bin_xor"] if family == "xnor" else p[family]


def fraction(macs, seconds, peak_gmac):
    """Achieved GMAC/s over the peak: the fraction of the roofline a kernel reaches."""
    return macs / seconds * 1e-9 / peak_gmac if seconds > 0 and peak_gmac else float("nan")


def table(results):
    lines = ["| target | work | instructions | GMAC/s | G instr/s |", "|---|---|---|---|---|"]
    for t, p in results.items():
        for k in ("fp32", "int8", "bin_and", "bin_xor", "bs22"):
            lines.append("| %s | %s | %s | %.1f | %.2f |" % (t, LABELS[k], p["what"][k], p[k],
                                                             p["ginstr"][k]))
        for ka, kw in ((1, 2), (2, 2), (2, 3)):
            lines.append("| %s | %dx%d-bit bit-serial limit | 1-bit AND rate / %d | %.1f | |" % (
                t, ka, kw, ka * kw, peak_for(p, "bitserial", ka, kw)))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--targets", default="generic,avx2,avx512")
    ap.add_argument("--cc", default="clang")
    ap.add_argument("--seconds", type=float, default=0.2, help="per timed run (best of 5)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    here = native_targets(a.wrpnc)
    results = {}
    for t in a.targets.split(","):
        if t not in here:
            print(f"roofline: {t}: this CPU does not run it natively, no peak", file=sys.stderr)
            continue
        results[t] = peaks(a.wrpnc, t, a.cc, a.seconds)
    if a.json:
        print(json.dumps({"cpu": cpu_name(), "peaks": results}, indent=1))
        return 0
    print(f"CPU: {cpu_name()}; one core, CPU time, compiler {a.cc}")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
