"""Large flat HEALPix maps in bounded memory: check the declared size, then sum while reading.

A flat map's size is known from its FITS header before any of its data is
read: ``NSIDE`` (or ``NAXIS2`` × the column repeat) pixels × the bytes of each
row. :func:`peek_table` decompresses only the headers (a few 2880-byte blocks)
and returns that layout, so a map too large to be worth reading is refused
before anything is allocated for it.

:func:`read_flat_downsampled` then reads the table in chunks of rows (gzip
decompressed incrementally, never whole), converts RING indices to NESTED,
and sums each chunk's probabilities into their parent pixels at a coarser
``nside`` (in NESTED order the parent of pixel ``i`` at ``k`` levels up is
``i >> 2k``). Distance layers are combined through their moments (the
probability-weighted mean and second moment of the conditional distance, with
:func:`ligo.skymap.distance.parameters_to_moments` and back), which is exact
for the mixture of the child pixels' distance distributions. Memory is the
coarse arrays plus one chunk, whatever the nside of the file.
"""

from __future__ import annotations

import itertools
import math
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from astropy.io import fits

from ..errors import NoticeRejected

__all__ = ["CHUNK_BYTES", "TableLayout", "count_decompressed", "peek_table",
           "read_flat_downsampled", "sum_to_parents"]

#: Bytes of table rows decoded at a time.
CHUNK_BYTES = 8 << 20

_BLOCK = 2880
_GZIP_MAGIC = b"\x1f\x8b"
#: FITS binary-table column codes → numpy (big-endian) types tooflow reads.
_TFORM_CODES = {"L": "i1", "B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4",
                "D": ">f8"}


class _Reader:
    """Sequential reads from FITS bytes, gzip-decompressed incrementally when compressed."""

    def __init__(self, data: bytes, what: str, limit: int | None = None):
        self._data = memoryview(data)
        self._pos = 0
        self._buf = bytearray()
        self._gz = data[:2] == _GZIP_MAGIC
        self._dec = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS) if self._gz else None
        self._eof = False
        self.what = what
        self.delivered = 0
        self.limit = limit

    def _more(self, want: int) -> None:
        if self._dec is None:
            piece = self._data[self._pos:self._pos + want]
            self._pos += len(piece)
            self._buf += piece
            self._eof = not piece
            return
        if self._dec.eof:
            self._eof = True
            return
        src = self._dec.unconsumed_tail
        if not src:
            src = self._data[self._pos:self._pos + (1 << 20)]
            self._pos += len(src)
            if not src:  # the compressed stream ends before its end marker
                raise NoticeRejected(f"gzip {self.what} is truncated (compressed stream ends "
                                     "early)")
        try:
            self._buf += self._dec.decompress(src, max(want, 1 << 16))
        except zlib.error as exc:
            raise NoticeRejected(f"{self.what} is not valid gzip: {exc}") from exc

    def read(self, n: int) -> bytes:
        """Exactly ``n`` bytes, or fewer at the end of the file."""
        while len(self._buf) < n and not self._eof:
            self._more(n - len(self._buf))
        out = bytes(self._buf[:n])
        del self._buf[:n]
        self.delivered += len(out)
        if self.limit is not None and self.delivered > self.limit:
            raise NoticeRejected(f"{'gzip ' if self._gz else ''}{self.what} decompresses to "
                                 f"more than {self.limit} bytes")
        return out

    def skip(self, n: int) -> None:
        """Discard ``n`` bytes (chunk by chunk)."""
        while n > 0:
            got = len(self.read(min(n, CHUNK_BYTES)))
            if not got:
                return
            n -= got


def count_decompressed(data: bytes, up_to: int, *, what: str = "sky map") -> int:
    """How many bytes gzip ``data`` decompresses to, counting at most ``up_to`` (streamed)."""
    reader = _Reader(data, what)
    reader.skip(up_to)
    return reader.delivered


def _read_header(reader: _Reader, first: bool = False) -> fits.Header | None:
    """The next header; None at the end of the file (between HDUs)."""
    blocks = []
    for _ in range(1000):  # 2.8 MB of header cards is no sky map
        block = reader.read(_BLOCK)
        if not first and not blocks and not block:
            return None
        if first and not blocks and not block.startswith(b"SIMPLE  ="):
            raise NoticeRejected(f"{reader.what} is not a FITS file: starts with "
                                 f"{block[:16]!r}, expected 'SIMPLE  ='")
        if len(block) < _BLOCK:
            raise NoticeRejected(f"{reader.what} is truncated inside a FITS header")
        blocks.append(block)
        # END card: 'END' then 77 spaces, on a card boundary
        if any(block[i:i + 3] == b"END" and block[i + 3:i + 80].strip() == b""
               for i in range(0, _BLOCK, 80)):
            break
    else:
        raise NoticeRejected(f"{reader.what}: FITS header without END card")
    try:
        return fits.Header.fromstring(b"".join(blocks).decode("ascii"))
    except Exception as exc:  # noqa: BLE001 - astropy raises many kinds
        raise NoticeRejected(f"{reader.what} has an unreadable FITS header: {exc}") from exc


def _padded(n: int) -> int:
    return -(-n // _BLOCK) * _BLOCK


def _data_bytes(header: fits.Header) -> int:
    naxis = int(header.get("NAXIS", 0))
    if naxis == 0:
        return 0
    n = math.prod(int(header.get(f"NAXIS{i}", 0)) for i in range(1, naxis + 1))
    return abs(int(header.get("BITPIX", 8))) // 8 * int(header.get("GCOUNT", 1)) * (
        int(header.get("PCOUNT", 0)) + n)


@dataclass
class TableLayout:
    """What a sky map's binary-table header declares, read before its data.

    Attributes
    ----------
    header : astropy.io.fits.Header
        The binary table's header.
    data_offset : int
        Offset of the table data in the decompressed file.
    data_bytes : int
        Declared size of the table data (``NAXIS1 × NAXIS2 + PCOUNT``).
    columns : dict
        Column name (upper case) → (numpy dtype, repeat count).
    moc : bool
        A multi-order (``UNIQ``) map.
    nside, npix : int
        Flat maps: resolution and pixel count (0 for multi-order maps).
    nest : bool or None
        Flat maps: ``ORDERING`` NESTED (True) or RING (False).
    """

    header: fits.Header
    data_offset: int
    data_bytes: int
    columns: dict[str, tuple[str, int]] = field(default_factory=dict)
    moc: bool = False
    nside: int = 0
    npix: int = 0
    nest: bool | None = None

    @property
    def row_bytes(self) -> int:
        return int(self.header.get("NAXIS1", 0))

    @property
    def rows(self) -> int:
        return int(self.header.get("NAXIS2", 0))


def _columns(header: fits.Header, what: str) -> dict[str, tuple[str, int]]:
    out = {}
    for i in range(1, int(header.get("TFIELDS", 0)) + 1):
        name = str(header.get(f"TTYPE{i}", f"COL{i}")).strip().upper()
        tform = str(header.get(f"TFORM{i}", "")).strip().upper()
        digits = "".join(itertools.takewhile(str.isdigit, tform))
        code = tform[len(digits):len(digits) + 1]
        if code not in _TFORM_CODES:
            raise NoticeRejected(f"{what}: column {name} has format {tform!r}, not a number "
                                 "format a HEALPix map uses")
        out[name] = (_TFORM_CODES[code], int(digits) if digits else 1)
    return out


def peek_table(data: bytes, *, what: str = "sky map",
               max_header_bytes: int | None = None) -> TableLayout:
    """Read the headers of a (gzipped) FITS sky map up to its first binary table.

    Only the header blocks (and the data of HDUs before the table, skipped in
    chunks) are decompressed; ``max_header_bytes`` bounds how many.

    Raises
    ------
    NoticeRejected
        Not FITS, truncated headers, no binary table, or a flat map whose
        declared size does not make a HEALPix map.
    """
    reader = _Reader(data, what, limit=max_header_bytes)
    offset = 0
    for index in range(16):
        header = _read_header(reader, first=index == 0)
        if header is None:
            break
        offset = reader.delivered
        size = _data_bytes(header)
        if header.get("XTENSION", "").strip() == "BINTABLE":
            break
        reader.skip(_padded(size))
    if header is None or header.get("XTENSION", "").strip() != "BINTABLE":
        raise NoticeRejected(f"{what} has no binary table HDU (not a HEALPix sky map)")
    columns = _columns(header, what)
    layout = TableLayout(header=header, data_offset=offset, data_bytes=size, columns=columns)
    ordering = str(header.get("ORDERING", "")).strip().upper()
    layout.moc = "UNIQ" in columns or ordering == "NUNIQ"
    if layout.moc:
        return layout
    if str(header.get("INDXSCHM", "IMPLICIT")).strip().upper() != "IMPLICIT":
        return layout  # explicit (partial-sky) maps: npix stays 0, read the ordinary way
    repeat = next(iter(columns.values()), ("", 1))[1]
    layout.npix = layout.rows * repeat
    nside = int(math.isqrt(max(layout.npix // 12, 0)))
    if nside < 1 or 12 * nside * nside != layout.npix or nside & (nside - 1):
        raise NoticeRejected(f"{what} is not a readable HEALPix map: {layout.npix} pixels "
                             "is not 12 × nside² with nside a power of two")
    declared = header.get("NSIDE")
    if declared is not None and int(declared) != nside:
        raise NoticeRejected(f"{what}: NSIDE = {declared} but the table holds "
                             f"{layout.npix} pixels (nside {nside})")
    layout.nside = nside
    layout.nest = {"NESTED": True, "RING": False}.get(ordering)
    return layout


def _meta(header: fits.Header) -> dict[str, Any]:
    """Header cards as ligo.skymap's ``meta`` names (objid, distmean, instruments, ...)."""
    from ligo.skymap.io.fits import FITS_META_MAPPING

    cards = {key: header[key] for key in header if key}
    meta: dict[str, Any] = {}
    for fits_key, rows in itertools.groupby(FITS_META_MAPPING, lambda row: row[1]):
        if fits_key in cards:
            for key, _, _, _, from_fits in rows:
                if from_fits is not None:
                    try:
                        meta[key] = from_fits(cards[fits_key])
                    except Exception:  # noqa: BLE001 - a malformed card is dropped
                        pass
    return meta


def read_flat_downsampled(data: bytes, layout: TableLayout, nside: int, *,
                          distances: bool, what: str = "sky map",
                          ) -> tuple[np.ndarray, dict[str, np.ndarray] | None, dict[str, Any]]:
    """Read a flat map's probability (and distance) layers, summed to ``nside`` (NESTED).

    Parameters
    ----------
    data : bytes
        The FITS file, gzip-compressed or not.
    layout : TableLayout
        From :func:`peek_table` (a flat, implicit map).
    nside : int
        Resolution of the result: ``layout.nside`` or coarser.
    distances : bool
        Read ``DISTMU``, ``DISTSIGMA``, ``DISTNORM`` too.

    Returns
    -------
    prob : numpy.ndarray
        Probability per pixel at ``nside``, NESTED.
    dist : dict or None
        ``DISTMU``, ``DISTSIGMA``, ``DISTNORM`` at ``nside``.
    meta : dict
        Header metadata with ligo.skymap's names.
    """
    import astropy_healpix as ah
    import healpy as hp
    from ligo.skymap.distance import moments_to_parameters, parameters_to_moments

    if layout.nest is None:
        raise NoticeRejected(f"{what}: ORDERING is neither RING nor NESTED")
    prob_col = next((c for c in ("PROB", "PROBABILITY") if c in layout.columns), None)
    if prob_col is None:
        raise NoticeRejected(f"{what}: no PROB/PROBABILITY column "
                             f"(columns: {sorted(layout.columns)})")
    shift = 2 * (int(ah.nside_to_level(layout.nside)) - int(ah.nside_to_level(nside)))
    if shift < 0:
        raise ValueError("nside must not be finer than the map's")
    wanted = [prob_col] + (["DISTMU", "DISTSIGMA", "DISTNORM"] if distances else [])
    row_dtype = np.dtype([(name, dt, (rep,)) if rep > 1 else (name, dt)
                          for name, (dt, rep) in layout.columns.items()])
    if row_dtype.itemsize != layout.row_bytes:
        raise NoticeRejected(f"{what}: rows of {layout.row_bytes} bytes do not match their "
                             f"columns ({row_dtype.itemsize} bytes)")
    npix_out = 12 * nside * nside
    prob = np.zeros(npix_out)
    sums = {k: np.zeros(npix_out) for k in ("w", "m1", "m2")} if distances and shift else None
    exact = {k: np.empty(npix_out) for k in wanted[1:]} if distances and not shift else None

    reader = _Reader(data, what)
    reader.skip(layout.data_offset)
    repeat = layout.columns[prob_col][1]
    rows_per_chunk = max(1, CHUNK_BYTES // layout.row_bytes)
    first_pixel = 0
    for row0 in range(0, layout.rows, rows_per_chunk):
        n_rows = min(rows_per_chunk, layout.rows - row0)
        raw = reader.read(n_rows * layout.row_bytes)
        if len(raw) < n_rows * layout.row_bytes:
            raise NoticeRejected(f"{what} is truncated: the table declares {layout.rows} rows "
                                 f"of {layout.row_bytes} bytes")
        rows = np.frombuffer(raw, dtype=row_dtype)
        p = np.asarray(rows[prob_col], dtype=np.float64).reshape(-1)
        ipix = np.arange(first_pixel, first_pixel + len(p), dtype=np.int64)
        first_pixel += len(p)
        if not layout.nest:
            ipix = hp.ring2nest(layout.nside, ipix).astype(np.int64)
        parent = ipix >> shift
        lo = int(parent.min())
        span = slice(lo, int(parent.max()) + 1)
        local = parent - lo  # NESTED chunks map to a short run of parents

        compact = span.stop - span.start <= 4 * len(parent)

        def add(total: np.ndarray, weights: np.ndarray, span: slice = span,
                local: np.ndarray = local, parent: np.ndarray = parent,
                compact: bool = compact) -> None:
            if compact:  # NESTED: a short run of parents
                total[span] += np.bincount(local, weights=weights,
                                           minlength=span.stop - span.start)
            else:  # RING: a band of rings has parents all over the sky
                np.add.at(total, parent, weights)

        if shift == 0:
            prob[parent] = p
        else:
            add(prob, p)
        if exact is not None:
            for k in wanted[1:]:
                exact[k][parent] = np.asarray(rows[k], dtype=np.float64).reshape(-1)
        elif sums is not None:
            mu = np.asarray(rows["DISTMU"], dtype=np.float64).reshape(-1)
            sigma = np.asarray(rows["DISTSIGMA"], dtype=np.float64).reshape(-1)
            with np.errstate(all="ignore"):
                mean, std, _ = parameters_to_moments(mu, sigma)
                ok = np.isfinite(mean) & np.isfinite(std) & (p > 0)
                w = np.where(ok, p, 0.0)
                mean, std = np.where(ok, mean, 0.0), np.where(ok, std, 0.0)
            add(sums["w"], w)
            add(sums["m1"], w * mean)
            add(sums["m2"], w * (std * std + mean * mean))
        del raw, rows
    if repeat and first_pixel != layout.npix:  # pragma: no cover - guarded by peek_table
        raise NoticeRejected(f"{what}: read {first_pixel} pixels, expected {layout.npix}")

    dist = exact
    if sums is not None:
        w = sums.pop("w")
        with np.errstate(all="ignore"):
            mean = sums.pop("m1") / w
            std = np.sqrt(np.maximum(sums.pop("m2") / w - mean * mean, 0.0))
            mu, sigma, norm = moments_to_parameters(mean, std)
        bad = ~(w > 0) | ~np.isfinite(mu) | ~np.isfinite(sigma) | ~np.isfinite(norm)
        mu[bad], sigma[bad], norm[bad] = np.inf, 1.0, 0.0
        dist = {"DISTMU": mu, "DISTSIGMA": sigma, "DISTNORM": norm}
    return prob, dist, _meta(layout.header)


def sum_to_parents(prob: np.ndarray, dist: dict[str, np.ndarray] | None = None,
                   ) -> tuple[np.ndarray, dict[str, np.ndarray] | None]:
    """A NESTED flat map one level coarser: probability summed over each four
    children, distance layers combined through their moments (as while reading)."""
    from ligo.skymap.distance import moments_to_parameters, parameters_to_moments

    parent = prob.reshape(-1, 4).sum(axis=1)
    if not dist:
        return parent, None
    with np.errstate(all="ignore"):
        mean, std, _ = parameters_to_moments(dist["DISTMU"], dist["DISTSIGMA"])
        ok = np.isfinite(mean) & np.isfinite(std) & (prob > 0)
        w = np.where(ok, prob, 0.0)
        wsum = w.reshape(-1, 4).sum(axis=1)
        m1 = (w * np.where(ok, mean, 0.0)).reshape(-1, 4).sum(axis=1) / wsum
        m2 = (w * np.where(ok, std * std + mean * mean, 0.0)).reshape(-1, 4).sum(axis=1) / wsum
        mu, sigma, norm = moments_to_parameters(m1, np.sqrt(np.maximum(m2 - m1 * m1, 0.0)))
    bad = ~(wsum > 0) | ~np.isfinite(mu) | ~np.isfinite(sigma) | ~np.isfinite(norm)
    mu[bad], sigma[bad], norm[bad] = np.inf, 1.0, 0.0
    return parent, {"DISTMU": mu, "DISTSIGMA": sigma, "DISTNORM": norm}
