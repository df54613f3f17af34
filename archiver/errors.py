"""Errors meant for people: one line saying what went wrong, and what to do."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix. The CLI prints `error: <message>` (+ hint), exit code 2."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class BrowserNotFound(UserError):
    pass
