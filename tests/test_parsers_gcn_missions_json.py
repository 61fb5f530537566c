"""Missions of gcn-schema that tooflow refused before: CHIME/FRB and DSA-110 FRBs,
BurstCube, GLOWBUG, Fermi LAT flares, HEASARC archive (IXPE, NuSTAR) from releases;
Swift XRT/UVOT, SVOM MXT, AstroSat from gcn-schema pull-request drafts
(tooflow/parsers/gcn_json_missions.py), on the published examples."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import pytest

from tooflow.circulars import render_circular
from tooflow.errors import NoticeRejected
from tooflow.parsers import parse_notice
from tooflow.programs import Program, gate
from tooflow.skymap import localization_to_moc, summarize

GCN = Path(__file__).parent / "data" / "gcn"
NOTICES = GCN / "gcn-schema" / "notices"
DRAFTS = GCN / "gcn-schema-drafts"
UTC = dt.UTC


def parse(path: Path):
    return parse_notice(path.read_bytes())


def test_chime_frb_detection_is_an_frb_with_its_ellipse():
    n = parse(NOTICES / "chime" / "frb.detection.example.json")
    assert (n.source, n.kind, n.event_id, n.notice_type) == (
        "CHIME", "FRB", "CHIME-FRB-427325191", "CHIME_FRB_INITIAL")
    assert n.time == dt.datetime(2024, 9, 18, 7, 19, 10, 765268, tzinfo=UTC)
    assert n.properties["schema_validated"] is True
    assert n.properties["dm"] == pytest.approx(279.4226)
    assert n.properties["snr"] == pytest.approx(12.6986, abs=1e-4)
    loc = n.localization
    # ra_dec_error [0.5038, 0.5989, 0]: b > a, so the major axis is the second, at PA 90
    assert loc.shape == "ellipse"
    assert (loc.error_radius, loc.error_minor, loc.error_angle) == pytest.approx(
        (0.598921231135782, 0.503806986334273, 90.0))
    area = summarize(localization_to_moc(loc)).area_90
    assert area == pytest.approx(math.pi * 0.5989 * 0.5038, rel=0.02)


def test_chime_retraction_retracts_the_same_event():
    n = parse(NOTICES / "chime" / "frb.retraction.example.json")
    assert (n.event_id, n.is_retraction, n.localization) == ("CHIME-FRB-427325191", True, None)


def test_dsa110_frb():
    n = parse(NOTICES / "dsa110" / "frb.detection.example.json")
    assert (n.source, n.kind, n.event_id) == ("DSA-110", "FRB", "DSA110-FRB-240918aaaa")
    assert n.localization.shape == "ellipse"
    assert (n.localization.error_radius, n.localization.error_minor) == (0.02, 0.016)
    assert parse(NOTICES / "dsa110" / "frb.retraction.example.json").is_retraction


def test_the_gate_can_select_frbs():
    n = parse(NOTICES / "chime" / "frb.detection.example.json")
    fields = {"kind": n.kind, "source": n.source, "notice_type": n.notice_type,
              "is_mock": n.is_mock, "is_retraction": n.is_retraction,
              "error_radius": n.localization.error_radius, **n.properties}
    frb, grb = gate(fields, [Program("FRB counterparts", kinds=("FRB",), criteria="dm > 100"),
                             Program("GRB afterglow", kinds=("GRB",))])
    assert frb.triggered and "dm" in frb.reason
    assert not grb.triggered and grb.reason == "kind FRB not in ['GRB']"


def test_frb_circular_template():
    from .test_circulars import grb230812b_context

    ctx = dataclasses.replace(grb230812b_context(), kind="FRB", event_name="FRB 20240918A",
                              source="CHIME/FRB", notice_type="CHIME_FRB_INITIAL",
                              candidates=[])
    assert "the fast radio burst FRB 20240918A (CHIME/FRB" in " ".join(
        render_circular(ctx).body.split())


def test_burstcube_alert_and_test():
    n = parse(NOTICES / "burstcube" / "alert.example.json")
    assert (n.source, n.kind, n.event_id, n.is_mock) == (
        "BurstCube", "GRB", "BurstCube-240601000", False)
    # its healpix_file is the placeholder "stuff": the circle is used, the error is kept
    assert n.properties["skymap_error"] == "healpix_file is not valid base64"
    assert (n.localization.ra, n.localization.dec, n.localization.error_radius) == (232, -53.1, 10)
    assert n.properties["skymap_url"].endswith("240601000_locmap.fits")
    assert n.properties["detectors"] == ["CsI0", "CsI1"]
    test = parse(NOTICES / "burstcube" / "test.example.json")
    assert (test.event_id, test.notice_type, test.is_mock) == (
        n.event_id, "BURSTCUBE_TEST", True)


def test_glowbug_alert_across_releases():
    n = parse(NOTICES / "glowbug" / "Alert.example.json")
    assert (n.source, n.kind, n.event_id) == ("GLOWBUG", "GRB", "GLOWBUG-BUG230423.789")
    assert n.time == dt.datetime(2023, 4, 23, 15, 20, 11, tzinfo=UTC)
    assert n.localization is None  # the alert carries no position
    assert n.properties["p_astro"] == 0.9


def test_fermi_lat_flare_of_a_known_source():
    n = parse(NOTICES / "fermi" / "lat" / "flare.example.json")
    assert (n.source, n.kind, n.notice_type) == ("Fermi", "other", "FERMI_LAT_FLARE")
    assert n.event_id == "Fermi-LAT-Flare-OQ_334-20251120"
    assert n.time == dt.datetime(2025, 11, 20, tzinfo=UTC)  # observation_start
    assert n.properties["test_statistic"] == 45 and n.properties["flux_ratio"] == 20
    loc = n.localization
    assert (loc.ra, loc.dec) == (215.62657, 32.38623)
    assert loc.error_radius == pytest.approx(1 / 3600)  # quoted to 1e-5 deg: the 1" floor


def test_heasarc_archive_alert_names_the_facility():
    n = parse(NOTICES / "heasarc" / "archive_alert.example.json")
    assert (n.source, n.kind, n.event_id) == ("IXPE", "other", "IXPE-01001099")
    assert n.properties["target_name"] == "Crab"
    assert n.time == dt.datetime(2022, 2, 21, 16, 12, 23, tzinfo=UTC)


@pytest.mark.parametrize("relpath, source, event_id, notice_type, radius", [
    ("swift/xrt/position.initial.example.json", "Swift", "Swift-1253910",
     "SWIFT_XRT_POSITION", 0.0013666666666666666),
    ("swift/uvot/position.initial.example.json", "Swift", "Swift-1253910",
     "SWIFT_UVOT_POSITION", 0.00020833333333333335),
    ("svom/mxt/mxt.example.json", "SVOM", "SVOM-sb24022203", "SVOM_MXT", 0.03),
    ("astrosat/alert.schema.example.json", "AstroSat", "AstroSat-CZTI-20240301T214605",
     "ASTROSAT_CZTI", 0.02),
])
def test_draft_positions(relpath, source, event_id, notice_type, radius):
    n = parse(DRAFTS / relpath)
    assert (n.source, n.kind, n.event_id, n.notice_type) == (source, "GRB", event_id,
                                                             notice_type)
    assert n.properties["schema_validated"] is False  # not in any gcn-schema release
    assert n.localization.error_radius == radius and n.localization.shape == "circle"


def test_swift_xrt_json_joins_the_voevent_event_of_its_trigger():
    # VOEvents of a Swift trigger are all Swift-<TrigID>; the XRT JSON names the same id
    n = parse(DRAFTS / "swift" / "xrt" / "position.initial.example.json")
    assert n.event_id == f"Swift-{n.properties['trigger_id']}"
    assert n.time == dt.datetime(2024, 9, 12, 1, 48, 25, 200000, tzinfo=UTC)


@pytest.mark.parametrize("relpath, source, event_id", [
    ("heasarc/nustar/archive_alert.example.json", "NuSTAR", "NuSTAR-60061224002"),
    ("heasarc/ixpe/archive_alert.example.json", "IXPE", "IXPE-01001099"),
])
def test_ixpe_nustar_archive_drafts(relpath, source, event_id):
    n = parse(DRAFTS / relpath)
    assert (n.source, n.kind, n.event_id) == (source, "other", event_id)
    assert n.localization is None  # these notices give a target name, no position


def test_still_unknown_mission_is_refused_by_name():
    with pytest.raises(NoticeRejected, match="unknown JSON notice schema: .*boom/alert"):
        parse(NOTICES / "boom" / "alert.example.json")
