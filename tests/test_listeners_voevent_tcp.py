"""The VOEvent TCP listener against a loopback VOEvent Transport Protocol server."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from gcn.voeventclient import _form_response, _recv_packet, _send_packet
from lxml.etree import fromstring
from sqlmodel import Session, func, select

from tests.kafka_fixtures import RecordingTrigger, run_source_until
from tests.waiting import HANG
from tooflow.intake.listeners.voevent_tcp import voevent_source
from tooflow.models import ListenerStatus, Notice

DATA = Path(__file__).parent / "data" / "listeners"
FILES = ["GRB180116A_Fermi_GBM_Alert.xml", "AMON_ICECUBE_GOLD_190730.xml"]


class VTPServer:
    """Sends an iamalive, then each payload; records what the client answers and when."""

    def __init__(self, payloads, engine):
        self.payloads, self.engine = payloads, engine
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.replies: list[tuple[str, str, int]] = []  # (role, Origin, rows stored)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        conn, _ = self.sock.accept()
        conn.settimeout(HANG)  # pygcn's framing reads need a timeout (bounds a hang)
        with conn:
            _send_packet(conn, _form_response("iamalive", "ivo://gcn.test/server", "",
                                              "2026-11-23T00:00:00"))
            self._reply(conn)
            for payload in self.payloads:
                _send_packet(conn, payload)
                self._reply(conn)
            conn.recv(1)  # until the client hangs up

    def _reply(self, conn):
        root = fromstring(_recv_packet(conn))
        with Session(self.engine) as s:
            stored = s.exec(select(func.count()).select_from(Notice)).one()
        self.replies.append((root.attrib["role"], root.findtext("Origin"), stored))


def test_acks_only_after_the_notice_is_stored(sqlite_engine):
    payloads = [(DATA / f).read_bytes() for f in FILES]
    server = VTPServer(payloads, sqlite_engine)
    source = voevent_source({"host": "127.0.0.1", "port": server.port,
                             "ivorn": "ivo://tooflow.test/listener"})
    trigger = RecordingTrigger(sqlite_engine)
    run_source_until(source, sqlite_engine, trigger,
                     lambda: len(server.replies) == 3 and len(trigger.calls) == 2)

    ivorns = [fromstring(p).attrib["ivorn"] for p in payloads]
    assert server.replies[0][0] == "iamalive"
    # each ack names the VOEvent and comes after its row was committed
    assert [(r[0], r[1], r[2]) for r in server.replies[1:]] == [
        ("ack", ivorns[0], 1), ("ack", ivorns[1], 2)]
    with Session(sqlite_engine) as s:
        rows = s.exec(select(Notice).order_by(Notice.id)).all()
        status = s.exec(select(ListenerStatus)).one()
    assert [r.payload for r in rows] == payloads
    assert {r.source for r in rows} == {f"voevent:127.0.0.1:{server.port}"}
    assert status.source == "voevent" and status.messages == 2


def test_unreachable_server_does_not_crash_the_listener(sqlite_engine):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    source = voevent_source({"host": "127.0.0.1", "port": port})
    assert source.poll(0.1) == [] and source.poll(0.1) == []
    source.close()


def test_a_packet_announcing_a_gigabyte_is_refused_before_allocating(sqlite_engine):
    """Issue 10: a 1 GB length prefix took the listener to 1.18 GB for the keep-alive timeout.

    The first connection announces 2**30 bytes and sends the start of a real VOEvent;
    the listener keeps that start as a rejected notice, drops the connection, and on
    the next connection stores the next real notice as usual.
    """
    import struct
    import tracemalloc

    real = [(DATA / f).read_bytes() for f in FILES]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(2)
    port = listener.getsockname()[1]
    dropped = threading.Event()

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.sendall(struct.pack(">I", 1 << 30) + real[0][:3000])
            conn.settimeout(30)
            try:
                dropped.set() if conn.recv(1) == b"" else None
            except OSError:
                dropped.set()
        conn, _ = listener.accept()
        conn.settimeout(10)
        with conn:
            _send_packet(conn, real[1])
            _recv_packet(conn)  # the ack
            conn.recv(1)

    threading.Thread(target=serve, daemon=True).start()
    source = voevent_source({"host": "127.0.0.1", "port": port, "max_reconnect_timeout": 1})
    tracemalloc.start()
    try:
        first = []
        for _ in range(100):
            first = source.poll(0.2)
            if first:
                break
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(first) == 1 and peak < 5_000_000
    assert first[0].payload == real[0][:3000]
    assert "announces 1073741824 bytes, over the 16777216-byte limit" in first[0].problem
    trigger = RecordingTrigger(sqlite_engine)
    run_source_until(source, sqlite_engine, trigger, lambda: len(trigger.calls) == 1
                     and dropped.is_set(), timeout=30)
    from tooflow.intake.listeners.loop import handle_message
    handle_message(source, first[0], engine=sqlite_engine, trigger=trigger)
    with Session(sqlite_engine) as s:
        rows = s.exec(select(Notice).order_by(Notice.id)).all()
    by_payload = {r.payload: r for r in rows}
    assert by_payload[real[1]].status == "triggered"
    rejected = by_payload[real[0][:3000]]
    assert rejected.status == "rejected" and "announces 1073741824 bytes" in \
        rejected.rejection_reason
    listener.close()
