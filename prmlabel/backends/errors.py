"""Errors a backend raises, so callers can tell "the engine failed" from a bug in prmlabel.

Both carry a message meant for the user: what failed, where, and what to do about it. A run that
hits one stops; nothing is written for the failed batch, so re-running resumes from the last shard.
"""

from __future__ import annotations


class BackendError(RuntimeError):
    """The engine failed at run time, e.g. a server still unreachable after every retry.

    ``status`` is the HTTP status of a server's final answer, if there was one, so a caller can tell
    "this server has no such endpoint" (404) from "this server is down" (None).
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BackendConfigError(BackendError, ValueError):
    """The backend cannot be built as configured: a missing package, model file or required option.

    It is also a ``ValueError`` because the CLI already prints those as user errors, without a
    traceback: the fix is always in the user's hands (install something, set an option).
    """
