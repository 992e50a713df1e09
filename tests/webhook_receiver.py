"""A webhook receiver for the tests: a real HTTP server on 127.0.0.1 in a thread that
verifies every request with the `standardwebhooks` library (the receivers' reference
implementation), as a subscriber would, and answers as the test scripts it.

`answers` is a list of (status, headers) given in turn (then 200 for ever), `by_subject`
the same for the events of one subject;
`received` keeps every request, `verified` the ones the library accepted, `rejected`
the reasons of those it refused (a refused one is answered 400, as a receiver would)."""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: str

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def signatures(self) -> list[str]:
        return self.headers["webhook-signature"].split(" ")


@dataclass
class Receiver:
    secrets: list[str] = field(default_factory=list)
    answers: list[tuple[int, dict]] = field(default_factory=list)
    # Answers for the events of one subject id (taken before `answers`).
    by_subject: dict[str, list[tuple[int, dict]]] = field(default_factory=dict)
    received: list[Request] = field(default_factory=list)
    verified: list[Request] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def verify(self, request: Request) -> str | None:
        """None when one of the secrets verifies it, else the library's reason."""
        reason = "no secret"
        for secret in self.secrets:
            try:
                Webhook(secret).verify(request.body, request.headers)
                return None
            except WebhookVerificationError as exc:
                reason = str(exc)
        return reason

    def handle(self, request: Request) -> tuple[int, dict]:
        with self.lock:
            self.received.append(request)
            reason = self.verify(request)
            if reason is not None:
                self.rejected.append(reason)
                return 400, {}
            self.verified.append(request)
            subject = (request.json.get("data") or {}).get("subject") or {}
            scripted = self.by_subject.get(str(subject.get("id")))
            if scripted:
                return scripted.pop(0)
            return self.answers.pop(0) if self.answers else (200, {})


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length).decode()
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra = receiver.handle(Request(self.path, headers, body))
            answer = json.dumps({"status": status}).encode()
            self.send_response(status)
            for key, value in extra.items():
                self.send_header(key, value)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):  # quiet
            pass

    return Handler


def start(receiver: Receiver) -> Receiver:
    receiver.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.server.daemon_threads = True
    threading.Thread(target=receiver.server.serve_forever, daemon=True).start()
    return receiver


def stop(receiver: Receiver) -> None:
    if receiver.server is not None:
        receiver.server.shutdown()
        receiver.server.server_close()
