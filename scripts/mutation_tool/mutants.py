"""Step 2 of the mutation tool: the mutants of a target file, made with ``ast``, applied to a fresh
parse of it, and shown as a diff (``--show``).  Nothing here runs a test."""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass

from .common import NO_MUTATE


@dataclass
class Mutant:
    id: int
    file: str            # relative to ROOT
    line: int
    end_line: int
    unit: str            # qualname of the module- or class-level function holding it
    unit_line: int       # its co_firstlineno
    index: int           # the node's position in ast.walk(tree)
    op: str
    arg: object
    change: str

    @property
    def key(self) -> tuple[str, str, int, str]:
        return self.file, self.unit, self.line - self.unit_line, self.change

    @property
    def module(self) -> str:
        return self.file


BINOP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
         ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.LShift: ast.RShift, ast.RShift: ast.LShift,
         ast.BitOr: ast.BitAnd, ast.BitAnd: ast.BitOr, ast.BitXor: ast.BitOr}
CMPOP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
         ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
BRANCHY = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.With, ast.AsyncWith, ast.ExceptHandler)
# Builtins whose swapped arguments only raise TypeError (or, for min/max, change nothing).
NO_SWAP = {"isinstance", "issubclass", "getattr", "setattr", "hasattr", "map", "filter", "min", "max", "divmod"}
REMOVABLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Raise, ast.Return, ast.Continue,
             ast.Break, ast.Delete)


def _short(node: ast.AST, limit: int = 70) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)))


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    return parents


def _skipped_subtrees(tree: ast.AST) -> set[int]:
    """ids of nodes never mutated: annotations, decorators, defaults, f-strings, docstrings."""
    skip: set[int] = set()

    def drop(node):
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
                if a is not None:
                    drop(a.annotation)
            for d in args.defaults + [d for d in args.kw_defaults if d is not None]:
                drop(d)
            if not isinstance(node, ast.Lambda):
                drop(node.returns)
                for d in node.decorator_list:
                    drop(d)
        elif isinstance(node, ast.ClassDef):
            for d in node.decorator_list + node.bases + node.keywords:
                drop(d)
        elif isinstance(node, ast.AnnAssign):
            drop(node.annotation)
        elif isinstance(node, ast.JoinedStr):
            drop(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                drop(first)
    return skip


def _units(tree: ast.Module) -> dict[int, tuple[str, int]]:
    """node id -> (qualname, first line) of the outermost function holding it whose parents are
    all classes: the function object that exists while the module is loaded."""
    owner: dict[int, tuple[str, int]] = {}

    def visit(body, prefix):
        for node in body:
            if isinstance(node, ast.ClassDef):
                visit(node.body, prefix + node.name + ".")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                unit = (prefix + node.name, first)
                for stmt in node.body:
                    for n in ast.walk(stmt):
                        owner[id(n)] = unit
            elif isinstance(node, (ast.If, ast.Try)):   # e.g. definitions under `if TYPE_CHECKING`
                for block in _blocks(node):
                    visit(block, prefix)
            else:   # lambdas in module or class level data (a table of fill functions, say)
                for lam in _outer_lambdas(node):
                    lambdas.setdefault((prefix + "<lambda>", lam.lineno), []).append(lam)
    lambdas: dict[tuple[str, int], list[ast.Lambda]] = {}
    visit(tree.body, "")
    for unit, found in lambdas.items():
        if len(found) == 1:   # two lambdas on one line could not be told apart
            for n in ast.walk(found[0].body):
                owner[id(n)] = unit
    return owner


def _outer_lambdas(node: ast.AST) -> list[ast.Lambda]:
    found, stack = [], [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Lambda):
            found.append(n)
        elif not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(n))
    return found


def _blocks(node: ast.AST) -> list[list]:
    blocks = []
    for name in ("body", "orelse", "finalbody"):
        block = getattr(node, name, None)
        if isinstance(block, list) and block:
            blocks.append(block)
    for handler in getattr(node, "handlers", []) or []:
        blocks.append(handler.body)
    return blocks


def _mutations(node: ast.AST, parent: ast.AST | None, source_lines: list[str]):
    """(op, arg, change) for each mutation of ``node``."""
    if isinstance(node, ast.BinOp) and type(node.op) in BINOP:
        if _is_text(node.left) or _is_text(node.right):
            return
        new = ast.BinOp(node.left, BINOP[type(node.op)](), node.right)
        yield "binop", None, f"{_short(node)}  ->  {_short(new)}"
    elif isinstance(node, ast.AugAssign) and type(node.op) in BINOP:
        new = ast.AugAssign(node.target, BINOP[type(node.op)](), node.value)
        yield "augop", None, f"{_short(node)}  ->  {_short(new)}"
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
        yield "unary", None, f"{_short(node)}  ->  {_short(node.operand)}"
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in CMPOP:
                ops = list(node.ops)
                ops[i] = CMPOP[type(op)]()
                new = ast.Compare(node.left, ops, node.comparators)
                yield "cmp", i, f"{_short(node)}  ->  {_short(new)}"
    elif isinstance(node, ast.BoolOp):
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield "boolop", None, f"{_short(node)}  ->  {_short(ast.BoolOp(other, node.values))}"
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            yield "const", not value, f"{value!r}  ->  {not value!r}"
        elif isinstance(value, int):
            new = 1 if value == 0 else 0 if value == 1 else value + 1
            yield "const", new, f"{value!r}  ->  {new!r}"
        elif isinstance(value, float):
            new = 1.0 if value == 0.0 else value + 1.0
            yield "const", new, f"{value!r}  ->  {new!r}"
    elif isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        yield "return_none", None, f"{_short(node)}  ->  return None"
    elif isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in NO_SWAP):
        positional = node.args
        for i in range(min(2, len(positional) - 1)):   # the first and second, the second and third
            a, b = positional[i], positional[i + 1]
            if isinstance(a, ast.Starred) or isinstance(b, ast.Starred) or ast.dump(a) == ast.dump(b):
                continue
            yield "swap", i, f"{_short(node)}  ->  {_short(_swapped(node, i))}"
    if isinstance(node, REMOVABLE) and isinstance(parent, BRANCHY):
        if isinstance(node, ast.Expr) and (isinstance(node.value, ast.Constant)):
            return   # a docstring or `...`
        yield "remove", None, f"remove `{_short(node, 60)}`"


def _swapped(call: ast.Call, i: int) -> ast.Call:
    args = list(call.args)
    args[i], args[i + 1] = args[i + 1], args[i]
    return ast.Call(call.func, args, call.keywords)


def generate(rel: str, text: str) -> list[Mutant]:
    tree = ast.parse(text, filename=rel)
    lines = text.splitlines()
    skip = _skipped_subtrees(tree)
    units = _units(tree)
    parents = _parents(tree)
    mutants = []
    for index, node in enumerate(ast.walk(tree)):
        if id(node) in skip or id(node) not in units or not hasattr(node, "lineno"):
            continue
        if NO_MUTATE in lines[node.lineno - 1]:
            continue
        unit, unit_line = units[id(node)]
        for op, arg, change in _mutations(node, parents.get(node), lines):
            mutants.append(Mutant(0, rel, node.lineno, getattr(node, "end_lineno", None) or node.lineno,
                                  unit, unit_line, index, op, arg, change))
    return mutants


def apply(tree: ast.Module, m: Mutant) -> ast.Module:
    """Apply ``m`` to a fresh parse of its file, in place."""
    nodes = list(ast.walk(tree))
    node = nodes[m.index]
    parent = _parents(tree).get(node)
    new: ast.AST
    if m.op == "binop":
        new = ast.BinOp(node.left, BINOP[type(node.op)](), node.right)
    elif m.op == "augop":
        new = ast.AugAssign(node.target, BINOP[type(node.op)](), node.value)
    elif m.op == "unary":
        new = node.operand
    elif m.op == "cmp":
        ops = list(node.ops)
        ops[m.arg] = CMPOP[type(ops[m.arg])]()
        new = ast.Compare(node.left, ops, node.comparators)
    elif m.op == "boolop":
        new = ast.BoolOp(ast.Or() if isinstance(node.op, ast.And) else ast.And(), node.values)
    elif m.op == "const":
        new = ast.Constant(m.arg)
    elif m.op == "return_none":
        new = ast.Return(ast.Constant(None))
    elif m.op == "swap":
        new = _swapped(node, m.arg)
    elif m.op == "remove":
        new = ast.Pass()
    else:
        raise ValueError(m.op)
    ast.copy_location(new, node)
    for name, value in ast.iter_fields(parent):
        if value is node:
            setattr(parent, name, new)
            break
        if isinstance(value, list) and any(v is node for v in value):
            value[[i for i, v in enumerate(value) if v is node][0]] = new
            break
    else:
        raise ValueError("node not found in its parent")
    return ast.fix_missing_locations(tree)


def all_mutants(files: list[str], texts: dict[str, str]) -> list[Mutant]:
    mutants: list[Mutant] = []
    for rel in files:
        for m in generate(rel, texts[rel]):
            m.id = len(mutants) + 1
            mutants.append(m)
    return mutants


def show(m: Mutant, text: str) -> str:
    tree = apply(ast.parse(text), m)
    old = ast.parse(text)
    # Unparse the unit alone, before and after, to show a readable diff.
    def unit_text(t):
        for node in ast.walk(t):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == m.unit.split(".")[-1] \
                    and min([node.lineno] + [d.lineno for d in node.decorator_list]) == m.unit_line:
                return ast.unparse(node).splitlines(keepends=True)
        return []
    return "".join(difflib.unified_diff(unit_text(old), unit_text(tree), f"{m.file} (original)",
                                        f"{m.file} (mutant {m.id})"))
