"""The Tryton connector's protocol pieces, without a server: codec, cursors, faults."""

import datetime as dt
from decimal import Decimal

import pytest

from integrations.erp.tryton import codec
from integrations.erp.tryton.cursors import Scan
from integrations.erp.tryton.faults import map_fault
from integrations.erp.tryton.records import int_id, many2one_id, plain_changes, x2many_ids
from sfa.erp.connector import ErpRejected, ErpUnavailable


def test_codec_round_trips_tryton_extensions():
    value = {
        "price": Decimal("3100.1250"),
        "when": dt.datetime(2026, 11, 23, 10, 5, 7, 120),
        "day": dt.date(2026, 11, 23),
        "at": dt.time(8, 30),
        "wait": dt.timedelta(minutes=90),
        "raw": b"\x00\x01",
    }
    text = codec.dumps(value)
    assert '"__class__":"Decimal","decimal":"3100.1250"' in text
    assert codec.loads(text) == value


def test_codec_refuses_what_tryton_cannot_read():
    with pytest.raises(TypeError, match="object"):
        codec.dumps({"x": object()})


def test_cursor_round_trip():
    scan = Scan("products", dt.datetime(2026, 1, 2, 3, 4, 5), dt.datetime(2026, 1, 2, 3, 9, 0), 42)
    assert Scan.decode("products", scan.encode()) == scan
    assert Scan.decode("products", None) == Scan("products", None, None, 0)


def test_a_cursor_belongs_to_its_pull_and_garbage_is_refused():
    cursor = Scan("products", None, dt.datetime(2026, 1, 2), 7).encode()
    with pytest.raises(ValueError, match="used to pull 'invoices'"):
        Scan.decode("invoices", cursor)
    with pytest.raises(ValueError, match="not a Tryton cursor"):
        Scan.decode("products", "not-a-cursor")
    with pytest.raises(ValueError, match="invalid Tryton cursor"):
        Scan.decode("products", "tryton1.!!!")


@pytest.mark.parametrize(
    ("error", "expected", "code"),
    [
        (["UserError", ["Product is not salable.", "detail", None]], ErpRejected, "user_error"),
        (["UserWarning", ["sale_warning", "Are you sure?", ""]], ErpRejected, "warning"),
        (["ConcurrencyException", "Records were modified"], ErpUnavailable, None),
        (["database is locked", "Traceback ..."], ErpUnavailable, None),
        (["KeyError: 'foo'", "Traceback ..."], ErpUnavailable, None),
    ],
)
def test_fault_mapping(error, expected, code):
    exc = map_fault("model.sale.sale.create", error)
    assert isinstance(exc, expected)
    if code:
        assert exc.code == code


def test_a_user_error_keeps_the_message_and_description():
    exc = map_fault("model.sale.sale.quote", ["UserError", ["Bad digits", "use whole units"]])
    assert exc.reason == "Bad digits" and exc.detail == "use whole units"
    assert str(exc) == "Bad digits (use whole units)"


def test_relation_values_as_read_and_as_on_change_returns_them():
    assert many2one_id(5) == 5
    assert many2one_id({"id": 5, "rec_name": "x"}) == 5
    assert many2one_id(None) is None
    assert x2many_ids([1, 2]) == [1, 2]
    assert x2many_ids({"add": [[0, {"id": 9}], [1, {"id": 11}]]}) == [9, 11]
    assert x2many_ids(None) == []
    assert plain_changes({"party": 1, "party.": {"rec_name": "P"}}) == {"party": 1}


@pytest.mark.parametrize("bad", ["abc", "0", "-3", ""])
def test_external_ids_that_are_not_tryton_ids_are_rejected(bad):
    with pytest.raises(ErpRejected) as info:
        int_id(bad, "product")
    assert info.value.code == "unknown_product"
    assert int_id(" 12 ", "product") == 12
