#!/usr/bin/env python3
"""Writes ONNX's backend node test cases (defined in the onnx package, with
numpy reference outputs) in the standard layout:
  OUT/<case>/model.onnx, OUT/<case>/test_data_set_<i>/{input,output}_<j>.pb,
  OUT/<case>/tol.txt ("rtol atol" from the case).
Skips the work when OUT/stamp names the installed onnx version.
"""
import os
import sys
import warnings

import numpy as np
import onnx
import onnx.backend.test.case.node as node_cases
from onnx import numpy_helper


def write_tensor(path, value, name):
    if isinstance(value, onnx.TensorProto):
        data = value.SerializeToString()
    else:
        data = numpy_helper.from_array(np.asarray(value), name).SerializeToString()
    with open(path, "wb") as f:
        f.write(data)


def main(out):
    stamp = os.path.join(out, "stamp")
    if os.path.exists(stamp) and open(stamp).read() == onnx.__version__:
        return 0
    warnings.simplefilter("ignore")
    os.makedirs(out, exist_ok=True)
    n = 0
    for case in node_cases.collect_testcases(None):
        d = os.path.join(out, case.name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        with open(os.path.join(d, "tol.txt"), "w") as f:
            f.write(f"{case.rtol} {case.atol}\n")
        g = case.model.graph
        for i, (inputs, outputs) in enumerate(case.data_sets):
            ds = os.path.join(d, f"test_data_set_{i}")
            os.makedirs(ds, exist_ok=True)
            try:
                for j, v in enumerate(inputs):
                    write_tensor(os.path.join(ds, f"input_{j}.pb"), v, g.input[j].name)
                for j, v in enumerate(outputs):
                    write_tensor(os.path.join(ds, f"output_{j}.pb"), v, g.output[j].name)
            except Exception:  # sequences, maps, optionals: not tensors
                open(os.path.join(d, "not_tensor"), "w").close()
        n += 1
    with open(stamp, "w") as f:
        f.write(onnx.__version__)
    print(f"wrote {n} node test cases to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
