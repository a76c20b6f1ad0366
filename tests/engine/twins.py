"""Hand-written PyTorch twins of the bundled examples (the seed notes' models).

Written here in our own code: the tests compare each compiled example with its
twin key for key and output for output.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.LazyLinear(256)
        self.out = nn.LazyLinear(10)

    def forward(self, X):
        return self.out(F.relu(self.hidden(X)))


class MySequential(nn.Module):
    def __init__(self, *args):
        super().__init__()
        for idx, module in enumerate(args):
            self.add_module(str(idx), module)

    def forward(self, X):
        for module in self.children():
            X = module(X)
        return X


class FixedHiddenMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.rand_weight = torch.rand((20, 20))
        self.linear = nn.LazyLinear(20)

    def forward(self, X):
        X = self.linear(X)
        X = F.relu(X @ self.rand_weight + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X /= 2
        return X.sum()


class NestMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.LazyLinear(64), nn.ReLU(), nn.LazyLinear(32), nn.ReLU())
        self.linear = nn.LazyLinear(16)

    def forward(self, X):
        return self.linear(self.net(X))


class CenteredLayer(nn.Module):
    def forward(self, X):
        return X - X.mean()


class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units,))

    def forward(self, X):
        return F.relu(torch.matmul(X, self.weight.data) + self.bias.data)


def rgnet():
    def block1():
        return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())

    def block2():
        net = nn.Sequential()
        for i in range(4):
            net.add_module(f"block {i}", block1())
        return net

    return nn.Sequential(block2(), nn.Linear(4, 1))


def tied():
    shared = nn.LazyLinear(8)
    return nn.Sequential(nn.LazyLinear(8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.LazyLinear(1))


def lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(400, 120), nn.BatchNorm1d(120), nn.ReLU(),
                         nn.Linear(120, 84), nn.BatchNorm1d(84), nn.ReLU(), nn.Linear(84, 4))


TWINS = {
    # name: (factory, input shape)
    "mlp": (lambda: nn.Sequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10)), (2, 20)),
    "mlp_block": (MLP, (2, 20)),
    "my_sequential": (lambda: MySequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10)), (2, 20)),
    "fixed_hidden_mlp": (FixedHiddenMLP, (2, 20)),
    "nest_mlp": (NestMLP, (2, 20)),
    "chimera": (lambda: nn.Sequential(NestMLP(), nn.LazyLinear(20), FixedHiddenMLP()), (2, 20)),
    "param_access": (lambda: nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(1)), (2, 4)),
    "rgnet": (rgnet, (2, 4)),
    "tied": (tied, (2, 20)),
    "lazy_mlp": (lambda: nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10)), (2, 20)),
    "centered": (lambda: nn.Sequential(nn.Linear(8, 128), CenteredLayer()), (4, 8)),
    "my_linear": (lambda: nn.Sequential(MyLinear(64, 8), MyLinear(8, 1)), (2, 64)),
    "lenet": (lenet, (2, 1, 28, 28)),
}
