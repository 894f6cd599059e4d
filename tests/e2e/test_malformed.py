#!/usr/bin/env python3
"""Malformed-model catalog: every case is a bad model (or a bad command line)
that `wrpnc compile BAD.onnx -o OUT` must refuse cleanly:

  - exit code 1 (no signal, no hang: 60 s timeout),
  - stderr starts with "BAD.onnx: error:" and names what is wrong (and the
    node and op where there is one),
  - no sanitizer report and no internal error,
  - nothing left in OUT.

A few cases are valid but unusual (zero-size tensors, odd tensor names): they
must compile to C that builds warning-free, or fail cleanly as above.

Models are built with the onnx package (no checker: the models are broken on
purpose) or as raw bytes.

  test_malformed.py --wrpnc build/wrpnc [--filter REGEX] [--cc CC]

Ends with "N passed, N failed, N skipped".
"""
import argparse
import base64
import os
import struct
import random
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper

from e2e_util import WARN

CASES = []
SANITIZER = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer", "runtime error:",
             "internal error")


def case(name, expect=(), args=(), may_compile=False):
    """Registers fn(dir) -> model path. expect: substrings stderr must hold."""
    def deco(fn):
        CASES.append((name, fn, tuple(expect), tuple(args), may_compile))
        return fn
    return deco


# ---- helpers -----------------------------------------------------------------

def vi(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def model(nodes, inputs, outputs, inits=(), opset=13, functions=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          functions=list(functions))
    m.ir_version = 8
    return m


def save(m, d, name="bad.onnx"):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(m.SerializeToString())
    return path


def raw(d, data, name="bad.onnx"):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def relu_model():
    return model([helper.make_node("Relu", ["X"], ["Y"], name="relu")], [vi("X", [1, 4])],
                 [vi("Y", [1, 4])])


def tensor(name, dims, raw_data=None, dtype=TensorProto.FLOAT):
    """A TensorProto built field by field: nothing is checked."""
    t = TensorProto()
    t.name = name
    t.data_type = dtype
    t.dims.extend(dims)
    if raw_data is not None:
        t.raw_data = raw_data
    return t


def add_const(t, xshape=(4,)):
    """Y = X + t, with t an initializer."""
    return model([helper.make_node("Add", ["X", t.name], ["Y"], name="add")],
                 [vi("X", list(xshape))], [vi("Y", list(xshape))], inits=[t])


def external(name, location, offset=None, length=None, dims=(4,)):
    t = tensor(name, dims)
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, str(v)
    return t


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


# ---- the file itself ---------------------------------------------------------

@case("empty_file", ["has no graph"])
def _(d):
    return raw(d, b"")


@case("truncated_protobuf", ["protobuf"])
def _(d):
    b = relu_model().SerializeToString()
    return raw(d, b[: len(b) * 2 // 3])


@case("random_bytes", ["protobuf"])
def _(d):
    return raw(d, bytes(random.Random(7).randrange(256) for _ in range(4096)))


@case("wrong_wire_type_varint_as_bytes", ["protobuf"])
def _(d):
    # ModelProto.ir_version (field 1, varint) sent as a length-delimited field.
    return raw(d, b"\x0a\x03abc" + relu_model().SerializeToString())


@case("wrong_wire_type_graph_as_varint", ["protobuf"])
def _(d):
    # ModelProto.graph (field 7, message) sent as a varint.
    return raw(d, relu_model().SerializeToString() + b"\x38\x05")


@case("length_past_end", ["protobuf"])
def _(d):
    # A graph field claiming 2^40 bytes.
    return raw(d, b"\x3a" + varint(1 << 40) + b"xx")


@case("deep_nesting")
def _(d):
    # Graph -> node -> attribute -> subgraph -> node ... 3000 levels deep.
    inner = b""
    for _ in range(1000):
        inner = b"\x32" + varint(len(inner)) + inner  # AttributeProto.g (6)
        inner = b"\x2a" + varint(len(inner)) + inner  # NodeProto.attribute (5)
        inner = b"\x0a" + varint(len(inner)) + inner  # GraphProto.node (1)
    return raw(d, b"\x3a" + varint(len(inner)) + inner)  # ModelProto.graph (7)


@case("very_deep_nesting", ["nested deeper"])
def _(d):
    # 200000 levels (2.4 MB): would overflow the stack of a recursive parser.
    size, parts = 0, []
    for _ in range(200000):
        for tag in (b"\x32", b"\x2a", b"\x0a"):
            p = tag + varint(size)
            parts.append(p)
            size += len(p)
    parts.append(b"\x3a" + varint(size))
    return raw(d, b"".join(reversed(parts)))


@case("model_is_a_directory", ["cannot read"])
def _(d):
    os.mkdir(os.path.join(d, "dir.onnx"))
    return os.path.join(d, "dir.onnx")


@case("missing_file", ["cannot open"])
def _(d):
    return os.path.join(d, "nope.onnx")


# ---- shapes and sizes ----------------------------------------------------------

@case("initializer_negative_dim", ["initializer 'W'", "negative"])
def _(d):
    return save(add_const(tensor("W", [-1, 4], b"")), d)


@case("input_negative_dim", ["graph input 'X'", "negative"])
def _(d):
    return save(model([helper.make_node("Relu", ["X"], ["Y"])], [vi("X", [1, -3])],
                      [vi("Y", [1, 4])]), d)


@case("initializer_numel_overflows_int64", ["initializer 'W'", "overflow"])
def _(d):
    return save(add_const(tensor("W", [1 << 40, 1 << 40], b"")), d)


@case("initializer_bytes_overflow", ["initializer 'W'", "overflow"])
def _(d):
    # 2^61 elements fit in int64; 2^61 * 8 bytes do not.
    return save(add_const(tensor("W", [1 << 61], b"", TensorProto.DOUBLE)), d)


@case("initializer_huge_without_data", ["initializer 'W'"])
def _(d):
    # 2^38 floats (1 TiB) declared, no data: refused before allocating.
    return save(add_const(tensor("W", [1 << 38], b"")), d)


@case("input_numel_overflows", ["graph input 'X'", "too large"])
def _(d):
    return save(model([helper.make_node("Relu", ["X"], ["Y"])], [vi("X", [1 << 31, 1 << 31, 4])],
                      [vi("Y", [1])]), d)


@case("input_bytes_overflow", ["graph input 'X'", "too large"])
def _(d):
    return save(model([helper.make_node("Relu", ["X"], ["Y"])],
                      [vi("X", [1 << 30, 1 << 30], TensorProto.DOUBLE)], [vi("Y", [1])]), d)


@case("input_rank_9", ["graph input 'X'", "rank 9"])
def _(d):
    return save(model([helper.make_node("Relu", ["X"], ["Y"])], [vi("X", [1] * 9)],
                      [vi("Y", [1])]), d)


@case("initializer_rank_9", ["initializer 'W'", "rank 9"])
def _(d):
    return save(add_const(tensor("W", [1] * 9, b"\0" * 4)), d)


# ---- tensor data ---------------------------------------------------------------

@case("raw_data_short", ["initializer 'W'", "raw_data has 12 bytes", "16"])
def _(d):
    return save(add_const(tensor("W", [4], b"\0" * 12)), d)


@case("raw_data_long", ["initializer 'W'", "raw_data has 20 bytes", "16"])
def _(d):
    return save(add_const(tensor("W", [4], b"\0" * 20)), d)


@case("float_data_count_mismatch", ["initializer 'W'", "float_data holds 3 values", "4"])
def _(d):
    t = tensor("W", [4])
    t.float_data.extend([1, 2, 3])
    return save(add_const(t), d)


@case("int64_data_count_mismatch", ["initializer 'W'", "int64_data holds 5 values"])
def _(d):
    t = tensor("W", [4], dtype=TensorProto.INT64)
    t.int64_data.extend([1, 2, 3, 4, 5])
    return save(add_const(t), d)


@case("unsupported_data_type", ["initializer 'W'", "unsupported data type 8"])
def _(d):
    t = tensor("W", [1], dtype=TensorProto.STRING)
    t.string_data.append(b"x")
    return save(add_const(t), d)


@case("initializer_defined_twice", ["initializer 'W'", "twice"])
def _(d):
    m = add_const(tensor("W", [4], b"\0" * 16))
    m.graph.initializer.append(tensor("W", [4], b"\0" * 16))
    return save(m, d)


# ---- external data ------------------------------------------------------------

def ext_model(d, t):
    with open(os.path.join(d, "w.bin"), "wb") as f:
        f.write(b"\0" * 16)
    return save(add_const(t), d)


@case("external_dotdot", ["initializer 'W'", "'../w.bin'", "leaves the model's folder"])
def _(d):
    return ext_model(d, external("W", "../w.bin"))


@case("external_absolute", ["initializer 'W'", "leaves the model's folder"])
def _(d):
    return ext_model(d, external("W", "/etc/passwd"))


@case("external_symlink_outside", ["initializer 'W'", "outside the model's folder"])
def _(d):
    sub = os.path.join(d, "m")
    os.mkdir(sub)
    with open(os.path.join(d, "secret.bin"), "wb") as f:
        f.write(b"\0" * 16)
    os.symlink(os.path.join(d, "secret.bin"), os.path.join(sub, "w.bin"))
    return save(add_const(external("W", "w.bin")), sub)


@case("external_missing_file", ["initializer 'W'", "no.bin"])
def _(d):
    return ext_model(d, external("W", "no.bin"))


@case("external_offset_past_end", ["initializer 'W'", "offset 100"])
def _(d):
    return ext_model(d, external("W", "w.bin", offset=100))


@case("external_length_past_end", ["initializer 'W'", "offset 8"])
def _(d):
    return ext_model(d, external("W", "w.bin", offset=8, length=16))


@case("external_length_mismatch", ["initializer 'W'", "length 8"])
def _(d):
    return ext_model(d, external("W", "w.bin", length=8))


@case("external_offset_not_a_number", ["initializer 'W'", "not a number"])
def _(d):
    return ext_model(d, external("W", "w.bin", offset="-1"))


@case("external_offset_huge", ["initializer 'W'", "offset"])
def _(d):
    return ext_model(d, external("W", "w.bin", offset=1 << 63))


@case("external_no_location", ["initializer 'W'", "without a location"])
def _(d):
    return ext_model(d, external("W", None))


@case("external_is_a_fifo", ["initializer 'W'", "not a regular file"])
def _(d):
    os.mkfifo(os.path.join(d, "fifo.bin"))
    return save(add_const(external("W", "fifo.bin")), d)


@case("external_is_a_directory", ["initializer 'W'", "not a regular file"])
def _(d):
    os.mkdir(os.path.join(d, "sub"))
    return save(add_const(external("W", "sub")), d)


@case("external_huge_declared", ["initializer 'W'"])
def _(d):
    return ext_model(d, external("W", "w.bin", dims=(1 << 37,)))


# ---- graph structure ---------------------------------------------------------

@case("undefined_input", ["node 'relu' (Relu)", "'nope'", "not defined"])
def _(d):
    return save(model([helper.make_node("Relu", ["nope"], ["Y"], name="relu")],
                      [vi("X", [1, 4])], [vi("Y", [1, 4])]), d)


@case("two_producers", ["node 'r2' (Relu)", "'Y'", "already defined"])
def _(d):
    return save(model([helper.make_node("Relu", ["X"], ["Y"], name="r1"),
                       helper.make_node("Relu", ["X"], ["Y"], name="r2")],
                      [vi("X", [1, 4])], [vi("Y", [1, 4])]), d)


@case("output_overwrites_input", ["node 'r' (Relu)", "'X'", "already defined"])
def _(d):
    return save(model([helper.make_node("Relu", ["X"], ["X"], name="r")],
                      [vi("X", [1, 4])], [vi("X", [1, 4])]), d)


@case("output_overwrites_initializer", ["node 'r' (Relu)", "'W'", "already defined"])
def _(d):
    m = add_const(tensor("W", [4], b"\0" * 16))
    m.graph.node.append(helper.make_node("Relu", ["X"], ["W"], name="r"))
    return save(m, d)


@case("graph_cycle", ["cycle"])
def _(d):
    return save(model([helper.make_node("Add", ["X", "B"], ["A"], name="a"),
                       helper.make_node("Relu", ["A"], ["B"], name="b")],
                      [vi("X", [1, 4])], [vi("B", [1, 4])]), d)


@case("self_loop", ["node 'a' (Relu)", "cycle"])
def _(d):
    return save(model([helper.make_node("Relu", ["A"], ["A"], name="a")],
                      [vi("X", [1, 4])], [vi("A", [1, 4])]), d)


@case("reversed_long_chain", ["node 'last' (Frobnicate)", "unsupported operator"])
def _(d):
    # 30000 nodes listed last-first: ordering them must not take quadratic time.
    n = 30000
    nodes = [helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"]) for i in range(n)]
    nodes.append(helper.make_node("Frobnicate", [f"t{n}"], ["Y"], name="last"))
    return save(model(nodes[::-1], [vi("t0", [1, 4])], [vi("Y", [1, 4])]), d)


@case("output_never_computed", ["graph output 'Z'"])
def _(d):
    return save(model([helper.make_node("Relu", ["X"], ["Y"])], [vi("X", [1, 4])],
                      [vi("Z", [1, 4])]), d)


@case("no_outputs", ["no outputs"])
def _(d):
    return save(model([helper.make_node("Relu", ["X"], ["Y"])], [vi("X", [1, 4])], []), d)


@case("input_declared_twice", ["graph input 'X'", "twice"])
def _(d):
    m = relu_model()
    m.graph.input.append(vi("X", [1, 4]))
    return save(m, d)


@case("empty_required_output", ["node 'relu' (Relu)", "output 0"])
def _(d):
    return save(model([helper.make_node("Relu", ["X"], [""], name="relu"),
                       helper.make_node("Relu", ["X"], ["Y"], name="r2")],
                      [vi("X", [1, 4])], [vi("Y", [1, 4])]), d)


@case("empty_required_input", ["node 'relu' (Relu)", "input 0"])
def _(d):
    return save(model([helper.make_node("Relu", [""], ["Y"], name="relu")],
                      [vi("X", [1, 4])], [vi("Y", [1, 4])]), d)


@case("too_many_inputs", ["node 'relu' (Relu)", "has 3 inputs"])
def _(d):
    return save(model([helper.make_node("Relu", ["X", "X", "X"], ["Y"], name="relu")],
                      [vi("X", [1, 4])], [vi("Y", [1, 4])]), d)


@case("no_op_type", ["no op_type"])
def _(d):
    m = relu_model()
    m.graph.node[0].ClearField("op_type")
    return save(m, d)


@case("input_not_a_tensor", ["graph input 'X'", "not a tensor"])
def _(d):
    m = relu_model()
    m.graph.input[0].type.ClearField("tensor_type")
    m.graph.input[0].type.sequence_type.elem_type.tensor_type.elem_type = 1
    return save(m, d)


@case("input_unsupported_type", ["graph input 'X'", "element type 8"])
def _(d):
    return save(model([helper.make_node("Relu", ["X"], ["Y"])],
                      [vi("X", [1], TensorProto.STRING)], [vi("Y", [1])]), d)


@case("broadcast_mismatch", ["node 'add' (Add)", "broadcast"])
def _(d):
    return save(add_const(tensor("W", [3], b"\0" * 12)), d)


# ---- operators and opsets ----------------------------------------------------

@case("opset_3", ["opset 3"])
def _(d):
    m = relu_model()
    m.opset_import[0].version = 3
    return save(m, d)


@case("no_default_opset", ["opset"])
def _(d):
    m = relu_model()
    m.opset_import[0].domain = "com.example"
    return save(m, d)


@case("unknown_op", ["node 'f' (Frobnicate)", "unsupported operator"])
def _(d):
    return save(model([helper.make_node("Frobnicate", ["X"], ["Y"], name="f")],
                      [vi("X", [1, 4])], [vi("Y", [1, 4])]), d)


@case("unknown_domain_op", ["node 'f' (com.example::Relu)", "unsupported operator"])
def _(d):
    m = model([helper.make_node("Relu", ["X"], ["Y"], name="f", domain="com.example")],
              [vi("X", [1, 4])], [vi("Y", [1, 4])])
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    return save(m, d)


@case("several_unknown_ops", ["4 nodes use 3 unsupported operators",
                               "node 'f1' (Frobnicate) and 1 more", "node 'g' (com.example::Relu)",
                               "node 'h' (Gizmo)"])
def _(d):
    # every operator wrpnc lacks is named at once, not only the first
    nodes = [helper.make_node("Frobnicate", ["X"], ["A"], name="f1"),
             helper.make_node("Relu", ["A"], ["B"], name="g", domain="com.example"),
             helper.make_node("Sigmoid", ["B"], ["C"], name="ok"),
             helper.make_node("Frobnicate", ["C"], ["D"], name="f2"),
             helper.make_node("Gizmo", ["D"], ["Y"], name="h")]
    m = model(nodes, [vi("X", [1, 4])], [vi("Y", [1, 4])])
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    return save(m, d)


def conv_model(k=1, **attrs):
    w = tensor("W", [2, 1, k, k], np.ones(2 * k * k, np.float32).tobytes())
    return model([helper.make_node("Conv", ["X", "W"], ["Y"], name="conv", **attrs)],
                 [vi("X", [1, 1, 3, 3])], [vi("Y", [1, 2, 3, 3])], inits=[w])


@case("conv_group_as_float", ["node 'conv' (Conv)", "'group'", "INT"])
def _(d):
    return save(conv_model(group=1.0), d)


@case("conv_group_zero", ["node 'conv' (Conv)", "group"])
def _(d):
    return save(conv_model(group=0), d)


@case("conv_strides_as_string", ["node 'conv' (Conv)", "'strides'"])
def _(d):
    return save(conv_model(strides="x"), d)


@case("conv_huge_dilation", ["node 'conv' (Conv)"])
def _(d):
    return save(conv_model(k=2, dilations=[1 << 62, 1 << 62]), d)


@case("conv_negative_pads", ["node 'conv' (Conv)"])
def _(d):
    return save(conv_model(pads=[-5, -5, -5, -5]), d)


@case("conv_zero_stride", ["node 'conv' (Conv)"])
def _(d):
    return save(conv_model(strides=[0, 0]), d)


@case("attribute_tensor_bad", ["node 'c'", "attribute 'value'", "raw_data"])
def _(d):
    n = helper.make_node("Identity", ["X"], ["Y"], name="c")
    a = n.attribute.add()
    a.name = "value"
    a.type = onnx.AttributeProto.TENSOR
    a.t.CopyFrom(tensor("", [4], b"\0"))
    return save(model([n], [vi("X", [1, 4])], [vi("Y", [1, 4])]), d)


@case("attribute_graph_for_int", ["node 'conv' (Conv)", "'group'", "INT"])
def _(d):
    m = conv_model(group=1)
    m.graph.node[0].attribute[0].type = onnx.AttributeProto.GRAPH
    return save(m, d)


def depthwise(k, big, **attrs):
    """Depthwise Conv over 1x4x6x6 with strides, dilations and pads all `big`."""
    w = tensor("W", [4, 1, k, k], np.ones(4 * k * k, np.float32).tobytes())
    n = helper.make_node("Conv", ["X", "W"], ["Y"], name="conv", group=4, kernel_shape=[k, k],
                         strides=[big, big], dilations=[big, big], pads=[big] * 4, **attrs)
    return model([n], [vi("X", [1, 4, 6, 6])], [vi("Y", [1, 4, 2, 2])], inits=[w])


@case("conv_window_int32_max", may_compile=True)
def _(d):
    # Found by fuzz_compile: the depthwise plane size (stride x rows x columns)
    # overflowed int64_t in the emitter for strides and dilations of 2^31 - 1.
    return save(depthwise(2, 2**31 - 1), d)


@case("conv_stride_above_int32", ["node 'conv' (Conv)", "'strides'", "2^31 - 1"])
def _(d):
    return save(depthwise(2, 2**40), d)


@case("conv_pads_above_int32", ["node 'conv' (Conv)", "pads", "2^31 - 1"])
def _(d):
    n = helper.make_node("Conv", ["X", "W"], ["Y"], name="conv", pads=[2**62] * 4)
    w = tensor("W", [2, 1, 1, 1], np.ones(2, np.float32).tobytes())
    return save(model([n], [vi("X", [1, 1, 3, 3])], [vi("Y", [1, 2, 3, 3])], inits=[w]), d)


@case("maxpool_kernel_above_int32", ["node 'pool' (MaxPool)", "kernel size", "2^31 - 1"])
def _(d):
    n = helper.make_node("MaxPool", ["X"], ["Y"], name="pool", kernel_shape=[2**33, 1])
    return save(model([n], [vi("X", [1, 1, 3, 3])], [vi("Y", [1, 1, 1, 3])]), d)


@case("pad_amount_overflows", ["node 'pad' (Pad)", "out of range"])
def _(d):
    # Found by fuzz_compile: 4 + 2^62 + 2^62 overflowed int64_t in the shape inference.
    n = helper.make_node("Pad", ["X", "P"], ["Y"], name="pad")
    p = helper.make_tensor("P", TensorProto.INT64, [4], [0, 2**62, 0, 2**62])
    return save(model([n], [vi("X", [1, 4])], [vi("Y", [1, 4])], inits=[p]), d)


# Output shapes computed from constants: ops plan over them (strides, tables) during
# inference, so each must refuse a size past 2^40 elements before it does (found by
# fuzz_compile on Pad: the plan's strides overflowed int64_t).

def computed_shape(op, k, inputs, **attrs):
    n = helper.make_node(op, ["X", "K"] if k is not None else ["X"], ["Y"], name="big", **attrs)
    inits = [] if k is None else [k]
    return model([n], [vi(nm, sh) for nm, sh in inputs], [vi("Y", [1])], inits=inits)


@case("pad_output_too_large", ["node 'big' (Pad)", "too large"])
def _(d):
    k = helper.make_tensor("K", TensorProto.INT64, [4], [2**31, 2**31, 2**31, 2**31])
    return save(computed_shape("Pad", k, [("X", [1, 4])]), d)


@case("expand_output_too_large", ["node 'big' (Expand)", "too large"])
def _(d):
    k = helper.make_tensor("K", TensorProto.INT64, [4], [2**31, 2**31, 2**31, 4])
    return save(computed_shape("Expand", k, [("X", [1, 4])]), d)


@case("tile_output_too_large", ["node 'big' (Tile)", "too large"])
def _(d):
    k = helper.make_tensor("K", TensorProto.INT64, [2], [2**33, 2**62])
    return save(computed_shape("Tile", k, [("X", [1, 4])]), d)


@case("resize_output_too_large", ["node 'big' (Resize)", "out of range"])
def _(d):
    n = helper.make_node("Resize", ["X", "", "S"], ["Y"], name="big")
    s = helper.make_tensor("S", TensorProto.FLOAT, [2], [1e30, 1.0])
    return save(model([n], [vi("X", [1, 4])], [vi("Y", [1, 4])], inits=[s]), d)


@case("matmul_batches_too_large", ["node 'big' (MatMul)", "too large"])
def _(d):
    n = helper.make_node("MatMul", ["A", "B"], ["Y"], name="big")
    return save(model([n], [vi("A", [2**23, 1, 1, 1]), vi("B", [1, 2**23, 1, 1])], [vi("Y", [1])]),
                d)


def typed_attr_without_value(atype, name):
    m = conv_model()
    a = m.graph.node[0].attribute.add()
    a.name, a.type = name, atype
    return m


@case("attribute_string_without_value", may_compile=True)
def _(d):
    # Found by fuzzing: an empty protobuf field was copied from a NULL pointer.
    return save(typed_attr_without_value(onnx.AttributeProto.STRING, "auto_pad"), d)


@case("attribute_ints_without_value", may_compile=True)
def _(d):
    return save(typed_attr_without_value(onnx.AttributeProto.INTS, "pads"), d)


@case("attribute_strings_without_value", may_compile=True)
def _(d):
    return save(typed_attr_without_value(onnx.AttributeProto.STRINGS, "names"), d)


# ---- hand-written wrpnc low-bit ops (the frontend accepts the wrpnc domain) ------

def qconv_model(w, pack=None, conv=None, C=8, xdtype=TensorProto.UINT8):
    """PackAct(x) -> QConv(packed, w) -> int32 accumulators."""
    pk = dict(bits=2, group=1, layout="planes")
    pk.update(pack or {})
    cv = dict(abits=2, wbits=2, kernel="bitserial", group=1, out_acc=1, pads=[1, 1, 1, 1])
    cv.update(conv or {})
    nodes = [helper.make_node("PackAct", ["x"], ["p"], domain="wrpnc", name="pack", **pk),
             helper.make_node("QConv", ["p", "w"], ["y"], domain="wrpnc", name="qconv", **cv)]
    g = helper.make_graph(nodes, "g", [vi("x", [1, C, 5, 5], xdtype)],
                          [vi("y", None, TensorProto.INT32)],
                          initializer=[onnx.numpy_helper.from_array(np.asarray(w, np.int8), "w")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                            helper.make_opsetid("wrpnc", 1)])
    m.ir_version = 8
    return m


@case("qconv_weights_outside_wbits", ["node 'qconv' (QConv)", "outside the 2-bit grid"])
def _(d):
    w = np.zeros((4, 8, 3, 3), np.int8)
    w[1, 2, 0, 0] = 3  # 2-bit weights are -1..1
    return save(qconv_model(w), d)


@case("qconv_kernel_reads_wrong_layout", ["node 'qconv' (QConv)", "layout bytes"])
def _(d):
    return save(qconv_model(np.ones((4, 8, 3, 3), np.int8), conv={"kernel": "int8"}), d)


@case("qconv_xnor_needs_bipolar_codes", ["node 'qconv' (QConv)", "kernel xnor"])
def _(d):
    return save(qconv_model(np.ones((4, 8, 3, 3), np.int8), pack={"bits": 1},
                            conv={"kernel": "xnor", "abits": 1, "wbits": 1}), d)


@case("qconv_channels_differ", ["node 'qconv' (QConv)", "does not match weights"])
def _(d):
    # 8 input channels, weights for 6: both fit one 64-bit word per plane
    return save(qconv_model(np.ones((4, 6, 3, 3), np.int8)), d)


@case("qconv_abits_differ_from_codes", ["node 'qconv' (QConv)", "abits 3"])
def _(d):
    return save(qconv_model(np.ones((4, 8, 3, 3), np.int8), conv={"abits": 3}), d)


@case("qconv_accumulator_bound", ["node 'qconv' (QConv)", "accumulator bound exceeded"])
def _(d):
    return save(qconv_model(np.full((1, 70000, 1, 1), 127, np.int8), C=70000,
                            pack={"bits": 8, "layout": "bytes"},
                            conv={"abits": 8, "wbits": 8, "kernel": "int8", "pads": [0] * 4}), d)


@case("actquant_negative_scale", ["node 'aq' (ActQuant)", "must be finite and > 0"])
def _(d):
    node = helper.make_node("ActQuant", ["x"], ["y"], domain="wrpnc", name="aq", form="int",
                            lo=0, hi=3, zero_point=0, scale=[-0.5])
    g = helper.make_graph([node], "g", [vi("x", [1, 4])], [vi("y", None, TensorProto.UINT8)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                            helper.make_opsetid("wrpnc", 1)])
    m.ir_version = 8
    return save(m, d)


@case("packact_zero_point_outside_codes", ["node 'pack' (PackAct)", "zero_point"])
def _(d):
    return save(qconv_model(np.ones((4, 8, 3, 3), np.int8), pack={"zero_point": 9}), d)


# ---- element types an op does not compute with ---------------------------------
# Sub-byte integers (int4, uint4, int2, uint2) are data for Cast, Q/DQ and the
# shape ops only; an arithmetic op given them must refuse (once an internal error
# when folded at load: an unreachable switch case in the elementwise reference).

def sub_byte(name, dtype, values, dims=None):
    """A sub-byte initializer holding values (packed as ONNX stores them)."""
    return helper.make_tensor(name, dtype, [len(values)] if dims is None else dims, values)


@case("issue15_add_int4_folded", ["node 'add' (Add)", "int4"])
def _(d):
    # The 95-byte model of issue 15, found by fuzz_load: Add(X, X) with X an int4
    # initializer (its float_data is ignored: int4 data lives in int32_data).
    return raw(d, base64.b64decode(
        "CAg6VQoTCgFYCgFYEgFZGgNhZGQiA0FkZBIBZyoZKAsQFiIQAACAPwAAAEAAAEBAAACAQEIBWFoPCgFYEgoKCAgM"
        "EgQyAggEYg8KAVgSCgoICAESBAoCCARCBAoAEA0="))


@case("add_int4_inputs", ["node 'add' (Add)", "int4"])
def _(d):
    n = helper.make_node("Add", ["A", "B"], ["Y"], name="add")
    i4 = TensorProto.INT4
    return save(model([n], [vi("A", [4], i4), vi("B", [4], i4)], [vi("Y", [4], i4)], opset=21), d)


@case("pow_int4_exponent_folded", ["node 'pow' (Pow)", "int4"])
def _(d):
    n = helper.make_node("Pow", ["X", "E"], ["Y"], name="pow")
    x = helper.make_tensor("X", TensorProto.FLOAT, [2], [1.5, 2.0])
    return save(model([n], [], [vi("Y", [2])], inits=[x, sub_byte("E", TensorProto.INT4, [1, 2])],
                      opset=21), d)


@case("where_int4_folded", ["node 'where' (Where)", "int4"])
def _(d):
    n = helper.make_node("Where", ["C", "A", "B"], ["Y"], name="where")
    c = helper.make_tensor("C", TensorProto.BOOL, [2], [True, False])
    return save(model([n], [], [vi("Y", [2], TensorProto.INT4)],
                      inits=[c, sub_byte("A", TensorProto.INT4, [1, -2]),
                             sub_byte("B", TensorProto.INT4, [3, 4])], opset=21), d)


@case("clip_uint2_folded", ["node 'clip' (Clip)", "uint2"])
def _(d):
    n = helper.make_node("Clip", ["A"], ["Y"], name="clip")
    return save(model([n], [], [vi("Y", [3], TensorProto.UINT2)],
                      inits=[sub_byte("A", TensorProto.UINT2, [0, 1, 3])], opset=21), d)


@case("cast_int4_folded", may_compile=True)
def _(d):
    # Cast is the one elementwise op that takes them.
    n = helper.make_node("Cast", ["A"], ["Y"], name="cast", to=TensorProto.FLOAT)
    return save(model([n], [], [vi("Y", [3])], inits=[sub_byte("A", TensorProto.INT4, [-8, 0, 7])],
                      opset=21), d)


# ---- integer arithmetic that traps when folded -----------------------------------

def int_binary(op, dtype, a, b, **attrs):
    """Y = op(A, B) on constants: folded at load."""
    n = helper.make_node(op, ["A", "B"], ["Y"], name="div", **attrs)
    return model([n], [], [vi("Y", [len(a)], dtype)],
                 inits=[helper.make_tensor("A", dtype, [len(a)], a),
                        helper.make_tensor("B", dtype, [len(b)], b)])


@case("div_int32_by_zero_folded", ["node 'div' (Div)", "division by zero"])
def _(d):
    # Found by a dtype sweep over the ONNX node tests: SIGFPE in the reference.
    return save(int_binary("Div", TensorProto.INT32, [6, 7], [3, 0]), d)


@case("mod_int64_by_zero_folded", ["node 'div' (Mod)", "division by zero"])
def _(d):
    return save(int_binary("Mod", TensorProto.INT64, [6, 7], [0, 2]), d)


@case("div_int32_min_by_minus_one_folded", ["node 'div' (Div)", "overflows"])
def _(d):
    return save(int_binary("Div", TensorProto.INT32, [-2**31], [-1]), d)


@case("mod_int64_min_by_minus_one_folded", ["node 'div' (Mod)", "overflows"])
def _(d):
    return save(int_binary("Mod", TensorProto.INT64, [-2**63], [-1], fmod=1), d)


@case("div_int8_min_by_minus_one_folded", may_compile=True)
def _(d):
    # int8 divides in int: no trap (the result wraps, as numpy's does).
    return save(int_binary("Div", TensorProto.INT8, [-128], [-1]), d)


# ---- local functions -----------------------------------------------------------

def fn_model(fnodes, calls=1):
    f = helper.make_function("local", "F", ["a"], ["b"], fnodes,
                             [helper.make_opsetid("", 13), helper.make_opsetid("local", 1)])
    nodes, prev = [], "X"
    for i in range(calls):
        nodes.append(helper.make_node("F", [prev], [f"t{i}"], name=f"call{i}", domain="local"))
        prev = f"t{i}"
    m = model(nodes, [vi("X", [1, 4])], [vi(prev, [1, 4])], functions=[f])
    m.opset_import.append(helper.make_opsetid("local", 1))
    return m


@case("recursive_function", ["'F'", "recursi"])
def _(d):
    return save(fn_model([helper.make_node("F", ["a"], ["b"], domain="local")]), d)


@case("function_blowup", ["too many nodes"])
def _(d):
    # F0 = Relu; Fk = 8 calls of F(k-1): 8^7 nodes once inlined.
    fs = [helper.make_function("local", "F0", ["a"], ["b"],
                               [helper.make_node("Relu", ["a"], ["b"])],
                               [helper.make_opsetid("", 13)])]
    for k in range(1, 8):
        body, prev = [], "a"
        for i in range(8):
            out = "b" if i == 7 else f"v{i}"
            body.append(helper.make_node(f"F{k - 1}", [prev], [out], domain="local"))
            prev = out
        fs.append(helper.make_function("local", f"F{k}", ["a"], ["b"], body,
                                       [helper.make_opsetid("", 13),
                                        helper.make_opsetid("local", 1)]))
    m = model([helper.make_node("F7", ["X"], ["Y"], name="top", domain="local")],
              [vi("X", [1, 4])], [vi("Y", [1, 4])], functions=fs)
    m.opset_import.append(helper.make_opsetid("local", 1))
    return save(m, d)


# ---- control flow and recurrent layers ------------------------------------------

def loop_model(body, M=3, v_shape=(2,), cond=True):
    """v = Loop(M, cond, v0) { body }; M, cond constants (None: absent)."""
    nodes, ins = [], ["", "", "v0"]
    for i, (name, val) in enumerate((("M", None if M is None else np.int64(M)),
                                     ("c", None if cond is None else np.bool_(cond)))):
        if val is not None:
            nodes.append(helper.make_node("Constant", [], [name],
                                          value=onnx.numpy_helper.from_array(np.array(val), name)))
            ins[i] = name
    attrs = {} if body is None else {"body": body}
    nodes.append(helper.make_node("Loop", ins, ["v"], name="loop", **attrs))
    return model(nodes, [vi("v0", list(v_shape))], [vi("v", list(v_shape))])


def body_graph(nodes, inputs=("i", "c", "v_in"), outputs=("c", "v_out"), name="body"):
    types = {"i": TensorProto.INT64, "c": TensorProto.BOOL}
    return helper.make_graph(nodes, name, [vi(n, None, types.get(n, TensorProto.FLOAT))
                                           for n in inputs],
                             [vi(n, None, types.get(n, TensorProto.FLOAT)) for n in outputs])


NEG = [helper.make_node("Neg", ["v_in"], ["v_out"])]


@case("loop_without_body", ["node 'loop' (Loop)", "'body' is missing"])
def _(d):
    return save(loop_model(None), d)


@case("loop_body_arity", ["node 'loop' (Loop)", "body takes 2 inputs"])
def _(d):
    return save(loop_model(body_graph(NEG, inputs=("i", "v_in"))), d)


@case("loop_body_undefined_name", ["node 'loop' (Loop)", "'nowhere'", "not defined"])
def _(d):
    return save(loop_model(body_graph([helper.make_node("Add", ["v_in", "nowhere"],
                                                        ["v_out"])])), d)


@case("loop_body_unsupported_op", ["(NoSuchOp) in subgraph 'body'", "unsupported operator"])
def _(d):
    return save(loop_model(body_graph([helper.make_node("NoSuchOp", ["v_in"], ["v_out"])])), d)


@case("loop_body_defines_twice", ["node 'loop' (Loop)", "'v_out' is defined twice"])
def _(d):
    return save(loop_model(body_graph(NEG + NEG)), d)


@case("loop_without_trip_count", ["node 'loop' (Loop)", "would not end"])
def _(d):
    return save(loop_model(body_graph(NEG), M=None), d)


@case("loop_trip_count_huge", ["node 'loop' (Loop)", "takes the graph past"])
def _(d):
    return save(loop_model(body_graph(NEG), M=1 << 62), d)


@case("loops_nested_blowup", ["node 'loop/", "(Loop)", "takes the graph past"])
def _(d):
    inner = helper.make_node("Loop", ["M", "", "v_in"], ["v_out"], name="inner",
                             body=body_graph(NEG, inputs=("j", "c2", "v_in"),
                                             outputs=("c2", "v_out"), name="inner"))
    outer = body_graph([inner])
    return save(loop_model(outer, M=4000), d)


@case("implicit_input_cycle", ["graph cycle"])
def _(d):
    # Each Loop's body reads the other Loop's result.
    def loop(name, other, out):
        body = body_graph([helper.make_node("Add", ["v_in", other], ["v_out"])])
        return helper.make_node("Loop", ["M", "", "v0"], [out], name=name, body=body)
    m = model([helper.make_node("Constant", [], ["M"], value=onnx.numpy_helper.from_array(
                  np.array(2, np.int64), "M")),
               loop("a", "vb", "va"), loop("b", "va", "vb")], [vi("v0", [2])], [vi("va", [2])])
    return save(m, d)


@case("if_branch_with_inputs", ["node 'if' (If)", "must take none"])
def _(d):
    br = helper.make_graph([helper.make_node("Neg", ["a"], ["b"])], "br", [vi("a", [2])],
                           [vi("b", [2])])
    n = helper.make_node("If", ["c"], ["Y"], name="if", then_branch=br, else_branch=br)
    return save(model([n], [vi("c", [], TensorProto.BOOL)], [vi("Y", [2])]), d)


@case("scan_num_scan_inputs", ["node 'scan' (Scan)", "num_scan_inputs"])
def _(d):
    n = helper.make_node("Scan", ["X"], ["Y"], name="scan", num_scan_inputs=3,
                         body=body_graph(NEG, inputs=("v_in",), outputs=("v_out",)))
    return save(model([n], [vi("X", [3, 2])], [vi("Y", [3, 2])], opset=16), d)


@case("scan_zero_steps", ["node 'scan' (Scan)", "zero steps"])
def _(d):
    n = helper.make_node("Scan", ["X"], ["Y"], name="scan", num_scan_inputs=1,
                         body=body_graph(NEG, inputs=("v_in",), outputs=("v_out",)))
    return save(model([n], [vi("X", [0, 2])], [vi("Y", [0, 2])], opset=16), d)


def lstm_model(x_elem=TensorProto.FLOAT, w_rows=8, lens_elem=None, **attrs):
    ins = ["X", "W", "R"] + (["", "L"] if lens_elem else [])
    inputs = [vi("X", [3, 1, 2], x_elem)] + ([vi("L", [1], lens_elem)] if lens_elem else [])
    w = tensor("W", [1, w_rows, 2], b"\0" * (4 * w_rows * 2))
    r = tensor("R", [1, 8, 2], b"\0" * 64)
    n = helper.make_node("LSTM", ins, ["Y"], name="lstm", hidden_size=2, **attrs)
    return model([n], inputs, [vi("Y", [3, 1, 1, 2])], inits=[w, r], opset=14)


@case("lstm_unknown_activation", ["node 'lstm' (LSTM)", "activation 'Gelu'"])
def _(d):
    return save(lstm_model(activations=["Sigmoid", "Gelu", "Tanh"]), d)


@case("lstm_activation_count", ["node 'lstm' (LSTM)", "has 2 activations"])
def _(d):
    return save(lstm_model(activations=["Sigmoid", "Tanh"]), d)


@case("lstm_weight_shape", ["node 'lstm' (LSTM)", "input 1 ('W') is 1x6x2, expected 1x8x2"])
def _(d):
    return save(lstm_model(w_rows=6), d)


@case("lstm_double", ["node 'lstm' (LSTM)", "float32"])
def _(d):
    return save(lstm_model(x_elem=TensorProto.DOUBLE), d)


@case("lstm_lengths_int64", ["node 'lstm' (LSTM)", "sequence_lens must be int32"])
def _(d):
    return save(lstm_model(lens_elem=TensorProto.INT64), d)


@case("lstm_bad_direction", ["node 'lstm' (LSTM)", "direction 'sideways'"])
def _(d):
    return save(lstm_model(direction="sideways"), d)


@case("lstm_layout_2", ["node 'lstm' (LSTM)", "layout must be 0 or 1"])
def _(d):
    return save(lstm_model(layout=2), d)


# ---- shapes on the command line ---------------------------------------------

@case("input_shape_unknown_name", ["--input-shape", "'nope'", "not a graph input"],
      args=["--input-shape", "nope=1x4"])
def _(d):
    return save(relu_model(), d)


@case("input_shape_names_initializer", ["--input-shape", "'W'", "not a graph input"],
      args=["--input-shape", "W=4"])
def _(d):
    return save(add_const(tensor("W", [4], b"\0" * 16)), d)


@case("input_shape_wrong_rank", ["--input-shape", "'X'", "rank"], args=["--input-shape", "X=4"])
def _(d):
    return save(relu_model(), d)


@case("input_shape_contradicts", ["--input-shape", "'X'", "dim 1"],
      args=["--input-shape", "X=1x5"])
def _(d):
    return save(relu_model(), d)


@case("input_shape_too_large", ["graph input 'X'", "too large"],
      args=["--input-shape", "X=4294967296x4294967296"])
def _(d):
    return save(model([helper.make_node("Relu", ["X"], ["Y"])], [vi("X", ["N", "M"])],
                      [vi("Y", ["N", "M"])]), d)


@case("unpinned_symbolic_dim", ["graph input 'X'", "'batch'", "--input-shape"])
def _(d):
    return save(model([helper.make_node("Relu", ["X"], ["Y"])], [vi("X", ["batch", 4])],
                      [vi("Y", ["batch", 4])]), d)


@case("unknown_rank", ["graph input 'X'", "rank unknown"])
def _(d):
    m = relu_model()
    m.graph.input[0].type.tensor_type.ClearField("shape")
    return save(m, d)


# ---- valid but unusual: compile, or refuse cleanly -----------------------------

@case("zero_size_input", may_compile=True)
def _(d):
    return save(model([helper.make_node("Relu", ["X"], ["Y"])], [vi("X", [0, 4])],
                      [vi("Y", [0, 4])]), d)


@case("zero_size_initializer", may_compile=True)
def _(d):
    return save(model([helper.make_node("Add", ["X", "W"], ["Y"])], [vi("X", [0])],
                      [vi("Y", [0])], inits=[tensor("W", [0], b"")]), d)


@case("zero_size_conv", may_compile=True)
def _(d):
    w = tensor("W", [2, 1, 1, 1], np.ones(2, np.float32).tobytes())
    return save(model([helper.make_node("Conv", ["X", "W"], ["Y"])], [vi("X", [0, 1, 3, 3])],
                      [vi("Y", [0, 2, 3, 3])], inits=[w]), d)


@case("zero_channels_conv", may_compile=True)
def _(d):
    return save(model([helper.make_node("Conv", ["X", "W"], ["Y"])], [vi("X", [1, 0, 3, 3])],
                      [vi("Y", [1, 0, 3, 3])], inits=[tensor("W", [0, 0, 1, 1], b"")]), d)


@case("nan_weights_conv", may_compile=True)
def _(d):
    # Found by fuzzing: NaN weights once reached an integer conversion in the quantize pass.
    w = struct.pack("<4f", float("nan"), float("inf"), 1.0, -1.0)
    return save(model([helper.make_node("Conv", ["X", "W"], ["Y"])], [vi("X", [1, 1, 3, 3])],
                      [vi("Y", [1, 1, 2, 2])], inits=[tensor("W", [1, 1, 2, 2], w)]), d)


@case("hostile_tensor_names", may_compile=True)
def _(d):
    # Names end up in comments and string literals of the generated code.
    x, y = 'X */ #error "bad" /*\n\\', 'Y"\n??/\t'
    return save(model([helper.make_node("Relu", [x], [y], name="*/ #error n\n")],
                      [vi(x, [1, 4])], [vi(y, [1, 4])]), d)


@case("hostile_model_path", may_compile=True)
def _(d):
    # The file name reaches the header comments and the symbol prefix.
    return save(relu_model(), d, 'a*?\\?/\n"b.onnx'.replace("/", "_"))


@case("graph_output_is_input", may_compile=True)
def _(d):
    return save(model([], [vi("X", [1, 4])], [vi("X", [1, 4])]), d)


@case("name_option_traversal", may_compile=True, args=["--name", "../../evil"])
def _(d):
    return save(relu_model(), d)


# ---- runner ------------------------------------------------------------------

def builds(cc, out):
    """The generated C compiles warning-free."""
    srcs = [os.path.join(out, f) for f in sorted(os.listdir(out)) if f.endswith(".c")]
    warn = ["-std=c99", *WARN]
    r = subprocess.run([cc, *warn, "-c", "-o", os.devnull] + srcs[:1], capture_output=True,
                       text=True) if len(srcs) == 1 else \
        subprocess.run([cc, *warn, "-fsyntax-only"] + srcs, capture_output=True, text=True)
    return r.returncode == 0, r.stderr.strip()[-300:]


def run_case(wrpnc, cc, name, fn, expect, args, may_compile):
    d = tempfile.mkdtemp(prefix="wrpnc-bad-")
    try:
        path = fn(d)
        out = os.path.join(d, "out")
        try:
            r = subprocess.run([wrpnc, "compile", path, "-o", out, "--target", "generic"]
                               + list(args),
                               capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            return "hang (60 s)"
        err = r.stderr
        for s in SANITIZER:
            if s in err:
                return f"{s} in stderr: {err.strip()[-400:]}"
        if r.returncode < 0:
            return f"killed by signal {-r.returncode}"
        left = sorted(os.listdir(out)) if os.path.isdir(out) else []
        if may_compile and r.returncode == 0:
            if any(".." in f or "/" in f for f in left):
                return f"odd output names {left}"
            ok, msg = builds(cc, out)
            return None if ok else f"generated code does not build: {msg}"
        if r.returncode != 1:
            return f"exit {r.returncode}, stderr: {err.strip()[-300:]}"
        if not err.startswith(f"{path}: error: "):
            return f"stderr does not start with '{path}: error: ': {err.strip()[:300]}"
        missing = [s for s in expect if s not in err]
        if missing:
            return f"stderr lacks {missing}: {err.strip()[:400]}"
        if left:
            return f"left in OUT: {left}"
        return None
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--filter", default="")
    ap.add_argument("--cc", default=shutil.which("clang") or "cc")
    a = ap.parse_args()
    wrpnc = os.path.abspath(a.wrpnc)
    passed = failed = 0
    for name, fn, expect, args, may_compile in CASES:
        if not re.search(a.filter, name):
            continue
        why = run_case(wrpnc, a.cc, name, fn, expect, args, may_compile)
        if why is None:
            passed += 1
            print(f"PASS  {name}")
        else:
            failed += 1
            print(f"FAIL  {name}: {why}")
    print(f"{passed} passed, {failed} failed, 0 skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
