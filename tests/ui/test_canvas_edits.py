"""Canvas edits: each one undo step that undo and redo restore exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication

from netstudio.serialization import load_project
from ui.canvas.edge_item import TieLinkItem
from ui.document.commands import Connect, MoveNodes
from ui.document.mime import BLOCK_MIME, NODES_MIME

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"




def by_title(canvas) -> dict[str, str]:
    return {item.look.title: node_id for node_id, item in canvas.scene.nodes.items()}


def state(canvas) -> dict:
    """The whole project, to compare before/after undo and redo (edge order does not matter)."""
    data = canvas.controller.document.project.to_dict()
    for d in data["definitions"].values():
        d["edges"] = sorted(d["edges"], key=lambda e: e["id"])
    return data


def in_sync(canvas) -> bool:
    d = canvas.scene.model
    return set(canvas.scene.nodes) == set(d.nodes) and set(canvas.scene.edges) == set(d.edges) and all(
        item.pos() == QPointF(*d.nodes[i].position) for i, item in canvas.scene.nodes.items())


def check_undo_redo(canvas, before: dict) -> None:
    after = state(canvas)
    assert after != before
    stack = canvas.controller.undo_stack
    stack.undo()
    assert state(canvas) == before and in_sync(canvas)
    stack.redo()
    assert state(canvas) == after and in_sync(canvas)


def drop(canvas, type_name: str, view_pos: QPoint) -> None:
    data = QMimeData()
    data.setData(BLOCK_MIME, type_name.encode("utf-8"))
    viewport = canvas.view.viewport()
    enter = QDragEnterEvent(QPoint(view_pos), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(view_pos), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(viewport, event)
    assert event.isAccepted()


# -- add, connect, delete, move, rename ----------------------------------------------------------------
def test_drop_a_block_adds_it_at_the_drop_position(open_canvas):
    canvas = open_canvas("mlp")
    before = state(canvas)
    target = canvas.view.mapFromScene(QPointF(463, 317))
    drop(canvas, "Dropout", target)
    d = canvas.scene.model
    new = [n for n in d.nodes.values() if n.type == "Dropout"]
    assert len(new) == 1
    x, y = new[0].position
    scene = canvas.view.mapToScene(target)
    assert abs(x - scene.x()) <= 5 + 1 / canvas.view.zoom() and abs(y - scene.y()) <= 5 + 1 / canvas.view.zoom()
    assert x % 10 == 0 and y % 10 == 0
    assert canvas.selected_node_ids() == [new[0].id]
    assert canvas.node_item(new[0].id).look.subtitle == "Dropout"
    check_undo_redo(canvas, before)


def test_drop_sequential_block_and_code_create_their_definitions(open_canvas):
    canvas = open_canvas("mlp")
    stack = canvas.controller.undo_stack
    project = canvas.controller.document.project
    before = state(canvas)
    drop(canvas, "Sequential", QPoint(200, 500))
    node = project.root_definition.nodes[canvas.selected_node_ids()[0]]
    inner = node.params["definition"]
    assert project.definitions[inner].kind == "sequential"
    assert stack.count() == 1
    drop(canvas, "Block", QPoint(400, 500))
    node2 = project.root_definition.nodes[canvas.selected_node_ids()[0]]
    assert node2.params["definition"] != inner and project.definitions[node2.params["definition"]].kind == "graph"
    code_id = canvas.add_block_at_center("Code")
    code = project.root_definition.nodes[code_id]
    cls = code.params["class_name"]
    assert f"class {cls}(nn.Module)" in project.code[cls]
    assert stack.count() == 3
    canvas.add_block_at_center("Code")
    assert len({n.params["class_name"] for n in project.root_definition.nodes.values() if n.type == "Code"}) == 2
    for _ in range(4):
        stack.undo()
    assert state(canvas) == before and in_sync(canvas)
    project = canvas.controller.document.project          # undoing a snapshot swaps the project in
    assert set(project.definitions) == {"main"} and not project.code


def test_connect_undo_redo(open_canvas):
    canvas = open_canvas("mlp")
    ids = by_title(canvas)
    canvas.add_block_at("ReLU", QPointF(500, 300))
    relu = canvas.selected_node_ids()[0]
    before = state(canvas)
    canvas.controller.push(Connect(canvas.controller.document, "main", ids["0"], "out", relu, "in"))
    assert any(e.dst_item.node_id == relu for e in canvas.scene.edges.values())
    check_undo_redo(canvas, before)


def test_delete_undo_redo_including_edges_and_inputs(open_canvas):
    canvas = open_canvas("mlp")
    ids = by_title(canvas)
    before = state(canvas)
    edge = next(e for e in canvas.scene.edges.values() if e.src_item.look.title == "2")
    canvas.select_nodes([ids["X"], ids["1"]])
    edge.setSelected(True)
    canvas.actions["delete"].trigger()
    d = canvas.scene.model
    assert ids["X"] not in d.nodes and ids["1"] not in d.nodes and edge.edge_id not in d.edges
    assert canvas.controller.undo_stack.count() == 1
    check_undo_redo(canvas, before)
    # Deleting the top-level Input is allowed: it is reported, not refused.
    canvas.controller.wait_for_check()
    assert any("has no Input" in diag.message for diag in canvas.controller.result.diagnostics)


def test_move_undo_redo_and_auto_layout(open_canvas):
    canvas = open_canvas("fixed_hidden_mlp")
    d = canvas.scene.model
    relu = next(n for n in d.nodes.values() if n.name == "relu")
    canvas.controller.push(MoveNodes(canvas.controller.document, "main", {relu.id: (relu.position, (37.0, 400.0))}))
    assert canvas.node_item(relu.id).pos() == QPointF(37, 400)
    before = state(canvas)
    canvas.auto_layout()
    assert canvas.controller.undo_stack.undoText() == "Auto layout"
    d = canvas.scene.model
    xs = {n.name: n.position[0] for n in d.nodes.values()}
    assert xs["X"] < xs["linear"] < xs["matmul"] < xs["add"] < xs["output"]
    assert xs["rand_weight"] < xs["matmul"]
    check_undo_redo(canvas, before)


def test_rename_undo_redo(open_canvas):
    canvas = open_canvas("fixed_hidden_mlp")
    ids = by_title(canvas)
    before = state(canvas)
    canvas.select_nodes([ids["add"]])
    editor = canvas.rename_selected()
    editor.setText("  shift ")
    editor.commit()
    assert canvas.scene.model.nodes[ids["add"]].name == "shift"
    assert canvas.node_item(ids["add"]).look.title == "shift"
    check_undo_redo(canvas, before)


# -- ties ---------------------------------------------------------------------------------------------------------
def test_tie_through_the_action_and_the_context_menu(open_canvas):
    canvas = open_canvas("mlp")
    d = canvas.scene.model
    linear = by_title(canvas)["0"]
    canvas.select_nodes([linear])
    copy_id = canvas.duplicate()[0]                 # a second Linear with out_features 256
    d = canvas.scene.model
    assert canvas.tie_candidates(copy_id) == [linear]
    before = state(canvas)
    canvas.select_nodes([linear, copy_id])
    assert canvas.actions["share_parameters"].isEnabled()
    canvas.actions["share_parameters"].trigger()
    d = canvas.scene.model
    assert d.nodes[copy_id].tied_to == linear
    link = next(i for i in canvas.scene.items() if isinstance(i, TieLinkItem))
    assert link.pen().style() == Qt.PenStyle.CustomDashLine and link.isVisible()
    assert {link.node_item.node_id, link.target_item.node_id} == {linear, copy_id}
    assert canvas.node_item(copy_id).tie_badge.color == link.color
    check_undo_redo(canvas, before)
    # Stop sharing from the action, then tie again from the node's context menu.
    canvas.select_nodes([copy_id])
    canvas.actions["stop_sharing"].trigger()
    d = canvas.scene.model
    assert d.nodes[copy_id].tied_to is None
    assert not [i for i in canvas.scene.items() if isinstance(i, TieLinkItem)]
    menu = canvas.build_context_menu(copy_id)
    share = next(a.menu() for a in menu.actions() if a.menu() is not None)
    choice = next(a for a in share.actions() if a.data() == linear)
    choice.trigger()
    assert canvas.scene.model.nodes[copy_id].tied_to == linear
    assert [i for i in canvas.scene.items() if isinstance(i, TieLinkItem)]


def test_incompatible_nodes_are_not_offered_for_sharing(open_canvas):
    canvas = open_canvas("mlp")
    ids = by_title(canvas)
    assert canvas.tie_candidates(ids["0"]) == []          # out_features 256 vs 10
    assert canvas.tie_candidates(ids["1"]) == []          # ReLU has no parameters
    canvas.select_nodes([ids["0"], ids["2"]])
    assert not canvas.actions["share_parameters"].isEnabled()


# -- group, ungroup ----------------------------------------------------------------------------------------------
def test_group_then_ungroup(open_canvas):
    canvas = open_canvas("fixed_hidden_mlp")
    ids = by_title(canvas)
    project = canvas.controller.document.project
    before = state(canvas)
    canvas.select_nodes([ids["add"], ids["relu"]])
    block_id = canvas.group_selection()
    d = canvas.scene.model
    assert ids["add"] not in d.nodes and d.nodes[block_id].type == "Block"
    assert canvas.selected_node_ids() == [block_id]
    inner = d.nodes[block_id].params["definition"]
    assert {n.name for n in project.definitions[inner].nodes.values()} >= {"add", "relu"}
    assert in_sync(canvas)
    canvas.controller.wait_for_check()
    # The shapes flow through the new block.
    assert sorted(e.label_text for e in canvas.scene.edges.values() if block_id in
                  (e.src_item.node_id, e.dst_item.node_id)) == ["(2, 20)", "(2, 20)"]
    check_undo_redo(canvas, before)
    grouped = state(canvas)
    canvas.select_nodes([block_id])
    new_ids = canvas.ungroup_selection()
    d = canvas.scene.model
    assert block_id not in d.nodes and len(new_ids) == 2
    assert {d.nodes[i].type for i in new_ids} == {"AddScalar", "ReLU"}
    assert set(canvas.selected_node_ids()) == set(new_ids)
    check_undo_redo(canvas, grouped)


def test_group_refuses_half_a_tie_and_changes_nothing(open_canvas):
    canvas = open_canvas("tied")
    ids = by_title(canvas)
    before = state(canvas)
    count = canvas.controller.undo_stack.count()
    canvas.select_nodes([ids["2"], ids["3"]])
    assert canvas.group_selection() is None
    assert state(canvas) == before and canvas.controller.undo_stack.count() == count
    assert "tie" in canvas.view.hint_text


# -- copy, paste, duplicate ----------------------------------------------------------------------------------------------
def test_copy_paste_adds_fresh_nodes_offset_and_selected(open_canvas):
    canvas = open_canvas("fixed_hidden_mlp")
    ids = by_title(canvas)
    project = canvas.controller.document.project
    canvas.select_nodes([ids["relu"], ids["linear_again"], ids["halve"]])
    canvas.copy()
    mime = QGuiApplication.clipboard().mimeData()
    assert mime.hasFormat(NODES_MIME)
    payload = json.loads(bytes(mime.data(NODES_MIME)).decode())
    assert len(payload["nodes"]) == 3 and len(payload["edges"]) == 2
    assert "HalveUntilSmall" in payload["code"]
    assert json.loads(mime.text())["nodes"] == payload["nodes"]
    before = state(canvas)
    new = canvas.paste()
    d = canvas.scene.model
    assert len(new) == 3 and not set(new) & set(ids.values())
    names = {d.nodes[i].name for i in new}
    assert names == {"relu_2", "linear_again_2", "halve_2"}
    originals = {d.nodes[ids[n]].name: d.nodes[ids[n]].position for n in ("relu", "linear_again", "halve")}
    for i in new:
        source = originals[d.nodes[i].name.rsplit("_", 1)[0]]
        assert d.nodes[i].position == (source[0] + 30, source[1] + 30)
    assert len([e for e in d.edges.values() if e.src in new and e.dst in new]) == 2
    assert set(canvas.selected_node_ids()) == set(new)
    assert canvas.controller.undo_stack.count() == 1
    assert set(project.code) == {"HalveUntilSmall"}   # the same class, reused
    check_undo_redo(canvas, before)
    # A second paste goes further.
    second = canvas.paste()
    d = canvas.scene.model                          # redo restored a snapshot: a new project object
    assert d.nodes[second[0]].position[0] == originals["relu"][0] + 60


def test_duplicate_and_paste_into_another_project(open_canvas):
    canvas = open_canvas("chimera")
    ids = by_title(canvas)
    canvas.select_nodes([ids["0"]])
    dup = canvas.duplicate()
    d = canvas.scene.model
    assert d.nodes[dup[0]].params["definition"] == "NestMLP"   # another use of the same block
    canvas.copy()
    other = open_canvas("mlp")
    pasted = other.paste()
    project = other.controller.document.project
    assert {"NestMLP", "NestMLP_net"} <= set(project.definitions)
    assert project.root_definition.nodes[pasted[0]].params["definition"] == "NestMLP"
    assert len(project.definitions["NestMLP_net"].nodes) == 6
    other.controller.undo_stack.undo()
    assert set(other.controller.document.project.definitions) == {"main"}


# -- navigation and layout on open --------------------------------------------------------------------------------------
def test_piled_up_project_is_laid_out_when_opened_and_stays_unmodified(open_canvas):
    project = load_project(EXAMPLES / "mlp.netstudio", trusted=True)
    for node in project.root_definition.nodes.values():
        node.position = (0.0, 0.0)
    canvas = open_canvas(project)
    d = canvas.scene.model
    xs = sorted(n.position[0] for n in d.nodes.values())
    assert len(set(xs)) == 5
    assert not canvas.controller.modified
    canvas.controller.undo_stack.undo()
    assert {n.position for n in d.nodes.values()} == {(0.0, 0.0)}


def test_opening_a_piled_up_sequential_lays_it_out_in_chain_order(open_canvas):
    canvas = open_canvas("chimera")
    project = canvas.controller.document.project
    ids = by_title(canvas)
    for node in project.definitions["NestMLP_net"].nodes.values():
        node.position = (0.0, 0.0)
    canvas.open_definition((ids["0"], next(n.id for n in project.definitions["NestMLP"].nodes.values()
                                            if n.name == "net")))
    assert canvas.current_definition == "NestMLP_net"
    d = canvas.scene.model
    chain = [d.inputs[0]] + d.chain() + [d.outputs[0]]
    xs = [n.position[0] for n in chain]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    assert [canvas.node_item(n.id).look.title for n in chain[1:-1]] == [str(i) for i in range(len(chain) - 2)]


def test_reset_keeps_a_valid_nested_view_and_leaves_a_vanished_one(open_canvas):
    canvas = open_canvas("chimera")
    ids = by_title(canvas)
    canvas.open_definition((ids["0"],))
    canvas.select_nodes([by_title(canvas)["linear"]])
    canvas.controller.document.restore(canvas.controller.document.snapshot())
    assert canvas.current_definition == "NestMLP"
    canvas.controller.document.replace(load_project(EXAMPLES / "mlp.netstudio", trusted=True))
    assert canvas.current_path == () and canvas.current_definition == "main"
    assert len(canvas.scene.nodes) == 5


# -- code editor -------------------------------------------------------------------------------------------------------------
def test_code_editor_checks_as_you_type_and_applies_one_step(open_canvas, qtbot):
    canvas = open_canvas("fixed_hidden_mlp")
    ids = by_title(canvas)
    project = canvas.controller.document.project
    dialog = canvas.edit_code(ids["halve"])
    qtbot.addWidget(dialog)
    assert dialog.class_name == "HalveUntilSmall"
    assert dialog.editor.toPlainText() == project.code["HalveUntilSmall"]
    assert "forward(" in dialog.syntax_label.text()
    original = dialog.editor.toPlainText()
    dialog.editor.setPlainText(original.replace("def forward", "def forward(:"))
    assert not dialog.check_syntax()
    assert "line" in dialog.syntax_label.text() and dialog.editor.error_line is not None
    dialog.editor.setPlainText(original + "\n# tuned\n")
    assert dialog.check_syntax()
    dialog.args_edit.setText("[1, 2]")
    assert not dialog.apply()
    dialog.args_edit.setText("{}")
    before = state(canvas)
    assert dialog.apply()
    assert project.code["HalveUntilSmall"].endswith("# tuned\n")
    assert canvas.controller.undo_stack.count() == 1
    check_undo_redo(canvas, before)
    # Highlighting colours the keywords.
    block = dialog.editor.document().firstBlock()
    formats = block.layout().formats()
    assert any(f.format.foreground().color().name() == "#8839ef" for f in formats)   # "class"
    dialog.close()


def test_double_click_on_a_code_block_opens_its_editor(open_canvas, qtbot):
    from PySide6.QtTest import QTest
    canvas = open_canvas("fixed_hidden_mlp")
    item = canvas.node_item(by_title(canvas)["halve"])
    QTest.mouseDClick(canvas.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                      canvas.view.mapFromScene(item.mapToScene(QPointF(0, 10))))
    dialogs = list(canvas._code_editors.values())
    assert len(dialogs) == 1 and dialogs[0].isVisible()
    qtbot.addWidget(dialogs[0])
    assert dialogs[0].windowTitle() == "Code block — HalveUntilSmall"
    dialogs[0].close()


# -- the scene follows the model through any sequence of edits -------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
def test_scene_stays_in_sync_through_random_edits_undo_and_redo(open_canvas, seed):
    import random

    from ui.canvas.looks import chain_index, display_name
    rng = random.Random(seed)
    canvas = open_canvas(rng.choice(["mlp", "chimera", "tied", "fixed_hidden_mlp", "rgnet"]))
    controller, stack = canvas.controller, canvas.controller.undo_stack
    initial = state(canvas)
    for _ in range(40):
        d = canvas.scene.model
        ids = list(d.nodes)
        op = rng.choice(["add", "connect", "delete", "group", "ungroup", "undo", "undo", "redo", "duplicate",
                         "open", "up", "layout", "rename", "tie"])
        if op == "add":
            canvas.add_block_at(rng.choice(["Linear", "ReLU", "Add", "Block", "Sequential", "Code"]),
                                QPointF(rng.uniform(-300, 900), rng.uniform(-300, 300)))
        elif op == "connect":
            items = list(canvas.scene.nodes.values())
            outs = [r for i in items for r in i.ports() if r.is_output]
            ins = [r for i in items for r in i.ports() if not r.is_output]
            if outs and ins:
                src, dst = rng.choice(outs), rng.choice(ins)
                if canvas.scene.link_problem(src, dst) is None:
                    controller.push(Connect(controller.document, canvas.current_definition, src.node_id, src.name,
                                            dst.node_id, dst.name))
        elif op in ("delete", "group", "duplicate") and ids:
            canvas.select_nodes(rng.sample(ids, min(len(ids), rng.randint(1, 3))))
            {"delete": canvas.delete_selection, "group": canvas.group_selection,
             "duplicate": canvas.duplicate}[op]()
        elif op == "ungroup":
            containers = [i for i in ids if d.nodes[i].type in ("Block", "Sequential")]
            if containers:
                canvas.select_nodes([rng.choice(containers)])
                canvas.ungroup_selection()
        elif op in ("undo", "redo"):
            getattr(stack, op)()
        elif op == "open":
            containers = [i for i in ids if d.nodes[i].type in ("Block", "Sequential")]
            if containers:
                canvas.activate_node(rng.choice(containers))
        elif op == "up" and canvas.current_path:
            canvas.open_definition(canvas.current_path[:-1])
        elif op == "layout":
            canvas.auto_layout()
        elif op == "rename" and ids:
            canvas.select_nodes([rng.choice(ids)])
            canvas.rename_selected().setText(rng.choice(["a", "b", "", "renamed"]))
            canvas._rename_editor.commit()
        elif op == "tie" and ids:
            node = rng.choice(ids)
            if canvas.tie_candidates(node):
                canvas.tie(node, rng.choice(canvas.tie_candidates(node)))
        if rng.random() < 0.3:
            controller.wait_for_check()
        d = canvas.scene.model
        assert d is controller.document.project.definitions[canvas.current_definition]
        assert in_sync(canvas), op
        chain = chain_index(d)
        for node_id, item in canvas.scene.nodes.items():
            assert item.look.title == (display_name(d, d.nodes[node_id], chain) or "unnamed")
        for edge_id, item in canvas.scene.edges.items():
            e = d.edges[edge_id]
            assert (item.src_item.node_id, item.src_port, item.dst_item.node_id, item.dst_port) == \
                (e.src, e.src_port, e.dst, e.dst_port)
    # Undo everything: back to the file as it was opened.
    while stack.canUndo():
        stack.undo()
    assert state(canvas) == initial
    assert canvas.current_definition in controller.document.project.definitions
    assert in_sync(canvas)
