#!/usr/bin/env python3
"""test_calibrate.py: post-training calibration (passes/calibrate.c, --calibrate) and a
quantized model's own quantizers (passes/requantize.c, --requantize).

  - the QONNX graph `wrpnc calibrate` writes: a Quant node (qonnx.custom_op.general,
    zero point 0, ROUND) before every quantized layer's input and on its weights, with
    scales recomputed here with numpy: per output channel max|w| / (2^(k-1) - 1) on the
    narrow signed grid, activation max (from ONNX Runtime's run of the float model over
    the same data) / (2^k - 1) unsigned after a Relu, / (2^(k-1) - 1) signed for the
    (signed) graph input; --calibrate-percentile against numpy's quantile;
  - that graph rewritten here with standard ONNX ops (Div, Round, Clip, Mul) and run by
    ONNX Runtime gives what `wrpnc run --calibrate` gives, interpreter and generated C;
  - --wbits on a quantized model is refused (exit 2) unless --requantize, which strips
    the quantizers (the float weights come back);
  - Fashion-MNIST, the real test set (10,000 images): w8a8 calibrated on the training
    images is within 1 point of fp32, whose accuracy is PyTorch's (models/*.json).

    python tests/e2e/test_calibrate.py --wrpnc build/wrpnc [-k NAME]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import traceback

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
FMNIST = os.path.join(HERE, "..", "..", "examples", "fashion_mnist", "models")
FMNIST_DATA = "/usr/share/datasets/fashion-mnist"
QDOM = "qonnx.custom_op.general"


class Skip(Exception):
    pass


def model(path):
    """Conv -> Relu -> MaxPool -> Conv -> Relu -> Flatten -> Gemm, random weights."""
    r = np.random.default_rng(7)
    def w(name, shape, s=0.4):
        return numpy_helper.from_array((r.standard_normal(shape) * s).astype(np.float32), name)
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["a"], pads=[1, 1, 1, 1], name="c1"),
             helper.make_node("Relu", ["a"], ["ar"]),
             helper.make_node("MaxPool", ["ar"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Conv", ["p", "w2"], ["b"], pads=[1, 1, 1, 1], name="c2"),
             helper.make_node("Relu", ["b"], ["br"]),
             helper.make_node("Flatten", ["br"], ["f"]),
             helper.make_node("Gemm", ["f", "g", "gb"], ["y"], transB=1, name="fc")]
    g = helper.make_graph(
        nodes, "cal", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        [w("w1", (6, 3, 3, 3)), w("b1", (6,)), w("w2", (8, 6, 3, 3)), w("g", (10, 128), 0.1),
         w("gb", (10,))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.save(m, path)
    return path


def dataset(d, n, seed):
    """n test_data_set_K folders of one random input each; the inputs as an array."""
    r = np.random.default_rng(seed)
    xs = []
    for k in range(n):
        sub = os.path.join(d, "test_data_set_%d" % k)
        os.makedirs(sub)
        x = r.standard_normal((1, 3, 8, 8)).astype(np.float32)
        with open(os.path.join(sub, "input_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(x, "x").SerializeToString())
        xs.append(x)
    return np.stack(xs)


def quiet():
    """Session options without ONNX Runtime's warnings about unused initializers."""
    o = ort.SessionOptions()
    o.log_severity_level = 3
    return o


def activations(path, xs, names):
    """ONNX Runtime's values of the named tensors over every input."""
    m = onnx.load(path)
    m.graph.output.extend([helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
                           for n in names])
    s = ort.InferenceSession(m.SerializeToString(), quiet(), providers=["CPUExecutionProvider"])
    outs = [s.run(names, {"x": x}) for x in xs]
    return {n: np.stack([o[i] for o in outs]) for i, n in enumerate(names)}


def quant_of(m, tensor):
    """The Quant node writing tensor, and its constant inputs as arrays."""
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    q = next(n for n in m.graph.node if tensor in n.output)
    assert q.op_type == "Quant" and q.domain == QDOM, q
    attrs = {a.name: helper.get_attribute_value(a) for a in q.attribute}
    return q, attrs, [inits.get(i) for i in q.input]


def as_standard_onnx(m):
    """Each Quant (zero point 0) as Div -> Round -> Clip -> Mul, which ONNX Runtime runs."""
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    nodes = []
    for n in m.graph.node:
        if n.op_type != "Quant":
            nodes.append(n)
            continue
        a = {x.name: helper.get_attribute_value(x) for x in n.attribute}
        bits = int(inits[n.input[3]])
        assert float(inits[n.input[2]]) == 0 and a["rounding_mode"] == b"ROUND"
        lo = -(2 ** (bits - 1)) + a["narrow"] if a["signed"] else 0
        hi = 2 ** (bits - 1) - 1 if a["signed"] else 2 ** bits - 1 - a["narrow"]
        o = n.output[0]
        m.graph.initializer.extend([numpy_helper.from_array(np.float32(lo), o + "_lo"),
                                    numpy_helper.from_array(np.float32(hi), o + "_hi")])
        nodes += [helper.make_node("Div", [n.input[0], n.input[1]], [o + "_d"]),
                  helper.make_node("Round", [o + "_d"], [o + "_r"]),
                  helper.make_node("Clip", [o + "_r", o + "_lo", o + "_hi"], [o + "_c"]),
                  helper.make_node("Mul", [o + "_c", n.input[1]], [o])]
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    del m.opset_import[:]
    m.opset_import.extend([helper.make_opsetid("", 13)])
    return m


def wrpnc(exe, *args):
    return subprocess.run([exe] + list(args), capture_output=True, text=True, timeout=600)


def run_output(exe, tmp, path, x, *args):
    xpb = os.path.join(tmp, "x.pb")
    with open(xpb, "wb") as f:
        f.write(numpy_helper.from_array(x, "x").SerializeToString())
    out = os.path.join(tmp, "out")
    p = wrpnc(exe, "run", path, "--input", xpb, "--output-dir", out, *args)
    assert p.returncode == 0, p.stderr
    return numpy_helper.to_array(onnx.load_tensor(os.path.join(out, "output_0.pb")))


# ---- cases ----

def case_qonnx_graph(exe, tmp):
    """Scales as numpy computes them; signed input, unsigned after Relu; shapes per channel."""
    path = model(os.path.join(tmp, "m.onnx"))
    data = os.path.join(tmp, "data")
    xs = dataset(data, 6, 1)
    out = os.path.join(tmp, "q.onnx")
    p = wrpnc(exe, "calibrate", path, data, "-o", out, "--wbits", "4", "--abits", "4",
              "--quantize-all")
    assert p.returncode == 0, p.stderr
    assert "3 layers quantized" in p.stdout and "6 examples" in p.stdout, p.stdout
    m = onnx.load(out)
    assert any(o.domain == QDOM for o in m.opset_import), m.opset_import
    src = onnx.load(path)
    w = {t.name: numpy_helper.to_array(t) for t in src.graph.initializer}
    acts = activations(path, xs, ["x", "p", "f"])
    layers = {n.name: n for n in m.graph.node if n.op_type in ("Conv", "Gemm")}
    for name, wname, act, signed in (("c1", "w1", "x", 1), ("c2", "w2", "p", 0),
                                     ("fc", "g", "f", 0)):
        n = layers[name]
        q, a, (x, s, z, b) = quant_of(m, n.input[0])
        assert q.input[0] == act and a["signed"] == signed and a["narrow"] == 0, (name, a)
        steps = 7 if signed else 15
        want = np.abs(acts[act]).max() / steps
        assert float(b) == 4 and float(z) == 0 and abs(float(s) - want) <= 1e-6 * want, \
            (name, float(s), want)
        q, a, (wt, s, z, b) = quant_of(m, n.input[1])
        assert a["signed"] == 1 and a["narrow"] == 1 and float(b) == 4, (name, a)
        ref = w[wname]
        assert np.array_equal(wt, ref), name  # the float weights, quantized by the node
        per = np.abs(ref.reshape(ref.shape[0], -1)).max(axis=1) / 7
        shape = (ref.shape[0],) + (1,) * (ref.ndim - 1)
        assert s.shape == shape and np.allclose(s.reshape(-1), per, rtol=1e-6), (name, s.shape)


def case_matches_onnxruntime(exe, tmp):
    """The calibrated graph in standard ops under ONNX Runtime = wrpnc run --calibrate."""
    path = model(os.path.join(tmp, "m.onnx"))
    data = os.path.join(tmp, "data")
    dataset(data, 8, 2)
    out = os.path.join(tmp, "q.onnx")
    opts = ["--wbits", "8", "--abits", "8"]
    p = wrpnc(exe, "calibrate", path, data, "-o", out, *opts)
    assert p.returncode == 0, p.stderr
    std = as_standard_onnx(onnx.load(out))
    s = ort.InferenceSession(std.SerializeToString(), quiet(), providers=["CPUExecutionProvider"])
    r = np.random.default_rng(3)
    for k in range(3):
        x = r.standard_normal((1, 3, 8, 8)).astype(np.float32)
        want = s.run(None, {"x": x})[0]
        tol = 1e-4 * max(1.0, float(np.abs(want).max()))
        for engine in ("interp", "c"):
            got = run_output(exe, tmp, path, x, "--calibrate", data, "--engine", engine, *opts)
            err = float(np.abs(got - want).max())
            assert err <= tol, (engine, k, err, tol)
    # the lowered graph runs the quantized conv on integer kernels
    p = wrpnc(exe, "compile", path, "-o", os.path.join(tmp, "c"), "--calibrate", data,
              "--dump=quantize", *opts)
    assert p.returncode == 0 and "QConv" in p.stderr, p.stderr[-2000:]


def case_percentile(exe, tmp):
    """--calibrate-percentile P: the activation range is numpy's P-th quantile of |x|."""
    path = model(os.path.join(tmp, "m.onnx"))
    r = np.random.default_rng(4)
    xs = r.standard_normal((40, 1, 3, 8, 8)).astype(np.float32)
    npy = os.path.join(tmp, "x.npy")
    np.save(npy, xs.reshape(40, 3, 8, 8))
    out = os.path.join(tmp, "q.onnx")
    p = wrpnc(exe, "calibrate", path, npy, "-o", out, "--wbits", "4", "--abits", "4",
              "--calibrate-percentile", "99")
    assert p.returncode == 0, p.stderr
    m = onnx.load(out)
    conv2 = next(n for n in m.graph.node if n.name == "c2")
    _, a, (_, s, _, _) = quant_of(m, conv2.input[0])
    v = np.abs(activations(path, xs, ["p"])["p"]).reshape(-1)
    q = np.quantile(v, 0.99, method="inverted_cdf")
    span = float(s) * 15
    assert q <= span * (1 + 1e-6) <= q + 2 * v.max() / 2048 + 1e-6, (span, q, v.max())
    assert span < v.max(), (span, v.max())


def case_requantize(exe, tmp):
    """A quantized model: --wbits refused without --requantize; with it, float weights."""
    path = os.path.join(FMNIST, "fmnist_w2_a4w4.onnx")
    shape = ["--input-shape", "image=1x1x28x28"]
    for extra in (["--wbits", "2", "--abits", "2"], ["--calibrate", tmp, "--wbits", "8",
                                                      "--abits", "8"]):
        p = wrpnc(exe, "compile", path, "-o", os.path.join(tmp, "c"), *shape, *extra)
        assert p.returncode == 2 and "already quantized" in p.stderr and \
            "--requantize" in p.stderr, (extra, p.returncode, p.stderr)
    if not os.path.isdir(FMNIST_DATA):
        raise Skip("Debian's dataset-fashion-mnist is not installed (tools/setup.sh)")
    out = os.path.join(tmp, "q.onnx")
    p = wrpnc(exe, "calibrate", path, FMNIST_DATA, "-o", out, "--wbits", "8", "--abits", "8",
              "--requantize", "--calibrate-samples", "16", *shape)
    assert p.returncode == 0, p.stderr
    m = onnx.load(out)
    assert not [n for n in m.graph.node if n.op_type == "Round"], "a quantizer is left"
    src = {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}
    conv = next(n for n in m.graph.node if n.name == "/conv2/Conv")
    _, _, (wt, _, _, _) = quant_of(m, conv.input[1])
    want = np.clip(src["conv2.weight"], -1, 1)  # WRPN's weights, before their rounding
    assert np.allclose(wt, want, rtol=1e-6, atol=1e-7), float(np.abs(wt - want).max())


def case_fmnist_w8a8(exe, tmp):
    """Real test set: calibrated w8a8 within 1 point of fp32, fp32 equal to PyTorch's."""
    if not os.path.isdir(FMNIST_DATA):
        raise Skip("Debian's dataset-fashion-mnist is not installed (tools/setup.sh)")
    path = os.path.join(FMNIST, "fmnist_fp32.onnx")
    torch_acc = json.load(open(os.path.join(FMNIST, "fmnist_fp32.json")))["test_accuracy"]
    out = os.path.join(tmp, "rep")
    p = wrpnc(exe, "compare", path, "--variants", "fp32, w8a8", "--report", out,
              "--input-shape", "image=1x1x28x28", "--dataset", FMNIST_DATA, "--calibrate",
              FMNIST_DATA, "--reps", "3", "-j", "2")
    assert p.returncode == 0, p.stderr
    js = json.load(open(os.path.join(out, "report.json")))
    v = {x["variant"]: x for x in js["variants"]}
    f, q = v["fp32"], v["w8a8"]
    assert js["examples"] == 10000 and js["labels"], js
    assert abs(f["accuracy"] - torch_acc) < 1e-9, (f["accuracy"], torch_acc)
    assert q["quant"] == "calibrated" and q["int_layers"] == 2 and q["calib_examples"] == 512, q
    assert abs(q["accuracy"] - f["accuracy"]) <= 0.01, (q["accuracy"], f["accuracy"])
    print("  fp32 %.2f %%, calibrated w8a8 %.2f %% (10,000 test images)"
          % (100 * f["accuracy"], 100 * q["accuracy"]))


CASES = [("qonnx_graph", case_qonnx_graph), ("matches_onnxruntime", case_matches_onnxruntime),
         ("percentile", case_percentile), ("requantize", case_requantize),
         ("fmnist_w8a8", case_fmnist_w8a8)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("-k", default="")
    a = ap.parse_args()
    npass = nfail = nskip = 0
    for name, fn in CASES:
        if a.k not in name:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            try:
                fn(os.path.abspath(a.wrpnc), tmp)
                npass += 1
                print("PASS %s" % name)
            except Skip as e:
                nskip += 1
                print("SKIP %s: %s" % (name, e))
            except Exception:
                nfail += 1
                print("FAIL %s\n%s" % (name, traceback.format_exc()))
            sys.stdout.flush()
    print("%d passed, %d failed, %d skipped" % (npass, nfail, nskip))
    return 1 if nfail or not npass else 0


if __name__ == "__main__":
    sys.exit(main())
