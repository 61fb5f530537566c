"""A counterpart injected into the simulated sky, drawn from the event's 3D posterior.

A drill needs a known answer: the position and distance of the counterpart
are drawn from the sky map itself (a pixel with its probability, a point
uniform inside it, a luminosity distance from the map's conditional distance
posterior at that pixel, ligo.skymap's ``conditional_ppf``), and the light
curve model is named. The :class:`Injection` is recorded (JSON) so the drill
can be scored afterwards against what the pipeline ranked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Injection", "MODELS", "draw_injection", "object_id_for", "load_injection"]

#: Light-curve models an injection can name (tooflow.counterparts).
MODELS = ("kilonova", "afterglow")


def object_id_for(seed: int | str, what: str, year: int) -> str:
    """A ZTF-style object name (``ZTF`` + 2-digit year + 7 letters), stable for its inputs.

    >>> object_id_for(1, "x", 2019)
    'ZTF19jkxhqul'
    """
    import hashlib

    digest = int.from_bytes(hashlib.sha256(f"{seed}:{what}".encode()).digest()[:8], "big")
    letters = []
    for _ in range(7):
        digest, r = divmod(digest, 26)
        letters.append(chr(ord("a") + r))
    return f"ZTF{year % 100:02d}{''.join(letters)}"


@dataclass
class Injection:
    """One injected counterpart: what a drill is scored against.

    Attributes
    ----------
    event_id : str
        The event whose map it was drawn from.
    model : str
        ``kilonova`` (AT2017gfo's photometry scaled to the distance) or
        ``afterglow``.
    ra, dec : float
        Position, degrees (ICRS).
    distance_mpc : float
        Luminosity distance, Mpc.
    t0 : str
        Event time (ISO 8601 UTC): the light curve's zero.
    object_id : str
        The name its alerts carry.
    seed : int
        Seed it was drawn with.
    credible_level : float
        Smallest 2D credible level containing the position (0–1).
    params : dict
        Model parameters (e.g. the afterglow's), recorded as used.
    """

    event_id: str
    model: str
    ra: float
    dec: float
    distance_mpc: float
    t0: str
    object_id: str
    seed: int
    credible_level: float | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def t0_datetime(self) -> dt.datetime:
        """:attr:`t0` as an aware datetime."""
        t = dt.datetime.fromisoformat(self.t0.replace("Z", "+00:00"))
        return t if t.tzinfo else t.replace(tzinfo=dt.UTC)

    @property
    def t0_jd(self) -> float:
        """:attr:`t0` as a Julian date (UTC)."""
        return _jd(self.t0_datetime)

    def to_json(self) -> str:
        """The record as JSON text."""
        return json.dumps(dataclasses.asdict(self), indent=1, sort_keys=True)

    def save(self, path: str | Path) -> Path:
        """Write the record to ``path`` (directories created)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() + "\n")
        return path


def load_injection(path_or_text: str | Path) -> Injection:
    """An :class:`Injection` from a JSON file or JSON text."""
    text = str(path_or_text)
    if not text.lstrip().startswith("{"):
        text = Path(path_or_text).read_text()
    return Injection(**json.loads(text))


def _jd(t: dt.datetime) -> float:
    return 2440587.5 + t.timestamp() / 86400.0


def _credible_levels(moc) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a multi-order map: probability and the credible level of the row."""
    from ligo.skymap.moc import uniq2pixarea

    prob = np.asarray(moc["PROBDENSITY"], float) * uniq2pixarea(np.asarray(moc["UNIQ"]))
    order = np.argsort(-np.asarray(moc["PROBDENSITY"], float), kind="stable")
    levels = np.empty_like(prob)
    levels[order] = np.cumsum(prob[order])
    return prob, levels


def draw_injection(moc, t0: dt.datetime, *, event_id: str, model: str = "kilonova",
                   seed: int = 0, distance_mpc: float | None = None,
                   spread: float | None = None,
                   params: dict[str, Any] | None = None) -> Injection:
    """Draw a counterpart's position and distance from a sky map's 3D posterior.

    Parameters
    ----------
    moc : astropy.table.Table
        Multi-order sky map (``UNIQ``, ``PROBDENSITY`` sr⁻¹; ``DISTMU``,
        ``DISTSIGMA``, ``DISTNORM`` for the distance).
    t0 : datetime.datetime
        Event time (UTC).
    event_id : str
        The event's id (recorded).
    model : str
        One of :data:`MODELS`.
    seed : int
        Seed of the draw: the same map, time and seed give the same injection.
    distance_mpc : float, optional
        Force the distance (Mpc); required when the map has no distance layers.
    spread : float, optional
        Population spread (mag) of the model: the counterpart's offset from the
        mean curve is drawn from N(0, spread) and recorded (``params["offset"]``);
        None: the model's mean curve (offset 0).
    params : dict, optional
        Model parameters recorded with the injection.

    Returns
    -------
    Injection

    Raises
    ------
    ValueError
        Unknown model, a map without probability, or without distances and no
        ``distance_mpc``.
    """
    from astropy_healpix import HEALPix
    from ligo.skymap.distance import conditional_ppf
    from ligo.skymap.moc import uniq2nest

    if model not in MODELS:
        raise ValueError(f"unknown counterpart model {model!r}; one of {', '.join(MODELS)}")
    rng = np.random.default_rng(seed)
    prob, levels = _credible_levels(moc)
    total = prob.sum()
    if not np.isfinite(total) or total <= 0:
        raise ValueError("the sky map holds no probability")
    row = int(rng.choice(len(prob), p=prob / total))
    order, ipix = uniq2nest(np.asarray(moc["UNIQ"])[row])
    order, ipix = int(order), int(ipix)
    # a point uniform inside the pixel: a random child pixel 8 orders down (or to order 29)
    k = min(8, 29 - order)
    child = ipix * 4**k + int(rng.integers(4**k))
    lon, lat = HEALPix(nside=2 ** (order + k), order="nested").healpix_to_lonlat([child])
    ra, dec = float(lon.deg[0]) % 360.0, float(lat.deg[0])
    if distance_mpc is None:
        if "DISTMU" not in moc.colnames:
            raise ValueError("the sky map has no distance layers: give distance_mpc")
        mu, sigma, norm = (float(moc[c][row]) for c in ("DISTMU", "DISTSIGMA", "DISTNORM"))
        if not (math.isfinite(mu) and math.isfinite(sigma) and sigma > 0 and norm > 0):
            raise ValueError(f"no distance posterior at the drawn pixel (row {row})")
        distance_mpc = float(conditional_ppf(rng.uniform(), mu, sigma, norm))
    params = dict(params or {})
    if spread is not None:
        params["spread"] = float(spread)
        params["offset"] = round(float(rng.normal(0.0, spread)), 4) if spread > 0 else 0.0
    t0 = t0 if t0.tzinfo else t0.replace(tzinfo=dt.UTC)
    return Injection(event_id=event_id, model=model, ra=round(ra, 7), dec=round(dec, 7),
                     distance_mpc=round(float(distance_mpc), 3),
                     t0=t0.astimezone(dt.UTC).isoformat(),
                     object_id=object_id_for(seed, f"{event_id}:{model}:injection", t0.year),
                     seed=int(seed), credible_level=round(float(levels[row]), 5),
                     params=params)
