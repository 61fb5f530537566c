"""Optical/IR transient candidates: raw alerts, photometry, cutouts, vetting, association.

A *candidate alert* is stored like a notice: the raw bytes once, by sha256,
committed before anything else; parsing it then fills the candidate, its
photometry (detections and upper limits) and its cutouts, or records why it
was rejected. Vetting is an append-only history (``candidate_vetting``): the
candidate row only caches the latest state. A candidate's link to an event
(``candidate_event``) holds the association and ranking numbers and when the
on-duty astronomer was told about it.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from ._types import UTCDateTime, utcnow

__all__ = ["AlertStatus", "Candidate", "CandidateAlert", "CandidateCutout", "CandidateEvent",
           "CandidateFollowup", "CandidatePhotometry", "CandidateVetting", "VettingState"]


class AlertStatus(enum.StrEnum):
    """Where a stored candidate alert (or photometry upload) is."""

    received = "received"  #: stored, not parsed yet
    parsed = "parsed"  #: parsed into candidate, photometry and cutout rows
    rejected = "rejected"  #: unusable: ``rejection_reason`` says why


class VettingState(enum.StrEnum):
    """The vetting states of a candidate (docs/candidates.md)."""

    new = "new"
    interesting = "interesting"
    follow_up_requested = "follow-up requested"
    rejected = "rejected"  #: with a reason
    classified = "classified"  #: with a class, and a redshift and reference when known


class CandidateAlert(SQLModel, table=True):
    """One alert packet or photometry upload exactly as received."""

    __tablename__ = "candidate_alert"
    __table_args__ = (Index("ix_candidate_alert_status", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(index=True, unique=True, max_length=64,
                        description="hex sha256 of the payload: the dedupe key")
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size: int
    source: str = Field(description="file path, kafka:<topic>, upload:<user>, ...")
    format: str | None = Field(default=None, max_length=32,
                               description="ztf-avro, photometry-csv, photometry-json")
    schema_version: str | None = Field(default=None, max_length=16,
                                       description="the packet's schema version (ZTF: 3.3)")
    facility: str | None = Field(default=None, max_length=32)
    object_name: str | None = Field(default=None, index=True,
                                    description="objectId / candidate name it is about")
    candid: int | None = Field(default=None, sa_type=BigInteger,
                               description="the facility's id of this detection")
    received: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status: str = Field(default=AlertStatus.received.value, max_length=16,
                        description="an AlertStatus value")
    rejection_reason: str | None = None
    candidate_pk: int | None = Field(default=None, foreign_key="candidate.id", index=True)
    parsed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class Candidate(SQLModel, table=True):
    """A transient candidate: one per (facility, name)."""

    __tablename__ = "candidate"
    __table_args__ = (UniqueConstraint("facility", "name", name="uq_candidate_name"),)

    id: int | None = Field(default=None, primary_key=True)
    facility: str = Field(max_length=32, description="ZTF, DECam, KPED, GROWTH-India, Gattini")
    name: str = Field(index=True, description="objectId (ZTF18aaxjdyr) or the uploader's name")
    ra: float = Field(description="deg (ICRS), of the latest detection")
    dec: float = Field(description="deg (ICRS), of the latest detection")
    first_detected: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_detected: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    first_mag: float | None = Field(default=None, description="AB mag of the first detection")
    first_filter: str | None = None
    last_mag: float | None = Field(default=None, description="AB mag of the latest detection")
    last_filter: str | None = None
    n_detections: int = 0
    scores: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON),
        description="classification and context scores of the latest alert: rb, drb, "
                    "sgscore1, distpsnr1, ssdistnr, ssmagnr, ndethist, ...")
    latest_alert_id: int | None = Field(default=None, description="candidate_alert.id")
    state: str = Field(default=VettingState.new.value, max_length=24, index=True,
                       description="latest vetting state (history: candidate_vetting)")
    classification: str | None = None
    redshift: float | None = None
    report: bool = Field(default=False, description="marked for the circular's table")
    created: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CandidatePhotometry(SQLModel, table=True):
    """One measurement: a detection (mag, magerr) or an upper limit (limiting mag only)."""

    __tablename__ = "candidate_photometry"
    __table_args__ = (UniqueConstraint("candidate_pk", "key", name="uq_candidate_photometry"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_pk: int = Field(foreign_key="candidate.id", index=True)
    alert_id: int | None = Field(default=None, foreign_key="candidate_alert.id",
                                 description="the packet or upload that first brought it")
    key: str = Field(description="dedupe key: facility candid, or instrument/time/filter")
    facility: str = Field(max_length=32)
    instrument: str | None = None
    time: dt.datetime = Field(sa_type=UTCDateTime)
    jd: float = Field(description="Julian date (UTC) of the start of the exposure")
    filter: str = Field(max_length=16, description="ztfg, ztfr, ztfi, sdssr, ...")
    mag: float | None = Field(default=None, description="AB; None for an upper limit")
    magerr: float | None = None
    limiting_mag: float | None = Field(default=None, description="5-sigma AB limit")
    is_upper_limit: bool = False
    isdiffpos: bool | None = Field(default=None, description="positive difference flux")
    candid: int | None = Field(default=None, sa_type=BigInteger)
    ra: float | None = None
    dec: float | None = None
    origin: str = Field(default="alert", max_length=16,
                        description="alert (the packet's candidate), history (prv_candidates), "
                                    "upload")


class CandidateCutout(SQLModel, table=True):
    """A cutout image (gzipped FITS as sent) of one detection."""

    __tablename__ = "candidate_cutout"
    __table_args__ = (UniqueConstraint("alert_id", "kind", name="uq_candidate_cutout"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_pk: int = Field(foreign_key="candidate.id", index=True)
    alert_id: int = Field(foreign_key="candidate_alert.id", index=True)
    candid: int | None = Field(default=None, sa_type=BigInteger)
    kind: str = Field(max_length=16, description="science, template, difference")
    file_name: str | None = None
    sha256: str = Field(max_length=64)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class CandidateVetting(SQLModel, table=True):
    """One vetting action: appended, never changed."""

    __tablename__ = "candidate_vetting"

    id: int | None = Field(default=None, primary_key=True)
    candidate_pk: int = Field(foreign_key="candidate.id", index=True)
    event_pk: int | None = Field(default=None, foreign_key="event.id",
                                 description="the event it was vetted for, if any")
    state: str = Field(max_length=24, description="a VettingState value")
    reason: str | None = Field(default=None, description="why rejected")
    classification: str | None = Field(default=None, description="SN Ia, kilonova, AGN, ...")
    redshift: float | None = None
    reference: str | None = Field(default=None, description="spectrum, ATel/TNS, circular")
    report: bool | None = Field(default=None,
                                description="set/cleared the mark for the circular's table")
    comment: str | None = None
    author: str
    created: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CandidateEvent(SQLModel, table=True):
    """A candidate associated with an event, with its rank score and the factors."""

    __tablename__ = "candidate_event"
    __table_args__ = (UniqueConstraint("candidate_pk", "event_pk",
                                       name="uq_candidate_event"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_pk: int = Field(foreign_key="candidate.id", index=True)
    event_pk: int = Field(foreign_key="event.id", index=True)
    score: float | None = Field(default=None, description="rank score (higher first)")
    factors: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON),
        description="the association and ranking factors behind the score")
    flow_run_id: str | None = None
    ranked_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    notified_at: dt.datetime | None = Field(
        default=None, sa_type=UTCDateTime,
        description="when the on-duty astronomer was told (once, above the threshold)")


class CandidateFollowup(SQLModel, table=True):
    """A follow-up request for a candidate, sent through a facility adapter."""

    __tablename__ = "candidate_followup"
    __table_args__ = (UniqueConstraint("facility", "request_key",
                                       name="uq_candidate_followup_key"),)

    id: int | None = Field(default=None, primary_key=True)
    candidate_pk: int = Field(foreign_key="candidate.id", index=True)
    event_pk: int | None = Field(default=None, foreign_key="event.id")
    vetting_id: int | None = Field(default=None, foreign_key="candidate_vetting.id")
    facility: str = Field(max_length=32, description="KPED, GROWTH-India, a spectrograph")
    kind: str = Field(default="photometry", max_length=16, description="photometry, spectroscopy")
    request_key: str = Field(description="idempotent: the same request is never sent twice")
    status: str = Field(default="unsent", max_length=16,
                        description="unsent, queued, accepted, completed, failed, cancelled")
    queue_id: str | None = Field(default=None, description="the facility's id of the request")
    error: str | None = None
    created: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
