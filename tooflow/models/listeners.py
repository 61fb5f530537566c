"""Listener health: one row per source, topic and partition, updated by the listener."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from ._types import UTCDateTime, utcnow

__all__ = ["ListenerStatus"]


class ListenerStatus(SQLModel, table=True):
    """Where a listener is on one partition of one topic (or one VOEvent server).

    Written by :mod:`tooflow.intake.listeners.loop` every few seconds and when it stops;
    read by ``tooflow health``.
    """

    __tablename__ = "listener_status"
    __table_args__ = (UniqueConstraint("source", "topic", "partition",
                                       name="uq_listener_status_stream"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16, description="hop, gcn, igwn or voevent")
    topic: str = Field(description="Kafka topic, or host:port for VOEvent TCP")
    partition: int = Field(default=0, description="Kafka partition (0 for VOEvent TCP)")
    host: str = Field(default="", description="hostname:pid of the listener process")
    last_offset: int | None = Field(default=None, sa_type=BigInteger,
                                    description="offset of the last stored message")
    lag: int | None = Field(default=None, sa_type=BigInteger,
                            description="messages on the broker not yet stored")
    last_message_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime,
                                                description="when the last message arrived")
    heartbeat_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime,
                                      description="when the listener last reported")
    messages: int = Field(default=0, description="messages handled by this process")
    created: int = Field(default=0, description="of which new notices")
    errors: int = Field(default=0, description="store/commit/trigger errors seen")
    last_error: str | None = None
