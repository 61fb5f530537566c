"""One flow at a time per event: a Prefect global concurrency limit named after it.

Two notices of one event sent back to back (a PRELIMINARY and its INITIAL, a
Kafka re-delivery of an older one) start two ``handle-notice`` runs. Each
takes the event's slot (limit 1) before it gates, plans and submits, and
frees it before it monitors, so the later run waits minutes at most and then
sees the earlier one's plans and queue requests.
The slot is a lease: a run that dies frees it when the lease expires
(Prefect's default, 300 s), and the Prefect UI shows the waiting run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..tasks._context import artifact_key

__all__ = ["EVENT_LOCK_TIMEOUT", "event_lock", "event_lock_name"]

#: Longest a run waits for its event's slot (s); then it fails with the reason.
EVENT_LOCK_TIMEOUT = 3600.0


def event_lock_name(event_id: str) -> str:
    """The global concurrency limit's name for an event (``tooflow-event-s230518h``)."""
    return f"tooflow-event-{artifact_key(event_id)}"


def _ensure_limit(name: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists

    with get_client(sync_client=True) as client:
        try:
            client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=name, limit=1))
        except ObjectAlreadyExists:
            pass


@contextmanager
def event_lock(event_id: str, timeout: float = EVENT_LOCK_TIMEOUT) -> Iterator[str]:
    """Hold the event's slot for the ``with`` block; yield the limit's name.

    Raises
    ------
    TimeoutError
        If another run holds the event for longer than ``timeout`` seconds.
    """
    from prefect.concurrency.sync import concurrency

    name = event_lock_name(event_id)
    _ensure_limit(name)
    # strict: a limit that cannot be found is an error, not a silent no-op; a lease
    # that cannot be renewed (the Prefect server restarting) does not kill a run
    # half-way through a submission: the slot is advisory, the queue keys are not.
    with concurrency(name, occupy=1, timeout_seconds=timeout, strict=True,
                     raise_on_lease_renewal_failure=False):
        yield name
