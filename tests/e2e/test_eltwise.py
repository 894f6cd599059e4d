#!/usr/bin/env python3
"""Elementwise ops on shapes and dtypes the ONNX node tests leave out
(integer broadcasting, optional inputs, variadic broadcasting with NaN,
in-place chains), compared with ONNX Runtime, or with the onnx reference
evaluator where ONNX Runtime has no kernel for the dtype. Runs `wrpnc verify`
with both engines (generated C and the interpreter), and the generated C once
more for neon where `wrpnc targets` says it runs (on x86-64: under qemu-user;
aarch64 differs in char signedness and float-to-integer conversions).

  test_eltwise.py --wrpnc build/wrpnc
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto as TP, helper, numpy_helper

from e2e_util import WARN_FLAGS

RNG = np.random.default_rng(7)


def rand(dtype, shape, lo=-9, hi=9):
    if np.dtype(dtype).kind == "f":
        return RNG.uniform(lo, hi, shape).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return RNG.integers(0, 2, shape).astype(bool)
    info = np.iinfo(dtype)
    return RNG.integers(max(lo, info.min), min(hi, info.max) + 1, shape).astype(dtype)


def case(op, inputs, attrs=None, opset=18, nodes=None, outputs=("y",)):
    """inputs: list of (name, array) or (name, None) for an absent optional input."""
    vis = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
           for n, a in inputs if a is not None]
    names = [n if a is not None else "" for n, a in inputs]
    nodes = nodes or [helper.make_node(op, names, ["y"], **(attrs or {}))]
    outs = [onnx.ValueInfoProto(name=o) for o in outputs]  # typed once the results are known
    g = helper.make_graph(nodes, op.lower(), vis, outs)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    feeds = {n: a for n, a in inputs if a is not None}
    return m, feeds


def expected(m, feeds):
    try:
        import onnxruntime as ort
        s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        return s.run(None, feeds)
    except Exception:  # no ORT kernel for this dtype: the onnx reference evaluator
        from onnx.reference import ReferenceEvaluator
        with np.errstate(all="ignore"):
            return ReferenceEvaluator(m).run(None, feeds)


def cases():
    f32, i8, i32, i64, u8, u16 = np.float32, np.int8, np.int32, np.int64, np.uint8, np.uint16
    nan = np.array([np.nan, 1, -2, np.nan], f32).reshape(4, 1)
    yield "add_int8_wrap", case("Add", [("a", rand(i8, (2, 1, 4), -128, 127)),
                                        ("b", rand(i8, (3, 1), -128, 127))])
    yield "sub_uint8_wrap", case("Sub", [("a", rand(u8, (3, 4), 0, 255)),
                                         ("b", rand(u8, (4,), 0, 255))])
    yield "div_int32_trunc_bcast", case("Div", [("a", rand(i32, (3, 4), -50, 50)),
                                                ("b", np.array([3, -4, 7, -2], i32))])
    yield "mod_int32_bcast", case("Mod", [("a", rand(i32, (2, 3, 4), -50, 50)),
                                          ("b", np.array([3, -4, 7, -2], i32))])
    yield "pow_float_int64", case("Pow", [("a", rand(f32, (2, 3), 0.5, 2)),
                                          ("b", np.array([0, 1, 3], i64))])
    yield "bitshift_uint16_bcast", case("BitShift", [("a", rand(u16, (3, 4), 0, 999)),
                                                     ("b", np.array([0, 1, 4, 7], u16))],
                                        {"direction": "LEFT"})
    yield "equal_int64_scalar", case("Equal", [("a", np.array([3], i64)),
                                               ("b", rand(i64, (8, 8), 0, 5))])
    yield "where_bcast", case("Where", [("c", rand(bool, (1, 4))), ("x", rand(f32, (3, 1))),
                                        ("z", np.array(7.5, f32))])
    yield "clip_int32_min_only", case("Clip", [("x", rand(i32, (2, 5), -20, 20)),
                                               ("lo", np.array(-3, i32)), ("hi", None)])
    yield "clip_attr_opset6", case("Clip", [("x", rand(f32, (2, 5)))],
                                   {"min": -1.5, "max": 2.0}, opset=6)
    yield "max_nan_bcast3", case("Max", [("a", nan), ("b", rand(f32, (3,))),
                                         ("c", rand(f32, (2, 1, 1)))])
    yield "mean_bcast3", case("Mean", [("a", rand(f32, (4, 1))), ("b", rand(f32, (3,))),
                                       ("c", rand(f32, (2, 4, 3)))])
    yield "prelu_channels", case("PRelu", [("x", rand(f32, (1, 8, 5, 5))),
                                           ("s", rand(f32, (8, 1, 1)))])
    yield "cast_float_int32_trunc", case("Cast", [("x", rand(f32, (3, 4)))], {"to": TP.INT32})
    yield "cast_float_bool", case("Cast", [("x", np.array([0, -0.0, 0.5, -2, np.nan], f32))],
                                  {"to": TP.BOOL})
    yield "round_half_even", case("Round", [("x", np.array([0.5, 1.5, 2.5, -0.5, -1.5], f32))])
    # an in-place chain: Relu -> Add (broadcast) -> Mul -> Sigmoid
    chain = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["r", "b"], ["s"]),
             helper.make_node("Mul", ["s", "s2"], ["t"]), helper.make_node("Sigmoid", ["t"], ["y"])]
    yield "inplace_chain", case("Chain", [("x", rand(f32, (2, 3, 4))), ("b", rand(f32, (4,))),
                                          ("s2", rand(f32, (3, 1)))], nodes=chain)
    for t in NP:
        if t != "b":
            yield from sweep(t)
    yield from activations_24()
    for t in ("i8", "i32", "u8", "u64"):
        yield from bitwise(t)


def activations_24():
    """Activations of newer opsets (Gelu 20, Swish 24, ...) on float32 and float64."""
    mk = helper.make_node
    for t in ("f32", "f64"):
        ins = [("a", rand(NP[t], (3, 4), -4, 4))]
        nodes = [mk("Gelu", ["a"], ["gelu"]), mk("Gelu", ["a"], ["gelu_tanh"], approximate="tanh"),
                 mk("Swish", ["a"], ["swish"], alpha=0.75), mk("Celu", ["a"], ["celu"], alpha=2.0),
                 mk("ThresholdedRelu", ["a"], ["trelu"], alpha=0.5), mk("Mish", ["a"], ["mish"]),
                 mk("Shrink", ["a"], ["shrink"], lambd=1.5, bias=0.25)]
        nodes = [n for n in nodes if t == "f32" or n.op_type != "Celu"]  # Celu: float32 only
        yield f"activations_{t}", case("Act", ins, nodes=nodes, opset=24,
                                        outputs=[n.output[0] for n in nodes])


def bitwise(t):
    """BitwiseAnd/Or/Xor with broadcasting and BitwiseNot on integer type t."""
    hi = min(np.iinfo(NP[t]).max, 2**31)
    lo = max(np.iinfo(NP[t]).min, -2**31)
    ins = [("a", rand(NP[t], (3, 4), lo, hi - 1)), ("b", rand(NP[t], (4,), lo, hi - 1))]
    mk = helper.make_node
    nodes = [mk(op, ["a", "b"], [op]) for op in ("BitwiseAnd", "BitwiseOr", "BitwiseXor")]
    nodes.append(mk("BitwiseNot", ["a"], ["BitwiseNot"]))
    yield f"bitwise_{t}", case("Bitwise", ins, nodes=nodes, opset=18,
                               outputs=[n.output[0] for n in nodes])


NP = {"f32": np.float32, "f64": np.float64, "i8": np.int8, "i16": np.int16, "i32": np.int32,
      "i64": np.int64, "u8": np.uint8, "u16": np.uint16, "u32": np.uint32, "u64": np.uint64,
      "b": np.bool_}
FLOAT_UNARY = ["Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu",
               "Erf", "Softplus", "Softsign", "Sqrt", "Exp", "Log", "Reciprocal", "Floor", "Ceil",
               "Round", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh",
               "Acosh", "Atanh", "IsNaN", "IsInf"]
BINARY = ["Add", "Sub", "Mul", "Div", "Pow", "Mod", "Equal", "Less", "Greater", "LessOrEqual",
          "GreaterOrEqual", "Max", "Min", "Sum", "PRelu"]


def sweep(t):
    """Every op dtype t allows, in one model: a (3, 4), b (4,) > 0, c (1,) > 0, cond (3, 1)."""
    dt = NP[t]
    a = rand(dt, (3, 4), -3, 3) if t[0] == "f" else rand(dt, (3, 4), -9, 20)
    ins = [("a", a), ("b", rand(dt, (4,), 1, 4)), ("c", rand(dt, (1,), 1, 4)),
           ("cond", rand(bool, (3, 1)))]
    un = ["Abs", "Sign"] + (["Relu", "Neg"] if t[0] != "u" else [])
    un += [op for op in FLOAT_UNARY if op not in un] if t[0] == "f" else []
    mk = helper.make_node
    nodes = [mk(op, ["a"], ["u" + op]) for op in un]
    nodes += [mk(op, ["a", "b"], ["b" + op]) for op in BINARY]
    nodes += [mk(op, ["a", "b", "c"], ["v" + op]) for op in ["Max", "Min", "Sum"]]
    nodes += [mk("Mod", ["a", "b"], ["fmod"], fmod=1), mk("Clip", ["a", "", "c"], ["clip_hi"]),
              mk("Clip", ["a", "c"], ["clip_lo"]), mk("Where", ["cond", "a", "c"], ["where"])]
    nodes += [mk("Cast", ["a"], ["to_" + u], to=helper.np_dtype_to_tensor_dtype(np.dtype(NP[u])))
              for u in NP]
    if t[0] == "f":
        nodes.append(mk("Mean", ["a", "b", "c"], ["mean"]))
    else:
        nodes += [mk("BitShift", ["a", "b"], ["sh" + d], direction=d) for d in ("LEFT", "RIGHT")]
    # verify reads at most a few dozen outputs per model: split in chunks
    outs = [n.output[0] for n in nodes]
    for k in range(0, len(outs), 16):
        sub = [n for n in nodes if n.output[0] in outs[k:k + 16]]
        yield f"sweep_{t}_{k // 16}", case("Sweep", ins, nodes=sub, outputs=outs[k:k + 16])


def neon_runs(wrpnc):
    out = subprocess.run([wrpnc, "targets"], capture_output=True, text=True).stdout
    return any(l.startswith("neon ") and " runs " in l for l in out.splitlines())


def run(wrpnc, name, m, feeds, tmp, neon):
    d = os.path.join(tmp, name)
    data = os.path.join(d, "test_data_set_0")
    os.makedirs(data)
    ys = expected(m, feeds)
    for i, (o, y) in enumerate(zip(m.graph.output, ys)):
        o.CopyFrom(helper.make_tensor_value_info(
            o.name, helper.np_dtype_to_tensor_dtype(y.dtype), y.shape))
        onnx.save_tensor(numpy_helper.from_array(y, o.name), os.path.join(data, f"output_{i}.pb"))
    onnx.save(m, os.path.join(d, "model.onnx"))
    for i, (n, a) in enumerate(feeds.items()):
        onnx.save_tensor(numpy_helper.from_array(a, n), os.path.join(data, f"input_{i}.pb"))
    runs = [("c", "native"), ("interp", "native")] + ([("c", "neon")] if neon else [])
    for engine, target in runs:
        # the generated code must also build warning-free
        r = subprocess.run([wrpnc, "verify", os.path.join(d, "model.onnx"), data, "--engine",
                            engine, "--target", target, "--cflags=" + WARN_FLAGS],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return f"{engine} {target}: " + (r.stdout + r.stderr).strip().splitlines()[-1]
    return ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    failed = 0
    neon = neon_runs(a.wrpnc)
    if not neon:
        print("SKIP  every case on neon: this machine cannot run aarch64 code")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (m, feeds) in cases():
            why = run(a.wrpnc, name, m, feeds, tmp, neon)
            print(("FAIL  " if why else "PASS  ") + name + (": " + why if why else ""))
            failed += bool(why)
    print(f"{failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
