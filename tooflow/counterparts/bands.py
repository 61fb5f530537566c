"""Photometric bands the counterpart models know, and how telescope filters map to them.

A telescope's filter name (``g``, ``ztfr``, ``sdssi``, ``J``, ``Ks`` …) is reduced to one
of the bands below. ZTF, DECam, PS1 and SDSS g/r/i/z differ by a few hundredths of a
magnitude on a red kilonova, far below the model's spread, so they share a band.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Band", "BANDS", "band_for"]

#: speed of light (Å/s), for band frequencies
_C_ANGSTROM = 2.99792458e18


@dataclass(frozen=True)
class Band:
    """One photometric band.

    Attributes
    ----------
    name : str
        tooflow's band name (``u g r i z y J H Ks``).
    at2017gfo : str
        Filter name of this band in the AT2017gfo photometry (SkyPortal's names).
    wavelength : float
        Effective wavelength (Å).
    extinction : float
        A_band / E(B−V)_SFD (Schlafly & Finkbeiner 2011, Table 6, R_V = 3.1).
    """

    name: str
    at2017gfo: str
    wavelength: float
    extinction: float

    @property
    def frequency(self) -> float:
        """Frequency (Hz) at the effective wavelength."""
        return _C_ANGSTROM / self.wavelength


BANDS: dict[str, Band] = {
    b.name: b
    for b in (
        Band("u", "sdssu", 3546.0, 4.239),
        Band("g", "ps1::g", 4849.0, 3.172),
        Band("r", "ps1::r", 6201.0, 2.271),
        Band("i", "ps1::i", 7535.0, 1.682),
        Band("z", "ps1::z", 8674.0, 1.322),
        Band("y", "ps1::y", 9628.0, 1.087),
        Band("J", "2massj", 12350.0, 0.709),
        Band("H", "2massh", 16620.0, 0.449),
        Band("Ks", "2massks", 21590.0, 0.302),
    )
}

_PREFIXES = ("ps1::", "ps1", "sdss", "ztf", "decam", "2mass", "lsst", "atlas", "wfc3")
_LOWER = {"u": "u", "g": "g", "r": "r", "i": "i", "z": "z", "y": "y",
          "j": "J", "h": "H", "k": "Ks", "ks": "Ks"}


def band_for(filter_name: str) -> Band:
    """The model band of a telescope filter.

    Parameters
    ----------
    filter_name : str
        ``g``, ``r``, ``ztfg``, ``sdssi``, ``ps1::z``, ``J``, ``2massks``, ``Ks`` …

    Raises
    ------
    ValueError
        For a filter no band stands for (the error names the known bands).

    Examples
    --------
    >>> band_for("ztfr").name, band_for("2massj").name, band_for("K").name
    ('r', 'J', 'Ks')
    """
    key = str(filter_name).strip()
    low = key.lower()
    for p in _PREFIXES:
        if low.startswith(p) and len(low) > len(p):
            low = low[len(p):].lstrip(":_ ")
            break
    name = _LOWER.get(low)
    if name is None:
        raise ValueError(
            f"no counterpart model band for filter {filter_name!r} "
            f"(known: {', '.join(BANDS)}, with ztf/sdss/ps1/decam/2mass prefixes)"
        )
    return BANDS[name]
