"""A queue that cannot be reached: its requests are kept ``unsent`` and sent later, once.

The ZTF queue of these tests points at a real closed port of 127.0.0.1 (a socket
bound, then closed), then a simulator queue comes up on that same port.
"""

from __future__ import annotations

import datetime as dt
import socket

import yaml
from sqlmodel import Session, select

from tooflow.config import load_settings
from tooflow.models import FacilityTransaction, Plan, QueueRequestRow
from tooflow.simulator.server import SimulatorServer
from tooflow.stages.monitor import poll_event
from tooflow.stages.plan import plan_for_program
from tooflow.stages.submit import (
    EXPIRED,
    UNSENT,
    cancel_event_requests,
    resubmit_unsent,
    submit_plan,
)

from . import test_stages
from .programs_helpers import NIGHT

# The MS181101ab fixtures of the stage tests (a gated notice, a simulator to start).
gated, simulator = test_stages.gated, test_stages.simulator

__all__ = ["closed_port", "point_ztf_at"]


def closed_port() -> int:
    """A loopback port nothing listens on: bound once, then closed."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def point_ztf_at(url: str) -> None:
    """Send ZTF's requests to ``url`` (one retry, as in the issue: 2 attempts)."""
    import os
    from pathlib import Path

    path = Path(os.environ["TOOFLOW_CONFIG"])
    config = yaml.safe_load(path.read_text())
    config["facilities"]["ZTF"] = {"url": url, "retries": 1, "backoff": 0.01}
    path.write_text(yaml.safe_dump(config))


def _requests(engine) -> list[QueueRequestRow]:
    with Session(engine) as s:
        return list(s.exec(select(QueueRequestRow).order_by(QueueRequestRow.id)))


def _plan_with_ztf_at_a_closed_port(notice_id: int, engine) -> tuple[int, int, object]:
    """The gated notice's ZTF kilonova plan; ZTF's queue at a closed port.

    Returns (plan id, the port, the settings that point ZTF there).
    """
    settings = load_settings()
    plan_id = plan_for_program(notice_id, "ZTF kilonova", engine=engine, settings=settings,
                               start=NIGHT, picture=False)
    port = closed_port()
    point_ztf_at(f"http://127.0.0.1:{port}")
    return plan_id, port, load_settings()


def test_unreachable_queue_keeps_requests_and_sends_them_once_it_is_back(gated, engine,
                                                                        simulator):
    notice_id, event_pk = gated
    plan_id, port, settings = _plan_with_ztf_at_a_closed_port(notice_id, engine)

    result = submit_plan(plan_id, engine=engine, settings=settings)
    assert result.submitted == {}
    assert result.errors["ZTF"].startswith("ConnectError after 2 attempt(s)")
    assert result.transient
    n = result.unsent["ZTF"]
    rows = _requests(engine)
    assert n > 0 and len(rows) == n
    assert {r.status for r in rows} == {UNSENT}
    assert all("ConnectError after 2 attempt(s)" in r.detail for r in rows)
    assert "ZTF: ConnectError" in result.failure_message()
    with Session(engine) as s:
        assert s.get(Plan, plan_id).status == "planned"  # nothing went out
    # The monitor counts them apart: nothing open in any queue, n waiting to be sent.
    progress = poll_event(event_pk, engine=engine, settings=settings)
    assert progress.unsent == n and progress.open == 0 and progress.failed == 0

    # Still closed: they stay unsent with the new error.
    still = resubmit_unsent(engine=engine, settings=settings, now=NIGHT)
    assert still.still_unsent == {"MS181101ab ZTF": n} and not still.submitted
    assert {r.status for r in _requests(engine)} == {UNSENT}

    # The queue comes up on that port: every unsent request goes, once.
    with SimulatorServer(port=port, speedup=1, weather_loss=0.0, start=NIGHT) as server:
        sent = resubmit_unsent(engine=engine, settings=settings, now=NIGHT)
        assert sent.submitted == {"MS181101ab ZTF": n} and sent.events == [event_pk]
        rows = _requests(engine)
        assert len(rows) == n and not {r.status for r in rows} & {UNSENT, EXPIRED}
        states = server.simulator.status([r.request_key for r in rows])
        assert all(s["status"] != "unknown" for s in states)
        again = resubmit_unsent(engine=engine, settings=settings, now=NIGHT)
        assert again.submitted == {} and again.still_unsent == {}
        replay = submit_plan(plan_id, engine=engine, settings=settings)
        assert replay.submitted == {} and replay.already_queued == {"ZTF": n}
    with Session(engine) as s:
        assert s.get(Plan, plan_id).status == "submitted"
        posts = s.exec(select(FacilityTransaction).where(
            FacilityTransaction.method == "POST",
            FacilityTransaction.status_code == 200)).all()
    assert len(posts) == 1  # one accepted submission for the n requests, never a second


def test_notice_failed_at_submission_is_done_once_every_request_went(gated, engine, simulator):
    """The failure stays until the queue took everything; then health stops asking."""
    from tooflow.models import Notice
    from tooflow.runs.failures import failed_notices, record_failure
    from tooflow.stages.submit import SubmissionFailed

    notice_id, event_pk = gated
    plan_id, port, settings = _plan_with_ztf_at_a_closed_port(notice_id, engine)
    result = submit_plan(plan_id, engine=engine, settings=settings)
    # What the flow records when a submission failed.
    record_failure(notice_id, "submit", SubmissionFailed(result.failure_message(), {}, True),
                   engine=engine)
    resubmit_unsent(engine=engine, settings=settings, now=NIGHT)  # still closed
    assert failed_notices(engine)[0] == 1
    with SimulatorServer(port=port, speedup=1, weather_loss=0.0, start=NIGHT):
        sent = resubmit_unsent(engine=engine, settings=settings, now=NIGHT)
    assert sum(sent.submitted.values()) == result.unsent["ZTF"]
    assert failed_notices(engine)[0] == 0
    with Session(engine) as s:
        notice = s.get(Notice, notice_id)
    assert notice.status == "done"
    assert notice.error.startswith("resolved ") and "ConnectError" in notice.error


def test_unsent_requests_expire_when_the_window_closes(gated, engine, simulator):
    notice_id, _ = gated
    plan_id, _, settings = _plan_with_ztf_at_a_closed_port(notice_id, engine)
    n = submit_plan(plan_id, engine=engine, settings=settings).unsent["ZTF"]
    with Session(engine) as s:
        end = s.get(Plan, plan_id).end
    late = resubmit_unsent(engine=engine, settings=settings, now=end + dt.timedelta(seconds=1))
    assert late.expired == {"MS181101ab ZTF": n} and not late.errors
    rows = _requests(engine)
    assert {r.status for r in rows} == {EXPIRED}
    assert all(r.detail.startswith("never accepted before the window closed") and
               "ConnectError" in r.detail for r in rows)
    # Expired is final: nothing is tried again.
    assert resubmit_unsent(engine=engine, settings=settings, now=NIGHT).expired == {}


def test_retraction_cancels_unsent_requests_without_asking_the_queue(gated, engine, simulator):
    notice_id, event_pk = gated
    plan_id, _, settings = _plan_with_ztf_at_a_closed_port(notice_id, engine)
    submit_plan(plan_id, engine=engine, settings=settings)
    assert cancel_event_requests(event_pk, engine=engine, settings=settings) == {}
    assert {r.status for r in _requests(engine)} == {"cancelled"}
    assert resubmit_unsent(engine=engine, settings=settings, now=NIGHT).submitted == {}


def test_a_rerequest_no_queue_took_is_kept_unsent_under_its_own_key(gated, engine, simulator):
    """A later plan re-requests what weather lost (KEY:r2) while the queue is down: the
    re-request is kept unsent under KEY:r2, sent under that key once the queue is back,
    never under the failed key; a retraction cancels it like any open request."""
    from tooflow.simulator.engine import Simulator

    from .test_stages import _StepClock

    notice_id, event_pk = gated
    clock = _StepClock()
    sim = Simulator(speedup=1.0, weather_loss=1.0, seed=1, start=NIGHT, clock=clock)
    with SimulatorServer(sim) as server:
        point_ztf_at(server.url)
        settings = load_settings()
        first = plan_for_program(notice_id, "ZTF kilonova", engine=engine, settings=settings,
                                 start=NIGHT, picture=False)
        n = submit_plan(first, engine=engine, settings=settings).submitted["ZTF"]
        clock.t = 2 * 3600.0
        poll_event(event_pk, engine=engine, settings=settings)
        failed = {r.request_key for r in _requests(engine) if r.status == "failed"}
        assert failed

        point_ztf_at(f"http://127.0.0.1:{closed_port()}")
        settings = load_settings()
        second = plan_for_program(notice_id, "ZTF kilonova", engine=engine,
                                  settings=settings, start=NIGHT, picture=False)
        result = submit_plan(second, engine=engine, settings=settings)
        assert result.unsent == {"ZTF": len(failed)} and not result.rerequested
        kept = {r.request_key for r in _requests(engine) if r.status == UNSENT}
        assert kept == {f"{k}:r2" for k in failed}

        point_ztf_at(server.url)
        settings = load_settings()
        sent = resubmit_unsent(engine=engine, settings=settings, now=NIGHT)
        assert sent.submitted == {"MS181101ab ZTF": len(failed)}
        rows = _requests(engine)
        assert len(rows) == n + len(failed)
        assert {r.request_key for r in rows if r.status == "failed"} == failed
        assert set(sim._by_key) == {r.request_key for r in rows}  # each key sent once

        cancelled = cancel_event_requests(event_pk, engine=engine, settings=settings)
        states = {r.request_key: r.status for r in _requests(engine)}
        assert cancelled["ZTF"] >= n - 1  # open: n - failed first requests + the re-requests
        assert sum(states[k] == "cancelled" for k in kept) >= len(kept) - 1


def test_a_later_plan_sends_what_expired_unsent_under_the_same_key(gated, engine, simulator):
    """``expired`` (no queue ever accepted it) is not a failure at a telescope: a later
    plan that wants the exposure sends it under its own key, which no queue holds."""
    notice_id, _ = gated
    plan_id, _, settings = _plan_with_ztf_at_a_closed_port(notice_id, engine)
    n = submit_plan(plan_id, engine=engine, settings=settings).unsent["ZTF"]
    with Session(engine) as s:
        end = s.get(Plan, plan_id).end
    resubmit_unsent(engine=engine, settings=settings, now=end + dt.timedelta(seconds=1))
    expired = {r.request_key for r in _requests(engine)}
    assert {r.status for r in _requests(engine)} == {EXPIRED}
    with SimulatorServer(speedup=1, weather_loss=0.0, start=NIGHT) as server:
        point_ztf_at(server.url)
        settings = load_settings()
        later = plan_for_program(notice_id, "ZTF kilonova", engine=engine, settings=settings,
                                 start=NIGHT, picture=False)
        result = submit_plan(later, engine=engine, settings=settings)
        assert result.submitted == {"ZTF": n} and not result.rerequested
        rows = _requests(engine)
        assert {r.request_key for r in rows} == expired and len(rows) == n
        assert {r.plan_id for r in rows} == {later}
        assert set(server.simulator._by_key) == expired
