"""``netstudio check`` and ``summary``: headless, documented exit codes, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netstudio.cli import main


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_valid_example(capsys, examples_dir):
    code, out, err = run(capsys, "check", str(examples_dir / "mlp.netstudio"))
    assert (code, out.strip(), err) == (0, "mlp: valid", "")


def test_check_untrusted_code_is_invalid_until_trusted(capsys, examples_dir):
    code, out, _ = run(capsys, "check", str(examples_dir / "centered.netstudio"))
    assert code == 1
    assert out.strip() == "error: 1: code block CenteredLayer is disabled because the project is not trusted"
    assert run(capsys, "check", "--trust", str(examples_dir / "centered.netstudio"))[0] == 0


def test_check_invalid_graph_prints_node_name_and_message(capsys, examples_dir, tmp_path):
    text = (examples_dir / "mlp.netstudio").read_text().replace('"in_features": 256', '"in_features": 128')
    path = tmp_path / "bad.netstudio"
    path.write_text(text)
    code, out, _ = run(capsys, "check", str(path))
    assert code == 1
    assert out.strip() == "error: 2: Linear expects 128 input features, receives 256"


@pytest.mark.parametrize("content", [b"", b"garbage", b'{"format": "netstudio-project", "version": 7}'])
def test_unreadable_files_exit_2_with_one_line(capsys, tmp_path, content):
    path = tmp_path / "x.netstudio"
    path.write_bytes(content)
    for command in ("check", "summary"):
        code, out, err = run(capsys, command, str(path))
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and err.startswith("netstudio: ") and "Traceback" not in err


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=120))
def test_random_bytes_exit_2(tmp_path, capsys, content):
    path = tmp_path / "random.netstudio"
    path.write_bytes(content)
    code, out, err = run(capsys, "check", str(path))
    assert code == 2 and err.count("\n") == 1


def test_missing_file_and_bad_arguments(capsys, tmp_path):
    code, _, err = run(capsys, "check", str(tmp_path / "nope.netstudio"))
    assert code == 2 and "Cannot read nope.netstudio" in err
    code, _, err = run(capsys, "summary", "x.netstudio", "--input", "2,a")
    assert code == 2


def test_summary_table(capsys, examples_dir):
    code, out, _ = run(capsys, "summary", str(examples_dir / "mlp.netstudio"))
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["Module", "(type)", "Output", "shape", "Param", "#", "Notes"]
    assert "0 (Linear)" in lines[3] and "(2, 256)" in lines[3] and "5,376" in lines[3]
    assert lines[-2] == "Total params: 7,946" and lines[-1] == "Params size: 31.04 KB"


def test_summary_with_another_input_and_shared_parameters(capsys, examples_dir):
    code, out, _ = run(capsys, "summary", str(examples_dir / "tied.netstudio"), "--input", "5,3")
    assert code == 0
    row2 = next(line for line in out.splitlines() if line.strip().startswith("2 (Linear)"))
    row4 = next(line for line in out.splitlines() if line.strip().startswith("4 (Linear)"))
    assert "(5, 8)" in row2 and "72" in row2 and "shared with 4" in row2
    assert "(counted once)" in row4 and "shared with 2" in row4
    assert "Total params: 113" in out  # 3*8+8 + 8*8+8 + 8*1+1: the shared layer once


def test_cli_runs_headless_in_a_subprocess(examples_dir, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    ok = subprocess.run([sys.executable, "-m", "netstudio.cli", "summary", str(examples_dir / "rgnet.netstudio")],
                        capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0 and "0.block 0" not in ok.stdout and "block 0 (Sequential)" in ok.stdout
    bad = tmp_path / "bad.netstudio"
    bad.write_text("{")
    failed = subprocess.run([sys.executable, "-m", "netstudio.cli", "check", str(bad)],
                            capture_output=True, text=True, env=env, timeout=120)
    assert failed.returncode == 2 and "Traceback" not in failed.stderr and failed.stderr.count("\n") == 1
    assert "PySide6" not in ok.stderr
