"""The sky an event's executed exposures cover: probability and area, per telescope.

The web pages ask for an event's coverage on every request; it is computed
once per (map, exposures) and kept (:func:`coverage_of`): the key is the
map's sha256 (the store is content-addressed, so the same key is the same
map) and the exact set of exposures, so a new exposure, or a new map to plan
on, is a new key and the next request computes it; nothing has to be
invalidated by hand. Bounded: :data:`CACHED_COVERAGES` results,
:data:`CACHED_GRIDS` rasterised maps.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

import numpy as np
from sqlmodel import Session, select

from ..config import Settings
from ..models import Plan
from .event import event_map_sha256

__all__ = ["CACHED_COVERAGES", "CACHED_GRIDS", "Pointings", "achieved_coverage",
           "coverage_of", "event_coverage", "event_map_for_coverage"]

#: (telescope, ra, dec) of executed exposures, in a canonical order (a cache key).
Pointings = tuple[tuple[str, float, float], ...]
#: Coverage results kept (one per map and set of exposures).
CACHED_COVERAGES = 256
#: Rasterised maps kept (order 9: 25 MB each).
CACHED_GRIDS = 2
GRID_ORDER = 9


def achieved_coverage(moc, pointings: list[tuple[str, float, float]],
                      order: int = GRID_ORDER, *, with_added: bool = False):
    """Probability and area covered by executed pointings, per telescope and in total.

    Each point of the sky counts once, however many exposures covered it.

    Parameters
    ----------
    moc : astropy.table.Table
        Multi-order sky map.
    pointings : list of (telescope, ra, dec)
        Executed exposures (deg).
    order : int
        HEALPix order of the working grid.
    with_added : bool
        Also return what each telescope adds to the network: the probability
        that it alone covers (the total minus the union of the others).

    Returns
    -------
    probability, area : dict
        Per telescope name and ``"total"``: probability (0–1) and area (deg²).
    added : dict
        Only with ``with_added``: per telescope name, the probability no other
        telescope of the pointings covers.
    """
    from ..planning.coverage import probability_grid

    prob, area, added = _covered_on(probability_grid(moc, order=order), pointings, order)
    return (prob, area, added) if with_added else (prob, area)


def _covered_on(grid, pointings, order: int
                ) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    from ..planning import load_telescope
    from ..planning.coverage import footprint_pixels

    pix_area = 4 * 180**2 / np.pi / (12 * 4**order)
    by_tel: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for tel, ra, dec in pointings:
        by_tel[tel].append((ra, dec))
    count = np.zeros(grid.prob.size, np.int32)
    prob, area, masks = {}, {}, {}
    for tel, radec in by_tel.items():
        ra, dec = np.array(radec).T
        _, ipix = footprint_pixels(load_telescope(tel).footprint, ra, dec, order)
        mine = np.zeros(grid.prob.size, bool)
        mine[ipix] = True
        count += mine
        masks[tel] = mine
        prob[tel], area[tel] = float(grid.prob[mine].sum()), float(mine.sum() * pix_area)
    union = count > 0
    prob["total"], area["total"] = float(grid.prob[union].sum()), float(union.sum() * pix_area)
    added = {tel: float(grid.prob[mine & (count == 1)].sum()) for tel, mine in masks.items()}
    return prob, area, added


@lru_cache(maxsize=CACHED_GRIDS)
def _grid(sha256: str, skymap_dir: str):
    from ..planning.coverage import probability_grid
    from ..skymap import SkymapStore, read_skymap_bytes

    moc = read_skymap_bytes(SkymapStore(skymap_dir).get(sha256))
    return probability_grid(moc, order=GRID_ORDER)


@lru_cache(maxsize=CACHED_COVERAGES)
def _coverage_cached(sha256: str, skymap_dir: str, pointings: Pointings
                     ) -> tuple[tuple[tuple[str, float], ...], ...]:
    return tuple(tuple(d.items())
                 for d in _covered_on(_grid(sha256, skymap_dir), pointings, GRID_ORDER))


def coverage_of(sha256: str, pointings, settings: Settings, *, with_added: bool = False):
    """:func:`achieved_coverage` on the stored map ``sha256``, computed once and kept.

    Parameters
    ----------
    sha256 : str
        The map in the sky-map store (:func:`~.event.event_map_sha256`).
    pointings : iterable of (telescope, ra, dec)
        Executed exposures; their order does not matter.
    settings : Settings
        Configuration (sky-map store).
    with_added : bool
        Also return what each telescope adds to the network.

    Returns
    -------
    probability, area[, added] : dict
        As :func:`achieved_coverage` (fresh dictionaries: the kept result is not shared).
    """
    key: Pointings = tuple(sorted((str(t), float(ra), float(dec)) for t, ra, dec in pointings))
    prob, area, added = (dict(d) for d in _coverage_cached(
        sha256, str(settings.resolved_skymap_dir), key))
    return (prob, area, added) if with_added else (prob, area)


def event_map_for_coverage(session: Session, event_pk: int) -> str | None:
    """The sha256 of the map coverage is measured on: the one the latest plan was made on."""
    latest = session.exec(select(Plan).where(Plan.event_pk == event_pk)
                          .order_by(Plan.id.desc())).first()
    sha256, _ = event_map_sha256(session, event_pk, latest.notice_id if latest else None)
    return sha256


def event_coverage(session: Session, event_pk: int, executed, settings: Settings, *,
                   with_added: bool = False):
    """Probability and area the executed exposures of an event cover.

    On the map its latest plan was made on (:func:`event_map_for_coverage`);
    kept per map and set of exposures (:func:`coverage_of`).

    Parameters
    ----------
    session : Session
        Open database session.
    event_pk : int
        The event's primary key.
    executed : iterable
        Executed observations (``telescope``, ``ra``, ``dec``).
    settings : Settings
        Configuration (sky-map store).
    with_added : bool
        Also return what each telescope adds to the network (as
        :func:`achieved_coverage`).

    Returns
    -------
    probability, area[, added] : dict
        As :func:`achieved_coverage`; all empty when the event has no map.
    """
    sha256 = event_map_for_coverage(session, event_pk)
    if sha256 is None:
        return ({}, {}, {}) if with_added else ({}, {})
    return coverage_of(sha256, [(e.telescope, e.ra, e.dec) for e in executed], settings,
                       with_added=with_added)
