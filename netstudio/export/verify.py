"""Before an export is put in place, its model.py is run: it must rebuild the same module tree.

The file is read back from disk and executed as written (it finds
constants.safetensors beside itself), and its ``build_model()`` must give the
same module names, classes, sharing, state_dict keys, shapes and dtypes, and
buffer names as the compiled network; otherwise the export fails with one
sentence and nothing is moved into place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from .constructors import build
from .errors import ExportError, first_line, os_reason, where
from .renderer import ENTRY_POINT


def verify_model_py(model_py: Path, module: nn.Module, renamed: dict[str, str]) -> None:
    """Run the generated file and check that it rebuilds ``module``'s structure exactly.

    ``renamed`` maps module paths to the class name model.py gives them where
    it differs from the compiled class's (``Head_2``).
    """
    try:
        source = model_py.read_bytes()
    except OSError as err:
        raise ExportError(f"Could not read back the generated model.py: {os_reason(err)}.") from None
    namespace: dict[str, Any] = {"__name__": "exported_model", "__file__": str(model_py)}
    try:
        exec(compile(source, str(model_py), "exec"), namespace)  # noqa: S102 - the file we generated
        rebuilt = build(f"{ENTRY_POINT}()", namespace)
    except Exception as err:
        raise ExportError(f"The generated model.py failed to build the network: {type(err).__name__}: "
                          f"{first_line(err)}.") from None
    problem = difference(rebuilt, module, renamed)
    if problem:
        raise ExportError(f"The generated model.py does not rebuild the network: {problem}.")


def difference(rebuilt: nn.Module, module: nn.Module, renamed: dict[str, str]) -> str | None:
    """The first way ``rebuilt`` differs from ``module`` in structure, as a sentence fragment, or None."""
    got = list(rebuilt.named_modules(remove_duplicate=False))
    want = list(module.named_modules(remove_duplicate=False))
    if [p for p, _ in got] != [p for p, _ in want]:
        return "its modules are named differently"
    first_got: dict[int, str] = {}
    first_want: dict[int, str] = {}
    for (path, a), (_, b) in zip(got, want):
        expected = renamed.get(path, type(b).__name__)
        if type(a).__name__ != expected:
            return f"{where(path)} is a {type(a).__name__}, not a {expected}"
        if first_got.setdefault(id(a), path) != first_want.setdefault(id(b), path):
            return f"{where(path)} is shared differently"
    a_state, b_state = rebuilt.state_dict(), module.state_dict()
    if list(a_state) != list(b_state):
        return "its state_dict has other keys"
    for key, value in b_state.items():
        if a_state[key].shape != value.shape or a_state[key].dtype != value.dtype:
            got_value = a_state[key]
            return (f"{key} is {tuple(got_value.shape)} {got_value.dtype}, "
                    f"not {tuple(value.shape)} {value.dtype}")
    if list(dict(rebuilt.named_buffers())) != list(dict(module.named_buffers())):
        return "its buffers have other names"
    return None
