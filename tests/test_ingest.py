"""Storing raw notices: once per payload, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import threading

from sqlmodel import Session, func, select

from tooflow.intake.store import OVERSIZE_KEEP_BYTES, store_notice
from tooflow.models import Notice

from .conftest import DATA

RETRACTION = DATA / "lvk" / "avro" / "MS181101ab-retraction.avro"


def _count(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(Notice)).one()


def test_same_bytes_stored_once(engine):
    payload = RETRACTION.read_bytes()
    first = store_notice(payload, "file", engine=engine)
    again = store_notice(payload, "kafka:igwn.gwalert", engine=engine)
    assert first.created and not again.created
    assert again.notice_id == first.notice_id
    assert first.sha256 == hashlib.sha256(payload).hexdigest()
    assert _count(engine) == 1
    with Session(engine) as s:
        row = s.get(Notice, first.notice_id)
        assert bytes(row.payload) == payload  # raw bytes kept exactly
        assert row.status == "received" and row.source == "file"
        assert row.received.tzinfo is not None


def test_concurrent_duplicates_store_one_row(engine):
    payload = RETRACTION.read_bytes()
    results = []

    def worker():
        results.append(store_notice(payload, "race", engine=engine))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.created for r in results) == 1
    assert len({r.notice_id for r in results}) == 1
    assert _count(engine) == 1


def test_oversize_payload_is_rejected_and_truncated(engine):
    payload = b"{" + b" " * (2 << 20)
    r = store_notice(payload, "abuse", engine=engine, max_bytes=1 << 20)
    assert r.created and r.status == "rejected"
    with Session(engine) as s:
        row = s.get(Notice, r.notice_id)
        assert row.size == len(payload)
        assert len(row.payload) == OVERSIZE_KEEP_BYTES
        assert "exceeds the 1048576-byte limit" in row.rejection_reason
