"""Opening a hostile project in the app runs none of its strings: the window opens it (or refuses it
in one sentence), checks it, shows it, and builds what is valid, and the marker never appears."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings

from tests.engine.test_hostile_names import EXAMPLE_DATA, MARKER, PAYLOADS, renamed_projects
from ui.shell import prompts

CODE_PAYLOADS = [p for p in PAYLOADS if "open(" in p or "__import__" in p]


def open_in_window(data, tmp_path, make_window, open_dialogs, monkeypatch):
    MARKER.unlink(missing_ok=True)
    path = tmp_path / "hostile.netstudio"
    path.write_text(json.dumps(data, ensure_ascii=True), encoding="ascii")
    monkeypatch.setattr(prompts, "ask_trust", lambda parent, names: False)
    window = make_window(path, panels=False)
    window.controller.wait_for_check()
    window.controller.session.ensure_built()
    for dialog in open_dialogs("errorDialog"):
        assert "\n" not in dialog.text()
        dialog.close()
    assert not MARKER.exists(), f"a string ran as code when the project was opened: {data}"
    return window


@pytest.mark.parametrize("payload", CODE_PAYLOADS)
@pytest.mark.parametrize("where", ["Input", "Linear", "Output"])
def test_payloads_in_names_do_not_run_when_opened(payload, where, tmp_path, make_window, open_dialogs,
                                                  monkeypatch):
    data = json.loads(json.dumps(EXAMPLE_DATA["mlp_block"]))
    node = next(n for n in data["definitions"]["main"]["nodes"] if n["type"] == where)
    node["name"] = payload
    window = open_in_window(data, tmp_path, make_window, open_dialogs, monkeypatch)
    assert window.controller.path == (tmp_path / "hostile.netstudio").resolve()
    assert node["id"] in {d.node_id for d in window.controller.result.errors}
    assert window.controller.session.module is None   # an invalid graph is never compiled


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(case=renamed_projects(trusted=False))
def test_renamed_projects_open_without_running_anything(case, tmp_path, make_window, open_dialogs, monkeypatch):
    open_in_window(case[1], tmp_path, make_window, open_dialogs, monkeypatch)
