"""Incremental exports for warehouses: GET /v1/exports/{entity} (docs/exports.md)."""

import asyncio
import csv
import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, text

from factories import make_customer
from sfa.auth import service as auth_service
from sfa.customers.models import Customer
from sfa.exports import service as export_service


def _lines(response) -> list[dict]:
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def test_rows_after_the_cursor_page_by_page(client, world, db):
    make_customer(db, "EX01", world.team_a, -6.2, 106.8)
    db.commit()
    headers = world.headers("admin")
    first = client.get("/v1/exports/customers", params={"limit": 1}, headers=headers)
    rows = _lines(first)
    assert len(rows) == 1 and first.headers["x-row-count"] == "1"
    seen, after = [rows[0]["code"]], first.headers["x-next-after"]
    while True:
        page = client.get(
            "/v1/exports/customers", params={"after": after, "limit": 2}, headers=headers
        )
        batch = _lines(page)
        if not batch:
            assert page.headers["x-next-after"] == after  # nothing new: the same cursor
            break
        seen += [r["code"] for r in batch]
        after = page.headers["x-next-after"]
    assert sorted(seen) == sorted(["A001", "BD01", "B001", "EX01"])
    assert {"location_lat", "location_lon", "updated_at"} <= set(rows[0])


def test_updated_since_and_csv(client, world):
    headers = world.headers("admin")
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    response = client.get(
        "/v1/exports/customers", params={"updated_since": past, "format": "csv"}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert {r["code"] for r in table} == {"A001", "BD01", "B001"}
    later = client.get("/v1/exports/customers", params={"updated_since": future}, headers=headers)
    assert _lines(later) == []


def test_deletions_are_tombstones(client, world, db):
    gone = make_customer(db, "EX02", world.team_a)
    db.commit()
    db.execute(delete(Customer).where(Customer.id == gone.id))
    db.commit()
    response = client.get("/v1/exports/customers/deletions", headers=world.headers("admin"))
    rows = _lines(response)
    # Other tests of the session may have deleted (committed) customers before: this
    # deletion is the newest tombstone, once.
    keys = [r["key"] for r in rows]
    assert keys.count({"id": gone.id}) == 1 and keys[-1] == {"id": gone.id}
    assert "x-next-after" in response.headers
    pings = client.get("/v1/exports/pings/deletions", headers=world.headers("admin"))
    assert pings.status_code == 404


@pytest.mark.parametrize("who", ["rep_a", "manager_a"])
def test_exports_are_company_wide_only(client, world, who):
    response = client.get("/v1/exports/visits", headers=world.headers(who))
    assert response.status_code == 403, response.text


def test_bad_cursor_and_unknown_export(client, world):
    headers = world.headers("admin")
    bad = client.get("/v1/exports/visits", params={"after": "e1.bm9wZQ"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"
    unknown = client.get("/v1/exports/secrets", headers=headers)
    assert unknown.status_code == 422, unknown.text


PINGS = 1_000_000


async def _drain(response) -> int:
    size = 0
    async for chunk in response.body_iterator:
        size += len(chunk)
    return size


def test_a_million_pings_stream_with_bounded_memory(db, world):
    """The export's own memory stays flat: the rows pass through a server-side cursor
    into a spooled file (on disk past 4 MB) that is then streamed."""
    db.execute(
        text(
            "INSERT INTO pings (rep_id, at, position, accuracy_m, mock) "
            "SELECT :rep, date_trunc('month', now()) + i * interval '1 millisecond', "
            "ST_SetSRID(ST_MakePoint(106.8 + i * 1e-7, -6.2), 4326)::geography, 5, false "
            "FROM generate_series(1, :n) i"
        ),
        {"rep": world.rep_a.id, "n": PINGS},
    )
    admin = auth_service.principal_for_user(db, world.admin)
    found = export_service.export(
        db, principal=admin, entity="pings", updated_since=None, after=None, limit=None
    )
    from api.routers.exports import Format, _stream

    tracemalloc.start()
    try:
        response = _stream(db, found, Format.csv, "pings", None)
        size = asyncio.run(_drain(response))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.headers["x-row-count"] == str(PINGS)
    assert size > 50 * 2**20  # the export is far larger than what it held at once
    assert peak < 40 * 2**20, f"peak {peak / 2**20:.1f} MiB for {size / 2**20:.0f} MiB out"
