"""Store raw notices: the first thing that happens to every notice.

:func:`store_notice` is what ``tooflow ingest FILE`` and every listener call.
It is idempotent: the sha256 of the payload is the dedupe key, so the same
bytes delivered twice (a Kafka re-delivery, a second ``ingest``) give the same
notice row and ``created=False`` — and the caller starts no second flow.
The row is committed before the function returns, so a listener may commit its
Kafka offset as soon as it has the result.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..db import get_engine
from ..guards.text import printable
from ..models import Notice, NoticeStatus

__all__ = ["IngestResult", "OVERSIZE_KEEP_BYTES", "store_notice"]

#: For a payload over the size limit, only this many leading bytes are kept
#: (with the full size and sha256), so a 50 MB abuse cannot bloat the database.
OVERSIZE_KEEP_BYTES = 4096


@dataclass(frozen=True)
class IngestResult:
    """What :func:`store_notice` did."""

    notice_id: int
    created: bool
    sha256: str
    status: str


def store_notice(payload: bytes, source: str, *, engine: Engine | None = None,
                 max_bytes: int = 16 << 20, reject: str | None = None) -> IngestResult:
    """Store a notice's bytes durably, once.

    Parameters
    ----------
    payload : bytes
        The notice exactly as received.
    source : str
        Where it came from (a file path, ``kafka:igwn.gwalert``, ...); bytes that
        are not UTF-8 (a file name's) are kept as ``\\xff`` escapes.
    engine : Engine, optional
        Database engine (default: the configured one).
    max_bytes : int
        Payloads larger than this are stored as rejected, truncated to
        :data:`OVERSIZE_KEEP_BYTES`.
    reject : str, optional
        Store the notice as rejected with this reason (a message the listener
        could not take as it came, e.g. one whose broker metadata is unusable).

    Returns
    -------
    IngestResult
        ``created`` is False when the same bytes were already stored.
    """
    engine = engine or get_engine()
    source = printable(source)  # a file name that is not UTF-8 is still stored
    sha = hashlib.sha256(payload).hexdigest()
    with Session(engine, expire_on_commit=False) as session:
        existing = session.exec(select(Notice).where(Notice.sha256 == sha)).first()
        if existing is not None:
            return IngestResult(existing.id, False, sha, existing.status)
        notice = Notice(sha256=sha, payload=payload, size=len(payload), source=source)
        if len(payload) > max_bytes:
            notice.payload = payload[:OVERSIZE_KEEP_BYTES]
            notice.status = NoticeStatus.rejected.value
            notice.rejection_reason = (
                f"notice of {len(payload)} bytes exceeds the {max_bytes}-byte limit; "
                f"first {OVERSIZE_KEEP_BYTES} bytes kept")
        elif reject:
            notice.status = NoticeStatus.rejected.value
            notice.rejection_reason = reject[:2000]
        session.add(notice)
        try:
            session.commit()
        except IntegrityError:
            # Another listener stored the same bytes between our select and insert.
            session.rollback()
            existing = session.exec(select(Notice).where(Notice.sha256 == sha)).one()
            return IngestResult(existing.id, False, sha, existing.status)
        return IngestResult(notice.id, True, sha, notice.status)
