"""Candidate alerts from a Kafka topic: the notices' store-then-commit loop, another store.

``tooflow candidates listen`` runs :func:`tooflow.intake.listeners.run_source`
on a hop-style Kafka source (``candidates.kafka`` in tooflow.yaml) with
:func:`store_candidate_message` as its store: each packet is committed to
``candidate_alert`` (sha256-unique) before its offset is; a message that
cannot be stored as it came is stored rejected with the reason, then
acknowledged. The trigger (:class:`CandidateBatcher`) collects the stored
alerts; every ``batch_size`` alerts, or ``batch_seconds`` after the first one
waiting, it parses the batch into rows in one transaction and hands the usable
ones to the ``handle-candidates`` flow (association, ranking, the
top-candidates table).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

from ..intake.store import IngestResult
from .store import process_alerts, store_alert

__all__ = ["CandidateBatcher", "candidate_source", "store_candidate_message"]

log = logging.getLogger(__name__)


def store_candidate_message(payload: bytes, label: str, *, engine: Engine, max_bytes: int,
                            reject: str | None = None) -> IngestResult:
    """Store one Kafka message as a ZTF alert packet; the listener loop's ``store``.

    Returns
    -------
    IngestResult
        As :func:`tooflow.intake.store.store_notice` would (its id is the
        ``candidate_alert`` row's).
    """
    stored = store_alert(payload, label, fmt="ztf-avro", engine=engine, max_bytes=max_bytes,
                         reject=reject)
    return IngestResult(stored.alert_id, stored.created, stored.sha256, stored.status)


def candidate_source(conf: dict[str, Any]):
    """The Kafka source of ``candidates.kafka`` (keys as a hop source; ``start_at`` earliest)."""
    from ..intake.listeners.hop import hop_source

    return hop_source(conf, name="candidates", start_at="earliest")


class CandidateBatcher:
    """The listener's trigger: parse each alert now, hand batches to the flow.

    Parameters
    ----------
    engine : Engine
        The database.
    run_batch : callable
        ``run_batch(alert_ids)`` starts the flow for a batch.
    batch_size : int
        A batch goes as soon as it holds this many alerts.
    batch_seconds : float
        ...or this long after its first alert arrived.
    """

    def __init__(self, engine: Engine, run_batch: Callable[[list[int]], object], *,
                 batch_size: int = 200, batch_seconds: float = 60.0):
        self.engine, self.run_batch = engine, run_batch
        self.batch_size, self.batch_seconds = batch_size, batch_seconds
        self._pending: list[int] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.batches: list[list[int]] = []
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._timer, name="candidate-batches",
                                        daemon=True)
        self._thread.start()

    def __call__(self, alert_id: int) -> None:
        """Add a stored alert to the waiting batch (parsed with it, one commit)."""
        with self._lock:
            self._pending.append(alert_id)
            full = len(self._pending) >= self.batch_size
        self._wake.set()
        if full:
            self.flush()

    def flush(self) -> list[int]:
        """Parse the waiting alerts (one transaction) and send the usable ones as a batch.

        Returns the alert ids sent (none: nothing waited, or all were rejected).
        """
        with self._lock:
            waiting, self._pending = self._pending, []
        if not waiting:
            return []
        try:
            outcomes = process_alerts(waiting, engine=self.engine)
        except Exception as exc:  # noqa: BLE001 - they stay received: parsed at next start
            message = f"parsing {len(waiting)} alert(s) failed: {type(exc).__name__}: {exc}"
            self.errors.append(message)
            log.error("%s; they stay stored, unparsed (tooflow health counts them)", message)
            return []
        for out in outcomes:
            if out.status == "rejected":
                log.warning("candidate alert #%s rejected: %s", out.alert_id, out.reason)
        batch = [o.alert_id for o in outcomes if o.status == "parsed"]
        if batch:
            try:
                self.run_batch(batch)
            except Exception as exc:  # noqa: BLE001 - alerts are parsed and stored
                message = f"handle-candidates for {len(batch)} alert(s) failed: {exc}"
                self.errors.append(message)
                log.error("%s; `tooflow candidates EVENT_ID --rank` ranks them again", message)
            self.batches.append(batch)
        return batch

    def _timer(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.wait(self.batch_seconds):
                break
            self._wake.clear()
            self.flush()

    def close(self) -> None:
        """Send what is waiting, stop the timer."""
        self._stop.set()
        self._wake.set()
        self._thread.join(10)
        self.flush()
