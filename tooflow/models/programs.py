"""Gate decisions: which science program triggered on which notice, and why."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel

from ._types import UTCDateTime, utcnow

__all__ = ["GateDecision"]


class GateDecision(SQLModel, table=True):
    """The gate's verdict for one program on one notice."""

    __tablename__ = "gate_decision"

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    event_pk: int = Field(foreign_key="event.id", index=True)
    program: str = Field(index=True)
    triggered: bool
    reason: str
    created: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
