"""The one telescope catalogue: ``tooflow/telescopes/data/<name>.yaml``.

Each YAML file describes one telescope/instrument (site, field grid, footprint,
filters, exposure times, overheads, observing limits, depth zero points) and
cites the public configuration or measurement each number comes from.
:func:`load_telescope` turns it into a :class:`Telescope`. The planner, the
queue adapters (:mod:`tooflow.facilities`) and the simulator all read it; the
depth of an exposure is :func:`tooflow.telescopes.depth.limiting_magnitude`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from tooflow.telescopes.dark_site import DARK_SKY, EXTINCTION
from tooflow.telescopes.timing import ExposureTiming

__all__ = [
    "DATA_DIR",
    "Footprint",
    "Site",
    "Telescope",
    "available_telescopes",
    "find_telescope",
    "load_telescope",
    "load_telescopes",
]

#: Where the telescope descriptions and field grids live.
DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Site:
    """Where a telescope stands and what it can see.

    Attributes
    ----------
    name : str
        Observatory name (free text, e.g. ``Palomar``).
    lat, lon : float
        Geodetic latitude and east longitude, degrees.
    elevation : float
        Metres above sea level.
    airmass_limit : float
        Largest airmass the queue accepts (dimensionless).
    """

    name: str
    lat: float
    lon: float
    elevation: float = 0.0
    airmass_limit: float = 2.5

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for a JSON payload."""
        return {"name": self.name, "lat": self.lat, "lon": self.lon,
                "elevation": self.elevation, "airmass_limit": self.airmass_limit}


@dataclass(frozen=True)
class Footprint:
    """Shape of an instrument's field of view around its pointing centre.

    Attributes
    ----------
    polygons : tuple of numpy.ndarray
        Each an (n, 2) array of vertices (x, y) in degrees in the field's local
        frame: the sky rotated so that the pointing centre is at (0, 0) with north
        up; x is the local longitude (towards east), y the local latitude.
    radius : float or None
        For a circular field, its radius (deg); ``polygons`` is then empty.
    """

    polygons: tuple[np.ndarray, ...] = ()
    radius: float | None = None

    @property
    def circumradius(self) -> float:
        """Largest distance of the footprint from the centre (deg)."""
        if self.radius is not None:
            return float(self.radius)
        return float(max(np.hypot(p[:, 0], p[:, 1]).max() for p in self.polygons))

    @property
    def aim_offset(self) -> tuple[float, float]:
        """Where to put a point source in the local frame (deg): (0, 0) when the
        centre is on a detector, else the centre of the nearest polygon (ZTF's
        camera centre falls in the chip-gap cross)."""
        if self.radius is not None:
            return (0.0, 0.0)
        from matplotlib.path import Path as MplPath

        if any(MplPath(p).contains_point((0.0, 0.0)) for p in self.polygons):
            return (0.0, 0.0)
        centres = np.array([p.mean(axis=0) for p in self.polygons])
        cx, cy = centres[np.argmin(np.hypot(centres[:, 0], centres[:, 1]))]
        return (float(cx), float(cy))

    def pointing_for(self, ra: float, dec: float) -> tuple[float, float]:
        """Pointing centre (deg) that puts a source at (ra, dec) on :attr:`aim_offset`."""
        cx, cy = self.aim_offset
        if cx == 0.0 and cy == 0.0:
            return float(ra), float(dec)
        dec_p = float(np.clip(dec - cy, -90.0, 90.0))
        ra_p = float((ra - cx / max(np.cos(np.radians(dec_p)), 1e-6)) % 360.0)
        return ra_p, dec_p

    @property
    def area(self) -> float:
        """Approximate solid angle (deg²), flat-sky."""
        if self.radius is not None:
            return float(np.pi * self.radius**2)
        total = 0.0
        for p in self.polygons:
            x, y = p[:, 0], p[:, 1]
            total += 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
        return total

    @classmethod
    def square(cls, side: float) -> Footprint:
        """Square field of ``side`` degrees, aligned with RA/Dec."""
        h = side / 2
        return cls(polygons=(np.array([[-h, -h], [h, -h], [h, h], [-h, h]]),))

    @classmethod
    def circle(cls, radius: float) -> Footprint:
        """Circular field of ``radius`` degrees."""
        return cls(radius=float(radius))

    @classmethod
    def from_region_file(cls, path: Path) -> Footprint:
        """Read ``polygon(...)`` lines of a DS9 region file centred at RA=0, Dec=0."""
        polys = []
        for line in Path(path).read_text().splitlines():
            m = re.match(r"\s*polygon\(([^)]*)\)", line)
            if not m:
                continue
            xy = np.array([float(v) for v in m.group(1).split(",")]).reshape(-1, 2)
            xy[:, 0] = (xy[:, 0] + 180.0) % 360.0 - 180.0
            polys.append(xy)
        if not polys:
            raise ValueError(f"{path}: no polygon() regions found")
        return cls(polygons=tuple(polys))


@dataclass
class Telescope:
    """One telescope + instrument, as the planner, the adapters and the simulator see it.

    Times are in seconds, angles in degrees, distances on the sky in degrees.
    ``min_marginal`` is the least a field (all its visits) must add to the plan's
    objective to be scheduled (a fraction of the probability; YAML
    ``min_marginal_probability``): expensive telescopes ask for more.
    ``zenith_dark`` is the 5σ depth (AB) per filter of a ``reference_exposure``
    at the zenith under a dark sky, the zero point of the depth model
    (:mod:`tooflow.telescopes.depth`); ``dark_sky_override`` and
    ``extinction_override`` replace that model's defaults for this site.
    """

    name: str
    latitude: float
    longitude: float
    elevation: float
    footprint: Footprint
    filters: list[str]
    exposure_time: dict[str, float]
    readout: float = 0.0
    overhead_per_exposure: float = 0.0
    slew_rate: float = 1.0
    filter_change_time: float = 0.0
    airmass_limit: float = 2.5
    sun_altitude: float = -12.0
    moon_distance: float = 10.0
    hour_angle_limits: tuple[float, float] | None = None
    min_marginal: float = 0.0001
    grid_spec: dict = field(default_factory=dict)
    source: str = ""
    site_name: str = ""
    reference_exposure: float = 60.0
    zenith_dark: dict[str, float] = field(default_factory=dict)
    dark_sky_override: dict[str, float] = field(default_factory=dict)
    extinction_override: dict[str, float] = field(default_factory=dict)

    @property
    def timing(self) -> ExposureTiming:
        """Time between exposures (overhead, readout, slew, filter change): the one
        model the planner plans with and the simulator observes with."""
        return ExposureTiming(overhead=self.overhead_per_exposure, readout=self.readout,
                              slew_rate=self.slew_rate, filter_change=self.filter_change_time)

    @property
    def site(self) -> Site:
        """The telescope's :class:`Site` (name, position, airmass limit)."""
        return Site(self.site_name or self.name, lat=self.latitude, lon=self.longitude,
                    elevation=self.elevation, airmass_limit=self.airmass_limit)

    def zero_point(self, filter_name: str) -> float:
        """5σ AB depth of a ``reference_exposure`` at the zenith, dark sky.

        Raises
        ------
        KeyError
            For a filter without a zero point, naming the ones there are.
        """
        try:
            return float(self.zenith_dark[filter_name])
        except KeyError:
            raise KeyError(f"{self.name} has no depth for filter {filter_name!r} "
                           f"(has {', '.join(self.zenith_dark) or 'none'})") from None

    def extinction(self, filter_name: str) -> float:
        """Extinction coefficient (mag/airmass): the site's, else the model default."""
        return float(self.extinction_override.get(filter_name,
                                                  EXTINCTION.get(filter_name, 0.12)))

    def dark_sky(self, filter_name: str) -> float:
        """Zenith dark-sky brightness (AB mag/arcsec²): the site's, else the default."""
        return float(self.dark_sky_override.get(filter_name, DARK_SKY.get(filter_name, 21.0)))

    @property
    def has_grid(self) -> bool:
        """True when the telescope tiles the sky with a fixed field grid."""
        return self.grid_spec.get("format", "none") != "none"

    @cached_property
    def fields(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Field grid as arrays ``(field_id, ra, dec)`` (ints, degrees)."""
        return _load_grid(self.grid_spec)

    @property
    def every_grid_fields(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every field of the telescope's grid files, ``max_id`` ignored (ZTF's secondary
        grid, which fills the primary's chip gaps), as :attr:`fields`."""
        return _load_grid({k: v for k, v in self.grid_spec.items() if k != "max_id"})

    @property
    def location(self):
        """The site as an :class:`astropy.coordinates.EarthLocation`."""
        from astropy import units as u
        from astropy.coordinates import EarthLocation

        return EarthLocation.from_geodetic(
            self.longitude * u.deg, self.latitude * u.deg, self.elevation * u.m
        )


def _load_grid(spec: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    fmt = spec.get("format", "none")
    if fmt == "none":
        empty = np.zeros(0)
        return empty.astype(int), empty, empty
    if fmt == "list":
        rows = np.asarray(spec["fields"], float).reshape(-1, 3)
        return rows[:, 0].astype(int), rows[:, 1], rows[:, 2]
    if fmt == "healpix":
        import healpy as hp

        nside = int(spec["nside"])
        ipix = np.arange(hp.nside2npix(nside))
        ra, dec = hp.pix2ang(nside, ipix, lonlat=True)
        return ipix, ra, dec
    if fmt in {"ztf_fields", "tess"}:
        data = np.loadtxt(DATA_DIR / spec["file"], comments="%", usecols=(0, 1, 2), ndmin=2)
        ids = data[:, 0].astype(int)
        keep = np.ones(len(ids), bool)
        if "max_id" in spec:
            keep &= ids <= int(spec["max_id"])
        return ids[keep], data[keep, 1], data[keep, 2]
    raise ValueError(f"unknown field grid format {fmt!r}")


def _footprint(spec: dict) -> Footprint:
    kind = spec.get("type")
    if kind == "circle":
        return Footprint.circle(spec["radius"])
    if kind == "square":
        return Footprint.square(spec["side"])
    if kind == "rectangle":
        w, h = spec["width"] / 2, spec["height"] / 2
        return Footprint(polygons=(np.array([[-w, -h], [w, -h], [w, h], [-w, h]]),))
    if kind == "region":
        return Footprint.from_region_file(DATA_DIR / spec["file"])
    raise ValueError(f"unknown footprint type {kind!r}")


def available_telescopes() -> list[str]:
    """Names of the telescopes described in :data:`DATA_DIR`."""
    return sorted(p.stem for p in DATA_DIR.glob("*.yaml"))


def load_telescope(name: str) -> Telescope:
    """Load one telescope description by name (case-insensitive).

    The result is cached: treat it as read-only.

    Parameters
    ----------
    name : str
        ``ZTF``, ``DECam``, ``Gattini``, ``GROWTH-India``, ``KPED``, ...

    Raises
    ------
    KeyError
        If no such telescope is described; the message lists the known ones.
    """
    names = {n.lower(): n for n in available_telescopes()}
    if name.lower() not in names:
        raise KeyError(f"unknown telescope {name!r}; known: {', '.join(sorted(names.values()))}")
    return _load(names[name.lower()])


def find_telescope(name: str) -> Telescope | None:
    """The catalogue's telescope of this name (case-insensitive), None if there is none."""
    try:
        return load_telescope(name)
    except KeyError:
        return None


@cache
def _load(stem: str) -> Telescope:
    path = DATA_DIR / f"{stem}.yaml"
    d = yaml.safe_load(path.read_text())
    site = d["site"]
    ha = d.get("hour_angle_limits")
    depth = d.get("depth") or {}
    return Telescope(
        name=d["name"],
        latitude=float(site["latitude"]),
        longitude=float(site["longitude"]),
        elevation=float(site["elevation"]),
        footprint=_footprint(d["footprint"]),
        filters=list(d["filters"]),
        exposure_time={k: float(v) for k, v in d["exposure_time"].items()},
        readout=float(d.get("readout", 0.0)),
        overhead_per_exposure=float(d.get("overhead_per_exposure", 0.0)),
        slew_rate=float(d.get("slew_rate", 1.0)),
        filter_change_time=float(d.get("filter_change_time", 0.0)),
        airmass_limit=float(d.get("airmass_limit", 2.5)),
        sun_altitude=float(d.get("sun_altitude", -12.0)),
        moon_distance=float(d.get("moon_distance", 10.0)),
        hour_angle_limits=tuple(float(v) for v in ha) if ha else None,
        min_marginal=float(d.get("min_marginal_probability", 0.0001)),
        grid_spec=dict(d.get("grid") or {"format": "none"}),
        source=str(path),
        site_name=str(site.get("name", "")),
        reference_exposure=float(depth.get("reference_exposure", 60.0)),
        zenith_dark={k: float(v) for k, v in (depth.get("zenith_dark") or {}).items()},
        dark_sky_override={k: float(v) for k, v in (depth.get("dark_sky") or {}).items()},
        extinction_override={k: float(v) for k, v in (depth.get("extinction") or {}).items()},
    )


def load_telescopes(names: list[str] | None = None) -> list[Telescope]:
    """Load several telescopes (default: all described ones)."""
    return [load_telescope(n) for n in (names or available_telescopes())]
