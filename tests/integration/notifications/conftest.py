"""Real SMTP server (aiosmtpd, in-process) and an HTTP stub for the SMS gateway / push."""

import json
import socket
import threading
import uuid
from decimal import Decimal
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session

from sfa.orders.models import Order, OrderState


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, inbox.messages
    finally:
        controller.stop()


class StubGateway:
    """An SMS gateway / push service: records requests, dedupes by reference like the
    real providers, and answers with a configurable status."""

    def __init__(self):
        self.requests: list[dict] = []
        self.delivered: dict[str, dict] = {}
        self.status = 200
        self.lock = threading.Lock()

    def handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with stub.lock:
                    stub.requests.append(body)
                    ref = body.get("reference") or body.get("collapse_key")
                    if stub.status == 200:
                        stub.delivered.setdefault(ref, body)
                payload = json.dumps({"id": f"gw-{len(stub.requests)}"}).encode()
                self.send_response(stub.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def gateway():
    stub = StubGateway()
    server = ThreadingHTTPServer(("127.0.0.1", 0), stub.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}/send"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def session_factory(connection):
    """New sessions on the test's connection: the sender's commits release savepoints."""
    return lambda: Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def make_order(db):
    return lambda **kw: _make_order(db, **kw)


def _make_order(session, *, rep, customer, state=OrderState.submitted, net="150000.00"):
    order = Order(
        client_id=uuid.uuid4(),
        request_hash="x" * 64,
        rep_id=rep.id,
        customer_id=customer.id,
        state=state,
        currency="IDR",
        gross_amount=Decimal(net),
        discount_amount=Decimal(0),
        net_amount=Decimal(net),
        discount_pct=Decimal(0),
    )
    session.add(order)
    session.flush()
    return order
