"""Executed observations read from a TAP service with pyvo.

In production ZTF's executed exposures come from IRSA's science-exposure
metadata table (``ztf.ztf_current_meta_sci``, one row per CCD quadrant); the
simulator publishes the same kind of table. :class:`TapColumns` says which
columns hold what, :data:`ZTF_COLUMNS` and :data:`SIMULATOR_COLUMNS` are the
two mappings, and :func:`executed_from_tap` runs the query and maps the rows.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tooflow.facilities.http import FacilityError, Transaction
from tooflow.guards.deadline import DeadlineExceeded, call_with_deadline
from tooflow.observations import ExecutedObservation

__all__ = ["TapColumns", "ZTF_COLUMNS", "SIMULATOR_COLUMNS", "executed_from_tap",
           "ztf_executed_query"]


@dataclass(frozen=True)
class TapColumns:
    """Where each :class:`ExecutedObservation` attribute is in a TAP result.

    Attributes
    ----------
    obs_time : str
        Column of the exposure start.
    time_format : str
        ``jd``, ``mjd`` or ``isot`` (ISO text, UTC).
    filter : str
        Filter column; ``filter_codes`` maps its values to names (ZTF ``fid``).
    exposure_id : str
        Rows sharing this value are one exposure (ZTF: one row per quadrant);
        their limiting magnitudes are combined with the median. Empty: one
        row per exposure.
    keep : callable
        Row filter (ZTF: drop engineering rows with ``ipac_gid < 1``).
    """

    obs_time: str
    time_format: str
    filter: str
    exposure_time: str
    ra: str
    dec: str
    limiting_magnitude: str
    field_id: str = ""
    request_key: str = ""
    target: str = ""
    telescope: str = ""
    exposure_id: str = ""
    filter_codes: dict[Any, str] = field(default_factory=dict)
    keep: Callable[[dict[str, Any]], bool] | None = None


def _ztf_keep(row: dict[str, Any]) -> bool:
    gid = row.get("ipac_gid")
    return gid is None or gid >= 1


#: IRSA ``ztf.ztf_current_meta_sci`` (and the simulator's copy of it).
ZTF_COLUMNS = TapColumns(obs_time="obsjd", time_format="jd", filter="fid",
                         exposure_time="exptime", ra="ra", dec="dec",
                         limiting_magnitude="maglimit", field_id="field", exposure_id="expid",
                         filter_codes={1: "g", 2: "r", 3: "i"}, keep=_ztf_keep)

#: The simulator's ``executed_observations`` table.
SIMULATOR_COLUMNS = TapColumns(obs_time="obs_time", time_format="isot", filter="filter",
                               exposure_time="exposure_time", ra="ra", dec="dec",
                               limiting_magnitude="limiting_magnitude", field_id="field_id",
                               request_key="request_key", target="target",
                               telescope="telescope")


def ztf_executed_query(since: dt.datetime, until: dt.datetime | None = None) -> str:
    """The ADQL for ZTF exposures taken after ``since`` (before ``until``)."""
    from astropy.time import Time

    where = f"obsjd > {Time(since).jd:.8f}"
    if until is not None:
        where += f" AND obsjd < {Time(until).jd:.8f}"
    return ("SELECT field, rcid, fid, expid, obsjd, exptime, maglimit, ipac_gid, ra, dec "
            f"FROM ztf.ztf_current_meta_sci WHERE {where}")


def _time(value: Any, fmt: str) -> dt.datetime:
    from astropy.time import Time

    if fmt == "isot":
        t = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return t if t.tzinfo else t.replace(tzinfo=dt.UTC)
    if fmt not in ("jd", "mjd"):
        raise ValueError(f"unknown time format {fmt!r}")
    return Time(float(value), format=fmt, scale="utc").to_datetime(timezone=dt.UTC)


def _plain(value: Any) -> Any:
    """numpy scalar / masked → Python value (masked → None)."""
    if value is None or getattr(value, "mask", False) is True:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _session(timeout: float, transactions: list[Transaction] | None,
             auth: tuple[str, str] | None):
    import requests

    class _Session(requests.Session):
        def request(self, method, url, *args, **kwargs):  # noqa: ANN001, ANN202
            kwargs.setdefault("timeout", timeout)
            started = dt.datetime.now(dt.UTC)
            t0 = time.perf_counter()
            try:
                response = super().request(method, url, *args, **kwargs)
            except requests.RequestException as exc:
                if transactions is not None:
                    transactions.append(Transaction("tap", method, url, None,
                                                    time.perf_counter() - t0, started,
                                                    error=f"{exc.__class__.__name__}: {exc}"))
                raise
            if transactions is not None:
                transactions.append(Transaction("tap", method, response.url,
                                                response.status_code,
                                                time.perf_counter() - t0, started,
                                                response_bytes=int(response.headers.get(
                                                    "Content-Length", 0))))
            return response

    session = _Session()
    session.headers["User-Agent"] = "tooflow"
    if auth:
        session.auth = auth
    return session


def executed_from_tap(url: str, query: str, *, columns: TapColumns = SIMULATOR_COLUMNS,
                      telescope: str = "", timeout: float = 30.0,
                      auth: tuple[str, str] | None = None,
                      transactions: list[Transaction] | None = None,
                      deadline: float = 120.0) -> list[ExecutedObservation]:
    """Run a synchronous TAP query and map its rows to executed observations.

    Parameters
    ----------
    url : str
        TAP service base URL (``.../tap``; the query goes to ``{url}/sync``).
    query : str
        ADQL selecting at least the columns named in ``columns``.
    columns : TapColumns
        Column mapping (:data:`ZTF_COLUMNS`, :data:`SIMULATOR_COLUMNS`...).
    telescope : str
        Telescope name when the table has no telescope column.
    timeout : float
        Seconds per HTTP request.
    auth : (str, str), optional
        HTTP basic credentials (IRSA account), never logged.
    transactions : list, optional
        Receives a :class:`~tooflow.facilities.http.Transaction` per HTTP exchange.
    deadline : float
        Total seconds for the query and its answer.

    Returns
    -------
    list of ExecutedObservation
        One per exposure, sorted by time.

    Raises
    ------
    FacilityError
        When the service cannot be reached, rejects the query, does not answer
        within ``deadline``, or the result lacks a mapped column.
    """
    import pyvo
    from pyvo.dal.exceptions import DALAccessError

    service = pyvo.dal.TAPService(url, session=_session(timeout, transactions, auth))
    try:
        table = call_with_deadline(lambda: service.run_sync(query).to_table(), deadline,
                                   f"TAP query to {url}")
    except DALAccessError as exc:  # unreachable, refused query, bad VOTable
        raise FacilityError(f"TAP query to {url} failed: {exc}") from exc
    except DeadlineExceeded as exc:
        if transactions is not None:
            transactions.append(Transaction("tap", "GET", url, None, deadline,
                                            dt.datetime.now(dt.UTC), error=str(exc)))
        raise FacilityError(str(exc)) from exc
    needed = [c for c in (columns.obs_time, columns.filter, columns.exposure_time, columns.ra,
                          columns.dec, columns.limiting_magnitude) if c]
    missing = [c for c in needed if c not in table.colnames]
    if missing:
        raise FacilityError(f"TAP result from {url} lacks column(s) {', '.join(missing)}")
    rows = [{name: _plain(row[name]) for name in table.colnames} for row in table]
    if columns.keep is not None:
        rows = [r for r in rows if columns.keep(r)]
    groups: dict[Any, list[dict[str, Any]]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(r[columns.exposure_id] if columns.exposure_id else i, []).append(r)
    out = []
    for group in groups.values():
        first = group[0]
        lims = [r[columns.limiting_magnitude] for r in group
                if r[columns.limiting_magnitude] is not None]
        filt = first[columns.filter]
        filt = columns.filter_codes.get(filt, filt) if columns.filter_codes else filt

        def opt(col: str, row: dict[str, Any] = first) -> Any:
            return row.get(col) if col else None

        field_id = opt(columns.field_id)
        out.append(ExecutedObservation(
            telescope=opt(columns.telescope) or telescope,
            ra=float(statistics.median(r[columns.ra] for r in group)),
            dec=float(statistics.median(r[columns.dec] for r in group)),
            filter=str(filt), exposure_time=float(first[columns.exposure_time]),
            obs_time=_time(first[columns.obs_time], columns.time_format),
            limiting_magnitude=float(statistics.median(lims)) if lims else None,
            field_id=None if field_id is None or field_id < 0 else int(field_id),
            request_key=opt(columns.request_key) or None,
            target=opt(columns.target) or None))
    out.sort(key=lambda e: e.obs_time)
    return out
