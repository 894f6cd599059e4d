#!/usr/bin/env python3
"""Exports a tiny Brevitas network (QuantIdentity -> QuantConv2d -> QuantReLU ->
MaxPool -> QuantConv2d, 4-bit weights and unsigned 4-bit activations) twice: as QCDQ
(standard ONNX QuantizeLinear -> Clip -> DequantizeLinear) and as QONNX (Quant ops),
with the same trained-looking weights. The models in this folder were written by it:

  python export.py OUTDIR          # writes tiny_qcdq.onnx, tiny_qonnx.onnx, versions.txt

Needs brevitas (0.10.2 installed with pip --no-deps, plus its pure-Python dependencies
dependencies, unfoldNd, packaging), onnx and onnxoptimizer, and torch; the tests only
read the exported files.
"""
import os
import sys

import onnx
import torch
import torch.nn as nn
import brevitas
import brevitas.nn as qnn
from brevitas.export import export_onnx_qcdq, export_qonnx
from brevitas.quant import Int8WeightPerTensorFloat, Uint8ActPerTensorFloat


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = qnn.QuantIdentity(bit_width=4, return_quant_tensor=True,
                                     act_quant=Uint8ActPerTensorFloat)
        self.conv1 = qnn.QuantConv2d(3, 8, 3, padding=1, bias=False, weight_bit_width=4,
                                     weight_quant=Int8WeightPerTensorFloat)
        self.relu1 = qnn.QuantReLU(bit_width=4, return_quant_tensor=True)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = qnn.QuantConv2d(8, 6, 3, padding=1, bias=False, weight_bit_width=4,
                                     weight_quant=Int8WeightPerTensorFloat)

    def forward(self, x):
        x = self.relu1(self.conv1(self.inp(x)))
        return self.conv2(self.pool(x))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    torch.manual_seed(0)
    net = Tiny()
    net.train()
    with torch.no_grad():  # calibrate the activation scales on random data
        for _ in range(8):
            net(torch.rand(4, 3, 8, 8) * 2)
    net.eval()
    x = torch.rand(1, 3, 8, 8)
    export_onnx_qcdq(net, x, export_path=os.path.join(out, "tiny_qcdq.onnx"), opset_version=13)
    export_qonnx(net, x, export_path=os.path.join(out, "tiny_qonnx.onnx"))
    with open(os.path.join(out, "versions.txt"), "w") as f:
        f.write(f"brevitas {brevitas.__version__}\ntorch {torch.__version__}\n"
                f"onnx {onnx.__version__}\n")


if __name__ == "__main__":
    main()
