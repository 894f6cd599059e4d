#!/usr/bin/env python3
"""test_compare.py: `wrpnc compare` (tools/cli_compare.c and compare_*.c).

Variant-string parsing through the CLI (--dry-run for good strings, exit 2 for
bad ones; the parser's own cases are in tests/unit/test_cli.c); the report on a
small conv model: all five files, the same numbers in CSV and JSON, MACs and
BOPs checked against counts made here from the ONNX shapes, code and constant
bytes against binutils' readelf on the built objects, accuracy against ONNX
Runtime's top-1 on the same labelled data, failed variants listed with their
error; a quantized model's own quantization as the variant "as exported" and
wKaJ refused on it without --requantize; and report.html rendered by headless
Chromium at 1280 and 1400 px: the DOM holds the plot's SVG with its points, the
page does not scroll sideways, every label lies inside the plot, tick labels are
plain numbers, the notes of report.md are there, the screenshot is not blank and
shows the red Pareto markers.

    python tests/e2e/test_compare.py --wrpnc build/wrpnc [-k NAME]
"""
import argparse
import csv
import json
import os
import shutil
import re
import struct
import subprocess
import sys
import tempfile
import traceback
import zlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper, shape_inference

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FMNIST = os.path.join(ROOT, "examples", "fashion_mnist", "models")


class Skip(Exception):
    pass


def model(path, batch=1):
    r = np.random.default_rng(3)
    def w(name, shape):
        return numpy_helper.from_array((r.standard_normal(shape) * 0.4).astype(np.float32), name)
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["a"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["a"], ["ar"]),
             helper.make_node("Conv", ["ar", "w2"], ["b"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["b"], ["br"]),
             helper.make_node("Conv", ["br", "w3", "b3"], ["y"], kernel_shape=[6, 6])]
    g = helper.make_graph(
        nodes, "cmp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 10, 1, 1])],
        [w("w1", (8, 3, 3, 3)), w("b1", (8,)), w("w2", (8, 8, 3, 3)), w("w3", (10, 8, 6, 6)),
         w("b3", (10,))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.save(m, path)
    return path


def layer_macs(path):
    """MACs of each Conv and Gemm in graph order, from ONNX shape inference."""
    m = shape_inference.infer_shapes(onnx.load(path))
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(m.graph.value_info) + list(m.graph.output) + list(m.graph.input)}
    w = {t.name: list(t.dims) for t in m.graph.initializer}
    out = []
    for n in m.graph.node:
        if n.op_type == "Conv":
            out.append(int(np.prod(shapes[n.output[0]])) * int(np.prod(w[n.input[1]][1:])))
        elif n.op_type == "Gemm":  # transA = 0 here
            out.append(int(np.prod(shapes[n.output[0]])) * shapes[n.input[0]][-1])
    return out


def slug(name):
    return re.sub(r"[^a-z0-9]+", "_", name).strip("_")


def readelf_sizes(obj):
    """(.text*, .rodata*, sized OBJECT symbols in .rodata*) of an object, by binutils."""
    secs = {}
    for line in subprocess.run(["readelf", "-SW", obj], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        m = re.match(r"\s*\[\s*(\d+)\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)",
                     line)
        if m:
            secs[int(m.group(1))] = (m.group(2), int(m.group(3), 16))
    text = sum(sz for nm, sz in secs.values() if nm.startswith(".text"))
    ro = {i for i, (nm, _) in secs.items() if nm.startswith((".rodata", ".lrodata"))}
    objs = 0
    for line in subprocess.run(["readelf", "-sW", obj], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        f = line.split()
        if len(f) >= 7 and f[0].endswith(":") and f[3] == "OBJECT" and f[6].isdigit() \
                and int(f[6]) in ro:
            objs += int(f[2], 0) if f[2].startswith("0x") else int(f[2])
    return text, sum(secs[i][1] for i in ro), objs


def check_sizes(out, v):
    """text/rodata/weight bytes of a variant equal readelf's over its objects."""
    d = os.path.join(out, "build", slug(v["variant"]))
    objs = [os.path.join(d, f) for f in os.listdir(d) if f.endswith(".o")]
    assert objs, d
    got = [sum(x) for x in zip(*(readelf_sizes(o) for o in objs))]
    assert [v["text_bytes"], v["rodata_bytes"], v["weight_bytes"]] == got, (v["variant"], got)


def conv_macs(path):
    """MACs of every Conv, from ONNX shape inference (independent of wrpnc)."""
    m = shape_inference.infer_shapes(onnx.load(path))
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(m.graph.value_info) + list(m.graph.output) + list(m.graph.input)}
    w = {t.name: list(t.dims) for t in m.graph.initializer}
    total = 0
    for n in m.graph.node:
        if n.op_type == "Conv":
            ws, ys = w[n.input[1]], shapes[n.output[0]]
            total += int(np.prod(ys)) * int(np.prod(ws[1:]))
        elif n.op_type == "Gemm":  # transA = 0 here
            total += int(np.prod(shapes[n.output[0]])) * shapes[n.input[0]][-1]
    return total


def compare(wrpnc, model_path, out, variants, *extra):
    cmd = [wrpnc, "compare", model_path, "--variants", variants, "--report", out, "--reps", "3",
           "-j", "2"] + list(extra)
    return subprocess.run(cmd, capture_output=True, text=True)


# ---- parsing ----

def dry_run(wrpnc, variants, *extra):
    """{name: (kw, ka, width, init)} as `wrpnc compare --dry-run` parsed the list."""
    p = subprocess.run([wrpnc, "compare", "m.onnx", "--variants", variants, "--dry-run"]
                       + list(extra), capture_output=True, text=True)
    assert p.returncode == 0, (variants, p.returncode, p.stderr)
    out = {}
    for line in p.stdout.splitlines():
        name, rest = line.rsplit(": kind ", 1)
        f = rest.split()
        init = None if f[8] == "-" else f[8]
        out[name] = (int(f[2]), int(f[4]), float(f[6]), init)
    return out


def case_parse_good(wrpnc, tmp):
    cases = {"fp32": (32, 32, 1.0, None), "fp32@2x": (32, 32, 2.0, "random"),
             " w4a4 ": (4, 4, 1.0, None), "w2a2@2x": (2, 2, 2.0, "random"),
             "W1A1@3X": (1, 1, 3.0, "random"), "w4a8@1.5x:preserve": (4, 8, 1.5, "preserve"),
             "w3a2@2": (3, 2, 2.0, "random"), "w4a32": (4, 32, 1.0, None),
             "fp32@1x": (32, 32, 1.0, None), "as exported": (32, 32, 1.0, None)}
    for s, want in cases.items():
        got = dry_run(wrpnc, s)
        assert list(got.values()) == [want], (s, got)
    vs = dry_run(wrpnc, "fp32, fp32@2x, w4a4, w2a2@2x, w1a1@3x", "--init", "preserve")
    assert list(vs) == ["fp32", "fp32@2x", "w4a4", "w2a2@2x", "w1a1@3x"], vs
    assert [v[3] for v in vs.values()] == [None, "preserve", None, "preserve", "preserve"]


def case_parse_bad(wrpnc, tmp):
    bad = ["", "fp16", "w4a4@0.5x", "w9a4", "w0a4", "w4a4@2x:foo", "fp32, ,w4a4",
           "fp32,fp32", "w4a@2x", "w4a4@x", "w4a4@2x@3x", "int8"]
    for s in bad:
        p = subprocess.run([wrpnc, "compare", "m.onnx", "--variants", s, "--report", tmp],
                           capture_output=True, text=True)
        assert p.returncode == 2 and "variant" in p.stderr, (s, p.returncode, p.stderr)
    p = subprocess.run([wrpnc, "compare", "m.onnx", "--variants", "w9a9", "--report", tmp],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "bad variant 'w9a9'" in p.stderr, (p.returncode, p.stderr)
    p = subprocess.run([wrpnc, "compare", "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "--variants" in p.stdout and "Traceback" not in p.stderr, p


# ---- report ----

NUMERIC = ["kw", "ka", "width", "latency_ms", "text_bytes", "rodata_bytes", "weight_bytes",
           "workspace_bytes", "params", "macs", "bops", "max_abs_err", "top1_agreement",
           "accuracy"]


def load_report(out):
    for ext in ("md", "csv", "json", "svg", "html"):
        assert os.path.getsize(os.path.join(out, "report." + ext)) > 0, ext
    with open(os.path.join(out, "report.json")) as f:
        js = json.load(f)
    with open(os.path.join(out, "report.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [r["variant"] for r in rows] == [v["variant"] for v in js["variants"]]
    for r, v in zip(rows, js["variants"]):
        for k in NUMERIC:
            if v[k] is None:
                assert r[k] == "", (k, r[k])
            else:
                assert abs(float(r[k]) - float(v[k])) <= 1e-9 * max(1, abs(float(v[k]))), \
                    (v["variant"], k, r[k], v[k])
        assert r["error"] == v["error"] and r["status"] == v["status"]
    return js, {v["variant"]: v for v in js["variants"]}


def case_report(wrpnc, tmp):
    path = model(os.path.join(tmp, "m.onnx"))
    out = os.path.join(tmp, "rep")
    p = compare(wrpnc, path, out, "fp32, fp32@2x, fp32@1.5x:preserve, w4a4", "--samples", "3")
    assert p.returncode == 0, p.stderr
    assert "[1/4] fp32: building" in p.stderr, p.stderr
    js, v = load_report(out)
    f, w2, pr = v["fp32"], v["fp32@2x"], v["fp32@1.5x:preserve"]
    for x in (f, w2, pr):
        assert x["status"] == "ok" and x["latency_ms"] > 0 and x["text_bytes"] > 0, x
    assert f["max_abs_err"] == 0 and f["top1_agreement"] == 1.0
    assert pr["max_abs_err"] < 1e-4 and pr["top1_agreement"] == 1.0, pr
    assert f["macs"] == conv_macs(path), (f["macs"], conv_macs(path))
    wide = os.path.join(tmp, "wide.onnx")
    subprocess.run([wrpnc, "widen", path, "-o", wide, "--width", "2"], check=True,
                   capture_output=True)
    assert w2["macs"] == conv_macs(wide), (w2["macs"], conv_macs(wide))
    assert f["bops"] == f["macs"] * 1024
    # measured, not a formula: the objects hold every float weight (at least 4 bytes each)
    params = sum(int(np.prod(t.dims)) for t in onnx.load(path).graph.initializer)
    assert f["weight_bytes"] >= 4 * params and f["params"] == params, (f, params)
    assert f["rodata_bytes"] >= f["weight_bytes"], f  # inline weights live in .rodata
    q = v["w4a4"]
    for x in (f, w2, pr, q):
        check_sizes(out, x)
    assert q["macs"] == f["macs"] and q["weight_bytes"] < f["weight_bytes"], q
    # WRPN policy: first conv and last layer float; the middle conv on 4 x 4 bits
    lm = layer_macs(path)
    assert q["layers"] == 3 and q["int_layers"] == 1 and q["quant"] == "uncalibrated (WRPN)", q
    assert q["bops"] == lm[0] * 1024 + lm[1] * 16 + lm[2] * 1024, (q["bops"], lm)
    md = open(os.path.join(out, "report.md")).read()
    html = open(os.path.join(out, "report.html")).read()
    for x in js["variants"]:
        assert "| %s |" % x["variant"] in md
        if x["status"] == "failed":
            assert x["error"] and x["error"] in md and x["variant"] in html, x
    assert any(x["pareto_latency"] for x in js["variants"])
    assert "random inputs" in md and "uncalibrated" in md, md  # the notes say what they are


def case_quantized_model(wrpnc, tmp):
    """A quantized model's own quantization is 'as exported'; wKaJ needs --requantize."""
    path = os.path.join(FMNIST, "fmnist_w2_a4w4.onnx")
    out = os.path.join(tmp, "rep")
    shape = ["--input-shape", "image=1x1x28x28", "--samples", "2"]
    p = compare(wrpnc, path, out, "fp32, w2a2", *shape)
    assert p.returncode == 2 and "as exported" in p.stderr and "--requantize" in p.stderr, \
        (p.returncode, p.stderr)
    # the model's activations are Clip(0, 1) (no Relu for WRPN's quantizer): calibrated
    data = "/usr/share/datasets/fashion-mnist"
    if not os.path.isdir(data):
        raise Skip("Debian's dataset-fashion-mnist is not installed (tools/setup.sh)")
    p = compare(wrpnc, path, out, "as exported, fp32, w2a2", "--requantize", "--calibrate",
                data, "--calibrate-samples", "32", *shape)
    assert p.returncode == 0, p.stderr
    js, v = load_report(out)
    e, f, q = v["as exported"], v["fp32"], v["w2a2"]
    assert e["quant"] == "trained (as exported)" and e["int_layers"] == 2, e
    assert f["quant"] == "float (quantizers stripped)" and f["int_layers"] == 0, f
    assert q["int_layers"] == 2 and q["status"] == "ok" and q["quant"] == "calibrated", q
    assert q["calib_examples"] == 32, q
    # exported 4-bit codes: its integer layers' BOPs are 4 x 4 per MAC
    assert e["bops"] < f["bops"] and e["weight_bytes"] < f["weight_bytes"], (e, f)


def case_macs_gemm(wrpnc, tmp):
    """MACs of a Flatten -> Gemm classifier at 1x and 2x, against ONNX shapes."""
    ops = subprocess.run([wrpnc, "ops"], capture_output=True, text=True).stdout.split()
    if "Gemm" not in ops or "Flatten" not in ops:
        raise Skip("wrpnc does not load Gemm and Flatten yet")
    r = np.random.default_rng(4)
    def w(name, shape):
        return numpy_helper.from_array((r.standard_normal(shape) * 0.4).astype(np.float32), name)
    nodes = [helper.make_node("Conv", ["x", "w1"], ["a"]),
             helper.make_node("Relu", ["a"], ["ar"]),
             helper.make_node("Flatten", ["ar"], ["f"]),
             helper.make_node("Gemm", ["f", "g1", "b1"], ["h"], transB=1),
             helper.make_node("Relu", ["h"], ["hr"]),
             helper.make_node("Gemm", ["hr", "g2"], ["y"])]
    g = helper.make_graph(
        nodes, "gm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
        [w("w1", (6, 3, 3, 3)), w("g1", (7, 54)), w("b1", (7,)), w("g2", (7, 4))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    path = os.path.join(tmp, "g.onnx")
    onnx.save(m, path)
    out = os.path.join(tmp, "rep")
    p = compare(wrpnc, path, out, "fp32, fp32@2x", "--samples", "2")
    assert p.returncode == 0, p.stderr
    js, v = load_report(out)
    wide = os.path.join(tmp, "wide.onnx")
    subprocess.run([wrpnc, "widen", path, "-o", wide, "--width", "2"], check=True,
                   capture_output=True)
    assert v["fp32"]["macs"] == conv_macs(path), (v["fp32"]["macs"], conv_macs(path))
    assert v["fp32@2x"]["macs"] == conv_macs(wide), (v["fp32@2x"]["macs"], conv_macs(wide))


def case_failed_variants(wrpnc, tmp):
    path = model(os.path.join(tmp, "m.onnx"))
    out = os.path.join(tmp, "rep")
    p = compare(wrpnc, path, out, "fp32, fp32@2x", "--cflags=-fno-such-flag-here")
    assert p.returncode == 1, p.returncode  # the reference itself failed
    js, v = load_report(out)
    md = open(os.path.join(out, "report.md")).read()
    for name in ("fp32", "fp32@2x"):
        assert v[name]["status"] == "failed", v[name]
        assert "building the generated code failed" in v[name]["error"], v[name]["error"]
        assert v[name]["error"] in md
        assert v[name]["macs"] > 0  # the cost model does not need a build


def case_accuracy(wrpnc, tmp):
    path = model(os.path.join(tmp, "m.onnx"))
    r = np.random.default_rng(5)
    x = r.standard_normal((12, 3, 6, 6)).astype(np.float32)
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    pred = np.array([s.run(None, {"x": x[i:i + 1]})[0].reshape(-1).argmax() for i in range(12)])
    y = pred.copy()
    y[:4] = (y[:4] + 1) % 10  # a third of the labels wrong: accuracy 8/12
    np.save(os.path.join(tmp, "x.npy"), x)
    np.save(os.path.join(tmp, "y.npy"), y)
    out = os.path.join(tmp, "rep")
    p = compare(wrpnc, path, out, "fp32, fp32@2x:preserve", "--dataset",
                os.path.join(tmp, "x.npy"), "--labels", os.path.join(tmp, "y.npy"))
    assert p.returncode == 0, p.stderr
    js, v = load_report(out)
    assert js["labels"] and js["samples"] == 12
    assert abs(v["fp32"]["accuracy"] - 8 / 12) < 1e-9, v["fp32"]
    assert abs(v["fp32@2x:preserve"]["accuracy"] - 8 / 12) < 1e-9, v["fp32@2x:preserve"]


def case_inputs_dir(wrpnc, tmp):
    """--inputs DIR in the ONNX test-data layout: two test_data_set_N folders."""
    path = model(os.path.join(tmp, "m.onnx"))
    r = np.random.default_rng(6)
    for k in range(2):
        d = os.path.join(tmp, "data", "test_data_set_%d" % k)
        os.makedirs(d)
        x = r.standard_normal((1, 3, 6, 6)).astype(np.float32)
        with open(os.path.join(d, "input_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(x, "x").SerializeToString())
    out = os.path.join(tmp, "rep")
    p = compare(wrpnc, path, out, "fp32@2x:preserve", "--inputs", os.path.join(tmp, "data"))
    assert p.returncode == 0, p.stderr
    js, v = load_report(out)
    assert js["samples"] == 2 and "from " in js["inputs"], js
    assert js["reference"] == "fp32 (reference)" and "fp32 (reference)" in v
    assert v["fp32@2x:preserve"]["max_abs_err"] < 1e-4, v["fp32@2x:preserve"]


def case_input_shape(wrpnc, tmp):
    """A symbolic batch dim needs --input-shape, which reaches every wrpnc call."""
    path = model(os.path.join(tmp, "m.onnx"))
    m = onnx.load(path)
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    m.graph.output[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    onnx.save(m, path)
    out = os.path.join(tmp, "rep")
    p = compare(wrpnc, path, out, "fp32, fp32@2x:preserve", "--samples", "2")
    assert p.returncode != 0 and "--input-shape" in p.stderr, (p.returncode, p.stderr)
    p = compare(wrpnc, path, out, "fp32, fp32@2x:preserve", "--samples", "2",
                "--input-shape", "x=2x3x6x6")
    assert p.returncode == 0, p.stderr
    js, v = load_report(out)
    assert v["fp32@2x:preserve"]["max_abs_err"] < 1e-4 and v["fp32"]["macs"] == 2 * conv_macs(
        model(os.path.join(tmp, "m1.onnx"))), v


def case_target_not_runnable(wrpnc, tmp):
    """A target this CPU cannot run natively (at best emulated: timings would mean
    nothing) is built (sizes known) and reported as not run."""
    targets = subprocess.run([wrpnc, "targets"], capture_output=True, text=True).stdout
    line = next((l for l in targets.splitlines() if l.startswith("avx512 ")), "")
    if "runs here" in line:
        raise Skip("this CPU runs avx512 code")
    path = model(os.path.join(tmp, "m.onnx"))
    out = os.path.join(tmp, "rep")
    p = compare(wrpnc, path, out, "fp32", "--target", "avx512")
    assert p.returncode == 0, p.stderr
    js, v = load_report(out)
    f = v["fp32"]
    assert "not run" in f["status"] and f["latency_ms"] is None and f["text_bytes"] > 0, f
    assert js["target"] == "avx512"


# ---- rendering ----

def unfilter(f, a, b, c):
    """PNG filter predictor: f = 0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth."""
    if f == 4:
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        return a if pa <= pb and pa <= pc else (b if pb <= pc else c)
    return [0, a, b, (a + b) // 2][f]


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes) of an 8-bit non-interlaced PNG."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype = ihdr[:4]
    assert depth == 8 and ctype in (2, 6), ihdr
    bpp = 3 if ctype == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + unfilter(f, a, b, c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


# Runs in the page after layout: what a reader would see cut off or overlapping.
LAYOUT_CHECK = """<script>
(function () {
  var r = {}, de = document.documentElement, w = window.innerWidth;
  r.page = [de.scrollWidth, w];
  var t = document.getElementById('variants'), wrap = document.getElementById('wrap');
  r.table = [Math.ceil(t.getBoundingClientRect().right), wrap.scrollWidth, wrap.clientWidth];
  var svg = document.getElementById('wrpnc-plot'), s = svg.getBoundingClientRect();
  r.svg_right = Math.ceil(s.right);
  r.outside = []; r.overlap = []; r.ticks = [];
  var texts = svg.querySelectorAll('text');
  for (var i = 0; i < texts.length; i++) {
    var b = texts[i].getBoundingClientRect();  /* after rotation and scaling */
    if (b.left < s.left - 0.5 || b.top < s.top - 0.5 || b.right > s.right + 0.5 ||
        b.bottom > s.bottom + 0.5)
      r.outside.push(texts[i].textContent);
  }
  var labels = svg.querySelectorAll('text.label');
  for (var i = 0; i < labels.length; i++)
    for (var j = i + 1; j < labels.length; j++) {
      var a = labels[i].getBBox(), c = labels[j].getBBox();
      if (a.x < c.x + c.width && c.x < a.x + a.width && a.y < c.y + c.height &&
          c.y < a.y + a.height)
        r.overlap.push([labels[i].textContent, labels[j].textContent]);
    }
  var ticks = svg.querySelectorAll('text.tick');
  for (var i = 0; i < ticks.length; i++) r.ticks.push(ticks[i].textContent);
  document.body.setAttribute('data-layout', JSON.stringify(r));
})();
</script>"""


def layout(exe, flags, html, width, tmp):
    """The LAYOUT_CHECK result for report.html shown at width x 900 px."""
    page = os.path.join(tmp, "check-%d.html" % width)
    with open(page, "w") as f:
        f.write(html.replace("</body>", LAYOUT_CHECK + "</body>"))
    dom = subprocess.run([exe] + flags + ["--window-size=%d,900" % width, "--dump-dom",
                                          "file://" + page],
                         capture_output=True, text=True, timeout=120).stdout
    m = re.search(r"data-layout=\"([^\"]*)\"", dom)
    assert m, dom[:500]
    return json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def case_chromium(wrpnc, tmp):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        raise Skip("chromium is not installed (tools/setup.sh --test installs it)")
    path = model(os.path.join(tmp, "m.onnx"))
    out = os.path.join(tmp, "rep")
    p = compare(wrpnc, path, out, "fp32, fp32@2x, fp32@1.5x:preserve, w4a4", "--samples", "2")
    assert p.returncode == 0, p.stderr
    url = "file://" + os.path.join(out, "report.html")
    flags = ["--headless", "--no-sandbox", "--disable-gpu",
             "--user-data-dir=" + os.path.join(tmp, "chrome")]
    dom = subprocess.run([exe] + flags + ["--window-size=1280,900", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120).stdout
    assert 'id="wrpnc-plot"' in dom, dom[:500]
    js, v = load_report(out)
    plotted = [x for x in js["variants"] if x["latency_ms"] and x["top1_agreement"] is not None]
    assert dom.count("<circle") == 2 * len(plotted) == 8, dom.count("<circle")
    assert 'pareto-point' in dom and 'data-variant="fp32@1.5x:preserve"' in dom
    # the notes of report.md are on the page too, among them the random-input warning
    md = open(os.path.join(out, "report.md")).read()
    notes = re.findall(r"^\d+\. (.*)$", md, re.M)
    assert notes and len(notes) == len(js["notes"]) and "random" in " ".join(notes), notes
    assert dom.count("<li>") >= len(notes) and "random inputs" in dom
    html = open(os.path.join(out, "report.html")).read()
    for width in (1280, 1400):
        r = layout(exe, flags, html, width, tmp)
        assert r["page"][0] <= r["page"][1], ("page scrolls sideways", width, r)
        assert r["table"][0] <= r["page"][1] and r["table"][1] <= r["table"][2], \
            ("table cut", width, r)
        assert r["svg_right"] <= r["page"][1], ("plot cut", width, r)
        assert not r["outside"], ("text outside the plot", width, r["outside"])
        assert not r["overlap"], ("labels overlap", width, r["overlap"])
        bad = [t for t in r["ticks"] if not re.fullmatch(r"[0-9.]+ ?(%|B|kB|MB|GB)?", t)]
        assert r["ticks"] and not bad, ("tick labels", bad)
    png = os.path.join(tmp, "shot.png")
    subprocess.run([exe] + flags + ["--window-size=1280,1100", "--screenshot=" + png, url],
                   capture_output=True, timeout=120)
    w, h, bpp, rows = png_pixels(png)
    colors, red = set(), 0
    for row in rows[::2]:
        for i in range(0, w * bpp, bpp * 2):
            px = row[i:i + 3]
            colors.add(px)
            red += px[0] > 180 and px[1] < 90 and px[2] < 90
    assert len(colors) > 20, "screenshot looks blank (%d colours)" % len(colors)
    assert red > 10, "no red Pareto markers in the screenshot"


CASES = [("parse_good", case_parse_good), ("parse_bad", case_parse_bad),
         ("report", case_report), ("quantized_model", case_quantized_model),
         ("macs_gemm", case_macs_gemm),
         ("failed_variants", case_failed_variants),
         ("accuracy", case_accuracy), ("inputs_dir", case_inputs_dir),
         ("input_shape", case_input_shape),
         ("target_not_runnable", case_target_not_runnable), ("chromium", case_chromium)]


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
                fn(a.wrpnc, tmp)
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
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
