"""A torchinfo-like table of a network, computed by shape inference (nothing allocated).

Shared parameters are counted once, on the first use, and every use is marked
with the names it shares them with.
"""

from __future__ import annotations

from dataclasses import dataclass

from .analysis import CheckResult
from .catalog import format_shape, get_block
from .catalog.block_spec import Role
from .graph.definition import Definition
from .graph.names import display_name
from .graph.project import Project


@dataclass
class SummaryRow:
    name: str              # dotted module path ("" for the root)
    depth: int
    type: str
    output: str
    params: int            # parameters owned here (0 for a second use of a shared module)
    shared_with: tuple[str, ...] = ()
    deferred: bool = False


@dataclass
class Summary:
    rows: list[SummaryRow]
    total_params: int
    total_bytes: int

    def format(self) -> str:
        headers = ("Module (type)", "Output shape", "Param #", "Notes")
        body = []
        for r in self.rows:
            leaf = display_name(r.name.split(".")[-1]) if r.name else ""
            label = ("  " * r.depth) + (f"{leaf} " if leaf else "") + f"({display_name(str(r.type))})"
            notes = []
            if r.shared_with:
                notes.append("shared with " + ", ".join(display_name(s) for s in r.shared_with))
            if r.deferred:
                notes.append("deferred until the first forward")
            count = f"{r.params:,}" if r.params or not r.shared_with else "(counted once)"
            body.append((label, r.output, count if r.params or r.shared_with else "--", "; ".join(notes)))
        widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(headers)]
        line = "=" * (sum(widths) + 3 * (len(widths) - 1))

        def fmt(cells):
            return "   ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

        out = [fmt(headers), line, *(fmt(row) for row in body), line,
               f"Total params: {self.total_params:,}",
               f"Params size: {human_bytes(self.total_bytes)}"]
        return "\n".join(out)


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if size < 1024 or unit == "PB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.2f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def summarize(project: Project, result: CheckResult) -> Summary:
    rows: list[SummaryRow] = []
    root = project.root_definition
    infos = [result.info(o.id, ()) for o in root.outputs]
    first_output = next((i.inputs[0] for i in infos if i is not None and i.inputs), None)
    rows.append(SummaryRow("", 0, root.class_name, format_shape(first_output.shape) if first_output else "?", 0))
    total = _walk(project, result, root, (), "", 1, rows)
    rows[0].params = total
    itemsize = 4
    return Summary(rows, total, total * itemsize)


def _walk(project: Project, result: CheckResult, d: Definition, path: tuple[str, ...], prefix: str,
          depth: int, rows: list[SummaryRow], active: frozenset[str] = frozenset()) -> int:
    active = active | {d.name}
    chain = d.chain() if d.kind == "sequential" else None
    nodes = chain if chain is not None else list(d.nodes.values())
    index = {n.id: i for i, n in enumerate(chain or ())}
    names = {n.id: d.effective_name(n, index) for n in nodes}
    users_of: dict[str, list[str]] = {}   # owner id -> every node using its module, in order
    for n in nodes:
        users_of.setdefault(n.tied_to or n.id, []).append(n.id)
    total = 0
    for node in nodes:
        spec = get_block(node.type)
        if spec is None or spec.role in (Role.INPUT, Role.OUTPUT):
            continue
        if d.kind == "graph" and spec.stateless and not node.tied_to:
            continue  # a function call in the generated forward, not a module
        info = result.info(node.id, path)
        name = f"{prefix}{names[node.id]}"
        output = format_shape(next(iter(info.outputs.values())).shape) if info and info.outputs else "?"
        shared = tuple(f"{prefix}{names[u]}" for u in users_of[node.tied_to or node.id] if u != node.id)
        if d.kind == "graph" and node.tied_to:
            continue  # calls the owner's module again; no attribute of its own
        type_name = node.type
        child = project.definitions.get(node.text_param("definition") or "") if spec.role is Role.CONTAINER else None
        if child is not None and child.name in active:
            child = None  # a recursive block: reported by check, not walked
        if child is not None:
            type_name = child.class_name
        elif spec.role is Role.CODE:
            type_name = node.params.get("class_name", "Code")
        row = SummaryRow(name, depth, type_name, output, 0, shared if d.kind == "sequential" else (),
                         bool(info and info.deferred))
        rows.append(row)
        if node.tied_to:
            continue
        if child is not None:
            count = _walk(project, result, child, path + (node.id,), name + ".", depth + 1, rows, active)
        else:
            count = info.param_count if info else 0
        row.params = count
        total += count
    return total
