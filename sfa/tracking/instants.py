"""A batch's instants with their earliest and latest computed once.

Comparing timezone-aware datetimes costs ~0.2 µs each: min and max of a 500-ping batch
take ~0.2 ms, and ingest needs them for the future check, the partitions and the dirty
days of the same batch.
"""

from collections.abc import Iterable
from datetime import datetime
from functools import cached_property


class Instants(list[datetime]):
    """Treated as read-only once `first` or `last` has been asked."""

    @cached_property
    def first(self) -> datetime:
        return min(self)

    @cached_property
    def last(self) -> datetime:
        return max(self)


def instants_of(values: Iterable[datetime]) -> Instants:
    return values if isinstance(values, Instants) else Instants(values)
