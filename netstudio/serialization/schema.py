r"""The JSON schema of a project (format ``netstudio-project``, version 1).

Structure only: block types and hyperparameter values are not checked here but
by ``check``, so a project that uses a block this version does not know still
opens, with a diagnostic on that node.  Names are only bounded in length here
(the one name rule, ``graph/names.py``, is the checker's).  Patterns end in
``\Z``, not ``$``: Python's ``$`` also matches before a final newline, and an
id or class name with a newline would break every one-line message.
``docs/file-format.md`` documents it.
"""

from __future__ import annotations

from ..graph.arguments import MAX_ARGUMENTS
from ..graph.edge_bends import MAX_BENDS
from ..graph.names import MAX_NAME_LENGTH

_ID = {"type": "string", "pattern": r"^[A-Za-z0-9_\-]+\Z", "maxLength": 64}
_NAME = {"type": "string", "maxLength": MAX_NAME_LENGTH}

NODE = {
    "type": "object",
    "required": ["id", "type", "name"],
    "additionalProperties": False,
    "properties": {
        "id": _ID,
        "type": {"type": "string", "minLength": 1, "maxLength": 100},
        "name": _NAME,
        "params": {"type": "object"},
        "position": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        "init": {"type": "object", "additionalProperties": {"type": "object"}},
        "tied_to": {"type": ["string", "null"]},
    },
}

PORT_REF = {"type": "array", "prefixItems": [_ID, {"type": "string", "minLength": 1}], "minItems": 2, "maxItems": 2}

POINT = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}

EDGE = {
    "type": "object",
    "required": ["id", "src", "dst"],
    "additionalProperties": False,
    "properties": {"id": _ID, "src": PORT_REF, "dst": PORT_REF,
                   "bends": {"type": "array", "items": POINT, "maxItems": MAX_BENDS}},
}

DEFINITION = {
    "type": "object",
    "required": ["kind", "nodes", "edges"],
    "additionalProperties": False,
    "properties": {
        "kind": {"enum": ["sequential", "graph"]},
        "class_name": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*\Z"},
        "arguments": {"type": "object", "maxProperties": MAX_ARGUMENTS, "propertyNames": _NAME},
        "nodes": {"type": "array", "items": NODE},
        "edges": {"type": "array", "items": EDGE},
    },
}

PROJECT = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["format", "version", "root", "definitions"],
    "additionalProperties": False,
    "properties": {
        "format": {"const": "netstudio-project"},
        "version": {"type": "integer", "minimum": 1},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "seed": {"type": ["integer", "null"], "minimum": 0, "maximum": 2**63 - 1},
        "root": {"type": "string", "minLength": 1},
        "definitions": {"type": "object", "minProperties": 1, "additionalProperties": DEFINITION},
        "code": {"type": "object", "additionalProperties": {"type": "string"}},
        "initializers": {"type": "array", "items": {"type": "object"}},
        "edits": {"type": "array", "items": {"type": "object"}},
        "weights": {"type": "object"},
    },
}
