#!/usr/bin/env python3
"""Writes docs/conformance.md from the output of tests/onnx/node_tests.py.

  .venv/bin/python tests/onnx/node_tests.py --wrpnc build/wrpnc --data build/onnx-node -j 2 > node.log
  python3 tools/conformance.py node.log > docs/conformance.md
"""
import collections
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(path):
    log = open(path).read().splitlines()
    known = {}
    for line in open(os.path.join(ROOT, "tests", "onnx", "known_failures.txt")):
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, why = line.partition(":")
            known[name.strip()] = why.strip()
    passed = [l.split()[1] for l in log if l.startswith("PASS")]
    unsupported = [int(l.rsplit(":", 1)[1]) for l in log if "cases with unsupported ops:" in l]
    fails = [l.split()[1].rstrip(":") for l in log if l.startswith(("XFAIL", "FAIL "))]
    by = collections.Counter(known.get(c, "unexplained") for c in fails)
    dtype = sum(n for r, n in by.items() if "tensors are not supported" in r)
    total = len(passed) + len(fails)
    w = sys.stdout.write
    w("# ONNX backend node tests: conformance\n\n")
    w("Produced by `tests/onnx/node_tests.py` (cases generated from the installed onnx package by\n"
      "`tests/onnx/gen_node_data.py`) and `tools/conformance.py`. Every case runs with the\n"
      "generated C and with the reference interpreter; a case passes when both match the\n"
      "expected outputs within the case's own tolerance. Regenerate with:\n\n"
      "    .venv/bin/python tests/onnx/node_tests.py --wrpnc build/wrpnc --data build/onnx-node "
      "-j 2 > node.log\n"
      "    python3 tools/conformance.py node.log > docs/conformance.md\n\n")
    w(f"- cases whose operators wrpnc supports: {total}; passing: {len(passed)} "
      f"({100 * len(passed) / total:.1f} %)\n")
    if unsupported:
        everything = total + unsupported[-1]
        w(f"- all node test cases: {everything}; passing: {len(passed)} "
          f"({100 * len(passed) / everything:.1f} %); {unsupported[-1]} use an operator (or a\n"
          "  sequence, map or optional value) wrpnc does not have\n")
    w(f"- {dtype} of the failures use an element type wrpnc does not compute with (string). Of\n"
      f"  the cases whose element types are supported too, {len(passed)} of {total - dtype} pass "
      f"({100 * len(passed) / (total - dtype):.1f} %).\n"
      "- Narrow floats (float16, bfloat16, float8, float4) compute in float32 between Casts\n"
      "  (ir/promote.c) and are rounded back to their type after every node.\n")
    w("- Node tests often feed shapes, axes or sizes as graph inputs; wrpnc needs those at compile\n"
      "  time, so such a case is re-run with those inputs made initializers (the runner prints\n"
      "  `frozen: NAME`); every other input stays a run-time input. A Loop's trip count computed\n"
      "  from graph inputs (Range's expansion) freezes those inputs the same way.\n"
      "- Loop, Scan and If are expanded into plain nodes at compile time; LSTM, GRU and RNN\n"
      "  take their step count from X's shape and sequence_lens at run time.\n\n")
    w("## Failing cases by reason\n\n| reason | cases |\n|---|---|\n")
    for r, n in by.most_common():
        w(f"| {r} | {n} |\n")
    w("\n## Every failing case\n\n| case | reason |\n|---|---|\n")
    for c in sorted(fails):
        w(f"| {c} | {known.get(c, 'unexplained')} |\n")


if __name__ == "__main__":
    main(sys.argv[1])
