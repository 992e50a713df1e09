#!/usr/bin/env python
"""Build (once) and copy a cached, initialised Tryton SQLite database.

The ERP connector's integration tests run against a real ``trytond`` server.
Initialising a Tryton database (``trytond-admin -u sale ...``) plus the
accounting master data a sale needs takes a while, so the result is cached in
``<repo>/.cache/tryton/<trytond version>-<key>/`` and each test run works on a
fresh copy of it.

The cache key covers the installed versions of every ``trytond*``/``proteus``
distribution, the source of this file (so changing the master data rebuilds)
and the current year (the fiscal years cover last year to next year).

What is in the database (everything a sale needs to be confirmed and its
invoice posted and paid):

* modules ``sale``, ``sale_discount``, ``account_invoice`` and their
  dependencies (account, account_product, stock, product, party, company,
  currency, country, account_invoice_stock);
* a company (currency IDR, timezone Asia/Jakarta) with the ``admin`` user
  attached to it;
* the "Universal Chart of Accounts" created through the
  ``account.create_chart`` wizard, with default receivable/payable accounts
  and default product-category revenue/expense accounts;
* fiscal years for last, this and next calendar year, each with its monthly
  periods, a strict move sequence and strict invoice sequences;
* a VAT tax "PPN 11%" and an accounting product category "Goods" that uses it
  as customer tax and the chart's revenue/expense accounts;
* payment terms "Net 30" (the configured default customer payment term) and
  "Immediate";
* an invoice payment method "Cash" on the cash journal (needed by the
  ``account.invoice.pay`` wizard);
* the warehouse ``WH`` created by the stock module (the sale's default);
* the party categories "Customer" (parties the SFA imports as customers, see
  ``integrations/erp/tryton/pulls.py``) and "Supplier";
* a connector user ``sfa`` (groups Sales + Accounting, same company) for the
  SFA backend, distinct from the ``admin`` user that acts as "a Tryton user".

Usage::

    python scripts/tryton_db.py            # build if missing, print cache dir
    python scripts/tryton_db.py --force    # rebuild
    python scripts/tryton_db.py --copy-to DIR   # build if missing, copy to DIR

From Python (tests)::

    import tryton_db
    info = tryton_db.ensure_cached_db()       # dict, see CachedDb
    tryton_db.copy_db(info, dest_dir)         # -> path of the copied .sqlite

The build itself runs in a subprocess (``--build-into``) because trytond's
configuration and pool are process-global.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE_ROOT = Path(os.environ.get("SFA_TRYTON_CACHE", REPO / ".cache" / "tryton"))
DB_NAME = "sfa"
MODULES = ["sale", "sale_discount", "account_invoice"]

ADMIN_LOGIN = "admin"
ADMIN_PASSWORD = "admin-tryton-test"
CONNECTOR_LOGIN = "sfa"
CONNECTOR_PASSWORD = "sfa-connector-test"
CURRENCY_CODE = "IDR"
COMPANY_NAME = "PT Contoh Niaga"
TIMEZONE = "Asia/Jakarta"
META_FILE = "meta.json"


def _versions() -> dict[str, str]:
    versions = {}
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name.startswith("trytond") or name == "proteus":
            versions[name] = dist.version
    if "trytond" not in versions:
        raise RuntimeError(
            "trytond is not installed in this interpreter "
            f"({sys.executable}); install the Tryton 8.2 packages first"
        )
    return dict(sorted(versions.items()))


def cache_dir() -> Path:
    versions = _versions()
    key = hashlib.sha256()
    key.update(json.dumps(versions).encode())
    key.update(Path(__file__).read_bytes())
    key.update(str(dt.date.today().year).encode())
    return CACHE_ROOT / f"trytond-{versions['trytond']}-{key.hexdigest()[:12]}"


def write_config(directory: Path, listen: str | None = None) -> Path:
    """Write a trytond.conf using the SQLite files in ``directory``."""
    lines = [
        "[database]",
        "uri = sqlite://",
        f"path = {directory}",
        # Tryton would otherwise try to list databases for the client
        "list = False",
        "[session]",
        # brute-force protection would lock out a test suite quickly
        "max_attempt = 1000",
        "[password]",
        "length = 8",
    ]
    if listen:
        lines += ["[web]", f"listen = {listen}"]
    conf = directory / "trytond.conf"
    conf.write_text("\n".join(lines) + "\n")
    return conf


@contextlib.contextmanager
def _lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fd:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)


def ensure_cached_db(force: bool = False, verbose: bool = True) -> dict:
    """Return the metadata of the cached database, building it if needed.

    The returned dict has ``dir``, ``database`` (file path), ``db_name``,
    logins/passwords and a few record ids (see ``_master_data``).
    """
    target = cache_dir()
    with _lock(CACHE_ROOT / ".lock"):
        if force and target.exists():
            shutil.rmtree(target)
        if not (target / META_FILE).exists():
            build_dir = Path(tempfile.mkdtemp(prefix="build-", dir=CACHE_ROOT))
            try:
                started = time.monotonic()
                subprocess.run(
                    [sys.executable, __file__, "--build-into", str(build_dir)],
                    check=True,
                    stdout=None if verbose else subprocess.DEVNULL,
                )
                if verbose:
                    print(
                        f"tryton database built in {time.monotonic() - started:.1f}s: {target}",
                        file=sys.stderr,
                    )
                if target.exists():
                    shutil.rmtree(target)
                build_dir.rename(target)
                # databases of older versions/keys are not used any more
                for old in CACHE_ROOT.glob("trytond-*"):
                    if old != target and old.is_dir():
                        shutil.rmtree(old, ignore_errors=True)
            finally:
                if build_dir.exists():
                    shutil.rmtree(build_dir, ignore_errors=True)
    meta = json.loads((target / META_FILE).read_text())
    meta["dir"] = str(target)
    meta["database"] = str(target / f"{DB_NAME}.sqlite")
    return meta


def copy_db(meta: dict, dest: Path, db_name: str | None = None) -> Path:
    """Copy the cached database into ``dest`` (a directory)."""
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / f"{db_name or meta['db_name']}.sqlite"
    # Tryton runs SQLite in WAL mode: a stale -wal file next to the copy
    # would be replayed into it when the server opens it.
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(meta["database"], target)
    return target


def _checkpoint(database: Path) -> None:
    """Fold the WAL into the file and leave WAL mode, so that the cached
    database is one self-contained file that can be copied as is."""
    import sqlite3

    conn = sqlite3.connect(database)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("VACUUM")
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        if Path(f"{database}{suffix}").exists():
            raise RuntimeError(f"{database}{suffix} left after checkpoint")


# --------------------------------------------------------------------------
# Build (runs in its own process)
# --------------------------------------------------------------------------


def _build_into(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    conf = write_config(directory)
    (directory / f"{DB_NAME}.sqlite").touch()  # sqlite backend needs the file
    passfile = directory / "admin.pass"
    passfile.write_text(ADMIN_PASSWORD + "\n")
    env = dict(os.environ, TRYTONPASSFILE=str(passfile))
    started = time.monotonic()
    admin = Path(sys.executable).with_name("trytond-admin")
    subprocess.run(
        [
            str(admin),
            "-c",
            str(conf),
            "-d",
            DB_NAME,
            "-u",
            *MODULES,
            "--activate-dependencies",
            "--email",
            "admin@example.com",
        ],
        check=True,
        env=env,
    )
    passfile.unlink()
    print(f"trytond-admin: {time.monotonic() - started:.1f}s", file=sys.stderr)

    started = time.monotonic()
    # in its own process: trytond's pool keeps the database open
    subprocess.run([sys.executable, __file__, "--master-data", str(directory)], check=True)
    meta = json.loads((directory / "master.json").read_text())
    (directory / "master.json").unlink()
    print(f"master data: {time.monotonic() - started:.1f}s", file=sys.stderr)
    meta.update(
        {
            "db_name": DB_NAME,
            "versions": _versions(),
            "admin_login": ADMIN_LOGIN,
            "admin_password": ADMIN_PASSWORD,
            "connector_login": CONNECTOR_LOGIN,
            "connector_password": CONNECTOR_PASSWORD,
            "built_at": dt.datetime.now(dt.UTC).isoformat(),
        }
    )
    (directory / "trytond.conf").unlink()
    _checkpoint(directory / f"{DB_NAME}.sqlite")
    (directory / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")


def _master_data(conf: Path) -> dict:
    from proteus import Model, Wizard
    from proteus import config as pconfig

    config = pconfig.set_trytond(
        database=f"sqlite:///{DB_NAME}", user=ADMIN_LOGIN, config_file=str(conf)
    )

    Currency = Model.get("currency.currency")
    Party = Model.get("party.party")
    User = Model.get("res.user")
    Group = Model.get("res.group")
    ModelData = Model.get("ir.model.data")

    # -- currency & company ------------------------------------------------
    (currency,) = Currency.find([("code", "=", CURRENCY_CODE)]) or [None]
    if currency is None:
        currency = Currency(
            name="Indonesian Rupiah",
            code=CURRENCY_CODE,
            symbol="Rp",
            rounding=Decimal("0.01"),
            digits=2,
        )
        currency.save()
    company_party = Party(name=COMPANY_NAME)
    company_party.save()

    company_config = Wizard("company.company.config")
    company_config.execute("company")
    company_config.form.party = company_party
    company_config.form.currency = currency
    company_config.form.timezone = TIMEZONE
    company_config.execute("add")
    config._context = User.get_preferences(True, {})
    Company = Model.get("company.company")
    (company,) = Company.find()

    # -- chart of accounts -------------------------------------------------
    AccountTemplate = Model.get("account.account.template")
    Account = Model.get("account.account")
    chart_id = ModelData.get_id("account.account_template_root_en", config.context)
    create_chart = Wizard("account.create_chart")
    create_chart.execute("account")
    create_chart.form.account_template = AccountTemplate(chart_id)
    create_chart.form.company = company
    create_chart.execute("create_account")

    def account(**where):
        domain = [("company", "=", company.id), ("closed", "!=", True)]
        for key, value in where.items():
            domain.append((key.replace("__", "."), "=", value))
        found = Account.find(domain, limit=1)
        if not found:
            raise RuntimeError(f"no account for {where}")
        return found[0]

    receivable = account(type__receivable=True)
    payable = account(type__payable=True)
    revenue = account(type__revenue=True)
    expense = account(type__expense=True)
    cash = account(code="1.1.1")
    tax_account = account(code="6.3.6")
    create_chart.form.account_receivable = receivable
    create_chart.form.account_payable = payable
    create_chart.form.category_account_revenue = revenue
    create_chart.form.category_account_expense = expense
    create_chart.execute("create_properties")

    # -- fiscal years, periods, move & invoice sequences ---------------------
    FiscalYear = Model.get("account.fiscalyear")
    SequenceStrict = Model.get("ir.sequence.strict")
    SequenceType = Model.get("ir.sequence.type")
    (move_type,) = SequenceType.find([("name", "=", "Account Move")], limit=1)
    (invoice_type,) = SequenceType.find([("name", "=", "Invoice")], limit=1)
    this_year = dt.date.today().year
    for year in (this_year - 1, this_year, this_year + 1):
        move_seq = SequenceStrict(name=f"Move {year}", sequence_type=move_type, company=company)
        move_seq.save()
        invoice_seq = SequenceStrict(
            name=f"Invoice {year}",
            sequence_type=invoice_type,
            company=company,
            prefix=f"INV/{year}/",
            padding=5,
        )
        invoice_seq.save()
        fiscalyear = FiscalYear(
            name=str(year),
            company=company,
            start_date=dt.date(year, 1, 1),
            end_date=dt.date(year, 12, 31),
            move_sequence=move_seq,
        )
        (seq,) = fiscalyear.invoice_sequences
        seq.out_invoice_sequence = invoice_seq
        seq.in_invoice_sequence = invoice_seq
        seq.out_credit_note_sequence = invoice_seq
        seq.in_credit_note_sequence = invoice_seq
        fiscalyear.save()
        fiscalyear.click("create_period")

    # -- tax and product accounting category ---------------------------------
    Tax = Model.get("account.tax")
    tax = Tax(
        name="PPN 11%",
        description="PPN 11%",
        type="percentage",
        rate=Decimal("0.11"),
        invoice_account=tax_account,
        credit_note_account=tax_account,
    )
    tax.save()
    Category = Model.get("product.category")
    category = Category(name="Goods", accounting=True)
    category.account_revenue = revenue
    category.account_expense = expense
    category.customer_taxes.append(Tax(tax.id))
    category.save()

    # -- payment terms -------------------------------------------------------
    PaymentTerm = Model.get("account.invoice.payment_term")
    net30 = PaymentTerm(name="Net 30")
    line = net30.lines.new(type="remainder")
    (delta,) = line.relativedeltas or [line.relativedeltas.new()]
    delta.days = 30
    net30.save()
    immediate = PaymentTerm(name="Immediate")
    immediate.lines.new(type="remainder")
    immediate.save()
    AccountConfig = Model.get("account.configuration")
    account_config = AccountConfig(1)
    account_config.default_customer_payment_term = net30
    account_config.save()

    # -- cash journal + invoice payment method -------------------------------
    Journal = Model.get("account.journal")
    PaymentMethod = Model.get("account.invoice.payment.method")
    (cash_journal,) = Journal.find([("type", "=", "cash")], limit=1)
    payment_method = PaymentMethod(
        name="Cash", journal=cash_journal, company=company, credit_account=cash, debit_account=cash
    )
    payment_method.save()

    # -- party categories: how the company marks its customers ------------------
    PartyCategory = Model.get("party.category")
    customer_category = PartyCategory(name="Customer")
    customer_category.save()
    supplier_category = PartyCategory(name="Supplier")
    supplier_category.save()

    # -- warehouse (created by the stock module) -----------------------------
    Location = Model.get("stock.location")
    (warehouse,) = Location.find([("type", "=", "warehouse")])

    # -- connector user ------------------------------------------------------
    groups = [
        Group(ModelData.get_id(xml_id, config.context))
        for xml_id in ("sale.group_sale", "account.group_account")
    ]
    user = User(name="SFA connector", login=CONNECTOR_LOGIN, password=CONNECTOR_PASSWORD)
    user.groups.extend(groups)
    user.companies.append(Company(company.id))
    user.company = Company(company.id)
    user.save()

    return {
        "company_id": company.id,
        "company_party_id": company_party.id,
        "currency_id": currency.id,
        "currency_code": CURRENCY_CODE,
        "tax_id": tax.id,
        "account_category_id": category.id,
        "payment_term_net30_id": net30.id,
        "payment_term_immediate_id": immediate.id,
        "payment_method_cash_id": payment_method.id,
        "warehouse_id": warehouse.id,
        "customer_category_id": customer_category.id,
        "supplier_category_id": supplier_category.id,
        "connector_user_id": user.id,
        "accounts": {
            "receivable": receivable.id,
            "payable": payable.id,
            "revenue": revenue.id,
            "expense": expense.id,
            "cash": cash.id,
            "tax": tax_account.id,
        },
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild the cached database")
    parser.add_argument("--copy-to", metavar="DIR", help="copy the cached database into DIR")
    parser.add_argument("--build-into", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--master-data", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.build_into:
        _build_into(Path(args.build_into))
        return 0
    if args.master_data:
        directory = Path(args.master_data)
        meta = _master_data(directory / "trytond.conf")
        (directory / "master.json").write_text(json.dumps(meta))
        return 0
    meta = ensure_cached_db(force=args.force)
    if args.copy_to:
        print(copy_db(meta, Path(args.copy_to)))
    else:
        print(meta["dir"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
