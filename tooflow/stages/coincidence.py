"""Multi-messenger coincidences: a GW superevent with a GRB or a neutrino, RAVEN-style.

Two events coincide when the external one falls in a time window around the GW
(default −1 s/+5 s for GRBs, ±500 s for neutrinos, as LVK's RAVEN searches) and
their localizations overlap (their 90% credible regions share sky). For each
coincidence :func:`find_coincidences` records a
:class:`~tooflow.models.MultimessengerCoincidence` with

* the **joint sky map**: the product of the two multi-order maps, normalised
  (:func:`joint_skymap`), on the union of both pixelisations, keeping the GW
  distance layers — RAVEN's "combined sky map"; it goes to the sky-map store;
* the **overlap integral** ``I = 4π ∫ ρ_gw ρ_ext dΩ`` (RAVEN's
  ``skymap_overlap_integral``): 1 when either map is uniform, larger when the
  maps agree, smaller when they disagree.

:func:`coincidence_fields` gives the gate ``coincident_with`` and ``overlap``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass

import numpy as np
from astropy.table import Table
from sqlmodel import Session, select

from ..models import Event, Localization, MultimessengerCoincidence
from ..models._types import utcnow
from ..records.event import coincidence_rows

__all__ = [
    "DEFAULT_WINDOWS",
    "JointMap",
    "coincidence_fields",
    "find_coincidences",
    "joint_skymap",
]

log = logging.getLogger(__name__)

#: Time windows, s, of the external event relative to the GW: (start, end).
DEFAULT_WINDOWS: dict[str, tuple[float, float]] = {"GRB": (-1.0, 5.0),
                                                    "neutrino": (-500.0, 500.0)}
_MAX_ORDER = 29
_DIST = ("DISTMU", "DISTSIGMA", "DISTNORM")


@dataclass(frozen=True)
class JointMap:
    """The product of two sky maps.

    Attributes
    ----------
    moc : astropy.table.Table
        ``UNIQ``, ``PROBDENSITY`` (sr⁻¹, normalised), and the first map's
        distance layers if it has them.
    overlap : float
        ``4π ∫ ρ_a ρ_b dΩ`` (dimensionless).
    regions_intersect : bool
        The 90% credible regions of the two maps share sky.
    """

    moc: Table
    overlap: float
    regions_intersect: bool


def _ranges(uniq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[start, end)`` of NUNIQ pixels as nested indices at order 29."""
    from ligo.skymap.moc import uniq2nest

    order, ipix = uniq2nest(uniq)
    order = order.astype(np.int64)
    shift = 2 * (_MAX_ORDER - order)
    return ipix << shift, (ipix + 1) << shift


def _in_credible(dens: np.ndarray, area: np.ndarray, level: float) -> np.ndarray:
    order = np.argsort(-dens, kind="stable")
    prob = dens[order] * area[order]
    before = np.cumsum(prob) - prob
    inside = np.zeros(len(dens), dtype=bool)
    inside[order] = before < level * prob.sum()
    return inside


def joint_skymap(moc_a: Table, moc_b: Table, *, level: float = 0.9) -> JointMap:
    """Multiply two multi-order maps on their common refinement and normalise.

    Parameters
    ----------
    moc_a, moc_b : astropy.table.Table
        Multi-order maps (``UNIQ``, ``PROBDENSITY`` in sr⁻¹); distance layers of
        ``moc_a`` (the GW map) are kept.
    level : float
        Credible level of the regions compared for ``regions_intersect``.

    Returns
    -------
    JointMap

    Raises
    ------
    ValueError
        The maps do not overlap at all (the product is zero everywhere).
    """
    start_a, end_a = _ranges(np.asarray(moc_a["UNIQ"], dtype=np.int64))
    start_b, end_b = _ranges(np.asarray(moc_b["UNIQ"], dtype=np.int64))
    sa, sb = np.argsort(start_a), np.argsort(start_b)
    start_a, end_a, start_b, end_b = start_a[sa], end_a[sa], start_b[sb], end_b[sb]
    dens_a = np.asarray(moc_a["PROBDENSITY"], dtype=np.float64)[sa]
    dens_b = np.asarray(moc_b["PROBDENSITY"], dtype=np.float64)[sb]

    starts = np.union1d(start_a, start_b)
    ia = np.searchsorted(start_a, starts, side="right") - 1
    ib = np.searchsorted(start_b, starts, side="right") - 1
    covered = (ia >= 0) & (ib >= 0)
    covered &= (starts < end_a[np.maximum(ia, 0)]) & (starts < end_b[np.maximum(ib, 0)])
    starts, ia, ib = starts[covered], ia[covered], ib[covered]
    ends = np.minimum(end_a[ia], end_b[ib])
    length = ends - starts
    # each piece is one whole pixel of the finer map: its length is 4**(29 - order)
    order = _MAX_ORDER - np.round(np.log2(length.astype(np.float64))).astype(np.int64) // 2
    uniq = (np.int64(4) << (2 * order)) + (starts >> (2 * (_MAX_ORDER - order)))
    area = 4 * np.pi / (12 * 4.0**order)

    rho_a, rho_b = dens_a[ia], dens_b[ib]
    product = rho_a * rho_b
    norm = float(np.sum(product * area))
    if not norm > 0:
        raise ValueError("the two sky maps do not overlap anywhere (zero product)")
    norm_a = float(np.sum(rho_a * area))
    norm_b = float(np.sum(rho_b * area))
    overlap = 4 * np.pi * norm / (norm_a * norm_b)
    both = _in_credible(rho_a, area, level) & _in_credible(rho_b, area, level)

    columns = {"UNIQ": uniq, "PROBDENSITY": product / norm}
    for name in _DIST:
        if name in moc_a.colnames:
            columns[name] = np.asarray(moc_a[name], dtype=np.float64)[sa][ia]
    table = Table(columns)
    table.meta = {"MOC": True, "HISTORY": ["tooflow joint sky map: normalised product of two "
                                           "localizations"]}
    table.sort("UNIQ")
    return JointMap(table, float(overlap), bool(both.any()))


def _moc(store, loc: Localization | None) -> Table | None:
    from ..skymap import read_skymap_bytes

    if loc is None or not loc.skymap_sha256:
        return None
    path = store.path(loc.skymap_sha256)
    return read_skymap_bytes(path.read_bytes()) if path.exists() else None


def _partners(session: Session, event: Event, windows: dict[str, tuple[float, float]]):
    """(gw, external, window) pairs for ``event`` from the events in the database."""
    t = event.time
    if event.kind == "GW":
        for kind, (lo, hi) in windows.items():
            rows = session.exec(select(Event).where(
                Event.kind == kind, Event.retracted == False,  # noqa: E712
                Event.time >= t + dt.timedelta(seconds=lo),
                Event.time <= t + dt.timedelta(seconds=hi)))
            for ext in rows:
                yield event, ext, (lo, hi)
    elif event.kind in windows:
        lo, hi = windows[event.kind]
        rows = session.exec(select(Event).where(
            Event.kind == "GW", Event.retracted == False,  # noqa: E712
            Event.time >= t - dt.timedelta(seconds=hi),
            Event.time <= t - dt.timedelta(seconds=lo)))
        for gw in rows:
            yield gw, event, (lo, hi)


def find_coincidences(session: Session, event_pk: int, *, store=None,
                      windows: dict[str, tuple[float, float]] | None = None
                      ) -> list[MultimessengerCoincidence]:
    """Find, compute and record the multi-messenger coincidences of one event.

    Call it when an event gets a new localization (GW, GRB or neutrino). Mock and
    real events are never paired with each other.

    Parameters
    ----------
    session : Session
        Open session; the rows are added and flushed, the caller commits.
    event_pk : int
        ``Event.id`` of the new or updated event.
    store : SkymapStore, optional
        Where the maps are (default: the configured sky-map directory).
    windows : dict, optional
        ``kind -> (start, end)`` in s, external time minus GW time
        (default :data:`DEFAULT_WINDOWS`).

    Returns
    -------
    list of MultimessengerCoincidence
        The coincidences of the event now (new or updated), spatially overlapping.
    """
    from ..records.event import latest_localization
    from ..skymap import SkymapStore, moc_to_bytes, summarize

    if store is None:
        from ..config import load_settings

        store = SkymapStore(load_settings().resolved_skymap_dir)
    windows = windows or DEFAULT_WINDOWS
    event = session.get(Event, event_pk)
    if event is None:
        raise KeyError(f"no event #{event_pk}")
    found = []
    for gw, ext, (lo, hi) in list(_partners(session, event, windows)):
        if gw.is_mock != ext.is_mock:
            continue
        moc_gw = _moc(store, latest_localization(session, gw.id))
        moc_ext = _moc(store, latest_localization(session, ext.id))
        if moc_gw is None or moc_ext is None:
            log.info("%s / %s: in the time window but a sky map is missing", gw.event_id,
                     ext.event_id)
            continue
        try:
            joint = joint_skymap(moc_gw, moc_ext)
        except ValueError:
            continue
        if not joint.regions_intersect:
            log.info("%s / %s: in the time window, 90%% regions apart (overlap %.3g)",
                     gw.event_id, ext.event_id, joint.overlap)
            continue
        sha, _ = store.put(moc_to_bytes(joint.moc))
        row = session.exec(select(MultimessengerCoincidence).where(
            MultimessengerCoincidence.gw_event_pk == gw.id,
            MultimessengerCoincidence.external_event_pk == ext.id)).first()
        if row is None:
            row = MultimessengerCoincidence(gw_event_pk=gw.id, external_event_pk=ext.id,
                                            external_kind=ext.kind, time_offset=0.0,
                                            window_start=lo, window_end=hi)
        row.time_offset = (ext.time - gw.time).total_seconds()
        row.window_start, row.window_end = lo, hi
        row.overlap = joint.overlap
        row.joint_skymap_sha256 = sha
        row.joint_area_90 = summarize(joint.moc).area_90
        row.updated = utcnow()
        session.add(row)
        session.flush()
        log.info("%s / %s: coincident, dt = %+.2f s, overlap %.3g", gw.event_id, ext.event_id,
                 row.time_offset, row.overlap)
        found.append(row)
    return found


def coincidence_fields(session: Session, event_pk: int) -> dict:
    """Gate fields of an event's multi-messenger coincidences.

    Returns
    -------
    dict
        ``coincident_with``: event ids of the partners (empty list if none);
        ``coincident_kinds``: their kinds (``GRB``, ``neutrino``, ``GW``);
        ``overlap``: the largest overlap integral (0.0 if none);
        ``coincidence_time_offset``: external minus GW time of that best pair, s;
        ``joint_area_90``: 90% area of its joint map, deg² (absent if none).
    """
    rows = coincidence_rows(session, event_pk)
    fields: dict = {"coincident_with": [], "coincident_kinds": [], "overlap": 0.0}
    best = None
    for row in rows:
        other = row.external_event_pk if row.gw_event_pk == event_pk else row.gw_event_pk
        partner = session.get(Event, other)
        if partner is None or partner.retracted:
            continue
        fields["coincident_with"].append(partner.event_id)
        fields["coincident_kinds"].append(partner.kind)
        if row.overlap is not None and (best is None or row.overlap > best.overlap):
            best = row
    if best is not None:
        fields["overlap"] = best.overlap
        fields["coincidence_time_offset"] = best.time_offset
        if best.joint_area_90 is not None and math.isfinite(best.joint_area_90):
            fields["joint_area_90"] = best.joint_area_90
    return fields

