"""The candidate listener parses alerts stored but left unparsed while it runs.

An alert the listener stored but never parsed (its process stopped between
the two, or its batch's parse failed) stays ``received``; ``tooflow health``
counts it. The listener's batcher finds such alerts at start and every
``reparse_every`` seconds, at most ``batch_size`` per pass. Real ZTF packets
(tests/data/candidates/ztf), stored with ``store_alert`` only, as the
listener's store step leaves them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlmodel import Session, select

from tests.waiting import wait_for
from tooflow.candidates.listener import CandidateBatcher
from tooflow.candidates.store import alert_health, store_alert
from tooflow.models import CandidateAlert

PACKETS = sorted((Path(__file__).parent / "data" / "candidates" / "ztf").glob("*.avro"))
LATER = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)  # health's "waiting over 5 min"


def _statuses(engine, ids) -> list[str]:
    with Session(engine) as s:
        rows = {a.id: a.status for a in s.exec(select(CandidateAlert)
                                               .where(CandidateAlert.id.in_(ids))).all()}
    return [rows[i] for i in ids]


def test_a_stored_unparsed_alert_is_parsed_while_the_listener_runs(sqlite_engine):
    batches: list[list[int]] = []
    batcher = CandidateBatcher(sqlite_engine, batches.append, batch_size=3,
                               batch_seconds=0.5, reparse_every=0.5)
    try:
        # stored after the batcher started, never handed to it: no restart will come
        ids = [store_alert(p.read_bytes(), "candidates:ztf", fmt="ztf-avro",
                           engine=sqlite_engine).alert_id for p in PACKETS]
        assert len(ids) == 4
        wait_for(lambda: _statuses(sqlite_engine, ids) == ["parsed"] * 4,
                 "the unparsed alerts are parsed by the listener's pass")
    finally:
        batcher.close()
    assert alert_health(sqlite_engine, now=LATER).waiting == 0
    assert all(len(taken) <= 3 for taken in batcher.reparsed)  # bounded passes
    assert sorted(i for taken in batcher.reparsed for i in taken) == ids
    assert sorted(i for b in batches for i in b) == ids  # each sent once
    assert not batcher.errors


def test_alerts_left_by_an_earlier_process_are_parsed_at_start(sqlite_engine):
    ids = [store_alert(p.read_bytes(), "candidates:ztf", fmt="ztf-avro",
                       engine=sqlite_engine).alert_id for p in PACKETS[:2]]
    assert alert_health(sqlite_engine, now=LATER).waiting == 2  # tooflow health flags them
    batches: list[list[int]] = []
    batcher = CandidateBatcher(sqlite_engine, batches.append, batch_size=200,
                               batch_seconds=3600, reparse_every=3600)
    try:
        wait_for(lambda: batches, "the first pass at start")
    finally:
        batcher.close()
    assert batches == [ids] and _statuses(sqlite_engine, ids) == ["parsed"] * 2
    assert alert_health(sqlite_engine, now=LATER).waiting == 0


def test_the_pass_leaves_an_alert_to_the_batch_holding_it(sqlite_engine):
    batches: list[list[int]] = []
    batcher = CandidateBatcher(sqlite_engine, batches.append, batch_size=200,
                               batch_seconds=3600, reparse_every=None)
    try:
        held = store_alert(PACKETS[0].read_bytes(), "candidates:ztf", fmt="ztf-avro",
                           engine=sqlite_engine).alert_id
        batcher(held)  # waiting in the batch
        left = store_alert(PACKETS[1].read_bytes(), "candidates:ztf", fmt="ztf-avro",
                           engine=sqlite_engine).alert_id
        assert batcher.reparse_waiting(stored_before=LATER) == [left]
        assert batcher.flush() == [held]
    finally:
        batcher.close()
    assert batches == [[left], [held]] and not batcher.errors
