"""Networks too big to build are refused before anything is allocated, and what the checker
says about dtypes and BatchNorm agrees with what a forward pass does."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch

from netstudio.analysis import CheckResult, check
from netstudio.analysis.network_size import node_bytes, size_diagnostics
from netstudio.analysis.shapes import NodeInfo
from netstudio.catalog import TensorSpec
from netstudio.cli import main
from netstudio.compiler import compile_project
from netstudio.errors import GraphError
from netstudio.limits import format_bytes, memory_budget, parse_size, set_memory_budget
from netstudio.serialization import save_project

from .builders import chain_project


@pytest.fixture
def budget():
    """Set the memory budget for one test."""
    yield set_memory_budget
    set_memory_budget(None)


def test_a_900_byte_project_asking_for_4_gb_is_refused_without_allocating(tmp_path):
    """Linear(1, 5e8): refused by the hyperparameter's bound; in a process limited to 1.5 GB of
    address space, opening, checking and trying to compile it ends with one sentence."""
    doc, ids = chain_project([("Linear", {"in_features": 1, "out_features": 500_000_000})], shape=(2, 1))
    path = tmp_path / "huge.netstudio"
    save_project(doc.project, path)
    assert path.stat().st_size < 2000
    script = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
        from netstudio.serialization import load_project
        from netstudio.analysis import CheckResult, check
        from netstudio.compiler import compile_project
        from netstudio.errors import GraphError
        project = load_project({str(path)!r})
        result = check(project)
        print(result.errors[0].line())
        try:
            compile_project(project, result=result)
        except GraphError as err:
            print("refused")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    first, last = done.stdout.strip().splitlines()
    assert first == "0: invalid hyperparameter: 'out_features' must be between 1 and 16,777,216, not 500000000"
    assert last == "refused"


def test_a_network_over_the_budget_is_an_error_on_its_largest_block(budget):
    doc, ids = chain_project([("Linear", {"out_features": 1000}), ("ReLU", {}),
                              ("Linear", {"out_features": 10})])
    need = 4 * (20 * 1000 + 1000 + 1000 * 10 + 10)
    budget(need - 1)
    result = check(doc.project)
    (error,) = result.errors
    assert error.node_id == ids[0]
    assert error.line() == (f"0: the network needs {format_bytes(need)} for its parameters and constants, more than "
                            f"the memory budget of {format_bytes(need - 1)}; this block alone needs "
                            f"{format_bytes(4 * 21000)} (make it smaller, or raise the budget)")
    with pytest.raises(GraphError, match="memory budget"):
        compile_project(doc.project)
    budget(need)
    assert check(doc.project).ok
    assert check(doc.project).network_bytes == need


def test_a_tied_use_owns_no_bytes_so_only_the_owner_counts(budget):
    """b uses a's module: the network holds one weight, and the budget sees one."""
    doc, ids = chain_project([("Linear", {"out_features": 100}, "a"), ("Linear", {"out_features": 100}, "b")],
                             kind="graph", shape=(2, 100))
    one = 4 * (100 * 100 + 100)
    doc.tie("main", ids[1], ids[0])
    result = check(doc.project)
    assert node_bytes(doc.project, result) == {((), ids[0]): one} and result.network_bytes == one
    budget(one)
    assert check(doc.project).ok
    budget(one - 1)
    assert [(d.node_id, d.where) for d in check(doc.project).errors] == [(ids[0], "a")]


def test_the_size_is_read_from_what_inference_learned_and_the_largest_block_is_blamed():
    """From the infos alone: parameters by their dtype, a Constant by its output, a tied use nothing;
    over the budget the error names the largest block, not the last one."""
    doc, (a, b, c) = chain_project([("Linear", {"out_features": 100}, "a"), ("Linear", {"out_features": 100}, "b"),
                                    ("Linear", {"out_features": 3}, "c")], kind="graph", shape=(2, 100))
    k = doc.add_node("main", "Constant", "k", {"shape": [10]}).id
    doc.tie("main", b, a)
    weight = {"weight": (100, 100)}
    result = CheckResult(infos={((), a): NodeInfo(params=weight), ((), b): NodeInfo(params=weight),
                                ((), c): NodeInfo(params={"weight": (3,)}, param_dtype=torch.float64),
                                ((), k): NodeInfo({"out": TensorSpec((10,), torch.int64)})})
    assert node_bytes(doc.project, result) == {((), a): 40_000, ((), c): 24, ((), k): 80}
    assert size_diagnostics(doc.project, result, 40_104) == [] and result.network_bytes == 40_104
    [error] = size_diagnostics(doc.project, result, 40_103)
    assert (error.severity, error.node_id, error.where) == ("error", a, "a")
    assert error.message.endswith(f"this block alone needs {format_bytes(40_000)} (make it smaller, or raise the budget)")


def test_constants_count_towards_the_budget(budget):
    doc, ids = chain_project([("Add", {}, "add")], kind="graph", shape=(1000, 1000))
    big = doc.add_node("main", "Constant", "big", {"shape": [1000, 1000], "fill": "zeros"})
    doc.connect("main", big.id, "out", ids[0], "b")
    budget(4 * 1000 * 1000 - 1)
    assert [d.node_id for d in check(doc.project).errors] == [big.id]
    budget(4 * 1000 * 1000)
    assert check(doc.project).ok


def test_a_large_network_is_a_warning(budget):
    doc, _ = chain_project([("Linear", {"in_features": 20, "out_features": 16_000_000})])
    budget(1 << 40)
    result = check(doc.project, memory_budget=1 << 40)
    assert result.ok
    assert [d.message for d in result.diagnostics] == [
        f"the network's parameters and constants take {format_bytes(4 * (20 * 16_000_000 + 16_000_000))} of memory"]


def test_the_budget_is_a_setting(monkeypatch, budget):
    monkeypatch.setenv("NETSTUDIO_MEMORY_BUDGET", "3GB")
    assert memory_budget() == 3 << 30
    monkeypatch.setenv("NETSTUDIO_MEMORY_BUDGET", "nonsense")
    assert memory_budget() > 0   # a bad variable falls back to the default
    budget(12345)
    assert memory_budget() == 12345
    assert parse_size("1.5 gb") == int(1.5 * (1 << 30))
    assert parse_size("512MB") == 512 << 20


def test_float64_input_into_a_float32_linear_is_an_error_as_in_torch():
    doc, ids = chain_project([("Linear", {"out_features": 4}, "lin")], kind="graph")
    doc.set_param("main", doc.definition("main").inputs[0].id, "dtype", "float64")
    result = check(doc.project)
    assert [d.line() for d in result.errors] == [
        "lin: Linear's weights are float32 but it receives float64; set the Input's dtype to float32"]
    net = compile_project(doc.project, result=CheckResult())   # compiled anyway: torch agrees
    with pytest.raises(RuntimeError):
        net(torch.zeros(2, 20, dtype=torch.float64))


@pytest.mark.parametrize("block", ["Conv2d", "BatchNorm2d", "LayerNorm"])
def test_every_layer_with_weights_checks_the_dtype(block):
    params = {"LayerNorm": {"normalized_shape": [8]}}.get(block, {})
    doc, ids = chain_project([(block, params, "layer")], kind="graph", shape=(2, 3, 8, 8))
    doc.set_param("main", doc.definition("main").inputs[0].id, "dtype", "float16")
    assert any("receives float16" in d.message for d in check(doc.project).errors)


def test_batchnorm_with_one_value_per_channel_is_a_warning_and_runs_in_eval_mode(tmp_path, capsys):
    doc, ids = chain_project([("Linear", {"out_features": 8}), ("BatchNorm1d", {})], shape=(1, 20))
    result = check(doc.project)
    assert result.ok
    (warning,) = result.diagnostics
    assert warning.severity == "warning" and "training needs a batch of more than one" in warning.message
    net = compile_project(doc.project).eval()
    assert net(torch.ones(1, 20)).shape == (1, 8)
    with pytest.raises(ValueError):
        net.train()(torch.ones(1, 20))
    path = tmp_path / "bn.netstudio"
    save_project(doc.project, path)
    assert main(["summary", str(path)]) == 0
    assert main(["summary", str(path), "--input", "1,20"]) == 0
    assert "(1, 8)" in capsys.readouterr().out


def test_check_never_raises_on_values_a_file_may_hold():
    """Lists or objects where a name should be, a tie to a node with unknown settings, 1e400."""
    doc, ids = chain_project([("Linear", {"out_features": 8}, "a"), ("Linear", {"out_features": 8}, "b"),
                              ("AddScalar", {"value": 1.0}, "s")], kind="graph")
    d = doc.definition("main")
    d.nodes[ids[1]].tied_to = ids[0]
    d.nodes[ids[1]].params["bogus"] = 1
    d.nodes[ids[2]].params["value"] = float("inf")   # what 1e400 in a file becomes
    d.inputs[0].params["dtype"] = ["float32"]
    container = doc.add_node("main", "Block", "blk", {"definition": "main"})
    container.params["definition"] = {"a": 1}
    code = doc.add_node("main", "Code", "code_1", {"class_name": "X", "args": {}})
    code.params["class_name"] = ["X"]
    result = check(doc.project)
    assert not result.ok
    lines = [diag.line() for diag in result.errors]
    assert "b: Linear has no hyperparameter 'bogus'" in lines
    assert "s: invalid hyperparameter: 'value' must be finite" in lines
    assert any(line.startswith("X: invalid hyperparameter: 'dtype'") for line in lines)
    assert json.dumps(lines)
