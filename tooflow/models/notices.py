"""Notices exactly as received: raw bytes kept forever, deduplicated by sha256."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from ._types import UTCDateTime, utcnow

__all__ = ["Notice", "NoticeStatus"]


class NoticeStatus(enum.StrEnum):
    """Where a notice is on its way through the flow."""

    received = "received"  #: stored, no flow triggered yet (the reconciler picks these up)
    triggered = "triggered"  #: a handle-notice flow run was created for it
    parsed = "parsed"  #: parsed and attached to its event
    rejected = "rejected"  #: unusable: ``rejection_reason`` says why
    gated = "gated"  #: the gate has decided for every program
    done = "done"  #: the flow finished every stage it had to run
    failed = "failed"  #: a stage failed: ``error`` says which and why (``tooflow rerun``)
    superseded = "superseded"  #: older than a notice of its event already handled


class Notice(SQLModel, table=True):
    """One notice as received from a listener or a file."""

    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_status", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(index=True, unique=True, max_length=64,
                        description="hex sha256 of the payload: the dedupe key")
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size: int
    source: str = Field(description="where it came from: file path, kafka topic, ...")
    format: str | None = Field(default=None, description="avro, json, voevent, gcn-json")
    received: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status: str = Field(default=NoticeStatus.received.value, max_length=16,
                        description="a NoticeStatus value")
    rejection_reason: str | None = None
    error: str | None = Field(default=None, description="why a stage failed (status failed)")
    issued: dt.datetime | None = Field(default=None, sa_type=UTCDateTime,
                                       description="when the sender issued it (orders notices)")
    notice_type: str | None = None
    event_pk: int | None = Field(default=None, foreign_key="event.id", index=True)
    flow_run_id: str | None = None
    flow_run_name: str | None = None
    triggered_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_light: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON),
        description="what the listener's warm first light did before the flow "
                    "(stages/warm_first_light.py): {by, plans, queued_after, skipped, "
                    "warning}")
