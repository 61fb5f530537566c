"""Picture of a plan: the sky map and each telescope's planned fields."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..telescopes import Footprint, Telescope, load_telescope
from .result import Plan

__all__ = ["footprint_outline", "plot_plan"]

#: Colours per telescope (colour-blind friendly, distinct from the map's colormap).
COLOURS = ["#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#17becf"]


def footprint_outline(footprint: Footprint, ra: float, dec: float, n: int = 8) -> np.ndarray:
    """Outline of a footprint centred at (ra, dec) as an (m, 2) array of RA, Dec (deg).

    Polygon footprints are drawn as their convex hull (the ZTF camera's outer
    edge rather than its 64 quadrants); edges are densified with ``n`` points.
    """
    if footprint.radius is not None:
        t = np.linspace(0, 2 * np.pi, 73)
        local = footprint.radius * np.column_stack([np.cos(t), np.sin(t)])
    else:
        from scipy.spatial import ConvexHull

        pts = np.concatenate(footprint.polygons)
        hull = pts[ConvexHull(pts).vertices]
        hull = np.vstack([hull, hull[:1]])
        seg = [np.linspace(hull[i], hull[i + 1], n, endpoint=False) for i in range(len(hull) - 1)]
        local = np.vstack(seg + [hull[:1]])
    # local (lon, lat) -> unit vectors in the field frame -> rotate to (ra, dec)
    lon, lat = np.radians(local[:, 0]), np.radians(local[:, 1])
    v = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    a, d = np.radians(ra), np.radians(dec)
    x2, y2, z2 = v[:, 0], v[:, 1], v[:, 2]
    x1 = x2 * np.cos(d) - z2 * np.sin(d)
    z = x2 * np.sin(d) + z2 * np.cos(d)
    x = x1 * np.cos(a) - y2 * np.sin(a)
    y = x1 * np.sin(a) + y2 * np.cos(a)
    out_ra = np.degrees(np.arctan2(y, x)) % 360.0
    out_dec = np.degrees(np.arcsin(np.clip(z, -1, 1)))
    # keep the outline continuous in RA (no jump across 0/360)
    out_ra = np.degrees(np.unwrap(np.radians(out_ra)))
    return np.column_stack([out_ra, out_dec])


def plot_plan(
    plan: Plan,
    moc,
    path: str | Path,
    telescopes: list[Telescope] | None = None,
    title: str | None = None,
) -> Path:
    """Draw the sky map with each telescope's planned fields; save a PNG.

    A plan without exposures (not observable in the window) draws the map alone
    and says so in the legend.

    Parameters
    ----------
    plan : Plan
    moc : astropy.table.Table
        The multi-order sky map the plan was made for.
    path : str or Path
        Output PNG file.
    telescopes : list of Telescope, optional
        Telescope descriptions (footprints); loaded by name when omitted.
    title : str, optional
    """
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    with warnings.catch_warnings():
        # ligo.skymap imports reproject's private healpix utilities (harmless)
        warnings.filterwarnings("ignore", message=".*reproject.healpix.utils.*")
        import ligo.skymap.plot  # noqa: F401 - registers the astro projections
        from ligo.skymap.plot import reproject_from_healpix_moc  # noqa: F401
    import matplotlib.pyplot as plt
    from ligo.skymap.moc import rasterize
    from ligo.skymap.postprocess import find_greedy_credible_levels
    from matplotlib.patches import Patch, Polygon

    tels = {t.name: t for t in (telescopes or [])}
    flat = rasterize(moc, order=7)
    prob = np.asarray(flat["PROBDENSITY"], float)
    cls = 100 * find_greedy_credible_levels(prob / prob.sum())

    order = np.argsort(prob)[::-1]
    area90 = (np.searchsorted(np.cumsum(prob[order]), 0.9 * prob.sum()) + 1) * (
        4 * 180**2 / np.pi / len(prob))
    zoom = area90 < 2000.0
    fig = plt.figure(figsize=(15 if zoom else 10, 6.2), dpi=110)
    axes = [fig.add_axes([0.02, 0.18, 0.62 if zoom else 0.96, 0.74],
                         projection="astro hours mollweide")]
    if zoom:
        import healpy as hp
        from astropy import units as u
        from astropy.coordinates import SkyCoord

        # a map smaller than one pixel of this grid (a 0.03° Swift circle) has no
        # pixel inside its 90 % level: zoom on its most probable pixels instead
        inside = cls <= max(90.0, float(cls.min()))
        ra90, dec90 = hp.pix2ang(128, np.flatnonzero(inside), nest=True, lonlat=True)
        vec = hp.ang2vec(ra90, dec90, lonlat=True).mean(axis=0)
        cra, cdec = hp.vec2ang(vec / np.linalg.norm(vec), lonlat=True)
        sep = np.degrees(np.arccos(np.clip(hp.ang2vec(ra90, dec90, lonlat=True)
                                           @ (vec / np.linalg.norm(vec)), -1, 1)))
        radius = float(min(max(sep.max() * 1.4, 3.0), 60.0))
        centre = SkyCoord(cra[0] * u.deg, cdec[0] * u.deg)
        axes.append(fig.add_axes([0.71, 0.18, 0.27, 0.74], projection="astro degrees zoom",
                                 center=centre, radius=f"{radius} deg"))
    handles = []
    names = plan.telescopes or sorted({o.telescope for o in plan.observations})
    # fields filled by exposure time (log scale), outlined in their telescope's colour
    from matplotlib.colors import LogNorm

    texp = [o.exposure_time for o in plan.observations] or [30.0]
    tnorm = LogNorm(vmin=min(min(texp), 30.0) * 0.99, vmax=max(max(texp), 300.0))
    tcmap = plt.get_cmap("plasma")
    if zoom:
        axes[1].coords[0].set_axislabel("RA")
        axes[1].coords[1].set_axislabel("Dec")
    for ax in axes:
        ax.grid(alpha=0.4)
        ax.imshow_hpx((prob, "ICRS"), nested=True, cmap="Greys", zorder=0)
        ax.contour_hpx((cls, "ICRS"), nested=True, levels=[50, 90], colors="k",
                       linewidths=[0.6, 1.2], zorder=1)
    for j, name in enumerate(names):
        colour = COLOURS[j % len(COLOURS)]
        tel = tels.get(name) or load_telescope(name)
        seen = set()
        for o in plan.observations:
            if o.telescope != name:
                continue
            key = (o.field_id, o.target, round(o.ra, 5), round(o.dec, 5))
            if key in seen:
                continue
            seen.add(key)
            xy = footprint_outline(tel.footprint, o.ra, o.dec)
            for ax in axes:
                world = ax.get_transform("world")
                # wrapped copies so fields straddling RA = 0 show on both sides
                for shift in (0.0, -360.0, 360.0):
                    pts = xy + [shift, 0.0]
                    if pts[:, 0].max() < 0 or pts[:, 0].min() > 360:
                        continue
                    pts = pts.copy()
                    pts[:, 0] = np.clip(pts[:, 0], 0.0, 359.999)
                    ax.add_patch(Polygon(pts, closed=True, transform=world,
                                         facecolor=tcmap(tnorm(o.exposure_time)),
                                         edgecolor=colour, alpha=0.45, lw=0.9, zorder=2))
        label = (f"{name}: {len(seen)} {'fields' if tel.has_grid else 'targets'}, "
                 f"{100 * plan.per_telescope.get(name, 0.0):.1f} %")
        handles.append(Patch(facecolor="none", edgecolor=colour, lw=2, label=label))
    union = (f"network (union) {100 * plan.objective:.1f} % {plan.objective_name}"
             if plan.observations else "not observable in the window: nothing planned")
    if plan.observations:
        from matplotlib.cm import ScalarMappable

        cax = fig.add_axes([0.30, 0.085, 0.40, 0.018])
        bar = fig.colorbar(ScalarMappable(norm=tnorm, cmap=tcmap), cax=cax,
                           orientation="horizontal")
        ticks = [t for t in (30, 60, 120, 300, 600) if tnorm.vmin <= t <= tnorm.vmax]
        bar.set_ticks(ticks, labels=[str(t) for t in ticks])
        bar.ax.minorticks_off()
        bar.set_label("exposure time (s); outline: telescope", fontsize=8)
        if plan.detected is not None:
            union += (f"; covered {100 * (plan.covered or 0):.1f} %, "
                      f"detection {100 * plan.detected:.1f} % (model)")
    handles.append(Patch(facecolor="none", edgecolor="k",
                         label=f"{union}; contours: 50 %, 90 % credible"))
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=9, frameon=False,
               bbox_to_anchor=(0.5, -0.06))
    fig.suptitle(title or f"Plan {plan.start:%Y-%m-%d %H:%M} UTC + "
                 f"{(plan.end - plan.start).total_seconds() / 3600:.0f} h", y=0.99)
    path = Path(path)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
