"""Demo data: a Jakarta FMCG distributor with teams, reps and 1,200 plausible outlets.

Deterministic (fixed seed) and loaded once: a second run finds the data and does nothing.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.auth.passwords import hash_password
from sfa.customers.models import Customer, LocationStatus
from sfa.demo.catalog import seed_catalog
from sfa.geo import to_geography
from sfa.users.models import Role, Team, User

DEMO_PASSWORD = "demo1234"

# Territory centres (lat, lon) and spread in degrees (~0.01° ≈ 1.1 km).
TERRITORIES = {
    "Jakarta Pusat": (-6.1865, 106.8341, 0.018),
    "Jakarta Selatan": (-6.2615, 106.8106, 0.030),
    "Jakarta Barat": (-6.1683, 106.7588, 0.028),
    "Jakarta Timur": (-6.2250, 106.9004, 0.030),
}
MANAGERS = {
    "manager.budi": ["Jakarta Pusat", "Jakarta Selatan"],
    "manager.sari": ["Jakarta Barat", "Jakarta Timur"],
}
REPS_PER_TEAM = 6
CUSTOMERS_PER_TEAM = 300
DISTRIBUTORS_PER_TEAM = 2
CLASSES = [("warung", 0.45), ("toko", 0.30), ("minimarket", 0.12), ("grosir", 0.13)]

_FIRST = [
    "Budi",
    "Siti",
    "Agus",
    "Dewi",
    "Rudi",
    "Wati",
    "Joko",
    "Rina",
    "Andi",
    "Yuni",
    "Hendra",
    "Lestari",
    "Bambang",
    "Ayu",
    "Eko",
    "Fitri",
    "Slamet",
    "Nur",
    "Dedi",
    "Indah",
]
_LAST = [
    "Santoso",
    "Wijaya",
    "Saputra",
    "Hidayat",
    "Kusuma",
    "Pratama",
    "Siregar",
    "Nasution",
    "Halim",
    "Gunawan",
    "Setiawan",
    "Lubis",
]
_SHOP = [
    "Sumber Rejeki",
    "Berkah Jaya",
    "Makmur",
    "Sentosa",
    "Lancar",
    "Maju Jaya",
    "Barokah",
    "Harapan",
    "Sejahtera",
    "Mulia",
    "Abadi",
    "Sinar Terang",
    "Murah Meriah",
]
_STREETS = [
    "Jl. Kebon Sirih",
    "Jl. Fatmawati",
    "Jl. Daan Mogot",
    "Jl. Pemuda",
    "Jl. Panjang",
    "Jl. Raya Bogor",
    "Jl. Tanah Abang",
    "Jl. Kemang Raya",
    "Jl. Kyai Tapa",
    "Jl. Pramuka",
    "Jl. Salemba Raya",
    "Jl. Cipinang",
    "Jl. Ciledug Raya",
]


@dataclass(frozen=True)
class SeedResult:
    created: bool
    teams: int
    users: int
    customers: int


Progress = Callable[[str, int, int], None]


def _noop(step: str, done: int, total: int) -> None:
    pass


def seed_demo(session: Session, *, progress: Progress = _noop) -> SeedResult:
    if session.scalar(select(Team).where(Team.name == next(iter(TERRITORIES)))) is not None:
        return SeedResult(created=False, teams=0, users=0, customers=0)
    rng = random.Random(20261123)
    password_hash = hash_password(DEMO_PASSWORD)  # one hash: argon2 is slow on purpose

    users = [
        User(
            username="admin",
            full_name="Demo Administrator",
            role=Role.admin,
            password_hash=password_hash,
            language="en",
        )
    ]
    managers = {
        name: User(
            username=name,
            full_name=name.split(".")[1].title() + " (Manager)",
            role=Role.manager,
            password_hash=password_hash,
            language="id",
        )
        for name in MANAGERS
    }
    users += managers.values()
    session.add_all(users)
    session.flush()

    teams = {}
    for manager_name, territory_names in MANAGERS.items():
        for name in territory_names:
            teams[name] = Team(name=name, manager_id=managers[manager_name].id)
    session.add_all(teams.values())
    session.flush()

    reps = []
    for t_index, team in enumerate(teams.values()):
        for r in range(REPS_PER_TEAM):
            n = t_index * REPS_PER_TEAM + r + 1
            reps.append(
                User(
                    username=f"rep{n:02d}",
                    full_name=f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
                    role=Role.rep,
                    team_id=team.id,
                    password_hash=password_hash,
                    phone=f"+62812{rng.randrange(10**7, 10**8)}",
                    language="id",
                )
            )
    session.add_all(reps)
    session.flush()
    progress("users", len(users) + len(reps), len(users) + len(reps))

    total = CUSTOMERS_PER_TEAM * len(teams)
    made = 0
    for t_index, (name, team) in enumerate(teams.items()):
        lat0, lon0, spread = TERRITORIES[name]
        distributors: list[Customer] = []
        for i in range(CUSTOMERS_PER_TEAM):
            is_distributor = i < DISTRIBUTORS_PER_TEAM
            cls = (
                "distributor"
                if is_distributor
                else rng.choices([c for c, _ in CLASSES], weights=[w for _, w in CLASSES])[0]
            )
            shop = rng.choice(_SHOP)
            title = {
                "warung": f"Warung {rng.choice(_FIRST)}",
                "toko": f"Toko {shop}",
                "minimarket": f"Minimarket {shop}",
                "grosir": f"Grosir {shop}",
                "distributor": f"PT {shop} Distribusi",
            }[cls]
            # About one outlet in ten has no known location yet: captured at a first visit.
            located = is_distributor or rng.random() > 0.1
            customer = Customer(
                code=f"C{t_index + 1}{i + 1:04d}",
                name=title,
                address=f"{rng.choice(_STREETS)} No. {rng.randrange(1, 250)}, {name}",
                customer_class=cls,
                phone=f"+6221{rng.randrange(10**6, 10**7)}",
                language="id",
                team_id=team.id,
                is_distributor=is_distributor,
                location=to_geography(rng.gauss(lat0, spread), rng.gauss(lon0, spread))
                if located
                else None,
                location_status=LocationStatus.imported if located else LocationStatus.unknown,
            )
            # Small outlets are often secondary customers served by a distributor.
            if distributors and cls in ("warung", "toko") and rng.random() < 0.35:
                customer.distributor_id = rng.choice(distributors).id
            session.add(customer)
            if is_distributor:
                session.flush()
                distributors.append(customer)
            made += 1
            if made % 100 == 0:
                session.flush()
                progress("customers", made, total)
    session.flush()
    progress("customers", total, total)
    seed_catalog(session, language="id")
    return SeedResult(created=True, teams=len(teams), users=len(users) + len(reps), customers=total)
