"""PNG pictures of a candidate: its light curve and its cutouts (matplotlib, Agg)."""

from __future__ import annotations

import gzip
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..models import CandidateCutout, CandidatePhotometry

__all__ = ["FILTER_COLOURS", "cutout_image", "save_cutouts_png", "save_light_curve_png",
           "thumbnail_data_uri"]

#: Colours by filter name (others: grey).
FILTER_COLOURS = {"ztfg": "tab:green", "g": "tab:green", "sdssg": "tab:green",
                  "ps1::g": "tab:green", "ztfr": "tab:red", "r": "tab:red", "sdssr": "tab:red",
                  "ps1::r": "tab:red", "ztfi": "goldenrod", "i": "goldenrod",
                  "sdssi": "goldenrod", "ps1::i": "goldenrod", "z": "tab:brown",
                  "ps1::z": "tab:brown", "J": "tab:purple", "2massj": "tab:purple",
                  "H": "tab:pink", "2massh": "tab:pink", "Ks": "black", "2massks": "black"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_light_curve_png(photometry: Sequence[CandidatePhotometry], path: Path, *,
                         title: str = "") -> Path:
    """Detections with error bars and upper limits (▼), magnitude axis inverted.

    Detections on a negative difference (the source fainter than in the
    template, ZTF ``isdiffpos`` f) are open circles.

    Parameters
    ----------
    photometry : sequence of CandidatePhotometry
        The candidate's measurements.
    path : Path
        Where to write the PNG.
    title : str
        Figure title (the candidate's name).

    Returns
    -------
    Path
        ``path``.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    try:
        bands = sorted({p.filter for p in photometry})
        for band in bands:
            colour = FILTER_COLOURS.get(band, "grey")
            det = [p for p in photometry if p.filter == band and not p.is_upper_limit]
            ul = [p for p in photometry if p.filter == band and p.is_upper_limit
                  and p.limiting_mag is not None]
            for negative in (False, True):
                pts = [p for p in det if (p.isdiffpos is False) == negative]
                if pts:
                    ax.errorbar([p.jd - 2400000.5 for p in pts], [p.mag for p in pts],
                                yerr=[p.magerr or 0.0 for p in pts], fmt="o", ms=4,
                                color=colour, mfc="none" if negative else colour,
                                label=f"{band} (negative difference)" if negative else band)
            if ul:
                ax.scatter([p.jd - 2400000.5 for p in ul], [p.limiting_mag for p in ul],
                           marker="v", s=18, color=colour, alpha=0.45,
                           label=None if det else f"{band} (limits)")
        ax.invert_yaxis()
        ax.set_xlabel("MJD (UTC)")
        ax.set_ylabel("AB magnitude")
        ax.set_title(title or "light curve")
        if bands:
            ax.legend(fontsize=8, loc="best")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def cutout_image(data: bytes) -> np.ndarray:
    """The 2-D image of a cutout (gzipped FITS or FITS bytes)."""
    import warnings

    from astropy.io import fits
    from astropy.io.fits.verify import VerifyWarning

    raw = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    with warnings.catch_warnings():
        # ZTF's cutouts pad their SIMPLE card off-standard; the image is fine
        warnings.simplefilter("ignore", VerifyWarning)
        with fits.open(io.BytesIO(raw)) as hdul:
            for hdu in hdul:
                if hdu.data is not None and np.ndim(hdu.data) == 2:
                    return np.array(hdu.data, dtype=float)
    raise ValueError("cutout holds no 2-D image")


def save_cutouts_png(cutouts: dict[str, CandidateCutout], path: Path, *,
                     title: str = "") -> Path:
    """Science, template and difference side by side (z-scale, north up as sent).

    Returns
    -------
    Path
        ``path``.
    """
    from astropy.visualization import ZScaleInterval

    plt = _pyplot()
    kinds = [k for k in ("science", "template", "difference") if k in cutouts]
    fig, axes = plt.subplots(1, max(len(kinds), 1), figsize=(3.2 * max(len(kinds), 1), 3.4),
                             dpi=110, squeeze=False)
    try:
        for ax, kind in zip(axes[0], kinds, strict=False):
            try:
                image = cutout_image(cutouts[kind].data)
                finite = image[np.isfinite(image)]
                vmin, vmax = ZScaleInterval().get_limits(finite) if finite.size else (0, 1)
                ax.imshow(image, origin="lower", cmap="gray", vmin=vmin, vmax=vmax)
            except Exception as exc:  # noqa: BLE001 - a broken cutout is shown as such
                ax.text(0.5, 0.5, f"unreadable:\n{type(exc).__name__}", ha="center",
                        va="center", transform=ax.transAxes)
            ax.set_title(kind)
            ax.set_xticks([])
            ax.set_yticks([])
        if not kinds:
            axes[0][0].text(0.5, 0.5, "no cutouts", ha="center", va="center")
            axes[0][0].set_axis_off()
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        path = Path(path)
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def thumbnail_data_uri(data: bytes) -> str | None:
    """A cutout as a small PNG ``data:`` URI (z-scaled, 63×63 as sent) for markdown tables.

    Returns None when the cutout cannot be read (the table says so instead).
    """
    import base64

    from astropy.visualization import ZScaleInterval
    from matplotlib.image import imsave

    try:
        image = cutout_image(data)
    except Exception:  # noqa: BLE001 - a broken cutout gets no thumbnail
        return None
    finite = image[np.isfinite(image)]
    vmin, vmax = ZScaleInterval().get_limits(finite) if finite.size else (0.0, 1.0)
    buf = io.BytesIO()
    imsave(buf, np.nan_to_num(image, nan=vmin), cmap="gray", vmin=vmin, vmax=vmax,
           origin="lower", format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
