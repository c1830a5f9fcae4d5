"""Domain errors. Each carries the HTTP status the API answers with; one handler in
``app.py`` renders them and the CLI prints their message. Messages never carry PI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, template: str | None = None,
                 values: Mapping[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        # A message made of a fixed text and values (``of``) keeps both, so a portal
        # can show it in the visitor's language (web/i18n.py ``localised``).
        self.template = template
        self.values = dict(values or {})

    @classmethod
    def of(cls, template: str, **values: object) -> Self:
        """``PermissionDenied.of("role %(role)s lacks ...", role=...)``."""
        return cls(template % values, template=template, values=values)


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class PermissionDenied(DomainError):
    status_code = 403
    code = "forbidden"


class Unauthenticated(DomainError):
    status_code = 401
    code = "unauthenticated"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class InvalidInput(DomainError):
    status_code = 422
    code = "invalid"


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "too_large"


# Exit codes of every `parcelguard` command (docs/operations.md). 1 is reserved for
# findings an operator must act on: tampering found, lines rejected, a refusal by the
# PI gate.
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3
EXIT_STORAGE = 4


class StoreError(Exception):
    """The store cannot serve this command at all (as opposed to a domain outcome).
    Not a ``DomainError``, so a command's ``except DomainError`` never turns it into
    "bad input": it reaches the entry point, which prints the message and exits with
    ``exit_code`` (the API answers ``status_code``)."""

    status_code = 503
    code = "store_error"
    exit_code = EXIT_STORAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Refused(StoreError):
    """The store is not in a state this command may use (not initialised, at an older
    schema revision, its master key missing). The message says what to do; nothing
    was changed."""

    code = "refused"
    exit_code = EXIT_REFUSED


class StorageFault(StoreError):
    """The storage under the store failed (disk full, read-only, corrupt file, wrong
    permissions). The message names the fault and the fix, never a traceback."""

    code = "storage_fault"
