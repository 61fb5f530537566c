"""GCN unified-schema JSON notices of every released gcn-schema version
(tooflow/parsers/gcn_schemas.py: validation against the release a notice names),
on the examples published at the release tags."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pytest

from tooflow.errors import NoticeRejected, SchemaUnknown, SchemaViolation
from tooflow.parsers import parse_notice
from tooflow.parsers.gcn_schemas import released_versions, resolve, schema_ref

RELEASES = Path(__file__).parent / "data" / "gcn" / "gcn-schema-releases"
UTC = dt.UTC


def parse(relpath: str):
    return parse_notice((RELEASES / relpath).read_bytes())


def test_every_release_tag_is_shipped():
    tags = released_versions()
    assert tags[0] == "v1.0.0" and tags[-1] == "v7.2.1" and len(tags) == 22


def test_schema_ref_names_the_version():
    assert schema_ref("https://gcn.nasa.gov/schema/v6.0.0/gcn/notices/fermi/gbm/trigger.schema.json"
                      ) == ("v6.0.0", "fermi/gbm/trigger")
    assert schema_ref("https://gcn.nasa.gov/schema/main/gcn/notices/svom/trigger.schema.json"
                      ) == (None, "svom/trigger")


def test_v1_icecube_lvk_nu_track_search():
    n = parse("v1.0.0/icecube/LvkNuTrackSearch.example.json")
    assert (n.source, n.kind, n.event_id) == ("IceCube", "neutrino", "IceCube-LVK-MS230427r")
    assert n.notice_type == "ICECUBE_LVK_NU_TRACK_SEARCH"
    assert n.properties["schema_validated"] is True
    assert n.properties["schema_version"] == "v1.0.0"
    assert n.properties["n_events_coincident"] == 2
    assert n.properties["pval_bayesian"] == 0.45
    assert n.time == dt.datetime(2023, 4, 16, 5, 22, 26, tzinfo=UTC)


def test_v1_icecube_gold_and_bronze():
    n = parse("v1.0.0/icecube/GoldAndBronze.example.json")
    assert (n.source, n.kind, n.event_id) == ("IceCube", "neutrino", "IceCube-137840")
    assert n.properties["schema_version"] == "v1.0.0"
    loc = n.localization
    assert (loc.ra, loc.dec, loc.error_radius, loc.radius_kind) == (345.82, 9.01, 0.51, "stat 90%")
    assert n.properties["energy"] == 127.29 and n.properties["signalness"] == 0.34064


def test_v1_v2_swift_guano_alert_and_retraction():
    n = parse("v1.0.0/swift/bat/guano/alert.example.json")
    assert (n.source, n.kind, n.event_id) == ("Swift", "GRB", "Swift-BAT-GUANO-694215995")
    assert n.notice_type == "SWIFT_BAT_GUANO" and not n.is_retraction
    r = parse("v2.0.0/swift/bat/guano/alert.retraction.example.json")
    assert (r.event_id, r.is_retraction) == (n.event_id, True)
    assert r.properties["schema_version"] == "v2.0.0"


def test_v3_v4_lower_case_guano():
    # v3.0.0/v4.0.0 examples name .../swift/bat/guano.schema.json, the $id of Guano.schema.json
    n = parse("v3.0.0/swift/bat/guano.loc_arc_min.example.json")
    assert (n.event_id, n.properties["schema_version"]) == ("Swift-BAT-GUANO-694215995", "v3.0.0")
    assert n.localization.ra == 336.26 and n.localization.error_radius == 0.05
    assert parse("v4.0.0/swift/bat/Guano.example.json").event_id == "Swift-BAT-GUANO-694215995"


def test_v4_icecube_test_gold_bronze():
    n = parse("v4.0.0/icecube/test/gold_bronze_track_alerts.example.json")
    assert (n.source, n.kind) == ("IceCube", "neutrino")
    assert n.properties["schema_version"] == "v4.0.0"
    assert n.localization is not None and n.localization.is_circle


@pytest.mark.parametrize("relpath, notice_type", [
    ("v6.0.0/fermi/gbm/trigger.final.example.json", "FERMI_GBM_FIN_POS"),
    ("v6.3.0/fermi/gbm/trigger.flight1.example.json", "FERMI_GBM_FLT_POS"),
    ("v6.3.0/fermi/gbm/trigger.ground2.example.json", "FERMI_GBM_GND_POS"),
])
def test_v6_fermi_gbm_validates_against_its_own_release(relpath, notice_type):
    # photon_flux etc. as those releases define them (today's schema refuses them)
    n = parse(relpath)
    assert (n.source, n.kind, n.notice_type) == ("Fermi", "GRB", notice_type)
    assert n.properties["schema_version"] == relpath.split("/", 1)[0]
    assert n.event_id.startswith("Fermi-GBM-")


def test_a_notice_failing_its_release_schema_is_told_apart_from_an_unknown_schema():
    obj = json.loads((RELEASES / "v6.0.0/fermi/gbm/trigger.final.example.json").read_text())
    obj["trigger_time"] = 745121680.43  # a number, not a date-time string
    with pytest.raises(SchemaViolation,
                       match=r"^JSON notice fails its schema fermi/gbm/trigger \(v6.0.0\): "):
        parse_notice(json.dumps(obj).encode())
    # the same notice naming a release that had no Fermi GBM schema: unknown, not failed
    obj = json.loads((RELEASES / "v6.0.0/fermi/gbm/trigger.final.example.json").read_text())
    obj["$schema"] = obj["$schema"].replace("v6.0.0", "v5.0.0")
    with pytest.raises(SchemaUnknown, match=r"^unknown JSON notice schema: .*no schema "
                                            r"fermi/gbm/trigger in gcn-schema v5.0.0"):
        parse_notice(json.dumps(obj).encode())
    assert issubclass(SchemaUnknown, NoticeRejected) and issubclass(SchemaViolation,
                                                                     NoticeRejected)
    assert not issubclass(SchemaUnknown, SchemaViolation)


def test_a_release_newer_than_the_bundle_uses_the_newest_shipped():
    url = "https://gcn.nasa.gov/schema/v9.0.0/gcn/notices/fermi/gbm/trigger.schema.json"
    assert resolve(url)[:2] == ("fermi/gbm/trigger", "v7.2.1")
    assert resolve(url.replace("fermi/gbm/trigger", "nosuch/mission")) is None


def test_v2_icecube_asymmetric_rectangle_is_a_box():
    # uncertainty_shape rectangle, ra -1.5/+1.4, dec -1.2/+1.3 deg (90%)
    n = parse("v2.0.0/icecube/GoldAndBronze.update.example.json")
    loc = n.localization
    assert n.event_id == "IceCube-137840" and loc.shape == "polygon"
    corners = [c for corner in loc.polygon for c in corner]
    assert corners == pytest.approx([344.32, 7.81, 347.22, 7.81, 347.22, 10.31, 344.32, 10.31])
    from tooflow.skymap import localization_to_moc, summarize

    area = summarize(localization_to_moc(loc)).area_90
    box = 2.9 * math.cos(math.radians(9.01)) * 2.5
    assert area == pytest.approx(0.9 * box, rel=0.03)
