"""The sync cursor: where a phone is in the full set or in the change log.

Opaque to the app ("s1." and base64url JSON). It holds only positions: what a page
contains is decided by the caller's visibility when it is read, so an edited cursor
can make the server resend or skip changes for the caller, never show another team's.
"""

import base64
import binascii
import json
from dataclasses import dataclass, replace

from sfa.errors import BadRequest

PREFIX = "s1."
FULL, CHANGES = "full", "changes"
_MAX = 2**63 - 1


@dataclass(frozen=True)
class Cursor:
    phase: str  # FULL: sending the full set; CHANGES: following the change log
    # FULL: the watermark taken when the full set started (changes from it follow);
    # CHANGES: the (xid, position) of the last change read.
    xid: int
    position: int
    section: int  # FULL: the section in progress
    after: tuple[int, ...]  # FULL: the last key sent in that section (empty: none yet)
    teams: tuple[int, ...]  # the rep's teams when the full set was sent
    issued: int  # epoch seconds; a cursor older than the log's retention starts over

    def encode(self) -> str:
        fields = [
            self.phase,
            self.xid,
            self.position,
            self.section,
            list(self.after),
            list(self.teams),
            self.issued,
        ]
        raw = json.dumps(fields, separators=(",", ":")).encode()
        return PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def moved(self, **changes) -> "Cursor":
        return replace(self, **changes)


def _bad(why: str) -> BadRequest:
    return BadRequest(
        f"the sync cursor is not valid: {why}",
        hint="send the cursor of the last answer exactly as received, or none for the full set",
    )


def _int(value: object) -> int:
    if type(value) is not int or not 0 <= value <= _MAX:
        raise _bad("a position is not a non-negative 64-bit integer")
    return value


def _ints(value: object, most: int) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) > most:
        raise _bad("a key is malformed")
    return tuple(_int(v) for v in value)


def decode(text: str) -> Cursor:
    if not text.startswith(PREFIX):
        raise _bad("it does not come from this server")
    body = text[len(PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        fields = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _bad("it cannot be read") from None
    if not isinstance(fields, list) or len(fields) != 7 or fields[0] not in (FULL, CHANGES):
        raise _bad("it cannot be read")
    phase, xid, position, section, after, teams, issued = fields
    return Cursor(
        phase=phase,
        xid=_int(xid),
        position=_int(position),
        section=_int(section),
        after=_ints(after, 2),
        teams=_ints(teams, 1000),
        issued=_int(issued),
    )
