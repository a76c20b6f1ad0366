"""Every question the app asks with a blocking dialog, in one place.

Callers use them as ``prompts.ask_trust(...)`` (through the module), so tests
replace any of them with ``monkeypatch.setattr(prompts, "ask_trust", ...)``
and no test ever waits on a modal dialog.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

FILE_FILTER = "NetStudio projects (*.netstudio);;All files (*)"

SAVE, DISCARD, CANCEL = "save", "discard", "cancel"
RECOVER, LATER = "recover", "later"


def ask_save_changes(parent: QWidget, name: str) -> str:
    """SAVE, DISCARD or CANCEL, before closing or replacing a modified project."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                      f"Save the changes to {name} before closing it?",
                      QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                      | QMessageBox.StandardButton.Cancel, parent)
    box.setInformativeText("Your changes are lost if you don't save them.")
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    answer = box.exec()
    return {QMessageBox.StandardButton.Save: SAVE,
            QMessageBox.StandardButton.Discard: DISCARD}.get(QMessageBox.StandardButton(answer), CANCEL)


def confirm_revert(parent: QWidget, name: str) -> bool:
    answer = QMessageBox.question(parent, "Revert", f"Discard all changes to {name} and reload it?",
                                  QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                                  QMessageBox.StandardButton.Cancel)
    return answer == QMessageBox.StandardButton.Discard


def _ask_yes(parent: QWidget | None, title: str, text: str, details: str, yes: str, no: str) -> bool:
    """A question with two buttons; True when the person chose ``yes`` (the default)."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, parent)
    box.setInformativeText(details)
    accept = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    box.addButton(no, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(accept)
    box.exec()
    return box.clickedButton() is accept


def ask_trust(parent: QWidget, class_names: list[str]) -> bool:
    """Whether to run a project's code blocks; asked before any of them runs."""
    return _ask_yes(parent, "Run the project's code?",
                    f"This project contains Python code blocks ({', '.join(class_names)}). Run them?",
                    "Code blocks run with your permissions. Only run code from people you trust; "
                    "if you don't, those blocks stay disabled until you choose Trust this project.",
                    "Run code", "Keep disabled")


def ask_recover(parent: QWidget | None, description: str) -> str:
    """RECOVER, DISCARD or LATER for an autosaved project left by a crash."""
    box = QMessageBox(QMessageBox.Icon.Question, "Recover unsaved work?",
                      "NetStudio did not close properly. Unsaved work was recovered:",
                      QMessageBox.StandardButton.NoButton, parent)
    box.setInformativeText(description)
    recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(recover)
    box.exec()
    clicked = box.clickedButton()
    return RECOVER if clicked is recover else DISCARD if clicked is discard else LATER


def ask_stop_run(parent: QWidget, doing: str) -> bool:
    """Whether to stop a running job (training...) so that the project can be replaced or closed."""
    return _ask_yes(parent, "Stop the run?", f"A run is using the network. Stop it to {doing}?",
                    "The run stops after its current step; what it has done so far is kept.",
                    "Stop the run", "Keep running")


def ask_stop_training(parent: QWidget) -> bool:
    """Whether to stop a ``netstudio train`` run started from the Runs view, so that the app can close."""
    return _ask_yes(parent, "Stop the training run?",
                    "A training run started from NetStudio is still going. Stop it and close NetStudio?",
                    "It is interrupted as Ctrl+C would: the checkpoints it has saved are kept, and "
                    "netstudio train --resume continues it.", "Stop it and close", "Keep NetStudio open")


def choose_open_path(parent: QWidget, directory: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Open project", directory, FILE_FILTER)
    return path or None


def choose_save_path(parent: QWidget, suggested: str) -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, "Save project", suggested, FILE_FILTER)
    return path or None


def inform(parent: QWidget, title: str, text: str, details: str = "") -> None:
    """A note the user should read once (what an import turned into code blocks, say)."""
    box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.StandardButton.Ok, parent)
    if details:
        box.setDetailedText(details)
    box.exec()
