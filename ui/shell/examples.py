"""The example projects that ship with the app: listed in File > Open Example,
opened on the first start, and trusted (their code blocks ship with NetStudio)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
EXAMPLES_DIR = RESOURCES / "examples"
FIRST_EXAMPLE = EXAMPLES_DIR / "mlp.netstudio"


@dataclass(frozen=True)
class Example:
    path: Path
    description: str


def bundled_examples() -> list[Example]:
    """Every bundled example by file name, with the description it declares."""
    out = []
    for path in sorted(EXAMPLES_DIR.glob("*.netstudio")):
        try:
            description = json.loads(path.read_text(encoding="utf-8")).get("description", "")
        except (OSError, ValueError):
            description = ""
        out.append(Example(path, description))
    return out


def is_bundled(path: str | Path) -> bool:
    try:
        return Path(path).resolve().parent == EXAMPLES_DIR
    except OSError:
        return False
