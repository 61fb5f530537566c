"""Events (one per superevent or trigger) and their localizations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from ._types import UTCDateTime, utcnow

__all__ = ["Event", "Localization"]


class Event(SQLModel, table=True):
    """An astrophysical event: every notice about it points here."""

    __tablename__ = "event"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(index=True, unique=True, description="S230518h, Fermi-GBM-...")
    kind: str = Field(description="GW, GRB, neutrino, supernova, X-ray, other")
    source: str
    time: dt.datetime = Field(sa_type=UTCDateTime)
    is_mock: bool = False
    retracted: bool = False
    latest_notice_type: str | None = None
    latest_notice_id: int | None = Field(
        default=None, description="the newest notice applied (by its own order, not arrival)")
    last_error: str | None = Field(default=None, description="the last stage failure")
    properties: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Localization(SQLModel, table=True):
    """A localization from one notice, with the numbers derived from it.

    The sky map itself lives in the content-addressed store, named by its sha256.
    """

    __tablename__ = "localization"

    id: int | None = Field(default=None, primary_key=True)
    event_pk: int = Field(foreign_key="event.id", index=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    state: str = Field(description="stored, circle, ellipse, polygon, url-pending, unavailable")
    skymap_sha256: str | None = Field(default=None, max_length=64,
                                      description="multi-order map in the store")
    url: str | None = None
    ra: float | None = Field(default=None, description="most probable RA, deg")
    dec: float | None = Field(default=None, description="most probable Dec, deg")
    error_radius: float | None = Field(default=None, description="circular error, deg")
    area_50: float | None = Field(default=None, description="50% credible area, deg2")
    area_90: float | None = Field(default=None, description="90% credible area, deg2")
    distance_mean: float | None = Field(default=None, description="Mpc")
    distance_std: float | None = Field(default=None, description="Mpc")
    warning: str | None = Field(default=None,
                                description="what was repaired in the map (renormalised...)")
    created: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
