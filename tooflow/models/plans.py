"""Observation plans, queue requests, executed observations, circulars, notifications."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from ._types import UTCDateTime, utcnow

__all__ = ["Plan", "PlannedObservationRow", "QueueRequestRow", "ExecutedObservationRow",
           "FacilityTransaction", "CircularDraft", "NotificationRecord"]


class Plan(SQLModel, table=True):
    """One program's observation plan for one localization of an event."""

    __tablename__ = "plan"

    id: int | None = Field(default=None, primary_key=True)
    event_pk: int = Field(foreign_key="event.id", index=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    localization_id: int | None = Field(default=None, foreign_key="localization.id")
    program: str = Field(index=True)
    status: str = Field(default="planned",
                        description="planned, submitted, superseded, cancelled")
    start: dt.datetime = Field(sa_type=UTCDateTime)
    end: dt.datetime = Field(sa_type=UTCDateTime)
    telescopes: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    objective: float = Field(description="what the planner maximised (objective_name), "
                                         "for the network (union)")
    objective_name: str | None = Field(default=None,
                                       description="coverage or detection (None: coverage)")
    covered: float | None = Field(default=None,
                                  description="sky probability covered by the network")
    detected: float | None = Field(default=None,
                                   description="probability of detecting the counterpart "
                                               "model (maps with distance layers)")
    counterpart: str | None = Field(default=None, sa_column=Column(Text),
                                    description="the counterpart model, in words")
    per_telescope_added: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON),
        description="per telescope, what it adds to the network's objective")
    upper_bound: float | None = Field(default=None, description="solver's bound")
    gap: float | None = Field(default=None, description="(bound - objective) / bound")
    gap_thresholds: float | None = Field(
        default=None, description="the part of gap the per-telescope thresholds gave up "
                                  "(None: not known, e.g. a greedy or detection plan)")
    solve_time: float | None = Field(default=None, description="seconds")
    solver_status: str | None = None
    per_telescope: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    idle: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON),
        description="per telescope without exposures: {reason, next_observable (ISO or "
                    "null: not within lookahead_days), lookahead_days}")
    png_path: str | None = None
    created: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def observable(self) -> bool:
        """False when no telescope got an exposure ("not observable in the window")."""
        return not set(self.telescopes or []) <= set(self.idle or {})


class PlannedObservationRow(SQLModel, table=True):
    """One planned exposure (a :class:`tooflow.observations.PlannedObservation`)."""

    __tablename__ = "planned_observation"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    telescope: str
    field_id: int | None = None
    target: str | None = None
    ra: float = Field(description="deg")
    dec: float = Field(description="deg")
    filter: str
    exposure_time: float = Field(description="s")
    start_time: dt.datetime = Field(sa_type=UTCDateTime)
    probability: float = 0.0
    visit: int = 1
    request_key: str = Field(index=True)


class QueueRequestRow(SQLModel, table=True):
    """A request a facility queue holds for an event: at most one per request key."""

    __tablename__ = "queue_request"
    __table_args__ = (UniqueConstraint("event_pk", "telescope", "request_key",
                                       name="uq_queue_request_key"),)

    id: int | None = Field(default=None, primary_key=True)
    event_pk: int = Field(foreign_key="event.id", index=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    telescope: str
    request_key: str
    queue_id: str | None = None
    status: str = Field(description="submitted, queued, executing, completed, cancelled, "
                                    "failed, rejected")
    detail: str = ""
    submitted: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ExecutedObservationRow(SQLModel, table=True):
    """An exposure a telescope took for an event."""

    __tablename__ = "executed_observation"
    # A telescope takes one exposure at a time: (telescope, obs_time) is unique.
    __table_args__ = (UniqueConstraint("event_pk", "telescope", "obs_time",
                                       name="uq_executed_exposure"),)

    id: int | None = Field(default=None, primary_key=True)
    event_pk: int = Field(foreign_key="event.id", index=True)
    telescope: str
    field_id: int | None = None
    target: str | None = None
    ra: float
    dec: float
    filter: str
    exposure_time: float
    obs_time: dt.datetime = Field(sa_type=UTCDateTime)
    limiting_magnitude: float | None = None
    request_key: str | None = None


class FacilityTransaction(SQLModel, table=True):
    """One HTTP exchange with a facility (never with credentials)."""

    __tablename__ = "facility_transaction"

    id: int | None = Field(default=None, primary_key=True)
    event_pk: int | None = Field(default=None, foreign_key="event.id", index=True)
    telescope: str
    method: str
    url: str
    status_code: int | None = None
    elapsed: float | None = Field(default=None, description="s")
    detail: str = ""
    created: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CircularDraft(SQLModel, table=True):
    """A drafted GCN Circular, for an astronomer to edit and send."""

    __tablename__ = "circular_draft"

    id: int | None = Field(default=None, primary_key=True)
    event_pk: int = Field(foreign_key="event.id", index=True)
    program: str
    subject: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    created: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NotificationRecord(SQLModel, table=True):
    """A message sent (or attempted) to the on-duty astronomer."""

    __tablename__ = "notification"

    id: int | None = Field(default=None, primary_key=True)
    event_pk: int = Field(foreign_key="event.id", index=True)
    reason: str
    channel: str
    recipient: str
    ok: bool
    error: str | None = None
    fingerprint: str | None = Field(default=None, index=True,
                                    description="what was said; same → no re-notification")
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON),
                                    description="the EventSummary that was sent")
    created: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
