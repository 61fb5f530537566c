"""The one monitor of each event: what it follows, until when, how often it polled."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from ._types import UTCDateTime, utcnow

__all__ = ["EventMonitor"]


class EventMonitor(SQLModel, table=True):
    """The follow-up of an event's queued observations (one row per event).

    Opened (``watching``) by the run that submitted plans; each poll counts in
    ``polls``; ``done`` once its circulars are drafted, when no request is open
    any more or the window closed. New requests queued later open it again
    (``generation`` + 1), so a draft always reports the work it waited for.
    """

    __tablename__ = "event_monitor"

    id: int | None = Field(default=None, primary_key=True)
    event_pk: int = Field(foreign_key="event.id", unique=True, index=True)
    status: str = Field(default="watching", index=True, description="watching, done")
    programs: list[str] = Field(default_factory=list, sa_column=Column(JSON),
                                description="programs whose circulars it drafts")
    notice_id: int | None = Field(default=None, description="the notice that opened it last")
    generation: int = Field(default=1, description="+1 each time new requests were queued")
    drafted_generation: int = Field(default=0, description="the generation last drafted")
    closes: dt.datetime = Field(sa_type=UTCDateTime,
                                description="wall-clock end of the latest plan window")
    interval: float = Field(default=300.0,
                            description="wall-clock s between two polls of an inline monitor")
    polls: int = Field(default=0, description="polls of the queues (task runs), all told")
    last_poll: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    opened: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    drafted: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
