"""WRPN building blocks for PyTorch: the k-bit quantizers of wrpn.md §1 with
the straight-through estimator, and layers that use them.

Activations (replace ReLU): q = rint(N * clip(x, 0, 1)) / N, N = 2^k - 1.
Weights: q = rint(M * clip(w, -1, 1)) / M, M = 2^(k-1) - 1; k = 1 is binary,
sign(w) * mean|w| per output channel (sign(0) = +1). torch.round rounds half
to even, as ONNX Round does.

Modes (Net.set_mode): "train" (STE rounding); "arith", the quantizers as plain
ONNX arithmetic (Clip -> Mul -> Round -> Div) with the weights folded into
constants on the k-bit grid; "qonnx", the quantizers as QONNX nodes (domain
qonnx.custom_op.general): activations Quant(scale 1/N, unsigned), weights
IntQuant(scale 1/M, signed, narrow) or, at 1 bit, BipolarQuant(scale alpha per
output channel), over the float weights. In "qonnx" mode PyTorch computes exactly what those nodes
define (x / scale, round, clamp, times scale; scale = float32(1/N)), so its
predictions are the reference for the exported graph.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

QONNX_DOMAIN = "qonnx.custom_op.general"


class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, g):
        return g


class _QonnxQuant(torch.autograd.Function):
    """QONNX Quant / IntQuant with zero point 0, rounding ROUND (half to even)."""

    @staticmethod
    def forward(ctx, x, scale, bits, signed, narrow, op):
        lo = -(2 ** (bits - 1)) + narrow if signed else 0
        hi = 2 ** (bits - 1) - 1 if signed else 2 ** bits - 1 - narrow
        return torch.clamp(torch.round(x / scale), float(lo), float(hi)) * scale

    @staticmethod
    def symbolic(g, x, scale, bits, signed, narrow, op):
        zero = g.op("Constant", value_t=torch.tensor(0.0))
        bw = g.op("Constant", value_t=torch.tensor(float(bits)))
        y = g.op(f"{QONNX_DOMAIN}::{op}", x, scale, zero, bw, signed_i=signed,
                 narrow_i=narrow, rounding_mode_s="ROUND")
        y.setType(x.type())
        return y


class _QonnxBipolar(torch.autograd.Function):
    """QONNX BipolarQuant: x >= 0 -> +1 else -1, times scale."""

    @staticmethod
    def forward(ctx, x, scale):
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x)) * scale

    @staticmethod
    def symbolic(g, x, scale):
        y = g.op(f"{QONNX_DOMAIN}::BipolarQuant", x, scale)
        y.setType(x.type())
        return y


def quant_act(x, k, mode="train"):
    n = 2 ** k - 1
    if mode == "qonnx":
        return _QonnxQuant.apply(x, torch.tensor(1.0 / n), k, 0, 0, "Quant")
    y = torch.clamp(x, 0.0, 1.0) * float(n)
    y = torch.round(y) if mode == "arith" else _RoundSTE.apply(y)
    return y / float(n)


def binary_alpha(w):
    return w.abs().mean(dim=tuple(range(1, w.dim())), keepdim=True)


def quant_weight(w, k):
    if k >= 32:
        return w
    if k == 1:
        sign = torch.where(w >= 0, torch.ones_like(w), -torch.ones_like(w))
        return w + (sign * binary_alpha(w) - w).detach()
    m = float(2 ** (k - 1) - 1)
    return _RoundSTE.apply(torch.clamp(w, -1.0, 1.0) * m) / m


def quant_weight_qonnx(w, k):
    """The k-bit weights as a QONNX node over the float weights (as QONNX exporters
    write them): IntQuant clamps to [-M, M], which is the clip to [-1, 1]."""
    if k == 1:
        # alpha becomes a constant of the graph, not a traced computation
        alpha = torch.tensor(binary_alpha(w).detach().numpy())
        return _QonnxBipolar.apply(w, alpha)
    m = 2 ** (k - 1) - 1
    return _QonnxQuant.apply(w, torch.tensor(1.0 / m), k, 1, 1, "IntQuant")


class ActQ(nn.Module):
    """The activation quantizer; k >= 32 means a plain ReLU."""

    def __init__(self, k):
        super().__init__()
        self.k = k
        self.mode = "train"

    def forward(self, x):
        if self.k >= 32:
            return F.relu(x)
        return quant_act(x, self.k, self.mode)


class QConv2d(nn.Conv2d):
    def __init__(self, *args, wbits=32, **kw):
        super().__init__(*args, **kw)
        self.wbits = wbits
        self.mode = "train"
        if wbits < 32:
            # The default init (|w| < 1/sqrt(fan_in)) rounds every weight to 0 at 4 bits and
            # below (|w| < 1/(2M)); an all-zero layer followed by BatchNorm passes no gradient
            # back and never trains. BN makes the weight scale irrelevant, so use the full grid.
            nn.init.uniform_(self.weight, -1.0, 1.0)

    def forward(self, x):
        if self.mode == "qonnx" and self.wbits < 32:
            w = quant_weight_qonnx(self.weight, self.wbits)
        else:
            w = quant_weight(self.weight, self.wbits)
        return self._conv_forward(x, w, self.bias)


class Net(nn.Module):
    """A small Fashion-MNIST CNN; width multiplies every hidden channel count.
    First conv and classifier stay fp32 (the usual WRPN policy)."""

    def __init__(self, width=1.0, wbits=32, abits=32):
        super().__init__()
        c1, c2, c3 = (int(round(c * width)) for c in (16, 32, 64))
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c1)
        self.act1 = ActQ(abits)
        self.conv2 = QConv2d(c1, c2, 3, padding=1, bias=False, wbits=wbits)
        self.bn2 = nn.BatchNorm2d(c2)
        self.act2 = ActQ(abits)
        self.conv3 = QConv2d(c2, c3, 3, padding=1, bias=False, wbits=wbits)
        self.bn3 = nn.BatchNorm2d(c3)
        self.act3 = ActQ(abits)
        self.fc = nn.Linear(c3, 10)

    def forward(self, x):
        # Pool before quantizing: a monotone quantizer commutes with max, so this is the
        # same function, quantizes 4x fewer values and puts each quantizer right in front
        # of the conv that reads it (the pattern wrpnc lowers to integer kernels).
        x = self.act1(F.max_pool2d(self.bn1(self.conv1(x)), 2))
        x = self.act2(F.max_pool2d(self.bn2(self.conv2(x)), 2))
        x = self.act3(self.bn3(self.conv3(x)))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)

    def param_groups(self, lr, qlr_mult):
        """Adam parameter groups: the k-bit conv weights (wbits < 32) at lr * qlr_mult, the
        rest at lr. Those weights live on [-1, 1] (BatchNorm follows, so their scale is free)
        and only a change of at least the grid step 1/M reaches the forward pass; Adam moves
        each weight by about lr per step whatever its scale, so at the lr of the fp32 weights
        (|w| ~ 1/sqrt(fan_in)) they barely cross a grid step and train far slower."""
        q = [m.weight for m in self.modules() if isinstance(m, QConv2d) and m.wbits < 32]
        ids = {id(p) for p in q}
        rest = [p for p in self.parameters() if id(p) not in ids]
        return [{"params": rest, "lr": lr}] + ([{"params": q, "lr": lr * qlr_mult}] if q else [])

    def set_mode(self, mode):
        """'train' (STE), 'arith' or 'qonnx' (export forms, see the module doc)."""
        assert mode in ("train", "arith", "qonnx")
        for m in self.modules():
            if isinstance(m, (ActQ, QConv2d)):
                m.mode = mode

    def set_exporting(self, on=True):
        self.set_mode("arith" if on else "train")
