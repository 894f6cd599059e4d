#!/usr/bin/env python3
"""Writes the fuzz seed corpus (tests/fuzz/seeds/): small valid models that
cover the loader's paths (initializers of each encoding, Conv attributes,
local functions, symbolic and zero dims, external data, several constants,
control-flow bodies and a recurrent layer).

  make_seeds.py OUTDIR
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import test_malformed as tm  # noqa: E402
import test_outputs as to  # noqa: E402


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    seeds = {
        "relu": tm.relu_model(),
        "add_raw": tm.add_const(tm.tensor("W", [4], np.arange(4, dtype=np.float32).tobytes())),
        "conv": tm.conv_model(k=2, pads=[1, 0, 1, 0], strides=[1, 2], group=1),
        "consts": to.const_model()[0],
        "function": tm.fn_model([helper.make_node("Relu", ["a"], ["b"])], calls=2),
        "symbolic": tm.model([helper.make_node("Relu", ["X"], ["Y"])], [tm.vi("X", ["N", 4])],
                             [tm.vi("Y", ["N", 4])]),
        "zero": tm.model([helper.make_node("Relu", ["X"], ["Y"])], [tm.vi("X", [0, 4])],
                         [tm.vi("Y", [0, 4])]),
        "external": tm.add_const(tm.external("W", "w.bin", offset=0, length=16)),
        "loop": tm.loop_model(tm.body_graph(tm.NEG)),
        "lstm": tm.lstm_model(direction="reverse", clip=1.0),
    }
    t = tm.tensor("W", [4])
    t.float_data.extend([1, 2, 3, 4])
    seeds["add_typed"] = tm.add_const(t)
    for name, m in seeds.items():
        with open(os.path.join(out, name + ".onnx"), "wb") as f:
            f.write(m.SerializeToString())


if __name__ == "__main__":
    main()
