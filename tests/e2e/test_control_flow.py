#!/usr/bin/env python3
"""Loop, Scan and If end to end, compared with ONNX Runtime (rtol = atol = 1e-4).

  torch_loop  a recurrence written as a Python for-loop, scripted and exported by
              PyTorch (TorchScript exporter): an ONNX Loop whose trip count comes
              from the input's shape; 1x12x10 -> tanh cell (16) -> Linear -> 12
  loop        Loop of 70 iterations (its scan output is stacked by more than one
              Concat) with two loop-carried values, a body initializer, values of
              the enclosing graph, and an If inside the body whose condition
              depends on the iteration number (a constant per iteration) and whose
              branches read values of the body
  scan        Scan (opset 16) over two inputs, one along axis 1 backwards, two
              states, one output stacked along axis 1 in reverse order
  unsorted    a Loop listed before the node computing a value its body reads
  if          two Ifs on conditions given at run time (one true, one false): both
              branches are built and the outputs selected; and an If on a constant
              condition whose other branch gives another shape (which only a
              constant condition allows)

Each runs with the generated C on every target: generic, avx2, avx512 (emulated
through SIMDe where the CPU lacks AVX-512) and neon (under qemu-user), each labelled
with how it ran, a target this machine cannot run reported as not run (the C built with -Wall -Wextra -Wpedantic -Wshadow
-Wconversion -Wdouble-promotion -Werror) and with the reference interpreter. Then models that
cannot compile must fail with a clear message and exit code 1: a loop whose
condition is computed, branches of different shapes under a run-time condition,
an unsupported operator inside a body, a loop too long to unroll.

  test_control_flow.py --wrpnc build/wrpnc
"""
import argparse
import inspect
import os
import subprocess
import sys
import warnings

import numpy as np
import onnx
from onnx import TensorProto as TP, helper, numpy_helper

from e2e_util import Tally, ort_run, scratch, verify_everywhere, write_dataset

OPSET = 16
F = TP.FLOAT


def vi(name, dtype=F, shape=None):
    return helper.make_tensor_value_info(name, dtype, shape)


def const(name, a):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(a),
                                                                                    name))


def model(nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)])


# ---- models ----

class Cell:
    """The recurrence torch_loop scripts (defined at module level: TorchScript
    reads the source)."""

    @staticmethod
    def make(torch):
        nn = torch.nn

        class Recurrent(nn.Module):
            def __init__(self):
                super().__init__()
                self.inp = nn.Linear(10, 16)
                self.rec = nn.Linear(16, 16, bias=False)
                self.out = nn.Linear(16, 12)

            def forward(self, x):
                h = torch.zeros(x.size(0), 16)
                for t in range(x.size(1)):
                    h = torch.tanh(self.inp(x[:, t]) + self.rec(h))
                return self.out(h)

        return Recurrent()


def torch_loop(d):
    import torch
    torch.manual_seed(0)
    m = torch.jit.script(Cell.make(torch).eval())
    path = os.path.join(d, "model.onnx")
    kw = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    warnings.filterwarnings("ignore")
    torch.onnx.export(m, (torch.randn(1, 12, 10),), path, opset_version=13, input_names=["x"],
                      output_names=["logits"], **kw)
    if not any(n.op_type == "Loop" for n in onnx.load(path).graph.node):
        raise RuntimeError("the export has no Loop")
    x = np.random.RandomState(1).standard_normal((1, 12, 10)).astype(np.float32)
    return path, {"x": x}


def if_body(name, out, nodes):
    return helper.make_graph(nodes, name, [], [vi(out)])


def loop_model():
    """h, s carried; scan output h * scale each step; If(i < 2) inside the body."""
    rs = np.random.RandomState(3)
    w = (rs.standard_normal(4) * 0.9).astype(np.float32)
    then_b = if_body("then", "t_out", [helper.make_node("Add", ["hw", "x"], ["t_out"])])
    else_b = if_body("else", "e_out", [helper.make_node("Mul", ["hw", "k"], ["e_out"])])
    body = helper.make_graph(
        [helper.make_node("Mul", ["h_in", "w"], ["hw0"]),
         helper.make_node("Tanh", ["hw0"], ["hw"]),
         const("two", np.int64(2)),
         helper.make_node("Less", ["i", "two"], ["early"]),
         helper.make_node("If", ["early"], ["h_out"], then_branch=then_b, else_branch=else_b),
         helper.make_node("Add", ["s_in", "h_out"], ["s_out"]),
         helper.make_node("Mul", ["h_out", "scale"], ["y_t"]),
         helper.make_node("Identity", ["c_in"], ["c_out"])],
        "body", [vi("i", TP.INT64, []), vi("c_in", TP.BOOL, []), vi("h_in"), vi("s_in")],
        [vi("c_out", TP.BOOL, []), vi("h_out"), vi("s_out"), vi("y_t")],
        [numpy_helper.from_array(np.float32(0.9), "k")])
    m = model([const("M", np.int64(70)), const("cond", np.bool_(True)),
               helper.make_node("Loop", ["M", "cond", "h0", "s0"], ["h", "s", "ys"], body=body)],
              [vi("h0", F, [1, 4]), vi("s0", F, [1, 4]), vi("x", F, [1, 4])],
              [vi("h"), vi("s"), vi("ys")],
              [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.float32(0.5), "scale")])
    rs = np.random.RandomState(4)
    feeds = {k: rs.standard_normal((1, 4)).astype(np.float32) for k in ("h0", "s0", "x")}
    return m, feeds


def scan_model():
    body = helper.make_graph(
        [helper.make_node("Mul", ["a_t", "b_t"], ["ab"]),
         helper.make_node("Add", ["acc_in", "ab"], ["acc_out"]),
         helper.make_node("Max", ["mx_in", "a_t"], ["mx_out"]),
         helper.make_node("Sub", ["acc_out", "mx_out"], ["y_t"])],
        "body", [vi("acc_in", F, [3]), vi("mx_in", F, [3]), vi("a_t", F, [3]), vi("b_t", F, [3])],
        [vi("acc_out", F, [3]), vi("mx_out", F, [3]), vi("y_t", F, [3])])
    node = helper.make_node("Scan", ["acc0", "mx0", "a", "b"], ["acc", "mx", "y"], body=body,
                            num_scan_inputs=2, scan_input_axes=[1, 0],
                            scan_input_directions=[1, 0], scan_output_axes=[1],
                            scan_output_directions=[1])
    m = model([node], [vi("acc0", F, [3]), vi("mx0", F, [3]), vi("a", F, [3, 6]),
                       vi("b", F, [6, 3])], [vi("acc"), vi("mx"), vi("y")])
    rs = np.random.RandomState(5)
    feeds = {"acc0": rs.standard_normal(3), "mx0": rs.standard_normal(3),
             "a": rs.standard_normal((3, 6)), "b": rs.standard_normal((6, 3))}
    return m, {k: v.astype(np.float32) for k, v in feeds.items()}


def if_model():
    def branch(name, op, out):
        return if_body(name, out, [helper.make_node(op, ["x", "x"], [out])])

    bad = if_body("bad", "bad_out", [helper.make_node("Concat", ["x", "x"], ["bad_out"], axis=0)])
    nodes = [helper.make_node("If", [c], [o], then_branch=branch(f"t{c}", "Add", f"ta{c}"),
                              else_branch=branch(f"e{c}", "Mul", f"eb{c}"))
             for c, o in (("ca", "ya"), ("cb", "yb"))]
    nodes += [const("k", np.bool_(False)),
              helper.make_node("If", ["k"], ["yc"], then_branch=bad,
                               else_branch=branch("ek", "Sub", "ek_out"))]
    m = model(nodes, [vi("ca", TP.BOOL, []), vi("cb", TP.BOOL, []), vi("x", F, [2, 3])],
              [vi("ya"), vi("yb"), vi("yc")])
    x = np.random.RandomState(6).standard_normal((2, 3)).astype(np.float32)
    return m, {"ca": np.array(True), "cb": np.array(False), "x": x}


def unsorted_model():
    """A Loop listed before the node computing a value its body reads (ONNX
    Runtime sorts such graphs; so must the loader, by implicit inputs)."""
    body = helper.make_graph([helper.make_node("Add", ["v_in", "k"], ["v_out"]),
                              helper.make_node("Identity", ["c"], ["c_out"])], "body",
                             [vi("i", TP.INT64, []), vi("c", TP.BOOL, []), vi("v_in", F, [2])],
                             [vi("c_out", TP.BOOL, []), vi("v_out", F, [2])])
    m = model([const("M", np.int64(3)), helper.make_node("Loop", ["M", "", "x"], ["y"], body=body),
               helper.make_node("Neg", ["x"], ["k"])], [vi("x", F, [2])], [vi("y")])
    return m, {"x": np.array([1.0, 2.0], np.float32)}


def helper_case(make):
    def case(d):
        m, feeds = make()
        path = os.path.join(d, "model.onnx")
        onnx.save(m, path)
        return path, feeds
    return case


CASES = {"torch_loop": torch_loop, "loop": helper_case(loop_model),
         "scan": helper_case(scan_model), "if": helper_case(if_model),
         "unsorted": helper_case(unsorted_model)}


# ---- models that must be refused ----

def refused():
    """(name, model, text the error must contain)."""
    out = []
    body = helper.make_graph(
        [helper.make_node("Less", ["v_in", "lim"], ["c_out"]),
         helper.make_node("Add", ["v_in", "one"], ["v_out"])],
        "body", [vi("i", TP.INT64, []), vi("c", TP.BOOL, []), vi("v_in", F, [])],
        [vi("c_out", TP.BOOL, []), vi("v_out", F, [])],
        [numpy_helper.from_array(np.float32(1), "one"),
         numpy_helper.from_array(np.float32(5), "lim")])
    for name, M, want in (("computed_condition", 10, "condition output 'c_out' is computed"),):
        out.append((name, model([const("M", np.int64(M)), const("c", np.bool_(True)),
                                 helper.make_node("Loop", ["M", "c", "v0"], ["v"], body=body)],
                                [vi("v0", F, [])], [vi("v")]), want))
    idle = helper.make_graph([helper.make_node("Identity", ["c"], ["c_out"]),
                              helper.make_node("Neg", ["v_in"], ["v_out"])], "idle",
                             [vi("i", TP.INT64, []), vi("c", TP.BOOL, []), vi("v_in", F, [])],
                             [vi("c_out", TP.BOOL, []), vi("v_out", F, [])])
    out.append(("too_long", model([const("M", np.int64(10 ** 12)),
                                   helper.make_node("Loop", ["M", "", "v0"], ["v"], body=idle)],
                                  [vi("v0", F, [])], [vi("v")]), "takes the graph past"))
    strange = helper.make_graph([helper.make_node("Identity", ["c"], ["c_out"]),
                                 helper.make_node("NoSuchOp", ["v_in"], ["v_out"])], "odd",
                                [vi("i", TP.INT64, []), vi("c", TP.BOOL, []), vi("v_in", F, [])],
                                [vi("c_out", TP.BOOL, []), vi("v_out", F, [])])
    out.append(("unsupported_in_body",
                model([const("M", np.int64(3)),
                       helper.make_node("Loop", ["M", "", "v0"], ["v"], body=strange)],
                      [vi("v0", F, [])], [vi("v")]), "(NoSuchOp) in subgraph 'odd'"))
    two = if_body("two", "two_out", [helper.make_node("Concat", ["x", "x"], ["two_out"], axis=0)])
    one = if_body("one", "one_out", [helper.make_node("Neg", ["x"], ["one_out"])])
    out.append(("branch_shapes", model([helper.make_node("If", ["c"], ["y"], then_branch=two,
                                                        else_branch=one)],
                                       [vi("c", TP.BOOL, []), vi("x", F, [2])], [vi("y")]),
                "must give the same type and shape"))
    return out


def check_refused(wrpnc, tally, d):
    for name, m, want in refused():
        path = os.path.join(d, f"refused_{name}.onnx")
        onnx.save(m, path)
        r = subprocess.run([wrpnc, "compile", path, "-o", os.path.join(d, "out_" + name)],
                           capture_output=True, text=True)
        ok = r.returncode == 1 and want in r.stderr and path in r.stderr
        tally.check(ok, f"refused {name}" + ("" if ok else f": exit {r.returncode}, "
                                             f"{r.stderr.strip()[-300:]}"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--models", default=",".join(CASES))
    a = ap.parse_args()
    wrpnc = os.path.abspath(a.wrpnc)
    tally = Tally()
    with scratch("wrpnc_cf_") as tmp:
        for name in a.models.split(","):
            d = os.path.join(tmp, name)
            os.makedirs(d)
            try:
                path, feeds = CASES[name](d)
                ys = ort_run(path, feeds)
                outs = [o.name for o in onnx.load(path).graph.output]
                data = os.path.join(d, "test_data_set_0")
                write_dataset(data, list(feeds.items()), list(zip(outs, ys)))
            except Exception as e:  # an export or ONNX Runtime failure fails the case
                tally.error(f"{name}: {e}")
                continue
            verify_everywhere(wrpnc, tally, name, path, data)
        check_refused(wrpnc, tally, tmp)
    return tally.finish()


if __name__ == "__main__":
    sys.exit(main())
