"""Every change to a visit's flags, and the trust score that follows from them.

Invariant: a visit's `trust_score` is `flags.trust_score` of its current flags. Nothing
else writes `visit_flags` or `trust_score`, so the invariant holds on every path:
- `replace_flags`: flags decided in Python for some visits (the day recompute's
  drive_by and not_checked_out, sfa.tracking.days; a check-out's not_checked_out);
- `replace_scope_flags`: flags decided set-based in SQL for a scope of visits (the
  suspicious-visit indicators, sfa.visits.indicators);
- a new check-in writes its first flags and their score together, computed from the
  same list, in its single statement (sfa.visits.repository.insert_check_in);
- the demo loader (sfa.demo.history) bulk-inserts check-in flags, and the full
  recompute it runs in the same transaction scores them before anything can read them.
Both functions replace the flags of the given codes and rescore the visits concerned
before they return, in the caller's transaction. They are where a visit becomes flagged,
so they also emit `visit.flagged` for every visit that got a flag it did not have (a
flag removed and written again by a recompute is not new); a new check-in emits it for
its first flags (sfa.visits.events).
"""

import json
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from sfa.events.service import SYSTEM, Actor
from sfa.visits import events
from sfa.visits.flags import WEIGHTS, Flag
from sfa.visits.models import Visit, VisitFlag
from sfa.visits.repository import SCOPE_VISIT_IDS, Scope, flag_row

# One scoring rule for every path: 100 minus the weights of the visit's flags, floored at
# 0 (the same as flags.trust_score). An unchanged score is not rewritten (a row version
# and five index entries each).
_RESCORE = """
WITH scored AS (
    SELECT v.id,
           greatest(0, 100 - COALESCE(sum((CAST(:weights AS jsonb) ->> f.code)::int), 0))
               AS score
    FROM visits v LEFT JOIN visit_flags f ON f.visit_id = v.id
    WHERE v.id IN ({visit_ids})
    GROUP BY v.id
)
UPDATE visits SET trust_score = scored.score
FROM scored WHERE visits.id = scored.id AND visits.trust_score IS DISTINCT FROM scored.score
"""
_RESCORE_IDS = text(_RESCORE.format(visit_ids="SELECT unnest(CAST(:ids AS bigint[]))"))
_RESCORE_SCOPE = text(_RESCORE.format(visit_ids=SCOPE_VISIT_IDS))
_DELETE_SCOPE = text(
    f"DELETE FROM visit_flags WHERE code = ANY(:codes) AND visit_id IN ({SCOPE_VISIT_IDS}) "
    "RETURNING visit_id, code"
)
_SCOPE_FLAGS = text(
    "SELECT visit_id, code FROM visit_flags "
    f"WHERE code = ANY(:codes) AND visit_id IN ({SCOPE_VISIT_IDS})"
)
_WEIGHTS = json.dumps(WEIGHTS)


def replace_flags(
    session: Session,
    visits: Sequence[Visit],
    codes: Iterable[str],
    flags: Mapping[int, list[Flag]],
    *,
    actor: Actor = SYSTEM,
) -> None:
    """Replace the `codes` flags of `visits` by `flags` (visit id -> its flags of those
    codes; a visit missing there has none), and rescore them. `actor`: whose action
    made the change (the system's jobs unless a request did)."""
    if not visits:
        return
    codes = set(codes)
    ids = [visit.id for visit in visits]
    removed = session.execute(
        delete(VisitFlag)
        .where(VisitFlag.visit_id.in_(ids), VisitFlag.code.in_(codes))
        .returning(VisitFlag.visit_id, VisitFlag.code)
    ).all()
    rows = [flag_row(v, f) for v in visits for f in flags.get(v.id, ()) if f.code in codes]
    session.add_all(rows)
    session.flush()
    session.execute(_RESCORE_IDS, {"ids": ids, "weights": _WEIGHTS})
    # The scores were written in SQL: the loaded visits must not keep their old ones.
    for visit in visits:
        session.expire(visit, ["trust_score"])
    events.flagged(session, _added(removed, ((r.visit_id, r.code) for r in rows)), actor)


def replace_scope_flags(
    session: Session,
    scope: Scope,
    codes: Iterable[str],
    statements: Sequence[tuple[str, dict]],
    *,
    actor: Actor = SYSTEM,
) -> None:
    """Replace the `codes` flags of the visits of `scope` by what `statements` insert
    (INSERT … SELECT into visit_flags over the scope's params plus their own), and
    rescore the scope."""
    params = scope.params() | {"codes": list(codes)}
    session.flush()
    removed = session.execute(_DELETE_SCOPE, params).all()
    for sql, extra in statements:
        session.execute(text(sql), params | extra)
    session.execute(_RESCORE_SCOPE, params | {"weights": _WEIGHTS})
    for visit in session.identity_map.values():
        if isinstance(visit, Visit):
            session.expire(visit, ["trust_score"])
    events.flagged(session, _added(removed, session.execute(_SCOPE_FLAGS, params)), actor)


def _added(
    before: Iterable[tuple[int, str]], after: Iterable[tuple[int, str]]
) -> dict[int, set[str]]:
    """Visit id -> the codes it has `after` that it had not `before`."""
    old = {(visit_id, code) for visit_id, code in before}
    added: dict[int, set[str]] = {}
    for visit_id, code in after:
        if (visit_id, code) not in old:
            added.setdefault(visit_id, set()).add(code)
    return added
