"""Domain errors. Mapped to HTTP once, in `api/errors.py`.

Every error says what was wrong (`message`) and, where useful, how to fix it (`hint`).
"""


class DomainError(Exception):
    code = "error"
    # Most errors undo the transaction; a few must keep what was written before them
    # (a failed login must still count towards throttling).
    keeps_transaction = False

    def __init__(self, message: str, *, hint: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or {}


class InvalidInput(DomainError):
    code = "invalid_input"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class Forbidden(DomainError):
    code = "forbidden"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class LoginFailed(Unauthenticated):
    keeps_transaction = True


class Throttled(DomainError):
    code = "throttled"

    def __init__(self, message: str, *, retry_after_s: int, hint: str | None = None):
        super().__init__(message, hint=hint, details={"retry_after_s": retry_after_s})
        self.retry_after_s = retry_after_s


class PayloadTooLarge(DomainError):
    code = "too_large"


class UnsupportedMedia(DomainError):
    code = "unsupported_media_type"


class BadRequest(DomainError):
    """A request the server cannot read at all (an unreadable cursor): 400."""

    code = "bad_request"
