"""Who did what, when: one :class:`~tooflow.models.AuditRecord` per action a person takes.

The web pages and the command line call the same functions (plan approval,
circular edits, vetting); each of those records its action here, in the same
transaction as the change it makes.
"""

from __future__ import annotations

import getpass
from typing import Any

from sqlmodel import Session, select

from .models import AuditRecord

__all__ = ["record", "cli_actor", "recent"]


def cli_actor() -> str:
    """The actor name of a command-line user: ``cli:<login name>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no login name (a container): still say it was the CLI
        return "cli:unknown"


def record(session: Session, actor: str, action: str, *, event_pk: int | None = None,
           target: str | None = None, **detail: Any) -> AuditRecord:
    """Add an audit record to ``session`` (committed with the caller's change).

    Parameters
    ----------
    session : Session
        The session of the change being recorded.
    actor : str
        User name (web) or :func:`cli_actor`.
    action : str
        ``login``, ``approve_plan``, ``save_circular``, ...
    event_pk : int, optional
        The event acted on.
    target : str, optional
        What was acted on, for people (``plan #3``, ``circular #2 v4``).
    **detail
        JSON-serialisable particulars (a comment, a decision).
    """
    row = AuditRecord(actor=actor, action=action, event_pk=event_pk, target=target,
                      detail=detail)
    session.add(row)
    return row


def recent(session: Session, *, event_pk: int | None = None,
           limit: int = 50) -> list[AuditRecord]:
    """The newest audit records, of one event or of all."""
    query = select(AuditRecord)
    if event_pk is not None:
        query = query.where(AuditRecord.event_pk == event_pk)
    return list(session.exec(query.order_by(AuditRecord.id.desc()).limit(limit)))
