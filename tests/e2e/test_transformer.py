#!/usr/bin/env python3
"""Transformer models against ONNX Runtime (rtol = atol = 1e-4).

- encoder: torch.nn.TransformerEncoder, 2 layers, d_model 64, 4 heads,
  feed-forward 128 with GELU, sequence 16, batch 1, random weights, exported
  by torch.onnx.export (TorchScript exporter, opset 17): attention as
  MatMul/Softmax, LayerNormalization, Erf.
- vit_block: a ViT-style block written here with ONNX's own transformer
  operators (opset 23): an 8x8 patch-embedding Conv, positional embedding,
  RMSNormalization, Q/K/V projections, RotaryEmbedding on Q and K, Attention
  with 4 query heads over 2 key/value heads (grouped-query), output
  projection, residuals, LayerNormalization, a tanh-approximated Gelu MLP,
  mean pooling and a Gemm classifier.
Each on every target `wrpnc targets` lists: natively, or emulated (avx512 through SIMDe
on a CPU without AVX-512, neon under qemu-user) and labelled so, a target this machine
cannot run at all reported skipped (its code still built warning-free), and the
reference interpreter.

  test_transformer.py --wrpnc build/wrpnc

Prints one line per (model, target), then "N passed, N failed, N skipped".
"""
import argparse
import os
import sys
import warnings

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto as TP, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import exec_engines, Tally, run, scratch  # noqa: E402

TOL = ["--rtol", "1e-4", "--atol", "1e-4"]


def encoder(path):
    import torch
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128,
                                             dropout=0.0, batch_first=True, activation="gelu")
    enc = torch.nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(enc, torch.randn(1, 16, 64), path, opset_version=17,
                          input_names=["x"], output_names=["y"])
    return {"x": np.random.RandomState(1).standard_normal((1, 16, 64)).astype(np.float32)}


def vit_block(path):
    rng = np.random.default_rng(2)
    D, S, H, HKV, F = 64, 16, 4, 2, 128
    hd = D // H

    def w(name, *shape, s=0.1):
        return numpy_helper.from_array((rng.standard_normal(shape) * s).astype(np.float32), name)

    pos = np.arange(S)[:, None] / (10000 ** (np.arange(hd // 2) / (hd // 2)))[None, :]
    inits = [w("Wp", D, 3, 8, 8, s=0.05), w("bp", D), w("pos", S, D, s=0.02), w("g1", D, s=1.0),
             w("Wq", D, D), w("Wk", D, HKV * hd), w("Wv", D, HKV * hd), w("Wo", D, D),
             w("g2", D, s=1.0), w("b2", D), w("W1", D, F), w("c1", F), w("W2", F, D),
             w("c2", D), w("Wh", 10, D), w("bh", 10),
             numpy_helper.from_array(np.cos(pos).astype(np.float32), "cos"),
             numpy_helper.from_array(np.sin(pos).astype(np.float32), "sin"),
             numpy_helper.from_array(np.arange(S, dtype=np.int64)[None, :], "pid"),
             numpy_helper.from_array(np.array([1, D, S], np.int64), "shp"),
             numpy_helper.from_array(np.array([1], np.int64), "ax1")]
    mk = helper.make_node
    nodes = [
        mk("Conv", ["img", "Wp", "bp"], ["pe"], kernel_shape=[8, 8], strides=[8, 8]),
        mk("Reshape", ["pe", "shp"], ["pr"]), mk("Transpose", ["pr"], ["pt"], perm=[0, 2, 1]),
        mk("Add", ["pt", "pos"], ["x0"]),
        mk("RMSNormalization", ["x0", "g1"], ["h1"], epsilon=1e-6),
        mk("MatMul", ["h1", "Wq"], ["q0"]), mk("MatMul", ["h1", "Wk"], ["k0"]),
        mk("MatMul", ["h1", "Wv"], ["v"]),
        mk("RotaryEmbedding", ["q0", "cos", "sin", "pid"], ["q"], num_heads=H),
        mk("RotaryEmbedding", ["k0", "cos", "sin", "pid"], ["k"], num_heads=HKV),
        mk("Attention", ["q", "k", "v"], ["a"], q_num_heads=H, kv_num_heads=HKV),
        mk("MatMul", ["a", "Wo"], ["o"]), mk("Add", ["x0", "o"], ["x1"]),
        mk("LayerNormalization", ["x1", "g2", "b2"], ["h2"], axis=-1),
        mk("MatMul", ["h2", "W1"], ["f0"]), mk("Add", ["f0", "c1"], ["f1"]),
        mk("Gelu", ["f1"], ["f2"], approximate="tanh"), mk("MatMul", ["f2", "W2"], ["f3"]),
        mk("Add", ["f3", "c2"], ["f4"]), mk("Add", ["x1", "f4"], ["tokens"]),
        mk("ReduceMean", ["tokens", "ax1"], ["pool"], keepdims=0),
        mk("Gemm", ["pool", "Wh", "bh"], ["logits"], transB=1)]
    g = helper.make_graph(nodes, "vit_block",
                          [helper.make_tensor_value_info("img", TP.FLOAT, [1, 3, 32, 32])],
                          [helper.make_tensor_value_info("tokens", TP.FLOAT, [1, S, D]),
                           helper.make_tensor_value_info("logits", TP.FLOAT, [1, 10])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 23)])
    onnx.checker.check_model(m)
    onnx.save(m, path)
    return {"img": rng.standard_normal((1, 3, 32, 32)).astype(np.float32)}


def write_data(path, feeds):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    ys = sess.run(None, feeds)
    ds = os.path.join(os.path.dirname(path), "test_data_set_0")
    os.makedirs(ds)
    for i, v in enumerate(sess.get_inputs()):
        onnx.save_tensor(numpy_helper.from_array(feeds[v.name], v.name),
                         os.path.join(ds, f"input_{i}.pb"))
    for i, (v, y) in enumerate(zip(sess.get_outputs(), ys)):
        onnx.save_tensor(numpy_helper.from_array(y, v.name), os.path.join(ds, f"output_{i}.pb"))
    return ds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    t = Tally()
    engs = exec_engines(a.wrpnc)
    with scratch("wrpnc-transformer-") as tmp:
        for name, make in (("encoder", encoder), ("vit_block", vit_block)):
            d = os.path.join(tmp, name)
            os.makedirs(d)
            path = os.path.join(d, "model.onnx")
            ds = write_data(path, make(path))
            for tn, args in engs:
                if args is None:
                    t.skip(f"{name} {tn}: this machine cannot run it")
                    compile_only(t, a.wrpnc, path, tn, tmp)
                    continue
                try:
                    run([a.wrpnc, "verify", path, ds, *TOL, *args,
                         "--cflags=-Wall -Wextra -Wpedantic -Werror"])
                    t.check(True, f"{name} {tn}")
                except RuntimeError as e:
                    lines = [l for l in str(e).splitlines() if "FAIL" in l] or \
                        str(e).strip().splitlines()[-1:]
                    t.check(False, f"{name} {tn}: {lines[0].strip()}")
    return t.finish()


if __name__ == "__main__":
    sys.exit(main())
