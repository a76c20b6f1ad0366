"""The document controller: modified state, runs and their cancelling, and the checks off the UI thread."""

from __future__ import annotations


# ---------------------------------------------------------------- the controller

def test_a_new_controller_is_unmodified_and_checks_once(make_controller):
    controller = make_controller("mlp")
    assert not controller.modified and not controller.busy
    result = controller.wait_for_check()
    assert result is controller.result and result.ok
    assert controller._timer.isSingleShot() and not controller._timer.isActive()


def test_weights_changed_by_a_run_make_the_project_modified_once(make_controller):
    from netstudio.params.direct_edits import DirectEdit
    controller = make_controller("mlp")
    seen = []
    controller.modified_changed.connect(seen.append)
    controller.session.apply_edit(DirectEdit("0.bias", "fill", 1.0))
    controller.session.apply_edit(DirectEdit("0.bias", "fill", 2.0))
    assert seen == [True] and controller.modified
    controller.mark_saved()
    assert seen[-1] is False and not controller.modified
    seen.clear()
    controller.session.apply_edit(DirectEdit("0.bias", "fill", 3.0))
    assert seen == [True]
    controller.forget_unsaved_weights()
    assert not controller._weights_unsaved


def test_runs_make_the_controller_busy_and_stop_runs_cancels_them(make_controller):
    controller = make_controller("mlp")
    busy, cancelled = [], []
    controller.busy_changed.connect(busy.append)
    idle = controller.stop_runs()
    assert idle.done()                              # nothing to stop
    cancel = lambda: cancelled.append(1)            # noqa: E731
    controller.run_started(cancel)
    controller.run_started()
    assert busy == [True] and controller.busy
    stopping = controller.stop_runs()
    assert cancelled == [1] and not stopping.done()
    controller.run_finished()
    assert not stopping.done()
    controller.run_finished(cancel)
    assert stopping.done() and busy == [True, False] and not controller.busy
    controller.run_finished()                       # never below zero (it says idle again)
    controller.run_started()
    assert busy == [True, False, False, True]
    controller.run_finished()
    assert controller.stop_runs().done() and cancelled == [1]   # a finished run is not cancelled again


def test_only_the_latest_checks_result_is_kept(make_controller):
    from netstudio.analysis import CheckResult
    controller = make_controller("mlp")
    controller.wait_for_check()
    got = []
    controller.checked.connect(got.append)
    controller._start_check()
    controller._start_check()
    latest = controller._generation
    stale = CheckResult()
    controller._on_checked(latest - 1, stale)
    assert controller.result is not stale and got[-1:] != [stale]
    controller.wait_for_check()
    assert controller.result is not stale


def test_a_check_job_delivers_its_result_or_one_failure_diagnostic(make_controller, monkeypatch):
    import ui.document.controller as controller_module
    controller = make_controller("mlp")
    got = []
    checker = controller_module.Checker()
    controller_module._CheckJob(controller.document.project.copy(), checker, 7, lambda: 7,
                                lambda *a: got.append(a)).run()
    assert got[0][0] == 7 and got[0][1].ok

    def boom(self, project):
        raise RuntimeError("boom")
    monkeypatch.setattr(controller_module.Checker, "check", boom)
    controller_module._CheckJob(controller.document.project.copy(), checker, 8, lambda: 8,
                                lambda *a: got.append(a)).run()
    generation, result = got[1]
    assert generation == 8 and [(d.severity, d.message, d.definition) for d in result.diagnostics] == [
        ("error", "checking failed: boom", "main")]
    controller_module._CheckJob(controller.document.project.copy(), checker, 9, lambda: 10,
                                lambda *a: got.append(a)).run()
    assert len(got) == 2     # overtaken by a newer edit: nothing checked, nothing delivered


def test_a_selection_in_a_definition_that_is_gone_goes_back_to_the_root(make_controller, examples_dir):
    from netstudio.serialization import load_project
    controller = make_controller("nest_mlp")
    inner = "NestMLP_net"
    controller.select(inner, [])
    controller.document.replace(load_project(examples_dir / "mlp.netstudio"))
    assert controller.selection == ("main", [])
    controller.select("main", ["n3"])
    controller.document.replace(load_project(examples_dir / "mlp.netstudio"))
    assert controller.selection == ("main", ["n3"])


def test_a_closed_controller_follows_the_document_no_more(make_controller):
    from netstudio.params.direct_edits import DirectEdit
    controller = make_controller("mlp")
    controller.wait_for_check()
    controller.close()
    controller.document.set_setting("name", "changed")
    assert not controller._timer.isActive()
    seen = []
    controller.modified_changed.connect(seen.append)
    controller.session.ensure_built()
    controller.session.apply_edit(DirectEdit("0.bias", "fill", 1.0))
    assert seen == []


def test_a_finished_run_is_not_cancelled_by_a_later_stop(make_controller):
    controller = make_controller("mlp")
    cancelled = []

    def first():
        cancelled.append("first")

    def second():
        cancelled.append("second")
    controller.run_started(first)
    controller.run_finished(first)
    controller.run_started(second)
    stopping = controller.stop_runs()
    assert cancelled == ["second"] and not stopping.done()
    controller.run_finished(second)
    assert stopping.done()


def test_stopping_runs_leaves_no_listener_behind(make_controller):
    """Each ``stop_runs`` follows ``busy_changed`` only until the runs are over (no leak per stop)."""
    from PySide6.QtCore import SIGNAL
    controller = make_controller("mlp")

    def listeners() -> int:
        return controller.receivers(SIGNAL("busy_changed(bool)"))
    alone = listeners()
    assert controller.stop_runs().done() and listeners() == alone      # idle: done at once, nothing followed
    controller.run_started()
    stopping = controller.stop_runs()
    assert listeners() == alone + 1
    controller.run_finished()
    assert stopping.done() and listeners() == alone


def test_an_edit_makes_the_project_modified_and_its_undo_clean_again(make_controller):
    from ui.document.commands import SetParam
    controller = make_controller("mlp")
    seen = []
    controller.modified_changed.connect(seen.append)
    first = controller.document.project.root_definition.chain()[0]
    controller.push(SetParam(controller.document, "main", first.id, "out_features", 7))
    assert controller.modified and seen == [True]
    controller.undo_stack.undo()
    assert not controller.modified and seen == [True, False]


def test_an_edit_is_checked_once(make_controller):
    controller = make_controller("mlp")
    controller.wait_for_check()
    got = []
    controller.checked.connect(got.append)
    first = controller.document.project.root_definition.chain()[0]
    controller.document.set_param("main", first.id, "in_features", 3)     # the input has 20
    result = controller.wait_for_check()
    assert result is controller.result and not result.ok
    controller.wait_for_check()
    assert got == [result]


def test_of_two_checks_in_flight_only_the_latest_is_delivered(make_controller):
    controller = make_controller("mlp")
    controller.wait_for_check()
    got = []
    controller.checked.connect(got.append)
    controller._start_check()          # an edit's check, still running when the next edit comes
    controller._start_check()
    controller.wait_for_check()
    assert got == [controller.result]


def test_a_closed_controller_checks_no_more(make_controller):
    controller = make_controller("mlp")
    controller.wait_for_check()
    controller.close()
    got = []
    controller.checked.connect(got.append)
    first = controller.document.project.root_definition.chain()[0]
    controller.document.set_param("main", first.id, "in_features", 3)
    controller.wait_for_check()
    assert got == []
