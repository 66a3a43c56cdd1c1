"""User-facing errors.

Anything a user can cause (a missing file, a corrupt video, a malformed record) is raised as a
:class:`DfecError`. The CLI prints it as one line, ``dfec: error: <path>: <reason>``, and exits
non-zero; it never shows a traceback for a user mistake.
"""
from __future__ import annotations

from pathlib import Path


class DfecError(Exception):
    """An error caused by the user's input, reported as one line.

    Parameters
    ----------
    reason:
        What is wrong, in a few words ("no video stream", "not valid JSON").
    path:
        The file (or record) the reason is about; printed first when given.
    exit_code:
        The process exit status the CLI uses (2 for bad input by default).
    """

    def __init__(self, reason: str, path: str | Path | None = None, exit_code: int = 2):
        from .redact import redact

        # one redaction step: a reason or path may quote a server's reply or an exception (API keys)
        self.reason = redact(str(reason).strip().replace("\n", " "))
        self.path = None if path is None else redact(str(path))
        self.exit_code = exit_code
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason

    def __reduce__(self):
        # subclasses take other __init__ arguments (MissingDependencyError(what, hint)), so rebuild
        # from the state, not by calling __init__ again: errors cross process pools and Ray intact
        return (_rebuild, (type(self), self.args, self.__dict__.copy()))


def _rebuild(cls, args: tuple, state: dict) -> DfecError:
    obj = cls.__new__(cls, *args)
    obj.args = args
    obj.__dict__.update(state)
    return obj


class FatalRunError(DfecError):
    """A user error that ends a whole batch run instead of failing one item: the captioner itself
    cannot work (its weights do not load), so every further video would fail the same way."""

    @classmethod
    def from_error(cls, exc: DfecError) -> "FatalRunError":
        return cls(exc.reason, exc.path, exc.exit_code)


class MissingDependencyError(DfecError):
    """An optional package or a local weight folder that a feature needs is not there."""

    def __init__(self, what: str, hint: str):
        super().__init__(f"{what} is not available: {hint}", exit_code=3)
