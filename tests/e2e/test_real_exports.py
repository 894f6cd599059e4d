#!/usr/bin/env python3
"""Real FINN / Brevitas low-bit exports (tests/data/real) on the integer kernels, exactly.

For every model: `wrpnc info` must show every Conv / MatMul as an integer QConv (the
count each network has), `wrpnc compile --require-integer` must succeed, and `wrpnc
verify` must reproduce the exporter's expected output bit for bit (atol = rtol = 0) on
every target this machine runs (`wrpnc targets`; a target it cannot run is reported as
not run), and in the reference interpreter. The QCDQ models are also run on further
random inputs against ONNX Runtime (which executes QCDQ itself).

cnv_1w1a_random_qonnx is the regression case of BatchNormalization folded into the
float weights of a layer feeding BipolarQuant: exact-zero sums then flipped sign and the
logits were off by up to 32.

  test_real_exports.py --wrpnc build/wrpnc
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from e2e_util import ROOT, Tally, target_label, target_runs

DATA = os.path.join(ROOT, "tests", "data", "real")
# integer layers each network has: TFC 4 MatMuls, CNV 6 convs + 3 MatMuls
LAYERS = {"TFC_1W1A": 4, "TFC_1W2A": 4, "TFC_2W2A": 4, "tfc_1w1a_random_qonnx": 4,
          "tfc_1w2a_random_qonnx": 4, "tfc_2w2a_random_qcdq": 4, "cnv_1w1a_random_qonnx": 9,
          "cnv_2w2a_random_qcdq": 9}


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr




def layers(wrpnc, model):
    """(QConv rows, float Conv / Gemm / MatMul rows) in `wrpnc info`."""
    out = run([wrpnc, "info", model])[1]
    ops = [l.split()[1] for l in out.splitlines() if re.match(r"\s*\d+\s", l)]
    return ops.count("QConv"), sum(o in ("Conv", "Gemm", "MatMul") for o in ops)


def extra_inputs(model, d, k=4, seed=1):
    """k more test_data_set folders, expected outputs from ONNX Runtime."""
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    rng = np.random.default_rng(seed)
    shape = [s if isinstance(s, int) else 1 for s in inp.shape]
    for i in range(k):
        x = rng.uniform(0, 1, size=shape).astype(np.float32)
        y = sess.run(None, {inp.name: x})
        sd = os.path.join(d, f"test_data_set_{i + 1}")
        os.makedirs(sd)
        with open(os.path.join(sd, "input_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(x, inp.name).SerializeToString())
        for j, (o, v) in enumerate(zip(sess.get_outputs(), y)):
            with open(os.path.join(sd, f"output_{j}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(v, o.name).SerializeToString())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    t = Tally()
    how = target_runs(a.wrpnc)
    runs = [x for x, h in how.items() if h]
    not_run = [x for x, h in how.items() if not h]
    for name in sorted(LAYERS):
        d = os.path.join(DATA, name)
        model = os.path.join(d, "model.onnx")
        q, f = layers(a.wrpnc, model)
        t.check(q == LAYERS[name] and f == 0,
                f"{name}: {q} integer layers, {f} float (want {LAYERS[name]}, 0)")
        with tempfile.TemporaryDirectory() as tmp:
            rc, log = run([a.wrpnc, "compile", model, "-o", tmp, "--require-integer"])
            t.check(rc == 0, f"{name}: compile --require-integer" + ("" if rc == 0 else "\n" + log))
        sets = [os.path.join(d, "test_data_set_0")]
        with tempfile.TemporaryDirectory() as tmp:
            if "qcdq" in name:
                extra_inputs(model, tmp)
                sets += [os.path.join(tmp, s) for s in sorted(os.listdir(tmp))]
            for target, engine in [(x, "c") for x in runs] + [("generic", "interp")]:
                for s in sets:
                    exact = s.endswith("test_data_set_0")
                    tol = "0" if exact else "1e-6"
                    rc, log = run([a.wrpnc, "verify", model, s, "--target", target, "--engine",
                                   engine, "--atol", tol, "--rtol", tol])
                    what = "exporter's output" if exact else "onnxruntime, " + os.path.basename(s)
                    t.check(rc == 0, f"{name} {target_label(target, how)}/{engine} vs {what}" +
                            ("" if rc == 0 else "\n" + log[-2000:]))
    for target in not_run:
        t.skip(f"{target}: not run (this machine cannot run it)")
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
