"""Loopback servers for the notification tests: they answer like Slack, Twilio and SMTP.

* :class:`RecordingHTTPServer`: a threaded ``http.server`` on 127.0.0.1 (free port)
  that records every request and answers ``chat.postMessage`` the way Slack's Web API
  does and ``Messages.json`` / ``Calls.json`` the way Twilio's REST API does.
* :class:`SMTPSink`: a threaded ``socketserver`` speaking enough SMTP (EHLO/HELO,
  AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for :mod:`smtplib`; it keeps each
  message. Written on the standard library so that tests need no extra dependency.
"""

from __future__ import annotations

import base64
import json
import socketserver
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

__all__ = ["HTTPRecord", "RecordingHTTPServer", "SMTPRecord", "SMTPSink"]


@dataclass
class HTTPRecord:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


class _Handler(BaseHTTPRequestHandler):
    server: RecordingHTTPServer

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    def do_POST(self):  # noqa: N802 - http.server naming
        length = int(self.headers.get("Content-Length") or 0)
        record = HTTPRecord("POST", self.path, dict(self.headers.items()), self.rfile.read(length))
        with self.server.lock:
            self.server.requests.append(record)
        status, payload = self.server.answer(record)
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class RecordingHTTPServer(ThreadingHTTPServer):
    """Answers like Slack's ``chat.postMessage`` and Twilio's Messages/Calls endpoints.

    ``fail`` maps a path suffix to ``(status, payload)`` to force an error answer.
    Use as a context manager; ``url`` is its base URL.
    """

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[HTTPRecord] = []
        self.fail: dict[str, tuple[int, dict]] = {}
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> RecordingHTTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)

    def to(self, suffix: str) -> list[HTTPRecord]:
        """Recorded requests whose path ends with ``suffix``."""
        return [r for r in self.requests if r.path.split("?")[0].endswith(suffix)]

    def answer(self, record: HTTPRecord) -> tuple[int, dict]:
        path = record.path.split("?")[0]
        for suffix, reply in self.fail.items():
            if path.endswith(suffix):
                return reply
        if path.endswith("/chat.postMessage"):
            body = record.json()
            return 200, {
                "ok": True,
                "channel": body["channel"],
                "ts": f"1700000000.{len(self.requests):06d}",
                "message": {"type": "message", "text": body.get("text", "")},
            }
        if path.endswith("/Messages.json"):
            form = record.form()
            return 201, {
                "sid": "SM" + uuid.uuid4().hex,
                "status": "queued",
                "to": form.get("To"),
                "from": form.get("From"),
                "body": form.get("Body"),
            }
        if path.endswith("/Calls.json"):
            form = record.form()
            return 201, {
                "sid": "CA" + uuid.uuid4().hex,
                "status": "queued",
                "to": form.get("To"),
                "from": form.get("From"),
            }
        return 404, {"ok": False, "error": "unknown_method", "code": 20404,
                     "message": f"no route for {path}"}


@dataclass
class SMTPRecord:
    mail_from: str
    rcpt_to: list[str]
    data: bytes
    auth: tuple[str, str] | None = None


@dataclass
class _Session:
    mail_from: str = ""
    rcpt_to: list[str] = field(default_factory=list)
    auth: tuple[str, str] | None = None


class _SMTPHandler(socketserver.StreamRequestHandler):
    server: SMTPSink

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        session = _Session()
        self.reply("220 localhost tooflow-test SMTP sink")
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode().rstrip("\r\n")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.reply("250-localhost")
                self.reply("250-AUTH PLAIN")
                self.reply("250 8BITMIME")
            elif verb == "HELO":
                self.reply("250 localhost")
            elif verb == "AUTH" and arg.upper().startswith("PLAIN "):
                _, user, password = base64.b64decode(arg.split(" ", 1)[1]).decode().split("\0")
                if self.server.password is not None and password != self.server.password:
                    self.reply("535 5.7.8 authentication failed")
                    continue
                session.auth = (user, password)
                self.reply("235 2.7.0 authenticated")
            elif verb == "MAIL":
                session.mail_from = arg.partition(":")[2].strip().strip("<>").split(">")[0]
                self.reply("250 OK")
            elif verb == "RCPT":
                session.rcpt_to.append(arg.partition(":")[2].strip().strip("<>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end data with <CR><LF>.<CR><LF>")
                lines = []
                while True:
                    chunk = self.rfile.readline()
                    if chunk in (b".\r\n", b".\n", b""):
                        break
                    lines.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                with self.server.lock:
                    self.server.messages.append(
                        SMTPRecord(session.mail_from, list(session.rcpt_to), b"".join(lines),
                                   session.auth)
                    )
                session.rcpt_to.clear()
                self.reply("250 OK queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 command not implemented")


class SMTPSink(socketserver.ThreadingTCPServer):
    """An SMTP server on 127.0.0.1 (free port) keeping every message it receives.

    ``password``: when set, AUTH PLAIN accepts only this password.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, password: str | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.password = password
        self.messages: list[SMTPRecord] = []
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def __enter__(self) -> SMTPSink:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)
