"""Running other code in the functions of loaded modules, without writing a file: find a function's
code object in a compiled module, find the live function objects, and ``--try`` a hand-made edit.
The runs (:mod:`.runner`) swap a mutant in the same way."""

from __future__ import annotations

import gc
import importlib
import types
from collections import defaultdict

from .common import ROOT, say


def code_of(code: types.CodeType, qualname: str, first: int) -> types.CodeType | None:
    """The code object of ``qualname`` starting at line ``first`` inside a module's code."""
    stack = [code]
    while stack:
        c = stack.pop()
        if c.co_qualname == qualname and c.co_firstlineno == first:
            return c
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return None


def live_functions(files: list[str]) -> dict[tuple[str, str, int], list[types.FunctionType]]:
    wanted = {str(ROOT / f): f for f in files}
    live: dict[tuple[str, str, int], list] = defaultdict(list)
    for obj in gc.get_objects():
        if type(obj) is types.FunctionType:   # not isinstance: some objects warn when asked their __class__
            code = obj.__code__
            rel = wanted.get(code.co_filename)
            if rel is not None:
                live[(rel, code.co_qualname, code.co_firstlineno)].append(obj)
    return live


def module_name(rel: str) -> str:
    name = rel[:-3].replace("/", ".")
    return name[: -len(".__init__")] if name.endswith(".__init__") else name


def try_edit(rel: str, old: str, new: str, pytest_args: list[str]) -> int:
    """Run pytest with ``old`` replaced by ``new`` in ``rel``, in this process only: the functions of
    the loaded module get the edited code, and no file changes.  The edit must keep the line count."""
    import pytest
    text = (ROOT / rel).read_text()
    if text.count(old) != 1:
        say(f"the text to replace occurs {text.count(old)} times in {rel}, not once")
        return 2
    edited = text.replace(old, new)
    if edited.count("\n") != text.count("\n"):
        say("the edit must keep the number of lines")
        return 2
    importlib.import_module(module_name(rel))
    code = compile(edited, str(ROOT / rel), "exec")
    swapped = 0
    for (_, qualname, first), funcs in live_functions([rel]).items():
        new_code = code_of(code, qualname, first)
        for f in funcs:
            if new_code is not None and new_code.co_code != f.__code__.co_code or \
                    new_code is not None and new_code.co_consts != f.__code__.co_consts:
                f.__code__ = new_code
                swapped += 1
    say(f"{rel}: {swapped} function(s) now run the edited code")
    if not swapped:
        return 2
    return int(pytest.main(["-p", "no:cacheprovider", *pytest_args]))
