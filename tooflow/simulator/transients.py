"""The simulated sky: what a real difference-imaging pipeline would find in an exposure.

Every executed exposure (a field centre, a filter, a time and the exposure's
own limiting magnitude) yields *detections*: the injected counterpart when it
falls on the footprint (the instrument's real CCD layout) and is brighter than
that limit, plus a background whose surface density follows the depth, the
Galactic and the ecliptic latitude of the field:

* **supernovae** (Ia and core-collapse) exploding at the volumetric rates
  measured by the Lick Observatory SN Search and the ZTF Bright Transient
  Survey, with simple rise/decline/colour templates; one that was brighter
  than the public survey's depth before the event carries that earlier
  detection in its history (``jdstarthist``);
* **known variable stars** under a PS1 star (``sgscore1`` ≈ 1), detected in
  the survey for years (``jdstarthist`` long before the event), and a few
  stellar flares with no history;
* **asteroids** near the ecliptic, most flagged by the known solar-system
  object match (``ssdistnr``), a new position in every exposure;
* **bogus subtractions** near the limit with low real–bogus scores.

The numbers and their sources are in docs/candidates-drill.md ("Background
rates"). The persistent sky (supernovae, variable stars) is drawn per HEALPix
tile from ``(seed, tile)``, so every exposure covering a tile sees the same
objects whatever the order of the exposures; per-exposure populations (bogus,
asteroids, flares) are drawn from ``(seed, exposure)``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from tooflow.simulator.injection import Injection, object_id_for

__all__ = ["BackgroundRates", "Detection", "TransientSky", "FILTER_IDS", "KINDS",
           "ALERT_TELESCOPES", "snr_magerr", "exposure_jd"]

#: ZTF filter ids of the alert packets (``fid``): 1 g, 2 r, 3 i.
FILTER_IDS = {"g": 1, "r": 2, "i": 3}

#: What a detection can be (the truth, never in a packet: drills score with it).
KINDS = ("counterpart", "sn_ia", "sn_cc", "variable_star", "stellar_flare", "asteroid", "bogus")

#: Telescopes whose exposures yield alerts: ZTF's stream is the one alert format
#: (ZTF Avro, filters g, r, i) the candidate path reads; the others' candidates
#: come as photometry uploads.
ALERT_TELESCOPES = ("ZTF",)

#: Persistent sky tiles: HEALPix nside 32 (3.36 deg²), NESTED.
TILE_NSIDE = 32
_SKY_DEG2 = 4 * math.pi * (180 / math.pi) ** 2
_NO = -999.0  # ZTF's "none within 30 arcsec"


@dataclass(frozen=True)
class BackgroundRates:
    """Background populations of the simulated sky (docs/candidates-drill.md).

    Surface densities are per deg² per exposure at ``reference_depth`` and
    scale as ``10**(slope * (m_lim - reference_depth))``.

    Attributes
    ----------
    reference_depth : float
        Limiting magnitude (5σ AB) the densities below are quoted at.
    bogus_per_deg2 : float
        Bogus subtractions per deg² per exposure.
    variables_per_deg2 : float
        Known variable stars varying enough to be detected, per deg², at
        Galactic latitude |b| ≳ 30°.
    plane_boost : float
        Variable-star density at b = 0 relative to high latitude (× ``1 +
        plane_boost · exp(−|b|/plane_scale_deg)``).
    plane_scale_deg : float
    flare_fraction : float
        Stellar flares with no earlier detection, per known variable.
    variable_detect_fraction : float
        Probability a known variable is detected in one exposure.
    asteroids_per_deg2 : float
        Asteroids per deg² on the ecliptic (β = 0).
    asteroid_beta_sigma_deg : float
        Gaussian width of the asteroid density in ecliptic latitude.
    asteroid_known_fraction : float
        Fraction matched to a known solar-system object.
    slope : float
        d log10 N / d m of the background counts.
    sn_ia_rate, sn_cc_rate : float
        Volumetric rates, Mpc⁻³ yr⁻¹.
    survey_cadence_days, survey_depth : float
        The public survey that gives persistent objects their history.
    bogus_misclassified : float
        Fraction of bogus subtractions the real–bogus classifier scores high.
    real_misclassified : float
        Fraction of real sources it scores low.
    """

    reference_depth: float = 21.0
    bogus_per_deg2: float = 4.0
    variables_per_deg2: float = 2.0
    plane_boost: float = 10.0
    plane_scale_deg: float = 10.0
    flare_fraction: float = 0.02
    variable_detect_fraction: float = 0.5
    asteroids_per_deg2: float = 12.0
    asteroid_beta_sigma_deg: float = 10.0
    asteroid_known_fraction: float = 0.9
    slope: float = 0.3
    sn_ia_rate: float = 2.35e-5
    sn_cc_rate: float = 7.05e-5
    survey_cadence_days: float = 3.0
    survey_depth: float = 20.5
    bogus_misclassified: float = 0.02
    real_misclassified: float = 0.03

    @classmethod
    def from_config(cls, section: dict[str, Any] | None) -> BackgroundRates:
        """Rates from a configuration mapping (unknown keys are an error)."""
        section = dict(section or {})
        known = set(cls.__dataclass_fields__)
        unknown = set(section) - known
        if unknown:
            raise ValueError(f"unknown background rate(s): {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(sorted(known))}")
        return cls(**{k: float(v) for k, v in section.items()})

    def depth_factor(self, maglim: float) -> float:
        """Density at ``maglim`` relative to ``reference_depth``."""
        return 10.0 ** (self.slope * (maglim - self.reference_depth))


@dataclass(slots=True)
class Detection:
    """One source found on one difference image (what an alert packet carries)."""

    object_id: str
    kind: str
    ra: float
    dec: float
    jd: float
    filter: str
    mag: float
    magerr: float
    maglim: float
    rb: float
    drb: float
    candid: int
    exposure_id: int
    field_id: int | None = None
    telescope: str = "ZTF"
    sgscore1: float = _NO
    distpsnr1: float = _NO
    srmag1: float = _NO
    ssdistnr: float = _NO
    ssmagnr: float = _NO
    ssnamenr: str | None = None
    jdstarthist: float | None = None  # earliest detection before the simulation, if any
    ndethist_prior: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def fid(self) -> int:
        """ZTF filter id (1 g, 2 r, 3 i; 2 when unknown)."""
        return FILTER_IDS.get(self.filter, 2)


def snr_magerr(mag, maglim):
    """1σ magnitude error of a source of ``mag`` on an image of 5σ depth ``maglim``.

    >>> round(float(snr_magerr(20.0, 20.0)), 3)
    0.217
    """
    snr = 5.0 * 10 ** (-0.4 * (np.asarray(mag, float) - np.asarray(maglim, float)))
    return 1.0857 / snr


def exposure_jd(exposure: dict[str, Any]) -> float:
    """Julian date (UTC) of an executed exposure (``obsjd``, else from ``obs_time``)."""
    if exposure.get("obsjd") is not None:
        return float(exposure["obsjd"])
    t = dt.datetime.fromisoformat(str(exposure["obs_time"]).replace("Z", "+00:00"))
    t = t if t.tzinfo else t.replace(tzinfo=dt.UTC)
    return 2440587.5 + t.timestamp() / 86400.0


def _seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "big")


@lru_cache(maxsize=16)
def _footprint(telescope: str):
    from tooflow.telescopes import load_telescope

    return load_telescope(telescope).footprint


@lru_cache(maxsize=1)
def _tile_latitudes() -> tuple[np.ndarray, np.ndarray]:
    """Galactic and ecliptic latitude (deg) of every tile centre (one astropy call)."""
    import healpy as hp
    from astropy import units as u
    from astropy.coordinates import BarycentricMeanEcliptic, SkyCoord

    ra, dec = hp.pix2ang(TILE_NSIDE, np.arange(hp.nside2npix(TILE_NSIDE)), nest=True,
                         lonlat=True)
    c = SkyCoord(ra * u.deg, dec * u.deg)
    return c.galactic.b.deg, c.transform_to(BarycentricMeanEcliptic()).lat.deg


def _latitudes(ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Galactic latitude b and ecliptic latitude β (deg), to the tile (~1.8°)."""
    import healpy as hp

    ipix = hp.ang2pix(TILE_NSIDE, np.asarray(ra, float), np.asarray(dec, float), nest=True,
                      lonlat=True)
    b, beta = _tile_latitudes()
    return b[ipix], beta[ipix]


# --- supernova templates ------------------------------------------------------
#: (mean peak M, σ, rise days (range), decline mag/day after peak in g, r, i)
_SN = {
    "sn_ia": {"peak": -19.3, "sigma": 0.35, "rise": (16.0, 20.0),
              "decline": {"g": 0.07, "r": 0.045, "i": 0.04}},
    "sn_cc": {"peak": -17.5, "sigma": 1.0, "rise": (5.0, 15.0),
              "decline": {"g": 0.035, "r": 0.02, "i": 0.018}},
}
_DEEPEST = 22.0  # no background source fainter than this at peak is drawn


def sn_magnitude(kind: str, filt: str, t_days, peak_abs, distmod, rise) -> np.ndarray:
    """Apparent magnitude of template supernovae ``t_days`` after explosion.

    Before the peak the flux rises as ``t²`` (the expanding fireball); after it
    the magnitude declines linearly at the type's rate per filter; colour
    ``g − r`` reddens by 0.02 mag/day after the peak. NaN before explosion.
    """
    t = np.asarray(t_days, float)
    decl = _SN[kind]["decline"].get(filt, _SN[kind]["decline"]["r"])
    with np.errstate(divide="ignore", invalid="ignore"):
        before = peak_abs + distmod - 5.0 * np.log10(np.clip(t / rise, 1e-6, None))
        after = peak_abs + distmod + decl * (t - rise)
        m = np.where(t < rise, before, after)
    colour = {"g": 0.05, "r": 0.0, "i": -0.1}.get(filt, 0.0)
    m = m + colour + np.where((t > rise) & (filt == "g"), 0.02 * (t - rise), 0.0)
    return np.where(t > 0, m, np.nan)


@dataclass
class _Tile:
    """The persistent sources of one sky tile (arrays of equal length)."""

    kind: np.ndarray
    ra: np.ndarray
    dec: np.ndarray
    object_id: list[str]
    t_explode: np.ndarray  # JD (NaN for variables)
    peak_abs: np.ndarray
    distmod: np.ndarray
    rise: np.ndarray
    var_mag: np.ndarray  # variables: typical difference magnitude
    jdstarthist: np.ndarray  # NaN: no earlier detection
    ndethist: np.ndarray
    sgscore1: np.ndarray
    distpsnr1: np.ndarray
    srmag1: np.ndarray


class TransientSky:
    """The transient sky seen by the simulator's exposures.

    Parameters
    ----------
    seed : int
        Seed of every draw.
    epoch : datetime.datetime
        Reference time of the persistent populations (usually the event time):
        supernovae explode between 200 days before and 30 days after it.
    injection : Injection, optional
        A counterpart to put on the sky (more with :meth:`add_injection`).
    rates : BackgroundRates, optional
    telescopes : tuple of str
        Telescopes whose exposures yield alerts (default :data:`ALERT_TELESCOPES`);
        :meth:`observe` returns nothing for the others.
    """

    def __init__(self, *, seed: int = 0, epoch: dt.datetime,
                 injection: Injection | None = None, rates: BackgroundRates | None = None,
                 telescopes: tuple[str, ...] = ALERT_TELESCOPES):
        self.seed = int(seed)
        self.telescopes = tuple(telescopes)
        self.epoch = epoch if epoch.tzinfo else epoch.replace(tzinfo=dt.UTC)
        self.epoch_jd = 2440587.5 + self.epoch.timestamp() / 86400.0
        self.rates = rates or BackgroundRates()
        self.injections: list[tuple[Injection, Callable[[str, float], float]]] = []
        if injection is not None:
            self.add_injection(injection)
        self._tiles: dict[int, _Tile] = {}
        self._detected: set[str] = set()
        self.history: dict[str, list[dict[str, Any]]] = {}
        self._ncand = 0

    def add_injection(self, injection: Injection,
                      light_curve: Callable[[str, float], float] | None = None) -> None:
        """Put a counterpart on the sky.

        ``light_curve``: ``(filter, days since t0) → apparent AB mag``; default
        :func:`counterpart_light_curve` of the injection's model.
        """
        self.injections.append((injection, light_curve or counterpart_light_curve(injection)))

    # -- persistent populations --------------------------------------------
    def _tile(self, ipix: int) -> _Tile:
        tile = self._tiles.get(ipix)
        if tile is None:
            tile = self._tiles[ipix] = self._draw_tile(ipix)
        return tile

    def _draw_tile(self, ipix: int) -> _Tile:
        import healpy as hp

        r = self.rates
        rng = np.random.default_rng(_seed(self.seed, "tile", ipix))
        area = _SKY_DEG2 / hp.nside2npix(TILE_NSIDE)
        kinds, t_exp, peak, dmod, rise, var_mag = [], [], [], [], [], []
        span = 230.0  # days of explosions: epoch − 200 d … epoch + 30 d
        for kind, rate in (("sn_ia", r.sn_ia_rate), ("sn_cc", r.sn_cc_rate)):
            spec = _SN[kind]
            bright = spec["peak"] - 2 * spec["sigma"]
            dmax_mpc = 10 ** ((_DEEPEST - bright + 5) / 5) / 1e6
            volume = 4 / 3 * math.pi * dmax_mpc**3 * area / _SKY_DEG2
            n = rng.poisson(rate * span / 365.25 * volume)
            d = dmax_mpc * rng.uniform(size=n) ** (1 / 3)
            kinds += [kind] * n
            t_exp.append(self.epoch_jd - 200.0 + span * rng.uniform(size=n))
            peak.append(rng.normal(spec["peak"], spec["sigma"], n))
            dmod.append(5 * np.log10(d * 1e6 / 10))
            rise.append(rng.uniform(*spec["rise"], n))
            var_mag.append(np.full(n, np.nan))
        # known variables: count at the reference depth, deeper ones only matter at depth
        tile_ra, tile_dec = hp.pix2ang(TILE_NSIDE, ipix, nest=True, lonlat=True)
        b, _ = _latitudes(np.array([tile_ra]), np.array([tile_dec]))
        boost = 1 + r.plane_boost * math.exp(-abs(float(b[0])) / r.plane_scale_deg)
        nvar = rng.poisson(r.variables_per_deg2 * boost * area * r.depth_factor(_DEEPEST)
                           / r.variable_detect_fraction)
        kinds += ["variable_star"] * nvar
        t_exp.append(np.full(nvar, np.nan))
        peak.append(np.full(nvar, np.nan))
        dmod.append(np.full(nvar, np.nan))
        rise.append(np.full(nvar, np.nan))
        # N(<m) ∝ 10^(slope m): m = deepest + log10(u)/slope
        var_mag.append(_DEEPEST + np.log10(rng.uniform(size=nvar)) / r.slope)
        n = len(kinds)
        kind = np.array(kinds, dtype=object)
        ra, dec = _uniform_in_pixel(rng, ipix, n)
        t_exp_a = np.concatenate(t_exp) if n else np.zeros(0)
        is_sn = np.array([k.startswith("sn") for k in kinds], bool)
        # history in the public survey before the epoch
        jdstart = np.full(n, np.nan)
        ndet = np.zeros(n, int)
        peak_a, dmod_a, rise_a = (np.concatenate(x) if n else np.zeros(0)
                                  for x in (peak, dmod, rise))
        if is_sn.any():
            # first time brighter than the survey depth on the t² rise
            with np.errstate(invalid="ignore", over="ignore"):
                frac = 10 ** ((peak_a + dmod_a - r.survey_depth) / 5)
            t_first = t_exp_a + rise_a * frac
            phase = rng.uniform(0, r.survey_cadence_days)
            first_visit = (np.ceil((t_first - self.epoch_jd - phase) / r.survey_cadence_days)
                           * r.survey_cadence_days + self.epoch_jd + phase)
            seen = is_sn & (frac <= 1) & (first_visit < self.epoch_jd)
            jdstart[seen] = first_visit[seen]
            ndet[seen] = np.maximum(1, ((self.epoch_jd - first_visit[seen])
                                        // r.survey_cadence_days).astype(int))
        var = ~is_sn
        jdstart[var] = self.epoch_jd - rng.uniform(30, 1500, var.sum())
        ndet[var] = rng.integers(5, 400, var.sum())
        # PS1 counterpart: a host galaxy under supernovae, a star under variables
        sgscore = np.where(is_sn, rng.beta(1, 8, n), rng.uniform(0.9, 1.0, n))
        distps = np.where(is_sn, np.abs(rng.normal(0, 1.5, n)) + 0.1, rng.uniform(0.05, 0.5, n))
        srmag = np.where(is_sn, rng.uniform(17, 22, n), rng.uniform(14, 21, n))
        year = self.epoch.year
        ids = [object_id_for(self.seed, f"tile{ipix}:{i}", year) for i in range(n)]
        return _Tile(kind=kind, ra=ra, dec=dec, object_id=ids, t_explode=t_exp_a,
                     peak_abs=peak_a, distmod=dmod_a, rise=rise_a,
                     var_mag=np.concatenate(var_mag) if n else np.zeros(0),
                     jdstarthist=jdstart, ndethist=ndet, sgscore1=sgscore, distpsnr1=distps,
                     srmag1=srmag)

    # -- one exposure ---------------------------------------------------------
    def observe(self, exposure: dict[str, Any]) -> list[Detection]:
        """The detections of one executed exposure.

        Parameters
        ----------
        exposure : dict
            A simulator executed-observation row: ``telescope``, ``ra``, ``dec``
            (field centre), ``filter``, ``obsjd`` or ``obs_time``,
            ``limiting_magnitude``, ``expid``, ``field_id``.

        Returns
        -------
        list of Detection
            In no particular order; the truth is in :attr:`Detection.kind`.
        """
        import healpy as hp

        from tooflow.planning.coverage import points_in_fields

        tel = str(exposure.get("telescope") or "ZTF")
        if tel not in self.telescopes:
            return []
        fp = _footprint(tel)
        ra0, dec0 = float(exposure["ra"]), float(exposure["dec"])
        filt = str(exposure["filter"])
        jd = exposure_jd(exposure)
        maglim = float(exposure["limiting_magnitude"])
        expid = int(exposure.get("expid") or 0)
        field_id = exposure.get("field_id")
        rng = np.random.default_rng(_seed(self.seed, "exposure", expid, tel, jd))
        out: list[Detection] = []
        ctx = {"jd": jd, "filter": filt, "maglim": maglim, "expid": expid,
               "field_id": field_id, "telescope": tel}

        # persistent sources of the tiles under the footprint
        vec = hp.ang2vec(ra0, dec0, lonlat=True)
        tiles = hp.query_disc(TILE_NSIDE, vec, math.radians(fp.circumradius) * 1.05,
                              inclusive=True, nest=True)
        tl = [self._tile(int(ipix)) for ipix in tiles]
        tl = [t for t in tl if len(t.ra)]
        if tl:
            sizes = np.cumsum([0] + [len(t.ra) for t in tl])
            _, inside = points_in_fields(fp, [ra0], [dec0], np.concatenate([t.ra for t in tl]),
                                         np.concatenate([t.dec for t in tl]))
            which = np.searchsorted(sizes, inside, side="right") - 1
            for k, tile in enumerate(tl):
                idx = np.sort(inside[which == k]) - sizes[k]
                if len(idx):
                    self._observe_persistent(tile, idx, rng, ctx, out)

        # the injected counterparts
        for inj, light_curve in self.injections:
            _, hit = points_in_fields(fp, [ra0], [dec0], [inj.ra], [inj.dec])
            if len(hit) and jd > inj.t0_jd:
                mag = float(light_curve(filt, jd - inj.t0_jd))
                self._maybe_detect(
                    rng, out, ctx, inj.object_id, "counterpart", inj.ra, inj.dec, mag,
                    real=True, ps1=(float(rng.beta(1, 8)), float(abs(rng.normal(0, 1.5)) + 0.1),
                                    float(rng.uniform(16, 21))))

        # per-exposure populations: bogus, asteroids, flares
        area = fp.area
        b, beta = _latitudes(np.array([ra0]), np.array([dec0]))
        r = self.rates
        depth = r.depth_factor(maglim)
        n_bogus = rng.poisson(r.bogus_per_deg2 * area * depth)
        n_ast = rng.poisson(r.asteroids_per_deg2 * area * depth
                            * math.exp(-0.5 * (float(beta[0]) / r.asteroid_beta_sigma_deg) ** 2))
        boost = 1 + r.plane_boost * math.exp(-abs(float(b[0])) / r.plane_scale_deg)
        n_flare = rng.poisson(r.variables_per_deg2 * boost * r.flare_fraction * area * depth)
        for kind, n in (("bogus", n_bogus), ("asteroid", n_ast), ("stellar_flare", n_flare)):
            if n == 0:
                continue
            pra, pdec = _points_on_footprint(rng, fp, ra0, dec0, n)
            for k in range(len(pra)):
                mag = maglim + math.log10(max(rng.uniform(), 1e-12)) / r.slope
                mag = max(mag, maglim - 6.0)
                oid = object_id_for(self.seed, f"{kind}:{expid}:{tel}:{k}", self.epoch.year)
                if kind == "bogus":
                    near_star = rng.uniform() < 0.5
                    ps1 = ((float(rng.uniform(0.8, 1.0)), float(rng.uniform(0.1, 3.0)),
                            float(rng.uniform(12, 18))) if near_star else
                           (float(rng.uniform(0, 1)), float(rng.uniform(2, 30)),
                            float(rng.uniform(18, 22))))
                    self._add(rng, out, ctx, oid, kind, pra[k], pdec[k], mag, real=False,
                              ps1=ps1)
                elif kind == "asteroid":
                    known = rng.uniform() < r.asteroid_known_fraction
                    ss = ((float(rng.uniform(0.0, 2.5)), float(mag + rng.normal(0, 0.3)),
                           f"{int(rng.integers(1000, 600000))}") if known else None)
                    self._add(rng, out, ctx, oid, kind, pra[k], pdec[k], mag, real=True,
                              ps1=(_NO, _NO, _NO), ss=ss)
                else:
                    self._add(rng, out, ctx, oid, kind, pra[k], pdec[k], mag, real=True,
                              ps1=(float(rng.uniform(0.95, 1.0)), float(rng.uniform(0.05, 0.4)),
                                   float(rng.uniform(15, 21))))
        return out

    def _observe_persistent(self, tile: _Tile, idx: np.ndarray, rng, ctx, out) -> None:
        jd, filt, maglim = ctx["jd"], ctx["filter"], ctx["maglim"]
        kind = tile.kind[idx]
        mag = np.full(len(idx), np.nan)
        for k in ("sn_ia", "sn_cc"):
            sel = kind == k
            if sel.any():
                j = idx[sel]
                mag[sel] = sn_magnitude(k, filt, jd - tile.t_explode[j], tile.peak_abs[j],
                                        tile.distmod[j], tile.rise[j])
        var = kind == "variable_star"
        if var.any():
            j = idx[var]
            on = rng.uniform(size=len(j)) < self.rates.variable_detect_fraction
            mag[var] = np.where(on, tile.var_mag[j] + rng.normal(0, 0.3, len(j)), np.nan)
        near = np.isfinite(mag) & (mag < maglim + 1.0)
        for m, j, k in zip(mag[near], idx[near], kind[near], strict=True):
            hist = tile.jdstarthist[j]
            self._maybe_detect(rng, out, ctx, tile.object_id[j], str(k), float(tile.ra[j]),
                               float(tile.dec[j]), float(m), real=True,
                               ps1=(float(tile.sgscore1[j]), float(tile.distpsnr1[j]),
                                    float(tile.srmag1[j])),
                               jdstarthist=None if np.isnan(hist) else float(hist),
                               ndethist=int(tile.ndethist[j]))
        # covered, not detected now, detected before: an upper limit in its history
        for j in idx[~near]:
            oid = tile.object_id[j]
            if oid in self._detected:
                self.history[oid].append({"jd": jd, "filter": filt, "mag": None,
                                          "magerr": None, "maglim": maglim, "candid": None})

    def _maybe_detect(self, rng, out, ctx, oid, kind, ra, dec, mag, *, real, ps1,
                      jdstarthist=None, ndethist=0) -> None:
        maglim = ctx["maglim"]
        err = float(snr_magerr(mag, maglim))
        measured = mag + rng.normal(0, err)
        if measured <= maglim:
            self._add(rng, out, ctx, oid, kind, ra, dec, measured, real=real, ps1=ps1,
                      jdstarthist=jdstarthist, ndethist=ndethist, magerr=err)
        elif oid in self._detected:
            self.history[oid].append({"jd": ctx["jd"], "filter": ctx["filter"], "mag": None,
                                      "magerr": None, "maglim": maglim, "candid": None})

    def _add(self, rng, out, ctx, oid, kind, ra, dec, mag, *, real, ps1, ss=None,
             jdstarthist=None, ndethist=0, magerr=None) -> None:
        maglim = ctx["maglim"]
        if magerr is None:
            magerr = float(snr_magerr(mag, maglim))
        r = self.rates
        if real:
            bad = rng.uniform() < r.real_misclassified
            rb = float(rng.beta(1.5, 4) if bad else rng.beta(6, 1.5))
            drb = float(rng.beta(1, 6) if bad else rng.beta(12, 0.6))
        else:
            bad = rng.uniform() < r.bogus_misclassified
            rb = float(rng.beta(4, 2) if bad else rng.beta(1, 6))
            drb = float(rng.beta(6, 1.5) if bad else rng.beta(0.5, 12))
        self._ncand += 1
        candid = int(ctx["expid"]) * 10_000_000 + self._ncand % 10_000_000 + 10**15
        # the position of each detection scatters by ~0.1 arcsec around the source
        pos_err = 0.1 / 3600
        dra = rng.normal(0, pos_err) / max(math.cos(math.radians(dec)), 1e-6)
        det = Detection(
            object_id=oid, kind=kind, ra=(ra + dra) % 360.0,
            dec=float(np.clip(dec + rng.normal(0, pos_err), -90, 90)),
            jd=ctx["jd"], filter=ctx["filter"], mag=round(float(mag), 4),
            magerr=round(float(magerr), 4), maglim=maglim, rb=round(rb, 4),
            drb=round(drb, 4), candid=candid, exposure_id=int(ctx["expid"]),
            field_id=None if ctx["field_id"] is None else int(ctx["field_id"]),
            telescope=ctx["telescope"], sgscore1=round(ps1[0], 4), distpsnr1=round(ps1[1], 3),
            srmag1=round(ps1[2], 3), jdstarthist=jdstarthist, ndethist_prior=ndethist)
        if ss is not None:
            det.ssdistnr, det.ssmagnr, det.ssnamenr = round(ss[0], 3), round(ss[1], 3), ss[2]
        self._detected.add(oid)
        self.history.setdefault(oid, []).append(
            {"jd": det.jd, "filter": det.filter, "mag": det.mag, "magerr": det.magerr,
             "maglim": maglim, "candid": candid, "ra": det.ra, "dec": det.dec,
             "rb": det.rb, "drb": det.drb})
        out.append(det)

    def previous(self, det: Detection) -> list[dict[str, Any]]:
        """Earlier detections and upper limits of ``det``'s object in this simulation."""
        return [h for h in self.history.get(det.object_id, []) if h["jd"] < det.jd]


def _uniform_in_pixel(rng, ipix: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points uniform inside one NESTED pixel of :data:`TILE_NSIDE`."""
    import healpy as hp

    k = 10  # children 10 orders down
    child = ipix * 4**k + rng.integers(0, 4**k, n)
    ra, dec = hp.pix2ang(TILE_NSIDE * 2**k, child, nest=True, lonlat=True)
    return np.asarray(ra, float), np.asarray(dec, float)


def _points_on_footprint(rng, fp, ra0: float, dec0: float, n: int
                         ) -> tuple[np.ndarray, np.ndarray]:
    """About ``n`` points uniform on a footprint (drawn in its circumscribed cap, kept
    on the detectors, redrawn to reach ``n``)."""
    from tooflow.planning.coverage import points_in_fields

    rmax = math.radians(fp.circumradius)
    ras: list[np.ndarray] = []
    decs: list[np.ndarray] = []
    need = n
    for _ in range(20):
        if need <= 0:
            break
        m = max(need * 3, 8)
        # uniform in a spherical cap around the pole, then rotated to (ra0, dec0)
        cos_t = rng.uniform(math.cos(rmax), 1.0, m)
        phi = rng.uniform(0, 2 * math.pi, m)
        sin_t = np.sqrt(1 - cos_t**2)
        x, y, z = sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t
        # rotate the pole to (ra0, dec0)
        a, d = math.radians(ra0), math.radians(dec0)
        ca, sa, cd, sd = math.cos(a), math.sin(a), math.cos(d), math.sin(d)
        X = x * sd * ca - y * sa + z * cd * ca
        Y = x * sd * sa + y * ca + z * cd * sa
        Z = -x * cd + z * sd
        pra = np.degrees(np.arctan2(Y, X)) % 360.0
        pdec = np.degrees(np.arcsin(np.clip(Z, -1, 1)))
        _, keep = points_in_fields(fp, [ra0], [dec0], pra, pdec)
        keep = np.sort(keep)[:need]
        ras.append(pra[keep])
        decs.append(pdec[keep])
        need -= len(keep)
    return (np.concatenate(ras) if ras else np.zeros(0),
            np.concatenate(decs) if decs else np.zeros(0))


#: Injection parameters that are records, not light-curve model parameters.
RECORD_ONLY = ("offset", "event_time")


def counterpart_light_curve(injection: Injection) -> Callable[[str, float], float]:
    """``(filter, days since t0) → apparent AB mag`` of an injection.

    The model is tooflow.counterparts' (kilonova: AT2017gfo's photometry;
    afterglow: afterglowpy), shifted by the injection's recorded population
    offset ``params["offset"]`` (mag) and seen at its distance.
    """
    from tooflow.counterparts import counterpart_model

    p = dict(injection.params)
    offset = float(p.pop("offset", 0.0))
    model_params = {k: v for k, v in p.items() if k not in RECORD_ONLY}
    model = counterpart_model(injection.model, **model_params)
    d = injection.distance_mpc

    def mag(filt: str, days: float) -> float:
        return float(model.apparent_magnitude(filt, days, d, offset))

    return mag
