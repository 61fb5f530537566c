"""Helpers shared by the planning tests (sky maps made of a few discs)."""

from __future__ import annotations

import healpy as hp
import numpy as np
from astropy.table import Table

from tooflow.planning import Footprint, Telescope
from tooflow.telescopes import load_telescope

_SITE = load_telescope("ZTF").site
PALOMAR = {"latitude": _SITE.lat, "longitude": _SITE.lon, "elevation": _SITE.elevation}


def disc_map(spots: list[tuple[float, float, float]], radius: float = 1.0, order: int = 8):
    """Multi-order map (single order) with probability ``p`` uniform in discs.

    ``spots`` are (ra, dec, p) in degrees; the ps should sum to 1.
    """
    nside = 1 << order
    dens = np.zeros(hp.nside2npix(nside))
    area = hp.nside2pixarea(nside)
    for ra, dec, p in spots:
        pix = hp.query_disc(nside, hp.ang2vec(ra, dec, lonlat=True), np.radians(radius),
                            nest=True)
        dens[pix] += p / (len(pix) * area)
    keep = np.flatnonzero(dens > 0)
    uniq = keep + 4 * nside**2
    # the rest of the sky gets a tiny density so the map is complete
    return Table({"UNIQ": uniq.astype(np.int64), "PROBDENSITY": dens[keep]})


def telescope(name: str, fields, side: float = 4.0, exposure: float = 60.0, **kw) -> Telescope:
    """A Palomar telescope with a square footprint and the given (id, ra, dec) fields."""
    args = dict(
        name=name, footprint=Footprint.square(side), filters=["g", "r"],
        exposure_time={"g": exposure, "r": exposure}, readout=10.0,
        overhead_per_exposure=10.0, slew_rate=1.0, filter_change_time=30.0,
        grid_spec={"format": "list", "fields": [list(f) for f in fields]}, **PALOMAR,
    )
    args.update(kw)
    return Telescope(**args)
