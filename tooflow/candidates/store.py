"""Store candidate alerts once, then turn them into candidate, photometry and cutout rows.

The same two steps as notices (:mod:`tooflow.intake.store`): :func:`store_alert`
commits the raw bytes, deduplicated by sha256, before anything else happens (a
listener commits its Kafka offset only after it returned); :func:`process_alert`
parses a stored alert and records the result — rows, or the rejection reason on
the ``candidate_alert`` row. A packet seen twice changes nothing; a candidate's
history, repeated in each of its packets, is stored once per measurement.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..db import get_engine
from ..db.copy_rows import copy_rows
from ..guards.text import printable
from ..models import (
    AlertStatus,
    Candidate,
    CandidateAlert,
    CandidateCutout,
    CandidatePhotometry,
)
from ..models._types import utcnow
from .errors import CandidateRejected
from .photometry import PhotometryPoint
from .uploads import UploadRow, parse_upload
from .ztf import AVRO_MAGIC, ZtfAlert, parse_ztf_alert

__all__ = ["AlertHealth", "AlertOutcome", "AlertStored", "FORMATS", "OVERSIZE_KEEP_BYTES",
           "alert_health", "ingest_alert_bytes", "process_alert", "process_alerts",
           "sniff_format", "store_alert", "waiting_alerts"]

#: Payload formats the candidate path reads.
FORMATS = ("ztf-avro", "photometry-csv", "photometry-json")

#: For a payload over the size limit only this many leading bytes are kept.
OVERSIZE_KEEP_BYTES = 4096


@dataclass(frozen=True)
class AlertStored:
    """What :func:`store_alert` did."""

    alert_id: int
    created: bool
    sha256: str
    status: str


@dataclass(frozen=True)
class AlertOutcome:
    """What became of a stored alert: its candidates, or why it was rejected."""

    alert_id: int
    status: str
    candidate_ids: tuple[int, ...] = ()
    names: tuple[str, ...] = ()
    new_photometry: int = 0
    reason: str | None = None
    created: bool = True


def sniff_format(payload: bytes, filename: str | None = None) -> str:
    """The format of a candidate payload: Avro container → ``ztf-avro``, ``{``/``[`` → JSON.

    Examples
    --------
    >>> sniff_format(b"Obj\\x01...")
    'ztf-avro'
    >>> sniff_format(b"name,facility,mjd,filter,mag,magerr,limiting_mag\\n")
    'photometry-csv'
    """
    if payload.startswith(AVRO_MAGIC) or (filename or "").endswith(".avro"):
        return "ztf-avro"
    head = payload.lstrip()[:1]
    if head in (b"{", b"[") or (filename or "").endswith(".json"):
        return "photometry-json"
    return "photometry-csv"


def store_alert(payload: bytes, source: str, *, fmt: str | None = None,
                engine: Engine | None = None, max_bytes: int = 4 << 20,
                reject: str | None = None, size: int | None = None) -> AlertStored:
    """Store an alert packet or photometry upload durably, once.

    Parameters
    ----------
    payload : bytes
        The bytes exactly as received.
    source : str
        Where they came from (file path, ``kafka:<topic>``, ``upload:<user>``).
    fmt : str, optional
        One of :data:`FORMATS` (default: sniffed from the bytes).
    engine : Engine, optional
        Database engine (default: the configured one).
    max_bytes : int
        Larger payloads are stored rejected, truncated to :data:`OVERSIZE_KEEP_BYTES`.
    reject : str, optional
        Store it as rejected with this reason (a message the listener could not
        take as it came).
    size : int, optional
        The full size when ``payload`` is only the head of something larger (a
        file read no further than the limit).

    Returns
    -------
    AlertStored
        ``created`` is False when the same bytes were already stored.
    """
    engine = engine or get_engine()
    source = printable(source)
    sha = hashlib.sha256(payload).hexdigest()
    fmt = fmt or sniff_format(payload[:64], source)
    if fmt not in FORMATS:
        raise ValueError(f"unknown candidate format {fmt!r} (known: {', '.join(FORMATS)})")
    table = CandidateAlert.__table__
    by_sha = select(table.c.id, table.c.status).where(table.c.sha256 == sha)
    with engine.connect() as conn:  # Core: an ORM object per packet cost more than its insert
        existing = conn.execute(by_sha).first()
        if existing is not None:  # (not the payload: it is not needed here)
            return AlertStored(existing[0], False, sha, existing[1])
        size = max(size or 0, len(payload))
        values = {"sha256": sha, "payload": payload, "size": size, "source": source,
                  "format": fmt, "received": utcnow(), "status": AlertStatus.received.value,
                  "rejection_reason": None}
        if size > max_bytes:
            values["payload"] = payload[:OVERSIZE_KEEP_BYTES]
            values["status"] = AlertStatus.rejected.value
            values["rejection_reason"] = (f"payload of {size} bytes exceeds the "
                                          f"{max_bytes}-byte limit; first "
                                          f"{OVERSIZE_KEEP_BYTES} bytes kept")
        elif reject:
            values["status"] = AlertStatus.rejected.value
            values["rejection_reason"] = printable(reject)[:2000]
        try:
            alert_id = _insert_alert(conn, values)
            conn.commit()
        except IntegrityError:  # the same bytes stored by another process meanwhile
            conn.rollback()
            existing = conn.execute(by_sha).one()
            return AlertStored(existing[0], False, sha, existing[1])
        return AlertStored(alert_id, True, sha, values["status"])


def _insert_alert(conn: Connection, values: dict) -> int:
    """Insert one ``candidate_alert`` row; its id.

    On PostgreSQL a binary COPY with an id drawn from the table's sequence:
    the bytes go as they are, not as a hex literal in the SQL twice their size.
    """
    table = CandidateAlert.__table__
    if conn.dialect.name != "postgresql":
        return conn.execute(insert(table), values).inserted_primary_key[0]
    alert_id = conn.exec_driver_sql(
        "SELECT nextval(pg_get_serial_sequence('candidate_alert', 'id'))").scalar_one()
    copy_rows(conn, table, [{"id": alert_id, **values}])
    return alert_id


def process_alert(alert_id: int, *, engine: Engine | None = None,
                  now: dt.datetime | None = None) -> AlertOutcome:
    """Parse a stored alert into rows, or record why it cannot be used.

    Idempotent: an alert already parsed or rejected is reported as it is.

    Parameters
    ----------
    alert_id : int
        The ``candidate_alert`` row.
    engine : Engine, optional
        Database engine (default: the configured one).
    now : datetime, optional
        The present, for the plausibility of detection times (default: wall clock).

    Returns
    -------
    AlertOutcome
    """
    return process_alerts([alert_id], engine=engine, now=now)[0]


def process_alerts(alert_ids: list[int], *, engine: Engine | None = None,
                   now: dt.datetime | None = None) -> list[AlertOutcome]:
    """Parse several stored alerts in one transaction: one commit for the batch.

    A bad alert is recorded as rejected and costs the others nothing (its
    input is checked before anything of it is written). A database error
    rolls the whole batch back: every alert stays ``received`` and is parsed
    again later.

    Returns
    -------
    list of AlertOutcome
        In the order of ``alert_ids``.
    """
    engine = engine or get_engine()
    outcomes: list[AlertOutcome | None] = [None] * len(alert_ids)
    with Session(engine, expire_on_commit=False) as session:
        rows = {row.id: row for row in session.exec(select(CandidateAlert).where(
            CandidateAlert.id.in_(set(alert_ids)))).all()}
        run: list[tuple[int, CandidateAlert]] = []  # consecutive ZTF packets to parse

        def write_run() -> None:
            for i, outcome in zip((i for i, _ in run),
                                  _apply_ztf_batch(session, [r for _, r in run], now),
                                  strict=True):
                outcomes[i] = outcome
            run.clear()

        for i, alert_id in enumerate(alert_ids):
            row = rows.get(alert_id)
            if (row is not None and row.format == "ztf-avro"
                    and row.status == AlertStatus.received.value
                    and all(r.id != alert_id for _, r in run)):
                run.append((i, row))
                continue
            if run:  # keep the order: what came before is written first
                write_run()
            outcomes[i] = _process(session, alert_id, now)
        if run:
            write_run()
        session.commit()
    return [o for o in outcomes if o is not None]


def _process(session: Session, alert_id: int, now: dt.datetime | None) -> AlertOutcome:
    row = session.get(CandidateAlert, alert_id)
    if row is None:
        raise LookupError(f"no candidate alert {alert_id}")
    if row.status != AlertStatus.received.value:
        return _outcome(session, row, created=False)
    if row.format == "ztf-avro":
        return _apply_ztf_batch(session, [row], now)[0]
    try:  # everything that can reject happens before anything is written
        parsed = parse_upload(row.payload, row.format or "photometry-csv")
        _check_positions(session, parsed)
    except CandidateRejected as exc:
        row.status = AlertStatus.rejected.value
        row.rejection_reason = printable(str(exc))[:2000]
        row.parsed_at = utcnow()
        session.add(row)
        session.flush()
        return AlertOutcome(alert_id, row.status, reason=row.rejection_reason)
    candidates, added = _apply_upload(session, row, parsed)
    row.status = AlertStatus.parsed.value
    row.parsed_at = utcnow()
    if len(candidates) == 1:
        row.candidate_pk = candidates[0].id
    row.object_name = ",".join(sorted({c.name for c in candidates}))[:500]
    session.add(row)
    session.flush()
    return AlertOutcome(alert_id, row.status, tuple(c.id for c in candidates),
                        tuple(c.name for c in candidates), added)


def _check_positions(session: Session, rows: list[UploadRow]) -> None:
    """A candidate new to tooflow needs its position in the upload."""
    names = {r.name for r in rows}
    known = set(session.exec(select(Candidate.name).where(Candidate.name.in_(names))).all())
    for name in sorted(names - known):
        if not any(r.ra is not None for r in rows if r.name == name):
            raise CandidateRejected(f"candidate {name!r} is new: its ra and dec are required")


def ingest_alert_bytes(payload: bytes, source: str, *, fmt: str | None = None,
                       engine: Engine | None = None, max_bytes: int = 4 << 20,
                       now: dt.datetime | None = None, size: int | None = None) -> AlertOutcome:
    """Store then process one payload (``tooflow candidates ingest``, the listener).

    Returns
    -------
    AlertOutcome
        ``created`` False when the bytes were already stored (nothing redone).
    """
    engine = engine or get_engine()
    stored = store_alert(payload, source, fmt=fmt, engine=engine, max_bytes=max_bytes, size=size)
    outcome = process_alert(stored.alert_id, engine=engine, now=now)
    if not stored.created:
        # parsed now if an earlier store stopped before parsing, else nothing new
        return AlertOutcome(outcome.alert_id, outcome.status, outcome.candidate_ids,
                            outcome.names, outcome.new_photometry, outcome.reason,
                            created=False)
    return outcome


def _outcome(session: Session, row: CandidateAlert, *, created: bool) -> AlertOutcome:
    ids: tuple[int, ...] = ()
    names: tuple[str, ...] = ()
    if row.object_name:
        names = tuple(row.object_name.split(","))
        ids = tuple(c.id for c in session.exec(
            select(Candidate).where(Candidate.name.in_(names))).all())
    return AlertOutcome(row.id, row.status, ids, names, 0, row.rejection_reason, created)


def _candidate(session: Session, facility: str, name: str, ra: float | None,
               dec: float | None) -> Candidate:
    """The candidate called ``name`` (any facility), created under ``facility`` if new."""
    found = session.exec(select(Candidate).where(Candidate.name == name)
                         .order_by(Candidate.id)).first()
    if found is not None:
        return found
    if ra is None or dec is None:
        raise CandidateRejected(f"candidate {name!r} is new: its ra and dec are required")
    cand = Candidate(facility=facility, name=name, ra=ra, dec=dec)
    try:
        with session.begin_nested():
            session.add(cand)
    except IntegrityError:  # created by another process meanwhile
        return session.exec(select(Candidate).where(Candidate.name == name)).one()
    return cand


def _add_photometry(session: Session, cand: Candidate, alert_id: int,
                    points: Iterable[tuple[PhotometryPoint, str]]) -> int:
    """Insert the measurements the candidate does not have yet (one bulk insert)."""
    known = set(session.exec(select(CandidatePhotometry.key)
                             .where(CandidatePhotometry.candidate_pk == cand.id)).all())
    rows = []
    for point, origin in points:
        if point.key in known:
            continue
        known.add(point.key)
        rows.append(_photometry_row(cand.id, alert_id, point, origin))
    if rows:  # Core insert: an ORM object per row cost more than the rest of the parse
        session.execute(insert(CandidatePhotometry), rows)
    return len(rows)


def _refresh(session: Session, cand: Candidate) -> None:
    """First/last detection, their magnitudes and the count, from all photometry."""
    detections = session.exec(
        select(CandidatePhotometry)
        .where(CandidatePhotometry.candidate_pk == cand.id,
               CandidatePhotometry.is_upper_limit == False)  # noqa: E712 (SQL)
        .order_by(CandidatePhotometry.jd)).all()
    cand.n_detections = len(detections)
    if detections:
        first, last = detections[0], detections[-1]
        cand.first_detected, cand.first_mag, cand.first_filter = first.time, first.mag, first.filter
        cand.last_detected, cand.last_mag, cand.last_filter = last.time, last.mag, last.filter
    cand.updated = utcnow()
    session.add(cand)


def _apply_ztf_batch(session: Session, rows: list[CandidateAlert],
                     now: dt.datetime | None) -> list[AlertOutcome]:
    """Parse received ZTF packets and write their rows with a few statements for them all.

    The same result as :func:`_process` on each in turn (photometry stored once
    across the packets, the latest detection's scores kept, rejections
    recorded) with bulk inserts: per-row ORM statements cost more than the parse.
    """
    outcomes: dict[int, AlertOutcome] = {}
    parsed: list[tuple[CandidateAlert, ZtfAlert]] = []
    for row in rows:
        try:
            parsed.append((row, parse_ztf_alert(row.payload, now=now)))
        except CandidateRejected as exc:
            row.status = AlertStatus.rejected.value
            row.rejection_reason = printable(str(exc))[:2000]
            row.parsed_at = utcnow()
            outcomes[row.id] = AlertOutcome(row.id, row.status, reason=row.rejection_reason)
    if parsed:
        cands = _ztf_candidates(session, [alert for _, alert in parsed])
        known: dict[int, set[str]] = {c.id: set() for c in cands.values()}
        for pk, key in session.exec(select(CandidatePhotometry.candidate_pk,
                                           CandidatePhotometry.key).where(
                CandidatePhotometry.candidate_pk.in_(list(known)))).all():
            known[pk].add(key)
        photometry: list[dict] = []
        cutouts: list[dict] = []
        for row, alert in parsed:
            cand = cands[alert.object_id]
            seen = known[cand.id]
            added = 0
            points = [(p, "history") for p in alert.prv_candidates] + [(alert.detection, "alert")]
            for point, origin in points:
                if point.key in seen:
                    continue
                seen.add(point.key)
                added += 1
                photometry.append(_photometry_row(cand.id, row.id, point, origin))
            cutouts.extend(
                {"candidate_pk": cand.id, "alert_id": row.id, "candid": alert.candid,
                 "kind": kind, "file_name": alert.cutout_file_names.get(kind),
                 "sha256": hashlib.sha256(data).hexdigest(), "data": data}
                for kind, data in alert.cutouts.items())
            previous = (cand.scores or {}).get("jd")
            if previous is None or alert.jd >= previous:  # packets may arrive out of order
                cand.ra, cand.dec = alert.ra, alert.dec
                cand.scores = {**alert.scores, "jd": alert.jd, "candid": alert.candid}
                cand.latest_alert_id = row.id
            row.facility, row.schema_version, row.candid = "ZTF", alert.schema_version, alert.candid
            row.status = AlertStatus.parsed.value
            row.parsed_at = utcnow()
            row.candidate_pk = cand.id
            row.object_name = cand.name[:500]
            outcomes[row.id] = AlertOutcome(row.id, row.status, (cand.id,), (cand.name,), added)
        conn = session.connection()
        if conn.dialect.name == "postgresql":  # a binary COPY each (db.copy_rows)
            copy_rows(conn, CandidatePhotometry.__table__, photometry)
            copy_rows(conn, CandidateCutout.__table__, cutouts)
        else:  # Core: one statement (the ORM's splits the rows at each None it leaves out)
            for table, values in ((CandidatePhotometry.__table__, photometry),
                                  (CandidateCutout.__table__, cutouts)):
                if values:
                    conn.execute(insert(table), values)
        _refresh_many(session, list(cands.values()))
    session.add_all(rows)
    session.flush()
    return [outcomes[row.id] for row in rows]


def _ztf_candidates(session: Session, alerts: list[ZtfAlert]) -> dict[str, Candidate]:
    """The candidates of ``alerts`` by name, the new ones created (ids assigned)."""
    names = {alert.object_id for alert in alerts}
    found: dict[str, Candidate] = {}
    for cand in session.exec(select(Candidate).where(Candidate.name.in_(names))
                             .order_by(Candidate.id)).all():
        found.setdefault(cand.name, cand)
    new: dict[str, Candidate] = {}
    for alert in alerts:
        if alert.object_id not in found and alert.object_id not in new:
            new[alert.object_id] = Candidate(facility="ZTF", name=alert.object_id,
                                             ra=alert.ra, dec=alert.dec)
    if new:
        try:
            with session.begin_nested():
                session.add_all(new.values())
        except IntegrityError:  # one created by another process meanwhile: one by one
            first = {}
            for alert in alerts:
                first.setdefault(alert.object_id, alert)
            for name in new:
                new[name] = _candidate(session, "ZTF", name, first[name].ra, first[name].dec)
            session.flush()
        found.update(new)
    return found


def _photometry_row(candidate_pk: int, alert_id: int, point: PhotometryPoint,
                    origin: str) -> dict:
    return {"candidate_pk": candidate_pk, "alert_id": alert_id, "key": point.key,
            "facility": point.facility, "instrument": point.instrument, "time": point.time,
            "jd": point.jd, "filter": point.filter, "mag": point.mag, "magerr": point.magerr,
            "limiting_mag": point.limiting_mag, "is_upper_limit": point.is_upper_limit,
            "isdiffpos": point.isdiffpos, "candid": point.candid, "ra": point.ra,
            "dec": point.dec, "origin": origin}


def _refresh_many(session: Session, cands: list[Candidate]) -> None:
    """:func:`_refresh` of several candidates with one query."""
    by_id = {c.id: c for c in cands}
    detections: dict[int, list] = {pk: [] for pk in by_id}
    query = (select(CandidatePhotometry.candidate_pk, CandidatePhotometry.time,
                    CandidatePhotometry.mag, CandidatePhotometry.filter)
             .where(CandidatePhotometry.candidate_pk.in_(list(by_id)),
                    CandidatePhotometry.is_upper_limit == False)  # noqa: E712 (SQL)
             .order_by(CandidatePhotometry.candidate_pk, CandidatePhotometry.jd,
                       CandidatePhotometry.id))
    # the photometry is written (Core); the candidates' pending changes are flushed
    # once, with these: an UPDATE per candidate, not two
    with session.no_autoflush:
        for det in session.exec(query).all():
            detections[det[0]].append(det)
    for pk, cand in by_id.items():
        found = detections[pk]
        cand.n_detections = len(found)
        if found:
            first, last = found[0], found[-1]
            cand.first_detected, cand.first_mag, cand.first_filter = first[1:]
            cand.last_detected, cand.last_mag, cand.last_filter = last[1:]
        cand.updated = utcnow()
        session.add(cand)


def _apply_upload(session: Session, row: CandidateAlert,
                  rows: list[UploadRow]) -> tuple[list[Candidate], int]:
    by_name: dict[str, list[UploadRow]] = {}
    for item in rows:
        by_name.setdefault(item.name, []).append(item)
    candidates: list[Candidate] = []
    added = 0
    facilities = sorted({item.point.facility for item in rows})
    row.facility = facilities[0] if len(facilities) == 1 else "several"
    for name, items in by_name.items():
        placed = next((i for i in items if i.ra is not None and i.dec is not None), items[0])
        cand = _candidate(session, items[0].point.facility, name, placed.ra, placed.dec)
        session.flush()
        added += _add_photometry(session, cand, row.id, ((i.point, "upload") for i in items))
        _refresh(session, cand)
        candidates.append(cand)
    return candidates, added


@dataclass(frozen=True)
class AlertHealth:
    """What ``tooflow health`` says about candidate alerts."""

    waiting: int
    rejected: int
    newest_rejections: tuple[tuple[int, str, str], ...]


def waiting_alerts(engine: Engine, *, older_than: dt.timedelta = dt.timedelta(0),
                   now: dt.datetime | None = None, limit: int | None = None) -> list[int]:
    """Ids of alerts stored but not parsed yet (``received``), oldest first.

    ``limit``: at most this many (the oldest).
    """
    cutoff = (now or dt.datetime.now(dt.UTC)) - older_than
    query = (select(CandidateAlert.id).where(CandidateAlert.status == AlertStatus.received.value,
                                             CandidateAlert.received <= cutoff)
             .order_by(CandidateAlert.id))
    if limit is not None:
        query = query.limit(limit)
    with Session(engine) as session:
        return list(session.exec(query).all())


def alert_health(engine: Engine, *, now: dt.datetime | None = None,
                 window: dt.timedelta = dt.timedelta(hours=24)) -> AlertHealth:
    """Alerts waiting over 5 minutes to be parsed; rejections of the last ``window``.

    The listener parses a batch when it is full or ``batch_seconds`` (60 s by
    default) old, so an alert may wait that long.
    """
    now = now or dt.datetime.now(dt.UTC)
    waiting = len(waiting_alerts(engine, older_than=dt.timedelta(minutes=5), now=now))
    with Session(engine) as session:
        rejected = session.exec(select(CandidateAlert.id, CandidateAlert.source,
                                       CandidateAlert.rejection_reason).where(
            CandidateAlert.status == AlertStatus.rejected.value,
            CandidateAlert.received >= now - window).order_by(CandidateAlert.id.desc())).all()
    return AlertHealth(waiting, len(rejected),
                       tuple((i, src, reason or "") for i, src, reason in rejected[:3]))
