"""Tryton's error answers mapped to the domain's two errors: ``ErpRejected`` when the
request itself is refused (a person must fix the data), ``ErpUnavailable`` otherwise."""

from __future__ import annotations

from typing import Any

from sfa.erp.connector import ErpRejected, ErpUnavailable

#: messages of server faults that are worth a retry
TRANSIENT_FAULTS = (
    "database is locked",
    "OperationalError",
    "TimeOutException",
    "could not serialize",
    "deadlock detected",
    "TransactionError",
)


def short(text: str, limit: int = 300) -> str:
    """One line of at most ``limit`` characters (for messages built from answers)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def map_fault(method: str, error: Any) -> Exception:
    """The exception for the ``error`` member of a Tryton answer to ``method``."""
    if isinstance(error, list | tuple) and error:
        kind = error[0]
        args = error[1] if len(error) > 1 else None
        if kind == "UserError":
            message, description = "", ""
            if isinstance(args, list | tuple):
                message = str(args[0]) if args else ""
                description = str(args[1] or "") if len(args) > 1 else ""
            return ErpRejected(
                message or f"Tryton refused {method}", code="user_error", detail=description
            )
        if kind == "UserWarning":
            name, message, description = "", "", ""
            if isinstance(args, list | tuple):
                name = str(args[0]) if args else ""
                message = str(args[1]) if len(args) > 1 else ""
                description = str(args[2] or "") if len(args) > 2 else ""
            return ErpRejected(
                message or f"Tryton asks to confirm a warning ({name})",
                code="warning",
                detail=f"{name}: {description}".strip(": "),
            )
        if kind == "ConcurrencyException":
            return ErpUnavailable(f"concurrent update in Tryton during {method}: {args}")
        if kind == "LoginException":
            return ErpUnavailable(f"Tryton asks for more login parameters ({args})")
        text = str(kind)
        if any(marker in text for marker in TRANSIENT_FAULTS):
            return ErpUnavailable(f"Tryton fault during {method}: {text}")
        # An unexpected server fault: nothing says the request itself is
        # wrong, so let the caller retry (with backoff) and alert.
        return ErpUnavailable(f"Tryton server error during {method}: {short(text)}")
    return ErpUnavailable(f"unexpected Tryton error during {method}: {error}")
