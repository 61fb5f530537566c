"""Read sky-map FITS bytes into the one multi-order table the planner uses.

Every sky map tooflow handles — LVK multi-order maps embedded in alerts, flat
HEALPix maps from GraceDB URLs, Fermi GBM ``glg_healpix`` files, IPN maps — is
turned into an :class:`astropy.table.Table` shaped like the result of
``ligo.skymap.io.fits.read_sky_map(..., moc=True)``: columns ``UNIQ`` (int64,
NUNIQ HEALPix index), ``PROBDENSITY`` (sr⁻¹) and, when the map has distance
layers, ``DISTMU``, ``DISTSIGMA`` (Mpc) and ``DISTNORM`` (Mpc⁻²). Header cards
become ``meta`` entries with ligo.skymap's names (``objid``, ``distmean``,
``diststd``, ``instruments``, ...).

Flat maps are converted by :func:`tooflow.skymap.flat.flat_to_moc`.

Everything is read from memory: no temporary files.
"""

from __future__ import annotations

import io
import warnings
import zlib

import numpy as np
from astropy.io import fits
from astropy.table import Table

from ..errors import NoticeRejected
from .flat import DIST_COLUMNS, flat_to_moc
from .stream import (
    TableLayout,
    count_decompressed,
    peek_table,
    read_flat_downsampled,
    sum_to_parents,
)

__all__ = [
    "moc_levels",
    "FLAT_NSIDE",
    "FLAT_NSIDE_DISTANCES",
    "MAX_FLAT_NSIDE",
    "MAX_MOC_ROWS",
    "MAX_SKYMAP_BYTES",
    "WHOLE_READ_BYTES",
    "NORMALISATION_TOLERANCE",
    "WARNING_KEY",
    "DIST_COLUMNS",
    "check_fits_bytes",
    "moc_to_bytes",
    "read_skymap_bytes",
    "verify_skymap_bytes",
]

#: Largest sky map file accepted, as received or downloaded (bytes, compressed or not).
MAX_SKYMAP_BYTES = 256 << 20

#: Largest table read whole (decompressed bytes): every multi-order map (LVK's are
#: 1-10 MB) and flat maps up to nside 1024 in float32. A multi-order map declaring
#: more is refused from its header; a larger flat map is read in chunks.
WHOLE_READ_BYTES = 64 << 20

#: Flat maps finer than this are summed to it while they are read (NESTED order),
#: so that memory stays bounded: an nside-1024 pixel is 3.4 arcmin, far below any
#: field of view tooflow plans for.
FLAT_NSIDE = 1024

#: The same for flat maps with distance layers (four layers to carry): nside 512,
#: 6.9 arcmin pixels.
FLAT_NSIDE_DISTANCES = 512

#: Most rows a flat map may become: a map whose 99.9 % region needs more pixels
#: than this (probability spread over most of the sky at nside 1024: 12.6 M
#: rows, 1.2 GB to summarise) is summed to coarser levels until it does not.
MAX_MOC_ROWS = 1 << 20

#: Flat maps declaring a finer nside are refused from their header, before any
#: of their data is read (an nside-8192 float64 map is 6.4 GB decompressed).
MAX_FLAT_NSIDE = 4096

#: A map whose probabilities sum to 1 within this is used as it is (float32
#: maps sum to 1 within ~1e-6); otherwise it is renormalised, with a warning.
NORMALISATION_TOLERANCE = 1e-3
#: ``meta`` key of the table :func:`read_skymap_bytes` returns: what was repaired.
WARNING_KEY = "tooflow_warning"

FITS_BLOCK = 2880
GZIP_MAGIC = b"\x1f\x8b"
FITS_MAGIC = b"SIMPLE  ="

def _gunzip(data: bytes, max_bytes: int) -> bytes:
    """Decompress gzip bytes, refusing truncated streams and bombs."""
    decomp = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = decomp.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise NoticeRejected(f"sky map is not valid gzip: {exc}") from exc
    if len(out) > max_bytes:
        raise NoticeRejected(f"gzip sky map decompresses to more than {max_bytes} bytes")
    if not decomp.eof:
        raise NoticeRejected("gzip sky map is truncated (compressed stream ends early)")
    return out


def _hdu_data_bytes(header: fits.Header) -> int:
    """Size in bytes of an HDU's data part, from its header (FITS standard 4.4.1)."""
    naxis = int(header.get("NAXIS", 0))
    if naxis == 0:
        return 0
    n = 1
    for i in range(1, naxis + 1):
        n *= int(header.get(f"NAXIS{i}", 0))
    bitpix = abs(int(header.get("BITPIX", 8)))
    return bitpix // 8 * int(header.get("GCOUNT", 1)) * (int(header.get("PCOUNT", 0)) + n)


def check_fits_bytes(data: bytes, *, what: str = "sky map",
                     max_bytes: int = MAX_SKYMAP_BYTES) -> tuple[fits.HDUList, bytes]:
    """Check that bytes are a complete FITS file with a binary table, and open it.

    Cheap: headers are parsed, table data is not converted.

    Parameters
    ----------
    data : bytes
        FITS file, optionally gzip-compressed.
    what : str
        How to name the data in error messages (e.g. ``"event.skymap"``).
    max_bytes : int
        Largest accepted size after decompression, in bytes.

    Returns
    -------
    hdulist : astropy.io.fits.HDUList
        The opened file (in memory).
    raw : bytes
        The decompressed FITS bytes.

    Raises
    ------
    NoticeRejected
        If the bytes are empty, not FITS, truncated or without a binary table.
    """
    if not data:
        raise NoticeRejected(f"{what} is empty")
    if data[:2] == GZIP_MAGIC:
        data = _gunzip(data, max_bytes)
    elif len(data) > max_bytes:
        raise NoticeRejected(f"{what} of {len(data)} bytes exceeds the {max_bytes}-byte limit")
    if not data.startswith(FITS_MAGIC):
        raise NoticeRejected(
            f"{what} is not a FITS file: starts with {data[:16]!r}, expected 'SIMPLE  ='"
        )
    if len(data) % FITS_BLOCK:
        raise NoticeRejected(
            f"{what} is truncated: {len(data)} bytes is not a whole number of "
            f"{FITS_BLOCK}-byte FITS blocks"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hdulist = fits.open(io.BytesIO(data), memmap=False, lazy_load_hdus=False)
    except Exception as exc:  # astropy raises OSError, ValueError, IndexError, ...
        raise NoticeRejected(f"{what} is not readable FITS: {exc}") from exc
    for i, hdu in enumerate(hdulist):
        info = hdulist.fileinfo(i)
        needed = info["datLoc"] + _hdu_data_bytes(hdu.header)
        if needed > len(data):
            raise NoticeRejected(
                f"{what} is truncated: HDU {i} needs {needed} bytes, file has {len(data)}"
            )
    if not any(isinstance(hdu, fits.BinTableHDU) for hdu in hdulist):
        raise NoticeRejected(f"{what} has no binary table HDU (not a HEALPix sky map)")
    return hdulist, data


def moc_levels(uniq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order and nested pixel index of NUNIQ indices (vectorised).

    Parameters
    ----------
    uniq : numpy.ndarray
        NUNIQ indices (int64).

    Returns
    -------
    order, ipix : numpy.ndarray
        HEALPix order and nested pixel index of each.
    """
    order = (np.floor(np.log2(uniq)).astype(np.int64) - 2) // 2
    ipix = uniq - 4 * (np.int64(1) << (2 * order))
    return order, ipix


def read_skymap_bytes(data: bytes, *, max_bytes: int = MAX_SKYMAP_BYTES) -> Table:
    """Read a sky map from bytes as a multi-order table.

    Parameters
    ----------
    data : bytes
        A multi-order (NUNIQ) or flat (RING/NESTED) HEALPix FITS file, gzip
        compressed or not. Fermi GBM's ``PROBABILITY`` column and 1024-wide
        rows are understood (through ligo.skymap).
    max_bytes : int
        Largest accepted size after decompression, in bytes.

    Returns
    -------
    astropy.table.Table
        ``UNIQ``, ``PROBDENSITY`` (sr⁻¹) and, if present, ``DISTMU``,
        ``DISTSIGMA`` (Mpc), ``DISTNORM`` (Mpc⁻²); header metadata in ``meta``
        (``distmean``/``diststd`` in Mpc when the producer wrote them).
        Other columns (e.g. GBM ``SIGNIFICANCE``) are dropped.

    Raises
    ------
    NoticeRejected
        If the bytes are not a complete, valid HEALPix sky map (negative, NaN or
        infinite probability, zero total, overlapping pixels, ...); the message
        says what is wrong. A map that sums to other than 1 is renormalised and
        ``meta[WARNING_KEY]`` says so.
    """
    from ligo.skymap.io.fits import read_sky_map

    if not data:
        raise NoticeRejected("sky map is empty")
    if len(data) > max_bytes:
        raise NoticeRejected(f"sky map of {len(data)} bytes exceeds the {max_bytes}-byte limit")
    # headers only: sizes are checked before anything is allocated
    layout = peek_table(data, max_header_bytes=max_bytes)
    has_dist = all(k in layout.columns for k in DIST_COLUMNS)
    nside = FLAT_NSIDE_DISTANCES if has_dist else FLAT_NSIDE
    if layout.npix and (layout.nside > nside or layout.data_bytes > WHOLE_READ_BYTES):
        table = _read_large_flat(data, layout, min(layout.nside, nside), has_dist)
    else:
        if layout.data_bytes > WHOLE_READ_BYTES:
            raise NoticeRejected(
                f"sky map declares {layout.data_bytes} bytes of table data "
                f"({layout.rows} rows of {layout.row_bytes} bytes), over the "
                f"{WHOLE_READ_BYTES}-byte limit for a {'multi-order' if layout.moc else ''} "
                "map".replace("  ", " "))
        table = _read_whole(data, min(max_bytes, 2 * WHOLE_READ_BYTES), read_sky_map)
    if "PROBDENSITY" not in table.colnames:
        raise NoticeRejected("multi-order sky map has no PROBDENSITY column")
    keep = ["UNIQ", "PROBDENSITY", *[k for k in DIST_COLUMNS if k in table.colnames]]
    table = table[keep]
    _check_values(table)
    return table


def verify_skymap_bytes(data: bytes, *, what: str = "sky map",
                        max_bytes: int = MAX_SKYMAP_BYTES) -> TableLayout:
    """Check that bytes are a complete FITS sky map of an acceptable size, in bounded memory.

    What a parser needs before storing a notice: the headers are read (only
    they are decompressed into memory), the declared sizes are checked against
    the limits, and the table data is streamed through to confirm that it is
    all there (never held whole).

    Returns
    -------
    TableLayout
        What the header declares.

    Raises
    ------
    NoticeRejected
        Empty, not FITS, truncated, no binary table, or over a limit.
    """
    if not data:
        raise NoticeRejected(f"{what} is empty")
    if len(data) > max_bytes:
        raise NoticeRejected(f"{what} of {len(data)} bytes exceeds the {max_bytes}-byte limit")
    layout = peek_table(data, what=what, max_header_bytes=max_bytes)
    if layout.npix and layout.nside > MAX_FLAT_NSIDE:
        raise NoticeRejected(f"{what}: flat map of nside {layout.nside} is finer than the "
                             f"nside {MAX_FLAT_NSIDE} limit; refused from its header")
    if not layout.npix and layout.data_bytes > WHOLE_READ_BYTES:
        raise NoticeRejected(f"{what} declares {layout.data_bytes} bytes of table data, over "
                             f"the {WHOLE_READ_BYTES}-byte limit")
    end = layout.data_offset + layout.data_bytes
    if data[:2] != GZIP_MAGIC:
        if len(data) < end:
            raise NoticeRejected(f"{what} is truncated: its table needs {end} bytes, the file "
                                 f"has {len(data)}")
    elif count_decompressed(data, end, what=what) < end:
        raise NoticeRejected(f"{what} is truncated: its table needs {end} bytes")
    return layout


def _read_large_flat(data: bytes, layout: TableLayout, nside: int, has_dist: bool) -> Table:
    """A flat map too large to read whole: refused past MAX_FLAT_NSIDE, else summed to
    ``nside`` while read."""
    dtype = ", ".join(sorted({f"{n} {np.dtype(t).name}" for n, (t, _) in
                              layout.columns.items()}))
    if layout.nside > MAX_FLAT_NSIDE:
        raise NoticeRejected(
            f"flat sky map of nside {layout.nside} ({layout.npix} pixels; {dtype}; "
            f"{layout.data_bytes} bytes decompressed) is finer than the nside "
            f"{MAX_FLAT_NSIDE} limit; refused from its header")
    try:
        prob, dist, meta = read_flat_downsampled(data, layout, nside, distances=has_dist)
    except NoticeRejected:
        raise
    except Exception as exc:  # numpy/ligo.skymap on a malformed table
        raise NoticeRejected(
            f"sky map is not a readable HEALPix map: {exc.__class__.__name__}: {exc}"
        ) from exc
    if not np.all(np.isfinite(prob)) or np.any(prob < 0):
        raise NoticeRejected("sky map has negative, NaN or infinite probability density")
    table = _bounded_moc(prob, dist, meta)
    if _moc_nside(table) < layout.nside:
        table.meta["downsampled_from_nside"] = layout.nside
    return table


def _moc_nside(table: Table) -> int:
    order = (int(np.log2(int(np.max(table["UNIQ"])))) - 2) // 2
    return 1 << order


def _bounded_moc(prob: np.ndarray, dist: dict[str, np.ndarray] | None,
                 meta: dict) -> Table:
    """:func:`flat_to_moc`, one level coarser at a time while its 99.9 % region
    would need more than MAX_MOC_ROWS pixels."""
    from .flat import KEEP_CREDIBLE_LEVEL

    prob = np.asarray(prob, dtype=np.float64)
    while len(prob) > 12 * 64 * 64 and _region_size(prob, KEEP_CREDIBLE_LEVEL) > MAX_MOC_ROWS:
        prob, dist = sum_to_parents(prob, dist)
    return flat_to_moc(prob, dist=dist, meta=meta)


def _region_size(prob: np.ndarray, keep: float) -> int:
    """About how many of the most probable pixels hold ``keep`` of the probability.

    Bisection on a probability threshold with masked sums: no sort, no index
    arrays (the greedy sort of a 12.6 M-pixel map needs ~500 MB).
    """
    target = keep * float(prob.sum())
    lo, hi = 0.0, float(prob.max())
    for _ in range(40):
        mid = (lo + hi) / 2
        if float(np.sum(prob, where=prob >= mid)) >= target:
            lo = mid
        else:
            hi = mid
    return int(np.count_nonzero(prob >= lo))


def _read_whole(data: bytes, max_bytes: int, read_sky_map) -> Table:
    """A map small enough to decompress whole, read by ligo.skymap."""
    hdulist, _ = check_fits_bytes(data, max_bytes=max_bytes)
    hdu = next(h for h in hdulist if isinstance(h, fits.BinTableHDU))
    names = {name.upper() for name in hdu.columns.names}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if "UNIQ" in names:
                table = read_sky_map(hdu, moc=True)
            else:
                has_dist = all(k in names for k in DIST_COLUMNS)
                if not ({"PROB", "PROBABILITY"} & names):
                    raise ValueError(f"no PROB/PROBABILITY column (columns: {sorted(names)})")
                result, meta = read_sky_map(hdu, nest=True, distances=has_dist)
                layers = result if has_dist else (result,)
                dist = dict(zip(DIST_COLUMNS, layers[1:], strict=False)) if has_dist else None
                table = _bounded_moc(layers[0], dist, meta)
    except NoticeRejected:
        raise
    except Exception as exc:  # ligo.skymap/astropy raise ValueError, KeyError, ...
        raise NoticeRejected(
            f"sky map is not a readable HEALPix map: {exc.__class__.__name__}: {exc}"
        ) from exc
    finally:
        hdulist.close()
    return table


def _check_values(table: Table) -> None:
    """Refuse maps whose pixels or probabilities make no sense; renormalise a wrong sum.

    A renormalised map says so in ``table.meta[WARNING_KEY]``.
    """
    uniq = np.asarray(table["UNIQ"])
    if len(uniq) == 0:
        raise NoticeRejected("sky map has no pixels")
    if np.any(uniq < 4):
        raise NoticeRejected("sky map has invalid UNIQ pixel indices (< 4)")
    order, _ = moc_levels(uniq)
    if np.any(order > 29):
        raise NoticeRejected("sky map has UNIQ pixel indices beyond HEALPix order 29")
    dens = np.asarray(table["PROBDENSITY"], dtype=np.float64)
    if not np.all(np.isfinite(dens)) or np.any(dens < 0):
        raise NoticeRejected("sky map has negative, NaN or infinite probability density")
    area = 4 * np.pi / (12 * 4.0 ** order)
    if float(np.sum(area)) > 4 * np.pi * (1 + 1e-9):
        raise NoticeRejected(
            f"sky map pixels cover {np.sum(area) / (4 * np.pi):.6g} times the sky: "
            "duplicate or overlapping UNIQ pixels")
    total = float(np.sum(dens * area))
    if not total > 0:
        raise NoticeRejected("sky map has zero total probability")
    if abs(total - 1.0) > NORMALISATION_TOLERANCE:
        # The shape is usable; the numbers derived from it (coverage, circular
        # percentages) are only right once it sums to 1. Say so on the localization.
        table["PROBDENSITY"] = dens / total
        table.meta[WARNING_KEY] = (f"sky map probabilities summed to {total:.6g}, not 1: "
                                   "renormalised")


def moc_to_bytes(moc: Table) -> bytes:
    """Write a multi-order table as multi-order FITS bytes.

    Uses ``ligo.skymap.io.fits.write_sky_map`` (header cards from ``meta``, units,
    ``ORDERING = NUNIQ``), in memory. The input table is not modified.

    Parameters
    ----------
    moc : astropy.table.Table
        ``UNIQ``, ``PROBDENSITY`` (sr⁻¹) [, ``DISTMU``, ``DISTSIGMA``, ``DISTNORM``].

    Returns
    -------
    bytes
        An uncompressed FITS file that :func:`read_skymap_bytes` reads back.
    """
    from ligo.skymap.io.fits import write_sky_map

    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_sky_map(buf, moc.copy(copy_data=False))
    return buf.getvalue()
