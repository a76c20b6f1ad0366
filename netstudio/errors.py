"""The engine's error types.

Every error the engine raises on purpose derives from :class:`NetStudioError`,
and its message is one sentence that a user can read without a traceback.
Front ends (the CLI, the app) catch ``NetStudioError`` and show ``str(err)``.
"""

from __future__ import annotations


def as_sentence(fragment: str) -> str:
    """``fragment`` as a sentence: a capital first letter and a full stop."""
    return fragment[:1].upper() + fragment[1:] + ("" if fragment.endswith(".") else ".")


class NetStudioError(Exception):
    """Base class: ``str(err)`` is a one-sentence, user-facing explanation."""


class FileFormatError(NetStudioError):
    """A file cannot be read: missing, truncated, corrupt, or not of the expected kind."""


class UnsafeFileError(FileFormatError):
    """A file would need to run pickled code to load, so it is refused."""


class ProjectFormatError(FileFormatError):
    """A project file fails validation; ``problems`` lists ``(json_path, message)`` pairs."""

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


class EditError(NetStudioError):
    """An edit that would break the project's structure; nothing was changed."""


class GraphError(NetStudioError):
    """``compile`` was asked to build an invalid graph; ``diagnostics`` says why."""

    def __init__(self, message: str, diagnostics=()):
        super().__init__(message)
        self.diagnostics = list(diagnostics)


class DeviceError(NetStudioError):
    """A device is unavailable, or tensors live on different devices."""


class RunError(NetStudioError):
    """A forward, backward or training run failed; the message says where and why."""
