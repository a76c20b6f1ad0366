"""Strings from a project never become code in the exported model.py.

Names that Python reads as code (classes, children, definitions) must pass
the name rule or the export is refused; every other string (the project's
name and description, definition names in docstrings, Sequential labels,
comments, code-block arguments) is escaped so that no value can end the
docstring, comment or string literal it sits in.
"""

from __future__ import annotations

import ast
import json
import operator
import site
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netstudio.compiler import compile_project
from netstudio.export import ExportError, export_plain_pytorch, render_model_py
from netstudio.graph import Document, Project
from netstudio.graph.names import NameKind, is_valid_name
from netstudio.serialization import load_project

from .builders import chain_project, link

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
TAG = ("class Tag(nn.Module):\n    def __init__(self, **kwargs):\n        super().__init__()\n"
       "        self.kwargs = kwargs\n\n    def forward(self, x):\n        return x\n")


# ---------------------------------------------------------------- names that fail the rule are refused


def _graph_project() -> Project:
    doc, _ = chain_project([("Linear", {"out_features": 3}, "fc")], kind="graph")
    return doc.project


def _rename_definition(project: Project, new: str) -> None:
    d = project.definitions.pop(project.root)
    d.name = new
    project.definitions[new] = d
    project.root = new


def _set_code_class(project: Project, new: str) -> None:
    node = next(n for n in project.root_definition.nodes.values() if n.type == "Code")
    project.code[new] = project.code.pop("Tag").replace("class Tag", f"class {new}")
    node.params["class_name"] = new


BAD = '"""; import os; os.system("echo hi") #'


@pytest.mark.parametrize("mutate, where", [
    (lambda p: setattr(p.root_definition.nodes[_node_id(p, "fc")], "name", BAD), "name of a block"),
    (lambda p: setattr(p.root_definition.nodes[_node_id(p, "fc")], "name", "ﬁ"), "name of a block"),
    (lambda p: setattr(p.root_definition.inputs[0], "name", "x = 1"), "name of a block"),
    (lambda p: _rename_definition(p, "main\nimport os"), "definition"),
    (lambda p: setattr(p.root_definition, "class_name", "Net(nn.Module): pass\nclass X"), "class"),
    (lambda p: setattr(p.root_definition, "class_name", "torch"), "class"),
], ids=["child", "child-not-nfkc", "input", "definition", "class", "class-reserved"])
def test_names_that_fail_the_rule_are_refused(tmp_path, mutate, where):
    project = _graph_project()
    net = compile_project(project)
    mutate(project)
    with pytest.raises(ExportError) as info:
        export_plain_pytorch(project, net, tmp_path)
    message = str(info.value)
    assert "cannot be exported" in message and where in message
    assert "\n" not in message and message.endswith(".")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("class_name", ["__Tag", "torch"])
def test_a_code_class_name_that_fails_the_rule_is_refused(tmp_path, class_name):
    doc, _ = chain_project([("Code", {"class_name": "Tag", "args": {}}, "tag")], kind="graph", code={"Tag": TAG})
    net = compile_project(doc.project)
    _set_code_class(doc.project, class_name)
    with pytest.raises(ExportError, match="class .* cannot be exported"):
        export_plain_pytorch(doc.project, net, tmp_path)
    assert list(tmp_path.iterdir()) == []


def _node_id(project: Project, name: str) -> str:
    return next(n.id for n in project.root_definition.nodes.values() if n.name == name)


def test_sequential_labels_and_tie_comments_are_written_through_repr():
    text = render_model_py(load_project(EXAMPLES / "rgnet.netstudio"),
                           compile_project(load_project(EXAMPLES / "rgnet.netstudio")))
    assert "('block 0', make_block1())," in text
    tied = load_project(EXAMPLES / "tied.netstudio")
    text = render_model_py(tied, compile_project(tied))
    assert "shared = nn.Linear(in_features=8, out_features=8, bias=True)  # used at '2', '4'" in text


def test_code_block_arguments_are_literals_even_when_keys_are_not_names(tmp_path):
    doc, ids = chain_project([("Code", {"class_name": "Tag", "args": {}}, "tag")], kind="graph",
                             code={"Tag": TAG})
    net = compile_project(doc.project)
    # the compiler refuses such keys; a project changed after compiling must still give safe source
    args = {"label": 'a"""b\n\\', "not a name": "x'", "ﬁ": 1, "n": float("inf"), "items": [1.5, None, True]}
    doc.project.root_definition.nodes[ids[0]].params["args"] = args
    text = render_model_py(doc.project, net)
    assert "**{'label'" in text
    namespace: dict = {}
    exec(compile(text, "model.py", "exec"), namespace)  # noqa: S102
    assert namespace["build_model"]().tag.kwargs == args


# ---------------------------------------------------------------- any text: escaped, never code


TRICKY = ['"""', "'''", '"', "'", "\\", "\\n", "\n", "\r", "\r\n", "\x00", "\ud800", "\udfff", "\u2028", "\x85",
          "\x0c", "\t", "#", "{name}", "\\N{", "\\x", "\\u", "ﬁ", "\U0001F600", "\u200b", "\ufeff",
          '"""\nopen(@MARKER@, "w").close()\n"""', "'''\nopen(@MARKER@, 'w').close()\n'''",
          "\nopen(@MARKER@, 'w').close()\n", "\\\nopen(@MARKER@, 'w').close()#", "')\nopen(@MARKER@, 'w').close()#"]
ANY_TEXT = st.lists(st.one_of(st.text(st.characters(exclude_categories=()), max_size=8), st.sampled_from(TRICKY)),
                    max_size=6).map("".join)
_IDENT_START = st.characters(categories=["Lu", "Ll", "Lt", "Lm", "Lo", "Nl"])
_IDENT_REST = st.text(st.characters(categories=["Lu", "Ll", "Lt", "Lm", "Lo", "Nl", "Mn", "Mc", "Nd", "Pc"]),
                      max_size=10)


def valid_names(kind: NameKind):
    """Names that pass the rule: arbitrary Unicode identifiers, and some that clash with builtins or model.py."""
    drawn = st.builds(operator.add, _IDENT_START, _IDENT_REST)
    clashing = st.sampled_from(["super", "object", "type", "print", "Tag", "AddScalar", "Sequential", "Module",
                                "make_seq", "shared", "self_", "Block", "Net"])
    return st.one_of(drawn, clashing).filter(lambda s: is_valid_name(s, kind))


def odd_project(name: str, description: str, definitions: list[str], classes: list[str], label: str) -> Project:
    """A graph root using a graph block and a plain Sequential, with a code block whose argument is ``label``."""
    root, inner, seq = definitions
    doc = Document(Project(definitions={}))
    doc.set_code("Tag", TAG)
    doc.add_definition(inner, kind="graph", class_name=classes[1])
    d = doc.definition(inner)
    fc = doc.add_node(inner, "Linear", "fc", {"out_features": 4})
    doc.connect(inner, d.inputs[0].id, "out", fc.id, "in")
    doc.connect(inner, fc.id, "out", d.outputs[0].id, "in")
    doc.add_definition(seq, kind="sequential", class_name="Sequential")
    d = doc.definition(seq)
    for e in list(d.edges):
        doc.disconnect(seq, e)
    lin = doc.add_node(seq, "Linear", "block 0", {"out_features": 4})
    act = doc.add_node(seq, "ReLU")
    doc.connect(seq, d.inputs[0].id, "out", lin.id, "in")
    doc.connect(seq, lin.id, "out", act.id, "in")
    doc.connect(seq, act.id, "out", d.outputs[0].id, "in")
    doc.add_definition(root, kind="graph", class_name=classes[0])
    d = doc.definition(root)
    doc.set_param(root, d.inputs[0].id, "shape", [2, 4])
    for e in list(d.edges):
        doc.disconnect(root, e)
    block = doc.add_node(root, "Block", "inner", {"definition": inner})
    chain = doc.add_node(root, "Sequential", "seq", {"definition": seq})
    tag = doc.add_node(root, "Code", "tag", {"class_name": "Tag", "args": {"n": 1}})
    link(doc, root, d.inputs[0].id, block.id)
    link(doc, root, block.id, chain.id)
    link(doc, root, chain.id, tag.id)
    link(doc, root, tag.id, d.outputs[0].id)
    project = doc.project
    project.root = root
    project.name, project.description = name, description   # files may hold what the editor refuses
    project.root_definition.nodes[tag.id].params["args"] = {"label": label, "n": 1}
    return project


WORKER = r'''
import importlib.util, json, sys, traceback
sys.path.extend(json.loads(sys.argv[1]))
import torch
from safetensors.torch import load_file

for i, line in enumerate(sys.stdin):
    folder = json.loads(line)
    try:
        spec = importlib.util.spec_from_file_location(f"exported_{i}", f"{folder}/model.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        model = module.build_model()
        model.load_state_dict(load_file(f"{folder}/model.safetensors"))
        model(torch.zeros(2, 4))
        # text as code points: JSON would join an escaped surrogate pair into one character on the way back
        reply = {"ok": True, "doc": list(map(ord, module.__doc__)), "label": list(map(ord, model.tag.kwargs["label"])),
                 "modules": [name for name, _ in model.named_modules()]}
    except Exception:
        reply = {"ok": False, "error": traceback.format_exc()}
    print(json.dumps(reply), flush=True)
'''


@pytest.fixture(scope="module")
def worker():
    """One Python, without netstudio on its path, that imports each exported model.py it is sent."""
    proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", WORKER, json.dumps(site.getsitepackages())],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=tempfile.gettempdir())

    def ask(folder: Path) -> dict:
        proc.stdin.write(json.dumps(str(folder)) + "\n")
        proc.stdin.flush()
        reply = json.loads(proc.stdout.readline())
        for key in ("doc", "label"):
            if key in reply:
                reply[key] = "".join(map(chr, reply[key]))
        return reply

    yield ask
    proc.stdin.close()
    proc.wait(timeout=60)
    proc.stdout.close()


def _collapsed(text: str) -> str:
    return " ".join(text.split())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(name=ANY_TEXT, description=ANY_TEXT, label=ANY_TEXT,
       definitions=st.lists(valid_names(NameKind.DEFINITION), min_size=3, max_size=3, unique=True),
       classes=st.lists(valid_names(NameKind.CLASS), min_size=2, max_size=2))
def test_any_text_in_a_project_stays_text_in_model_py(worker, name, description, label, definitions, classes):
    with tempfile.TemporaryDirectory() as tmp:
        marker = Path(tmp) / "marker"
        name, description, label = (s.replace("@MARKER@", repr(str(marker))) for s in (name, description, label))
        project = odd_project(name, description, definitions, classes, label)
        net = compile_project(project)
        export_plain_pytorch(project, net, Path(tmp) / "out")
        text = (Path(tmp) / "out" / "model.py").read_text(encoding="utf-8")
        tree = ast.parse(text)
        assert not marker.exists()
        reply = worker(Path(tmp) / "out")
        assert reply["ok"], reply.get("error")
        assert not marker.exists()
        assert reply["modules"] == [n for n, _ in net.named_modules()]
        assert reply["label"] == label
        title = _collapsed(name) or "model"
        assert reply["doc"].split("\n")[0].startswith(f"{title}: the network as plain PyTorch")
        assert _collapsed(description) in _collapsed(reply["doc"])
        assert ast.get_docstring(tree, clean=False) == reply["doc"]
        # the only statements are imports, assignments, functions and classes: nothing from the text runs
        assert all(isinstance(node, (ast.Import, ast.ImportFrom, ast.Assign, ast.FunctionDef, ast.ClassDef))
                   for node in tree.body[1:])
