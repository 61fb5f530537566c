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

import datetime as dt
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

    Beside the batches of the alerts it is handed, it looks for alerts stored
    but still unparsed (``received``: stored by a process that stopped before
    parsing them, or whose batch's parse failed) every ``reparse_every``
    seconds, the first time at once: at most ``batch_size`` of them per pass,
    the oldest first, parsed and sent like a batch; a full pass is followed by
    the next at once, so a backlog drains in bounded transactions. An alert
    waiting in this batcher, or stored less than ``batch_seconds`` ago (its
    batch may still be on its way), is left to its batch.

    Parameters
    ----------
    engine : Engine
        The database.
    run_batch : callable
        ``run_batch(alert_ids)`` starts the flow for a batch.
    batch_size : int
        A batch goes as soon as it holds this many alerts; also the most
        alerts one re-parse pass takes.
    batch_seconds : float
        ...or this long after its first alert arrived.
    reparse_every : float or None
        Seconds between passes over the stored-but-unparsed alerts; None: no pass.
    """

    def __init__(self, engine: Engine, run_batch: Callable[[list[int]], object], *,
                 batch_size: int = 200, batch_seconds: float = 60.0,
                 reparse_every: float | None = 300.0):
        self.engine, self.run_batch = engine, run_batch
        self.batch_size, self.batch_seconds = batch_size, batch_seconds
        self.reparse_every = reparse_every
        self._pending: list[int] = []
        self._lock = threading.Lock()
        self._parsing = threading.Lock()  # one parse at a time: an alert is parsed once
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.batches: list[list[int]] = []
        self.reparsed: list[list[int]] = []  #: what each re-parse pass took
        self.errors: list[str] = []
        self._started = dt.datetime.now(dt.UTC)
        self._thread = threading.Thread(target=self._timer, name="candidate-batches",
                                        daemon=True)
        self._thread.start()
        self._reparser = None
        if reparse_every:
            self._reparser = threading.Thread(target=self._reparse_loop,
                                              name="candidate-reparse", daemon=True)
            self._reparser.start()

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
        with self._parsing:
            outcomes = self._parse(waiting)
        return self._send(outcomes)

    def reparse_waiting(self, *, stored_before: dt.datetime | None = None) -> list[int]:
        """One pass: parse up to ``batch_size`` stored-but-unparsed alerts, send them.

        Only alerts stored before ``stored_before`` (default: ``batch_seconds``
        ago, so a batch still on its way keeps its alerts) and not waiting in
        this batcher. Returns the alert ids the pass took (parsed or rejected;
        those parsed go to ``run_batch``).
        """
        from .store import waiting_alerts

        cutoff = stored_before or (dt.datetime.now(dt.UTC)
                                   - dt.timedelta(seconds=self.batch_seconds))
        with self._parsing:  # alerts a batch is parsing now are not "received" once we look
            with self._lock:
                held = set(self._pending)
            ids = [i for i in waiting_alerts(self.engine, now=cutoff,
                                             limit=self.batch_size + len(held))
                   if i not in held][:self.batch_size]
            if not ids:
                return []
            outcomes = self._parse(ids)
        log.info("re-parsed %d alert(s) stored earlier but not parsed", len(ids))
        self.reparsed.append(ids)
        self._send(outcomes)
        return ids

    def _parse(self, alert_ids: list[int]):
        try:
            outcomes = process_alerts(alert_ids, engine=self.engine)
        except Exception as exc:  # noqa: BLE001 - they stay received: the next pass retries
            message = f"parsing {len(alert_ids)} alert(s) failed: {type(exc).__name__}: {exc}"
            self.errors.append(message)
            log.error("%s; they stay stored, unparsed (tooflow health counts them; the "
                      "listener's re-parse pass tries again)", message)
            return []
        for out in outcomes:
            if out.status == "rejected":
                log.warning("candidate alert #%s rejected: %s", out.alert_id, out.reason)
        return outcomes

    def _send(self, outcomes) -> list[int]:
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

    def _reparse_loop(self) -> None:
        first = True
        while not self._stop.is_set():
            try:  # at start every alert stored before this batcher is an earlier process's
                took = self.reparse_waiting(stored_before=self._started if first else None)
            except Exception as exc:  # noqa: BLE001 - the database may be back next pass
                took = []
                message = f"re-parse pass failed: {type(exc).__name__}: {exc}"
                self.errors.append(message)
                log.error(message)
            first = False
            if len(took) < self.batch_size and self._stop.wait(self.reparse_every):
                break

    def close(self) -> None:
        """Send what is waiting, stop the timer and the re-parse passes."""
        self._stop.set()
        self._wake.set()
        self._thread.join(10)
        if self._reparser is not None:
            self._reparser.join(10)
        self.flush()
