"""One photometric measurement of a candidate: a detection or an upper limit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["JD_UNIX_EPOCH", "PhotometryPoint", "datetime_to_jd", "jd_to_datetime"]

#: Julian date of 1970-01-01T00:00:00 UTC.
JD_UNIX_EPOCH = 2440587.5


def jd_to_datetime(jd: float) -> dt.datetime:
    """A Julian date (UTC) as an aware UTC datetime (to the microsecond).

    Examples
    --------
    >>> jd_to_datetime(2459415.8825347).isoformat(timespec="seconds")
    '2021-07-20T09:10:50+00:00'
    """
    return dt.datetime.fromtimestamp((jd - JD_UNIX_EPOCH) * 86400.0, tz=dt.UTC)


def datetime_to_jd(time: dt.datetime) -> float:
    """An aware datetime as a Julian date (UTC)."""
    return time.timestamp() / 86400.0 + JD_UNIX_EPOCH


@dataclass(frozen=True)
class PhotometryPoint:
    """A measurement: ``mag`` set for a detection, only ``limiting_mag`` for an upper limit.

    Magnitudes are AB; ``limiting_mag`` is the 5-sigma limit of the exposure.
    ``key`` identifies the measurement across packets (ZTF repeats a candidate's
    history in every new alert) so it is stored once.
    """

    key: str
    facility: str
    jd: float
    filter: str
    mag: float | None = None
    magerr: float | None = None
    limiting_mag: float | None = None
    instrument: str | None = None
    isdiffpos: bool | None = None
    candid: int | None = None
    ra: float | None = None
    dec: float | None = None

    @property
    def is_upper_limit(self) -> bool:
        """True for a non-detection (no magnitude, only a limit)."""
        return self.mag is None

    @property
    def time(self) -> dt.datetime:
        """The exposure start as an aware UTC datetime."""
        return jd_to_datetime(self.jd)
