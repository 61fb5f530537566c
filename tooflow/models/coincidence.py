"""SNEWS coincidence service tables: detector messages, coincidences, alerts; and
multi-messenger coincidences between events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from ._types import UTCDateTime, utcnow

__all__ = ["MultimessengerCoincidence", "SnewsAlert", "SnewsCoincidence", "SnewsMessage"]


class SnewsMessage(SQLModel, table=True):
    """One SNEWS detector message as consumed by the coincidence service.

    Stored before its Kafka offset is committed; the service rebuilds its cache
    from these rows (in ``id`` order) when it starts.
    """

    __tablename__ = "snews_message"

    id: int | None = Field(default=None, primary_key=True)
    delivery: str = Field(unique=True, index=True,
                          description="topic:partition:offset, or sha256 of a file payload")
    message_key: str | None = Field(default=None, index=True,
                                    description="uuid, or digest of the content")
    tier: str | None = Field(default=None, max_length=32,
                             description="CoincidenceTier, Retraction, ...; None if rejected")
    mode: str | None = Field(default=None, max_length=16,
                             description="observation, test or firedrill")
    detector: str | None = None
    neutrino_time: dt.datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    neutrino_time_ns: int | None = Field(default=None, sa_type=BigInteger,
                                         description="ns since the Unix epoch (exact)")
    p_val: float | None = None
    content: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    payload: bytes | None = Field(default=None, sa_column=Column(LargeBinary),
                                  description="raw bytes, kept for rejected messages only")
    rejection_reason: str | None = None
    received: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SnewsCoincidence(SQLModel, table=True):
    """A group of coincident detector messages (a SNEWS "sub-list") that alerted."""

    __tablename__ = "snews_coincidence"
    __table_args__ = (UniqueConstraint("mode", "group_key", name="uq_snews_coincidence_group"),)

    id: int | None = Field(default=None, primary_key=True)
    mode: str = Field(max_length=16, description="observation, test or firedrill")
    group_key: str = Field(description="the cache's group key (key of its opening message)")
    event_id: str = Field(index=True, description="the pipeline event: SNEWS-<trigger time>")
    first_neutrino_time: dt.datetime = Field(sa_type=UTCDateTime,
                                             description="initial neutrino time at first alert")
    neutrino_time: dt.datetime | None = Field(default=None, sa_type=UTCDateTime,
                                              description="initial neutrino time now")
    detectors: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    message_keys: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    n_detectors: int = 0
    n_alerts: int = 0
    state: str = Field(default="active", max_length=16, description="active or retracted")
    created: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SnewsAlert(SQLModel, table=True):
    """One alert of a coincidence, with where it went (an outbox row)."""

    __tablename__ = "snews_alert"
    __table_args__ = (UniqueConstraint("coincidence_id", "record_number",
                                       name="uq_snews_alert_record"),)

    id: int | None = Field(default=None, primary_key=True)
    coincidence_id: int = Field(foreign_key="snews_coincidence.id", index=True)
    record_number: int
    alert_type: str = Field(max_length=16, description="ALERT, UPDATE or RETRACTION")
    detectors: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    created: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    snews_payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False),
                                 description="SNEWS alert format (Kafka)")
    gcn_payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False),
                               description="SNEWS GCN JSON notice (pipeline)")
    kafka_published_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    notice_id: int | None = Field(default=None, foreign_key="notice.id")
    triggered_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    notified_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = None


class MultimessengerCoincidence(SQLModel, table=True):
    """A GW superevent and an external event (GRB, neutrino) close in time and on the sky."""

    __tablename__ = "multimessenger_coincidence"
    __table_args__ = (UniqueConstraint("gw_event_pk", "external_event_pk",
                                       name="uq_multimessenger_pair"),)

    id: int | None = Field(default=None, primary_key=True)
    gw_event_pk: int = Field(foreign_key="event.id", index=True)
    external_event_pk: int = Field(foreign_key="event.id", index=True)
    external_kind: str = Field(description="GRB or neutrino")
    time_offset: float = Field(description="external minus GW time, s")
    window_start: float = Field(description="window used, s relative to the GW")
    window_end: float
    overlap: float | None = Field(default=None,
                                  description="sky-map overlap integral (RAVEN): "
                                              "4 pi * integral of rho_gw * rho_ext dOmega")
    joint_skymap_sha256: str | None = Field(default=None, max_length=64,
                                            description="normalised product map in the store")
    joint_area_90: float | None = Field(default=None, description="deg2")
    created: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
