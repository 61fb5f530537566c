"""Detector messages, coincidences and alerts in the database.

Every consumed message gets a :class:`~tooflow.models.SnewsMessage` row (rejected
ones too, with the reason and the raw bytes); each alert the cache decides gets a
:class:`~tooflow.models.SnewsAlert` row under its
:class:`~tooflow.models.SnewsCoincidence`, written in the same transaction as the
message that caused it. Alert rows are an outbox: the service then publishes
them and records where each went.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import func, or_
from sqlmodel import Session, select

from ..models import SnewsAlert, SnewsCoincidence, SnewsMessage
from ..models._types import utcnow
from .alerts import gcn_alert, payload_bytes, snews_alert
from .cache import NS, CoincidenceAlert, DetectorMessage, format_ns
from .messages import Observation, Retraction

__all__ = [
    "coincidence_event_id",
    "describe",
    "file_delivery",
    "message_row",
    "pending_alerts",
    "record_alert",
    "replay_rows",
    "row_to_input",
]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def file_delivery(payload: bytes) -> str:
    """Delivery id of a message that did not come from Kafka: its sha256."""
    return "sha256:" + hashlib.sha256(payload).hexdigest()


def coincidence_event_id(first_t_ns: int) -> str:
    """The pipeline event a coincidence becomes (as the SNEWS GCN JSON parser names it)."""
    return f"SNEWS-{_from_ns(first_t_ns):%Y%m%dT%H%M%S}"


def _from_ns(t_ns: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=t_ns // 1000)


def message_row(delivery: str, parsed: object | None, payload: bytes,
                reason: str | None = None) -> SnewsMessage:
    """The row of one consumed message (``parsed`` None: rejected for ``reason``)."""
    if parsed is None:
        return SnewsMessage(delivery=delivery, payload=payload[:65536],
                            rejection_reason=reason)
    content = getattr(parsed, "content", None)
    row = SnewsMessage(delivery=delivery, content=content,
                       tier=(content or {}).get("tier"), detector=getattr(parsed, "detector", None),
                       mode=getattr(parsed, "mode", None))
    if isinstance(parsed, Observation):
        m = parsed.message
        row.message_key, row.detector, row.mode = m.key, m.detector, m.mode
        row.neutrino_time, row.neutrino_time_ns, row.p_val = m.neutrino_time, m.t_ns, m.p_val
    return row


def row_to_input(row: SnewsMessage) -> DetectorMessage | Retraction | None:
    """What a stored row feeds the cache with on replay (None: nothing)."""
    if row.tier == "CoincidenceTier" and row.neutrino_time_ns is not None:
        return DetectorMessage(row.message_key, row.detector, row.neutrino_time_ns, row.p_val,
                               row.mode or "observation",
                               (row.content or {}).get("machine_time_utc"))
    if row.tier == "Retraction":
        c = row.content or {}
        uuid = c.get("retract_message_uuid")
        return Retraction(row.detector, row.mode or "observation",
                          uuid if isinstance(uuid, str) else None,
                          int(c.get("retract_latest_n") or 0), c.get("retraction_reason"), c)
    return None


def replay_rows(session: Session, *, now: dt.datetime, lifetime: float) -> list[SnewsMessage]:
    """Rows to rebuild the cache from, in arrival order.

    Observations whose neutrino time is within ``lifetime`` (s) of ``now``, every
    retraction received within ``lifetime``, and everything that arrived since the
    first message of a coincidence still active: the messages it superseded or that
    updated it (``snews_cs`` rules) shaped its groups and its alert count, so a replay
    without them would regroup it and renumber its alerts.
    """
    since = now - dt.timedelta(seconds=lifetime)
    active = set()
    for keys in session.exec(select(SnewsCoincidence.message_keys)
                             .where(SnewsCoincidence.state == "active")):
        active.update(keys or [])
    recent = [SnewsMessage.neutrino_time >= since, SnewsMessage.received >= since]
    if active:
        first = session.exec(select(func.min(SnewsMessage.id)).where(
            SnewsMessage.message_key.in_(sorted(active)))).one()
        if first is not None:
            recent.append(SnewsMessage.id >= first)
    rows = session.exec(select(SnewsMessage).where(
        SnewsMessage.tier.in_(["CoincidenceTier", "Retraction"]), or_(*recent))
        .order_by(SnewsMessage.id))
    return list(rows)


def record_alert(session: Session, alert: CoincidenceAlert, *, sent: dt.datetime,
                 server_tag: str) -> SnewsAlert | None:
    """Add an alert (and create or update its coincidence) in ``session``.

    Returns
    -------
    SnewsAlert or None
        None when this alert (group, record number) is already stored — a replay.
    """
    coinc = session.exec(select(SnewsCoincidence).where(
        SnewsCoincidence.mode == alert.mode,
        SnewsCoincidence.group_key == alert.group_key)).first()
    if coinc is None:
        coinc = SnewsCoincidence(mode=alert.mode, group_key=alert.group_key,
                                 event_id=coincidence_event_id(alert.first_t_ns),
                                 first_neutrino_time=_from_ns(alert.first_t_ns))
        session.add(coinc)
        session.flush()
    elif session.exec(select(SnewsAlert.id).where(
            SnewsAlert.coincidence_id == coinc.id,
            SnewsAlert.record_number == alert.record_number)).first() is not None:
        return None
    coinc.detectors = alert.detectors
    coinc.message_keys = [m.key for m in alert.messages]
    coinc.n_detectors = len(set(alert.detectors))
    coinc.neutrino_time = _from_ns(alert.initial_t_ns) if alert.messages else None
    coinc.n_alerts = max(coinc.n_alerts, alert.record_number)
    coinc.state = "retracted" if alert.alert_type == "RETRACTION" else "active"
    coinc.updated = utcnow()
    row = SnewsAlert(
        coincidence_id=coinc.id, record_number=alert.record_number,
        alert_type=alert.alert_type, detectors=alert.detectors, created=sent,
        snews_payload=payload_bytes(snews_alert(alert, sent=sent, server_tag=server_tag)),
        gcn_payload=payload_bytes(gcn_alert(alert, sent=sent)))
    session.add(coinc)
    session.add(row)
    return row


def pending_alerts(session: Session, *, kafka: bool, pipeline: bool, notify: bool,
                   trigger: bool = True) -> list[SnewsAlert]:
    """Alerts not yet delivered everywhere asked, oldest first.

    ``trigger`` False: a stored notice is enough (``tooflow reconcile`` triggers it).
    """
    conditions = []
    if kafka:
        conditions.append(SnewsAlert.kafka_published_at.is_(None))
    if pipeline:
        conditions.append(SnewsAlert.notice_id.is_(None))
        if trigger:
            conditions.append(SnewsAlert.triggered_at.is_(None))
    if notify:
        conditions.append(SnewsAlert.notified_at.is_(None))
    if not conditions:
        return []
    return list(session.exec(select(SnewsAlert).where(or_(*conditions))
                             .order_by(SnewsAlert.id)))


def describe(alert: CoincidenceAlert) -> str:
    """One line about an alert, for logs and messages."""
    span = ((alert.messages[-1].t_ns - alert.messages[0].t_ns) / NS) if alert.messages else 0.0
    names = ", ".join(alert.detectors) or "no detector left"
    return (f"SNEWS {alert.mode} coincidence {alert.alert_type} #{alert.record_number} "
            f"({coincidence_event_id(alert.first_t_ns)}): {names}; first neutrino at "
            f"{format_ns(alert.initial_t_ns)}, spread {span:.3f} s")
