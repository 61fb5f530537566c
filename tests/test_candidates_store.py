"""Candidate alerts stored once and parsed into rows (tooflow/candidates/store.py, uploads.py)."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import fastavro
import pytest
from sqlmodel import Session, select

from tooflow.candidates.store import (
    OVERSIZE_KEEP_BYTES,
    ingest_alert_bytes,
    process_alert,
    store_alert,
)
from tooflow.models import (
    Candidate,
    CandidateAlert,
    CandidateCutout,
    CandidatePhotometry,
)

DATA = Path(__file__).parent / "data" / "candidates"
ZTF_32 = DATA / "ztf" / "2019_01_10_739260766315010006.avro"
ZTF_33 = DATA / "ztf" / "472263571115115000.avro"
#: AT2017gfo (the GW170817 kilonova), NED position.
AT2017GFO = (197.450374, -23.381495)


def rows(engine, model, *where):
    with Session(engine) as s:
        return s.exec(select(model).where(*where)).all()


def at2017gfo_upload(facility: str = "DECam", limit: int | None = None) -> bytes:
    """The real AT2017gfo optical photometry as a tooflow photometry CSV.

    Flux (µJy, zero point 23.9 AB) at S/N >= 3 becomes a detection; below, or with
    no flux, a 5-sigma upper limit from the flux error.
    """
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["name", "facility", "ra", "dec", "mjd", "filter", "mag", "magerr",
                "limiting_mag"])
    with (DATA / "AT2017gfo_optical.csv").open() as fh:
        for n, r in enumerate(csv.DictReader(fh)):
            if limit is not None and n >= limit:
                break
            flux = float(r["flux"]) if r["flux"] else None
            err = float(r["fluxerr"])
            zp = float(r["zp"])
            if flux is not None and flux / err >= 3:
                mag, magerr, lim = -2.5 * math.log10(flux) + zp, 1.0857 * err / flux, ""
            else:
                mag, magerr, lim = "", "", -2.5 * math.log10(5 * err) + zp
            w.writerow(["AT2017gfo", facility, *AT2017GFO, r["mjd"], r["filter"], mag, magerr,
                        lim])
    return out.getvalue().encode()


def test_real_packet_becomes_candidate_photometry_and_cutouts(engine):
    out = ingest_alert_bytes(ZTF_32.read_bytes(), str(ZTF_32), engine=engine)
    assert out.status == "parsed" and out.created and out.names == ("ZTF17aaacxxf",)
    (cand,) = rows(engine, Candidate)
    assert (cand.facility, cand.name) == ("ZTF", "ZTF17aaacxxf")
    assert cand.ra == pytest.approx(75.2007803) and cand.dec == pytest.approx(35.3613954)
    phot = rows(engine, CandidatePhotometry, CandidatePhotometry.candidate_pk == cand.id)
    assert len(phot) == out.new_photometry == 29  # 28 previous + the packet's own
    detections = sorted((p for p in phot if not p.is_upper_limit), key=lambda p: p.jd)
    limits = [p for p in phot if p.is_upper_limit]
    assert limits and all(p.mag is None and p.limiting_mag for p in limits)
    assert cand.n_detections == len(detections)
    assert cand.first_detected == detections[0].time and cand.first_mag == detections[0].mag
    assert cand.last_detected == detections[-1].time
    assert detections[-1].candid == 739260766315010006 and detections[-1].origin == "alert"
    assert cand.last_filter == "ztfr" and cand.last_mag == pytest.approx(15.3711, abs=1e-4)
    assert cand.scores["rb"] == pytest.approx(0.4471, abs=1e-4)
    assert cand.scores["ssdistnr"] is None and cand.state == "new"
    cutouts = rows(engine, CandidateCutout, CandidateCutout.candidate_pk == cand.id)
    assert sorted(c.kind for c in cutouts) == ["difference", "science", "template"]
    reader = fastavro.reader(io.BytesIO(ZTF_32.read_bytes()))
    science = next(reader)["cutoutScience"]["stampData"]
    assert {c.kind: c.data for c in cutouts}["science"] == science
    (alert,) = rows(engine, CandidateAlert)
    assert (alert.schema_version, alert.candid, alert.candidate_pk) == ("3.2", 739260766315010006,
                                                                        cand.id)
    assert alert.payload == ZTF_32.read_bytes()


def test_same_bytes_twice_change_nothing(engine):
    first = ingest_alert_bytes(ZTF_33.read_bytes(), "kafka:ztf", engine=engine)
    again = ingest_alert_bytes(ZTF_33.read_bytes(), "file", engine=engine)
    assert again.alert_id == first.alert_id and not again.created and again.new_photometry == 0
    assert again.names == ("ZTF17aaajnnn",)
    assert len(rows(engine, CandidateAlert)) == 1
    assert len(rows(engine, CandidateCutout)) == 3


def test_history_repeated_in_a_later_packet_is_stored_once(engine):
    """The same record re-sent with a shorter history (other bytes): no measurement twice."""
    reader = fastavro.reader(io.BytesIO(ZTF_32.read_bytes()))
    schema, record = reader.writer_schema, next(reader)
    record["prv_candidates"] = record["prv_candidates"][:10]
    buf = io.BytesIO()
    fastavro.writer(buf, schema, [record])
    first = ingest_alert_bytes(ZTF_32.read_bytes(), "a", engine=engine)
    second = ingest_alert_bytes(buf.getvalue(), "b", engine=engine)
    assert second.created and second.status == "parsed" and second.new_photometry == 0
    assert second.candidate_ids == first.candidate_ids
    assert len(rows(engine, CandidatePhotometry)) == 29


@pytest.mark.parametrize(("damage", "reason"), [
    (lambda b: b[: len(b) // 3], "corrupt or truncated Avro"),
    (lambda b: b"\x00" * 64, "not an Avro object container"),
])
def test_bad_packets_are_recorded_rejections(engine, damage, reason):
    payload = damage(ZTF_33.read_bytes())
    out = ingest_alert_bytes(payload, "kafka:ztf", fmt="ztf-avro", engine=engine)
    assert out.status == "rejected" and reason in out.reason
    (alert,) = rows(engine, CandidateAlert)
    assert alert.status == "rejected" and reason in alert.rejection_reason
    assert alert.payload == payload  # kept as received
    assert rows(engine, Candidate) == []


def test_huge_payload_is_stored_truncated_and_rejected(engine):
    payload = ZTF_33.read_bytes() * 80  # 5.4 MB
    stored = store_alert(payload, "kafka:ztf", engine=engine, max_bytes=4 << 20)
    assert stored.status == "rejected"
    (alert,) = rows(engine, CandidateAlert)
    assert len(alert.payload) == OVERSIZE_KEEP_BYTES and alert.size == len(payload)
    assert "exceeds the 4194304-byte limit" in alert.rejection_reason
    assert process_alert(stored.alert_id, engine=engine).status == "rejected"


def test_upload_of_real_photometry(engine):
    payload = at2017gfo_upload()
    out = ingest_alert_bytes(payload, "upload:test", engine=engine)
    assert out.status == "parsed", out.reason
    (cand,) = rows(engine, Candidate)
    assert (cand.name, cand.facility) == ("AT2017gfo", "DECam")
    phot = rows(engine, CandidatePhotometry)
    assert len(phot) == out.new_photometry == 107
    limits = [p for p in phot if p.is_upper_limit]
    assert len(limits) == 5  # the real file's no-flux and S/N < 3 rows
    first = min((p for p in phot if not p.is_upper_limit), key=lambda p: p.jd)
    assert first.jd == pytest.approx(57982.9 + 2400000.5, abs=1.0)
    assert first.origin == "upload" and first.facility == "DECam"
    assert cand.n_detections == 102
    assert {p.filter for p in phot} >= {"ps1::g", "2massks", "sdssu"}
    (alert,) = rows(engine, CandidateAlert)
    assert alert.format == "photometry-csv" and alert.facility == "DECam"


def test_upload_for_a_known_candidate_needs_no_position(engine):
    ingest_alert_bytes(ZTF_33.read_bytes(), "kafka", engine=engine)
    payload = (b'{"name": "ZTF17aaajnnn", "facility": "growth india", "instrument": "GIT",'
               b' "photometry": [{"mjd": 58227.81, "filter": "r", "mag": 18.9, "magerr": 0.1},'
               b' {"time": "2018-04-19T20:00:00Z", "filter": "g", "limiting_mag": 20.4}]}')
    out = ingest_alert_bytes(payload, "upload:test", engine=engine)
    assert out.status == "parsed", out.reason
    (cand,) = rows(engine, Candidate)
    git = rows(engine, CandidatePhotometry, CandidatePhotometry.facility == "GROWTH-India")
    assert len(git) == 2 and {p.instrument for p in git} == {"GIT"}
    assert cand.last_mag == pytest.approx(18.9) and cand.last_filter == "r"


@pytest.mark.parametrize(("payload", "reason"), [
    (b"name,facility,mjd,filter,mag,magerr,colour\n", "unknown columns ['colour']"),
    (b"name,facility,mjd,filter,mag,magerr\nX1,Keck,58000.1,r,19,0.1\n",
     "row 1: facility 'Keck' unknown"),
    (b"name,facility,mjd,filter,mag,magerr\nX1,KPED,58000.1,r,19,\n", "row 1: a detection"),
    (b"name,facility,mjd,filter,mag,magerr\nX1,KPED,58000.1,r,19,0.1\n",
     "candidate 'X1' is new: its ra and dec are required"),
    (b"name,facility,ra,dec,mjd,jd,filter,limiting_mag\nX1,KPED,1,2,58000.1,2458000.6,r,20\n",
     "exactly one of mjd, jd, time"),
    (b'[{"name": "X1", "facility": "KPED", "ra": 1, "dec": 2, "mjd": NaN, "filter": "r"}]',
     "does not parse"),
    (b"\xff\xfename", "not UTF-8"),
    (b"\x00" * 64, "binary (NUL bytes)"),
])
def test_bad_uploads_are_recorded_rejections(engine, payload, reason):
    out = ingest_alert_bytes(payload, "upload:test", engine=engine)
    assert out.status == "rejected" and reason in out.reason, out.reason
    assert rows(engine, Candidate) == [] and rows(engine, CandidatePhotometry) == []


def test_a_batch_parses_in_one_transaction_and_a_bad_alert_costs_the_others_nothing(engine):
    from tooflow.candidates.store import process_alerts

    ids = [store_alert(ZTF_32.read_bytes(), "k", engine=engine).alert_id,
           store_alert(ZTF_33.read_bytes()[:4000], "k", fmt="ztf-avro",
                       engine=engine).alert_id,
           store_alert(b"name,facility,mjd,filter,limiting_mag\nX9,KPED,58000.1,r,20\n", "u",
                       engine=engine).alert_id,  # a new candidate without a position
           store_alert(ZTF_33.read_bytes(), "k", engine=engine).alert_id]
    outs = process_alerts(ids, engine=engine)
    assert [o.status for o in outs] == ["parsed", "rejected", "rejected", "parsed"]
    assert "its ra and dec are required" in outs[2].reason
    assert {n for o in outs for n in o.names} == {"ZTF17aaacxxf", "ZTF17aaajnnn"}
    assert len(rows(engine, CandidatePhotometry)) == 29 + 12
    assert [o.status for o in process_alerts(ids, engine=engine)] == [
        "parsed", "rejected", "rejected", "parsed"]  # again: nothing redone
    assert len(rows(engine, CandidatePhotometry)) == 29 + 12


def _packets_of_one_batch() -> list[bytes]:
    """The four real packets, each also re-sent as a new candidate, and ZTF_32 with a new detection.

    Real content throughout: the copies are a real record re-encoded with its own
    writer schema, ``objectId`` and ``candid`` changed (as benchmarks/candidates.py
    does); the last is ZTF_32's record with its detection one day later, so its
    28 earlier measurements are repeated in the batch and must be stored once.
    """
    packets, records = [], []
    for path in sorted((DATA / "ztf").glob("*.avro")):
        reader = fastavro.reader(io.BytesIO(path.read_bytes()))
        records.append((reader.writer_schema, next(reader)))
        packets.append(path.read_bytes())

    def encoded(schema, record) -> bytes:
        buf = io.BytesIO()
        fastavro.writer(buf, schema, [record])
        return buf.getvalue()

    for i, (schema, record) in enumerate(records):
        candid = record["candid"] + 1_000_000 * (i + 1)
        packets.append(encoded(schema, {**record, "objectId": f"{record['objectId']}-{i}",
                                        "candid": candid,
                                        "candidate": {**record["candidate"], "candid": candid}}))
    reader = fastavro.reader(io.BytesIO(ZTF_32.read_bytes()))
    schema, record = reader.writer_schema, next(reader)
    later = {**record["candidate"], "candid": record["candid"] + 1,
             "jd": record["candidate"]["jd"] + 1.0}
    packets.append(encoded(schema, {**record, "candid": later["candid"], "candidate": later}))
    return packets


def test_a_batch_stores_every_row_once_with_its_values(engine):
    """The batch path (a COPY per table on PostgreSQL) writes what the packets hold, once.

    Every measurement of every packet is there exactly once (the history shared
    by two packets of one candidate too), with the parsed values; every cutout
    and packet byte for byte; parsing the batch again adds nothing.
    """
    from tooflow.candidates.store import process_alerts
    from tooflow.candidates.ztf import parse_ztf_alert

    packets = _packets_of_one_batch()
    ids = [store_alert(p, "kafka:ztf", engine=engine).alert_id for p in packets]
    assert len(set(ids)) == len(packets) == 9
    outs = process_alerts(ids, engine=engine)
    assert [o.status for o in outs] == ["parsed"] * 9, [o.reason for o in outs]
    alerts = [parse_ztf_alert(p) for p in packets]
    expected = {}
    for alert in alerts:
        for point in [*alert.prv_candidates, alert.detection]:
            expected.setdefault((alert.object_id, point.key), point)
    assert len(expected) < sum(len(a.prv_candidates) + 1 for a in alerts)  # some repeated
    names = {c.id: c.name for c in rows(engine, Candidate)}
    assert sorted(names.values()) == sorted({a.object_id for a in alerts})
    stored = [(names[p.candidate_pk], p.key) for p in rows(engine, CandidatePhotometry)]
    assert sorted(stored) == sorted(expected)  # none missing, none twice
    assert sum(o.new_photometry for o in outs) == len(expected)
    for row in rows(engine, CandidatePhotometry):
        point = expected[(names[row.candidate_pk], row.key)]
        assert (row.time, row.jd, row.filter, row.mag, row.magerr, row.limiting_mag,
                row.is_upper_limit, row.isdiffpos, row.candid, row.ra, row.dec) == (
            point.time, point.jd, point.filter, point.mag, point.magerr, point.limiting_mag,
            point.is_upper_limit, point.isdiffpos, point.candid, point.ra, point.dec)
    cutouts = sorted((c.alert_id, c.kind, c.data) for c in rows(engine, CandidateCutout))
    assert cutouts == sorted((i, kind, data) for i, alert in zip(ids, alerts, strict=True)
                             for kind, data in alert.cutouts.items())
    assert {a.id: a.payload for a in rows(engine, CandidateAlert)} == dict(
        zip(ids, packets, strict=True))
    twice = [c for c in rows(engine, Candidate) if c.name == "ZTF17aaacxxf"]
    assert len(twice) == 1 and twice[0].latest_alert_id == ids[-1]
    assert twice[0].n_detections == len([k for (n, k), p in expected.items()
                                         if n == "ZTF17aaacxxf" and not p.is_upper_limit])
    again = process_alerts(ids, engine=engine)
    assert [o.status for o in again] == ["parsed"] * 9
    assert len(rows(engine, CandidatePhotometry)) == len(expected)
    assert len(rows(engine, CandidateCutout)) == 27


def test_a_batch_that_fails_to_write_leaves_its_alerts_to_parse_again(engine):
    """A write refused mid-batch (a cutout's unique key, here) rolls the batch back whole.

    The alerts stay stored and ``received``, nothing of the batch is left; once
    the obstacle is gone the same batch parses.
    """
    from sqlalchemy.exc import IntegrityError

    from tooflow.candidates.store import process_alerts

    first = ingest_alert_bytes(ZTF_33.read_bytes(), "kafka:ztf", engine=engine)
    ids = [store_alert(ZTF_32.read_bytes(), "kafka:ztf", engine=engine).alert_id]
    with Session(engine) as s:  # a cutout already there under the new alert's id
        s.add(CandidateCutout(candidate_pk=first.candidate_ids[0], alert_id=ids[0],
                              kind="science", sha256="0" * 64, data=b"x"))
        s.commit()
    with pytest.raises(IntegrityError):
        process_alerts(ids, engine=engine)
    (alert,) = rows(engine, CandidateAlert, CandidateAlert.id == ids[0])
    assert alert.status == "received" and alert.payload == ZTF_32.read_bytes()
    names = [c.name for c in rows(engine, Candidate)]
    if engine.dialect.name == "postgresql":
        assert names == ["ZTF17aaajnnn"]
    else:  # pysqlite: the SAVEPOINT adding new candidates opens a transaction of its own,
        # which its RELEASE commits: the new candidate stays, with no rows (as before COPY)
        assert names == ["ZTF17aaajnnn", "ZTF17aaacxxf"]
    assert len(rows(engine, CandidatePhotometry)) == first.new_photometry
    with Session(engine) as s:
        s.delete(s.exec(select(CandidateCutout).where(CandidateCutout.data == b"x")).one())
        s.commit()
    assert [o.status for o in process_alerts(ids, engine=engine)] == ["parsed"]
    assert len(rows(engine, CandidateCutout)) == 6


def test_binary_copy_refuses_a_type_it_does_not_encode():
    from tooflow.db.copy_rows import encode_binary_copy

    with pytest.raises(TypeError, match="candidate.scores"):
        encode_binary_copy(Candidate.__table__, ["scores"], [{"scores": {"rb": 0.9}}])
