#!/usr/bin/env python3
"""Einsum equations the ONNX node tests leave out (transposed and broadcast
batch products, outer products, diagonals, three operands, implicit output,
upper-case labels, full reductions), float32 and float64, compared with ONNX
Runtime: `wrpnc verify` with the generated C on every target this CPU runs
and with the reference interpreter.

  test_einsum.py --wrpnc build/wrpnc

Prints one line per (equation, dtype, engine), then "N passed, N failed, N skipped".
"""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import exec_engines, Tally, run, scratch  # noqa: E402

# equation, operand shapes
CASES = [
    ("ij,jk->ik", [(5, 7), (7, 9)]),
    ("bij,bkj->bik", [(3, 4, 6), (3, 5, 6)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 5, 8), (2, 3, 7, 8)]),
    ("i,j->ij", [(4,), (6,)]),
    ("ii->i", [(5, 5)]),
    ("ii", [(4, 4)]),
    ("ij->", [(3, 5)]),
    ("ijk->kji", [(2, 3, 4)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (1, 5, 4, 2)]),
    ("abc,cd,de->abe", [(2, 3, 4), (4, 5), (5, 6)]),
    ("bn,anm,bm->ba", [(3, 4), (2, 4, 5), (3, 5)]),
    ("ij,jk", [(3, 4), (4, 2)]),
    ("Ab,bC->CA", [(3, 4), (4, 2)]),
    ("bij,jk->bik", [(4, 3, 5), (5, 6)]),
    ("ijj,jk->ik", [(3, 4, 4), (4, 2)]),
]


def model(dt):
    """Every case in one model: inputs c<k>_x<i>, outputs y<k>."""
    vis, nodes = [], []
    for k, (eq, shapes) in enumerate(CASES):
        names = [f"c{k}_x{i}" for i in range(len(shapes))]
        vis += [helper.make_tensor_value_info(n, dt, s) for n, s in zip(names, shapes)]
        nodes.append(helper.make_node("Einsum", names, [f"y{k}"], equation=eq))
    outs = [onnx.ValueInfoProto(name=f"y{k}") for k in range(len(CASES))]
    g = helper.make_graph(nodes, "einsum", vis, outs)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 12)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    t = Tally()
    rng = np.random.default_rng(3)
    engines = exec_engines(a.wrpnc)
    with scratch("wrpnc-einsum-") as tmp:
        for np_t, dt in ((np.float32, onnx.TensorProto.FLOAT),
                         (np.float64, onnx.TensorProto.DOUBLE)):
            m = model(dt)
            feeds = {v.name: rng.standard_normal([x.dim_value for x in
                                                  v.type.tensor_type.shape.dim]).astype(np_t)
                     for v in m.graph.input}
            sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
            ys = sess.run(None, feeds)
            d = os.path.join(tmp, np.dtype(np_t).name)
            ds = os.path.join(d, "test_data_set_0")
            os.makedirs(ds)
            for k, y in enumerate(ys):
                m.graph.output[k].CopyFrom(helper.make_tensor_value_info(f"y{k}", dt, y.shape))
                onnx.save_tensor(numpy_helper.from_array(y, f"y{k}"),
                                 os.path.join(ds, f"output_{k}.pb"))
            onnx.save(m, os.path.join(d, "model.onnx"))
            for i, (n, x) in enumerate(feeds.items()):
                onnx.save_tensor(numpy_helper.from_array(x, n), os.path.join(ds, f"input_{i}.pb"))
            for label, eng in engines:
                if eng is None:
                    t.skip(f"{np.dtype(np_t).name} {label}: this machine cannot run it")
                    continue
                r = subprocess.run([a.wrpnc, "verify", os.path.join(d, "model.onnx"), ds,
                                    "--rtol", "1e-5", "--atol", "1e-5", *eng,
                                    "--cflags=-Wall -Wextra -Wpedantic -Werror"],
                                   capture_output=True, text=True)
                lines = r.stdout.splitlines()
                for k, (eq, _) in enumerate(CASES):
                    bad = [l for l in lines if f"'y{k}'" in l and "FAIL" in l]
                    ok = r.returncode == 0 or (not bad and any(f"'y{k}'" in l for l in lines))
                    why = bad[0].strip() if bad else (r.stderr.strip().splitlines() or ["?"])[-1]
                    t.check(ok, f"'{eq}' {np.dtype(np_t).name} {label}" + ("" if ok else
                                                                            ": " + why))
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
