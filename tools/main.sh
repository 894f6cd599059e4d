#!/usr/bin/env bash
# tools/main.sh: the main job. Sets up (idempotent), builds wrpnc, compiles the
# shipped Fashion-MNIST model to C, builds it into examples/fashion_mnist/
# classify.c with -Wall -Wextra -Werror, and classifies the real test set.
#   tools/main.sh [MODEL.onnx]   (default: the shipped fp32 model)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh

model=${1:-examples/fashion_mnist/models/fmnist_fp32.onnx}
out=build/example
data=/usr/share/datasets/fashion-mnist
mkdir -p "$out"
target=${WRPNC_TARGET:-native}
build/wrpnc compile "$model" -o "$out" --name fmnist --target "$target" \
    --input-shape image=1x1x28x28
cc=$(command -v clang || command -v cc)
# shellcheck disable=SC2046 # the flags are words
$cc -O2 -std=c99 -Wall -Wextra -Werror $(build/wrpnc cflags --target "$target") -I"$out" \
    examples/fashion_mnist/classify.c "$out/fmnist.c" -lm -o "$out/classify"
gzip -dc "$data/t10k-images-idx3-ubyte.gz" > "$out/images.idx"
gzip -dc "$data/t10k-labels-idx1-ubyte.gz" > "$out/labels.idx"
ref="${model%.onnx}.pred.u8"
echo "model: $model (framework accuracy: $(grep -o '"test_accuracy": [0-9.]*' "${model%.onnx}.json" | cut -d' ' -f2))"
"$out/classify" "$out/images.idx" "$out/labels.idx" "$ref"
