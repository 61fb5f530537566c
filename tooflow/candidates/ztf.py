"""ZTF public alert packets (Avro) → :class:`ZtfAlert`.

A ZTF alert is an Avro object container file holding one ``ztf.alert`` record:
the triggering detection (``candidate``), up to 30 days of earlier detections
and non-detections at the position (``prv_candidates``; a non-detection has no
``magpsf``, only the exposure's ``diffmaglim``) and three 63×63 gzipped FITS
cutouts (science, template, difference). The packet carries its writer schema,
so it is read with that schema; the version (``schemavsn``, or the writer
schema's ``version`` for the early packets that lack the field) must be one
tooflow knows (:data:`SUPPORTED_SCHEMA_VERSIONS`).

Everything wrong with a packet is a :class:`~tooflow.candidates.errors.CandidateRejected`
naming what is wrong: not Avro, truncated or corrupt, not a ZTF alert, an
unknown schema version, a required field missing or out of range, a cutout
missing or not FITS.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import itertools
import json
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import CandidateRejected
from .photometry import PhotometryPoint, datetime_to_jd, jd_to_datetime

__all__ = ["AVRO_MAGIC", "CUTOUT_KINDS", "SCHEMA_DIR", "SUPPORTED_SCHEMA_VERSIONS", "ZTF_FILTERS",
           "ZtfAlert", "parse_ztf_alert", "ztf_alert_schema"]

#: The ZTF alert schema 4.02 files (package data; for writing packets).
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas" / "ztf"

#: First bytes of an Avro object container file (version 1).
AVRO_MAGIC = b"Obj\x01"

#: Schema versions read and tested, with what tells them apart. A packet of
#: another version is rejected: its fields may mean something else.
SUPPORTED_SCHEMA_VERSIONS: dict[str, str] = {
    "1.7": "early 2018: no schemavsn/publisher fields (version from the writer schema), no drb",
    "3.2": "2018-2019: schemavsn and publisher, rb only",
    "3.3": "adds drb (deep-learning real-bogus)",
    "3.5": "prv_candidates may hold forced-photometry-only rows",
    "4.02": "adds fp_hists (forced photometry history); tooflow/schemas/ztf/",
}

#: ZTF filter ids (``fid``) → filter names as used in photometry tables.
ZTF_FILTERS: dict[int, str] = {1: "ztfg", 2: "ztfr", 3: "ztfi"}

#: The cutouts of a packet: field name → kind.
CUTOUT_KINDS: dict[str, str] = {"cutoutScience": "science", "cutoutTemplate": "template",
                                "cutoutDifference": "difference"}

#: ZTF's first alerts (2017-09); an earlier date is a broken packet.
FIRST_ZTF_JD = 2458000.0

#: ZTF writes this for "no such source nearby".
_SENTINEL = -999.0

_GZIP_MAGIC = b"\x1f\x8b"
_FITS_MAGIC = b"SIMPLE  ="


@dataclass(frozen=True)
class ZtfAlert:
    """One ZTF alert packet, typed.

    Positions are degrees (ICRS, J2000); magnitudes AB; ``jd`` the Julian date
    (UTC) of the start of the exposure. Context numbers ZTF sends as -999 (no
    source within 30") are ``None``.
    """

    schema_version: str
    publisher: str | None
    object_id: str
    candid: int
    ra: float
    dec: float
    jd: float
    fid: int
    magpsf: float
    sigmapsf: float
    diffmaglim: float | None
    isdiffpos: bool
    rb: float | None
    drb: float | None
    sgscore1: float | None
    distpsnr1: float | None
    ssdistnr: float | None
    ssmagnr: float | None
    ssnamenr: str | None
    ndethist: int | None
    jdstarthist: float | None
    programid: int | None
    field_id: int | None
    prv_candidates: tuple[PhotometryPoint, ...]
    cutout_science: bytes = field(repr=False)
    cutout_template: bytes = field(repr=False)
    cutout_difference: bytes = field(repr=False)
    cutout_file_names: dict[str, str | None] = field(default_factory=dict, repr=False)

    facility = "ZTF"

    @property
    def time(self) -> dt.datetime:
        """Start of the exposure of the triggering detection (aware UTC)."""
        return jd_to_datetime(self.jd)

    @property
    def filter(self) -> str:
        """The filter name (``ztfg``, ``ztfr``, ``ztfi``)."""
        return ZTF_FILTERS[self.fid]

    @property
    def detection(self) -> PhotometryPoint:
        """The packet's own detection as a photometry point."""
        return PhotometryPoint(
            key=f"ZTF:{self.candid}", facility="ZTF", instrument="ZTF", jd=self.jd,
            filter=self.filter, mag=self.magpsf, magerr=self.sigmapsf,
            limiting_mag=self.diffmaglim, isdiffpos=self.isdiffpos, candid=self.candid,
            ra=self.ra, dec=self.dec)

    @property
    def photometry(self) -> tuple[PhotometryPoint, ...]:
        """The history and the packet's detection, oldest first."""
        return tuple(sorted((*self.prv_candidates, self.detection), key=lambda p: p.jd))

    @property
    def cutouts(self) -> dict[str, bytes]:
        """``{"science": ..., "template": ..., "difference": ...}`` (gzipped FITS as sent)."""
        return {"science": self.cutout_science, "template": self.cutout_template,
                "difference": self.cutout_difference}

    @property
    def scores(self) -> dict[str, Any]:
        """Classification and context numbers, as stored on the candidate."""
        return {"rb": self.rb, "drb": self.drb, "sgscore1": self.sgscore1,
                "distpsnr1": self.distpsnr1, "ssdistnr": self.ssdistnr,
                "ssmagnr": self.ssmagnr, "ssnamenr": self.ssnamenr,
                "ndethist": self.ndethist, "jdstarthist": self.jdstarthist,
                "isdiffpos": self.isdiffpos, "programid": self.programid}


@functools.cache
def ztf_alert_schema() -> dict[str, Any]:
    """The parsed ZTF alert schema 4.02 (``ztf.alert``), for writing packets with fastavro.

    The upstream files are named by their short names (``candidate.avsc``) and
    refer to each other by full name; each named type is written out where it
    is first used (as Avro requires of a container's schema), so a packet
    written with this schema carries every definition.
    """
    from fastavro.schema import parse_schema

    types: dict[str, Any] = {}
    for name in ("cutout", "candidate", "prv_candidate", "fp_hist"):
        definition = json.loads((SCHEMA_DIR / f"{name}.avsc").read_text())
        types[f"{definition['namespace']}.{definition['name']}"] = definition
    defined: set[str] = set()

    def inline(node: Any) -> Any:
        if isinstance(node, str) and node in types and node not in defined:
            defined.add(node)
            return inline(types[node])
        if isinstance(node, list):
            return [inline(item) for item in node]
        if isinstance(node, dict):
            return {key: inline(value) if key in ("type", "items", "fields") else value
                    for key, value in node.items()}
        return node

    return parse_schema(inline(json.loads((SCHEMA_DIR / "alert.avsc").read_text())))


def parse_ztf_alert(payload: bytes, *, now: dt.datetime | None = None,
                    future_tolerance: dt.timedelta = dt.timedelta(days=7)) -> ZtfAlert:
    """Parse one ZTF public alert packet.

    Parameters
    ----------
    payload : bytes
        An Avro object container file holding exactly one ``ztf.alert`` record.
    now : datetime, optional
        The present, for the plausibility check of the detection time (default:
        the wall clock).
    future_tolerance : timedelta
        How far past ``now`` a detection may be (a simulator's accelerated clock).

    Returns
    -------
    ZtfAlert

    Raises
    ------
    CandidateRejected
        With the specific reason: not Avro, corrupt or truncated, not a ZTF
        alert, unknown schema version, a required field missing or out of
        range, a cutout missing or not FITS.
    """
    if not payload.startswith(AVRO_MAGIC):
        raise CandidateRejected(f"not an Avro object container file: starts with "
                                f"{payload[:4]!r}, expected {AVRO_MAGIC!r}")
    try:
        writer_schema, records = _read_container(payload)
    except Exception as exc:  # fastavro raises EOFError, ValueError, struct/Unicode errors...
        raise CandidateRejected(
            f"corrupt or truncated Avro container: {exc.__class__.__name__}: {exc}") from exc
    name = writer_schema.get("name") if isinstance(writer_schema, dict) else None
    if name not in ("ztf.alert", "alert"):
        raise CandidateRejected(f"not a ZTF alert: the packet's schema is {name!r}, "
                                f"expected 'ztf.alert'")
    if len(records) != 1:
        raise CandidateRejected(f"ZTF packet holds {len(records)} records (one expected)"
                                if records else "ZTF packet holds no record")
    record = records[0]
    if not isinstance(record, dict):
        raise CandidateRejected("ZTF packet's record is not a ztf.alert record")
    version = record.get("schemavsn") or writer_schema.get("version")
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise CandidateRejected(
            f"unknown ZTF alert schema version {version!r} (known: "
            f"{', '.join(SUPPORTED_SCHEMA_VERSIONS)})")
    return _alert_from_record(record, str(version), now=now or dt.datetime.now(dt.UTC),
                              future_tolerance=future_tolerance)


def _read_container(payload: bytes) -> tuple[Any, list[Any]]:
    """The writer schema and the first two records of an Avro object container file.

    ``fastavro.reader`` parses the writer schema of every packet, a third of
    the decode of a ZTF alert; every packet of a stream carries the same few
    schema texts, so they are parsed once (:func:`_writer_schema`) and the
    blocks decoded with fastavro's ``schemaless_reader``. Codecs other than
    ``null`` and ``deflate`` go through ``fastavro.reader``.
    """
    import fastavro
    from fastavro.read import HEADER_SCHEMA, SYNC_SIZE

    fo = io.BytesIO(payload)
    header = fastavro.schemaless_reader(fo, HEADER_SCHEMA, None)
    meta = header["meta"]
    codec = meta.get("avro.codec", b"null")
    if codec not in (b"null", b"deflate"):
        reader = fastavro.reader(io.BytesIO(payload))
        return reader.writer_schema, list(itertools.islice(reader, 2))
    raw_schema, parsed = _writer_schema(meta["avro.schema"])
    records: list[Any] = []
    end = len(payload)
    while fo.tell() < end and len(records) < 2:
        count = fastavro.schemaless_reader(fo, "long", None)
        size = fastavro.schemaless_reader(fo, "long", None)
        data = fo.read(size)
        if len(data) != size or size < 0 or count < 0:
            raise EOFError(f"block of {size} bytes, {len(data)} left")
        if codec == b"deflate":
            data = zlib.decompress(data, -15)
        block = io.BytesIO(data)
        for _ in range(min(count, 2 - len(records))):
            records.append(fastavro.schemaless_reader(block, parsed, None))
        if fo.read(SYNC_SIZE) != header["sync"]:
            raise ValueError("sync marker does not match the header's")
    return raw_schema, records


@functools.lru_cache(maxsize=32)
def _writer_schema(text: bytes) -> tuple[Any, Any]:
    """A container's schema text → (the schema as written, fastavro's parsed form)."""
    from fastavro.schema import parse_schema

    raw = json.loads(text)
    return raw, parse_schema(raw)


def _alert_from_record(record: dict[str, Any], version: str, *, now: dt.datetime,
                       future_tolerance: dt.timedelta) -> ZtfAlert:
    cand = record.get("candidate")
    if not isinstance(cand, dict):
        raise CandidateRejected("ZTF packet has no candidate record")
    object_id = record.get("objectId")
    if not isinstance(object_id, str) or not object_id.strip():
        raise CandidateRejected("ZTF packet has no objectId")
    candid = _int(record.get("candid"), "candid")
    if candid is None:
        raise CandidateRejected("ZTF packet has no candid")
    ra = _required_float(cand, "ra")
    dec = _required_float(cand, "dec")
    if not 0.0 <= ra < 360.0:
        raise CandidateRejected(f"candidate.ra {ra!r} outside [0, 360) deg")
    if not -90.0 <= dec <= 90.0:
        raise CandidateRejected(f"candidate.dec {dec!r} outside [-90, 90] deg")
    jd = _required_float(cand, "jd")
    latest = datetime_to_jd(now + future_tolerance)
    if not FIRST_ZTF_JD <= jd <= latest:
        raise CandidateRejected(
            f"candidate.jd {jd!r} is not a plausible ZTF time "
            f"(between {FIRST_ZTF_JD} and {latest:.1f})")
    fid = _int(cand.get("fid"), "candidate.fid")
    if fid not in ZTF_FILTERS:
        raise CandidateRejected(f"candidate.fid {fid!r} is no ZTF filter (1=g, 2=r, 3=i)")
    magpsf = _required_float(cand, "magpsf")
    sigmapsf = _required_float(cand, "sigmapsf")
    if not 0.0 < magpsf < 40.0:
        raise CandidateRejected(f"candidate.magpsf {magpsf!r} is not a magnitude")
    isdiffpos = _isdiffpos(cand.get("isdiffpos"), "candidate.isdiffpos")
    if isdiffpos is None:
        raise CandidateRejected("candidate.isdiffpos missing")
    cutouts, names = _cutouts(record)
    history = tuple(p for i, entry in enumerate(record.get("prv_candidates") or [])
                    if (p := _history_point(entry, i)) is not None)
    return ZtfAlert(
        schema_version=version, publisher=_str(record.get("publisher")),
        object_id=object_id.strip(), candid=candid, ra=ra, dec=dec, jd=jd, fid=fid,
        magpsf=magpsf, sigmapsf=sigmapsf,
        diffmaglim=_float(cand.get("diffmaglim"), "candidate.diffmaglim"),
        isdiffpos=isdiffpos,
        rb=_float(cand.get("rb"), "candidate.rb"), drb=_float(cand.get("drb"), "candidate.drb"),
        sgscore1=_context(cand, "sgscore1"), distpsnr1=_context(cand, "distpsnr1"),
        ssdistnr=_context(cand, "ssdistnr"), ssmagnr=_context(cand, "ssmagnr"),
        ssnamenr=_ssname(cand.get("ssnamenr")),
        ndethist=_int(cand.get("ndethist"), "candidate.ndethist"),
        jdstarthist=_float(cand.get("jdstarthist"), "candidate.jdstarthist"),
        programid=_int(cand.get("programid"), "candidate.programid"),
        field_id=_int(cand.get("field"), "candidate.field"),
        prv_candidates=history,
        cutout_science=cutouts["science"], cutout_template=cutouts["template"],
        cutout_difference=cutouts["difference"], cutout_file_names=names)


def _cutouts(record: dict[str, Any]) -> tuple[dict[str, bytes], dict[str, str | None]]:
    data: dict[str, bytes] = {}
    names: dict[str, str | None] = {}
    missing = [key for key in CUTOUT_KINDS if not isinstance(record.get(key), dict)
               or not record[key].get("stampData")]
    if missing:
        raise CandidateRejected(f"ZTF packet without cutouts: {', '.join(missing)} missing")
    for key, kind in CUTOUT_KINDS.items():
        stamp = record[key]["stampData"]
        if not isinstance(stamp, bytes | bytearray):
            raise CandidateRejected(f"{key}.stampData is not bytes")
        if not (stamp.startswith(_GZIP_MAGIC) or stamp.startswith(_FITS_MAGIC)):
            raise CandidateRejected(f"{key} is neither gzipped FITS nor FITS "
                                    f"(starts with {bytes(stamp[:8])!r})")
        data[kind] = bytes(stamp)
        names[kind] = _str(record[key].get("fileName"))
    return data, names


def _history_point(entry: Any, index: int) -> PhotometryPoint | None:
    """A ``prv_candidates`` entry as a detection or an upper limit (None: neither)."""
    what = f"prv_candidates[{index}]"
    if not isinstance(entry, dict):
        raise CandidateRejected(f"{what} is not a record")
    jd = _float(entry.get("jd"), f"{what}.jd")
    fid = _int(entry.get("fid"), f"{what}.fid")
    if jd is None or fid not in ZTF_FILTERS:
        raise CandidateRejected(f"{what} lacks a jd or a ZTF fid (jd={jd!r}, fid={fid!r})")
    mag = _float(entry.get("magpsf"), f"{what}.magpsf")
    limit = _float(entry.get("diffmaglim"), f"{what}.diffmaglim")
    if mag is None and limit is None:
        return None  # a forced-photometry-only row: neither detection nor limit
    candid = _int(entry.get("candid"), f"{what}.candid")
    key = f"ZTF:{candid}" if candid is not None else f"ZTF:ul:{jd:.7f}:{fid}"
    return PhotometryPoint(
        key=key, facility="ZTF", instrument="ZTF", jd=jd, filter=ZTF_FILTERS[fid], mag=mag,
        magerr=_float(entry.get("sigmapsf"), f"{what}.sigmapsf") if mag is not None else None,
        limiting_mag=limit, isdiffpos=_isdiffpos(entry.get("isdiffpos"), f"{what}.isdiffpos"),
        candid=candid, ra=_float(entry.get("ra"), f"{what}.ra"),
        dec=_float(entry.get("dec"), f"{what}.dec"))


def _required_float(cand: dict[str, Any], name: str) -> float:
    value = _float(cand.get(name), f"candidate.{name}")
    if value is None:
        raise CandidateRejected(f"candidate.{name} missing")
    return value


def _float(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CandidateRejected(f"{what} is not a number: {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise CandidateRejected(f"{what} is not finite: {value!r}")
    return value


def _int(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise CandidateRejected(f"{what} is not an integer: {value!r}")
    return value


def _context(cand: dict[str, Any], name: str) -> float | None:
    value = _float(cand.get(name), f"candidate.{name}")
    return None if value is None or value <= _SENTINEL else value


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _ssname(value: Any) -> str | None:
    return None if not isinstance(value, str) or value in ("", "null") else value


def _isdiffpos(value: Any, what: str) -> bool | None:
    if value is None:
        return None
    if value in ("t", "1", 1, True):
        return True
    if value in ("f", "0", 0, False):
        return False
    raise CandidateRejected(f"{what} {value!r} is none of t, f, 1, 0")
