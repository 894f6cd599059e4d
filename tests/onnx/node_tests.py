#!/usr/bin/env python3
"""ONNX backend node tests (defined in the onnx package) run through wrpnc.

Every test case whose operators wrpnc supports runs as `wrpnc verify` on each
of its test_data_set_* folders, with the generated C (engine c) and with the
reference interpreter (engine interp). Cases listed in known_failures.txt are
expected to fail (with the reason written there); any other failure fails the
run. Cases using training operators, string or sequence/optional/map values
or random generators are excluded from the count (EXCL lines); cases with an
unsupported operator are skipped (SKIP lines, with the operators) but count
against the pass rate. Prints one line per case, the pass rate over all
counted cases, then "N passed, N failed, N skipped".

  node_tests.py --wrpnc build/wrpnc --data DIR [--shard I/N] [--filter REGEX] [--table FILE]

DIR is written by gen_node_data.py (run first, by the ctest fixture).

wrpnc needs data-dependent inputs (Reshape's shape, Slice's starts, Pad's
pads...) to be constants at compile time. Node tests often feed them as graph
inputs; when wrpnc reports such an input, the case is retried with that graph
input turned into an initializer holding the test data's value (the case line
says "frozen: NAME"). When the constant wrpnc needs is computed inside the
graph, all integer graph inputs (sizes, axes, shapes) are frozen together, and
if that is not enough, the graph inputs it is computed from.
Every other input is still fed at run time.
"""
import argparse
import concurrent.futures as cf
import os
import re
import shutil
import subprocess
import sys
import tempfile

import onnx

HERE = os.path.dirname(os.path.abspath(__file__))


def supported_ops(wrpnc):
    out = subprocess.run([wrpnc, "ops"], capture_output=True, text=True, check=True).stdout
    return set(line.strip() for line in out.splitlines() if line.strip())


def all_tensors(m):
    vals = list(m.graph.input) + list(m.graph.output)
    return all(v.type.HasField("tensor_type") for v in vals)


def graph_nodes(g):
    """The nodes of g and of every subgraph (Loop, Scan and If bodies) in it."""
    for n in g.node:
        yield n
        for a in n.attribute:
            for sub in ([a.g] if a.type == onnx.AttributeProto.GRAPH else []) + list(a.graphs):
                yield from graph_nodes(sub)


def model_ops(path):
    m = onnx.load(path, load_external_data=False)
    if not all_tensors(m):
        return {"<non-tensor values>"}
    local = {(f.domain, f.name) for f in m.functions}
    ops = set()
    for n in graph_nodes(m.graph):
        if (n.domain, n.op_type) in local:
            for f in m.functions:
                if (f.domain, f.name) == (n.domain, n.op_type):
                    ops |= {(x.domain or "") + ("::" if x.domain else "") + x.op_type for x in f.node}
        else:
            ops.add((n.domain or "") + ("::" if n.domain and n.domain != "ai.onnx" else "") + n.op_type
                    if n.domain not in ("", "ai.onnx") else n.op_type)
    return ops


# Cases outside the acceptance count (docs/conformance.md): training operators,
# string and sequence/optional/map values, random generators.
TRAINING_OPS = {"NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"}
RANDOM_OPS = {"Bernoulli", "RandomUniform", "RandomUniformLike", "RandomNormal",
              "RandomNormalLike", "Multinomial"}


def random_dropout(d, m):
    """A Dropout in training mode with a nonzero ratio (data set 0's values)."""
    names = [v.name for v in m.graph.input]
    inits = {t.name: t for t in m.graph.initializer}

    def value(name, default):
        if not name:
            return default
        if name in inits:
            return onnx.numpy_helper.to_array(inits[name]).item()
        if name in names:
            t = onnx.TensorProto()
            path = os.path.join(d, "test_data_set_0", f"input_{names.index(name)}.pb")
            t.ParseFromString(open(path, "rb").read())
            return onnx.numpy_helper.to_array(t).item()
        return None  # computed inside the graph: not known here

    for n in m.graph.node:
        if n.op_type == "Dropout" and len(n.input) > 2:
            ratio = value(n.input[1] if len(n.input) > 1 else "", 0.5)
            if value(n.input[2], False) and ratio != 0:
                return True
    return False


def exclusion(d, ops):
    """The excluded category of case folder d needing ops, or None."""
    m = onnx.load(os.path.join(d, "model.onnx"), load_external_data=False)
    if ops & TRAINING_OPS or any(o.startswith("ai.onnx.preview.training::") for o in ops):
        return "training operators (optimizers, losses)"
    if "<non-tensor values>" in ops or os.path.exists(os.path.join(d, "not_tensor")):
        return "sequence, optional or map values"
    vals = list(m.graph.input) + list(m.graph.output)
    if any(v.type.tensor_type.elem_type == onnx.TensorProto.STRING for v in vals):
        return "string tensors"
    if ops & RANDOM_OPS or random_dropout(d, m):
        return "random generators"
    return None


def load_known():
    known = {}
    path = os.path.join(HERE, "known_failures.txt")
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, why = line.partition(":")
                known[name.strip()] = why.strip()
    return known


CONST_INPUT = re.compile(r"input \d+ \('([^']+)'\) must be a constant")


def freeze(d, s, names, tmp):
    """Writes tmp/model.onnx and tmp/data with graph inputs `names` made
    initializers from data set s; returns (model, dataset) paths."""
    m = onnx.load(os.path.join(d, "model.onnx"))
    keep = []
    for j, v in enumerate(m.graph.input):
        if v.name in names:
            t = onnx.TensorProto()
            t.ParseFromString(open(os.path.join(d, s, f"input_{j}.pb"), "rb").read())
            t.name = v.name
            m.graph.initializer.append(t)
        else:
            keep.append((j, v))
    del m.graph.input[:]
    m.graph.input.extend(v for _, v in keep)
    ds = os.path.join(tmp, "data")
    os.makedirs(ds, exist_ok=True)
    for k, (j, _) in enumerate(keep):
        shutil.copy(os.path.join(d, s, f"input_{j}.pb"), os.path.join(ds, f"input_{k}.pb"))
    for f in os.listdir(os.path.join(d, s)):
        if f.startswith("output_"):
            shutil.copy(os.path.join(d, s, f), os.path.join(ds, f))
    onnx.save(m, os.path.join(tmp, "model.onnx"))
    return os.path.join(tmp, "model.onnx"), ds


def ancestors(graph, name):
    """The graph inputs the value `name` is computed from."""
    producer = {o: n for n in graph.node for o in n.output}
    inputs = {v.name for v in graph.input}
    seen, todo, found = set(), [name], set()
    while todo:
        v = todo.pop()
        if v in seen:
            continue
        seen.add(v)
        if v in inputs:
            found.add(v)
        elif v in producer:
            todo.extend(x for x in producer[v].input if x)
    return found


def verify(wrpnc, d, s, engine, rtol, atol, frozen):
    """Runs wrpnc verify on data set s, freezing inputs wrpnc needs constant."""
    graph = onnx.load(os.path.join(d, "model.onnx"), load_external_data=False).graph
    graph_inputs = graph.input
    inputs = {v.name for v in graph_inputs}
    # Integer graph inputs: sizes, axes, shapes. When wrpnc needs a constant
    # computed from one of them inside the graph, they are frozen together.
    integer = {v.name for v in graph_inputs
               if v.type.tensor_type.elem_type in (2, 3, 4, 5, 6, 7, 9, 12, 13)}
    while True:
        with tempfile.TemporaryDirectory() as tmp:
            model, ds = os.path.join(d, "model.onnx"), os.path.join(d, s)
            if frozen:
                model, ds = freeze(d, s, frozen, tmp)
            cmd = [wrpnc, "verify", model, ds, "--rtol", rtol, "--atol", atol,
                   "--engine", engine, "--cflags=-O1"]
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            except subprocess.TimeoutExpired:
                return False, f"{engine}: timeout"
        m = CONST_INPUT.search(r.stderr)
        if r.returncode != 0 and m and m.group(1) in inputs and m.group(1) not in frozen:
            frozen.add(m.group(1))
            continue
        if r.returncode != 0 and m and m.group(1) not in inputs and not integer <= frozen:
            frozen |= integer
            continue
        # a value computed from other inputs (a Loop's trip count from Range's
        # float start, limit and delta): the inputs it comes from
        source = ancestors(graph, m.group(1)) if r.returncode != 0 and m else set()
        if source and not source <= frozen:
            frozen |= source
            continue
        if r.returncode != 0:
            msg = (r.stderr.strip().splitlines() or r.stdout.strip().splitlines() or ["?"])
            fails = [l for l in r.stdout.splitlines() if "FAIL" in l]
            return False, f"{engine}: " + (fails[0].strip() if fails else msg[-1])
        return True, ""


def run_case(wrpnc, data, case, engines):
    d = os.path.join(data, case)
    sets = sorted(x for x in os.listdir(d) if x.startswith("test_data_set_"))
    # The case's own tolerances, as onnx's backend runner uses them.
    rtol, atol = open(os.path.join(d, "tol.txt")).read().split()
    frozen = set()
    for engine in engines:
        for s in sets:
            ok, why = verify(wrpnc, d, s, engine, rtol, atol, frozen)
            if not ok:
                return False, why
    return True, "frozen: " + ", ".join(sorted(frozen)) if frozen else ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--shard", default="0/1")
    ap.add_argument("--filter", default="")
    ap.add_argument("--table", default="")
    ap.add_argument("--engines", default="c,interp")
    ap.add_argument("-j", type=int, default=2)
    a = ap.parse_args()
    shard, nshard = map(int, a.shard.split("/"))
    ops = supported_ops(a.wrpnc)
    known = load_known()
    cases = sorted(c for c in os.listdir(a.data) if os.path.isdir(os.path.join(a.data, c)))
    cases = [c for i, c in enumerate(cases) if i % nshard == shard and re.search(a.filter, c)]
    todo, skipped, excluded = [], {}, {}
    for c in cases:
        need = model_ops(os.path.join(a.data, c, "model.onnx"))
        tensors_only = not os.path.exists(os.path.join(a.data, c, "not_tensor"))
        why = exclusion(os.path.join(a.data, c), need)
        if why:
            excluded[c] = why
        elif need <= ops and tensors_only:
            todo.append(c)
        else:
            skipped[c] = ", ".join(sorted(need - ops)) or "non-tensor values"
    results = {}
    with cf.ThreadPoolExecutor(a.j) as ex:
        futs = {ex.submit(run_case, a.wrpnc, a.data, c, a.engines.split(",")): c for c in todo}
        for f in cf.as_completed(futs):
            results[futs[f]] = f.result()
    passed = failed = xfail = 0
    for c in sorted(excluded):
        print(f"EXCL  {c}: {excluded[c]}")
    for c in sorted(skipped):
        print(f"SKIP  {c}: unsupported: {skipped[c]}")
    for c in todo:
        ok, why = results[c]
        if ok:
            passed += 1
            print(f"PASS  {c}" + (f"  ({why})" if why else "") +
                  ("  (listed as known failure: remove it)" if c in known else ""))
        elif c in known:
            xfail += 1
            print(f"XFAIL {c}: {known[c]}")
        else:
            failed += 1
            print(f"FAIL  {c}: {why}")
    if a.table:
        with open(a.table, "w") as t:
            t.write("| case | result | reason |\n|---|---|---|\n")
            for c in todo:
                ok, why = results[c]
                if not ok:
                    t.write(f"| {c} | fail | {known.get(c, why)} |\n")
    total = passed + failed + xfail
    rate = 100.0 * passed / total if total else 0.0
    counted = total + len(skipped)
    print(f"supported cases: {total}, passing {passed} ({rate:.1f} %), known failures {xfail}, "
          f"cases with unsupported ops: {len(skipped)}")
    print(f"all cases: {len(cases)}, excluded {len(excluded)}, counted {counted}, passing "
          f"{passed} ({100.0 * passed / counted if counted else 0.0:.1f} %)")
    print(f"{passed} passed, {failed} failed, {len(skipped) + len(excluded)} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
