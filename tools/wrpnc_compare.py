#!/usr/bin/env python3
"""wrpnc_compare.py: the codegen-variant comparison behind `wrpnc compare`.

    wrpnc compare MODEL.onnx --variants "fp32, fp32@2x, w4a4, w2a2@2x, w1a1@3x"
        [--target T] [--inputs DIR | --dataset X.npy --labels Y.npy] --report OUTDIR
        [--reps N] [-j N] [--init preserve|random] [--seed N] [--samples N]

Why Python and not C: this is orchestration (parallel builds, timing runs,
statistics over output tensors, CSV/JSON/SVG/HTML writing). With numpy and the
onnx package it is a fraction of the C code and easier to get right; every
variant is still compiled by wrpnc itself. `wrpnc compare` (tools/cli_compare.c)
execs this script and exports WRPNC_BIN, WRPNC_NATIVE_TARGET and each target's
compiler flags (WRPNC_CFLAGS_<target>, WRPNC_RUNS_<target>) from
codegen/target.c, so builds here use exactly the flags wrpnc uses.

Variant grammar: PREC[@W[x]][:INIT], PREC = fp32 | wKaJ (K, J in 1..8 or 32),
W >= 1 the width factor (default 1), INIT = preserve | random (default: the
--init option, itself random by default: cost exploration).
Per variant: `wrpnc compile` (with --width/--init/--seed, and --wbits/--abits
for low-bit variants), clang -O3 with the target's flags into an object (code
size = .text*, rodata = .rodata* sections of that ELF object) and a harness,
then runs: median latency over --reps runs of the first sample, outputs of
every sample compared with the fp32 1x variant (always built: the reference).

Cost model (docs wrpn.md section 4): MACs and parameters per layer from
`wrpnc info` with the same width options; the first and the last layer with
weights (first conv, classifier) stay fp32 as the default per-layer policy;
weight bytes = params * k_w / 8 for quantized layers, 4 bytes per fp32
parameter; BOPs = MACs * k_w * k_a (32 x 32 for fp32 layers).
Variants build in parallel (-j); timing runs one at a time so they do not
disturb each other. A failing variant is reported with its error.
"""
import argparse
import concurrent.futures
import csv
import glob
import html
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys

import numpy as np

FIELDS = ["variant", "kw", "ka", "width", "init", "status", "error", "latency_ms",
          "text_bytes", "rodata_bytes", "weight_bytes", "workspace_bytes", "params", "macs",
          "bops", "max_abs_err", "top1_agreement", "accuracy", "pareto_latency",
          "pareto_memory"]


class VariantError(Exception):
    pass


# ---- variant strings ----

VARIANT_RE = re.compile(r"^(fp32|w(\d+)a(\d+))(?:@(\d+(?:\.\d+)?)x?)?(?::(preserve|random))?$")


def parse_variant(text, default_init="random"):
    """'w4a4@2x' -> dict(name, kw, ka, width, init); ValueError on bad syntax."""
    s = text.strip().lower()
    m = VARIANT_RE.match(s)
    if not m:
        raise ValueError("bad variant '%s' (want fp32 or wKaJ, optionally @Wx and :preserve"
                         "|:random, e.g. w4a4@2x)" % text.strip())
    kw, ka = (32, 32) if m.group(1) == "fp32" else (int(m.group(2)), int(m.group(3)))
    for k in (kw, ka):
        if not (1 <= k <= 8 or k == 32):
            raise ValueError("bad variant '%s': bit widths are 1..8 or 32" % text.strip())
    width = float(m.group(4)) if m.group(4) else 1.0
    if width < 1.0 or width > 64:
        raise ValueError("bad variant '%s': width must be in 1..64" % text.strip())
    init = m.group(5) or (default_init if width > 1 else None)  # no init without widening
    return {"variant": s, "kw": kw, "ka": ka, "width": width, "init": init}


def parse_variants(text, default_init="random"):
    items = [t for t in text.split(",")]
    if not text.strip() or any(not t.strip() for t in items):
        raise ValueError("empty variant in '%s'" % text)
    out = [parse_variant(t, default_init) for t in items]
    names = [v["variant"] for v in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError("variant listed twice: %s" % ", ".join(dup))
    return out


# ---- ELF sizes ----

def elf_sizes(path):
    """(text, rodata) byte sizes of an ELF64 little-endian object's sections."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise VariantError("%s is not a 64-bit little-endian ELF file" % path)
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    secs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    stroff = secs[shstrndx][4]
    text = rodata = 0
    for s in secs:
        end = data.index(b"\0", stroff + s[0])
        name = data[stroff + s[0]:end].decode()
        if name.startswith(".text"):
            text += s[5]
        elif name.startswith(".rodata") or name.startswith(".lrodata"):
            rodata += s[5]
    return text, rodata


# ---- inputs ----

def model_io(path, shapes=()):
    import onnx
    m = onnx.load(path)
    inits = {t.name for t in m.graph.initializer}
    dt = {1: np.float32, 2: np.uint8, 3: np.int8, 6: np.int32, 7: np.int64, 9: np.bool_,
          11: np.float64}

    def desc(vi):
        tt = vi.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim]
        return vi.name, dt.get(tt.elem_type, np.float32), dims
    ins = [desc(v) for v in m.graph.input if v.name not in inits]
    outs = [desc(v) for v in m.graph.output]
    for k, (name, dt_, dims) in enumerate(ins):
        for spec in shapes:  # --input-shape [NAME=]AxBx..., as wrpnc takes it
            nm, _, dimstr = spec.rpartition("=")
            if nm == name or (not nm and k == 0):
                ins[k] = (name, dt_, [int(x) for x in dimstr.split("x")])
    return ins, outs


def load_inputs(a, ins):
    """A list of samples; each sample is a list of arrays, one per graph input."""
    from onnx import numpy_helper, TensorProto
    if a.inputs:
        sets = sorted(glob.glob(os.path.join(a.inputs, "test_data_set_*")))
        dirs = sets if sets else [a.inputs]
        samples = []
        for d in dirs:
            files = sorted(glob.glob(os.path.join(d, "input_*.pb")),
                           key=lambda p: int(re.findall(r"(\d+)\.pb$", p)[0]))
            arrs = []
            for p in files:
                t = TensorProto()
                with open(p, "rb") as f:
                    t.ParseFromString(f.read())
                arrs.append(numpy_helper.to_array(t))
            if len(arrs) != len(ins):
                raise SystemExit("%s: %d input files, the model has %d inputs"
                                 % (d, len(arrs), len(ins)))
            samples.append(arrs)
        return samples, None, "%d sample(s) from %s" % (len(samples), a.inputs)
    if a.dataset:
        if len(ins) != 1:
            raise SystemExit("--dataset needs a model with one input")
        name, dtype, dims = ins[0]
        x = np.load(a.dataset).astype(dtype)
        b = dims[0] if dims and dims[0] > 0 else 1
        if list(x.shape[1:]) != list(dims[1:]) or len(x) % b:
            raise SystemExit("--dataset shape %s does not fit the input %s" % (x.shape, dims))
        y = np.load(a.labels).astype(np.int64).reshape(-1) if a.labels else None
        if y is not None and len(y) != len(x):
            raise SystemExit("--labels has %d entries for %d samples" % (len(y), len(x)))
        samples = [[x[i:i + b]] for i in range(0, len(x), b)]
        return samples, y, "%d example(s) from %s" % (len(x), a.dataset)
    r = np.random.default_rng(a.seed)
    samples = [[r.standard_normal(dims).astype(dt) for _, dt, dims in ins]
               for _ in range(a.samples)]
    return samples, None, "%d seeded random sample(s) (seed %d)" % (a.samples, a.seed)


# ---- one variant ----

def run(cmd, what, cwd=None):
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    if p.returncode != 0:
        msg = " ".join(l.strip() for l in (p.stderr.strip() or p.stdout.strip()).splitlines())
        raise VariantError("%s failed: %s" % (what, msg[:400] or "exit %d" % p.returncode))
    return p.stdout


def width_args(v, a):
    pins = [x for s in a.input_shape for x in ("--input-shape", s)]
    if v["width"] == 1.0:
        return pins
    return pins + ["--width", repr(v["width"]), "--init", v["init"], "--seed", str(a.seed)]


def bits_args(v):
    return [] if (v["kw"], v["ka"]) == (32, 32) else ["--wbits", str(v["kw"]), "--abits",
                                                      str(v["ka"])]


def cost(v, a):
    """params, MACs, weight bytes, BOPs from `wrpnc info` under the layer policy."""
    out = run([a.wrpnc, "info", a.model, "--json"] + width_args(v, a), "wrpnc info")
    rows = [(n["op"], n["params"], n["macs"]) for n in json.loads(out)["nodes"]]
    params = sum(r[1] for r in rows)
    macs = sum(r[2] for r in rows)
    layers = [i for i, r in enumerate(rows) if r[0] in ("Conv", "Gemm", "MatMul") or r[2] > 0]
    fp32 = {layers[0], layers[-1]} if layers else set()
    wbytes = bops = 0.0
    for i, (op, p, m) in enumerate(rows):
        q = i in layers and i not in fp32 and (v["kw"], v["ka"]) != (32, 32)
        wbytes += p * v["kw"] / 8 if q else p * 4
        bops += m * (v["kw"] * v["ka"] if q else 32 * 32)
    return {"params": params, "macs": macs, "weight_bytes": int(math.ceil(wbytes)),
            "bops": int(bops)}


def slug(name):
    return re.sub(r"[^a-z0-9]+", "_", name).strip("_")


def build(v, a):
    """Compiles and builds one variant; fills v['exe'], sizes, workspace."""
    d = os.path.join(a.report, "build", slug(v["variant"]))
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    name = "v_" + slug(v["variant"])
    v["dir"] = d
    v.update(cost(v, a))
    run([a.wrpnc, "compile", a.model, "-o", d, "--name", name, "--target", a.target]
        + width_args(v, a) + bits_args(v), "wrpnc compile")
    flags = ["-O3", "-std=c99"] + a.cflags.split()
    srcs = [os.path.join(d, name + ".c")] + glob.glob(os.path.join(d, name + "_weights.c"))
    objs = []
    for s in srcs:
        o = s[:-2] + ".o"
        run([a.cc, "-c"] + flags + ["-I", d, s, "-o", o], "building the generated code")
        objs.append(o)
    text = rodata = 0
    for o in objs:
        t, r = elf_sizes(o)
        text, rodata = text + t, rodata + r
    v["text_bytes"], v["rodata_bytes"] = text, rodata
    with open(os.path.join(d, name + ".h")) as f:
        m = re.search(r"#define\s+\w+_WORKSPACE_BYTES\s+(\d+)", f.read())
    v["workspace_bytes"] = int(m.group(1)) if m else None
    exe = os.path.join(d, "harness")
    run([a.cc] + flags + ["-I", d, '-DWRPNC_HEADER="%s.h"' % name, "-DWRPNC_NAME=" + name,
                          "-DWRPNC_UNAME=" + name.upper(), a.harness] + objs
        + ["-o", exe, "-lm"], "building the harness")
    v["exe"] = exe


def execute(v, a, samples, outs):
    """Runs every sample; the first one --reps times for the latency."""
    d = os.path.join(a.report, "build", "inputs")
    results = []
    for i, sample in enumerate(samples):
        files = [os.path.join(d, "s%d_in%d.bin" % (i, k)) for k in range(len(sample))]
        ofiles = [os.path.join(v["dir"], "s%d_out%d.bin" % (i, k)) for k in range(len(outs))]
        reps = ["-r", str(a.reps), "-w", "2"] if i == 0 else ["-r", "1"]
        out = run([v["exe"]] + reps + files + ofiles, "running the generated code")
        if i == 0:
            v["latency_ms"] = float(re.search(r"median_ns\s+([\d.]+)", out).group(1)) / 1e6
        results.append([np.fromfile(p, dtype=dt).reshape(dims)
                        for p, (_, dt, dims) in zip(ofiles, outs)])
    return results


def rows(y):
    """Output 0 as (batch, classes); a 1-D output is one row."""
    return y.reshape(y.shape[0], -1) if y.ndim >= 2 else y.reshape(1, -1)


def agreement(got, ref, labels):
    err = max(float(np.max(np.abs(g.astype(np.float64) - r.astype(np.float64))))
              if g.size else 0.0 for gs, rs in zip(got, ref) for g, r in zip(gs, rs))
    top_g = np.concatenate([rows(gs[0]).argmax(1) for gs in got])
    top_r = np.concatenate([rows(rs[0]).argmax(1) for rs in ref])
    acc = float(np.mean(top_g == labels)) if labels is not None else None
    return err, float(np.mean(top_g == top_r)), acc


# ---- Pareto fronts ----

def quality(v):
    return v.get("accuracy") if v.get("accuracy") is not None else v.get("top1_agreement")


def memory(v):
    if v.get("weight_bytes") is None or v.get("workspace_bytes") is None:
        return None
    return v["weight_bytes"] + v["workspace_bytes"]


def pareto(vs, xkey):
    """Marks points no other point beats on (lower x, higher quality)."""
    pts = [(xkey(v), quality(v), v) for v in vs if xkey(v) is not None and quality(v) is not None]
    front = []
    for x, q, v in pts:
        dominated = any(x2 <= x and q2 >= q and (x2 < x or q2 > q) for x2, q2, _ in pts)
        if not dominated:
            front.append(v)
    return front


# ---- report writers ----

def fmt(v, k):
    x = v.get(k)
    if x is None:
        return ""
    if isinstance(x, bool):
        return "yes" if x else ""
    if k == "latency_ms":
        return "%.4f" % x
    if k in ("top1_agreement", "accuracy"):
        return "%.1f%%" % (100 * x)
    if k == "max_abs_err":
        return "%.3g" % x
    if k == "width":
        return "%gx" % x
    if isinstance(x, int) and k not in ("kw", "ka"):
        return "{:,}".format(x)
    return str(x)


TABLE = [("variant", "variant"), ("status", "status"), ("latency_ms", "latency ms"),
         ("text_bytes", "text B"), ("rodata_bytes", "rodata B"), ("weight_bytes", "weights B"),
         ("workspace_bytes", "workspace B"), ("macs", "MACs"), ("bops", "BOPs"),
         ("max_abs_err", "max abs err"), ("top1_agreement", "top-1 agree"),
         ("accuracy", "accuracy"), ("pareto_latency", "Pareto (lat)"),
         ("pareto_memory", "Pareto (mem)")]


def write_md(path, meta, vs):
    lines = ["# wrpnc variant report: %s" % os.path.basename(meta["model"]), "",
             "target %s, %s, %d timing reps; agreement against %s." % (
                 meta["target"], meta["inputs"], meta["reps"], meta["reference"]), "",
             "| " + " | ".join(h for _, h in TABLE) + " |",
             "|" + "---|" * len(TABLE)]
    for v in vs:
        lines.append("| " + " | ".join(fmt(v, k) for k, _ in TABLE) + " |")
    failed = [v for v in vs if v["error"]]
    if failed:
        lines += ["", "## Errors", ""]
        lines += ["- **%s**: %s" % (v["variant"], v["error"]) for v in failed]
    if any(v["init"] == "random" for v in vs):
        lines += ["", "Widened variants with random init are untrained: their agreement only "
                  "says they run; use `:preserve` (function-preserving widening) or a trained "
                  "wide model to compare accuracy."]
    lines += ["", "Weight bytes: params x k_w / 8 for quantized layers, 4 per fp32 parameter "
              "(first and last weight layers fp32). BOPs = MACs x k_w x k_a (32 x 32 for fp32 "
              "layers). Memory in the plot = weight bytes + workspace bytes.", ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def write_csv(path, vs):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
        w.writeheader()
        for v in vs:
            w.writerow({k: ("" if v.get(k) is None else v.get(k)) for k in FIELDS})


def write_json(path, meta, vs):
    with open(path, "w") as f:
        json.dump(dict(meta, variants=[{k: v.get(k) for k in FIELDS} for v in vs]), f, indent=2)


def svg_panel(vs, xkey, xlabel, ox, W, H, qlabel):
    """One scatter panel as SVG elements: axes, points, labels, Pareto front."""
    pts = [(xkey(v), quality(v), v) for v in vs if xkey(v) is not None and quality(v) is not None]
    L, R, T, B = 70, 80, 40, 50
    out = ['<g class="panel" transform="translate(%d,0)">' % ox,
           '<rect x="%d" y="%d" width="%d" height="%d" fill="#fafafa" stroke="#888"/>'
           % (L, T, W - L - R, H - T - B),
           '<text x="%d" y="%d" text-anchor="middle" font-size="13">%s</text>'
           % ((W + L - R) // 2, H - 12, html.escape(xlabel)),
           '<text x="16" y="%d" transform="rotate(-90 16 %d)" text-anchor="middle" '
           'font-size="13">%s</text>' % ((H + T - B) // 2, (H + T - B) // 2, html.escape(qlabel))]
    if not pts:
        out.append('<text x="%d" y="%d" text-anchor="middle">no data</text>' % (W // 2, H // 2))
        return out + ["</g>"]
    xs = [math.log10(max(p[0], 1e-12)) for p in pts]
    x0, x1 = min(xs), max(xs)
    if x1 - x0 < 1e-9:
        x0, x1 = x0 - 0.5, x1 + 0.5
    pad = (x1 - x0) * 0.08
    x0, x1 = x0 - pad, x1 + pad
    y0, y1, ticks = quality_axis([p[1] for p in pts])
    def px(x):
        return L + (math.log10(max(x, 1e-12)) - x0) / (x1 - x0) * (W - L - R)
    def py(q):
        return T + (1 - (q - y0) / (y1 - y0)) * (H - T - B)
    for q in ticks:
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>'
                   % (L, W - R, py(q), py(q)))
        out.append('<text x="%d" y="%.1f" text-anchor="end" font-size="11">%g%%</text>'
                   % (L - 4, py(q) + 4, round(q * 100, 1)))
    steps = (1, 2, 5) if x1 - x0 < 2.5 else (1,)
    for e in range(int(math.floor(x0)), int(math.ceil(x1)) + 1):
        for k in steps:
            t = e + math.log10(k)
            if x0 <= t <= x1:
                xx = L + (t - x0) / (x1 - x0) * (W - L - R)
                out.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#eee"/>'
                           % (xx, xx, T, H - B))
                out.append('<text x="%.1f" y="%d" text-anchor="middle" font-size="11">%de%d'
                           '</text>' % (xx, H - B + 15, k, e))
    front = sorted(pareto(vs, xkey), key=xkey)
    if len(front) > 1:
        path = " ".join("%.1f,%.1f" % (px(xkey(v)), py(quality(v))) for v in front)
        out.append('<polyline class="pareto" points="%s" fill="none" stroke="#d62728" '
                   'stroke-width="2" stroke-dasharray="5,3"/>' % path)
    boxes = []
    for x, q, v in sorted(pts, key=lambda p: p[0]):
        on = v in front
        out.append('<circle class="point%s" data-variant="%s" cx="%.1f" cy="%.1f" r="6" '
                   'fill="%s" stroke="#222"/>' % (" pareto-point" if on else "",
                                                  html.escape(v["variant"]), px(x), py(q),
                                                  "#d62728" if on else "#1f77b4"))
        text = v["variant"] + (" (Pareto)" if on else "")
        lx, ly = place_label(boxes, px(x) + 8, py(q) - 8, 6.2 * len(text))
        out.append('<text x="%.1f" y="%.1f" font-size="11">%s</text>'
                   % (lx, ly, html.escape(text)))
    return out + ["</g>"]


def quality_axis(qs):
    """(low, high, ticks): 0..100 %, or zoomed in when all values lie close."""
    lo, hi = min(qs), max(qs)
    if hi - lo > 0.4:
        return -0.05, 1.08, [0, 0.25, 0.5, 0.75, 1.0]
    a = max(0.0, math.floor((lo - 0.02) * 20) / 20)
    b = min(1.0, math.ceil((hi + 0.02) * 20) / 20)
    step = (b - a) / 4
    return a - step * 0.2, b + step * 0.35, [a + i * step for i in range(5)]


def place_label(boxes, x, y, width):
    """A label position near (x, y) whose box overlaps no earlier label."""
    for dy in (0, 14, -14, 28, -28, 42, -42, 56, -56, 70):
        box = (x, y + dy - 10, x + width, y + dy + 2)
        if all(box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3]
               for b in boxes):
            boxes.append(box)
            return x, y + dy
    boxes.append((x, y - 10, x + width, y + 2))
    return x, y


def svg(vs, labels_given):
    W, H = 520, 380
    qlabel = "top-1 accuracy" if labels_given else "top-1 agreement with fp32 1x"
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" id="wrpnc-plot" width="%d" height="%d" '
             'viewBox="0 0 %d %d" font-family="sans-serif">' % (2 * W, H + 30, 2 * W, H + 30),
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="%d" y="22" text-anchor="middle" font-size="15">%s vs latency and memory '
             '(red: Pareto front)</text>' % (W, qlabel)]
    parts += svg_panel(vs, lambda v: v.get("latency_ms"), "median latency (ms, log scale)", 0,
                       W, H + 20, qlabel)
    parts += svg_panel(vs, memory, "memory: weight + workspace bytes (log scale)", W, W, H + 20,
                       qlabel)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_html(path, meta, vs, svg_text):
    rows = ["<tr>" + "".join("<th>%s</th>" % html.escape(h) for _, h in TABLE) + "</tr>"]
    for v in vs:
        cls = ' class="failed"' if v["error"] else ""
        rows.append("<tr%s>" % cls + "".join("<td>%s</td>" % html.escape(fmt(v, k))
                                             for k, _ in TABLE) + "</tr>")
    errs = "".join("<li><b>%s</b>: %s</li>" % (html.escape(v["variant"]), html.escape(v["error"]))
                   for v in vs if v["error"])
    doc = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>wrpnc variant report</title>
<style>body{font-family:sans-serif;margin:20px}table{border-collapse:collapse}
td,th{border:1px solid #aaa;padding:3px 7px;text-align:right;white-space:nowrap}
td:first-child{text-align:left}tr.failed{background:#fdd}</style>
</head><body>
<h1>wrpnc variant report: %s</h1>
<p>target %s, %s, %d timing reps; agreement against %s.</p>
<table id="variants">%s</table>
%s
<div id="plot">%s</div>
</body></html>
""" % (html.escape(os.path.basename(meta["model"])), html.escape(meta["target"]),
       html.escape(meta["inputs"]), meta["reps"], html.escape(meta["reference"]), "\n".join(rows),
       "<h2>Errors</h2><ul>%s</ul>" % errs if errs else "", svg_text)
    with open(path, "w") as f:
        f.write(doc)


# ---- driver ----

def args():
    ap = argparse.ArgumentParser(
        prog="wrpnc compare", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Build, time and compare codegen variants of one model.",
        epilog="variants: PREC[@W[x]][:preserve|:random], PREC = fp32 | wKaJ (K, J in 1..8 "
               "or 32),\n  e.g. \"fp32, fp32@2x, w4a4, w2a2@2x, w1a1@3x\"")
    ap.add_argument("model", help="the ONNX model")
    ap.add_argument("--variants", required=True, help="comma-separated variant list")
    ap.add_argument("--target", default=os.environ.get("WRPNC_NATIVE_TARGET", "generic"),
                    help="generic | avx2 | avx512 | neon | native (default: native)")
    ap.add_argument("--inputs", help="folder of input_*.pb or test_data_set_*/input_*.pb")
    ap.add_argument("--dataset", help=".npy array of examples (N, ...) for a one-input model")
    ap.add_argument("--labels", help=".npy array of N integer labels: report accuracy")
    ap.add_argument("--report", required=True, help="output folder for report.*")
    ap.add_argument("--input-shape", action="append", default=[], metavar="[NAME=]AxBx..",
                    help="pin an input's shape (repeatable), as for wrpnc compile")
    ap.add_argument("--reps", type=int, default=20, help="timing runs (median reported)")
    ap.add_argument("-j", type=int, default=os.cpu_count() or 1, help="parallel builds")
    ap.add_argument("--init", choices=["preserve", "random"], default="random",
                    help="default init of widened variants (default: random)")
    ap.add_argument("--seed", type=int, default=1, help="seed of random init and inputs")
    ap.add_argument("--samples", type=int, default=8, help="random inputs when none are given")
    ap.add_argument("--cc", default=os.environ.get("WRPNC_CC", "clang"), help="C compiler")
    ap.add_argument("--cflags", default="", help="extra flags after the target's")
    ap.add_argument("--wrpnc", default=os.environ.get("WRPNC_BIN", "wrpnc"),
                    help="the wrpnc binary (set by `wrpnc compare`)")
    a = ap.parse_args()
    if a.inputs and a.dataset:
        ap.error("--inputs and --dataset exclude each other")
    if a.labels and not a.dataset:
        ap.error("--labels needs --dataset")
    if a.target == "native":
        a.target = os.environ.get("WRPNC_NATIVE_TARGET", "generic")
    a.cflags = os.environ.get("WRPNC_CFLAGS_" + a.target, "") + " " + a.cflags
    a.runs_here = os.environ.get("WRPNC_RUNS_" + a.target, "1") == "1"
    a.harness = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runtime",
                             "wrpnc_harness.c")
    try:
        a.variants = parse_variants(a.variants, a.init)
    except ValueError as e:
        ap.error(str(e))
    return a


def progress(i, n, v, msg):
    sys.stderr.write("[%d/%d] %s: %s\n" % (i, n, v["variant"], msg))
    sys.stderr.flush()


def build_all(a, vs):
    def job(iv):
        i, v = iv
        progress(i + 1, len(vs), v, "building")
        try:
            build(v, a)
            progress(i + 1, len(vs), v, "built")
        except (VariantError, OSError) as e:
            v["error"] = str(e)
            v["status"] = "failed"
            progress(i + 1, len(vs), v, "FAILED: %s" % e)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.j)) as ex:
        list(ex.map(job, enumerate(vs)))


def main():
    a = args()
    os.makedirs(os.path.join(a.report, "build", "inputs"), exist_ok=True)
    a.model = os.path.abspath(a.model)
    ins, outs = model_io(a.model, a.input_shape)
    if any(d < 0 for _, _, dims in ins for d in dims):
        raise SystemExit("%s: an input has unknown dims; pin them with --input-shape "
                         "NAME=AxBx..." % a.model)
    samples, labels, desc = load_inputs(a, ins)
    for i, s in enumerate(samples):
        for k, x in enumerate(s):
            np.ascontiguousarray(x.astype(ins[k][1])).tofile(
                os.path.join(a.report, "build", "inputs", "s%d_in%d.bin" % (i, k)))
    vs = [dict(v, status="ok", error="") for v in a.variants]
    ref = next((v for v in vs if (v["kw"], v["ka"], v["width"]) == (32, 32, 1.0)), None)
    if ref is None:
        ref = dict(parse_variant("fp32"), status="ok", error="")
        ref["variant"] = "fp32 (reference)"
        vs.insert(0, ref)
    build_all(a, vs)
    results = {}
    for i, v in enumerate(vs):
        if v["error"]:
            continue
        if not a.runs_here:
            v["status"] = "built, not run (target %s cannot run here)" % a.target
            continue
        progress(i + 1, len(vs), v, "running %d sample(s)" % len(samples))
        try:
            results[v["variant"]] = execute(v, a, samples, outs)
        except (VariantError, OSError, ValueError) as e:
            v["error"], v["status"] = str(e), "failed"
            progress(i + 1, len(vs), v, "FAILED: %s" % e)
    rres = results.get(ref["variant"])
    for v in vs:
        if v["variant"] in results and rres is not None:
            v["max_abs_err"], v["top1_agreement"], v["accuracy"] = agreement(
                results[v["variant"]], rres, labels)
    lat_front, mem_front = pareto(vs, lambda v: v.get("latency_ms")), pareto(vs, memory)
    for v in vs:
        v["pareto_latency"] = any(v is f for f in lat_front)
        v["pareto_memory"] = any(v is f for f in mem_front)
    meta = {"model": a.model, "target": a.target, "inputs": desc, "reps": a.reps,
            "reference": ref["variant"], "samples": len(samples),
            "labels": labels is not None}
    write_md(os.path.join(a.report, "report.md"), meta, vs)
    write_csv(os.path.join(a.report, "report.csv"), vs)
    write_json(os.path.join(a.report, "report.json"), meta, vs)
    svg_text = svg(vs, labels is not None)
    with open(os.path.join(a.report, "report.svg"), "w") as f:
        f.write(svg_text)
    write_html(os.path.join(a.report, "report.html"), meta, vs, svg_text)
    sys.stderr.write("wrote %s/report.{md,csv,json,svg,html}\n" % a.report)
    with open(os.path.join(a.report, "report.md")) as f:
        print(f.read())
    return 0 if all(not v["error"] for v in vs if v is ref) else 1


if __name__ == "__main__":
    sys.exit(main())
