"""What the phases of a sync run share: the unit-of-work transactions and the run's state."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from sfa.company.settings import CompanySettings
from sfa.db import committing
from sfa.erp.connector import ErpConnector

log = logging.getLogger("sfa.erp.sync")

SessionSource = Session | Callable[[], Session]
MAX_ERRORS = 100  # errors kept on a run row; the rest are only counted


@contextmanager
def tx(sessions: SessionSource) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error. A session passed in is the
    caller's to close; one made from a factory is closed here."""
    if isinstance(sessions, Session):
        session, close = sessions, False
    else:
        session, close = sessions(), True
    with committing(session, close=close) as unit:
        yield unit


@dataclass
class RunContext:
    sessions: SessionSource
    connector: ErpConnector
    now: Callable[[], datetime]
    settings: CompanySettings
    page_size: int
    max_pages: int | None
    push_waiting: bool = False  # also push rows still backing off (an admin's run)
    counts: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)
    dropped_errors: int = 0
    work_done: int = 0

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    def error(self, **entry) -> None:
        log.warning("erp sync: %s", entry)
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(entry)
        else:
            self.dropped_errors += 1
