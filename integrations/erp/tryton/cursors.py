"""The opaque cursor of an incremental pull: where a scan stands and when it began."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass

from sfa.erp.connector import ErpCursor

CURSOR_PREFIX = "tryton1."


@dataclass(frozen=True)
class Scan:
    kind: str
    since: dt.datetime | None  # lower bound of the scan (ERP time, UTC)
    started: dt.datetime | None  # ERP time when the scan began
    after_id: int = 0

    def encode(self) -> ErpCursor:
        raw = json.dumps(
            {
                "k": self.kind,
                "s": self.since.isoformat() if self.since else None,
                "t": self.started.isoformat() if self.started else None,
                "a": self.after_id,
            },
            separators=(",", ":"),
        )
        return CURSOR_PREFIX + base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, kind: str, cursor: ErpCursor | None) -> Scan:
        if not cursor:
            return cls(kind, None, None, 0)
        if not cursor.startswith(CURSOR_PREFIX):
            raise ValueError(f"not a Tryton cursor: {cursor!r}")
        data = cursor[len(CURSOR_PREFIX) :]
        try:
            raw = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
            scan = cls(
                raw["k"],
                dt.datetime.fromisoformat(raw["s"]) if raw["s"] else None,
                dt.datetime.fromisoformat(raw["t"]) if raw["t"] else None,
                int(raw["a"]),
            )
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise ValueError(f"invalid Tryton cursor: {cursor!r}") from exc
        if scan.kind != kind:
            raise ValueError(f"cursor of {scan.kind!r} used to pull {kind!r}")
        return scan
