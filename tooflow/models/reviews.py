"""What people decide about an event: plan approvals and circular versions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from ._types import UTCDateTime, utcnow

__all__ = ["PlanApproval", "CircularVersion"]


class PlanApproval(SQLModel, table=True):
    """A plan of a program with ``approval: required``, waiting for (or given) a decision."""

    __tablename__ = "plan_approval"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True, unique=True)
    event_pk: int = Field(foreign_key="event.id", index=True)
    program: str
    status: str = Field(default="pending", max_length=16,
                        description="pending, approved, rejected")
    requested: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    deadline: dt.datetime = Field(sa_type=UTCDateTime,
                                  description="past it the program's default decides")
    default: str = Field(default="reject", max_length=16, description="approve or reject")
    decided: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, description="user name, or 'timeout'")
    comment: str = ""


class CircularVersion(SQLModel, table=True):
    """One saved version of a circular draft; version 1 is the drafted text."""

    __tablename__ = "circular_version"
    __table_args__ = (UniqueConstraint("draft_id", "number", name="uq_circular_version"),)

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(foreign_key="circular_draft.id", index=True)
    number: int
    subject: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    author: str
    created: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent: dt.datetime | None = Field(default=None, sa_type=UTCDateTime,
                                     description="when it was marked as sent to GCN")
    sent_by: str | None = None
