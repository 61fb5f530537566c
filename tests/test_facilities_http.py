"""Retry policy and transaction records of the facility HTTP client."""

from __future__ import annotations

import http.server
import json
import logging
import threading
import time

import pytest

from tooflow.facilities import FacilityConfig, get_facility
from tooflow.facilities.http import (
    FacilityHTTPError,
    FacilityUnavailable,
    HttpClient,
    is_retryable,
)
from tooflow.simulator import free_port


class Scripted(http.server.BaseHTTPRequestHandler):
    """Answers each request with the next status of ``server.script``."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.seen.append((self.command, self.path, self.headers.get("Authorization")))
        status = self.server.script.pop(0) if self.server.script else 200
        body = json.dumps({"ok": status < 400, "status": status}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass


@pytest.fixture
def scripted():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    server.script, server.seen = [], []
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def url_of(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_503_then_200_is_retried_with_exponential_backoff(scripted):
    scripted.script = [503, 503, 200]
    sleeps: list[float] = []
    client = HttpClient(url_of(scripted), retries=3, backoff=0.01, facility="test",
                        sleep=sleeps.append)
    response = client.request("GET", "/health")
    assert response.json() == {"ok": True, "status": 200}
    assert [t.status for t in client.transactions] == [503, 503, 200]
    assert [t.attempt for t in client.transactions] == [1, 2, 3]
    assert sleeps == [0.01, 0.02]
    assert len(scripted.seen) == 3


@pytest.mark.parametrize("status", [400, 401, 404, 500])
def test_final_errors_are_not_retried_and_say_what_happened(scripted, status):
    scripted.script = [status, 200]
    client = HttpClient(url_of(scripted), retries=3, backoff=0.01, facility="test",
                        sleep=lambda s: None)
    with pytest.raises(FacilityHTTPError, match=f"answered {status}") as info:
        client.request("POST", "/queues/x/requests", json={"targets": []})
    assert info.value.status == status
    assert len(scripted.seen) == 1
    assert client.transactions[0].status == status


def test_retries_stop_after_the_limit_on_a_persistent_503(scripted):
    scripted.script = [503] * 10
    client = HttpClient(url_of(scripted), retries=2, backoff=0.001, facility="test")
    with pytest.raises(FacilityHTTPError, match="answered 503"):
        client.request("GET", "/health")
    assert len(scripted.seen) == 3


def test_closed_port_gives_a_clear_error_after_bounded_retries():
    port = free_port()  # nothing listens there
    client = HttpClient(f"http://127.0.0.1:{port}", retries=2, backoff=0.01, timeout=2,
                        facility="test")
    t0 = time.perf_counter()
    with pytest.raises(FacilityUnavailable, match=r"ConnectError after 3 attempt\(s\)"):
        client.request("GET", "/health")
    assert time.perf_counter() - t0 < 5
    assert [t.status for t in client.transactions] == [None, None, None]
    assert all("ConnectError" in t.error for t in client.transactions)


def test_no_wait_starts_past_the_deadline(scripted):
    """The policy gives up when the next back-off would end past the request's deadline."""
    scripted.script = [503] * 10
    waits: list[float] = []
    client = HttpClient(url_of(scripted), retries=5, backoff=0.5, deadline=1.0,
                        facility="test", sleep=waits.append)
    with pytest.raises(FacilityUnavailable, match=r"test: GET /health: no time left within the "
                                                  r"1 s deadline for another attempt"):
        client.request("GET", "/health")
    # 0.5 s fits in the 1 s deadline, 1 s more does not: two attempts, one wait.
    assert waits == [0.5] and len(scripted.seen) == 2
    assert [t.status for t in client.transactions] == [503, 503]


def test_is_retryable_only_for_transient_statuses():
    assert [s for s in range(400, 600) if is_retryable(FacilityHTTPError("x", s))] == \
        [408, 429, 502, 503, 504]


def test_token_comes_from_the_named_variable_and_is_never_recorded(scripted, monkeypatch,
                                                                   caplog):
    secret = "s3cret-token-value"
    monkeypatch.setenv("TOOFLOW_GATTINI_TOKEN", secret)
    config = FacilityConfig(url=url_of(scripted), token_env="TOOFLOW_GATTINI_TOKEN")
    caplog.set_level(logging.DEBUG)
    with get_facility("Gattini", config) as facility:
        report = facility.health()
    assert report["ok"] is True and report["facility"] == "Gattini"
    assert scripted.seen[0][2] == f"Bearer {secret}"
    records = json.dumps([t.as_dict() for t in facility.transactions])
    assert secret not in records and secret not in caplog.text
    assert secret not in repr(config)


def test_health_reports_an_unreachable_facility_instead_of_raising():
    config = FacilityConfig(url=f"http://127.0.0.1:{free_port()}", retries=0)
    with get_facility("KPED", config) as facility:
        report = facility.health()
    assert report["ok"] is False and "ConnectError" in report["error"]


def test_transactions_map_to_stored_rows_and_can_be_popped(scripted):
    scripted.script = [502, 200]
    with get_facility("GROWTH-India", {"url": url_of(scripted), "backoff": 0.001}) as facility:
        facility.health()
        rows = [t.row() for t in facility.pop_transactions()]
        assert facility.transactions == []
    assert [(r["telescope"], r["method"], r["status_code"]) for r in rows] == \
        [("GROWTH-India", "GET", 502), ("GROWTH-India", "GET", 200)]
    assert rows[0]["detail"].startswith("attempt 1: ") and rows[1]["detail"] == "attempt 2"
    assert rows[0]["url"].endswith("/health") and rows[0]["elapsed"] >= 0


def test_a_trickling_facility_cannot_hold_a_request_past_its_deadline():
    """Issue 10: every external call has a total deadline, not only a per-read timeout."""
    from tests.slow_http import trickling_server

    with trickling_server() as slow:
        client = HttpClient(slow.url, timeout=10, retries=3, backoff=0.01, facility="ZTF",
                            deadline=2)
        start = time.monotonic()
        with pytest.raises(FacilityUnavailable, match=r"ZTF: POST /queues.*2 s deadline"):
            client.request("POST", "/queues", json={"targets": []})
        assert time.monotonic() - start < 2 + 10
    assert client.transactions[-1].error.endswith("2 s deadline")
    assert client.transactions[-1].status is None


class EchoHeaders(http.server.BaseHTTPRequestHandler):
    """A facility whose error body echoes the request headers (as some proxies do)."""

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = ("400 Bad Request\nYour request headers were:\n" + str(self.headers)
                + f"\nand your token {self.headers['Authorization'].split()[-1]} is odd").encode()
        self.send_response(400)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_error_body_echoing_the_token_is_redacted_everywhere(caplog):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoHeaders)
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    token = "s3cr3t-T0KEN.abc123"
    client = HttpClient(url_of(server), token=token, retries=0, facility="ZTF")
    try:
        with caplog.at_level(logging.DEBUG), pytest.raises(FacilityHTTPError) as info:
            client.request("POST", "/queue", json={"x": 1})
    finally:
        client.close()
        server.shutdown()
        server.server_close()
    row = client.transactions[-1].row()
    for text in (str(info.value), row["detail"], row["url"], caplog.text):
        assert token not in text
    assert "Authorization: Bearer [redacted]" in row["detail"]
    assert "answered 400" in str(info.value)


def test_clients_share_one_verifying_ssl_context():
    """One CA bundle per process (it cost ~70 ms per client), verifying as httpx's default."""
    import ssl

    import httpx

    from tooflow.facilities.http import HttpClient, _ssl_context

    a, b = HttpClient("https://a.example"), HttpClient("https://b.example")
    ctx = _ssl_context()
    assert _ssl_context() is ctx
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.get_ca_certs() and ctx.get_ca_certs() == httpx.create_ssl_context().get_ca_certs()
    a.close()
    b.close()
