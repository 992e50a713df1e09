"""Demo history: 20 weeks of journey plans, visits and GPS for the demo reps.

Run after `seed_demo` (the `sfa seed-demo` command does both, then the tracking days and
the analytics). Deterministic (fixed seeds, relative to "today" in the company time
zone) and loaded once: when the demo reps already have journey plans nothing is added.

What is generated
-----------------
- Journey plans: every rep serves 42 located customers of the team, grouped by area
  into weekdays Mon-Fri: 6 weekly customers a day and 12 fortnightly ones, 9 in one
  week and 3 in the next, i.e. 39 and 33 planned visits in alternate weeks, anchored
  21 weeks back.
- Planned visits (expanded by `sfa.plans.service.expand_plans`, the scheduler's own
  set-based expansion) for the last 20 complete ISO weeks and the current week up to
  yesterday; the visits are stored first, so the expansion links them.
- Visits between 08:00 and 17:30 company time, in a nearest-neighbour tour with travel
  at 18-28 km/h and a lunch break; check-ins 5-40 m from the shop (accuracy 5-25 m),
  check-out after 8-40 min, verification as the check-in service computes it; about
  90 % of the planned visits done, one or two unplanned visits a week. A little noise
  everywhere: rare short or long visits, a weak GPS fix, uploads hours late from the
  offline queue (an old `at`, no clock skew).
- GPS tracks for every rep on the working days of the last 14 days (sfa/demo/tracks.py:
  a fix every 30 s, driving along streets at city speeds with halts at lights, stays at
  the shops, phone-like position error and the odd poor fix indoors): on some days lunch
  is at a customer's warung without a check-in (an unlogged visit), and on some the app
  was killed over lunch (a 17-25 min gap). Every visit of those days is a real stop of at
  least 6.5 min (arrival, check-in, check-out, departure), so only rep08's drive-bys show
  as drive-bys.

Deliberate anomalies (weeks count back from the last complete week = "last week")
------------------------------------------------------------------------------
=========  ===================  =========================================================
rep        flag / anomaly       what happens
=========  ===================  =========================================================
rep03      consecutive_near     every 3rd week and last week: three check-ins in a row
                                from one spot (the 2nd and 3rd shop are usually
                                too_far as well)
rep05      rapid_visits         every 2nd week and last week: a burst of 4 quick visits
                                to neighbouring shops within 30 min
rep14      clustered_customers  4 "new" customers (codes C3N01..C3N04, Jakarta Barat)
                                registered 9 weeks ago within 1 m of each other, visited
                                Mon-Thu every week since
rep11      overlong             two 65-110 min visits a week
rep07      too_short            4 visits under 5 min every week, 12 last week
                                (-> short_visits_spike last week)
rep15      mock_location        two mock-GPS check-ins a week in the last 10 weeks
rep17      too_far              three check-ins 350-800 m from the shop every week
rep20      clock_skew           device clock 25-35 min fast on 3 days 8 weeks ago and
                                on 2 days last week
rep09      impossible_speed     every 3rd week and last week: a last check-in of the day
                                several km away, a minute or two after the previous one
rep08      drive_by             3 days of the last 14 (2 of the last 5 working days): a
                                check-in while driving past the shop (pings show no stop)
rep22      not_checked_out      every 3rd week one visit without check-out (closed at
                                the next check-in); on one of the last 5 working days the
                                phone died after the last check-in (closed at end of day)
rep01      (none)               pings; two visits without check-out whose dwell comes
                                from the pings
rep07      short_visits_spike   last week (4 -> 12 short visits)
rep10      visit_count_outlier  last week: sick from Tuesday, ~10 visits instead of ~34
rep12      low_visit_rate       last 4 weeks and this week: ~65 % of the plan done (the
                                visit count stays normal: unplanned visits instead)
=========  ===================  =========================================================
Side effects that show up too, as they would in real data: rep14 is a
visit_count_outlier in the week the fake customers first get visits, rep05 last week
(its burst on top of a long plan week). Scattered over every rep (realistic noise, a
few per rep in 20 weeks): too_short, overlong and too_far (a weak fix under a roof).
The current week (up to yesterday) gets flags and aggregates; anomalies are computed
for complete weeks only (see `analyse_demo_history` in api/cli.py).
"""

import hashlib
import itertools
import math
import random
import uuid
from collections.abc import Callable, Set
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import TypeVar

import numpy as np
from sqlalchemy import exists, insert, select, text
from sqlalchemy.orm import Session

from sfa import geo
from sfa.company import service as company_service
from sfa.company.settings import CompanySettings
from sfa.customers.models import Customer, LocationStatus
from sfa.db import psycopg_connection
from sfa.demo import tracks
from sfa.demo.seed import TERRITORIES
from sfa.demo.tracks import PhoneTrack
from sfa.durations import seconds_between
from sfa.plans import service as plan_service
from sfa.plans.models import JourneyPlan
from sfa.tracking.ingest import copy_rows, ewkb_hex, mark_days_dirty
from sfa.tracking.partitions import ensure_partitions
from sfa.users.models import Role, Team, User
from sfa.visits import verification
from sfa.visits.flags import make_flag
from sfa.visits.models import VisitFlag

Progress = Callable[[str, int, int], None]
T = TypeVar("T")

HISTORY_WEEKS = 20  # complete ISO weeks before the current one
CUSTOMERS_PER_REP = 42
WEEKLY_PER_DAY = 6
DAY_START = time(8, 0)
LAST_ARRIVAL = time(17, 0)  # nothing starts later: the day ends by 17:30
SEED = 20261124

TRACK_DAYS = 14  # every rep has GPS tracks for the working days of the last 14 days
# On a day with a track, the rep stays at a shop at least this long (a stop is 5 min).
MIN_STAY_MINUTES = 6.5
_PING_CHUNK = 20_000  # rows per COPY, for the progress bar
LUNCH_AT_CUSTOMER_SHARE = 0.35
LUNCH_GAP_SHARE = 0.15
CLUSTER_TEAM = "Jakarta Barat"
CLUSTER_REP = "rep14"
CLUSTER_WEEKS = 9
# Reps whose numbers a scenario controls exactly: no random noise of that kind.
_NO_SHORT_NOISE = {"rep07"}

_VISIT_COLUMNS = (
    "rep_id",
    "client_id",
    "request_hash",
    "customer_id",
    "device_id",
    "check_in_at",
    "sent_at",
    "received_at",
    "check_in_position",
    "check_in_accuracy_m",
    "check_in_mock",
    "verification_status",
    "distance_to_customer_m",
    "radius_m",
    "check_out_at",
    "check_out_position",
    "check_out_accuracy_m",
    "check_out_mock",
    "check_out_hash",
    "dwell_seconds",
    "dwell_source",
    "local_day",
)


@dataclass(frozen=True)
class HistoryResult:
    created: bool
    date_from: date | None = None  # first day with planned visits (a Monday)
    date_to: date | None = None  # the last day with visits: today (so far) or yesterday
    last_complete_day: date | None = None  # Sunday of the last complete ISO week
    journey_plans: int = 0
    planned_visits: int = 0
    visits: int = 0
    pings: int = 0


def _noop(step: str, done: int, total: int) -> None:
    pass


@dataclass
class _Stop:
    """One place in a rep's day: a visit, or a lunch break (customer_id None)."""

    customer_id: int | None
    where: tuple[float, float]  # where the rep physically is (lat, lon)
    dwell: float  # minutes from check-in to check-out
    customer: tuple[float, float] | None = None
    planned: bool = False
    lag: float = 1.0  # minutes from arrival to check-in and from check-out to departure
    travel: float | None = None  # forced minutes from the previous departure
    checkout: bool = True
    drive_by: bool = False
    position: tuple[float, float] | None = None  # forced check-in position
    accuracy: float | None = None
    mock: bool = False
    touched: bool = False  # shaped by a scenario: no random noise on top
    arrive: datetime | None = None
    check_in: datetime | None = None
    check_out: datetime | None = None
    depart: datetime | None = None


@dataclass
class _Day:
    rep: "_Rep"
    day: date
    week: int  # 0 = oldest complete week, HISTORY_WEEKS = the current week
    stops: list[_Stop] = field(default_factory=list)
    skew_minutes: float = 0.0
    pinged: bool = False
    phone_dies: bool = False
    until: datetime | None = None  # today: only what happened before this instant
    # today: a rep who is between shops at `until` is still at the last one instead, so
    # that "now" always has visits in progress (each day's random tour may have none)
    hold_open: bool = False
    dirty: bool = False  # recompute the tracking day (visits without check-out)


@dataclass
class _Rep:
    id: int
    username: str
    team: str
    customers: list[int]  # journey customers
    index: int


def _known(value: T | None) -> T:
    """A stop's field that the generator has set by now (a visit's customer point, the
    times `_schedule` gives every stop it keeps)."""
    if value is None:
        raise ValueError("the demo generator read a stop field before setting it")
    return value


def _offset(point: tuple[float, float], metres: float, bearing: float) -> tuple[float, float]:
    lon, lat, _ = geo.GEOD.fwd(point[1], point[0], bearing, metres)
    return lat, lon


def _dist(a: tuple[float, float], b: tuple[float, float]) -> float:
    return geo.distance_m(lat1=a[0], lon1=a[1], lat2=b[0], lon2=b[1])


def _isolation(stops: list[_Stop], stop: _Stop) -> float:
    """How far a stop of a tour is from its nearer neighbour (never the first or last)."""
    i = stops.index(stop)
    return min(_dist(stop.where, stops[i - 1].where), _dist(stop.where, stops[i + 1].where))


def _monday(day: date) -> date:
    return day - timedelta(days=day.isoweekday() - 1)


class _Team:
    """A team's located customers with an ECEF index for neighbour searches."""

    def __init__(self, name: str, ids: list[int], points: list[tuple[float, float]]):
        self.name = name
        self.ids = ids
        self.points = dict(zip(ids, points, strict=True))
        self._xyz = geo.to_ecef(lat=[p[0] for p in points], lon=[p[1] for p in points])

    def nearest(self, point: tuple[float, float], exclude: Set[int | None], k: int) -> list[int]:
        xyz = geo.to_ecef(lat=[point[0]], lon=[point[1]])[0]
        order = np.argsort(((self._xyz - xyz) ** 2).sum(axis=1))
        return [self.ids[i] for i in order if self.ids[i] not in exclude][:k]

    def farthest(self, point: tuple[float, float], exclude: Set[int | None]) -> int:
        xyz = geo.to_ecef(lat=[point[0]], lon=[point[1]])[0]
        order = np.argsort(-((self._xyz - xyz) ** 2).sum(axis=1))
        return next(self.ids[i] for i in order if self.ids[i] not in exclude)


class _Generator:
    def __init__(
        self, session: Session, settings: CompanySettings, today: date, progress: Progress
    ):
        self.session = session
        self.settings = settings
        self.tz = settings.tz
        self.today = today
        self.yesterday = today - timedelta(days=1)
        self.this_monday = _monday(today)
        self.first_monday = self.this_monday - timedelta(weeks=HISTORY_WEEKS)
        self.anchor = self.this_monday - timedelta(weeks=HISTORY_WEEKS + 1)
        self.progress = progress
        self.rng = random.Random(SEED)
        self.visit_rows: list[tuple] = []
        self.check_in_flags: list[tuple[uuid.UUID, int, list]] = []
        self.ping_rows: list[tuple] = []
        self.dirty: list[tuple[int, datetime]] = []
        # (rep_id, customer_id) -> (weekday, every_n_weeks, anchor)
        self.plans: dict[int, list[tuple[int, int, int, date]]] = {}

    # --- setup -------------------------------------------------------------------------

    def load(self) -> list[_Rep]:
        teams = {
            t.name: t
            for t in self.session.scalars(select(Team).where(Team.name.in_(list(TERRITORIES))))
        }
        self.teams: dict[str, _Team] = {}
        for name, db_team in teams.items():
            rows = self.session.execute(
                text(
                    "SELECT id, ST_Y(location::geometry), ST_X(location::geometry) FROM customers "
                    "WHERE team_id = :t AND location IS NOT NULL ORDER BY id"
                ),
                {"t": db_team.id},
            ).all()
            self.teams[name] = _Team(name, [r[0] for r in rows], [(r[1], r[2]) for r in rows])
        team_names: dict[int | None, str] = {t.id: name for name, t in teams.items()}
        users = self.session.scalars(
            select(User)
            .where(
                User.role == Role.rep,
                User.team_id.in_(list(team_names)),
                User.username.like("rep%"),
            )
            .order_by(User.username)
        ).all()
        reps = []
        by_team: dict[str, list[User]] = {}
        for user in users:
            by_team.setdefault(team_names[user.team_id], []).append(user)
        for name, members in by_team.items():
            team = self.teams[name]
            lat0, lon0, _ = TERRITORIES[name]
            pool = team.ids[:]
            random.Random(SEED + len(name)).shuffle(pool)
            per_rep = min(CUSTOMERS_PER_REP, len(pool) // len(members))
            for i, user in enumerate(members):
                mine = pool[i * per_rep : (i + 1) * per_rep]
                # Group by bearing from the territory centre: one area per weekday.
                mine.sort(
                    key=lambda c: math.atan2(team.points[c][0] - lat0, team.points[c][1] - lon0)
                )
                reps.append(_Rep(user.id, user.username, name, mine, int(user.username[3:])))
        return reps

    def make_plans(self, reps: list[_Rep]) -> int:
        rows = []
        for rep in reps:
            fortnightly = 0
            n = len(rep.customers)
            sizes = [n // 5 + (1 if d < n % 5 else 0) for d in range(5)]
            start = 0
            plans = []
            for weekday, size in enumerate(sizes, start=1):
                for j, customer in enumerate(rep.customers[start : start + size]):
                    if j < WEEKLY_PER_DAY:
                        plans.append((customer, weekday, 1, self.anchor))
                    else:
                        # Three of four fortnightly customers fall in the "even" weeks:
                        # weeks alternate between a longer and a shorter plan.
                        plans.append(
                            (
                                customer,
                                weekday,
                                2,
                                self.anchor + timedelta(weeks=1 if fortnightly % 4 == 3 else 0),
                            )
                        )
                        fortnightly += 1
                start += size
            self.plans[rep.id] = plans
            rows += [
                {
                    "rep_id": rep.id,
                    "customer_id": c,
                    "weekday": wd,
                    "every_n_weeks": every,
                    "anchor_week": anchor,
                    "valid_from": self.anchor,
                    "valid_to": None,
                }
                for c, wd, every, anchor in plans
            ]
        self.session.execute(insert(JourneyPlan), rows)
        return len(rows)

    def planned_on(self, rep: _Rep, day: date) -> list[int]:
        """The journey occurrences of a day: the rule of sfa.plans.repository.expand."""
        monday = _monday(day)
        return [
            c
            for c, weekday, every, anchor in self.plans[rep.id]
            if weekday == day.isoweekday()
            and day >= self.anchor
            and ((monday - _monday(anchor)).days // 7) % every == 0
        ]

    def make_cluster(self) -> list[tuple[int, tuple[float, float]]]:
        """Four customers registered from one spot (within 1 m) 9 weeks ago."""
        team = self.session.execute(select(Team).where(Team.name == CLUSTER_TEAM)).scalar_one()
        lat0, lon0, _ = TERRITORIES[CLUSTER_TEAM]
        spot = (lat0 + 0.0062, lon0 - 0.0041)
        registered = datetime.combine(
            self.this_monday - timedelta(weeks=CLUSTER_WEEKS), time(16, 40), tzinfo=self.tz
        )
        made = []
        for i, (metres, bearing) in enumerate([(0.4, 10), (0.7, 130), (0.6, 250), (0.2, 300)]):
            lat, lon = _offset(spot, metres, bearing)
            customer = Customer(
                code=f"C3N{i + 1:02d}",
                name=f"Toko Baru {['Jaya', 'Indah', 'Sari', 'Mulya'][i]}",
                address="Jl. Kyai Tapa No. 7, Jakarta Barat",
                customer_class="warung",
                phone=f"+62215550{i:03d}",
                language="id",
                team_id=team.id,
                location=geo.to_geography(lat, lon),
                location_status=LocationStatus.imported,
                created_at=registered + timedelta(minutes=3 * i),
                updated_at=registered + timedelta(minutes=3 * i),
            )
            self.session.add(customer)
            made.append(customer)
        self.session.flush()
        return [(c.id, spot) for c in made]

    # --- one rep's weeks ------------------------------------------------------------

    def rep_history(self, rep: _Rep, cluster: list[tuple[int, tuple[float, float]]]) -> None:
        rng = random.Random(SEED * 100 + rep.index)
        team = self.teams[rep.team]
        name = rep.username
        rate = 0.88 + 0.07 * rng.random()
        unplanned_per_week = 1 + rep.index % 2
        pinged_days = [
            d
            for d in self._last_working_days(TRACK_DAYS)
            if d > self.today - timedelta(TRACK_DAYS + 1)
        ]
        for week in range(HISTORY_WEEKS + 1):
            monday = self.first_monday + timedelta(weeks=week)
            days = [
                _Day(rep, monday + timedelta(days=i), week)
                for i in range(5)
                if monday + timedelta(days=i) <= self.yesterday
            ]
            if not days:
                continue
            last_week = week == HISTORY_WEEKS - 1
            complete = week < HISTORY_WEEKS
            planned = [(d, c) for d in days for c in self.planned_on(rep, d.day)]
            week_rate, unplanned = rate, unplanned_per_week
            if name == "rep12" and week >= HISTORY_WEEKS - 4:
                week_rate, unplanned = 0.65, 10
            base_miss = round(len(planned) * (1 - week_rate))
            misses = max(0, min(len(planned), base_miss + rng.randint(-1, 1)))
            missed = set(rng.sample(range(len(planned)), misses))
            if name == "rep10" and last_week:  # sick from Tuesday
                keep = [i for i, (d, _) in enumerate(planned) if d.day.isoweekday() == 1]
                keep += [i for i, (d, _) in enumerate(planned) if d.day.isoweekday() == 2][:2]
                missed = set(range(len(planned))) - set(keep)
                unplanned = 0
            for i, (d, c) in enumerate(planned):
                if i not in missed:
                    d.stops.append(self._visit(rng, team, c, planned=True))
            for _ in range(unplanned):
                d = rng.choice(days)
                self._add_unplanned(rng, team, rep, d)
            if name == CLUSTER_REP and week >= HISTORY_WEEKS - CLUSTER_WEEKS:
                for d, (cid, spot) in zip(days[:4], cluster, strict=False):
                    d.stops.append(
                        _Stop(
                            cid,
                            spot,
                            rng.uniform(10, 25),
                            customer=spot,
                            position=_offset(spot, rng.uniform(5, 30), rng.uniform(0, 360)),
                        )
                    )
            for d in days:
                d.stops = self._tour(rng, d.stops)
                d.pinged = d.day in pinged_days
            if complete:
                self._week_scenarios(rng, team, rep, week, days)
            self._ping_scenarios(rng, rep, days, pinged_days)
            week_stops = [(d, s) for d in days for s in d.stops]
            self._noise(rng, rep, week_stops)
            for d in days:
                self._store_day(rng, d)

    def rep_today(self, rep: _Rep, now: datetime) -> None:
        """Today so far (a working day): the plan's visits up to now, the rep's track to
        now, the visit in progress without a check-out. Its own random stream."""
        rng = random.Random(SEED * 7 + rep.index * 1000 + self.today.toordinal())
        team = self.teams[rep.team]
        d = _Day(rep, self.today, HISTORY_WEEKS, pinged=True, until=now)
        d.hold_open = rep.index % 8 == 0
        d.stops = [
            self._visit(rng, team, c, planned=True)
            for c in self.planned_on(rep, self.today)
            if rng.random() < 0.92
        ]
        d.stops = self._tour(rng, d.stops)
        self._store_day(rng, d)

    def _last_working_days(self, n: int) -> list[date]:
        found: list[date] = []
        day = self.yesterday
        while len(found) < n:
            if day.isoweekday() <= 5:
                found.append(day)
            day -= timedelta(days=1)
        return found

    def _visit(self, rng: random.Random, team: _Team, customer: int, planned: bool) -> _Stop:
        point = team.points[customer]
        return _Stop(customer, point, rng.uniform(8, 40), customer=point, planned=planned)

    def _add_unplanned(self, rng: random.Random, team: _Team, rep: _Rep, d: _Day) -> None:
        taken = {s.customer_id for s in d.stops} | set(self.planned_on(rep, d.day))
        near = (
            d.stops[rng.randrange(len(d.stops))].where
            if d.stops
            else team.points[rng.choice(team.ids)]
        )
        choice = rng.choice(team.nearest(near, taken, 5))
        d.stops.append(self._visit(rng, team, choice, planned=False))

    @staticmethod
    def _tour(rng: random.Random, stops: list[_Stop]) -> list[_Stop]:
        """Nearest-neighbour order from a random first shop."""
        if not stops:
            return stops
        left = stops[:]
        tour = [left.pop(rng.randrange(len(left)))]
        while left:
            here = tour[-1].where
            left.sort(key=lambda s: _dist(here, s.where))
            tour.append(left.pop(0))
        return tour

    def _week_scenarios(
        self, rng: random.Random, team: _Team, rep: _Rep, week: int, days: list[_Day]
    ) -> None:
        name = rep.username
        last_week = week == HISTORY_WEEKS - 1
        visits = [s for d in days for s in d.stops]

        def pick(n: int) -> list[_Stop]:
            return rng.sample(visits, min(n, len(visits)))

        busy = [d for d in days if len(d.stops) >= 5]
        if name == "rep03" and (week % 3 == 1 or last_week) and busy:
            d = rng.choice(busy)
            spot = d.stops[1].where
            for i, s in enumerate(d.stops[1:4]):
                s.position = _offset(spot, rng.uniform(2, 15), rng.uniform(0, 360))
                s.touched = True
                if i:
                    s.where, s.travel, s.dwell = spot, rng.uniform(0.5, 1.5), rng.uniform(8, 12)
        elif name == "rep05" and (week % 2 == 0 or last_week) and busy:
            d = rng.choice(busy)
            self._burst(rng, team, rep, d)
        elif name == "rep11":
            for s in pick(2):
                s.dwell, s.touched = rng.uniform(65, 110), True
        elif name == "rep07":
            for s in pick(12 if last_week else 4):
                s.dwell, s.touched = rng.uniform(2, 4.5), True
        elif name == "rep15" and week >= HISTORY_WEEKS - 10:
            for s in pick(2):
                s.mock, s.accuracy = True, round(rng.uniform(3, 5), 1)
                s.position = _offset(_known(s.customer), rng.uniform(0, 2), rng.uniform(0, 360))
        elif name == "rep17":
            for s in pick(3):
                s.where = _offset(_known(s.customer), rng.uniform(350, 800), rng.uniform(0, 360))
                s.position, s.touched = s.where, True
        elif name == "rep20" and (week == HISTORY_WEEKS - 8 or last_week):
            for d in days[1 : 4 if not last_week else 3]:
                d.skew_minutes = rng.uniform(25, 35)
        elif name == "rep09" and (week % 3 == 2 or last_week) and busy:
            d = rng.choice(busy)
            last = d.stops[-1]
            far = team.farthest(last.where, {s.customer_id for s in d.stops})
            point = team.points[far]
            km = _dist(last.where, point) / 1000
            if km >= 5:
                # previous check-out -> departure (1 min) -> travel -> arrival -> check-in
                d.stops.append(
                    _Stop(
                        far,
                        point,
                        rng.uniform(8, 15),
                        customer=point,
                        lag=0.1,
                        travel=max(0.2, km / 300 * 60 - 1.1),
                    )
                )
        elif name == "rep22" and week % 3 == 0 and busy:
            d = rng.choice(busy)
            d.stops[len(d.stops) // 2].checkout = False
            d.dirty = True

    def _burst(self, rng: random.Random, team: _Team, rep: _Rep, d: _Day) -> None:
        """Four quick visits to neighbouring shops: rapid_visits."""
        taken = {s.customer_id for s in d.stops} | set(self.planned_on(rep, d.day))
        first = d.stops[1]
        first.dwell, first.touched = rng.uniform(5.5, 7), True
        chain, here = [], first.where
        for _ in range(3):
            nxt = team.nearest(here, taken, 1)[0]
            taken.add(nxt)
            point = team.points[nxt]
            minutes = min(1.5, max(0.8, _dist(here, point) / 1000 / 22 * 60))
            chain.append(
                _Stop(nxt, point, rng.uniform(5.5, 7), customer=point, lag=0.3, travel=minutes)
            )
            here = point
        first.lag = 0.3
        d.stops[2:2] = chain

    def _ping_scenarios(
        self, rng: random.Random, rep: _Rep, days: list[_Day], pinged_days: list[date]
    ) -> None:
        order = sorted(pinged_days)
        for d in days:
            if not d.pinged or len(d.stops) < 4:
                continue
            # Counted within the last 5 working days (0 = the oldest of them; older days
            # negative), as the scenarios were written when only those had pings.
            n = order.index(d.day) - (len(order) - 5)
            if rep.username == "rep08" and n in (-3, 1, 3):
                # Drives past the shop and checks in without stopping: the shop farthest
                # from its neighbours in the tour, so no stay nearby hides the drive-by.
                s = max(d.stops[1:-1], key=partial(_isolation, d.stops))
                s.drive_by = True
                s.where = _offset(_known(s.customer), rng.uniform(20, 35), rng.uniform(0, 360))
            elif rep.username == "rep22" and n == 2:
                # The phone dies right after the last check-in: no check-out, no pings.
                last = d.stops[-1]
                last.checkout, last.lag = False, 7.0
                d.phone_dies = True
            elif rep.username == "rep01" and n in (0, 3):
                # Forgot to check out, but the pings show how long the visit lasted.
                d.stops[2].checkout = False

    def _noise(self, rng: random.Random, rep: _Rep, stops: list[tuple[_Day, _Stop]]) -> None:
        """Rare ordinary imperfections on any day without pings."""
        shorts = 0
        for _, s in stops:
            plain = not (s.touched or s.mock or s.position is not None or s.travel is not None)
            r = rng.random()
            if not plain:
                continue
            if r < 0.008 and shorts < 3 and rep.username not in _NO_SHORT_NOISE:
                s.dwell, shorts = rng.uniform(2.5, 4.8), shorts + 1
            elif r < 0.014 and rep.username != "rep11":
                s.dwell = rng.uniform(62, 85)
            elif r < 0.018:  # a weak fix under a roof, far from the shop
                s.where = _offset(_known(s.customer), rng.uniform(320, 700), rng.uniform(0, 360))
                s.accuracy = round(rng.uniform(30, 80), 1)

    # --- one day ---------------------------------------------------------------------

    def _schedule(self, rng: random.Random, d: _Day) -> list[_Stop]:
        if d.pinged:
            # With a track, a visit is a real stay: a quick visit still means parking,
            # walking in and out (the rep sits in the car a minute either side).
            for s in d.stops:
                if not s.drive_by and s.dwell + 2 * s.lag < MIN_STAY_MINUTES:
                    s.lag = (MIN_STAY_MINUTES - s.dwell) / 2
        tz = self.tz
        t = datetime.combine(d.day, DAY_START, tzinfo=tz) + timedelta(minutes=rng.uniform(0, 40))
        latest = datetime.combine(d.day, LAST_ARRIVAL, tzinfo=tz)
        noon = datetime.combine(d.day, time(12, 0), tzinfo=tz)
        done: list[_Stop] = []
        prev: _Stop | None = None
        for s in d.stops:
            if prev is not None:
                if t >= noon and s.travel is None and not any(x.customer_id is None for x in done):
                    lunch = _Stop(
                        None,
                        _offset(prev.where, rng.uniform(250, 450), rng.uniform(0, 360)),
                        0,
                        lag=0,
                    )
                    t += timedelta(minutes=self._travel(rng, prev.where, lunch.where))
                    lunch.arrive = t
                    t += timedelta(minutes=rng.uniform(30, 45))
                    lunch.depart = t
                    done.append(lunch)
                    prev = lunch
                minutes = (
                    s.travel if s.travel is not None else self._travel(rng, prev.where, s.where)
                )
                t += timedelta(minutes=minutes)
            if t > latest:
                break
            s.arrive = t
            if s.drive_by:
                s.check_in, s.depart = t, t
                s.check_out = t + timedelta(minutes=rng.uniform(3, 6))
            else:
                s.check_in = t + timedelta(minutes=s.lag)
                s.check_out = s.check_in + timedelta(minutes=s.dwell)
                s.depart = s.check_out + timedelta(minutes=s.lag)
            t = s.depart
            done.append(s)
            prev = s
        return done

    @staticmethod
    def _travel(rng: random.Random, a: tuple[float, float], b: tuple[float, float]) -> float:
        return _dist(a, b) / 1000 / rng.uniform(18, 28) * 60 + rng.uniform(1, 3)

    def _store_day(self, rng: random.Random, d: _Day) -> None:
        stops = self._schedule(rng, d)
        if d.until is not None:
            stops = self._so_far(stops, d.until, hold_open=d.hold_open)
        track = self._track(d, stops) if d.pinged and stops else None
        for s in stops:
            if s.customer_id is not None:
                self._visit_row(rng, d, s, track)
        if track is not None:
            end = _known(stops[-1].check_in) - timedelta(seconds=5) if d.phone_dies else d.until
            device = f"demo-{d.rep.username}"
            skew = timedelta(minutes=d.skew_minutes)
            for at, lat, lon, accuracy, speed, bearing, battery in track.pings(end, skew):
                self.ping_rows.append(
                    (
                        d.rep.id,
                        at,
                        ewkb_hex(lat, lon),
                        accuracy,
                        speed,
                        bearing,
                        None,
                        battery,
                        False,
                        device,
                    )
                )
        if d.pinged or d.dirty:
            first = next((s.check_in for s in stops if s.check_in), None)
            if first is not None:
                self.dirty.append((d.rep.id, first))

    @staticmethod
    def _so_far(stops: list[_Stop], until: datetime, hold_open: bool = False) -> list[_Stop]:
        """The stops begun before `until`; one still going on has no check-out yet (with
        `hold_open`, a last visit already over is still going on)."""
        kept = [
            s
            for s in stops
            if _known(s.arrive) <= until and (s.check_in or _known(s.arrive)) <= until
        ]
        last = kept[-1] if kept else None
        if hold_open and last is not None and last.customer_id is not None:
            later = until + timedelta(minutes=1)
            last.depart = max(_known(last.depart), later)
            if last.check_out is not None:
                last.check_out = max(last.check_out, later)
        if last is not None and _known(last.depart) > until:
            last.depart = until
            if last.customer_id is not None and _known(last.check_out) > until:
                last.checkout = False
        return kept

    def _track(self, d: _Day, stops: list[_Stop]) -> PhoneTrack:
        """The phone's day: home, the scheduled stays and drives, home again. Its own
        random stream, so a track never changes the visits."""
        rng = random.Random(SEED * 1000 + d.rep.index * 100_000 + d.day.toordinal())
        lunch = next((s for s in stops if s.customer_id is None), None)
        if lunch is not None and rng.random() < LUNCH_AT_CUSTOMER_SHARE:
            # Lunch at a customer's warung, no check-in: a stop near a customer (unlogged).
            visited = {s.customer_id for s in stops}
            team = self.teams[d.rep.team]
            near = team.nearest(lunch.where, visited, 1)
            if near and _dist(team.points[near[0]], lunch.where) < 800:
                lunch.where = _offset(team.points[near[0]], rng.uniform(5, 20), rng.uniform(0, 360))
        first, last = stops[0], stops[-1]
        home = _offset(first.where, rng.uniform(2000, 3500), rng.uniform(0, 360))
        arrive = _known(first.arrive)
        start = arrive - timedelta(minutes=_dist(home, first.where) / 1000 / 22 * 60)
        legs = [tracks.drive(rng, start, arrive, home, first.where)]
        for s, nxt in itertools.pairwise(stops):
            legs.append(tracks.Leg(_known(s.arrive), _known(s.depart), s.where, s.where))
            legs.append(tracks.drive(rng, _known(s.depart), _known(nxt.arrive), s.where, nxt.where))
        depart = _known(last.depart)
        legs.append(tracks.Leg(_known(last.arrive), depart, last.where, last.where))
        back = _offset(last.where, rng.uniform(3000, 5000), rng.uniform(0, 360))
        legs.append(tracks.drive(rng, depart, depart + timedelta(minutes=12), last.where, back))
        track = PhoneTrack(legs, seed=rng.getrandbits(32))
        if lunch is not None and rng.random() < LUNCH_GAP_SHARE:
            track.add_gap(_known(lunch.arrive) + timedelta(minutes=3), rng.uniform(17, 25))
        return track

    def _visit_row(self, rng: random.Random, d: _Day, s: _Stop, track: PhoneTrack | None) -> None:
        settings = self.settings
        if s.position is not None:
            position = s.position
        elif s.drive_by:
            position = _offset(s.where, rng.uniform(0, 5), rng.uniform(0, 360))
        else:
            position = _offset(s.where, rng.uniform(5, 40), rng.uniform(0, 360))
        accuracy = s.accuracy if s.accuracy is not None else round(rng.uniform(5, 25), 1)
        distance = _dist(position, _known(s.customer))
        result = verification.verify(
            settings,
            mock=s.mock,
            has_position=True,
            distance_m=distance,
            accuracy_m=accuracy,
            customer_radius_m=None,
        )
        check_in, check_out = _known(s.check_in), _known(s.check_out)
        skew = timedelta(minutes=d.skew_minutes)
        # Real instants: the device clock may run fast (skew); uploads may be late.
        received = check_in + timedelta(seconds=rng.uniform(1, 8))
        if rng.random() < 0.03:
            received += timedelta(minutes=rng.uniform(20, 180))  # offline queue
        sent = received + skew - timedelta(seconds=rng.uniform(0.3, 1.5))
        client_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        out: list[object] = [None] * 6
        if s.checkout:
            if track is not None and s.drive_by:
                out_pos = track.position_at(check_out)
            else:
                out_pos = _offset(s.where, rng.uniform(3, 25), rng.uniform(0, 360))
            out = [
                check_out + skew,
                ewkb_hex(*out_pos),
                round(rng.uniform(5, 25), 1),
                s.mock,
                hashlib.sha256(f"out:{client_id}".encode()).hexdigest(),
                int(seconds_between(check_in, check_out)),
            ]
        self.visit_rows.append(
            (
                d.rep.id,
                client_id,
                hashlib.sha256(str(client_id).encode()).hexdigest(),
                s.customer_id,
                f"demo-{d.rep.username}",
                check_in + skew,
                sent,
                received,
                ewkb_hex(*position),
                accuracy,
                s.mock,
                result.status.value,
                round(result.distance_m, 2) if result.distance_m is not None else None,
                result.radius_m,
                *out,
                "check_out" if s.checkout else None,
                (check_in + skew).astimezone(self.tz).date(),
            )
        )
        flags = []
        if s.mock:
            flags.append(make_flag("mock_location"))
        if result.status == "too_far":
            flags.append(
                make_flag("too_far", distance_m=round(distance, 1), radius_m=result.radius_m)
            )
        minutes = abs(seconds_between(sent, received)) / 60
        if minutes > settings.clock_skew_minutes:
            flags.append(
                make_flag(
                    "clock_skew",
                    skew_minutes=round(minutes, 1),
                    limit_minutes=settings.clock_skew_minutes,
                )
            )
        if flags:
            self.check_in_flags.append((client_id, d.rep.id, flags))

    # --- storage ---------------------------------------------------------------------

    def store(self) -> tuple[int, int]:
        dbapi = psycopg_connection(self.session)
        with (
            dbapi.cursor() as cursor,
            cursor.copy(f"COPY visits ({', '.join(_VISIT_COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in self.visit_rows:
                copy.write_row(row)
        if self.check_in_flags:
            ids: dict[uuid.UUID, int] = dict(
                self.session.execute(
                    text("SELECT client_id, id FROM visits WHERE client_id = ANY(:ids)"),
                    {"ids": [c for c, _, _ in self.check_in_flags]},
                ).all()
            )
            self.session.execute(
                insert(VisitFlag),
                [
                    {
                        "visit_id": ids[client_id],
                        "code": f.code,
                        "rep_id": rep_id,
                        "numbers": f.numbers,
                        "reason_en": f.reason_en,
                        "reason_id": f.reason_id,
                    }
                    for client_id, rep_id, flags in self.check_in_flags
                    for f in flags
                ],
            )
        if self.ping_rows:
            ensure_partitions(self.session, [r[1] for r in self.ping_rows])
            total = len(self.ping_rows)
            for start in range(0, total, _PING_CHUNK):
                copy_rows(self.session, "pings", self.ping_rows[start : start + _PING_CHUNK])
                self.progress("pings (COPY)", min(start + _PING_CHUNK, total), total)
        for rep_id, instant in self.dirty:
            mark_days_dirty(self.session, rep_id=rep_id, instants=[instant], timezone=self.tz)
        return len(self.visit_rows), len(self.ping_rows)


def history_exists(session: Session) -> bool:
    demo_reps = select(User.id).where(User.role == Role.rep, User.username.like("rep%"))
    return bool(session.scalar(select(exists().where(JourneyPlan.rep_id.in_(demo_reps)))))


_BULK_TABLES = ("visits", "visit_flags", "pings", "planned_visits", "journey_plans", "rep_days")


def generate_history(
    session: Session,
    *,
    today: date | None = None,
    now: datetime | None = None,
    progress: Progress = _noop,
) -> HistoryResult:
    """Add the demo history once; `today` is the company's today (default: now's). With
    `now` on a working day of `today` (the default), today so far is added as well."""
    settings = company_service.get_company_settings(session)
    if today is None:
        now = now or datetime.now(settings.tz)
        today = now.astimezone(settings.tz).date()
    elif now is not None and now.astimezone(settings.tz).date() != today:
        now = None
    if history_exists(session):
        return HistoryResult(created=False)
    gen = _Generator(session, settings, today, progress)
    reps = gen.load()
    if not reps:
        return HistoryResult(created=False)
    plans = gen.make_plans(reps)
    progress("journey plans", plans, plans)
    cluster = gen.make_cluster()
    live = now is not None and today.isoweekday() <= 5
    for i, rep in enumerate(reps, start=1):
        gen.rep_history(rep, cluster)
        if live and now is not None:  # (live implies now; said again for the type checker)
            gen.rep_today(rep, now)
        progress("visit history", i, len(reps))
    visits, pings = gen.store()
    date_to = today if live else gen.yesterday
    planned = plan_service.expand_plans(
        session, date_from=gen.first_monday, date_to=date_to, rep_ids=[r.id for r in reps]
    )
    progress("planned visits", planned, planned)
    # Tens of thousands of rows in one go: give the planner their statistics now rather
    # than whenever autovacuum gets to it, or the analysis that follows may plan for empty
    # tables (seen: minutes instead of seconds). ANALYZE counts this transaction's rows.
    for table in _BULK_TABLES:
        session.execute(text(f"ANALYZE {table}"))
    return HistoryResult(
        created=True,
        date_from=gen.first_monday,
        date_to=date_to,
        last_complete_day=gen.this_monday - timedelta(days=1),
        journey_plans=plans,
        planned_visits=planned,
        visits=visits,
        pings=pings,
    )
