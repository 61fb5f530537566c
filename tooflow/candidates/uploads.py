"""Photometry uploads from other facilities (DECam, KPED, GROWTH-India, Gattini): CSV or JSON.

The format is documented in docs/candidates.md ("Photometry uploads"). One row
per measurement::

    name,facility,instrument,ra,dec,mjd,filter,mag,magerr,limiting_mag
    ZTF19abvizsw,KPED,SEDMv2,38.51412,29.70114,58725.3152,r,19.41,0.08,21.2
    ZTF19abvizsw,KPED,SEDMv2,,,58726.2811,g,,,20.9

A row with ``mag`` is a detection (``magerr`` required); a row without ``mag``
is an upper limit (``limiting_mag`` required). Time is one of ``mjd``, ``jd``
or ``time`` (ISO 8601, UTC). Magnitudes are AB. ``ra``/``dec`` (degrees) are
needed only for a candidate tooflow does not know yet. JSON is the same rows as
a list of objects, or an object whose keys (``name``, ``facility``, ...) are
defaults for the rows of its ``photometry`` list. Every problem is a
:class:`~tooflow.candidates.errors.CandidateRejected` naming the row and column.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from .errors import CandidateRejected
from .photometry import PhotometryPoint, datetime_to_jd

__all__ = ["COLUMNS", "FACILITIES", "MAX_ROWS", "UploadRow", "parse_upload"]

#: Facilities whose photometry can be uploaded (canonical spelling; matched
#: case-insensitively, ``-``/``_``/space alike).
FACILITIES = ("DECam", "KPED", "GROWTH-India", "Gattini", "ZTF")

#: The columns of an upload; the others are refused (a typo would lose data).
COLUMNS = ("name", "facility", "instrument", "ra", "dec", "mjd", "jd", "time", "filter", "mag",
           "magerr", "limiting_mag")

#: More rows than this in one upload is a rejection.
MAX_ROWS = 100_000

#: 1990-01-01: no earlier measurement belongs to a follow-up campaign.
_EARLIEST_JD = 2447892.5
_MJD_OFFSET = 2400000.5
_FILTER = re.compile(r"^[A-Za-z0-9_.:'+-]{1,16}$")  # sncosmo names: ps1::g
_NAME = re.compile(r"^[A-Za-z0-9_.+ -]{1,64}$")


@dataclass(frozen=True)
class UploadRow:
    """One measurement of an upload and the candidate it is of."""

    name: str
    ra: float | None
    dec: float | None
    point: PhotometryPoint


def parse_upload(payload: bytes, fmt: str, *, now: dt.datetime | None = None) -> list[UploadRow]:
    """Parse a photometry upload.

    Parameters
    ----------
    payload : bytes
        UTF-8 CSV (with a header line) or JSON.
    fmt : str
        ``photometry-csv`` or ``photometry-json``.
    now : datetime, optional
        The present: no measurement may be more than a day past it.

    Returns
    -------
    list of UploadRow

    Raises
    ------
    CandidateRejected
        Naming the row and the column of the first problem.
    """
    if b"\x00" in payload:
        raise CandidateRejected("photometry upload is binary (NUL bytes), not CSV or JSON text")
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CandidateRejected(f"photometry upload is not UTF-8 text: {exc}") from exc
    if fmt == "photometry-json":
        records = _json_records(text)
    elif fmt == "photometry-csv":
        records = _csv_records(text)
    else:
        raise CandidateRejected(f"unknown photometry upload format {fmt!r}")
    if not records:
        raise CandidateRejected("photometry upload holds no measurement")
    if len(records) > MAX_ROWS:
        raise CandidateRejected(f"photometry upload holds {len(records)} rows "
                                f"(at most {MAX_ROWS})")
    latest = datetime_to_jd((now or dt.datetime.now(dt.UTC)) + dt.timedelta(days=1))
    return [_row(record, number, latest) for number, record in enumerate(records, 1)]


def _csv_records(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise CandidateRejected("photometry CSV has no header line")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise CandidateRejected(f"photometry CSV: unknown columns {unknown} "
                                f"(known: {', '.join(COLUMNS)})")
    reader.fieldnames = header
    try:
        rows = []
        for row in reader:
            if None in row:
                raise CandidateRejected(f"photometry CSV line {reader.line_num}: more values "
                                        f"than columns")
            rows.append({k: v.strip() if isinstance(v, str) else v for k, v in row.items()})
            if len(rows) > MAX_ROWS:
                break
        return rows
    except csv.Error as exc:
        raise CandidateRejected(f"photometry CSV line {reader.line_num}: {exc}") from exc


def _json_records(text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise CandidateRejected(f"photometry JSON does not parse: {exc}") from exc
    if isinstance(data, list):
        records, defaults = data, {}
    elif isinstance(data, dict) and isinstance(data.get("photometry"), list):
        records = data["photometry"]
        defaults = {k: v for k, v in data.items() if k != "photometry"}
    else:
        raise CandidateRejected("photometry JSON must be a list of measurements or an object "
                                "with a 'photometry' list")
    unknown = sorted(set(defaults) - set(COLUMNS))
    if unknown:
        raise CandidateRejected(f"photometry JSON: unknown keys {unknown}")
    out = []
    for number, record in enumerate(records, 1):
        if not isinstance(record, dict):
            raise CandidateRejected(f"photometry JSON row {number} is not an object")
        unknown = sorted(set(record) - set(COLUMNS))
        if unknown:
            raise CandidateRejected(f"photometry JSON row {number}: unknown keys {unknown}")
        out.append({**defaults, **record})
    return out


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def _row(record: dict[str, Any], number: int, latest_jd: float) -> UploadRow:
    where = f"row {number}"
    name = _text(record.get("name"))
    if not name or not _NAME.match(name):
        raise CandidateRejected(f"{where}: name {name!r} missing or not a candidate name")
    facility = _facility(_text(record.get("facility")), where)
    instrument = _text(record.get("instrument")) or None
    ra = _number(record, "ra", where)
    dec = _number(record, "dec", where)
    if ra is not None and not 0.0 <= ra < 360.0:
        raise CandidateRejected(f"{where}: ra {ra} outside [0, 360) deg")
    if dec is not None and not -90.0 <= dec <= 90.0:
        raise CandidateRejected(f"{where}: dec {dec} outside [-90, 90] deg")
    if (ra is None) != (dec is None):
        raise CandidateRejected(f"{where}: ra and dec go together")
    jd = _time(record, where)
    if not _EARLIEST_JD <= jd <= latest_jd:
        raise CandidateRejected(f"{where}: time (JD {jd:.5f}) before 1990 or in the future")
    band = _text(record.get("filter"))
    if not band or not _FILTER.match(band):
        raise CandidateRejected(f"{where}: filter {band!r} missing or not a filter name")
    mag = _number(record, "mag", where)
    magerr = _number(record, "magerr", where)
    limit = _number(record, "limiting_mag", where)
    for value, column in ((mag, "mag"), (limit, "limiting_mag")):
        if value is not None and not 0.0 < value < 40.0:
            raise CandidateRejected(f"{where}: {column} {value} is not an AB magnitude")
    if mag is not None and (magerr is None or not 0.0 <= magerr < 5.0):
        raise CandidateRejected(f"{where}: a detection (mag) needs magerr in [0, 5) mag")
    if mag is None and limit is None:
        raise CandidateRejected(f"{where}: neither mag (detection) nor limiting_mag "
                                f"(upper limit)")
    key = f"{facility}:{instrument or ''}:{jd:.6f}:{band}"
    point = PhotometryPoint(key=key, facility=facility, instrument=instrument, jd=jd,
                            filter=band, mag=mag, magerr=magerr if mag is not None else None,
                            limiting_mag=limit, ra=ra, dec=dec)
    return UploadRow(name=name, ra=ra, dec=dec, point=point)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _facility(value: str, where: str) -> str:
    def norm(s: str) -> str:
        return re.sub(r"[-_ ]", "", s).lower()

    for known in FACILITIES:
        if norm(known) == norm(value):
            return known
    raise CandidateRejected(f"{where}: facility {value!r} unknown "
                            f"(known: {', '.join(FACILITIES)})")


def _number(record: dict[str, Any], column: str, where: str) -> float | None:
    value = record.get(column)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise CandidateRejected(f"{where}: {column} is not a number: {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CandidateRejected(f"{where}: {column} is not a number: {value!r}") from None
    if not math.isfinite(number):
        raise CandidateRejected(f"{where}: {column} is not finite: {value!r}")
    return number


def _time(record: dict[str, Any], where: str) -> float:
    given = [c for c in ("mjd", "jd", "time") if record.get(c) not in (None, "")]
    if len(given) != 1:
        raise CandidateRejected(f"{where}: exactly one of mjd, jd, time is needed "
                                f"(got {given or 'none'})")
    column = given[0]
    if column == "time":
        text = _text(record.get("time"))
        try:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise CandidateRejected(f"{where}: time {text!r} is not ISO 8601") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return datetime_to_jd(when)
    value = _number(record, column, where)
    assert value is not None
    return value + _MJD_OFFSET if column == "mjd" else value
