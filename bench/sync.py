"""Offline sync: size and time of GET /v1/me/sync for a rep with 300 customers and 2,000
products (docs/sync.md), against a real server on a throwaway cluster.

Measured in one run: the full set in pages of 500 and of 2,000 (requests, bytes, gzip
bytes, wall time), an empty change round trip, and a round trip after a typical change
(every list price of 2,000 products changed by the ERP, one customer moved away, one
planned visit added). Baseline in the same run: GET /v1/customers (the same 300
customers as JSON pages of 1,000), to put the sync's cost per record beside a plain list.
"""

import argparse
import gzip
import time
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
from _common import (
    access_token,
    api_server,
    banner,
    log,
    machine_line,
    make_teams,
    pg_cluster,
)


def seed(session, *, customers: int, products: int, prices_per_customer: int):
    from sqlalchemy import text

    (_, reps, rows), (other_team, _, _) = make_teams(
        session, teams=2, reps_per_team=1, customers_per_team=customers
    )
    session.execute(
        text(
            "INSERT INTO products (external_id, code, name, unit, list_price, currency) "
            "SELECT 'p' || i, 'P' || i, 'Produk ' || i, 'pcs', 1000 + i, 'IDR' "
            "FROM generate_series(1, :n) i"
        ),
        {"n": products},
    )
    ids = [cid for cid, _, _ in rows]
    session.execute(
        text(
            "INSERT INTO customer_prices (customer_id, product_id, price, currency) "
            "SELECT c, p.id, p.list_price * 0.95, 'IDR' FROM unnest(CAST(:ids AS bigint[])) c "
            "CROSS JOIN LATERAL (SELECT id, list_price FROM products ORDER BY id "
            "LIMIT :k) p"
        ),
        {"ids": ids, "k": prices_per_customer},
    )
    today = datetime.now(UTC).date()
    session.execute(
        text(
            "INSERT INTO planned_visits (rep_id, customer_id, day, source) "
            "SELECT :rep, c, CAST(:today AS date) + (o % 14)::int, 'journey' "
            "FROM unnest(CAST(:ids AS bigint[])) WITH ORDINALITY AS u(c, o)"
        ),
        {"rep": reps[0], "ids": ids, "today": today},
    )
    session.commit()
    return reps[0], ids, other_team


def full_set(client: httpx.Client, headers, limit: int):
    started, requests, raw, packed, cursor = time.perf_counter(), 0, 0, 0, None
    counts: dict[str, int] = {}
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = client.get("/v1/me/sync", params=params, headers=headers)
        response.raise_for_status()
        body = response.json()
        requests += 1
        raw += len(response.content)
        packed += len(gzip.compress(response.content, 6))
        for key in ("customers", "products", "prices", "planned_visits"):
            counts[key] = counts.get(key, 0) + len(body[key])
        cursor = body["cursor"]
        if not body["has_more"]:
            return time.perf_counter() - started, requests, raw, packed, counts, cursor


def changes(client, headers, cursor):
    started, total, requests = time.perf_counter(), 0, 0
    while True:
        response = client.get("/v1/me/sync", params={"cursor": cursor}, headers=headers)
        response.raise_for_status()
        body = response.json()
        requests += 1
        total += len(response.content)
        cursor = body["cursor"]
        if not body["has_more"]:
            return time.perf_counter() - started, requests, total, body, cursor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--prices-per-customer", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    banner(f"offline sync: {args.customers} customers, {args.products:,} products")
    print(machine_line())
    with pg_cluster("sfa_bench_sync") as cluster:
        from sqlalchemy import text

        from sfa import db as sfa_db

        session = sfa_db.get_sessionmaker()()
        rep, customer_ids, other_team = seed(
            session,
            customers=args.customers,
            products=args.products,
            prices_per_customer=args.prices_per_customer,
        )
        log("seeded")
        headers = {"Authorization": f"Bearer {access_token(rep)}"}
        with (
            api_server(cluster.url, workers=1) as server,
            httpx.Client(base_url=server.base_url, timeout=120) as client,
        ):
            client.get("/v1/me/sync", params={"limit": 1}, headers=headers).raise_for_status()
            for limit in (500, 2000):
                runs = [full_set(client, headers, limit) for _ in range(args.runs)]
                best = min(runs, key=lambda r: r[0])
                seconds, requests, raw, packed, counts, cursor = best
                print(
                    f"full set, pages of {limit}: {requests} requests, {raw / 1024:.0f} KiB "
                    f"({packed / 1024:.0f} KiB gzip), best of {args.runs}: {seconds * 1000:.0f} ms "
                    f"(median {np.median([r[0] for r in runs]) * 1000:.0f} ms); {counts}"
                )
            started = time.perf_counter()
            for _ in range(args.runs):
                offset = 0
                while offset is not None:
                    page = client.get(
                        "/v1/customers", params={"limit": 1000, "offset": offset}, headers=headers
                    )
                    page.raise_for_status()
                    offset = page.json()["next_offset"]
            baseline = (time.perf_counter() - started) / args.runs
            print(f"baseline GET /v1/customers ({args.customers} rows): {baseline * 1000:.0f} ms")
            quiet = changes(client, headers, cursor)
            print(f"no change: {quiet[1]} request, {quiet[2]} bytes, {quiet[0] * 1000:.1f} ms")
            session.execute(text("UPDATE products SET list_price = list_price + 1"))
            session.execute(
                text("UPDATE customers SET team_id = :t WHERE id = :c"),
                {"t": other_team, "c": customer_ids[0]},
            )
            session.execute(
                text(
                    "INSERT INTO planned_visits (rep_id, customer_id, day, source) "
                    "VALUES (:r, :c, :d, 'adhoc')"
                ),
                {"r": rep, "c": customer_ids[1], "d": datetime.now(UTC).date() + timedelta(30)},
            )
            session.commit()
            seconds, requests, size, _, _ = changes(client, headers, quiet[4])
            print(
                f"after {args.products:,} price changes + 1 customer moved + 1 planned visit: "
                f"{requests} requests, {size / 1024:.0f} KiB, {seconds * 1000:.0f} ms; "
                f"full set / customers list time: {best[0] / baseline:.1f}x"
            )
        session.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
