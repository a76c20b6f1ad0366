"""Launching: ``netstudio``/``python -m ui`` start the app; the engine's subcommands and the
desktop-entry options work without a display."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from netstudio import desktop_entry
from ui.shell.app import run_app
from ui.shell.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("netstudio")
VALIDATOR = shutil.which("desktop-file-validate")


def headless_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(extra)
    return env


def run(args, **env) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=headless_env(**env), capture_output=True, text=True, timeout=120)


def split_exec(value: str) -> list[str]:
    """The Exec arguments as a launcher reads them: string escapes first, then quoting."""
    text = value.replace("\\\\", "\\")
    args, current, quoted, i = [], None, False, 0
    while i < len(text):
        c = text[i]
        if quoted and c == "\\":
            current += text[i + 1]
            i += 1
        elif c == '"':
            quoted, current = not quoted, current or ""
        elif c == " " and not quoted:
            if current is not None:
                args.append(current)
            current = None
        else:
            current = (current or "") + c
        i += 1
    return args + ([current] if current is not None else [])


def test_help_needs_no_display():
    result = run([sys.executable, "-m", "ui", "--help"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: netstudio") and "--install-desktop" in result.stdout


def test_without_a_display_the_app_says_so_in_one_line():
    result = run([sys.executable, "-m", "ui", "resources/examples/mlp.netstudio"])
    assert result.returncode == 2
    assert result.stderr.startswith("netstudio: no display") and result.stderr.count("\n") == 1


@pytest.mark.skipif(not SCRIPT.exists(), reason="the netstudio script is not installed in this environment")
def test_engine_subcommands_need_no_display():
    result = run([str(SCRIPT), "check", "resources/examples/mlp.netstudio"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "mlp: valid"
    result = run([str(SCRIPT), "summary", "resources/examples/tied.netstudio"])
    assert result.returncode == 0 and "Total params" in result.stdout


def test_run_app_shows_the_window_on_the_given_project(examples_dir):
    seen = []

    def look_and_close():
        [window] = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        seen.append((window.windowTitle(), window.controller.document.project.name))
        window.close()  # the last window: the app's event loop ends

    QTimer.singleShot(200, look_and_close)
    assert run_app([str(examples_dir / "tied.netstudio")]) == 0
    assert seen == [("tied.netstudio (example)[*] — NetStudio", "tied")]


@pytest.mark.skipif(not SCRIPT.exists(), reason="the netstudio script is not installed in this environment")
def test_install_and_uninstall_the_desktop_entry(tmp_path):
    data = tmp_path / "xdg-data"
    result = run([str(SCRIPT), "--install-desktop"], XDG_DATA_HOME=str(data))
    assert result.returncode == 0, result.stderr
    entry = data / "applications" / "netstudio.desktop"
    icon = data / "icons" / "hicolor" / "scalable" / "apps" / "netstudio.svg"
    assert entry.is_file() and icon.read_bytes() == desktop_entry.ICON.read_bytes()
    fields = dict(line.split("=", 1) for line in entry.read_text().splitlines() if "=" in line)
    command = shlex.split(fields["Exec"])
    assert command[0] == str(SCRIPT) and os.access(command[0], os.X_OK) and command[-1] == "%f"
    assert fields["Icon"] == "netstudio" and fields["Categories"] == "Science;ArtificialIntelligence;"
    assert fields["MimeType"] == "application/x-netstudio;"
    assert (data / "mime" / "packages" / "netstudio.xml").is_file()
    if VALIDATOR:
        check = subprocess.run([VALIDATOR, str(entry)], capture_output=True, text=True)
        assert check.returncode == 0 and not (check.stdout + check.stderr).strip(), check.stdout + check.stderr
    result = run([str(SCRIPT), "--uninstall-desktop"], XDG_DATA_HOME=str(data))
    assert result.returncode == 0, result.stderr
    assert not entry.exists() and not icon.exists() and not (data / "mime" / "packages" / "netstudio.xml").exists()


def test_the_project_file_type_is_registered_so_a_double_click_opens_it(tmp_path):
    """The entry opens ``application/x-netstudio``, which the shared-mime-info file gives ``*.netstudio``."""
    import xml.etree.ElementTree as ET
    written = desktop_entry.install(tmp_path)
    mime = tmp_path / "mime" / "packages" / "netstudio.xml"
    assert mime in written
    ns = {"m": "http://www.freedesktop.org/standards/shared-mime-info"}
    kind = ET.parse(mime).getroot().find("m:mime-type", ns)
    assert kind.get("type") == desktop_entry.MIME_TYPE
    assert [g.get("pattern") for g in kind.findall("m:glob", ns)] == ["*.netstudio"]
    entry = (tmp_path / "applications" / "netstudio.desktop").read_text()
    assert f"MimeType={desktop_entry.MIME_TYPE};" in entry.splitlines()
    assert "%f" in next(line for line in entry.splitlines() if line.startswith("Exec="))  # the file is passed on
    assert desktop_entry.uninstall(tmp_path) == written


@pytest.mark.skipif(VALIDATOR is None, reason="desktop-file-validate is not installed")
def test_an_exec_path_with_spaces_and_quotes_is_quoted_validly(tmp_path):
    odd = tmp_path / "my venv's \"bin\" $HOME" / "netstudio"
    entry = tmp_path / "netstudio.desktop"
    entry.write_text(desktop_entry.render_entry([str(odd), "--flag"]))
    check = subprocess.run([VALIDATOR, str(entry)], capture_output=True, text=True)
    assert check.returncode == 0 and not (check.stdout + check.stderr).strip(), check.stdout + check.stderr
    exec_value = next(line for line in entry.read_text().splitlines() if line.startswith("Exec="))[5:]
    assert split_exec(exec_value) == [str(odd), "--flag", "%f"]


def test_data_home_follows_xdg_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert desktop_entry.entry_path() == tmp_path / "applications" / "netstudio.desktop"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/path")  # not absolute: ignored, as the spec says
    assert desktop_entry.data_home() == Path.home() / ".local" / "share"



def test_a_two_button_question_answers_with_the_button_clicked(monkeypatch):
    """The prompts share one dialog: the default button says yes, the other no."""
    from PySide6.QtWidgets import QMessageBox

    from ui.shell import prompts

    seen = {}

    def answer_with(text):
        def exec_(box):
            seen["default"] = box.defaultButton().text()
            next(b for b in box.buttons() if b.text() == text).click()
            return 0
        monkeypatch.setattr(QMessageBox, "exec", exec_)

    ask = lambda: prompts._ask_yes(None, "Stop?", "q", "d", "Stop it and close", "Keep NetStudio open")  # noqa: E731
    answer_with("Keep NetStudio open")
    assert ask() is False and seen["default"] == "Stop it and close"
    answer_with("Stop it and close")
    assert ask() is True
