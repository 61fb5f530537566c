"""Circular drafts edited by people: every saved version kept, one marked as sent.

Version 1 is the text the flow drafted (:func:`tooflow.stages.circular.draft_circular`);
each save adds a version with its author; :func:`mark_sent` records which
version went to GCN, by whom and when. ``tooflow circular`` and the web
page's editor both call these functions.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, select

from ..audit import record
from ..models import CircularDraft, CircularVersion

__all__ = ["versions", "latest_version", "save_version", "mark_sent", "CircularEditError",
           "parse_circular_text"]

#: Longest subject GCN takes (its submission form's limit is about this).
MAX_SUBJECT = 200
#: A circular longer than this is a paste accident, not a circular.
MAX_BODY = 100_000


class CircularEditError(ValueError):
    """A save or send that cannot be done (empty subject, already sent, ...)."""


def _draft(session: Session, draft_id: int) -> CircularDraft:
    draft = session.get(CircularDraft, draft_id)
    if draft is None:
        raise LookupError(f"no circular draft #{draft_id}")
    return draft


def versions(session: Session, draft_id: int) -> list[CircularVersion]:
    """Every version of a draft, oldest first; version 1 is the drafted text.

    A draft never edited has one version, built from the draft (not stored).
    """
    draft = _draft(session, draft_id)
    rows = list(session.exec(select(CircularVersion).where(CircularVersion.draft_id == draft_id)
                             .order_by(CircularVersion.number)))
    if rows:
        return rows
    return [CircularVersion(draft_id=draft_id, number=1, subject=draft.subject, body=draft.body,
                            author="tooflow", created=draft.created)]


def latest_version(session: Session, draft_id: int) -> CircularVersion:
    """The newest version of a draft (the drafted text when nobody edited it)."""
    return versions(session, draft_id)[-1]


def parse_circular_text(text: str) -> tuple[str, str]:
    """Split ``SUBJECT: ...`` + blank line + body (what ``tooflow circular`` prints).

    >>> parse_circular_text("SUBJECT: LIGO S1: ZTF observations\\n\\nZTF observed...")
    ('LIGO S1: ZTF observations', 'ZTF observed...')
    """
    head, _, body = text.replace("\r\n", "\n").partition("\n")
    if not head.upper().startswith("SUBJECT:"):
        raise CircularEditError("the text must start with a 'SUBJECT: ...' line")
    return head.split(":", 1)[1].strip(), body.lstrip("\n").rstrip() + "\n"


def save_version(session: Session, draft_id: int, subject: str, body: str, author: str,
                 now: dt.datetime | None = None) -> CircularVersion:
    """Save an edited text as the draft's next version (nothing new when unchanged).

    Parameters
    ----------
    session : Session
        Committed by the caller.
    draft_id : int
        The circular draft.
    subject, body : str
        The edited text; line endings normalised to ``\\n``.
    author : str
        Who saved it (user name, or ``cli:<login>``).

    Raises
    ------
    CircularEditError
        Empty or overlong subject/body, or the draft was already marked sent.
    """
    subject = " ".join((subject or "").split())
    body = (body or "").replace("\r\n", "\n").rstrip() + "\n"
    if not subject:
        raise CircularEditError("the subject is empty")
    if len(subject) > MAX_SUBJECT:
        raise CircularEditError(f"the subject has {len(subject)} characters (at most "
                                f"{MAX_SUBJECT})")
    if not body.strip():
        raise CircularEditError("the text is empty")
    if len(body) > MAX_BODY:
        raise CircularEditError(f"the text has {len(body)} characters (at most {MAX_BODY})")
    draft = _draft(session, draft_id)
    history = versions(session, draft_id)
    if any(v.sent for v in history):
        raise CircularEditError(f"circular #{draft_id} was already marked sent; "
                                "draft a new one to send again")
    last = history[-1]
    if last.subject == subject and last.body.rstrip() == body.rstrip():
        return last
    if last.id is None:  # the drafted text becomes version 1 when it is first edited
        session.add(last)
    new = CircularVersion(draft_id=draft_id, number=last.number + 1, subject=subject, body=body,
                          author=author, created=now or dt.datetime.now(dt.UTC))
    session.add(new)
    record(session, author, "save_circular", event_pk=draft.event_pk,
           target=f"circular #{draft_id} v{new.number}", subject=subject)
    session.flush()
    return new


def mark_sent(session: Session, draft_id: int, author: str,
              now: dt.datetime | None = None) -> CircularVersion:
    """Record that the newest version of a draft was sent to GCN (by whom, when).

    Raises
    ------
    CircularEditError
        The draft was already marked sent.
    """
    draft = _draft(session, draft_id)
    history = versions(session, draft_id)
    sent = [v for v in history if v.sent]
    if sent:
        raise CircularEditError(f"circular #{draft_id} v{sent[0].number} was already marked "
                                f"sent by {sent[0].sent_by} at {sent[0].sent:%Y-%m-%d %H:%M} UTC")
    last = history[-1]
    last.sent = now or dt.datetime.now(dt.UTC)
    last.sent_by = author
    session.add(last)
    record(session, author, "mark_circular_sent", event_pk=draft.event_pk,
           target=f"circular #{draft_id} v{last.number}")
    session.flush()
    return last
