"""The sky an event's executed exposures cover: probability and area, per telescope."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from sqlmodel import Session, select

from ..config import Settings
from ..models import Plan
from .event import load_event_moc

__all__ = ["achieved_coverage", "event_coverage"]


def achieved_coverage(moc, pointings: list[tuple[str, float, float]],
                      order: int = 9, *, with_added: bool = False):
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
    from ..planning import load_telescope
    from ..planning.coverage import footprint_pixels, probability_grid

    grid = probability_grid(moc, order=order)
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
    if not with_added:
        return prob, area
    added = {tel: float(grid.prob[mine & (count == 1)].sum()) for tel, mine in masks.items()}
    return prob, area, added


def event_coverage(session: Session, event_pk: int, executed, settings: Settings, *,
                   with_added: bool = False):
    """Probability and area the executed exposures of an event cover.

    On the map its latest plan was made on (:func:`~.event.load_event_moc`).

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
    latest = session.exec(select(Plan).where(Plan.event_pk == event_pk)
                          .order_by(Plan.id.desc())).first()
    moc, _ = load_event_moc(session, event_pk, settings,
                            latest.notice_id if latest else None)
    if moc is None:
        return ({}, {}, {}) if with_added else ({}, {})
    return achieved_coverage(moc, [(e.telescope, e.ra, e.dec) for e in executed],
                             with_added=with_added)
