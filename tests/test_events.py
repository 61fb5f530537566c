"""Parse and gate stored notices of every family, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from ligo.skymap.io.fits import read_sky_map
from ligo.skymap.postprocess.crossmatch import crossmatch
from sqlmodel import Session, select

from tooflow.config import load_settings
from tooflow.intake.store import store_notice
from tooflow.models import Event, GateDecision, Localization, Notice
from tooflow.skymap import SkymapStore
from tooflow.stages.gate import gate_notice
from tooflow.stages.parse import parse_stored_notice

from .conftest import DATA

LVK = DATA / "lvk"
GCN = DATA / "gcn"


def _ingest(engine, path):
    stored = store_notice(path.read_bytes(), str(path), engine=engine)
    return parse_stored_notice(stored.notice_id, engine=engine, settings=load_settings())


@pytest.mark.slow  # big map
def test_ms181101ab_preliminary_numbers_match_crossmatch(engine):
    out = _ingest(engine, LVK / "avro" / "MS181101ab-preliminary.avro")
    assert not out.rejected and out.event_id == "MS181101ab"
    with Session(engine) as s:
        loc = s.get(Localization, out.localization_id)
    assert loc.ra == pytest.approx(194.304, abs=1e-3)
    assert loc.dec == pytest.approx(-17.857, abs=1e-3)
    assert loc.distance_mean == pytest.approx(39.77, abs=0.01)
    assert loc.distance_std == pytest.approx(8.31, abs=0.01)
    # The stored map is the one the numbers came from: crossmatch agrees.
    path = SkymapStore(load_settings().resolved_skymap_dir).path(loc.skymap_sha256)
    result = crossmatch(read_sky_map(str(path), moc=True), contours=(0.5, 0.9))
    assert loc.area_50 == pytest.approx(result.contour_areas[0], rel=1e-6)
    assert loc.area_90 == pytest.approx(result.contour_areas[1], rel=1e-6)


def test_s230518h_real_nsbh_triggers_the_kilonova_program(engine):
    out = _ingest(engine, LVK / "json" / "S230518h-initial.json")
    assert out.summary["group"] == "CBC" and not out.summary["is_mock"]
    decisions = {d.program: d for d in gate_notice(out.notice_id, engine=engine)}
    assert decisions["GW kilonova search"].triggered == (
        out.summary["area_90"] < 1000 and out.summary["distance_mean"] < 300)
    with Session(engine) as s:
        stored = s.exec(select(GateDecision).where(GateDecision.notice_id == out.notice_id)
                        ).all()
        assert {d.program for d in stored} == set(decisions)
        assert s.get(Notice, out.notice_id).status == "gated"


def test_notices_of_one_event_update_one_row(engine):
    first = _ingest(engine, LVK / "avro" / "MS181101ab-preliminary.avro")
    retraction = _ingest(engine, LVK / "avro" / "MS181101ab-retraction.avro")
    assert first.event_pk == retraction.event_pk
    with Session(engine) as s:
        event = s.get(Event, first.event_pk)
        assert event.retracted and event.latest_notice_type == "RETRACTION"
        assert len(s.exec(select(Notice).where(Notice.event_pk == event.id)).all()) == 2
    decisions = gate_notice(retraction.notice_id, engine=engine)
    assert not any(d.triggered for d in decisions)


@pytest.mark.parametrize("path, event_id, kind, state", [
    (GCN / "voevent" / "fink-mm" / "AMON_ICECUBE_GOLD_Event2022-12-23T07_43_00.52_24_137467_"
     "064735045_0.xml", None, "neutrino", "circle"),
    (GCN / "json" / "einstein_probe" / "alert_247.json", None, "X-ray", "circle"),
    (GCN / "snews" / "voevent" / "snews_gcn.xml", None, "supernova", None),
    (LVK / "voevent" / "S190425z-1-Initial.xml", "S190425z", "GW", "unavailable"),
])
def test_other_families_are_recorded(engine, path, event_id, kind, state):
    out = _ingest(engine, path)
    assert not out.rejected, out.reason
    assert out.summary["kind"] == kind
    if event_id:
        assert out.event_id == event_id
    assert out.summary.get("localization_state") == state
    if state == "circle":
        assert out.summary["area_90"] > 0 and out.summary["error_radius"] > 0


@pytest.mark.parametrize("name, state, area_90", [
    ("gsc.unknown.ellipse.example.json", "ellipse", 0.1313),  # pi * 0.22 * 0.19
    ("gsc.unknown.rectangle.example.json", "polygon", 0.745),  # 90% of the 0.83 deg2 box
])
def test_ellipses_and_boxes_are_stored_as_what_they_are(engine, name, state, area_90):
    out = _ingest(engine, GCN / "gcn-schema" / "notices" / "maxi" / name)
    assert not out.rejected, out.reason
    assert out.summary["localization_state"] == state
    assert out.summary["area_90"] == pytest.approx(area_90, rel=0.02)
    assert (out.summary["ra"], out.summary["dec"]) == (346.56, 18.61)
    from tooflow.views.summary import format_fields

    shown = "\n".join(format_fields(out.summary))
    assert ("error ellipse" if state == "ellipse" else "error box") in shown
    assert "circle of radius" not in shown


def test_classic_json_type_comes_from_the_stored_topic(engine):
    payload = (GCN / "classic-json" / "SWIFT_XRT_POSITION" / "example.json").read_bytes()
    stored = store_notice(payload, "gcn.classic.json.SWIFT_XRT_POSITION", engine=engine)
    out = parse_stored_notice(stored.notice_id, engine=engine, settings=load_settings())
    assert not out.rejected, out.reason
    assert (out.event_id, out.summary["notice_type"]) == ("Swift-1227767", "SWIFT_XRT_POSITION")
    assert out.summary["localization_state"] == "circle"


def test_corrupt_embedded_map_rejects_only_that_notice(engine):
    good = _ingest(engine, LVK / "avro" / "MS181101ab-retraction.avro")
    payload = (LVK / "json" / "S230518h-initial.json").read_bytes()
    at = payload.index(b'"skymap": "') + 20_000
    truncated = payload[:at] + payload[at + 40_000:]  # valid base64, a FITS file cut short
    stored = store_notice(truncated, "corrupted", engine=engine)
    out = parse_stored_notice(stored.notice_id, engine=engine, settings=load_settings())
    # refused from the FITS header, before the table is read: it names what is missing
    assert out.rejected and "skymap is truncated: its table needs" in out.reason
    with Session(engine) as s:
        assert s.get(Notice, good.notice_id).status == "parsed"
        assert s.get(Notice, stored.notice_id).rejection_reason == out.reason
        assert s.exec(select(Event).where(Event.event_id == "S230518h")).first() is None


def test_unreachable_skymap_is_fetched_again_on_a_rerun(engine, monkeypatch):
    """S190425z's VOEvent gives its map only by URL: unavailable, then fetched on re-parse."""
    import tooflow.skymap as skymap
    from tooflow.errors import SkymapUnavailable

    def down(url, **kwargs):
        raise SkymapUnavailable(f"cannot fetch sky map {url}: connection refused")

    monkeypatch.setattr(skymap, "fetch_skymap", down)
    first = _ingest(engine, LVK / "voevent" / "S190425z-1-Initial.xml")
    assert first.summary["localization_state"] == "unavailable"
    # The server answers now (with a real flat map standing in for the GraceDB file).
    data = (DATA / "skymaps" / "glg_healpix_all_bn180116026.fit").read_bytes()
    monkeypatch.setattr(skymap, "fetch_skymap", lambda url, **kwargs: data)
    again = parse_stored_notice(first.notice_id, engine=engine, settings=load_settings())
    assert again.summary["localization_state"] == "stored"
    with Session(engine) as s:
        rows = s.exec(select(Localization).where(Localization.notice_id == first.notice_id)
                      ).all()
    assert len(rows) == 1 and rows[0].skymap_sha256 and rows[0].area_90 > 0
