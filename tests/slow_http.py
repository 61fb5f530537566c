"""A local HTTP server that answers one byte per second, forever (a trickling server).

Issue 10: a sky-map URL serving one byte every 5 s held ``tooflow ingest`` past
420 s and a worker's flow for 19 min. Every external call must end within its
total deadline whatever the server does; the tests point each client at this.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["trickling_server"]


class _Trickle(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):  # keep test output clean
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.requests += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        try:
            while not self.server.closing:
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(1.0)
        except OSError:  # the client gave up: what the test wants
            pass

    do_GET = do_POST = do_PUT = do_DELETE = _answer


@contextmanager
def trickling_server() -> Iterator[http.server.ThreadingHTTPServer]:
    """Run the server on 127.0.0.1; ``server.url`` is its base URL, ``server.requests``
    counts the requests it got."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    server.requests, server.closing = 0, False
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.closing = True
        server.shutdown()
        server.server_close()
        thread.join(5)
