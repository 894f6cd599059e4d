#!/usr/bin/env python3
"""Recurrent layers end to end, compared with ONNX Runtime (rtol = atol = 1e-4).

  kws       a keyword spotter exported by PyTorch (random weights, TorchScript
            exporter): MFCC-like input 1x49x10 -> 2-layer LSTM(64) -> Linear -> 12
  gru       a 2-layer bidirectional GRU(32) exported by PyTorch: 1x20x8 -> Linear -> 5
  variants  one model of LSTM, GRU and RNN nodes made with onnx.helper: every
            direction, activation lists with alpha and beta (given, and left to
            their defaults), clip, input_forget, peepholes, linear_before_reset 0
            and 1, sequence_lens at run time (an element with no step, others cut
            short), initial states, batch 1 (the GEMV recurrent product) and 5 (the
            GEMM one), constant and run-time weights, layout 1. ONNX Runtime's CPU
            kernels refuse layout 1, so those nodes are compared with ONNX Runtime
            running the same layer in layout 0 between Transposes.

Every model runs with the generated C on every target: generic, avx2, avx512 (emulated
through SIMDe where the CPU lacks AVX-512) and neon (under qemu-user), each labelled
with how it ran, a target this machine cannot run reported as not run (the C built with -Wall -Wextra -Wpedantic
-Wshadow -Wconversion -Wdouble-promotion -Werror) and with the reference
interpreter. The
keyword spotter is also written back by `wrpnc widen --width 1`: ONNX Runtime must
run that file (no trace of the kernels' scratch output) to the same result.

  test_rnn.py --wrpnc build/wrpnc [--models kws,gru,variants]
"""
import argparse
import inspect
import os
import sys
import warnings

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from e2e_util import Tally, ort_run, run, scratch, verify_everywhere, write_dataset

OPSET = 14
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def torch_export(model, x, path):
    import torch
    kw = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    warnings.filterwarnings("ignore")
    torch.onnx.export(model, (x,), path, opset_version=OPSET, input_names=["x"],
                      output_names=["logits"], **kw)


def kws(torch):
    nn = torch.nn

    class KWS(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(10, 64, num_layers=2, batch_first=True)
            self.fc = nn.Linear(64, 12)

        def forward(self, x):
            y, _ = self.lstm(x)
            return self.fc(y[:, -1])

    return KWS(), (1, 49, 10)


def gru(torch):
    nn = torch.nn

    class BiGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(8, 32, num_layers=2, batch_first=True, bidirectional=True)
            self.fc = nn.Linear(64, 5)

        def forward(self, x):
            y, _ = self.gru(x)
            return self.fc(y[:, -1])

    return BiGRU(), (1, 20, 8)


def torch_case(make, d):
    """Exports a PyTorch model; its ONNX Runtime output as test data."""
    import torch
    torch.manual_seed(0)
    model, shape = make(torch)
    model.eval()
    path = os.path.join(d, "model.onnx")
    torch_export(model, torch.randn(*shape), path)
    x = np.random.RandomState(1).standard_normal(shape).astype(np.float32)
    (y,) = ort_run(path, {"x": x})
    write_dataset(os.path.join(d, "test_data_set_0"), [("x", x)], [("logits", y)])
    return path


# ---- the variants model ----

# name, op, T, B, I, H, attributes, extra inputs, sequence lengths.
# Extras: B (bias), h0, c0, P (peepholes), len (sequence_lens), rt (W, R at run time).
VARIANTS = [
    ("lstm_fwd_b1", "LSTM", 6, 1, 5, 8, {}, "B", None),
    ("lstm_rev_peep_b5", "LSTM", 5, 5, 4, 6, {"direction": "reverse"}, "B h0 c0 P", None),
    ("lstm_bidi_acts", "LSTM", 4, 2, 3, 5,
     {"direction": "bidirectional", "clip": 2.5,
      "activations": ["HardSigmoid", "Softsign", "Elu", "Sigmoid", "Tanh", "Affine"],
      "activation_alpha": [0.3, 0.8, 1.2], "activation_beta": [0.4, 0.05]}, "B", None),
    ("lstm_forget_len", "LSTM", 6, 4, 3, 4, {"direction": "bidirectional", "input_forget": 1},
     "B h0 len", [6, 2, 0, 5]),
    ("lstm_runtime_w", "LSTM", 4, 3, 3, 4, {}, "B h0 rt", None),
    ("lstm_layout1", "LSTM", 5, 2, 3, 4, {"direction": "bidirectional", "layout": 1},
     "B h0 c0 P", None),
    ("gru_bidi_b1", "GRU", 5, 1, 4, 6, {"direction": "bidirectional"}, "B h0", None),
    ("gru_lbr_rev_len", "GRU", 6, 3, 3, 5,
     {"direction": "reverse", "linear_before_reset": 1, "clip": 3.0,
      "activations": ["LeakyRelu", "ScaledTanh"], "activation_alpha": [0.2, 1.5],
      "activation_beta": [0.7]}, "B len", [6, 3, 1]),
    ("gru_default_alphas", "GRU", 4, 2, 3, 4, {"activations": ["HardSigmoid", "Elu"]}, "B", None),
    ("gru_layout1_b5", "GRU", 4, 5, 3, 4, {"layout": 1, "linear_before_reset": 1}, "B h0", None),
    ("gru_runtime_w", "GRU", 4, 2, 3, 4, {"direction": "bidirectional"}, "B rt", None),
    ("rnn_relu_bidi", "RNN", 5, 2, 3, 4,
     {"direction": "bidirectional", "activations": ["Relu", "ThresholdedRelu"],
      "activation_alpha": [0.1]}, "B", None),
    ("rnn_softplus_rev", "RNN", 5, 1, 3, 4, {"direction": "reverse", "activations": ["Softplus"]},
     "B h0 len", [3]),
    ("rnn_affine_rt_b5", "RNN", 4, 5, 3, 4,
     {"activations": ["Affine"], "activation_alpha": [0.5], "activation_beta": [0.1]}, "B rt",
     None),
    ("rnn_layout1", "RNN", 4, 3, 2, 3, {"layout": 1}, "B h0", None),
]


def variant_values(v, rs):
    """Operand name -> array for one variant (X and the extras), layout as declared."""
    name, op, T, B, I, H, attrs, extra, lens = v
    D = 2 if attrs.get("direction") == "bidirectional" else 1
    G, lay = GATES[op], attrs.get("layout", 0)
    extra = extra.split()

    def w(*shape):
        return (rs.standard_normal(shape) * 0.5).astype(np.float32)

    vals = {"X": w(B, T, I) if lay else w(T, B, I), "W": w(D, G * H, I), "R": w(D, G * H, H)}
    if "B" in extra:
        vals["B"] = w(D, 2 * G * H)
    if "len" in extra:
        vals["len"] = np.array(lens, np.int32)
    for s in ("h0", "c0"):
        if s in extra:
            vals[s] = w(B, D, H) if lay else w(D, B, H)
    if "P" in extra:
        vals["P"] = w(D, 3 * H)
    return vals


def variant_nodes(v, ort_form):
    """The variant's node; in ort_form, a layout-1 node as layout 0 between Transposes."""
    name, op, T, B, I, H, attrs, extra, lens = v
    slots = ["X", "W", "R", "B", "len", "h0", "c0", "P"][:8 if op == "LSTM" else 6]
    ins = [f"{name}.{s}" if s in ("X", "W", "R") or s in extra.split() else "" for s in slots]
    while not ins[-1]:
        ins.pop()
    outs = [f"{name}.{o}" for o in ["Y", "Y_h", "Y_c"][:3 if op == "LSTM" else 2]]
    a = dict(attrs, hidden_size=H)
    if not (ort_form and a.get("layout")):
        return [helper.make_node(op, ins, outs, name=name, **a)]
    a["layout"] = 0
    nodes, tin, tout = [], list(ins), [o + ".t" for o in outs]
    for k, s in ((0, [1, 0, 2]), (5, [1, 0, 2]), (6, [1, 0, 2])):
        if k < len(ins) and ins[k]:
            tin[k] = ins[k] + ".t"
            nodes.append(helper.make_node("Transpose", [ins[k]], [tin[k]], perm=s))
    nodes.append(helper.make_node(op, tin, tout, name=name, **a))
    for o, t, perm in zip(outs, tout, [[2, 0, 1, 3], [1, 0, 2], [1, 0, 2]]):
        nodes.append(helper.make_node("Transpose", [t], [o], perm=perm))
    return nodes


def variants_model(ort_form):
    rs = np.random.RandomState(2)
    nodes, inputs, inits, outputs, feeds = [], [], [], [], {}
    for v in VARIANTS:
        name, op, extra = v[0], v[1], v[7].split()
        nodes += variant_nodes(v, ort_form)
        for k, a in variant_values(v, rs).items():
            full = f"{name}.{k}"
            runtime = k in ("X", "len") or (k in ("W", "R") and "rt" in extra)
            if runtime:
                dt = TensorProto.INT32 if k == "len" else TensorProto.FLOAT
                inputs.append(helper.make_tensor_value_info(full, dt, list(a.shape)))
                feeds[full] = a
            else:
                inits.append(numpy_helper.from_array(a, full))
        for o in ["Y", "Y_h", "Y_c"][:3 if op == "LSTM" else 2]:
            outputs.append(helper.make_tensor_value_info(f"{name}.{o}", TensorProto.FLOAT, None))
    g = helper.make_graph(nodes, "rnn_variants", inputs, outputs, inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)]), feeds


def variants_case(d):
    model, feeds = variants_model(False)
    ref, _ = variants_model(True)
    ys = ort_run(ref, feeds)
    path = os.path.join(d, "model.onnx")
    onnx.save(model, path)
    write_dataset(os.path.join(d, "test_data_set_0"), list(feeds.items()),
                  [(o.name, y) for o, y in zip(model.graph.output, ys)])
    return path


def check_saved(wrpnc, model, d, tally):
    """wrpnc widen --width 1 writes the model back; ONNX Runtime runs it alike."""
    out = os.path.join(d, "saved.onnx")
    try:
        run([wrpnc, "widen", model, "-o", out, "--width", "1"])
        onnx.checker.check_model(onnx.load(out))
        data = os.path.join(d, "test_data_set_0")
        x = numpy_helper.to_array(onnx.load_tensor(os.path.join(data, "input_0.pb")))
        want = numpy_helper.to_array(onnx.load_tensor(os.path.join(data, "output_0.pb")))
        (got,) = ort_run(out, {"x": x})
        tally.check(np.allclose(got, want, rtol=1e-5, atol=1e-6), "kws written back by widen")
    except Exception as e:
        tally.error(f"kws written back by widen: {e}")


CASES = {"kws": lambda d: torch_case(kws, d), "gru": lambda d: torch_case(gru, d),
         "variants": variants_case}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--models", default=",".join(CASES))
    a = ap.parse_args()
    wrpnc = os.path.abspath(a.wrpnc)
    tally = Tally()
    with scratch("wrpnc_rnn_") as tmp:
        for name in a.models.split(","):
            d = os.path.join(tmp, name)
            os.makedirs(d)
            try:
                model = CASES[name](d)
            except Exception as e:  # an export or ONNX Runtime failure fails the case
                tally.error(f"{name}: {e}")
                continue
            verify_everywhere(wrpnc, tally, name, model, os.path.join(d, "test_data_set_0"))
            if name == "kws":
                check_saved(wrpnc, model, d, tally)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
