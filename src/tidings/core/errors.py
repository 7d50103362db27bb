"""Typed errors with stable codes. The API renders every one as ``{"error": {code, message, details}}``.

TidingsError (500, internal_error)
├── Unauthenticated (401, auth.required)
├── Forbidden (403, auth.forbidden)
│   └── CsrfRefused (403, auth.csrf)
├── TooManyAttempts (429, auth.throttled)
├── NotFound (404, not_found)
├── Conflict (409, conflict)
│   └── InvalidTransition (409, campaign.invalid_transition)
└── InvalidInput (422, invalid_input)
    ├── DocumentInvalid (422, campaign.document_invalid)
    ├── ConditionInvalid (422, condition.invalid)
    └── ImportInvalid (422, import.invalid)
"""

from __future__ import annotations

from typing import Any, ClassVar


class TidingsError(Exception):
    code: ClassVar[str] = "internal_error"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Unauthenticated(TidingsError):
    """No credential, or one that is unknown, expired or revoked."""

    code, http_status = "auth.required", 401


class Forbidden(TidingsError):
    """A valid credential that does not grant this."""

    code, http_status = "auth.forbidden", 403


class CsrfRefused(Forbidden):
    code = "auth.csrf"


class TooManyAttempts(TidingsError):
    code, http_status = "auth.throttled", 429


class NotFound(TidingsError):
    code, http_status = "not_found", 404


class Conflict(TidingsError):
    code, http_status = "conflict", 409


class InvalidTransition(Conflict):
    code = "campaign.invalid_transition"


class InvalidInput(TidingsError):
    code, http_status = "invalid_input", 422


class DocumentInvalid(InvalidInput):
    code = "campaign.document_invalid"


class ConditionInvalid(InvalidInput):
    code = "condition.invalid"


class ImportInvalid(InvalidInput):
    code = "import.invalid"
