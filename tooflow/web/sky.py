"""What the sky view draws: the credible regions as MOCs, the planned and observed fields.

The multi-order map of the event (the one its plans used) becomes two MOCs, the
50 % and 90 % credible regions, in the JSON form Aladin Lite reads
(``{"order": [nested pixel, ...]}``); each planned or executed exposure
becomes its telescope's footprint outline at its pointing.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from sqlmodel import Session, select

from ..config import Settings
from ..models import ExecutedObservationRow, Plan, PlannedObservationRow

__all__ = ["credible_mocs", "sky_layers", "MAX_FIELDS"]

#: Fields drawn per layer at most (a browser draws thousands of polygons slowly).
MAX_FIELDS = 1500


def credible_mocs(moc, levels: tuple[float, ...] = (0.5, 0.9)) -> dict[str, dict[str, list]]:
    """The credible regions of a multi-order map as MOC JSON, one per level.

    Parameters
    ----------
    moc : astropy.table.Table
        Multi-order map: ``UNIQ`` and ``PROBDENSITY`` (per steradian).
    levels : tuple of float
        Credible levels.

    Returns
    -------
    dict
        ``{"50": {"order": [ipix, ...]}, "90": {...}}``: the smallest set of
        the map's own cells holding each probability.
    """
    uniq = np.asarray(moc["UNIQ"], dtype=np.int64)
    dens = np.asarray(moc["PROBDENSITY"], dtype=float)
    order = (np.log2(uniq // 4) // 2).astype(np.int64)
    ipix = uniq - 4 * (4 ** order)
    prob = dens * (4 * np.pi / (12 * 4.0 ** order))
    rank = np.argsort(dens)[::-1]
    cum = np.cumsum(prob[rank]) / prob.sum()
    out = {}
    for level in levels:
        n = int(np.searchsorted(cum, level)) + 1
        chosen = rank[:n]
        cells: dict[str, list[int]] = defaultdict(list)
        for o, p in zip(order[chosen].tolist(), ipix[chosen].tolist(), strict=True):
            cells[str(o)].append(p)
        out[f"{round(level * 100)}"] = {k: sorted(v) for k, v in sorted(cells.items())}
    return out


def _outlines(rows, kind: str) -> list[dict[str, Any]]:
    from ..planning.plot import footprint_outline
    from ..telescopes import load_telescope

    footprints: dict[str, Any] = {}
    out = []
    for r in rows[:MAX_FIELDS]:
        if r.telescope not in footprints:
            try:
                footprints[r.telescope] = load_telescope(r.telescope).footprint
            except Exception:  # noqa: BLE001 - an unknown telescope is drawn as a point
                footprints[r.telescope] = None
        fp = footprints[r.telescope]
        poly = (footprint_outline(fp, r.ra, r.dec, n=2).round(4).tolist()
                if fp is not None else [])
        out.append({"telescope": r.telescope, "ra": r.ra, "dec": r.dec, "kind": kind,
                    "filter": r.filter, "field": r.field_id if r.field_id is not None
                    else r.target, "polygon": poly})
    return out


def sky_layers(session: Session, event_pk: int, settings: Settings) -> dict[str, Any]:
    """Everything the sky view of an event draws, as JSON-ready data.

    Returns
    -------
    dict
        ``mocs`` (credible-region MOCs, empty without a map), ``center``
        ([ra, dec] of the most probable cell) and ``fov`` (deg), ``planned``
        (fields of the plans not superseded) and ``executed`` (exposures
        taken), each with its footprint outline; ``error`` when the map
        could not be read.
    """
    from ..records.event import load_event_moc

    out: dict[str, Any] = {"mocs": {}, "center": None, "fov": 60.0, "planned": [],
                           "executed": [], "error": None}
    latest = session.exec(select(Plan).where(Plan.event_pk == event_pk)
                          .order_by(Plan.id.desc())).first()
    try:
        moc, loc = load_event_moc(session, event_pk, settings,
                                  latest.notice_id if latest else None)
    except Exception as exc:  # noqa: BLE001 - the fields are still worth drawing
        moc, loc, out["error"] = None, None, f"sky map not readable: {exc}"
    if moc is not None:
        out["mocs"] = credible_mocs(moc)
        best = int(np.argmax(np.asarray(moc["PROBDENSITY"])))
        if loc is not None and loc.ra is not None:
            out["center"] = [loc.ra, loc.dec]
        else:
            import astropy_healpix as ah

            level, ipix = ah.uniq_to_level_ipix(int(moc["UNIQ"][best]))
            lon, lat = ah.healpix_to_lonlat(ipix, 2 ** level, order="nested")
            out["center"] = [float(lon.deg), float(lat.deg)]
        area90 = (loc.area_90 if loc is not None and loc.area_90 else None) or 1000.0
        out["fov"] = float(min(180.0, max(25.0, 5.0 * np.sqrt(area90))))
    elif loc is not None and loc.ra is not None:
        out["center"] = [loc.ra, loc.dec]
    plans = session.exec(select(Plan.id).where(Plan.event_pk == event_pk,
                                               Plan.status.not_in(["superseded", "cancelled",
                                                                   "rejected"]))).all()
    if plans:
        planned = session.exec(select(PlannedObservationRow)
                               .where(PlannedObservationRow.plan_id.in_(plans))
                               .order_by(PlannedObservationRow.start_time)).all()
        seen, unique = set(), []
        for p in planned:  # one outline per pointing, whatever the filters and visits
            key = (p.telescope, round(p.ra, 4), round(p.dec, 4))
            if key not in seen:
                seen.add(key)
                unique.append(p)
        out["planned"] = _outlines(unique, "planned")
    executed = session.exec(select(ExecutedObservationRow)
                            .where(ExecutedObservationRow.event_pk == event_pk)
                            .order_by(ExecutedObservationRow.obs_time)).all()
    out["executed"] = _outlines(list(executed), "executed")
    if out["center"] is None and (out["planned"] or out["executed"]):
        first = (out["planned"] or out["executed"])[0]
        out["center"] = [first["ra"], first["dec"]]
    return out


def coverage_over_time(session: Session, event_pk: int, settings: Settings,
                       steps: int = 12) -> list[dict[str, Any]]:
    """The probability the executed exposures had covered, at up to ``steps`` times.

    Each point counts every exposure taken up to then (the union on the sky,
    as the monitor computes it), on the map the event page's total uses;
    each point is kept (:func:`tooflow.records.coverage.coverage_of`), so
    only a new exposure or a new map costs a computation. Empty without
    exposures or without a map.
    """
    from ..records.coverage import coverage_of, event_map_for_coverage

    executed = session.exec(select(ExecutedObservationRow)
                            .where(ExecutedObservationRow.event_pk == event_pk)
                            .order_by(ExecutedObservationRow.obs_time)).all()
    if not executed:
        return []
    sha256 = event_map_for_coverage(session, event_pk)
    if sha256 is None:
        return []
    n = len(executed)
    cuts = sorted({max(1, round(n * (i + 1) / steps)) for i in range(min(steps, n))})
    out = []
    for k in cuts:
        cov, area = coverage_of(sha256, [(e.telescope, e.ra, e.dec) for e in executed[:k]],
                                settings)
        out.append({"time": executed[k - 1].obs_time, "exposures": k,
                    "probability": cov.get("total", 0.0), "area": area.get("total", 0.0)})
    return out
