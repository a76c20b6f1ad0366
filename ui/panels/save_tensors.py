""""Save Selected Tensors…", shared by the parameter tree and the checkpoint inspector.

The questions it asks go through the module (``save_tensors.choose_save_path``,
``save_tensors.show_error``), so tests replace them with ``monkeypatch`` and
never wait on a dialog.
"""

from __future__ import annotations

from pathlib import Path

import torch
from PySide6.QtWidgets import QFileDialog, QWidget

from netstudio.errors import NetStudioError
from netstudio.files.tensor_io import save_tensors

FILE_FILTER = "safetensors (*.safetensors);;PyTorch (*.pt *.pth)"


def choose_save_path(parent: QWidget | None, suggested: str) -> str | None:
    path, chosen = QFileDialog.getSaveFileName(parent, "Save Selected Tensors", suggested, FILE_FILTER)
    if path and not Path(path).suffix:
        path += ".pt" if chosen.startswith("PyTorch") else ".safetensors"
    return path or None


def show_error(parent: QWidget | None, message: str) -> None:
    """One sentence in a message box that nothing waits on."""
    from ui.widgets.error_dialog import show_error as show
    show(parent, message, title="NetStudio")


def save_selected(parent: QWidget | None, tensors: dict[str, torch.Tensor], suggested: str = "tensors.safetensors"
                  ) -> Path | None:
    """Ask where, then write ``tensors`` (name -> tensor) with ``save_tensors``; the path written, or None."""
    if not tensors:
        show_error(parent, "Select one or more tensors to save first.")
        return None
    path = choose_save_path(parent, suggested)
    if not path:
        return None
    try:
        save_tensors({name: t.detach() for name, t in tensors.items()}, path)
    except NetStudioError as err:
        show_error(parent, str(err))
        return None
    except OSError as err:
        show_error(parent, f"'{Path(path).name}' cannot be written: {(err.strerror or str(err)).rstrip('.')}.")
        return None
    return Path(path)
