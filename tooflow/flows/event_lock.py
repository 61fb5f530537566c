"""One flow at a time per event: a Prefect global concurrency limit named after it.

Two notices of one event sent back to back (a PRELIMINARY and its INITIAL, a
Kafka re-delivery of an older one) start two ``handle-notice`` runs. Each
takes the event's slot (limit 1) before it gates, plans and submits, and
frees it before it monitors, so the later run waits minutes at most and then
sees the earlier one's plans and queue requests.
The slot is a lease: a run that dies frees it when the lease expires
(Prefect's default, 300 s), and the Prefect UI shows the waiting run.

The limits are deleted once idle (:func:`sweep_event_locks`, run by the
monitors): no slot taken and no notice of the event for two lock timeouts.
A run that finds its event's limit gone creates it again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from sqlalchemy.engine import Engine

from ..tasks._context import artifact_key

__all__ = ["EVENT_LOCK_TIMEOUT", "LOCK_PREFIX", "event_lock", "event_lock_name",
           "sweep_event_locks"]

#: Longest a run waits for its event's slot (s); then it fails with the reason.
EVENT_LOCK_TIMEOUT = 3600.0


#: Names of the per-event global concurrency limits start with this.
LOCK_PREFIX = "tooflow-event-"


def event_lock_name(event_id: str) -> str:
    """The global concurrency limit's name for an event (``tooflow-event-s230518h``)."""
    return f"{LOCK_PREFIX}{artifact_key(event_id)}"


def _ensure_limit(name: str) -> None:
    """Create the limit ``name`` (limit 1) unless it exists.

    Looked up first: creating a limit whose name is taken makes the Prefect server
    log a unique-constraint ``IntegrityError`` with its traceback (and answer 409),
    which every later notice of an event would otherwise cause. Two runs that
    both find it missing still race to create it; the loser's 409 is expected.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
            return
        except ObjectNotFound:
            pass
        try:
            client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=name, limit=1))
        except ObjectAlreadyExists:  # another run of the event created it meanwhile
            pass


@contextmanager
def event_lock(event_id: str, timeout: float = EVENT_LOCK_TIMEOUT) -> Iterator[str]:
    """Hold the event's slot for the ``with`` block; yield the limit's name.

    Raises
    ------
    TimeoutError
        If another run holds the event for longer than ``timeout`` seconds.
    """
    from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError
    from prefect.concurrency.sync import concurrency

    name = event_lock_name(event_id)
    with ExitStack() as held:
        for attempt in range(3):
            _ensure_limit(name)
            # strict: a limit that cannot be found is an error, not a silent no-op; a
            # lease that cannot be renewed (the Prefect server restarting) does not kill
            # a run half-way through a submission: the slot is advisory, the queue keys
            # are not.
            try:
                held.enter_context(concurrency(name, occupy=1, timeout_seconds=timeout,
                                               strict=True,
                                               raise_on_lease_renewal_failure=False))
            except ConcurrencySlotAcquisitionError as exc:
                # swept (sweep_event_locks) between its creation and the acquisition
                if "must be created" not in str(exc) or attempt == 2:
                    raise
                continue
            break
        yield name


def sweep_event_locks(*, engine: Engine, now: dt.datetime | None = None,
                      idle_seconds: float = 2 * EVENT_LOCK_TIMEOUT) -> list[str]:
    """Delete the per-event limits that no run holds or may still wait for; return their names.

    A limit is kept while a slot is taken or while its event had a notice in
    the last ``idle_seconds`` (a run waits for the slot at most
    :data:`EVENT_LOCK_TIMEOUT` after parsing its notice, which updates the
    event). Limits of events that no longer exist go too.
    """
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from sqlmodel import Session, select

    from ..models import Event

    now = now or dt.datetime.now(dt.UTC)
    cutoff = now - dt.timedelta(seconds=idle_seconds)
    with Session(engine) as session:
        recent = session.exec(select(Event.event_id).where(Event.updated >= cutoff)).all()
    busy = {event_lock_name(e) for e in recent}
    deleted: list[str] = []
    with get_client(sync_client=True) as client:
        limits, offset = [], 0
        while True:
            page = client.read_global_concurrency_limits(limit=200, offset=offset)
            limits += page
            if len(page) < 200:
                break
            offset += len(page)
        for limit in limits:
            if (not limit.name.startswith(LOCK_PREFIX) or limit.active_slots
                    or limit.name in busy):
                continue
            try:
                client.delete_global_concurrency_limit_by_name(limit.name)
            except ObjectNotFound:  # another monitor swept it first
                continue
            deleted.append(limit.name)
    return deleted
