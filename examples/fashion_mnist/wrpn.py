"""WRPN building blocks for PyTorch: the k-bit quantizers of wrpn.md §1 with
the straight-through estimator, and layers that use them.

Activations (replace ReLU): q = rint(N * clip(x, 0, 1)) / N, N = 2^k - 1.
Weights: q = rint(M * clip(w, -1, 1)) / M, M = 2^(k-1) - 1; k = 1 is binary,
sign(w) * mean|w| per output channel (sign(0) = +1). torch.round rounds half
to even, as ONNX Round does. In export mode the quantizers are written as
plain ONNX arithmetic (Clip -> Mul -> Round -> Div), one of the quantized
forms wrpnc imports; weights are folded into constants on the k-bit grid.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, g):
        return g


def quant_act(x, k, exporting=False):
    n = float(2 ** k - 1)
    y = torch.clamp(x, 0.0, 1.0) * n
    y = torch.round(y) if exporting else _RoundSTE.apply(y)
    return y / n


def quant_weight(w, k):
    if k >= 32:
        return w
    if k == 1:
        alpha = w.abs().mean(dim=tuple(range(1, w.dim())), keepdim=True)
        sign = torch.where(w >= 0, torch.ones_like(w), -torch.ones_like(w))
        return w + (sign * alpha - w).detach()
    m = float(2 ** (k - 1) - 1)
    return _RoundSTE.apply(torch.clamp(w, -1.0, 1.0) * m) / m


class ActQ(nn.Module):
    """The activation quantizer; k >= 32 means a plain ReLU."""

    def __init__(self, k):
        super().__init__()
        self.k = k
        self.exporting = False

    def forward(self, x):
        if self.k >= 32:
            return F.relu(x)
        return quant_act(x, self.k, self.exporting)


class QConv2d(nn.Conv2d):
    def __init__(self, *args, wbits=32, **kw):
        super().__init__(*args, **kw)
        self.wbits = wbits
        if wbits < 32:
            # The default init (|w| < 1/sqrt(fan_in)) rounds every weight to 0 at 4 bits and
            # below (|w| < 1/(2M)); an all-zero layer followed by BatchNorm passes no gradient
            # back and never trains. BN makes the weight scale irrelevant, so use the full grid.
            nn.init.uniform_(self.weight, -1.0, 1.0)

    def forward(self, x):
        return self._conv_forward(x, quant_weight(self.weight, self.wbits), self.bias)


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
        x = F.max_pool2d(self.act1(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(self.act2(self.bn2(self.conv2(x))), 2)
        x = self.act3(self.bn3(self.conv3(x)))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)

    def set_exporting(self, on=True):
        for m in self.modules():
            if isinstance(m, ActQ):
                m.exporting = on
