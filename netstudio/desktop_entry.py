"""``netstudio --install-desktop``: a menu entry, an icon and the project file type for the current user.

Follows the freedesktop.org specifications: the entry goes to
``$XDG_DATA_HOME/applications/netstudio.desktop``, the icon to
``$XDG_DATA_HOME/icons/hicolor/scalable/apps/netstudio.svg`` and the file type
``application/x-netstudio`` (``*.netstudio``) to
``$XDG_DATA_HOME/mime/packages/netstudio.xml`` (``XDG_DATA_HOME`` defaults to
``~/.local/share``).  The entry declares that type, so a double-click on a
project in the file manager opens it in NetStudio; the desktop's databases are
refreshed with ``update-mime-database`` and ``update-desktop-database`` where
they are installed.  The entry starts the ``netstudio`` script of
this installation by absolute path, so it works from a virtual environment
that is not on ``PATH``.  Qt-free: it runs without a display.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

APP_ID = "netstudio"
RESOURCES = Path(__file__).resolve().parent.parent / "resources"
TEMPLATE = RESOURCES / f"{APP_ID}.desktop"
ICON = RESOURCES / "icons" / f"{APP_ID}.svg"
MIME_TYPES = RESOURCES / f"{APP_ID}-mime.xml"
MIME_TYPE = "application/x-netstudio"
# Characters that make the Desktop Entry spec require an Exec argument to be quoted.
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def data_home() -> Path:
    """``$XDG_DATA_HOME``, or ``~/.local/share`` when it is unset or not absolute (as the spec says)."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if value and os.path.isabs(value) else Path.home() / ".local" / "share"


def entry_path(base: Path | None = None) -> Path:
    return (base or data_home()) / "applications" / f"{APP_ID}.desktop"


def icon_path(base: Path | None = None) -> Path:
    return (base or data_home()) / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"


def mime_path(base: Path | None = None) -> Path:
    return (base or data_home()) / "mime" / "packages" / f"{APP_ID}.xml"


def launch_command() -> list[str]:
    """This installation's ``netstudio`` script, else ``python -m ui`` with this Python."""
    script = Path(sys.executable).with_name(APP_ID)
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "ui"]


def quote_exec_arg(arg: str) -> str:
    """Quote one Exec argument, then escape it as a desktop-file string value."""
    text = arg.replace("%", "%%")
    if _RESERVED.intersection(text):
        text = '"' + "".join("\\" + c if c in '"`$\\' else c for c in text) + '"'
    return text.replace("\\", "\\\\")


def render_entry(command: list[str]) -> str:
    exec_line = " ".join(quote_exec_arg(a) for a in command)
    return TEMPLATE.read_text(encoding="utf-8").replace("@EXEC@", exec_line)


def install(base: Path | None = None) -> list[Path]:
    """Write the entry, the icon and the file type; returns the files written."""
    entry, icon, mime = entry_path(base), icon_path(base), mime_path(base)
    for path in (entry, icon, mime):
        path.parent.mkdir(parents=True, exist_ok=True)
    entry.write_text(render_entry(launch_command()), encoding="utf-8")
    shutil.copyfile(ICON, icon)
    shutil.copyfile(MIME_TYPES, mime)
    _refresh_databases(base)
    return [entry, icon, mime]


def uninstall(base: Path | None = None) -> list[Path]:
    """Remove the entry, the icon and the file type; returns the files that were there."""
    removed = []
    for path in (entry_path(base), icon_path(base), mime_path(base)):
        if path.exists():
            path.unlink()
            removed.append(path)
    _refresh_databases(base)
    return removed


def _refresh_databases(base: Path | None) -> None:
    """Tell the desktop about the new type and entry; a desktop without these tools reads the files later."""
    root = base or data_home()
    for tool, folder in (("update-mime-database", root / "mime"), ("update-desktop-database", root / "applications")):
        program = shutil.which(tool)
        if program is not None and folder.is_dir():
            try:
                subprocess.run([program, str(folder)], capture_output=True, timeout=60, check=False)
            except (OSError, subprocess.SubprocessError):
                pass   # the files are in place; the desktop picks them up at its next refresh
