"""NetStudio's PySide6 front end (views and editing commands over the engine)."""


def create_window(project_path=None, panels=True):
    """The ready main window; see ``ui.shell.app.create_window`` (imported lazily: ``import ui`` stays cheap)."""
    from .shell.app import create_window as create
    return create(project_path, panels=panels)


__all__ = ["create_window"]
