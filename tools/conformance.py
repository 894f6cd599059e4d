#!/usr/bin/env python3
r"""Writes docs/conformance.md from the output of tests/onnx/node_tests.py over
all node test cases (no --filter, no --shard).

  .venv/bin/python tests/onnx/node_tests.py --wrpnc build/wrpnc --data build/onnx-node -j 2 \
      > node.log
  python3 tools/conformance.py node.log [--before before.log] > docs/conformance.md

The pass rate is over ALL cases except the excluded categories (training
operators, string / sequence / optional / map values, random generators):
cases with an unsupported operator count as not passing. --before adds the
same figures for an earlier run (another wrpnc binary) for comparison.
"""
import argparse
import collections
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def known_failures():
    known = {}
    for line in open(os.path.join(ROOT, "tests", "onnx", "known_failures.txt")):
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, why = line.partition(":")
            known[name.strip()] = why.strip()
    return known


def parse(path):
    """Per case: (status, detail); status PASS, FAIL, XFAIL, SKIP or EXCL."""
    res = {}
    for line in open(path):
        m = re.match(r"(PASS|FAIL|XFAIL|SKIP|EXCL)\s+(\S+?):?(\s|$)(.*)", line.rstrip("\n"))
        if m:
            res[m.group(2)] = (m.group(1), m.group(4).strip())
    return res


def summary(res):
    st = collections.Counter(s for s, _ in res.values())
    counted = len(res) - st["EXCL"]
    return len(res), st["EXCL"], counted, st["PASS"], 100.0 * st["PASS"] / max(counted, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--before", default="")
    a = ap.parse_args()
    res, known = parse(a.log), known_failures()
    total, excl, counted, passed, rate = summary(res)
    w = print
    w("# ONNX backend node tests: conformance\n")
    w("Produced by `tests/onnx/node_tests.py` (cases generated from the installed onnx package")
    w("by `tests/onnx/gen_node_data.py`) and `tools/conformance.py`. Every supported case runs")
    w("with the generated C and with the reference interpreter; a case passes when both match")
    w("the expected outputs within the case's own tolerance.\n")
    w("    .venv/bin/python tests/onnx/node_tests.py --wrpnc build/wrpnc \\")
    w("        --data build/onnx-node -j 2 > node.log")
    w("    python3 tools/conformance.py node.log > docs/conformance.md\n")
    w(f"- all node test cases: {total}; excluded: {excl}; counted: {counted}")
    w(f"- passing: **{passed} of {counted} ({rate:.1f} %)**; a case with an operator wrpnc")
    w("  does not support counts as not passing")
    if a.before:
        b = summary(parse(a.before))
        w(f"- before (the same runner and exclusions, an earlier wrpnc): {b[3]} of {b[2]} "
          f"({b[4]:.1f} %)")
    w("- Narrow floats (float16, bfloat16, float8, float4) compute in float32 between Casts")
    w("  (ir/promote.c) and are rounded back to their type after every node.")
    w("- Node tests often feed shapes, axes or sizes as graph inputs; wrpnc needs those at compile")
    w("  time, so such a case is re-run with those inputs made initializers (the runner prints")
    w("  `frozen: NAME`); every other input stays a run-time input. NonZero, Unique and")
    w("  NonMaxSuppression have output shapes that depend on input values: their inputs are")
    w("  frozen, and the results are computed at compile time. A Loop's trip count computed")
    w("  from graph inputs (Range's expansion) freezes those inputs the same way.")
    w("- Loop, Scan and If are expanded into plain nodes at compile time; LSTM, GRU and RNN")
    w("  take their step count from X's shape and sequence_lens at run time.\n")
    w("## Excluded cases\n\n| category | cases |\n|---|---|")
    for why, n in collections.Counter(d for s, d in res.values() if s == "EXCL").most_common():
        w(f"| {why} | {n} |")
    w("\n## Cases not passing, by reason\n\n| reason | cases |\n|---|---|")
    reasons = collections.Counter()
    for c, (s, d) in res.items():
        if s in ("FAIL", "XFAIL"):
            reasons[known.get(c, "unexplained: " + d)] += 1
    ops = collections.Counter()
    for s, d in res.values():
        if s == "SKIP":
            ops[d.replace("unsupported: ", "")] += 1
    for r, n in reasons.most_common():
        w(f"| {r} | {n} |")
    for o, n in ops.most_common():
        w(f"| operator not supported: {o} | {n} |")
    w("\n## Every failing case\n\n| case | reason |\n|---|---|")
    for c in sorted(c for c, (s, _) in res.items() if s in ("FAIL", "XFAIL")):
        w(f"| {c} | {known.get(c, 'unexplained: ' + res[c][1])} |")


if __name__ == "__main__":
    main()
