#!/usr/bin/env python3
"""test_conv_shapes.py: Conv layouts the ONNX node tests do not cover, compared with
ONNX Runtime: 1-D and 3-D convs, depthwise 1-D/2-D/3-D (strided, dilated, a plane too
big for the stack), pointwise convs whose pixels end in a partial tile, grouped convs, depthwise with a channel multiplier, and two convs
with different microkernels in one file. Every target
this CPU runs (neon also under qemu-user when `wrpnc targets` says so; others are
skipped, never passed); the generated code is built by `wrpnc run`
with -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wdouble-promotion -Werror.

  test_conv_shapes.py --wrpnc build/wrpnc
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from e2e_util import Tally, check_on_targets, run_vs_ort

CASES = [
    ("c1d", [2, 5, 40], [7, 5, 3], dict(strides=[2], pads=[1, 2], dilations=[2])),
    ("c3d", [1, 3, 6, 7, 8], [4, 3, 3, 2, 3], dict(strides=[1, 2, 1], pads=[1, 0, 1, 1, 1, 0])),
    ("dw3d", [1, 4, 5, 6, 7], [4, 1, 3, 3, 3], dict(group=4, pads=[1] * 6)),
    ("dw1d", [1, 6, 50], [6, 1, 5], dict(group=6, pads=[2, 2], strides=[3])),
    ("dw_big_plane", [1, 2, 300, 300], [2, 1, 3, 3], dict(group=2, pads=[1] * 4)),
    ("dw_s2_d2", [1, 5, 33, 35], [5, 1, 3, 3], dict(group=5, pads=[2] * 4, strides=[2, 2],
                                                     dilations=[2, 2])),
    # depthwise chunks of whole vectors per row: 7 -> 8 columns, 14 -> 16, 112 -> 2 x 56
    ("dw_7x7", [1, 3, 7, 7], [3, 1, 3, 3], dict(group=3, pads=[1] * 4)),
    ("dw_s2_to_14", [1, 2, 28, 28], [2, 1, 3, 3], dict(group=2, pads=[1] * 4, strides=[2, 2])),
    ("dw_112", [1, 2, 112, 112], [2, 1, 3, 3], dict(group=2, pads=[1] * 4)),
    ("grouped", [1, 8, 9, 9], [12, 2, 3, 3], dict(group=4, pads=[0, 1, 1, 0], strides=[2, 1])),
    ("dw_multiplier", [1, 4, 9, 9], [8, 1, 3, 3], dict(group=4, pads=[1] * 4)),
    # pointwise (sgemm.c): 49 pixels end in a half-width tile (AVX2: 3 x 16 + 1, 1 in a
    # tile of 8), 196 too on AVX-512 (6 x 32 + 4); K = 300 is two blocks (the tail tile
    # reloads Y); 500 x 150 floats of A exceed one L2 block: two blocks of rows, the last
    # panel 2 rows; the fused Clip (ReLU6) runs in the half tile's epilogue
    ("pw_7x7_relu6", [1, 300, 7, 7], [500, 300, 1, 1], dict(clip=(0.0, 6.0))),
    ("pw_14x14", [1, 40, 14, 14], [24, 40, 1, 1], {}),
    # conv_direct.c packs each group's weights K block by K block, channel tiles inside:
    # K = 131 * 9 is two blocks of 590 and 589 taps, 40 channels are 3 tiles of 16
    ("grouped_k_blocks", [1, 262, 6, 6], [80, 131, 3, 3], dict(group=2, pads=[1] * 4)),
    # a padded conv's band buffer holds only the channels of one K block: 301 * 9 taps are
    # three blocks of 903 (the second starts at channel 100's fourth tap), stride 2, and
    # three bands of output rows, each filled once per K block; its 347 KB of weights are
    # prefetched a block ahead (the last block of a band prefetches nothing)
    ("k_block_bands_s2", [1, 301, 30, 29], [24, 301, 3, 3], dict(pads=[1, 0, 0, 1],
                                                                  strides=[2, 2])),
    ("k_block_dilated", [1, 150, 12, 12], [20, 150, 3, 3], dict(pads=[2] * 4, dilations=[2, 2])),
    # groups of channel tiles outside the K blocks: 150 channels are 10 tiles of 16 (avx2:
    # groups of 8 and 2, the last tile partial; avx512: 5 tiles of 32, groups of 4 and 1),
    # 31 * 9 taps two K blocks of 140 and 139
    ("channel_groups", [1, 31, 10, 9], [150, 31, 3, 3], dict(pads=[1] * 4)),
]


# Two convs whose kernels differ (conv_direct.c: 5 pixels x 16 channels for 7 x 7
# outputs, then 6 x 16 for 8 x 8): each file must define every microkernel it calls.
CHAINS = [("two_kernel_shapes", [1, 16, 7, 7], [([32, 16, 3, 3], dict(pads=[1] * 4)),
                                                ([8, 32, 3, 3], dict(pads=[1, 1, 2, 2]))])]


def check(wrpnc, d, name, xshape, wshape, attrs, target):
    rng = np.random.default_rng(1)
    convs = wshape if isinstance(wshape[0], tuple) else [(wshape, attrs)]
    nodes, inits, x = [], [], "x"
    for i, (ws, at) in enumerate(convs):
        y = "y" if i == len(convs) - 1 else f"h{i}"
        at = dict(at)
        clip = at.pop("clip", None)
        if clip:  # Conv -> Clip(lo, hi), which wrpnc fuses into the conv
            nodes.append(helper.make_node("Conv", [x, f"W{i}", f"B{i}"], [f"c{i}"], **at))
            nodes.append(helper.make_node("Clip", [f"c{i}", f"lo{i}", f"hi{i}"], [y]))
            inits += [numpy_helper.from_array(np.array(v, np.float32), f"{n}{i}")
                      for n, v in zip(("lo", "hi"), clip)]
        else:
            nodes.append(helper.make_node("Conv", [x, f"W{i}", f"B{i}"], [y], **at))
        inits += [numpy_helper.from_array(rng.standard_normal(ws).astype(np.float32), f"W{i}"),
                  numpy_helper.from_array(rng.standard_normal(ws[0]).astype(np.float32), f"B{i}")]
        x = y
    g = helper.make_graph(nodes, "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, xshape)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    path = os.path.join(d, name + ".onnx")
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    x = rng.standard_normal(xshape).astype(np.float32)
    return run_vs_ort(wrpnc, path, x, os.path.join(d, name), target)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wrpnc", required=True)
    a = ap.parse_args()
    tally = Tally()
    cases = CASES + [(n, x, c, None) for n, x, c in CHAINS]
    with tempfile.TemporaryDirectory() as d:
        check_on_targets(a.wrpnc, tally, cases, lambda c, t: check(a.wrpnc, d, *c, t))
    sys.exit(tally.finish())


if __name__ == "__main__":
    main()
