"""Compiles a Fashion-MNIST ONNX model with wrpnc, builds it into classify.c and
classifies the real test set; shared by sweep.py and the e2e tests.

  write_test_set(folder, count)  -> (images, labels): uncompressed IDX files
  build(wrpnc, model, folder, target) -> the classify executable
  classify(exe, images, labels, predictions) -> (accuracy, predictions differing)
  integer_layers(wrpnc, model) -> number of QConv nodes in `wrpnc info`
"""
import gzip
import os
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = "/usr/share/datasets/fashion-mnist"
SHAPE = "image=1x1x28x28"


def sh(cmd, ok=(0,)):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode not in ok:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r.stdout


def write_test_set(folder, count=10000):
    """The first count test images and labels as uncompressed IDX files."""
    paths = []
    for name, head, size in (("images", 16, 784), ("labels", 8, 1)):
        src = f"{DATA}/t10k-{name}-idx{3 if name == 'images' else 1}-ubyte.gz"
        with gzip.open(src) as f:
            raw = bytearray(f.read())
        raw[4:8] = count.to_bytes(4, "big")  # the item count of the IDX header
        path = os.path.join(folder, f"t10k-{name}-{count}")
        with open(path, "wb") as g:
            g.write(bytes(raw[:head + count * size]))
        paths.append(path)
    return tuple(paths)


def cflags(wrpnc, target):
    return sh([wrpnc, "cflags", "--target", target]).split()


def native_target(wrpnc):
    return re.search(r"native = (\w+)", sh([wrpnc, "targets"])).group(1)


def build(wrpnc, model, folder, target="generic"):
    sh([wrpnc, "compile", model, "-o", folder, "--name", "fmnist", "--target", target,
        "--input-shape", SHAPE])
    exe = os.path.join(folder, "classify")
    sh(["cc", "-O2", "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror",
        *cflags(wrpnc, target), f"-I{folder}", os.path.join(HERE, "classify.c"), os.path.join(folder, "fmnist.c"),
        "-lm", "-o", exe])
    return exe


def classify(exe, images, labels, predictions):
    """Accuracy (0..1) and the count of predictions differing from the framework's."""
    text = sh([exe, images, labels, predictions], ok=(0, 3))
    acc = float(re.search(r"accuracy: ([0-9.]+) %", text).group(1)) / 100
    differ = int(re.search(r"framework's: (\d+)", text).group(1))
    return acc, differ


def integer_layers(wrpnc, model):
    """Layers wrpnc runs on integer codes: QConv nodes in `wrpnc info`."""
    out = sh([wrpnc, "info", model, "--input-shape", SHAPE])
    return len(re.findall(r"^\s*\d+\s+QConv\s", out, re.M))
