"""Fetching sky maps by URL (tooflow/skymap/fetch.py) against local servers only."""

from __future__ import annotations

import functools
import http.server
import socket
import threading
import time
from pathlib import Path

import pytest

from tooflow.errors import SkymapUnavailable
from tooflow.notice import Localization
from tooflow.skymap import fetch_skymap, localization_to_moc

from .slow_http import trickling_server

SKYMAPS = Path(__file__).parent / "data" / "skymaps"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


class _FlakyHandler(_Quiet):
    """Answers 503 to the first ``failures`` requests, then serves files."""

    failures = 0
    calls = 0

    def do_GET(self):
        type(self).calls += 1
        if type(self).calls <= type(self).failures:
            self.send_error(503, "busy")
            return
        super().do_GET()


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1 serving tests/data/skymaps."""
    started = []

    def start(handler=_Quiet):
        httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(handler, directory=str(SKYMAPS)))
        thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        started.append((httpd, thread))
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield start
    for httpd, thread in started:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_fetch_serves_the_real_file(server):
    base = server()
    data = fetch_skymap(f"{base}/glg_healpix_all_bn180116026.fit")
    assert data == (SKYMAPS / "glg_healpix_all_bn180116026.fit").read_bytes()


def test_closed_port_raises_after_retries():
    start = time.perf_counter()
    with pytest.raises(SkymapUnavailable, match=r"unavailable after 3 attempt\(s\): Connect"):
        fetch_skymap(f"http://127.0.0.1:{closed_port()}/bayestar.fits.gz", timeout=2,
                     retries=3, backoff=0.05)
    assert time.perf_counter() - start < 5


def test_missing_file_is_not_retried(server):
    _FlakyHandler.calls, _FlakyHandler.failures = 0, 0
    base = server(_FlakyHandler)
    with pytest.raises(SkymapUnavailable, match=r"HTTP 404 \(not retried\)"):
        fetch_skymap(f"{base}/nope.fits.gz", backoff=0.01)
    assert _FlakyHandler.calls == 1


def test_server_errors_are_retried_with_backoff(server):
    _FlakyHandler.calls, _FlakyHandler.failures = 0, 2
    base = server(_FlakyHandler)
    waits = []
    data = fetch_skymap(f"{base}/rrt_small_area.fits", retries=3, backoff=0.01,
                        sleep=waits.append)
    assert data == (SKYMAPS / "rrt_small_area.fits").read_bytes()
    assert _FlakyHandler.calls == 3 and waits == [0.01, 0.02]


def test_server_errors_exhaust_retries(server):
    _FlakyHandler.calls, _FlakyHandler.failures = 0, 10
    base = server(_FlakyHandler)
    with pytest.raises(SkymapUnavailable, match=r"after 2 attempt\(s\): HTTP 503"):
        fetch_skymap(f"{base}/rrt_small_area.fits", retries=2, backoff=0.01)


def test_oversize_download_is_refused(server):
    base = server()
    with pytest.raises(SkymapUnavailable, match="larger than 1000 bytes"):
        fetch_skymap(f"{base}/rrt_small_area.fits", max_bytes=1000)


@pytest.mark.parametrize("url", ["skyportal/tests/data/bayestar.fits.gz", "file:///etc/passwd",
                                 "ftp://example.org/map.fits", ""])
def test_non_http_urls_are_refused(url):
    with pytest.raises(SkymapUnavailable, match="not an http"):
        fetch_skymap(url)


def test_localization_url_is_fetched_only_when_asked(server):
    loc = Localization(url=f"{server()}/fermi_skymap.fits.gz")
    assert localization_to_moc(loc) is None
    moc = localization_to_moc(loc, fetch=True)
    assert moc.colnames == ["UNIQ", "PROBDENSITY"]


def test_localization_url_unreachable():
    loc = Localization(url=f"http://127.0.0.1:{closed_port()}/cWB.fits.gz,3")
    with pytest.raises(SkymapUnavailable):
        localization_to_moc(loc, fetch=True, timeout=1, retries=1)


@pytest.mark.slow  # waits out its 3 s deadline
def test_a_trickling_server_cannot_hold_the_fetch_past_its_deadline():
    """Issue 10: one byte every few seconds kept `tooflow ingest` waiting past 420 s."""
    start = time.monotonic()
    with trickling_server() as slow, pytest.raises(SkymapUnavailable,
                                                   match=r"within its 3 s deadline"):
        fetch_skymap(f"{slow.url}/bayestar.fits.gz,0", timeout=10, retries=3, deadline=3)
    # The per-read timeout (10 s) never fires; the deadline ends it. Bounded, not timed:
    # the deadline plus one read, with room for a busy machine.
    assert time.monotonic() - start < 3 + 10


def test_a_stored_url_only_notice_is_parsed_within_the_deadline(sqlite_engine, monkeypatch):
    """The real S190425z VOEvent, its map URL pointed at a trickling server."""
    from sqlmodel import Session, select

    from tooflow.config import load_settings
    from tooflow.intake.store import store_notice
    from tooflow.models import Localization
    from tooflow.stages.parse import parse_stored_notice

    from .conftest import DATA

    xml = (DATA / "lvk" / "voevent" / "S190425z-1-Initial.xml").read_bytes()
    url = b'value="skyportal/tests/data/bayestar.fits.gz"'
    assert url in xml
    monkeypatch.setenv("TOOFLOW_SKYMAP_FETCH_DEADLINE", "2")
    with trickling_server() as slow:
        xml = xml.replace(url, f'value="{slow.url}/bayestar.fits.gz,0"'.encode())
        stored = store_notice(xml, "test", engine=sqlite_engine)
        start = time.monotonic()
        out = parse_stored_notice(stored.notice_id, engine=sqlite_engine,
                                  settings=load_settings())
    assert time.monotonic() - start < 2 + 10
    assert out.summary["localization_state"] == "unavailable"
    with Session(sqlite_engine) as s:
        row = s.exec(select(Localization)).one()
    assert row.state == "unavailable"
