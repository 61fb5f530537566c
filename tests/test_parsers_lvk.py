"""LVK igwn.gwalert Avro and JSON notices (tooflow/parsers/lvk.py), on the real samples."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import fastavro
import pytest

from tooflow.errors import NoticeRejected
from tooflow.parsers import parse_notice
from tooflow.parsers.lvk import igwn_avro_schema, parse_lvk_avro, parse_lvk_json

LVK = Path(__file__).parent / "data" / "lvk"
UTC = dt.UTC


def avro_bytes(name: str) -> bytes:
    return (LVK / "avro" / name).read_bytes()


def json_obj(name: str) -> dict:
    return json.loads((LVK / "json" / name).read_text())


# --- Avro --------------------------------------------------------------------------

def test_avro_preliminary_fields():
    n = parse_notice(avro_bytes("MS181101ab-preliminary.avro"))
    assert (n.source, n.format, n.kind) == ("LVK", "avro", "GW")
    assert n.event_id == "MS181101ab"
    assert n.notice_type == "PRELIMINARY"
    assert n.time == dt.datetime(2018, 11, 1, 22, 22, 46, 654000, tzinfo=UTC)
    assert n.issued == dt.datetime(2018, 11, 1, 22, 34, 49, tzinfo=UTC)
    assert n.is_mock and not n.is_retraction
    p = n.properties
    assert p["group"] == "CBC" and p["search"] == "MDC" and p["pipeline"] == "gstlal"
    assert p["far"] == pytest.approx(9.11069936486e-14)
    assert p["significant"] is True
    assert p["instruments"] == ["H1", "L1", "V1"]
    assert (p["p_BNS"], p["p_NSBH"], p["p_BBH"], p["p_Terrestrial"]) == (0.95, 0.01, 0.03, 0.01)
    assert (p["HasNS"], p["HasRemnant"], p["HasMassGap"]) == (0.95, 0.91, 0.01)
    assert "duration" not in p and "central_frequency" not in p
    assert n.external_coincidence is None
    assert n.localization.skymap_bytes.startswith(b"SIMPLE  =")
    assert len(n.localization.skymap_bytes) == 777600


def test_avro_retraction_has_no_event_but_is_valid():
    n = parse_notice(avro_bytes("MS181101ab-retraction.avro"))
    assert n.notice_type == "RETRACTION" and n.is_retraction and n.is_mock
    assert n.localization is None and n.external_coincidence is None
    # No event: the time is the notice creation time.
    assert n.time == n.issued == dt.datetime(2018, 11, 1, 23, 36, 23, tzinfo=UTC)
    assert set(n.properties) == {"gracedb_url"}


def test_avro_ext_update_raven_fields_and_combined_map():
    n = parse_notice(avro_bytes("MS181101ab-ext-update.avro"))
    assert n.notice_type == "UPDATE"
    ext = n.external_coincidence
    assert ext["gcn_notice_id"] == 524666471
    assert ext["ivorn"] == ("ivo://nasa.gsfc.gcn/Fermi#GBM_Fin_Pos2017-08-17T12:41:06.47"
                            "_524666471_0-389")
    assert (ext["observatory"], ext["search"]) == ("Fermi", "GRB")
    assert ext["time_difference"] == 2.02
    assert ext["time_coincidence_far"] == pytest.approx(2.14387838137e-14)
    assert ext["time_sky_position_coincidence_far"] == pytest.approx(6.410749524018777e-16)
    assert ext["combined_skymap"] is True
    # The combined map is the localization; the GW-only map is kept beside it.
    assert n.localization.filename == "combined-ext.multiorder.fits"
    assert ext["gw_skymap"].startswith(b"SIMPLE  =")
    assert ext["gw_skymap"] != n.localization.skymap_bytes


def test_avro_and_json_of_the_same_alert_agree():
    # The userguide's ext-update JSON display example is the same alert with its
    # maps cut short; with the maps removed it must parse to the same fields.
    a = parse_notice(avro_bytes("MS181101ab-ext-update.avro"))
    obj = json_obj("MS181101ab-ext-update_displayexample.json")
    obj["event"]["skymap"] = None
    obj["external_coinc"]["combined_skymap"] = None
    j = parse_lvk_json(obj)
    assert j.format == "json"
    assert (j.event_id, j.notice_type, j.time, j.issued) == (a.event_id, a.notice_type,
                                                             a.time, a.issued)
    assert j.properties == a.properties
    fields = ("gcn_notice_id", "ivorn", "observatory", "search", "time_difference",
              "time_coincidence_far", "time_sky_position_coincidence_far")
    assert {k: j.external_coincidence[k] for k in fields} == {
        k: a.external_coincidence[k] for k in fields}
    assert j.external_coincidence["combined_skymap"] is False
    assert j.localization is None


def test_avro_with_wrong_magic_is_rejected():
    data = bytearray(avro_bytes("MS181101ab-retraction.avro"))
    data[:4] = b"Obj\x02"
    with pytest.raises(NoticeRejected, match="not an Avro object container file"):
        parse_lvk_avro(bytes(data))


def test_corrupt_avro_header_map_is_rejected():
    data = bytearray(avro_bytes("MS181101ab-retraction.avro"))
    data[4] = 0x7F  # the header map's block count becomes -64: garbage follows
    with pytest.raises(NoticeRejected, match="corrupt or truncated Avro"):
        parse_lvk_avro(bytes(data))


def test_corrupt_avro_schema_bytes_are_rejected():
    data = bytearray(avro_bytes("MS181101ab-retraction.avro"))
    i = data.index(b'"fields"')
    data[i:i + 8] = b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8"
    with pytest.raises(NoticeRejected, match="corrupt or truncated Avro"):
        parse_lvk_avro(bytes(data))


def test_corrupt_avro_sync_marker_is_rejected():
    data = bytearray(avro_bytes("MS181101ab-retraction.avro"))
    data[-8:] = bytes(b ^ 0xFF for b in data[-8:])
    with pytest.raises(NoticeRejected, match="corrupt or truncated Avro"):
        parse_lvk_avro(bytes(data))


def test_corrupt_embedded_skymap_is_rejected():
    data = bytearray(avro_bytes("MS181101ab-preliminary.avro"))
    i = data.index(b"SIMPLE  =")
    data[i:i + 6] = b"XXXXXX"
    with pytest.raises(NoticeRejected, match="event.skymap is not a FITS file"):
        parse_lvk_avro(bytes(data))


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.999])
def test_truncated_avro_is_rejected(keep):
    data = avro_bytes("MS181101ab-preliminary.avro")
    with pytest.raises(NoticeRejected, match="corrupt or truncated Avro|no record"):
        parse_lvk_avro(data[: int(len(data) * keep)])


def test_avro_of_another_schema_is_rejected():
    schema = {"type": "record", "name": "Reading", "namespace": "example",
              "fields": [{"name": "sensor", "type": "string"}, {"name": "value", "type": "double"}]}
    buf = io.BytesIO()
    fastavro.writer(buf, fastavro.parse_schema(schema), [{"sensor": "t1", "value": 21.5}])
    with pytest.raises(NoticeRejected, match="not an IGWN alert"):
        parse_notice(buf.getvalue())


def test_avro_with_two_records_is_rejected():
    record = next(fastavro.reader(io.BytesIO(avro_bytes("MS181101ab-retraction.avro"))))
    buf = io.BytesIO()
    fastavro.writer(buf, igwn_avro_schema(), [record, record])
    with pytest.raises(NoticeRejected, match="2 records"):
        parse_lvk_avro(buf.getvalue())


def test_avro_update_without_event_is_rejected():
    record = next(fastavro.reader(io.BytesIO(avro_bytes("MS181101ab-retraction.avro"))))
    record["alert_type"] = "UPDATE"
    buf = io.BytesIO()
    fastavro.writer(buf, igwn_avro_schema(), [record])
    with pytest.raises(NoticeRejected, match="UPDATE alert for MS181101ab has no event"):
        parse_lvk_avro(buf.getvalue())


# --- JSON --------------------------------------------------------------------------

def test_real_s230518h_initial():
    n = parse_notice((LVK / "json" / "S230518h-initial.json").read_bytes())
    assert (n.format, n.event_id, n.notice_type) == ("json", "S230518h", "INITIAL")
    assert not n.is_mock and not n.is_retraction
    assert n.time == dt.datetime(2023, 5, 18, 12, 59, 8, 167000, tzinfo=UTC)
    assert n.issued == dt.datetime(2023, 5, 18, 16, 7, 18, tzinfo=UTC)
    p = n.properties
    assert (p["group"], p["search"], p["pipeline"]) == ("CBC", "AllSky", "pycbc")
    assert p["far"] == pytest.approx(3.218261352069347e-10)
    assert p["instruments"] == ["H1", "L1"]
    assert p["p_NSBH"] == pytest.approx(0.8642645059209272)
    assert p["HasNS"] == 1.0
    assert p["gracedb_url"] == "https://gracedb.ligo.org/superevents/S230518h/view/"
    assert n.localization.skymap_bytes[:9] == b"SIMPLE  ="
    assert n.localization.url is None


@pytest.mark.parametrize("name, event_id", [("MS181101ab-retraction.json", "MS181101ab"),
                                            ("MS260605l-retraction.json", "MS260605l")])
def test_json_retractions(name, event_id):
    n = parse_notice((LVK / "json" / name).read_bytes())
    assert (n.event_id, n.notice_type, n.is_retraction, n.is_mock) == (
        event_id, "RETRACTION", True, True)
    assert n.localization is None


def test_earlywarning_display_example_without_its_cut_map():
    obj = json_obj("MS181101ab-earlywarning_displayexample.json")
    obj["event"]["skymap"] = None
    n = parse_lvk_json(obj)
    assert n.notice_type == "EARLYWARNING" and n.localization is None
    assert n.properties["significant"] is True


@pytest.mark.parametrize("name", ["MS181101ab-earlywarning_displayexample.json",
                                  "MS181101ab-ext-update_displayexample.json"])
def test_json_with_broken_base64_map_is_rejected(name):
    with pytest.raises(NoticeRejected, match="event.skymap is not valid base64"):
        parse_notice((LVK / "json" / name).read_bytes())


def test_json_with_base64_of_truncated_fits_is_rejected():
    obj = json_obj("S230518h-initial.json")
    obj["event"]["skymap"] = obj["event"]["skymap"][:40000]  # still valid base64
    with pytest.raises(NoticeRejected, match="event.skymap is truncated"):
        parse_lvk_json(obj)


def test_mdc_search_marks_mock_even_for_an_s_id():
    obj = json_obj("S230518h-initial.json")
    assert not parse_lvk_json(obj).is_mock
    obj["event"]["search"] = "MDC"
    assert parse_lvk_json(obj).is_mock


@pytest.mark.parametrize("change, where", [
    (lambda o: o.update(alert_type="SUPERSEDED"), "alert_type"),
    (lambda o: o.pop("superevent_id"), "(top level)"),
    (lambda o: o["event"].update(far="tiny"), "event/far"),
    (lambda o: o["event"].update(instruments="H1,L1"), "event/instruments"),
])
def test_json_schema_violations_are_rejected(change, where):
    obj = json_obj("S230518h-initial.json")
    change(obj)
    with pytest.raises(NoticeRejected, match=re.escape(f"IGWN alert JSON schema at {where}:")):
        parse_lvk_json(obj)


def test_json_bad_event_time_is_rejected():
    obj = json_obj("MS181101ab-earlywarning_displayexample.json")
    obj["event"]["skymap"] = None
    obj["event"]["time"] = "yesterday"
    with pytest.raises(NoticeRejected, match="event time 'yesterday' is not an ISO 8601"):
        parse_lvk_json(obj)
