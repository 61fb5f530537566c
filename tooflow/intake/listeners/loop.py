"""The loop every listener runs: store the notice, then acknowledge it, then trigger.

For each message a :class:`Source` delivers:

1. :func:`tooflow.intake.store.store_notice` commits the bytes to the database (under
   the database's one retry policy, :func:`tooflow.db.retry.until_stored`, round
   after round while the database is down; nothing is acknowledged meanwhile);
2. ``source.commit(message)`` acknowledges it (Kafka offset commit, VOEvent ack);
3. ``trigger(notice_id)`` starts the ``handle-notice`` flow, if the notice is
   still ``received`` (a re-delivered notice that was already triggered starts
   nothing). A failed trigger is logged; the notice stays ``received`` and the
   reconciler picks it up.

A crash between 1 and 2 means the broker re-delivers the message after restart;
the sha256 dedupe returns the same row. A crash between 2 and 3 leaves the
notice ``received``: the reconciler (or the re-delivery) triggers it, and the
idempotency key makes Prefect return the same flow run if it already exists.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from ...db.retry import DatabaseUnavailable, is_transient_database_error, until_stored
from ...models import ListenerStatus, NoticeStatus
from ...models._types import utcnow
from ..store import OVERSIZE_KEEP_BYTES, IngestResult, store_notice

__all__ = ["Message", "Source", "StatusRecorder", "TriggerPool", "handle_message", "run_source"]

log = logging.getLogger(__name__)


@dataclass
class Message:
    """One notice as delivered by a source."""

    payload: bytes
    topic: str
    partition: int = 0
    offset: int | None = None
    timestamp: dt.datetime | None = None
    raw: Any = None
    """The client library's own message object (what :meth:`Source.commit` needs)."""
    problem: str | None = None
    """Why the message cannot be taken as it came: it is stored as a rejected notice
    with this reason, then acknowledged."""


class Source(Protocol):
    """A stream of notices: Kafka consumer, VOEvent TCP client, ..."""

    name: str
    """Short name: ``hop``, ``gcn``, ``igwn`` or ``voevent``."""

    def poll(self, timeout: float) -> list[Message]:
        """Messages that arrived, waiting at most ``timeout`` seconds for the first."""

    def commit(self, message: Message) -> None:
        """Acknowledge ``message`` durably (it will not be delivered again)."""

    def lag(self) -> dict[tuple[str, int], int | None]:
        """Messages not yet consumed, per (topic, partition) currently owned."""

    def close(self) -> None:
        """Leave the stream (commits nothing: every commit is explicit)."""


@dataclass
class _Stream:
    messages: int = 0
    created: int = 0
    errors: int = 0
    last_offset: int | None = None
    last_message_at: dt.datetime | None = None
    last_error: str | None = None
    lag: int | None = None


@dataclass
class StatusRecorder:
    """Counts per (topic, partition), flushed to ``listener_status`` every ``interval`` s."""

    engine: Engine
    source: str
    interval: float = 5.0
    streams: dict[tuple[str, int], _Stream] = field(default_factory=dict)
    _last_flush: float = 0.0

    def stream(self, topic: str, partition: int = 0) -> _Stream:
        return self.streams.setdefault((topic, partition), _Stream())

    def error(self, topic: str, partition: int, message: str) -> None:
        s = self.stream(topic, partition)
        s.errors += 1
        s.last_error = message[:500]

    def maybe_flush(self, lag: Callable[[], dict] | None = None, force: bool = False) -> None:
        """Write the counters if ``interval`` has passed (or ``force``); never raises."""
        now = time.monotonic()
        if not force and now - self._last_flush < self.interval:
            return
        self._last_flush = now
        try:
            for key, value in (lag() if lag else {}).items():
                self.stream(*key).lag = value
        except Exception as exc:  # noqa: BLE001 - lag is advisory
            log.debug("%s: lag unavailable: %s", self.source, exc)
        host = f"{socket.gethostname()}:{os.getpid()}"
        try:
            with Session(self.engine) as session:
                for (topic, partition), s in self.streams.items():
                    row = session.exec(select(ListenerStatus).where(
                        ListenerStatus.source == self.source, ListenerStatus.topic == topic,
                        ListenerStatus.partition == partition)).first()
                    if row is None:
                        row = ListenerStatus(source=self.source, topic=topic,
                                             partition=partition)
                    row.host = host
                    row.heartbeat_at = utcnow()
                    row.messages, row.created, row.errors = s.messages, s.created, s.errors
                    row.last_error = s.last_error
                    if s.last_offset is not None:
                        row.last_offset = s.last_offset
                    if s.last_message_at is not None:
                        row.last_message_at = s.last_message_at
                    row.lag = s.lag
                    session.add(row)
                session.commit()
        except SQLAlchemyError as exc:
            log.warning("%s: could not record listener status: %s", self.source, exc)


def _store_until_stored(message: Message, label: str, engine: Engine, max_bytes: int,
                        stop: threading.Event, status: StatusRecorder,
                        store: Callable[..., IngestResult] = store_notice,
                        ) -> IngestResult | None:
    """Store ``message`` under the database's retry policy, round after round, never skipping it.

    :func:`tooflow.db.retry.until_stored`: while the database is unavailable
    nothing is acknowledged; each round that gives up is recorded on the
    listener's status and logged, and the next one starts. Any other failure is
    taken to be about this message: a rejected notice is stored in its place
    (first bytes kept, the reason recorded), so that it can be acknowledged
    without costing the messages after it. If even that cannot be stored, the
    database is the problem: the round fails and both are tried again.

    Returns
    -------
    IngestResult or None
        None when ``stop`` was set while waiting for the database.
    """

    def attempt() -> IngestResult:
        try:
            return store(message.payload, label, engine=engine, max_bytes=max_bytes,
                         reject=message.problem)
        except Exception as exc:  # noqa: BLE001 - recorded on a rejected notice
            if is_transient_database_error(exc):
                raise
            reason = (f"{label}: the message could not be stored as received "
                      f"({type(exc).__name__}: {str(exc)[:300]}); first "
                      f"{OVERSIZE_KEEP_BYTES} bytes kept")
        log.error("%s: %s", label, reason)
        status.error(message.topic, message.partition, reason)
        try:
            return store(bytes(message.payload[:OVERSIZE_KEEP_BYTES]), label,
                         engine=engine, max_bytes=max_bytes, reject=reason)
        except Exception as exc:  # noqa: BLE001 - not this message: the database
            if is_transient_database_error(exc):
                raise
            raise DatabaseUnavailable(f"{label}: even the rejected copy cannot be stored: "
                                      f"{type(exc).__name__}: {str(exc)[:300]}") from exc

    def round_failed(exc: DatabaseUnavailable) -> None:
        status.error(message.topic, message.partition, f"store: {exc}")
        log.error("%s; offset not committed, trying again", exc)

    return until_stored(attempt, what=f"{label}: store", stop=stop,
                        on_round_failed=round_failed)


def handle_message(source: Source, message: Message, *, engine: Engine,
                   trigger: Callable[[int], object], stop: threading.Event | None = None,
                   status: StatusRecorder | None = None,
                   max_bytes: int = 16 << 20,
                   store: Callable[..., IngestResult] = store_notice) -> IngestResult | None:
    """Store, acknowledge, trigger one message.

    ``store`` is :func:`~tooflow.intake.store.store_notice` for notices; the
    candidate listener passes its own (:mod:`tooflow.candidates.listener`),
    which returns the same :class:`~tooflow.intake.store.IngestResult`.

    Returns
    -------
    IngestResult or None
        None when ``stop`` was set while waiting for the database (the message
        is then not acknowledged and will be delivered again).
    """
    stop = stop or threading.Event()
    status = status or StatusRecorder(engine, source.name)
    label = f"{source.name}:{message.topic}"
    stored = _store_until_stored(message, label, engine, max_bytes, stop, status, store)
    if stored is None:
        return None
    try:
        source.commit(message)
    except Exception as exc:  # noqa: BLE001 - a lost ack only means a re-delivery
        status.error(message.topic, message.partition, f"commit: {exc}")
        log.warning("%s: commit failed (%s); the message will be re-delivered and deduplicated",
                    label, exc)
    s = status.stream(message.topic, message.partition)
    s.messages += 1
    s.created += int(stored.created)
    s.last_offset = message.offset
    s.last_message_at = message.timestamp or utcnow()
    if stored.created:
        log.info("%s: stored notice #%s (%d bytes)%s", label, stored.notice_id,
                 len(message.payload), f", rejected: {message.problem}" if message.problem
                 else "")
    if stored.status == NoticeStatus.received.value:
        try:
            trigger(stored.notice_id)
        except Exception as exc:  # noqa: BLE001 - the reconciler retries
            status.error(message.topic, message.partition, f"trigger: {exc}")
            log.warning("notice #%s stays pending: %s", stored.notice_id, exc)
    return stored


class TriggerPool:
    """Run ``trigger(notice_id)`` on a few threads, so a slow Prefect API never slows storing.

    Each notice is already stored and acknowledged when it is queued here; if the
    process dies with notices still queued, they stay ``received`` and the
    reconciler triggers them.
    """

    def __init__(self, trigger: Callable[[int], object], workers: int,
                 on_error: Callable[[int, Exception, tuple], None]):
        self.trigger, self.on_error = trigger, on_error
        self.queue: queue.Queue[tuple | None] = queue.Queue()
        self.threads = [threading.Thread(target=self._work, name=f"trigger-{i}", daemon=True)
                        for i in range(max(1, workers))]
        for t in self.threads:
            t.start()

    def submit(self, notice_id: int, *context) -> None:
        """Queue ``notice_id``; ``context`` is handed to ``on_error`` if it fails."""
        self.queue.put((notice_id, context))

    def _work(self) -> None:
        while (item := self.queue.get()) is not None:
            notice_id, context = item
            try:
                self.trigger(notice_id)
            except Exception as exc:  # noqa: BLE001 - the reconciler retries
                self.on_error(notice_id, exc, context)

    def close(self, timeout: float = 30.0) -> None:
        """Finish the queued triggers (at most ``timeout`` s), then stop the threads."""
        for _ in self.threads:
            self.queue.put(None)
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))


def _submit(pool: TriggerPool, topic: str, partition: int, notice_id: int) -> None:
    pool.submit(notice_id, topic, partition)


def run_source(source: Source, *, engine: Engine, trigger: Callable[[int], object],
               stop: threading.Event, max_bytes: int = 16 << 20,
               poll_timeout: float = 1.0, status_interval: float = 5.0,
               trigger_workers: int = 4,
               store: Callable[..., IngestResult] = store_notice) -> None:
    """Run ``source`` until ``stop`` is set, then close it.

    Parameters
    ----------
    source : Source
        The stream.
    engine : Engine
        The tooflow database.
    trigger : callable
        ``trigger(notice_id)`` starts the flow (:func:`tooflow.intake.trigger.trigger_notice`
        in production; tests inject a recorder).
    stop : threading.Event
        Set it (e.g. from a SIGTERM handler) to stop after the current message.
    max_bytes : int
        Larger notices are stored as rejected (bytes).
    poll_timeout, status_interval : float
        Seconds between checks of ``stop`` when idle; between status updates.
    trigger_workers : int
        Threads calling ``trigger`` (0: call it inline, one notice at a time).
    store : callable
        What stores a message (default :func:`~tooflow.intake.store.store_notice`).
    """
    status = StatusRecorder(engine, source.name, interval=status_interval)

    def _failed(notice_id: int, exc: Exception, where: tuple) -> None:
        status.error(*where, f"trigger: {exc}")
        log.warning("notice #%s stays pending: %s", notice_id, exc)

    pool = TriggerPool(trigger, trigger_workers, _failed) if trigger_workers > 0 else None
    log.info("%s: listening", source.name)
    try:
        while not stop.is_set():
            try:
                batch = source.poll(poll_timeout)
            except Exception as exc:  # noqa: BLE001 - keep listening; the client reconnects
                status.error("-", 0, f"poll: {exc}")
                log.error("%s: %s", source.name, exc)
                stop.wait(1.0)
                batch = []
            batch.reverse()
            while batch:
                # one message alive at a time: its payload is freed before the next is
                # stored (a batch of 100 large notices is not held at once)
                message = batch.pop()
                trig = trigger
                if pool is not None:
                    trig = functools.partial(_submit, pool, message.topic, message.partition)
                stored = handle_message(source, message, engine=engine, trigger=trig,
                                        stop=stop, status=status, max_bytes=max_bytes,
                                        store=store)
                del message
                if stored is None:
                    break
            status.maybe_flush(source.lag)
    finally:
        if pool is not None:
            pool.close()
        status.maybe_flush(source.lag, force=True)
        source.close()
        log.info("%s: stopped", source.name)
