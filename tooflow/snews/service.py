"""The SNEWS coincidence service: detector messages in, coincidence alerts out.

:class:`CoincidenceService` is the service without its transport, so it runs the
same from Kafka (:func:`run_service`), from files (``tooflow coincidence feed``)
and in tests. For each message it

1. validates it (:func:`~tooflow.snews.messages.read_detector_message`); a bad
   one is logged with its reason, stored as rejected, and skipped;
2. stores it and the alerts it causes in one transaction (the cache of its mode —
   ``observation``, ``test`` or ``firedrill`` — decides the alerts);
3. after the caller has committed the Kafka offset, :meth:`CoincidenceService.deliver`
   sends each stored alert that has not gone out yet: to the Kafka alert topic (SNEWS
   alert format), into the ToO pipeline (SNEWS GCN JSON notice through
   :func:`~tooflow.intake.store.store_notice`, then ``trigger``), and to the people on duty
   through :mod:`tooflow.notify`. Each step is recorded on the alert row, so a
   restart finishes what a crash interrupted.

On start, :meth:`CoincidenceService.restore` rebuilds the caches by replaying the
stored messages in arrival order; alerts the replay finds missing are stored then.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, select

from ..db.retry import DatabaseUnavailable, is_transient_database_error, until_stored
from ..models import Notice, NoticeStatus, SnewsAlert, SnewsCoincidence
from ..models._types import utcnow
from .cache import CoincidenceAlert, CoincidenceCache, DetectorMessage
from .messages import (
    Heartbeat,
    MessageRejected,
    Observation,
    OtherTier,
    Retraction,
    read_detector_message,
)
from .store import (
    describe,
    file_delivery,
    message_row,
    pending_alerts,
    record_alert,
    replay_rows,
    row_to_input,
)

__all__ = ["CoincidenceService", "HandleResult", "run_service"]

log = logging.getLogger("tooflow.snews")

#: ``source`` of the notices the service stores in the pipeline.
NOTICE_SOURCE = "snews-coincidence"


@dataclass
class HandleResult:
    """What :meth:`CoincidenceService.handle` did with one message.

    ``status`` is ``accepted`` (cached), ``retracted``, ``ignored`` (a valid message
    the coincidence logic does not use: heartbeat, timing or significance tier),
    ``duplicate`` (this delivery was handled before) or ``rejected`` (``reason``).
    """

    status: str
    reason: str = ""
    alerts: list[CoincidenceAlert] = field(default_factory=list)


def _now_ns(now: dt.datetime) -> int:
    return round(now.timestamp() * 1e6) * 1000


class CoincidenceService:
    """SNEWS coincidence logic over a database, with pluggable outputs.

    Parameters
    ----------
    engine : Engine
        Database (migrated).
    window, lifetime : float
        Coincidence window and cache lifetime, s (10 s and 24 h in SNEWS).
    rules : str
        ``tooflow`` or ``snews_cs`` (:class:`~tooflow.snews.cache.CoincidenceCache`).
    server_tag : str
        Name of this server in the SNEWS alerts.
    publish : callable, optional
        ``publish(snews_alert_bytes)`` sends an alert to the Kafka alert topic
        (raises on failure); None: no Kafka output.
    inject : bool
        Store each alert as a notice in the ToO pipeline.
    trigger : callable, optional
        ``trigger(notice_id)`` starts the flow for a stored notice (default: none;
        ``tooflow reconcile`` triggers notices left ``received``).
    notify : callable, optional
        ``notify(alert_row, summary)`` tells people (default: none).
    max_age : float
        Observation messages older than this (s) are refused.
    clock : callable
        Current UTC time.
    """

    def __init__(self, engine: Engine, *, window: float = 10.0, lifetime: float = 86400.0,
                 rules: str = "tooflow",
                 server_tag: str = "tooflow", publish: Callable[[bytes], object] | None = None,
                 inject: bool = True, trigger: Callable[[int], object] | None = None,
                 notify: Callable[[SnewsAlert, dict], object] | None = None,
                 max_age: float = 172800.0, clock: Callable[[], dt.datetime] = utcnow):
        self.engine = engine
        self.window, self.lifetime, self.rules = window, lifetime, rules
        CoincidenceCache(window, lifetime, rules)  # refuse bad settings now
        self.server_tag = server_tag
        self.publish, self.inject, self.trigger, self.notify = publish, inject, trigger, notify
        self.max_age = max_age
        self.clock = clock
        self.caches: dict[str, CoincidenceCache] = {}
        self._stale = False
        self.heartbeats: dict[str, tuple[str, dt.datetime]] = {}

    def cache(self, mode: str) -> CoincidenceCache:
        """The cache of one mode (created on first use)."""
        if mode not in self.caches:
            self.caches[mode] = CoincidenceCache(self.window, self.lifetime, self.rules)
        return self.caches[mode]

    # --- input ---------------------------------------------------------------------

    def _apply(self, item: DetectorMessage | Retraction) -> list[CoincidenceAlert]:
        if isinstance(item, DetectorMessage):
            return self.cache(item.mode).add(item)
        removed, alerts = self.cache(item.mode).retract(
            item.detector, message_key=item.message_key, latest_n=item.latest_n)
        log.info("retraction from %s (%s): %d message(s) removed%s", item.detector, item.mode,
                 len(removed), f"; reason: {item.reason}" if item.reason else "")
        return alerts

    def handle(self, payload: bytes, delivery: str | None = None) -> HandleResult:
        """Validate, store and apply one detector message.

        Parameters
        ----------
        payload : bytes
            The message as received.
        delivery : str, optional
            Its delivery id (``topic:partition:offset``); default the payload's
            sha256. A delivery already stored is a duplicate and changes nothing.

        Raises
        ------
        sqlalchemy.exc.SQLAlchemyError
            The database is unavailable; the caches are rebuilt from it, and the
            message can be handled again.
        """
        delivery = delivery or file_delivery(payload)
        now = self.clock()
        if self._stale:
            self.restore()
        try:
            parsed = read_detector_message(payload, now=now, max_age=self.max_age)
        except MessageRejected as exc:
            log.warning("rejected SNEWS message %s: %s", delivery, exc)
            self._store_rejected(delivery, payload, str(exc))
            return HandleResult("rejected", str(exc))
        if isinstance(parsed, Heartbeat):
            self.heartbeats[parsed.detector] = (parsed.status, now)
            return HandleResult("ignored", f"heartbeat {parsed.detector} {parsed.status}")
        if self._delivered(delivery):
            return HandleResult("duplicate", f"delivery {delivery} already handled")
        row = message_row(delivery, parsed, payload)
        if isinstance(parsed, OtherTier):
            self._store_rejected_or_other(row)
            return HandleResult("ignored", f"{parsed.tier} message from {parsed.detector}: "
                                           "not used for coincidences")
        item = parsed.message if isinstance(parsed, Observation) else parsed
        alerts = self._apply(item)
        try:
            stored = self._store(row, alerts)
        except IntegrityError:  # another process stored this delivery meanwhile
            self.restore()
            return HandleResult("duplicate", f"delivery {delivery} already handled")
        except SQLAlchemyError:
            self._stale = True  # the cache holds what the database does not: rebuild first
            raise
        for alert in alerts:
            log.info("%s", describe(alert))
        status = "retracted" if isinstance(item, Retraction) else "accepted"
        return HandleResult(status, "" if stored else "no new alert", alerts)

    def _delivered(self, delivery: str) -> bool:
        from ..models import SnewsMessage

        with Session(self.engine) as session:
            return session.exec(select(SnewsMessage.id).where(
                SnewsMessage.delivery == delivery)).first() is not None

    def _store_rejected(self, delivery: str, payload: bytes, reason: str) -> None:
        self._store_rejected_or_other(message_row(delivery, None, payload, reason))

    def _store_rejected_or_other(self, row) -> None:
        try:
            self._store(row, [])
        except IntegrityError:
            pass  # a re-delivery

    def _store(self, row, alerts: list[CoincidenceAlert]) -> int:
        sent = self.clock()
        with Session(self.engine) as session:
            session.add(row)
            session.flush()
            n = sum(record_alert(session, a, sent=sent, server_tag=self.server_tag) is not None
                    for a in alerts)
            session.commit()
        return n

    # --- restart ---------------------------------------------------------------------

    def restore(self) -> int:
        """Rebuild the caches from the stored messages; store alerts found missing.

        Returns
        -------
        int
            Alerts stored now (those a crash kept from being stored).
        """
        self.caches = {}
        now = self.clock()
        with Session(self.engine) as session:
            rows = replay_rows(session, now=now, lifetime=self.lifetime)
            alerts = []
            for row in rows:
                item = row_to_input(row)
                if item is not None:
                    alerts.extend(self._apply(item))
            self.expire(now)
            n = sum(record_alert(session, a, sent=now, server_tag=self.server_tag)
                    is not None for a in alerts)
            session.commit()
        self._stale = False
        log.info("coincidence cache rebuilt from %d stored message(s); %d alert(s) recovered",
                 len(rows), n)
        return n

    def expire(self, now: dt.datetime | None = None) -> int:
        """Drop cached messages past their lifetime (unless coincident); return how many."""
        now_ns = _now_ns(now or self.clock())
        return sum(len(c.expire(now_ns)) for c in self.caches.values())

    # --- output ----------------------------------------------------------------------

    def deliver(self) -> int:
        """Send every stored alert not yet sent everywhere; return how many steps succeeded.

        No database transaction stays open while an output is called.
        """
        with Session(self.engine) as session:
            ids = [row.id for row in pending_alerts(
                session, kafka=self.publish is not None, pipeline=self.inject,
                notify=self.notify is not None, trigger=self.trigger is not None)]
        return sum(self._deliver_one(alert_id) for alert_id in ids)

    def _load(self, alert_id: int) -> tuple[SnewsAlert, SnewsCoincidence]:
        with Session(self.engine, expire_on_commit=False) as session:
            row = session.get(SnewsAlert, alert_id)
            coinc = session.get(SnewsCoincidence, row.coincidence_id)
            session.expunge_all()
        return row, coinc

    def _save(self, row: SnewsAlert) -> None:
        with Session(self.engine) as session:
            session.merge(row)
            session.commit()

    def _notice_status(self, notice_id: int) -> tuple[str | None, dt.datetime | None]:
        with Session(self.engine) as session:
            notice = session.get(Notice, notice_id)
            return (notice.status, notice.triggered_at) if notice else (None, None)

    def _deliver_one(self, alert_id: int) -> int:
        from ..intake.store import store_notice

        row, coinc = self._load(alert_id)
        done = 0
        label = f"{coinc.event_id} {row.alert_type} #{row.record_number}"
        if self.publish is not None and row.kafka_published_at is None:
            try:
                self.publish(row.snews_payload)
                row.kafka_published_at = utcnow()
                done += 1
            except Exception as exc:  # noqa: BLE001 - retried on the next delivery
                row.last_error = f"kafka: {type(exc).__name__}: {exc}"[:500]
                log.warning("%s: alert not published to Kafka: %s", label, exc)
            self._save(row)
        if self.inject and row.notice_id is None:
            stored = store_notice(row.gcn_payload, f"{NOTICE_SOURCE}:{self.server_tag}",
                                  engine=self.engine)
            row.notice_id = stored.notice_id
            done += 1
            self._save(row)
        if self.inject and row.triggered_at is None and row.notice_id is not None:
            status, when = self._notice_status(row.notice_id)
            if status is not None and status != NoticeStatus.received.value:
                row.triggered_at = when or utcnow()
            elif self.trigger is not None:
                try:
                    self.trigger(row.notice_id)
                    row.triggered_at = utcnow()
                    done += 1
                except Exception as exc:  # noqa: BLE001 - the reconciler retries
                    row.last_error = f"trigger: {type(exc).__name__}: {exc}"[:500]
                    log.warning("%s: notice #%s stays pending: %s", label, row.notice_id, exc)
            self._save(row)
        if self.notify is not None and row.notified_at is None:
            self.notify(row, {"event_id": coinc.event_id, "mode": coinc.mode,
                              "time": coinc.first_neutrino_time, "detectors": row.detectors})
            row.notified_at = utcnow()
            done += 1
            self._save(row)
        return done


def run_service(service: CoincidenceService, source, *, stop: threading.Event,
                poll_timeout: float = 1.0, expire_interval: float = 60.0) -> None:
    """Consume ``source`` (a :class:`tooflow.intake.listeners.Source`) until ``stop`` is set.

    Each message is handled (stored with its alerts), then its offset committed,
    then the alerts delivered. A database outage blocks the commit: the message is
    handled again under the database's retry policy (:func:`tooflow.db.retry.until_stored`),
    round after round; nothing is acknowledged meanwhile.
    """
    service.restore()
    service.deliver()
    last_expire = time.monotonic()
    try:
        while not stop.is_set():
            for message in source.poll(poll_timeout):
                delivery = f"{message.topic}:{message.partition}:{message.offset}"
                if not _handle_until_stored(service, message.payload, delivery, stop):
                    return
                try:
                    source.commit(message)
                except Exception as exc:  # noqa: BLE001 - a re-delivery is deduplicated
                    log.warning("commit of %s failed (%s): it will be re-delivered", delivery, exc)
                try:
                    service.deliver()
                except SQLAlchemyError as exc:
                    log.error("alert delivery postponed: database unavailable (%s)", exc)
                if stop.is_set():
                    break
            if time.monotonic() - last_expire > expire_interval:
                last_expire = time.monotonic()
                dropped = service.expire()
                if dropped:
                    log.info("%d cached message(s) expired", dropped)
    finally:
        source.close()


def _handle_until_stored(service: CoincidenceService, payload: bytes, delivery: str,
                         stop: threading.Event) -> bool:
    """Handle one message under the database's retry policy, round after round
    (:func:`tooflow.db.retry.until_stored`); False when ``stop`` was set first."""

    def attempt() -> HandleResult:
        try:
            return service.handle(payload, delivery)
        except SQLAlchemyError as exc:
            if is_transient_database_error(exc):
                raise
            # not this message (it was read and checked): the database; wait, never skip
            raise DatabaseUnavailable(f"SNEWS message {delivery}: {type(exc).__name__}: "
                                      f"{str(exc)[:300]}") from exc

    def round_failed(exc: DatabaseUnavailable) -> None:
        log.error("%s; %s not acknowledged, trying again", exc, delivery)

    result = until_stored(attempt, what=f"SNEWS message {delivery}", stop=stop,
                          on_round_failed=round_failed)
    if result is None:
        return False
    if result.status in ("accepted", "retracted"):
        log.debug("%s: %s (%d alert(s))", delivery, result.status, len(result.alerts))
    return True
