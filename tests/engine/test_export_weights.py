"""``netstudio export`` of a project that carries trained weights writes those weights, not the seed's."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from netstudio.cli import main
from netstudio.compiler import compile_project
from netstudio.export import materialize
from netstudio.serialization import load_project, save_project

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def trained(name: str) -> tuple:
    """An example compiled and materialized, with every parameter changed as training would."""
    project = load_project(EXAMPLES / f"{name}.netstudio")
    net = compile_project(project)
    materialize(project, net)
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in net.parameters():  # tied parameters appear once, so they stay tied
            p.copy_(torch.randn(p.shape, generator=generator))
    return project, net


def export(capsys, *args) -> tuple[int, str, str]:
    code = main(["export", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", ["mlp", "lazy_mlp", "tied"])
def test_export_writes_the_stored_weights(capsys, tmp_path, name):
    project, net = trained(name)
    save_project(project, tmp_path / "trained.netstudio", weights=net.state_dict())
    code, out, err = export(capsys, tmp_path / "trained.netstudio", tmp_path / "out")
    assert (code, err) == (0, "")
    written = load_file(tmp_path / "out" / "model.safetensors")
    assert sorted(written) == sorted(net.state_dict())
    for key, value in net.state_dict().items():
        assert torch.equal(written[key], value), key
    initial = compile_project(load_project(EXAMPLES / f"{name}.netstudio"))
    materialize(project, initial)
    assert not torch.equal(written["0.weight"], initial.state_dict()["0.weight"])


def test_stored_tensors_that_do_not_fit_are_reported_not_dropped(capsys, tmp_path):
    project, net = trained("mlp")
    weights = dict(net.state_dict())
    weights["0.weight"] = torch.ones(3, 4)        # the wrong shape
    weights["extra.bias"] = torch.zeros(2)        # not in the network
    del weights["2.bias"]                          # not stored
    save_project(project, tmp_path / "trained.netstudio", weights=weights)
    code, out, err = export(capsys, tmp_path / "trained.netstudio", tmp_path / "out")
    assert code == 0
    assert out.split() == [str(tmp_path / "out" / "model.py"), str(tmp_path / "out" / "model.safetensors")]
    assert err.splitlines() == [
        "warning: stored tensor '0.weight' (3, 4) does not fit the network's (256, 20); it is not exported",
        "warning: stored tensor 'extra.bias' is not in the network; it is not exported",
        "warning: the network's tensor '2.bias' is not among the stored weights; its initial value is exported",
    ]
    written = load_file(tmp_path / "out" / "model.safetensors")
    initial = compile_project(load_project(EXAMPLES / "mlp.netstudio")).state_dict()
    assert torch.equal(written["0.weight"], initial["0.weight"])
    assert torch.equal(written["2.bias"], initial["2.bias"])
    assert torch.equal(written["2.weight"], net.state_dict()["2.weight"])
    assert "extra.bias" not in written


def test_odd_stored_names_stay_on_one_warning_line(capsys, tmp_path):
    project, net = trained("mlp")
    weights = dict(net.state_dict(), **{"evil\nname\x00\u2028": torch.zeros(1)})
    save_project(project, tmp_path / "trained.netstudio", weights=weights)
    code, _, err = export(capsys, tmp_path / "trained.netstudio", tmp_path / "out")
    assert code == 0
    assert err.splitlines() == ["warning: stored tensor 'evil\\nname\\x00\\u2028' is not in the network; "
                                "it is not exported"]


def test_a_project_without_weights_exports_the_initial_values(capsys, tmp_path):
    code, _, err = export(capsys, EXAMPLES / "mlp.netstudio", tmp_path / "out")
    assert (code, err) == (0, "")
    written = load_file(tmp_path / "out" / "model.safetensors")
    initial = compile_project(load_project(EXAMPLES / "mlp.netstudio")).state_dict()
    assert all(torch.equal(written[k], v) for k, v in initial.items())
