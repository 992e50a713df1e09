"""Invariant: a visit's trust score is the score of its current flags, after any sequence
of the changes that add or remove flags (check-in, check-out, pings and the day
recompute, the indicators, the refresh job, a settings change)."""

import random
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from pyproj import Geod
from sqlalchemy import select

from factories import build_world, make_customer
from sfa.anomalies import jobs as anomaly_jobs
from sfa.auth import service as auth_service
from sfa.company import service as company_service
from sfa.tracking import days
from sfa.tracking import service as tracking_service
from sfa.tracking.ingest import PingRecord
from sfa.visits import indicators
from sfa.visits import service as visit_service
from sfa.visits.flags import trust_score
from sfa.visits.models import Visit, VisitFlag
from sfa.visits.repository import Scope
from sfa.visits.service import CheckIn, Position

GEOD = Geod(ellps="WGS84")
DAY = date(2026, 11, 17)
T0 = datetime(2026, 11, 17, 1, 0, tzinfo=UTC)  # 08:00 in Jakarta
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


def offset(point, metres, azimuth=90.0):
    lon, lat, _ = GEOD.fwd(point[1], point[0], azimuth, metres)
    return lat, lon


def broken_invariant(db) -> list[tuple[int, int | None, int, list[str]]]:
    """Visits whose stored score is not the score of their flags (computed here, in
    Python, from sfa.visits.flags.trust_score)."""
    db.expire_all()
    codes: dict[int, list[str]] = {}
    for visit_id, code in db.execute(select(VisitFlag.visit_id, VisitFlag.code)):
        codes.setdefault(visit_id, []).append(code)
    return [
        (v.id, v.trust_score, trust_score(codes.get(v.id, [])), codes.get(v.id, []))
        for v in db.scalars(select(Visit))
        if v.trust_score != trust_score(codes.get(v.id, []))
    ]


class Actions:
    """The ways flags change, each applied the way the product applies it."""

    def __init__(self, db, world, rng: random.Random):
        self.db, self.world, self.rng = db, world, rng
        self.principal = auth_service.principal_for_user(db, world.rep_a)
        base = (-6.2000, 106.8000)
        # Three shops registered from one spot (clustered_customers), two farther apart.
        spots = [offset(base, 0.3 * i, 0) for i in range(3)]
        spots += [offset(base, 800 * (i + 1)) for i in range(2)]
        self.shops = [
            make_customer(db, f"TS{i}", world.team_a, *spot) for i, spot in enumerate(spots)
        ]
        self.where = {shop.id: spot for shop, spot in zip(self.shops, spots, strict=True)}
        self.clock = T0

    def check_in(self):
        shop = self.rng.choice(self.shops)
        self.clock += timedelta(minutes=self.rng.choice((1, 4, 20, 45)))
        lat, lon = self.where[shop.id]
        if self.rng.random() < 0.3:  # too far
            lat, lon = offset((lat, lon), 900)
        visit_service.check_in(
            self.db,
            principal=self.principal,
            now=NOW,
            data=CheckIn(
                client_id=uuid.uuid4(),
                customer_id=shop.id,
                position=Position(
                    at=self.clock, lat=lat, lon=lon, accuracy_m=8, mock=self.rng.random() < 0.2
                ),
                sent_at=NOW - timedelta(minutes=self.rng.choice((0, 30))),
            ),
        )

    def check_out(self):
        open_visits = self.db.scalars(select(Visit).where(Visit.check_out_hash.is_(None))).all()
        if open_visits:
            visit = self.rng.choice(open_visits)
            minutes = self.rng.choice((2, 15, 90))
            visit_service.check_out(
                self.db,
                principal=self.principal,
                visit_id=visit.id,
                position=Position(at=visit.check_in_at + timedelta(minutes=minutes)),
                now=NOW,
            )

    def pings(self):
        shop = self.rng.choice(self.shops)
        start = self.clock - timedelta(minutes=self.rng.choice((0, 10)))
        moving = self.rng.random() < 0.5
        pings = []
        for k in range(12):
            lat, lon = offset(self.where[shop.id], 120 * k if moving else 3)
            pings.append(
                PingRecord(at=start + timedelta(seconds=30 * k), lat=lat, lon=lon, accuracy_m=8)
            )
        tracking_service.store_rep_pings(
            self.db,
            rep_id=self.world.rep_a.id,
            items=list(enumerate(pings)),
            batch_size=12,
            now=NOW,
        )

    def day_recompute(self):
        days.refresh_day(self.db, rep_id=self.world.rep_a.id, day=DAY)

    def indicators(self):
        indicators.recompute_flags(
            self.db,
            scope=Scope(DAY, DAY, [self.world.rep_a.id]),
            settings=company_service.get_company_settings(self.db),
        )

    def job(self):
        anomaly_jobs.refresh_dirty(self.db)

    def settings(self):
        company_service.update_settings(
            self.db,
            actor="test",
            changes={"visit_min_minutes": self.rng.choice((1, 5, 20)), "visit_max_minutes": 60},
        )
        self.indicators()


@pytest.mark.parametrize("seed", range(4))
def test_the_score_is_always_the_score_of_the_current_flags(db, seed):
    rng = random.Random(seed)
    actions = Actions(db, build_world(db), rng)
    steps = ["check_in"] * 4 + [
        "check_out",
        "pings",
        "day_recompute",
        "indicators",
        "job",
        "settings",
    ]
    done = []
    for _ in range(30):
        step = rng.choice(steps)
        getattr(actions, step)()
        done.append(step)
        assert broken_invariant(db) == [], done
    # The sequences reach every kind of flag change, not just a few.
    flagged = set(db.scalars(select(VisitFlag.code)))
    assert len(flagged) >= 4, flagged


def test_a_late_check_out_after_the_job_closed_the_visit_rescores_it(db):
    # The minute job closes a visit as not_checked_out (score 90); the check-out arrives
    # later: the flag goes and the score follows at once, not at the next full recompute.
    world = build_world(db)
    principal = auth_service.principal_for_user(db, world.rep_a)
    visit, _ = visit_service.check_in(
        db,
        principal=principal,
        now=NOW,
        data=CheckIn(
            client_id=uuid.uuid4(),
            customer_id=world.customer_a.id,
            position=Position(at=T0, lat=-6.2, lon=106.8, accuracy_m=8, mock=True),
        ),
    )
    days.refresh_day(db, rep_id=world.rep_a.id, day=DAY)
    db.expire_all()
    assert db.get(Visit, visit.id).trust_score == trust_score(["mock_location", "not_checked_out"])
    visit_service.check_out(
        db,
        principal=principal,
        visit_id=visit.id,
        position=Position(at=T0 + timedelta(minutes=20)),
        now=NOW,
    )
    assert broken_invariant(db) == []
    assert db.get(Visit, visit.id).trust_score == trust_score(["mock_location"])
    anomaly_jobs.refresh_dirty(db)
    assert broken_invariant(db) == []
