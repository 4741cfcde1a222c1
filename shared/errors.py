"""The refusals a use case may answer, one set for every service.

Use cases raise them knowing nothing of HTTP; the service frame answers each with its status once
(`shared/web/service.py`). Their text goes to the caller as `detail`: it names fields, never personal data.
"""

from collections.abc import Sequence


class DomainError(Exception):
    status = 400

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """No such record, or none within the caller's scope (the same answer: scope is not disclosed)."""

    status = 404


class Forbidden(DomainError):
    """The caller's role is right but the record or place is not theirs to act on."""

    status = 403


class Conflict(DomainError):
    """The request clashes with the record's current state (a reused id, a stale version, a full bus)."""

    status = 409


class Invalid(DomainError):
    """A value a business rule refuses: answered as a 422 in FastAPI's shape, naming the field at `loc`."""

    status = 422

    def __init__(self, loc: Sequence[str | int], message: str):
        super().__init__(message)
        self.loc = tuple(loc)
        self.message = message
