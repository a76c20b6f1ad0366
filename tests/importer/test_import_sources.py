"""``netstudio import`` and the sources it reads: a project on success, one sentence on every failure."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from netstudio.cli import main
from netstudio.serialization import load_project_and_weights
from netstudio.trust import TrustStore

MODEL = textwrap.dedent('''
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(6, 8)
            self.out = nn.Linear(8, 3)

        def forward(self, x):
            return self.out(torch.relu(self.hidden(x)))

    def make_net():
        return Net()

    NOT_A_MODEL = 42

    class NeedsArgs(nn.Module):
        def __init__(self, width):
            super().__init__()

    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            raise ValueError("no GPU here")

    class WrongShape(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(6, 8)

        def forward(self, x):
            return self.lin(x)
''')


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "models.py"
    path.write_text(MODEL)
    return path


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("NETSTUDIO_DATA_DIR", str(folder))
    return folder


@pytest.mark.parametrize("name", ["Net", "make_net"])
def test_import_writes_a_project_with_the_models_weights(model_file, tmp_path, capsys, name):
    out = tmp_path / "net.netstudio"
    assert main(["import", f"{model_file}:{name}", str(out), "--input", "4,6"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    project, weights = load_project_and_weights(out)
    assert list(weights) == ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]
    assert project.root_definition.inputs[0].params == {"shape": [4, 6], "dtype": "float32"}


def test_code_blocks_made_by_an_import_are_trusted_through_the_record_not_the_file(tmp_path, data_dir, capsys):
    source = tmp_path / "loopy.py"
    source.write_text(textwrap.dedent('''
        from torch import nn

        class Loopy(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(4, 4)

            def forward(self, x):
                while x.abs().sum() > 1:
                    x = x / 2
                return self.lin(x)
    '''))
    out = tmp_path / "loopy.netstudio"
    assert main(["import", f"{source}:Loopy", str(out), "--input", "2,4"]) == 0
    err = capsys.readouterr().err
    assert "code block: (the model) (Loopy): torch.fx cannot trace its forward" in err
    project, _ = load_project_and_weights(out)
    assert project.trusted is False                        # the file itself says nothing about trust
    assert TrustStore(data_dir / "trusted-code.json").trusts(project)


@pytest.mark.parametrize("source, message", [
    ("{dir}/missing.py:Net", "There is no file '{dir}/missing.py'."),
    ("{file}:Nope", "{file} has no 'Nope'."),
    ("{file}:NOT_A_MODEL", "NOT_A_MODEL is neither an nn.Module class nor a function that returns one."),
    ("{file}:NeedsArgs", "NeedsArgs() cannot be built without arguments: TypeError: "),
    ("{file}:Broken", "Broken() failed: ValueError: no GPU here."),
    ("{file}", "does not name a model: write path/to/file.py:NAME or package.module:NAME."),
    ("no_such_package_xyz:Net", "Importing no_such_package_xyz failed: ModuleNotFoundError: "),
    ("{dir}/model.onnx", "There is no file '{dir}/model.onnx'."),   # an ONNX file: tests/importer/test_import_onnx*.py
])
def test_a_bad_source_is_one_line_and_exit_2(model_file, tmp_path, capsys, source, message):
    source = source.format(file=model_file, dir=tmp_path)
    out = tmp_path / "x.netstudio"
    assert main(["import", source, str(out), "--input", "4,6"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("netstudio: ")
    assert message.format(file=model_file, dir=tmp_path) in err
    assert not out.exists()


def test_a_forward_that_fails_on_the_given_shape_is_one_line(model_file, tmp_path, capsys):
    assert main(["import", f"{model_file}:WrongShape", str(tmp_path / "x.netstudio"), "--input", "4,5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "expects 6 input features, receives 5" in err


def test_the_input_shape_is_required_and_checked(model_file, tmp_path, capsys):
    assert main(["import", f"{model_file}:Net", str(tmp_path / "x.netstudio")]) == 2
    assert "Give the model's input shape with --input" in capsys.readouterr().err
    assert main(["import", f"{model_file}:Net", str(tmp_path / "x.netstudio"), "--input", "4,6",
                 "--dtype", "complex64"]) == 2
    assert "The input dtype must be one of float32" in capsys.readouterr().err


def test_the_command_runs_as_installed(model_file, tmp_path):
    out = tmp_path / "net.netstudio"
    done = subprocess.run([sys.executable, "-m", "netstudio.cli", "import", f"{model_file}:Net", str(out),
                           "--input", "4,6;"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "argument --input: '' is not a shape" in done.stderr.splitlines()[-1]
    done = subprocess.run([sys.executable, "-m", "netstudio.cli", "import", f"{model_file}:Net", str(out),
                           "--input", "4,6"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and done.stdout.strip() == str(out)
    assert load_project_and_weights(out)[1]["out.bias"].shape == (3,)
