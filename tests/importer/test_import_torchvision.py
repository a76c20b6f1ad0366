"""torchvision's models: import → check → compile → same keys and outputs → export → same again.

torchvision is installed by ``make setup`` at the release paired with torch; without it these skip.
Inputs are small where the model allows (the architecture, not the resolution, is under test).
"""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from netstudio.analysis import check
from netstudio.compiler import compile_project
from netstudio.export import export_plain_pytorch
from netstudio.importer import from_module
from netstudio.importer.constructor_record import ConstructorRecord

try:
    from netstudio.importer.torchvision_models import import_torchvision_module
    models = import_torchvision_module("torchvision.models")
except ImportError:   # pragma: no cover - depends on the machine
    models = None

pytestmark = pytest.mark.skipif(models is None, reason="torchvision is not installed")

# model -> (input size, the parts expected to become code blocks: torchvision's own operators)
CASES = {
    "alexnet": (64, set()),
    "resnet18": (64, set()),
    "squeezenet1_0": (64, set()),
    "mobilenet_v2": (64, set()),
    "mobilenet_v3_small": (64, set()),
    "shufflenet_v2_x0_5": (64, set()),
    "mnasnet0_5": (64, set()),
    "efficientnet_b0": (64, {"StochasticDepth"}),
    "vit_b_16": (224, set()),
    # its layers take the list of the features so far, and the last ones join more than a Concat takes
    "densenet121": (64, set()),
    # its auxiliary heads run only in training
    "googlenet": (64, set()),
    # its stages name their blocks 'block1-0'
    "regnet_y_400mf": (64, set()),
    # torchvision marks its window attention and patch merging as untraceable (torch.fx.wrap); the attention
    # keeps no 'dim', so only the recorded arguments rebuild it
    "swin_t": (64, {"ShiftedWindowAttention", "PatchMerging", "StochasticDepth"}),
    # its auxiliary head runs only in training (and needs 299×299: its 5×5 kernel); its AuxLogits.fc carries
    # an attribute torchvision sets for its init (stddev); its pools pass return_indices=False
    "inception_v3": (299, set()),
}
BUILT_WITH = {"googlenet": {"init_weights": False}, "inception_v3": {"init_weights": False}}   # the default warns
NOTES = {"googlenet": ["The model (GoogLeNet) calls 'aux1' and 'aux2' only in training; the project calls them "
                       "always and leaves their output unused, so training the project does not train them."],
         "inception_v3": ["The model (Inception3) calls 'AuxLogits' only in training; the project calls it always "
                          "and leaves its output unused, so training the project does not train it."]}
SLOW = {"densenet121", "googlenet", "regnet_y_400mf", "swin_t", "inception_v3"}   # over 5 s each on two cores


@pytest.mark.parametrize("name", [pytest.param(name, marks=[pytest.mark.slow] if name in SLOW else [])
                                  for name in sorted(CASES)])
def test_a_torchvision_model_imports_with_its_names_weights_and_outputs(name, tmp_path, isolated):
    size, code_classes = CASES[name]
    torch.manual_seed(0)
    with ConstructorRecord() as record:   # as ``netstudio import`` builds it: code blocks need the arguments
        model = getattr(models, name)(weights=None, **BUILT_WITH.get(name, {})).eval()
    x = torch.randn(1, 3, size, size)
    result = from_module(model, x, record=record)
    assert {f.class_name for f in result.fallbacks} == code_classes, [f.line() for f in result.fallbacks]
    assert result.problems == NOTES.get(name, [])
    assert check(result.project).ok
    compiled = compile_project(result.project)
    assert list(compiled.state_dict()) == list(model.state_dict())
    compiled.load_state_dict(model.state_dict(), strict=True)
    compiled.eval()
    with torch.no_grad():
        expected = model(x)
        assert torch.equal(compiled(x), expected)
    export_plain_pytorch(result.project, compiled, tmp_path)
    save_file({"input.0": x, "expected.0": expected.contiguous()}, tmp_path / "io.safetensors")
    report = isolated({name: tmp_path})[name]
    assert report["ok"], report.get("error")
    assert report["keys"] == list(model.state_dict()) and report["same"]
