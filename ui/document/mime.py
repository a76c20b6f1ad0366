"""Mime types of NetStudio's drags: a palette block, and copied nodes on the clipboard."""

BLOCK_MIME = "application/x-netstudio-block"       # data: the block type name, UTF-8
NODES_MIME = "application/x-netstudio-nodes"       # data: JSON {"nodes": [...], "edges": [...], "code": {...}}
