#!/usr/bin/env python3
"""The blockings of the AVX2 bit-serial and xnor kernels (codegen/kernels/lowbit_avx2px.c)
against ONNX Runtime.

Those kernels compute one pixel x NB vectors of 4 output channels and keep byte counters
across taps, reducing them only before a byte could pass 255. Each case reaches one of
their paths: a last channel block with fewer lanes (M not a multiple of 4 NB), counters
reduced between taps (3x3, C = 200: 36 words a pixel), inside a tap (1x1 with more words
a pixel than a counter takes: C = 2050 at one shift pair, C = 1000 at two), C not a
multiple of 64, padding, stride 2 and two groups, binary, multi-bit and signed codes,
xnor; and 1-bit codes out of blocks of 32 channels, written at once (scales of both
signs: thresholds passed upwards and downwards), read packed by a second QConv; a max
pool 3x3, stride 2, pad 1 of 1-bit codes in planes (codegen/kernels/qpool.c: the OR of
the window's words). Activations are full scale in the first three rows and filter 0 holds the largest
code everywhere, so that a counter reduced too late overflows. The expected int32
accumulators come from ONNX Runtime's float Conv of the codes (a = code, or 2 code - 1
for xnor, zero padding), exact in float32 at these sizes; the generated C runs on
generic and avx2 (where the CPU has it, else skipped) and the interpreter, atol = 0.

  test_lowbit_blocks.py --wrpnc build/wrpnc
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import Tally, ort_run, scratch, verify_everywhere, write_dataset  # noqa: E402

# name, kernel, abits, wbits, signed codes, C, M, group, kernel size, pad, stride, H
CASES = [
    ("bin 3x3 C=200 M=40", "bitserial", 1, 1, False, 200, 40, 1, 3, 1, 1, 6),
    ("bin 3x3 s2 g2 C=400 M=72", "bitserial", 1, 1, False, 400, 72, 2, 3, 1, 2, 7),
    ("bin 1x1 C=2050 M=12", "bitserial", 1, 1, False, 2050, 12, 1, 1, 0, 1, 3),
    ("xnor 3x3 C=200 M=40", "xnor", 1, 1, False, 200, 40, 1, 3, 1, 1, 6),
    ("xnor 3x3 s2 g2 C=400 M=72", "xnor", 1, 1, False, 400, 72, 2, 3, 1, 2, 7),
    ("xnor 1x1 C=2050 M=12", "xnor", 1, 1, False, 2050, 12, 1, 1, 0, 1, 3),
    ("a2w2 3x3 C=200 M=20", "bitserial", 2, 2, False, 200, 20, 1, 3, 1, 1, 5),
    ("a2w3 1x1 C=1000 M=10", "bitserial", 2, 3, False, 1000, 10, 1, 1, 0, 1, 3),
    ("signed a2w1 3x3 C=200 M=12", "bitserial", 2, 1, True, 200, 12, 1, 3, 1, 1, 5),
]


def case_codes(rng, kind, abits, wbits, signed, C, M, group, k, H):
    """Activation codes (N,C,H,H), their values a, and weight codes (M,C/group,k,k)."""
    if signed:
        x = rng.integers(-2 ** (abits - 1), 2 ** (abits - 1), size=(1, C, H, H)).astype(np.int8)
        x[:, :, :3, :] = -2 ** (abits - 1)
    else:
        x = rng.integers(0, 2 ** abits, size=(1, C, H, H)).astype(np.uint8)
        x[:, :, :3, :] = 2 ** abits - 1
    a = 2 * x.astype(np.float32) - 1 if kind == "xnor" else x.astype(np.float32)
    top = 1 if wbits == 1 else 2 ** (wbits - 1) - 1
    w = (rng.choice([-1, 1], size=(M, C // group, k, k)) if wbits == 1 else
         rng.integers(-top, top + 1, size=(M, C // group, k, k)))
    w[0] = top
    return x, a, w.astype(np.int8)


def chain(rng, nodes, inits, ins, outs, xs, want):
    """Binary 3x3 QConv (64 channels, scales of both signs and a zero) writing 1-bit
    codes round(clip(acc * s + b, 0, 1)) read packed by a 1x1 QConv (accumulators out);
    ONNX Runtime: Conv, Mul, Add, Clip, Round, Conv."""
    C, M, H = 72, 64, 6
    x = rng.integers(0, 2, size=(1, C, H, H)).astype(np.uint8)
    w1 = rng.choice([-1, 1], size=(M, C, 3, 3)).astype(np.int8)
    w2 = rng.choice([-1, 1], size=(8, M, 1, 1)).astype(np.int8)
    s = (rng.uniform(0.002, 0.02, M) * rng.choice([-1, 1], M)).astype(np.float32)
    s[1] = 0  # a dead channel
    b = rng.uniform(-0.5, 1.0, M).astype(np.float32)
    inits += [numpy_helper.from_array(w1, "cw1"), numpy_helper.from_array(w2, "cw2"),
              numpy_helper.from_array(s, "cs"), numpy_helper.from_array(b, "cb")]
    nodes += [helper.make_node("PackAct", ["cx"], ["cp"], domain="wrpnc", bits=1, layout="planes"),
              helper.make_node("QConv", ["cp", "cw1", "cs", "cb"], ["cq"], domain="wrpnc", abits=1,
                               wbits=1, kernel="bitserial", pads=[1] * 4, out_bits=1),
              helper.make_node("PackAct", ["cq"], ["cp2"], domain="wrpnc", bits=1,
                               layout="planes"),
              helper.make_node("QConv", ["cp2", "cw2"], ["cy"], domain="wrpnc", abits=1, wbits=1,
                               kernel="bitserial", out_acc=1)]
    f = lambda name, v: numpy_helper.from_array(np.asarray(v, np.float32), name)  # noqa: E731
    ref = helper.make_model(helper.make_graph(
        [helper.make_node("Conv", ["a", "w1"], ["t0"], pads=[1] * 4),
         helper.make_node("Mul", ["t0", "s"], ["t1"]), helper.make_node("Add", ["t1", "b"], ["t2"]),
         helper.make_node("Clip", ["t2", "lo", "hi"], ["t3"]), helper.make_node("Round", ["t3"], ["t4"]),
         helper.make_node("Conv", ["t4", "w2"], ["y"])], "ref",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [f("w1", w1), f("w2", w2), f("s", s.reshape(1, M, 1, 1)), f("b", b.reshape(1, M, 1, 1)),
         f("lo", 0), f("hi", 1)]), opset_imports=[helper.make_opsetid("", 13)])
    y = ort_run(ref, {"a": x.astype(np.float32)})[0].astype(np.int32)
    ins.append(helper.make_tensor_value_info("cx", TensorProto.UINT8, list(x.shape)))
    outs.append(helper.make_tensor_value_info("cy", TensorProto.INT32, list(y.shape)))
    xs.append(("cx", x))
    want.append(("cy", y))


def pool(rng, nodes, inits, ins, outs, xs, want):
    """Max pool 3x3, stride 2, pad 1 of 1-bit codes (C = 100) kept in planes (the OR of
    the window's words), read by a 1x1 QConv; ONNX Runtime: MaxPool, Conv."""
    C, H = 100, 9
    x = rng.integers(0, 2, size=(1, C, H, H)).astype(np.uint8)
    x[:, :, :, 4] = 0  # windows with no 1
    w = rng.choice([-1, 1], size=(8, C, 1, 1)).astype(np.int8)
    geo = dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4)
    inits.append(numpy_helper.from_array(w, "pw"))
    nodes += [helper.make_node("PackAct", ["px"], ["pp"], domain="wrpnc", bits=1, layout="planes"),
              helper.make_node("QPool", ["pp"], ["pq"], domain="wrpnc", mode="max",
                               out_layout="planes", **geo),
              helper.make_node("QConv", ["pq", "pw"], ["py"], domain="wrpnc", abits=1, wbits=1,
                               kernel="bitserial", out_acc=1)]
    ref = helper.make_model(helper.make_graph(
        [helper.make_node("MaxPool", ["a"], ["t"], **geo), helper.make_node("Conv", ["t", "w"], ["y"])],
        "ref", [helper.make_tensor_value_info("a", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w.astype(np.float32), "w")]),
        opset_imports=[helper.make_opsetid("", 13)])
    y = ort_run(ref, {"a": x.astype(np.float32)})[0].astype(np.int32)
    ins.append(helper.make_tensor_value_info("px", TensorProto.UINT8, list(x.shape)))
    outs.append(helper.make_tensor_value_info("py", TensorProto.INT32, list(y.shape)))
    xs.append(("px", x))
    want.append(("py", y))


def build(d, rng):
    """The QConv model (int32 accumulators out) and its dataset from ONNX Runtime."""
    nodes, inits, ins, outs, xs, want = [], [], [], [], [], []
    for j, (_, kind, ab, wb, signed, C, M, group, k, pad, st, H) in enumerate(CASES):
        x, a, w = case_codes(rng, kind, ab, wb, signed, C, M, group, k, H)
        bip = {"bipolar": 1} if kind == "xnor" else {}
        nodes.append(helper.make_node("PackAct", [f"x{j}"], [f"p{j}"], domain="wrpnc", bits=ab,
                                      group=group, layout="planes", **bip))
        nodes.append(helper.make_node("QConv", [f"p{j}", f"w{j}"], [f"y{j}"], domain="wrpnc",
                                      abits=ab, wbits=wb, kernel=kind, group=group,
                                      pads=[pad] * 4, strides=[st, st], out_acc=1))
        inits.append(numpy_helper.from_array(w, f"w{j}"))
        ref = helper.make_model(helper.make_graph(
            [helper.make_node("Conv", ["a", "w"], ["y"], group=group, pads=[pad] * 4,
                              strides=[st, st])], "ref",
            [helper.make_tensor_value_info("a", TensorProto.FLOAT, list(a.shape))],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
            [numpy_helper.from_array(w.astype(np.float32), "w")]),
            opset_imports=[helper.make_opsetid("", 13)])
        y = ort_run(ref, {"a": a})[0].astype(np.int32)
        et = TensorProto.INT8 if signed else TensorProto.UINT8
        ins.append(helper.make_tensor_value_info(f"x{j}", et, list(x.shape)))
        outs.append(helper.make_tensor_value_info(f"y{j}", TensorProto.INT32, list(y.shape)))
        xs.append((f"x{j}", x))
        want.append((f"y{j}", y))
    chain(rng, nodes, inits, ins, outs, xs, want)
    pool(rng, nodes, inits, ins, outs, xs, want)
    m = helper.make_model(helper.make_graph(nodes, "blocks", ins, outs, inits),
                          opset_imports=[helper.make_opsetid("", 13),
                                         helper.make_opsetid("wrpnc", 1)])
    path = os.path.join(d, "model.onnx")
    onnx.save(m, path)
    write_dataset(os.path.join(d, "test_data_set_0"), xs, want)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    t = Tally()
    with scratch("wrpnc_blocks_") as d:
        model = build(d, np.random.default_rng(5))
        print("cases: " + "; ".join(c[0] for c in CASES))
        verify_everywhere(a.wrpnc, t, "lowbit blocks", model,
                          os.path.join(d, "test_data_set_0"), ("0", "0"))
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
