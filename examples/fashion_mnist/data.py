"""Fashion-MNIST from Debian's dataset-fashion-mnist package (no download)."""
import gzip
import os

import numpy as np

ROOT = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
           "Sneaker", "Bag", "Ankle boot"]


def _idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split):
    """Images as float32 N x 1 x 28 x 28 in [0, 1], labels as int64."""
    pre = "train" if split == "train" else "t10k"
    x = _idx(os.path.join(ROOT, f"{pre}-images-idx3-ubyte.gz")).astype(np.float32) / 255.0
    y = _idx(os.path.join(ROOT, f"{pre}-labels-idx1-ubyte.gz")).astype(np.int64)
    return x[:, None, :, :], y
