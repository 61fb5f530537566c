"""ZTF public alert packets (tooflow/candidates/ztf.py), on the four real packets."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import fastavro
import pytest
from astropy.time import Time

from tooflow.candidates.errors import CandidateRejected
from tooflow.candidates.ztf import SUPPORTED_SCHEMA_VERSIONS, parse_ztf_alert, ztf_alert_schema

ZTF = Path(__file__).parent / "data" / "candidates" / "ztf"
LVK_AVRO = Path(__file__).parent / "data" / "lvk" / "avro" / "MS181101ab-preliminary.avro"
PACKETS = {
    "1.7": "396522680015020000.avro",
    "3.2": "2019_01_10_739260766315010006.avro",
    "3.3": "472263571115115000.avro",
    "3.5": "1661382530015060001.avro",
}


def packet(version: str) -> bytes:
    return (ZTF / PACKETS[version]).read_bytes()


def rewrite(payload: bytes, change) -> bytes:
    """The real packet re-encoded with its own writer schema after ``change(record)``."""
    reader = fastavro.reader(io.BytesIO(payload))
    schema, record = reader.writer_schema, next(reader)
    change(record)
    out = io.BytesIO()
    fastavro.writer(out, schema, [record])
    return out.getvalue()


@pytest.mark.parametrize("version", sorted(PACKETS))
def test_every_real_schema_version_parses(version):
    alert = parse_ztf_alert(packet(version))
    assert alert.schema_version == version
    assert alert.schema_version in SUPPORTED_SCHEMA_VERSIONS
    assert len(alert.cutouts) == 3
    for data in alert.cutouts.values():
        assert data[:2] == b"\x1f\x8b" and len(data) > 10_000
    assert alert.photometry[-1].jd <= alert.jd or alert.photometry[-1].candid == alert.candid


def test_schema_3_3_fields():
    a = parse_ztf_alert(packet("3.3"))
    assert (a.object_id, a.candid) == ("ZTF17aaajnnn", 472263571115115000)
    assert a.publisher == "ZTF (www.ztf.caltech.edu)"
    assert a.ra == pytest.approx(179.6402013) and a.dec == pytest.approx(52.0297203)
    assert a.jd == pytest.approx(2458226.7635764)
    # the JD (UTC) as a datetime, checked against astropy
    assert abs(a.time - Time(a.jd, format="jd", scale="utc").to_datetime(dt.UTC)) < dt.timedelta(
        milliseconds=1)
    assert a.time.isoformat(timespec="seconds") == "2018-04-18T06:19:33+00:00"
    assert (a.fid, a.filter) == (2, "ztfr")
    assert a.magpsf == pytest.approx(18.3619, abs=1e-4)
    assert a.sigmapsf == pytest.approx(0.0940, abs=1e-4)
    assert a.diffmaglim == pytest.approx(20.541, abs=1e-3)
    assert a.isdiffpos is True
    assert a.rb == pytest.approx(0.8433, abs=1e-4) and a.drb == pytest.approx(0.98764, abs=1e-5)
    assert a.sgscore1 == pytest.approx(0.98825, abs=1e-5)
    assert a.distpsnr1 == pytest.approx(0.0886, abs=1e-4)
    # -999 (no known solar-system object within 30") is "none", not a distance
    assert a.ssdistnr is None and a.ssmagnr is None and a.ssnamenr is None
    assert a.ndethist == 146
    assert a.cutout_file_names["difference"].endswith("_targ_scimref.fits.gz")


def test_history_detections_and_upper_limits():
    a = parse_ztf_alert(packet("3.2"))
    assert a.object_id == "ZTF17aaacxxf"
    assert len(a.prv_candidates) == 28
    detections = [p for p in a.prv_candidates if not p.is_upper_limit]
    limits = [p for p in a.prv_candidates if p.is_upper_limit]
    assert detections and limits
    first = a.prv_candidates[0]
    assert first.candid == 710243366315015036 and first.mag == pytest.approx(19.1225, abs=1e-4)
    assert first.key == "ZTF:710243366315015036"
    ul = a.prv_candidates[1]
    assert ul.is_upper_limit and ul.mag is None and ul.candid is None
    assert ul.limiting_mag == pytest.approx(20.4056, abs=1e-4)
    assert ul.key.startswith("ZTF:ul:2458464.80878")
    # the early packets write isdiffpos as 1/0
    assert {p.isdiffpos for p in detections} <= {True, False}
    times = [p.jd for p in a.photometry]
    assert times == sorted(times) and a.photometry[-1].key == f"ZTF:{a.candid}"


def test_early_schema_without_schemavsn_reads_the_writer_schema_version():
    a = parse_ztf_alert(packet("1.7"))
    assert (a.schema_version, a.publisher, a.drb) == ("1.7", None, None)
    assert a.object_id == "ZTF18aagqxtf" and a.ndethist == 1
    assert a.distpsnr1 == pytest.approx(12.877, abs=1e-3)
    assert len(a.prv_candidates) == 12 and all(p.is_upper_limit for p in a.prv_candidates)


def test_schema_3_5_forced_photometry_rows_are_neither_detection_nor_limit():
    a = parse_ztf_alert(packet("3.5"))
    assert a.object_id == "ZTF18aaxjdyr" and a.isdiffpos is False  # a fading source
    raw = next(fastavro.reader(io.BytesIO(packet("3.5"))))["prv_candidates"]
    kept = [e for e in raw if e.get("magpsf") is not None or e.get("diffmaglim") is not None]
    assert len(a.prv_candidates) == len(kept)


def test_schema_4_02_from_the_shipped_schema():
    """A real 3.3 record written with the shipped 4.02 schema (fields it lacks: null)."""
    schema = ztf_alert_schema()
    record = next(fastavro.reader(io.BytesIO(packet("3.3"))))
    record["schemavsn"] = "4.02"
    record["fp_hists"] = None
    out = io.BytesIO()
    fastavro.writer(out, schema, [record])
    a = parse_ztf_alert(out.getvalue())
    assert a.schema_version == "4.02" and a.object_id == "ZTF17aaajnnn"


@pytest.mark.parametrize("codec", ["deflate", "bzip2"])
def test_compressed_container_reads_as_the_plain_one(codec):
    """The schema-cached block reader (null, deflate) and the fallback (other codecs)."""
    plain = parse_ztf_alert(packet("3.5"))
    reader = fastavro.reader(io.BytesIO(packet("3.5")))
    out = io.BytesIO()
    fastavro.writer(out, reader.writer_schema, [next(reader)], codec=codec)
    assert parse_ztf_alert(out.getvalue()) == plain


def test_two_records_in_one_deflate_block_are_rejected():
    reader = fastavro.reader(io.BytesIO(packet("3.3")))
    record = next(reader)
    out = io.BytesIO()
    fastavro.writer(out, reader.writer_schema, [record, record], codec="deflate")
    with pytest.raises(CandidateRejected, match="holds 2 records"):
        parse_ztf_alert(out.getvalue())


# --- bad input: every one a specific rejection ------------------------------------

def test_truncated_packet():
    data = packet("3.3")
    with pytest.raises(CandidateRejected, match="corrupt or truncated Avro"):
        parse_ztf_alert(data[: len(data) // 2])


def test_corrupt_packet():
    data = bytearray(packet("3.3"))
    data[2000:2400] = bytes(400)
    data[3000:3100] = b"\xff" * 100
    with pytest.raises(CandidateRejected):
        parse_ztf_alert(bytes(data))


def test_not_avro():
    with pytest.raises(CandidateRejected, match="not an Avro object container"):
        parse_ztf_alert(b'{"objectId": "ZTF18aaxjdyr"}')


def test_wrong_schema_is_rejected():
    with pytest.raises(CandidateRejected, match="not a ZTF alert.*igwn"):
        parse_ztf_alert(LVK_AVRO.read_bytes())


def test_unknown_schema_version():
    data = rewrite(packet("3.3"), lambda r: r.update(schemavsn="9.1"))
    with pytest.raises(CandidateRejected, match="unknown ZTF alert schema version '9.1'"):
        parse_ztf_alert(data)


@pytest.mark.parametrize("missing", ["cutoutScience", "cutoutDifference"])
def test_packet_without_cutouts(missing):
    data = rewrite(packet("3.2"), lambda r: r.update({missing: None}))
    with pytest.raises(CandidateRejected, match=f"without cutouts: {missing} missing"):
        parse_ztf_alert(data)


def test_cutout_that_is_not_fits():
    def change(r):
        r["cutoutTemplate"]["stampData"] = b"<html>not found</html>"
    with pytest.raises(CandidateRejected, match="cutoutTemplate is neither gzipped FITS"):
        parse_ztf_alert(rewrite(packet("3.2"), change))


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("ra", 361.0, "candidate.ra 361.0 outside"),
    ("dec", float("nan"), "candidate.dec is not finite"),
    ("jd", 2440000.5, "not a plausible ZTF time"),
    ("fid", 7, "candidate.fid 7 is no ZTF filter"),
    ("isdiffpos", "x", "candidate.isdiffpos 'x'"),
])
def test_impossible_values(field, value, reason):
    data = rewrite(packet("3.3"), lambda r: r["candidate"].update({field: value}))
    with pytest.raises(CandidateRejected, match=reason):
        parse_ztf_alert(data)


def test_two_records_in_one_container():
    reader = fastavro.reader(io.BytesIO(packet("3.3")))
    schema, record = reader.writer_schema, next(reader)
    out = io.BytesIO()
    fastavro.writer(out, schema, [record, record])
    with pytest.raises(CandidateRejected, match="holds 2 records"):
        parse_ztf_alert(out.getvalue())


def test_detection_in_the_future_is_rejected_past_the_tolerance():
    a = parse_ztf_alert(packet("3.3"), now=dt.datetime(2018, 4, 14, tzinfo=dt.UTC))
    assert a.object_id == "ZTF17aaajnnn"  # 1.3 days ahead: within 7 days
    with pytest.raises(CandidateRejected, match="not a plausible ZTF time"):
        parse_ztf_alert(packet("3.3"), now=dt.datetime(2018, 4, 1, tzinfo=dt.UTC))
