"""ERP sync benchmark: push N orders and pull M products against a real Tryton.

    .venv/bin/python bench/erp_sync.py [--orders 1000] [--products 10000] [--page-size 200]

Starts a throwaway PostGIS cluster and a private trytond (copy of the cached test
database, scripts/tryton_db.py), creates the products in Tryton in bulk
(``product.template.create``, many records per call), one party, the orders with their
outbox rows in PostgreSQL, then runs ``sfa.erp.sync.run_sync`` once (push + pull) and
prints total time and the share spent waiting on the ERP (time inside connector calls)
versus our own code (everything else: building sales, upserts, commits), as absolute
figures and ratios. Both servers are child processes stopped by their pid.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import ROOT, banner, free_port, log, machine_line, pg_cluster


def _erp_test_helpers():
    spec = importlib.util.spec_from_file_location(
        "sfa_erp_conftest", ROOT / "tests" / "integration" / "erp" / "conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


class Timed:
    """The connector, with the wall time spent inside each of its calls."""

    def __init__(self, inner):
        self.inner = inner
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        def call(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0) + time.perf_counter() - t0
                self.calls[name] = self.calls.get(name, 0) + 1
                if name == "push_sale" and self.calls[name] % 100 == 0:
                    log(f"pushed {self.calls[name]} orders")
                if name.startswith("pull_") and self.calls[name] % 10 == 0:
                    log(f"{name}: {self.calls[name]} pages")

        return call


def create_products(user, meta, count: int, batch: int = 20) -> list[int]:
    unit = user.unit_id
    ids: list[int] = []
    tag = uuid.uuid4().hex[:4].upper()
    for start in range(0, count, batch):
        values = [
            {
                "name": f"Bench product {n}",
                "type": "goods",
                "salable": True,
                "list_price": Decimal(1000 + n % 5000),
                "default_uom": unit,
                "sale_uom": unit,
                "account_category": meta["account_category_id"],
                "products": [("create", [{"suffix_code": f"B{tag}-{n}"}])],
            }
            for n in range(start, min(count, start + batch))
        ]
        templates = user("product.template", "create", values)
        for record in user("product.template", "read", templates, ["products"]):
            ids.extend(record["products"])
        if len(ids) % 1000 < batch or len(ids) == count:
            log(f"created {len(ids)}/{count} products in Tryton")
    return ids


def create_orders(count: int, party: int, product_ids: list[int]) -> None:
    from sfa.catalog.models import Product
    from sfa.customers.models import Customer
    from sfa.db import get_sessionmaker
    from sfa.orders.models import ErpOutbox, Order, OrderLine, OrderState, OutboxState
    from sfa.users.models import Role, User

    with get_sessionmaker()() as s:
        rep = User(username="bench-rep", full_name="Bench Rep", role=Role.rep, password_hash="x")
        customer = Customer(code="BENCH-1", name="Toko Bench", external_id=str(party))
        s.add_all([rep, customer])
        s.flush()
        used = product_ids[:50]
        products = [Product(external_id=str(p), name=f"P{p}", unit="u") for p in used]
        s.add_all(products)
        s.flush()
        for n in range(count):
            picks = [products[(n + k) % len(products)] for k in range(3)]
            order = Order(
                client_id=uuid.uuid4(),
                request_hash="b" * 64,
                rep_id=rep.id,
                customer_id=customer.id,
                state=OrderState.approved,
                currency="IDR",
                gross_amount=Decimal(60000),
                discount_amount=Decimal(3000),
                net_amount=Decimal(57000),
                discount_pct=Decimal(5),
            )
            s.add(order)
            s.flush()
            for no, product in enumerate(picks, start=1):
                s.add(
                    OrderLine(
                        order_id=order.id,
                        line_no=no,
                        product_id=product.id,
                        quantity=Decimal(no),
                        unit_price=Decimal(10000),
                        discount_pct=Decimal(5),
                        net_price=Decimal(9500),
                        net_amount=Decimal(9500) * no,
                    )
                )
            s.add(ErpOutbox(order_id=order.id, state=OutboxState.pending))
        s.commit()
    # the catalogue rows made for the order lines are pulled again below (upserts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--products", type=int, default=10000)
    parser.add_argument("--page-size", type=int, default=200)
    args = parser.parse_args()
    banner(f"ERP sync: push {args.orders} orders, pull {args.products} products")
    print(machine_line())
    helpers = _erp_test_helpers()
    meta = helpers.tryton_db.ensure_cached_db()
    directory = Path(tempfile.mkdtemp(prefix="sfa-bench-tryton-"))
    helpers.tryton_db.copy_db(meta, directory)
    server = helpers.TrytonServer(directory, free_port(), meta)
    log("starting trytond")
    server.start()
    try:
        with pg_cluster():
            from integrations.erp.tryton import TrytonConnector
            from sfa.db import get_sessionmaker
            from sfa.erp import sync

            user = helpers.TrytonUser(server)
            t0 = time.perf_counter()
            product_ids = create_products(user, meta, args.products)
            party = user.create_customer("Toko Bench")
            user.close()
            log(f"Tryton data ready in {time.perf_counter() - t0:.1f}s")
            create_orders(args.orders, party, product_ids)
            log(f"{args.orders} approved orders with outbox rows in PostgreSQL")

            connector = Timed(
                TrytonConnector(
                    server.url,
                    server.database,
                    meta["connector_login"],
                    meta["connector_password"],
                    timeout=60,
                )
            )
            started = time.perf_counter()
            run = sync.run_sync(
                get_sessionmaker(), connector=connector, trigger="manual", page_size=args.page_size
            )
            total = time.perf_counter() - started
            connector.inner.close()

            erp = sum(connector.seconds.values())
            ours = total - erp
            push_erp = connector.seconds.get("push_sale", 0)
            pull_erp = erp - push_erp
            print(f"run {run.id}: status {run.status}, errors {len(run.errors)}")
            print(f"counts: {run.counts}")
            print(f"total            {total:8.1f} s")
            print(
                f"waiting on ERP   {erp:8.1f} s  ({erp / total:6.1%})   "
                f"push {push_erp:.1f} s, pulls {pull_erp:.1f} s"
            )
            print(f"our own code     {ours:8.1f} s  ({ours / total:6.1%})")
            for name in sorted(connector.calls):
                n, sec = connector.calls[name], connector.seconds[name]
                print(f"  {name:15s} {n:6d} calls  {sec:8.1f} s  {sec / n * 1000:8.1f} ms/call")
            pushed = connector.calls.get("push_sale", 0)
            if pushed:
                print(
                    f"push: {pushed / (push_erp or 1):.1f} orders/s of ERP time, "
                    f"{args.orders / total:.1f} orders/s overall (incl. pulls)"
                )
            products = run.counts.get("pull", {}).get("products", {}).get("items", 0)
            print(f"pull products: {products} items")
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
