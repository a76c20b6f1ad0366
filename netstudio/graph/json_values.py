"""What may be stored in a project: plain JSON values, and nothing that breaks a save.

Everything an edit stores (hyperparameters, initializer settings, project
settings) is written to a JSON file later, so the document refuses up front
what could not be written or read back: objects that are not JSON (a bare
``object()`` would make every later save and fingerprint fail), text with lone
surrogates (UTF-8 cannot encode them), nesting deeper than any project needs,
and numbers beyond what a float can hold.
"""

from __future__ import annotations

import math

MAX_DEPTH = 64
MAX_INT = 2 ** 63


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be saved as UTF-8, or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        return f"it holds a character that is not valid Unicode at position {err.start}"
    return None


def json_value_problem(value: object, max_depth: int = MAX_DEPTH) -> str | None:
    """Why ``value`` cannot be stored in a project file, as a sentence fragment; None when it can.

    Iterative, so a hostile nesting cannot exhaust the stack.
    """
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return f"it is nested more than {max_depth} levels deep"
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, int):
            if abs(item) > MAX_INT:
                return "it holds a whole number too large to store"
        elif isinstance(item, float):
            if math.isnan(item) or math.isinf(item):
                continue   # JSON as Python writes it holds these; the checker judges whether they make sense
        elif isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return problem
        elif isinstance(item, (list, tuple)):
            stack.extend((x, depth + 1) for x in item)
        elif isinstance(item, dict):
            for key, x in item.items():
                if not isinstance(key, str):
                    return f"its keys must be text, not {type(key).__name__}"
                problem = text_problem(key)
                if problem:
                    return problem
                stack.append((x, depth + 1))
        else:
            return f"a {type(item).__name__} cannot be stored in a project"
    return None
