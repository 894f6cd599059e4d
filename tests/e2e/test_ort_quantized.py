#!/usr/bin/env python3
"""Models from ONNX Runtime's own quantizer run on the integer kernels.

A small CNN (Conv-Relu, strided Conv-Relu, MaxPool, Conv-Relu, GlobalAveragePool, Linear)
from PyTorch is quantized by onnxruntime.quantization.quantize_static in QDQ format:
per-channel int8 weights (and int4: written as com.microsoft QDQ below opset 21) and
asymmetric uint8 activations with zero points, the input included. Every Conv and the
Gemm must become an integer QConv (`wrpnc info --json`), and the generated code must
match ONNX Runtime running the QDQ graph itself (without its graph optimizations, which
change the arithmetic) on every target this machine runs. Scales here are not powers of
two, so ONNX Runtime's float convolution rounds its sums and can put a value on the other
side of a quantizer's tie: the tolerance is two steps of the output quantizer, and the
test reports how many outputs are exact.

  test_ort_quantized.py --wrpnc build/wrpnc
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from e2e_util import Tally, target_label, target_runs


def export(path):
    import torch
    torch.manual_seed(0)
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
                        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                        nn.Flatten(), nn.Linear(32, 10)).eval()
    torch.onnx.export(net, torch.randn(1, 3, 32, 32), path, opset_version=13,
                      input_names=["x"], output_names=["y"])


def quantize(src, dst, weight_type):
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    rng = np.random.default_rng(0)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.data = iter([{"x": rng.standard_normal((1, 3, 32, 32)).astype(np.float32)}
                              for _ in range(8)])

        def get_next(self):
            return next(self.data, None)

    quantize_static(src, dst, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=getattr(QuantType, weight_type))


def output_step(path):
    """Scale of the quantizer nearest the output: the last DequantizeLinear's."""
    m = onnx.load(path)
    inits = {t.name: t for t in m.graph.initializer}
    dq = [n for n in m.graph.node if n.op_type == "DequantizeLinear" and n.input[0] not in inits]
    return float(numpy_helper.to_array(inits[dq[-1].input[1]]).max())


def datasets(model, root, k=3):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(5)
    out = []
    for i in range(k):
        x = rng.standard_normal((1, 3, 32, 32)).astype(np.float32)
        d = os.path.join(root, f"test_data_set_{i}")
        os.makedirs(d)
        for fn, v, n in (("input_0", x, "x"), ("output_0", sess.run(None, {"x": x})[0], "y")):
            with open(os.path.join(d, fn + ".pb"), "wb") as f:
                f.write(numpy_helper.from_array(v, n).SerializeToString())
        out.append(d)
    return out


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr




def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    ort.set_default_logger_severity(3)
    t = Tally()
    how = target_runs(a.wrpnc)
    runs = [x for x, h in how.items() if h]
    not_run = [x for x, h in how.items() if not h]
    with tempfile.TemporaryDirectory() as root:
        fp = os.path.join(root, "fp.onnx")
        export(fp)
        for wt in ("QInt8", "QInt4"):
            q = os.path.join(root, f"{wt}.onnx")
            quantize(fp, q, wt)
            info = json.loads(run([a.wrpnc, "info", q, "--json"])[1])
            t.check(info["layers"] == {"integer": 4, "float": 0},
                    f"{wt}: every Conv and the Gemm integer ({info['layers']})")
            tol = str(2 * output_step(q))
            exact = total = 0
            for target in runs:
                for d in datasets(q, os.path.join(root, f"{wt}_{target}")):
                    rc, log = run([a.wrpnc, "verify", q, d, "--target", target, "--atol", tol,
                                   "--rtol", "0"])
                    m = re.search(r"(\d+) values, max abs err (\S+),", log)
                    total += 1
                    exact += bool(m) and float(m.group(2)) == 0
                    t.check(rc == 0, f"{wt} {target_label(target, how)} {os.path.basename(d)} vs onnxruntime "
                            f"(atol {float(tol):.3g}, two output steps)" +
                            ("" if rc == 0 else "\n" + log[-1500:]))
            print(f"{wt}: {exact} of {total} runs exact to the bit")
    for target in not_run:
        t.skip(f"{target}: not run (this machine cannot run it)")
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
