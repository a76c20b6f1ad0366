"""After the project is replaced (open, undo of a composite edit), no label keeps the old project's state."""

from __future__ import annotations

from netstudio.graph.document import Document
from tests.engine.test_definition_arguments import conv_block_project


def test_a_nested_block_opened_before_the_new_check_gets_every_label(open_canvas):
    canvas = open_canvas("mlp")
    controller = canvas.controller
    project = conv_block_project().project
    controller.document.replace(Document(project).project)
    path = project.first_instance_path("ConvBlock")
    canvas.open_definition(path)             # before the new project's check has come back
    controller.wait_for_check()
    labels = {edge_id: item.label.text for edge_id, item in canvas.scene.edges.items()}
    assert labels and "?" not in labels.values(), labels
