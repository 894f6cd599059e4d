#!/usr/bin/env python3
"""test_widen.py: `wrpnc widen` end to end.

Small float models are built with onnx.helper, widened by wrpnc, and checked
against things wrpnc did not write: onnx.checker accepts the output, ONNX
Runtime runs it, and with --init preserve the widened model's outputs equal
the original model's (both run by ONNX Runtime) within 1e-5. Weight shapes of
every widened layer are checked, --init random is reproducible per seed, and its
weights' WRPN codes (computed here with numpy) cover the k-bit grid.
Cases whose operators wrpnc does not load yet are skipped, naming the op.

    python tests/e2e/test_widen.py --wrpnc build/wrpnc [-k NAME]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import traceback

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


class Skip(Exception):
    pass


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name)


def rng(seed=0):
    return np.random.default_rng(seed)


def make_model(nodes, inits, x_shape, y_shape, name):
    g = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
        initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    return m


def conv(name, x, y, w, b=None, **attrs):
    ins = [x, w] + ([b] if b else [])
    return helper.make_node("Conv", ins, [y], name=name, **attrs)


def w_init(r, name, shape):
    return const(name, r.standard_normal(shape) * 0.5)


# ---- models: (onnx model, {weight name: expected shape at 2x}) ----

def m_chain():
    r = rng(1)
    nodes = [conv("c1", "x", "a", "w1", "b1", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["ar"]),
             conv("c2", "ar", "b", "w2", "b2", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["b"], ["br"]),
             conv("c3", "br", "y", "w3", "b3")]
    inits = [w_init(r, "w1", (4, 3, 3, 3)), w_init(r, "b1", (4,)),
             w_init(r, "w2", (6, 4, 3, 3)), w_init(r, "b2", (6,)),
             w_init(r, "w3", (5, 6, 1, 1)), w_init(r, "b3", (5,))]
    m = make_model(nodes, inits, [1, 3, 8, 8], [1, 5, 8, 8], "chain")
    return m, {"w1": (8, 3, 3, 3), "b1": (8,), "w2": (12, 8, 3, 3), "b2": (12,),
               "w3": (5, 12, 1, 1), "b3": (5,)}


def m_residual():
    r = rng(2)
    nodes = [conv("c1", "x", "a", "w1", "b1", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["ar"]),
             conv("c2", "ar", "b", "w2", "b2", pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["ar", "b"], ["s"]),
             helper.make_node("Relu", ["s"], ["sr"]),
             conv("c3", "sr", "y", "w3")]
    inits = [w_init(r, "w1", (4, 3, 3, 3)), w_init(r, "b1", (4,)),
             w_init(r, "w2", (4, 4, 3, 3)), w_init(r, "b2", (4,)),
             w_init(r, "w3", (2, 4, 1, 1))]
    m = make_model(nodes, inits, [1, 3, 6, 6], [1, 2, 6, 6], "residual")
    return m, {"w1": (8, 3, 3, 3), "w2": (8, 8, 3, 3), "b2": (8,), "w3": (2, 8, 1, 1)}


def m_depthwise():
    r = rng(3)
    nodes = [conv("c1", "x", "a", "w1", "b1", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["ar"]),
             conv("dw", "ar", "d", "wd", "bd", group=4, pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["d"], ["dr"]),
             conv("c3", "dr", "y", "w3", "b3")]
    inits = [w_init(r, "w1", (4, 3, 3, 3)), w_init(r, "b1", (4,)),
             w_init(r, "wd", (4, 1, 3, 3)), w_init(r, "bd", (4,)),
             w_init(r, "w3", (3, 4, 1, 1)), w_init(r, "b3", (3,))]
    m = make_model(nodes, inits, [1, 3, 7, 7], [1, 3, 7, 7], "depthwise")
    return m, {"w1": (8, 3, 3, 3), "wd": (8, 1, 3, 3), "bd": (8,), "w3": (3, 8, 1, 1)}


def m_grouped():
    r = rng(9)
    nodes = [conv("c1", "x", "a", "w1", "b1", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["ar"]),
             conv("gc", "ar", "g", "wg", "bg", group=2, pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["g"], ["gr"]),
             conv("c3", "gr", "y", "w3", "b3")]
    inits = [w_init(r, "w1", (4, 3, 3, 3)), w_init(r, "b1", (4,)),
             w_init(r, "wg", (6, 2, 3, 3)), w_init(r, "bg", (6,)),
             w_init(r, "w3", (3, 6, 1, 1)), w_init(r, "b3", (3,))]
    m = make_model(nodes, inits, [1, 3, 5, 5], [1, 3, 5, 5], "grouped")
    return m, {"w1": (8, 3, 3, 3), "wg": (12, 4, 3, 3), "bg": (12,), "w3": (3, 12, 1, 1)}


def i64(name, vals):
    return numpy_helper.from_array(np.asarray(vals, dtype=np.int64), name)


def m_spatial():
    """Pad, Slice and Resize on spatial axes keep channels in place: widened."""
    r = rng(10)
    nodes = [conv("c1", "x", "a", "w1", "b1"),
             helper.make_node("Relu", ["a"], ["ar"]),
             helper.make_node("Pad", ["ar", "pads"], ["p"], mode="reflect"),
             conv("c2", "p", "b", "w2"),
             helper.make_node("Slice", ["b", "st", "en", "ax"], ["sl"]),
             helper.make_node("Resize", ["sl", "", "sc"], ["rs"], mode="nearest"),
             conv("c3", "rs", "y", "w3")]
    inits = [w_init(r, "w1", (4, 3, 1, 1)), w_init(r, "b1", (4,)),
             i64("pads", [0, 0, 1, 1, 0, 0, 1, 1]), w_init(r, "w2", (5, 4, 3, 3)),
             i64("st", [1]), i64("en", [4]), i64("ax", [2]),
             const("sc", [1, 1, 2, 2]), w_init(r, "w3", (2, 5, 1, 1))]
    m = make_model(nodes, inits, [1, 3, 5, 5], [1, 2, 6, 10], "spatial")
    return m, {"w1": (8, 3, 1, 1), "w2": (10, 8, 3, 3), "w3": (2, 10, 1, 1)}


def m_pad_channels():
    """Pad on the channel axis pins the padded tensor's group: it keeps 4 channels."""
    r = rng(11)
    nodes = [conv("c1", "x", "a", "w1"),
             helper.make_node("Pad", ["a", "pads"], ["p"]),
             conv("c2", "p", "b", "w2"),
             helper.make_node("Relu", ["b"], ["br"]),
             conv("c3", "br", "y", "w3")]
    inits = [w_init(r, "w1", (4, 3, 1, 1)), i64("pads", [0, 1, 0, 0, 0, 1, 0, 0]),
             w_init(r, "w2", (5, 6, 1, 1)), w_init(r, "w3", (2, 5, 1, 1))]
    m = make_model(nodes, inits, [1, 3, 4, 4], [1, 2, 4, 4], "padc")
    return m, {"w1": (4, 3, 1, 1), "w2": (10, 6, 1, 1), "w3": (2, 10, 1, 1)}


def m_se():
    """Squeeze-excitation: GAP -> 1x1 convs -> Sigmoid -> Mul with the trunk (both
    operands widened), then PRelu slopes (C,1,1) and a per-channel constant Mul."""
    r = rng(12)
    nodes = [conv("c1", "x", "a", "w1", "b1", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["ar"]),
             helper.make_node("GlobalAveragePool", ["ar"], ["g"]),
             conv("s1", "g", "h", "ws1", "bs1"),
             helper.make_node("Relu", ["h"], ["hr"]),
             conv("s2", "hr", "e", "ws2", "bs2"),
             helper.make_node("Sigmoid", ["e"], ["es"]),
             helper.make_node("Mul", ["ar", "es"], ["m"]),
             helper.make_node("PRelu", ["m", "slope"], ["pr"]),
             helper.make_node("Mul", ["pr", "scale"], ["ms"]),
             conv("c3", "ms", "y", "w3")]
    inits = [w_init(r, "w1", (4, 3, 3, 3)), w_init(r, "b1", (4,)),
             w_init(r, "ws1", (2, 4, 1, 1)), w_init(r, "bs1", (2,)),
             w_init(r, "ws2", (4, 2, 1, 1)), w_init(r, "bs2", (4,)),
             const("slope", r.uniform(0.1, 0.3, (4, 1, 1))),
             const("scale", r.uniform(0.5, 2, (1, 4, 1, 1))), w_init(r, "w3", (3, 4, 1, 1))]
    m = make_model(nodes, inits, [1, 3, 5, 5], [1, 3, 5, 5], "se")
    return m, {"w1": (8, 3, 3, 3), "ws1": (4, 8, 1, 1), "ws2": (8, 4, 1, 1), "bs2": (8,),
               "slope": (8, 1, 1), "scale": (1, 8, 1, 1), "w3": (3, 8, 1, 1)}


def m_concat():
    r = rng(4)
    nodes = [conv("c1", "x", "a", "w1", pads=[1, 1, 1, 1]),
             conv("c2", "x", "b", "w2", pads=[1, 1, 1, 1]),
             helper.make_node("Concat", ["a", "b"], ["cat"], axis=1),
             helper.make_node("Relu", ["cat"], ["cr"]),
             conv("c3", "cr", "y", "w3", "b3")]
    inits = [w_init(r, "w1", (3, 2, 3, 3)), w_init(r, "w2", (5, 2, 3, 3)),
             w_init(r, "w3", (4, 8, 1, 1)), w_init(r, "b3", (4,))]
    m = make_model(nodes, inits, [1, 2, 5, 5], [1, 4, 5, 5], "concat")
    return m, {"w1": (6, 2, 3, 3), "w2": (10, 2, 3, 3), "w3": (4, 16, 1, 1)}


def m_bn():
    r = rng(5)
    nodes = [conv("c1", "x", "a", "w1", pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["a", "s", "bb", "mu", "var"], ["n"],
                              epsilon=1e-5),
             helper.make_node("Relu", ["n"], ["nr"]),
             conv("c2", "nr", "y", "w2")]
    inits = [w_init(r, "w1", (4, 3, 3, 3)),
             const("s", r.uniform(0.5, 1.5, 4)), const("bb", r.standard_normal(4)),
             const("mu", r.standard_normal(4) * 0.1), const("var", r.uniform(0.5, 2, 4)),
             w_init(r, "w2", (2, 4, 1, 1))]
    m = make_model(nodes, inits, [1, 3, 6, 6], [1, 2, 6, 6], "bn")
    return m, {"w1": (8, 3, 3, 3), "s": (8,), "bb": (8,), "mu": (8,), "var": (8,),
               "w2": (2, 8, 1, 1)}


def m_gemm():
    r = rng(6)
    nodes = [conv("c1", "x", "a", "w1", "b1"),
             helper.make_node("Relu", ["a"], ["ar"]),
             helper.make_node("Flatten", ["ar"], ["f"], axis=1),
             helper.make_node("Gemm", ["f", "g1", "gb1"], ["h"], transB=1),
             helper.make_node("Relu", ["h"], ["hr"]),
             helper.make_node("Gemm", ["hr", "g2", "gb2"], ["y"])]
    inits = [w_init(r, "w1", (3, 2, 3, 3)), w_init(r, "b1", (3,)),
             w_init(r, "g1", (6, 3 * 2 * 2)), w_init(r, "gb1", (6,)),
             w_init(r, "g2", (6, 4)), w_init(r, "gb2", (4,))]
    m = make_model(nodes, inits, [2, 2, 4, 4], [2, 4], "gemm")
    return m, {"w1": (6, 2, 3, 3), "g1": (12, 24), "gb1": (12,), "g2": (12, 4), "gb2": (4,)}


def m_torch():
    """A torch-exported net: residual conv block, x.view(N, -1) (a Reshape whose
    target shape is computed from Shape), two Linear layers (Gemm, transB=1)."""
    try:
        import torch
    except ImportError:
        raise Skip("torch is not installed")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = torch.nn.Conv2d(3, 4, 3, padding=1)
            self.c2 = torch.nn.Conv2d(4, 4, 3, padding=1)
            self.fc1 = torch.nn.Linear(4 * 4 * 4, 6)
            self.fc2 = torch.nn.Linear(6, 3)

        def forward(self, x):
            a = torch.relu(self.c1(x))
            a = torch.relu(a + self.c2(a))
            return self.fc2(torch.relu(self.fc1(a.view(x.size(0), -1))))

    torch.manual_seed(0)
    path = os.path.join(tempfile.mkdtemp(), "torch.onnx")
    torch.onnx.export(Net().eval(), torch.randn(2, 3, 4, 4), path, input_names=["x"],
                      output_names=["y"], opset_version=OPSET)
    m = onnx.load(path)
    shapes = {}
    for t in m.graph.initializer:
        s = list(t.dims)
        if t.name == "c1.weight":
            shapes[t.name] = (8, 3, 3, 3)
        elif t.name == "c2.weight":
            shapes[t.name] = (8, 8, 3, 3)
        elif t.name == "fc1.weight":
            shapes[t.name] = (12, 128)
        elif t.name == "fc2.weight":
            shapes[t.name] = (3, 12)
    assert len(shapes) == 4, [t.name for t in m.graph.initializer]
    return m, shapes


def m_torch_resnet():
    """A small ResNet from torch: Conv-BN-ReLU-MaxPool stem, two residual blocks
    (one with a strided 1x1 projection), global average pool, flatten, Linear."""
    try:
        import torch
    except ImportError:
        raise Skip("torch is not installed")
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1, self.b1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
            self.c2, self.b2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
            self.proj = None if stride == 1 and cin == cout else nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = self.b2(self.c2(torch.relu(self.b1(self.c1(x)))))
            return torch.relu(y + (x if self.proj is None else self.proj(x)))

    net = nn.Sequential(nn.Conv2d(3, 4, 3, 1, 1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.MaxPool2d(2), Block(4, 4, 1), Block(4, 6, 2),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3))
    torch.manual_seed(1)
    for mod in net.modules():
        if isinstance(mod, nn.BatchNorm2d):  # non-trivial statistics
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.5, 0.5)
    path = os.path.join(tempfile.mkdtemp(), "resnet.onnx")
    torch.onnx.export(net.eval(), torch.randn(1, 3, 8, 8), path, input_names=["x"],
                      output_names=["y"], opset_version=OPSET,
                      training=torch.onnx.TrainingMode.PRESERVE,  # keeps BN nodes
                      do_constant_folding=False)
    m = onnx.load(path)
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    bns = [n for n in m.graph.node if n.op_type == "BatchNormalization"]
    gemm = [n for n in m.graph.node if n.op_type == "Gemm"]
    assert len(convs) == 6 and len(bns) == 6 and len(gemm) == 1, [n.op_type for n in m.graph.node]
    want = [(8, 3, 3, 3), (8, 8, 3, 3), (8, 8, 3, 3), (12, 8, 3, 3), (12, 12, 3, 3),
            (12, 8, 1, 1)]  # trace order: stem, block 1, block 2 main path, projection
    shapes = {n.input[1]: w for n, w in zip(convs, want)}
    shapes.update({n.input[i]: (8 if k < 3 else 12,) for k, n in enumerate(bns)
                   for i in range(1, 5)})
    shapes[gemm[0].input[1]] = (3, 12)
    return m, shapes


def m_matmul():
    """Flatten -> MatMul with constant weights -> Add bias (a per-feature constant)."""
    r = rng(13)
    nodes = [conv("c1", "x", "a", "w1"),
             helper.make_node("Relu", ["a"], ["ar"]),
             helper.make_node("Flatten", ["ar"], ["f"]),
             helper.make_node("MatMul", ["f", "m1"], ["h"]),
             helper.make_node("Add", ["h", "mb1"], ["hb"]),
             helper.make_node("Relu", ["hb"], ["hr"]),
             helper.make_node("MatMul", ["hr", "m2"], ["y"])]
    inits = [w_init(r, "w1", (3, 2, 3, 3)), w_init(r, "m1", (12, 5)), w_init(r, "mb1", (5,)),
             w_init(r, "m2", (5, 4))]
    m = make_model(nodes, inits, [2, 2, 4, 4], [2, 4], "matmul")
    return m, {"w1": (6, 2, 3, 3), "m1": (24, 10), "mb1": (10,), "m2": (10, 4)}


MODELS = {"chain": m_chain, "residual": m_residual, "depthwise": m_depthwise,
          "grouped": m_grouped, "se": m_se,
          "spatial": m_spatial, "pad_channels": m_pad_channels,
          "concat": m_concat, "bn": m_bn, "gemm": m_gemm, "matmul": m_matmul, "torch": m_torch,
          "torch_resnet": m_torch_resnet}


# ---- helpers ----

def supported_ops(wrpnc):
    out = subprocess.run([wrpnc, "ops"], capture_output=True, text=True, check=True).stdout
    return {line.split("::")[-1].strip() for line in out.splitlines()}


def need_ops(model, ops):
    missing = sorted({n.op_type for n in model.graph.node} - ops)
    if missing:
        raise Skip("wrpnc does not load %s yet" % ", ".join(missing))


def widen(wrpnc, src, dst, *args):
    p = subprocess.run([wrpnc, "widen", src, "-o", dst] + list(args), capture_output=True,
                       text=True)
    if p.returncode != 0:
        raise AssertionError("wrpnc widen failed: %s" % (p.stderr or p.stdout))
    return onnx.load(dst)


def run_ort(path, x):
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return s.run(None, {"x": x})[0]


def weights(m):
    return {t.name: numpy_helper.to_array(t) for t in m.initializer} if hasattr(
        m, "initializer") else {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}


def save(tmp, name, m):
    path = os.path.join(tmp, name)
    onnx.save(m, path)
    return path


# ---- cases ----

def case_preserve(wrpnc, ops, tmp, key, width="2", extra=()):
    m, shapes = MODELS[key]()
    need_ops(m, ops)
    src = save(tmp, key + ".onnx", m)
    dst = os.path.join(tmp, "%s_w%s.onnx" % (key, width))
    wide = widen(wrpnc, src, dst, "--width", width, "--init", "preserve",
                 *extra)
    onnx.checker.check_model(wide, full_check=True)
    x = rng(7).standard_normal([d.dim_value for d in
                                m.graph.input[0].type.tensor_type.shape.dim]).astype(np.float32)
    want, got = run_ort(src, x), run_ort(dst, x)
    assert got.shape == want.shape, (got.shape, want.shape)
    err = float(np.max(np.abs(got - want)))
    assert err <= 1e-5 * max(1.0, float(np.max(np.abs(want)))), "max abs err %g" % err
    if width == "2":
        w = weights(wide.graph)
        for name, shape in shapes.items():
            assert name in w, "weight %s missing from the widened model" % name
            assert w[name].shape == shape, "%s: %s, want %s" % (name, w[name].shape, shape)


def case_random(wrpnc, ops, tmp, key):
    m, shapes = MODELS[key]()
    need_ops(m, ops)
    src = save(tmp, key + ".onnx", m)
    a = widen(wrpnc, src, os.path.join(tmp, "a.onnx"), "--width", "2", "--init", "random",
              "--seed", "11")
    b = widen(wrpnc, src, os.path.join(tmp, "b.onnx"), "--width", "2", "--init", "random",
              "--seed", "11")
    c = widen(wrpnc, src, os.path.join(tmp, "c.onnx"), "--width", "2", "--init", "random",
              "--seed", "12")
    onnx.checker.check_model(a, full_check=True)
    wa, wb, wc = weights(a.graph), weights(b.graph), weights(c.graph)
    for name, shape in shapes.items():
        assert wa[name].shape == shape, (name, wa[name].shape, shape)
        assert np.array_equal(wa[name], wb[name]), "same seed, different %s" % name
    assert any(not np.array_equal(wa[n], wc[n]) for n in shapes), "seed has no effect"
    x = rng(8).standard_normal([d.dim_value for d in
                                m.graph.input[0].type.tensor_type.shape.dim]).astype(np.float32)
    y = run_ort(os.path.join(tmp, "a.onnx"), x)
    assert np.all(np.isfinite(y))


def wrpn_codes(w, k):
    """WRPN k-bit weight codes (wrpn.md section 1): sign for k = 1, else
    round(clip(w, -1, 1) * (2^(k-1) - 1)), computed here with numpy."""
    if k == 1:
        return np.where(w < 0, -1, 1)
    return np.rint(np.clip(w, -1, 1) * (2 ** (k - 1) - 1)).astype(np.int64)


def case_random_codes(wrpnc, ops, tmp):
    """--init random draws weights whose WRPN codes cover the grid, as trained low-bit
    weights do: per bit width, each code's share of a widened-then-quantized layer is
    within sampling error of the uniform-over-[-1, 1] share (inner codes 1/(2M), the end
    codes 1/(4M)); not the nearly-all-zero 2-bit codes of a He-normal draw."""
    r = rng(4)
    nodes = [conv("c1", "x", "h", "w1", pads=[1] * 4), helper.make_node("Relu", ["h"], ["r"]),
             conv("c2", "r", "y", "w2", pads=[1] * 4)]
    m = make_model(nodes, [w_init(r, "w1", (16, 8, 3, 3)), w_init(r, "w2", (8, 16, 3, 3))],
                   [1, 8, 6, 6], [1, 8, 6, 6], "codes")
    need_ops(m, ops)
    src = save(tmp, "codes.onnx", m)
    wide = widen(wrpnc, src, os.path.join(tmp, "w.onnx"), "--width", "2", "--init", "random",
                 "--seed", "3")
    for name, w in weights(wide.graph).items():
        assert w.size >= 2304, (name, w.shape)
        assert np.all(np.abs(w) <= 1), "%s: weights outside WRPN's [-1, 1]" % name
        for k in (1, 2, 3, 4):
            M = 2 ** (k - 1) - 1
            codes = wrpn_codes(w, k)
            grid = [-1, 1] if k == 1 else range(-M, M + 1)
            for c in grid:
                want = 0.5 if k == 1 else (1 / (4 * M) if abs(c) == M else 1 / (2 * M))
                got = float(np.mean(codes == c))
                tol = 5 * np.sqrt(want * (1 - want) / w.size) + 0.005
                assert abs(got - want) <= tol, "%s, %d-bit code %d: share %.3f, want %.3f" % (
                    name, k, c, got, want)
        assert np.mean(wrpn_codes(w, 2) == 0) < 0.6, "%s: 2-bit codes mostly zero" % name


def case_roundtrip(wrpnc, ops, tmp, key):
    """--width 1 writes the model back unchanged: nodes, names, attributes, weights."""
    m, _ = MODELS[key]()
    need_ops(m, ops)
    for n in m.graph.node:
        if n.op_type == "Conv":
            n.attribute.append(helper.make_attribute("auto_pad", "NOTSET"))
        if n.op_type == "Gemm":
            n.attribute.append(helper.make_attribute("alpha", 0.75))
    src = save(tmp, key + ".onnx", m)
    dst = os.path.join(tmp, "same.onnx")
    out = widen(wrpnc, src, dst, "--width", "1")
    onnx.checker.check_model(out, full_check=True)
    assert [(n.op_type, list(n.input), list(n.output)) for n in out.graph.node] == \
        [(n.op_type, list(n.input), list(n.output)) for n in m.graph.node]
    for a, b in zip(out.graph.node, m.graph.node):
        assert a.name == b.name or not b.name, (a.name, b.name)  # unnamed ones get a name
    for a, b in zip(out.graph.node, m.graph.node):
        assert sorted(x.SerializeToString() for x in a.attribute) == \
            sorted(x.SerializeToString() for x in b.attribute), (a.name, a.attribute)
    wa, wb = weights(out.graph), weights(m.graph)
    assert wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert [o.version for o in out.opset_import] == [o.version for o in m.opset_import]
    assert out.ir_version == m.ir_version
    x = rng(3).standard_normal([d.dim_value for d in
                                m.graph.input[0].type.tensor_type.shape.dim]).astype(np.float32)
    assert np.array_equal(run_ort(src, x), run_ort(dst, x))


def case_summary(wrpnc, ops, tmp):
    """widen says how much it widened and names the hidden activations it kept."""
    m, _ = m_chain()
    src = save(tmp, "chain.onnx", m)
    p = subprocess.run([wrpnc, "widen", src, "-o", os.path.join(tmp, "c.onnx"), "--width", "2"],
                       capture_output=True, text=True)
    assert "4 of 4 hidden activations widened\n" in p.stdout, p.stdout
    m, _ = m_pad_channels()  # Pad on the channel axis pins 'a' and 'p'
    need_ops(m, ops)
    src = save(tmp, "padc.onnx", m)
    p = subprocess.run([wrpnc, "widen", src, "-o", os.path.join(tmp, "w.onnx"), "--width", "2"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "2 of 4 hidden activations widened; kept: 'a', 'p'" in p.stdout, p.stdout


def case_old_ir(wrpnc, ops, tmp):
    """An IR 3 / opset 8 model lists its initializers as graph inputs; the widened
    one lists them once (IR 4) and still checks and runs."""
    m, _ = m_chain()
    m.ir_version = 3
    del m.opset_import[:]
    m.opset_import.append(helper.make_opsetid("", 8))
    for t in m.graph.initializer:
        m.graph.input.append(helper.make_tensor_value_info(t.name, TensorProto.FLOAT, t.dims))
    onnx.checker.check_model(m)
    src = save(tmp, "old.onnx", m)
    dst = os.path.join(tmp, "w.onnx")
    wide = widen(wrpnc, src, dst, "--width", "2")
    onnx.checker.check_model(wide, full_check=True)
    assert wide.ir_version == 4 and wide.opset_import[0].version == 8
    assert [i.name for i in wide.graph.input] == ["x"]
    x = rng(2).standard_normal((1, 3, 8, 8)).astype(np.float32)
    err = np.max(np.abs(run_ort(src, x) - run_ort(dst, x)))
    assert err < 1e-5, err


def case_bad_width(wrpnc, ops, tmp):
    m, _ = m_chain()
    src = save(tmp, "chain.onnx", m)
    p = subprocess.run([wrpnc, "widen", src, "-o", os.path.join(tmp, "o.onnx"), "--width",
                        "0.5"], capture_output=True, text=True)
    assert p.returncode == 2 and "--width" in p.stderr, p.stderr


def case_width_1_5(wrpnc, ops, tmp):
    """3 channels at 1.5x round half up to 5; 4 give 6."""
    m, _ = m_chain()
    src = save(tmp, "chain.onnx", m)
    wide = widen(wrpnc, src, os.path.join(tmp, "w.onnx"), "--width", "1.5")
    w = weights(wide.graph)
    assert w["w1"].shape == (6, 3, 3, 3) and w["w2"].shape == (9, 6, 3, 3), \
        (w["w1"].shape, w["w2"].shape)


def all_cases():
    cases = []
    for key in MODELS:
        cases.append(("preserve_" + key, lambda w, o, t, k=key: case_preserve(w, o, t, k)))
    for key in ("chain", "depthwise", "gemm", "torch", "torch_resnet"):
        cases.append(("preserve3x_" + key,
                      lambda w, o, t, k=key: case_preserve(w, o, t, k, width="3")))
        cases.append(("preserve1.5x_" + key,
                      lambda w, o, t, k=key: case_preserve(w, o, t, k, width="1.5")))
    for key in ("residual", "grouped", "concat"):
        cases.append(("preserve_randmap_" + key, lambda w, o, t, k=key: case_preserve(
            w, o, t, k, width="2.5", extra=("--map", "random", "--seed", "5"))))
    for key in ("chain", "residual", "gemm", "matmul", "torch", "torch_resnet"):
        cases.append(("random_" + key, lambda w, o, t, k=key: case_random(w, o, t, k)))
    for key in ("chain", "gemm", "bn"):
        cases.append(("roundtrip_" + key, lambda w, o, t, k=key: case_roundtrip(w, o, t, k)))
    cases.append(("random_codes", case_random_codes))
    cases.append(("summary", case_summary))
    cases.append(("old_ir", case_old_ir))
    cases.append(("bad_width", case_bad_width))
    cases.append(("width_1_5_rounding", case_width_1_5))
    return cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("-k", default="")
    a = ap.parse_args()
    ops = supported_ops(a.wrpnc)
    npass = nfail = nskip = 0
    for name, fn in all_cases():
        if a.k not in name:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            try:
                fn(a.wrpnc, ops, tmp)
                npass += 1
                print("PASS %s" % name)
            except Skip as e:
                nskip += 1
                print("SKIP %s: %s" % (name, e))
            except Exception:
                nfail += 1
                print("FAIL %s\n%s" % (name, traceback.format_exc()))
    print("%d passed, %d failed, %d skipped" % (npass, nfail, nskip))
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
