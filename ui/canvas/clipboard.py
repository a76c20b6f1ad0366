"""Copy and paste of nodes: the selection, its inner edges, the code of its code
blocks and the definitions its containers use, as JSON (``NODES_MIME`` and text).

``paste_payload`` only calls the document API, so it runs inside one
``SnapshotCommand`` and the whole paste is one undo step.
"""

from __future__ import annotations

import json
import re
from typing import Any

from PySide6.QtCore import QMimeData

from netstudio.graph import Document, EditError, Project
from ui.document.mime import NODES_MIME

from .looks import CONTAINER_TYPES

FORMAT = "netstudio-nodes"


def copy_payload(project: Project, definition: str, node_ids) -> dict[str, Any]:
    d = project.definitions[definition]
    chosen = set(node_ids)
    ids = [i for i in d.nodes if i in chosen]
    payload: dict[str, Any] = {
        "format": FORMAT, "version": 1, "source": definition,
        "nodes": [d.nodes[i].to_dict() for i in ids],
        "edges": [e.to_dict() for e in d.edges.values() if e.src in chosen and e.dst in chosen],
        "code": {}, "definitions": {},
    }
    _collect(project, [d.nodes[i] for i in ids], payload, set())
    return payload


def _collect(project: Project, nodes, payload: dict, seen: set[str]) -> None:
    for node in nodes:
        if node.type == "Code":
            name = node.params.get("class_name")
            if isinstance(name, str) and name in project.code:
                payload["code"][name] = project.code[name]
        elif node.type in CONTAINER_TYPES:
            name = node.params.get("definition")
            if isinstance(name, str) and name in project.definitions and name not in seen:
                seen.add(name)
                inner = project.definitions[name]
                payload["definitions"][name] = inner.to_dict()
                _collect(project, inner.nodes.values(), payload, seen)


def to_mime(payload: dict[str, Any]) -> QMimeData:
    text = json.dumps(payload, indent=1)
    data = QMimeData()
    data.setData(NODES_MIME, text.encode("utf-8"))
    data.setText(text)
    return data


def from_mime(data: QMimeData | None) -> dict[str, Any] | None:
    """The payload on the clipboard, or None when it holds no NetStudio nodes."""
    if data is None:
        return None
    if data.hasFormat(NODES_MIME):
        raw = bytes(data.data(NODES_MIME)).decode("utf-8", "replace")
    elif data.hasText():
        raw = data.text()
    else:
        return None
    try:
        payload = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("nodes"), list) or not payload["nodes"]:
        return None
    if not all(isinstance(n, dict) and isinstance(n.get("type"), str) and "id" in n for n in payload["nodes"]):
        return None
    return payload


def paste_payload(doc: Document, definition: str, payload: dict[str, Any],
                  offset: tuple[float, float] = (30.0, 30.0)) -> list[str]:
    """Add the payload's nodes to ``definition`` with fresh ids and unique names; returns their ids."""
    try:
        classes = _paste_code(doc, payload.get("code") or {})
        defs = payload.get("definitions") or {}
        for name in defs:
            _ensure_definition(doc, name, defs, classes, set())
        return _add_nodes(doc, definition, payload["nodes"], payload.get("edges") or [], classes, offset,
                          same_place=payload.get("source") == definition)
    except (KeyError, TypeError, ValueError) as err:
        raise EditError(f"The clipboard's blocks could not be pasted ({err}).") from None


def _fresh_name(doc: Document, definition: str, name: str) -> str:
    """``relu`` stays if free, else ``relu_2``; a copy of ``relu_2`` becomes ``relu_3``, not ``relu_2_2``."""
    if name not in {n.name for n in doc.definition(definition).nodes.values()}:
        return name
    m = re.match(r"^(.*?)_(\d+)$", name)
    return doc.unique_name(definition, m.group(1) if m and m.group(1) else name)


def _paste_code(doc: Document, code: dict[str, str]) -> dict[str, str]:
    """Add missing classes; a name taken by other code gets a fresh name.  Returns old -> new names."""
    renamed = {}
    for name, source in code.items():
        existing = doc.project.code.get(name)
        if existing is None:
            doc.set_code(name, source)
            renamed[name] = name
        elif existing == source:
            renamed[name] = name
        else:
            i = 2
            while f"{name}{i}" in doc.project.code:
                i += 1
            new = f"{name}{i}"
            doc.set_code(new, re.sub(rf"^class\s+{re.escape(name)}\b", f"class {new}", source, flags=re.M))
            renamed[name] = new
    return renamed


def _ensure_definition(doc: Document, name: str, defs: dict, classes: dict, busy: set[str]) -> None:
    if name in doc.project.definitions or name in busy or name not in defs:
        return
    busy.add(name)
    data = defs[name]
    for n in data.get("nodes", []):
        if n.get("type") in CONTAINER_TYPES:
            _ensure_definition(doc, n.get("params", {}).get("definition", ""), defs, classes, busy)
    doc.add_definition(name, kind=data.get("kind", "graph"), class_name=data.get("class_name", ""), with_io=False)
    _add_nodes(doc, name, data.get("nodes", []), data.get("edges", []), classes, (0.0, 0.0), same_place=False,
               keep_names=True)


def _add_nodes(doc: Document, definition: str, nodes: list[dict], edges: list[dict], classes: dict,
               offset: tuple[float, float], same_place: bool, keep_names: bool = False) -> list[str]:
    new_ids: dict[str, str] = {}
    for data in nodes:
        params = dict(data.get("params") or {})
        if data["type"] == "Code" and params.get("class_name") in classes:
            params["class_name"] = classes[params["class_name"]]
        name = data.get("name") or ""
        if name and not keep_names:
            name = _fresh_name(doc, definition, name)
        x, y = data.get("position") or (0.0, 0.0)
        node = doc.add_node(definition, data["type"], name, params, (float(x) + offset[0], float(y) + offset[1]))
        if data.get("init"):
            for leaf, setting in data["init"].items():
                doc.set_init(definition, node.id, leaf, setting)
        new_ids[data["id"]] = node.id
    d = doc.definition(definition)
    for data in nodes:
        target = data.get("tied_to")
        if not target:
            continue
        try:
            if target in new_ids:
                doc.tie(definition, new_ids[data["id"]], new_ids[target])
            elif same_place and target in d.nodes:
                doc.tie(definition, new_ids[data["id"]], target)
        except EditError:
            pass  # the pasted copy simply keeps its own parameters
    for data in edges:
        (src, src_port), (dst, dst_port) = data["src"], data["dst"]
        if src in new_ids and dst in new_ids:
            try:
                doc.connect(definition, new_ids[src], src_port, new_ids[dst], dst_port)
            except EditError:
                pass  # a port that no longer exists; the rest of the paste stands
    return list(new_ids.values())
