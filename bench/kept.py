"""kept.py: a model's generated program as the benchmarks build and measure it.

build() runs `wrpnc run --keep` on one input (written to DIR/x.pb) and returns the kept
folder and its harness; callgrind() runs that harness once under valgrind's callgrind,
collecting only inside one function and its callees, and returns the instructions
counted (the output file stays, for callgrind_annotate).
"""
import os
import re
import subprocess
import sys

from onnx import numpy_helper


def build(wrpnc, path, x, d, args):
    """`wrpnc run PATH --keep ARGS` on x: (kept folder, harness). Exits on failure."""
    xin = os.path.join(d, "x.pb")
    with open(xin, "wb") as f:
        f.write(numpy_helper.from_array(x, "x").SerializeToString())
    r = subprocess.run([wrpnc, "run", path, "--input", xin, "--output-dir",
                        os.path.join(d, "out"), "--keep"] + list(args),
                       capture_output=True, text=True)
    kept = re.search(r"kept in (\S+)", r.stderr)
    if r.returncode or not kept:
        sys.exit(f"{path}: failed\n{r.stdout}{r.stderr}")
    gen = kept.group(1)
    return gen, [os.path.join(gen, f) for f in os.listdir(gen) if f.endswith("_harness")][0]


def callgrind(exe, fn, out, files=None):
    """Instructions of one run of `exe -r 1 -w 0 FILES` inside fn (callgrind, to out);
    FILES default to the input and output `wrpnc run --keep` left beside exe."""
    gen = os.path.dirname(exe)
    files = files or [os.path.join(gen, "in0.bin"), os.path.join(gen, "out0.bin")]
    subprocess.run(["valgrind", "--tool=callgrind", f"--toggle-collect={fn}",
                    f"--callgrind-out-file={out}", exe, "-r", "1", "-w", "0"] + list(files),
                   check=True, capture_output=True)
    with open(out) as f:
        return int(re.search(r"^summary: (\d+)", f.read(), re.M).group(1))
