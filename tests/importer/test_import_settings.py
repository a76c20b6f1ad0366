"""What a model sets beside its constructor, and keywords fx writes at their defaults, do not stop an import."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from netstudio.export.constructors import base_namespace, constructor_call
from netstudio.importer import from_module


def test_an_attribute_the_model_set_itself_does_not_stop_a_constructor_call():
    """torchvision sets ``fc.stddev`` for its own init; the Linear is still ``nn.Linear(8, 4)``."""
    linear = nn.Linear(8, 4)
    linear.stddev = 0.001
    assert constructor_call(linear, base_namespace()) == "nn.Linear(in_features=8, out_features=4, bias=True)"


def test_a_changed_setting_still_stops_it():
    pool = nn.MaxPool2d(2)
    pool.ceil_mode = True        # the constructor has this setting: a call without it would not rebuild the pool
    assert "ceil_mode=True" in constructor_call(pool, base_namespace())


class _Pools(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.fc.stddev = 0.1

    def forward(self, x):
        return self.fc(F.max_pool2d(x, 2, return_indices=False).flatten(1))


def test_such_a_model_imports_as_blocks_only():
    model = _Pools().eval()
    x = torch.randn(1, 1, 4, 4)
    result = from_module(model, x)
    assert result.fallbacks == []
    types = sorted(n.type for n in result.project.root_definition.nodes.values())
    assert "Linear" in types and "Code" not in types
