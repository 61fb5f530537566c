"""Large flat HEALPix maps generated on the fly, streamed into gzip (no large blob committed).

The probability is uniform over the children of one nside-64 pixel (NESTED
index :data:`PATCH`), zero elsewhere: an nside-4096 float32 map is 805 MB of
table data but compresses to under a megabyte (the 787 kB Avro notice of
issue 10), and what a reader must find is known exactly. Optional distance
layers put the patch at 40 ± 8 Mpc.
"""

from __future__ import annotations

import zlib

import numpy as np
from astropy.io import fits

__all__ = ["PATCH", "PATCH_NSIDE", "flat_map_gz"]

PATCH_NSIDE = 64
#: NESTED index, at nside 64, of the pixel holding all the probability.
PATCH = 20_000
_ROWS = 1 << 21


def _table_header(nside: int, dtype: str, nest: bool, distances: bool) -> fits.Header:
    code = {"float32": "E", "float64": "D"}[dtype]
    names = ["PROB"] + (["DISTMU", "DISTSIGMA", "DISTNORM"] if distances else [])
    cards = [("XTENSION", "BINTABLE"), ("BITPIX", 8), ("NAXIS", 2),
             ("NAXIS1", np.dtype(dtype).itemsize * len(names)), ("NAXIS2", 12 * nside ** 2),
             ("PCOUNT", 0), ("GCOUNT", 1), ("TFIELDS", len(names))]
    for i, name in enumerate(names, 1):
        cards += [(f"TTYPE{i}", name), (f"TFORM{i}", code)]
    cards += [("PIXTYPE", "HEALPIX"), ("ORDERING", "NESTED" if nest else "RING"),
              ("COORDSYS", "C"), ("NSIDE", nside), ("INDXSCHM", "IMPLICIT"),
              ("OBJECT", "GENERATED"), ("CREATOR", "tests/generated_maps.py")]
    return fits.Header(cards)


def flat_map_gz(nside: int, *, dtype: str = "float32", nest: bool = True,
                distances: bool = False, level: int = 1) -> bytes:
    """A gzipped flat HEALPix FITS map, written chunk by chunk (memory: one chunk)."""
    from astropy_healpix.core import ring_to_nested
    from ligo.skymap.distance import parameters_to_moments

    per_patch = (nside // PATCH_NSIDE) ** 2
    lo, hi = PATCH * per_patch, (PATCH + 1) * per_patch
    norm = float(parameters_to_moments(40.0, 8.0)[2])
    header = _table_header(nside, dtype, nest, distances)
    names = [header[f"TTYPE{i}"] for i in range(1, header["TFIELDS"] + 1)]
    row = np.dtype([(n, ">" + np.dtype(dtype).str[1:]) for n in names])
    comp = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [comp.compress(fits.PrimaryHDU().header.tostring().encode()),
           comp.compress(header.tostring().encode())]
    npix = 12 * nside ** 2
    for start in range(0, npix, _ROWS):
        ipix = np.arange(start, min(npix, start + _ROWS), dtype=np.int64)
        nested = ipix if nest else ring_to_nested(ipix, nside)
        inside = (nested >= lo) & (nested < hi)
        chunk = np.zeros(len(ipix), dtype=row)
        chunk["PROB"][inside] = 1.0 / per_patch
        if distances:
            chunk["DISTMU"] = np.where(inside, 40.0, np.inf)
            chunk["DISTSIGMA"] = np.where(inside, 8.0, 1.0)
            chunk["DISTNORM"] = np.where(inside, norm, 0.0)
        out.append(comp.compress(chunk.tobytes()))
    size = npix * row.itemsize
    out.append(comp.compress(bytes(-size % 2880)))
    out.append(comp.flush())
    return b"".join(out)
