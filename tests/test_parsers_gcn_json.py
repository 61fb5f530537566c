"""GCN unified-schema JSON notices (tooflow/parsers/gcn_json.py, gcn_json_fields.py,
gcn_schemas.py), end to end through :func:`tooflow.parsers.parse_notice` on real notices."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest

from tooflow.errors import NoticeRejected
from tooflow.parsers import MAX_NOTICE_BYTES, parse_notice
from tooflow.parsers.gcn_schemas import schema_key, shipped_schema_keys

GCN = Path(__file__).parent / "data" / "gcn"
NOTICES = GCN / "gcn-schema" / "notices"
SNEWS = GCN / "snews"
UTC = dt.UTC


def parse(path: Path):
    return parse_notice(path.read_bytes())


def circle(notice):
    loc = notice.localization
    assert loc is not None and loc.is_circle
    return loc.ra, loc.dec, loc.error_radius, loc.radius_kind


# --- schema identification ---------------------------------------------------------

@pytest.mark.parametrize("url, key", [
    ("https://gcn.nasa.gov/schema/v4.1.0/gcn/notices/einstein_probe/wxt/alert.schema.json",
     "einstein_probe/wxt/alert"),
    ("https://gcn.nasa.gov/schema/main/gcn/notices/icecube/lvk_nu_track_search.schema.json",
     "icecube/lvk_nu_track_search"),
    ("https://gcn.nasa.gov/schema/gcn/notices/fermi/gbm/TargetedSearch.schema.json",
     "fermi/gbm/TargetedSearch"),
    ("https://example.org/schema.json", None),
])
def test_schema_key(url, key):
    assert schema_key(url) == key


def test_shipped_schemas_are_the_ones_used():
    assert shipped_schema_keys() == {
        "einstein_probe/wxt/alert", "swift/bat/Guano", "icecube/lvk_nu_track_search",
        "icecube/single_neutrino_alerts", "svom/trigger", "fermi/gbm/trigger",
        "superk/sn_alert", "maxi/gsc.known", "maxi/gsc.unknown", "km3net/alert"}


# --- Einstein Probe (real alerts) --------------------------------------------------

def test_einstein_probe_real_alert():
    n = parse(GCN / "json" / "einstein_probe" / "alert_247.json")
    assert (n.source, n.format, n.kind) == ("EinsteinProbe", "gcn-json", "X-ray")
    assert n.event_id == "EP-01709259773"
    assert n.notice_type == "EINSTEIN_PROBE_WXT_ALERT"
    assert n.time == dt.datetime(2026, 4, 9, 11, 45, 11, 949000, tzinfo=UTC)
    assert n.issued is None  # EP alerts carry no alert_datetime
    assert circle(n) == (184.664, -6.146, 0.05174976, "stat 90%")
    assert n.properties["significance"] == 7.0 and n.properties["net_count_rate"] == 0.07
    assert n.properties["schema"] == "einstein_probe/wxt/alert"
    assert n.properties["instruments"] == ["WXT"]
    assert n.properties["schema_validated"] is True
    assert not n.is_mock and not n.is_retraction


def test_einstein_probe_alerts_are_distinct_events():
    a = parse(GCN / "json" / "einstein_probe" / "alert_247.json")
    b = parse(GCN / "json" / "einstein_probe" / "alert_248.json")
    assert b.event_id == "EP-01709259790" != a.event_id


def test_einstein_probe_without_id_is_named_by_time():
    n = parse(GCN / "json" / "skyportal" / "EP240508.json")
    assert n.event_id == "EP-20240508T073801"
    assert circle(n)[:3] == (229.837999999, -29.746999999, 0.05089517)


# --- IceCube -----------------------------------------------------------------------

def test_icecube_lvk_nu_track_search():
    n = parse(NOTICES / "icecube" / "lvk_nu_track_search.example.json")
    assert (n.source, n.kind) == ("IceCube", "neutrino")
    assert n.event_id == "IceCube-LVK-S230914ak"
    assert n.notice_type == "ICECUBE_LVK_NU_TRACK_SEARCH"
    assert n.time == dt.datetime(2023, 9, 14, 11, 14, 1, tzinfo=UTC)
    assert n.issued == dt.datetime(2023, 9, 14, 11, 49, 16, 526000, tzinfo=UTC)
    p = n.properties
    assert p["superevent_id"] == "S230914ak"
    assert p["n_events_coincident"] == 2
    assert p["pval_generic"] == 0.0191 and p["pval_bayesian"] == 0.0549
    assert p["neutrinos"] == [
        {"id": "138590_39138551", "dt": 12.91, "ra": 17.48, "dec": 16.15, "error_radius": 0.5,
         "containment_probability": 0.9, "pval_generic": 0.0191},
        {"id": "138590_39164579", "dt": 222.46, "ra": 13.82, "dec": 18.66, "error_radius": 0.5,
         "containment_probability": 0.9, "pval_generic": 0.0928, "pval_bayesian": 0.0656},
    ]
    assert p["most_probable_direction"] == {"ra": 17.49, "dec": 16.18}
    assert n.localization is None  # the GW map is the localization; neutrinos in properties
    assert not n.is_mock


def test_icecube_single_neutrino_alert():
    n = parse(NOTICES / "icecube" / "single_neutrino_alerts.gold_bronze_track_alerts.example.json")
    assert n.event_id == "IceCube-137840_57034692"  # same form as the AMON VOEvents
    assert n.notice_type == "ICECUBE_ASTROTRACK_BRONZE"
    assert circle(n) == (345.82, 9.01, 0.5, "stat 90%")
    assert n.properties["energy"] == 127.29 and n.properties["far"] == 8.029e-8
    assert n.properties["skymap_url"].endswith("skymap_nside_1024_probability.fits.gz")


# --- Swift BAT-GUANO ---------------------------------------------------------------

def test_swift_guano_sequence_and_retraction():
    first = parse(NOTICES / "swift" / "bat" / "Guano.example.json")
    located = parse(NOTICES / "swift" / "bat" / "guano.loc_arc_min.example.json")
    retraction = parse(NOTICES / "swift" / "bat" / "Guano.Retraction.example.json")
    ids = {first.event_id, located.event_id, retraction.event_id}
    assert ids == {"Swift-BAT-GUANO-694215995"}
    assert first.localization is None
    assert circle(located) == (336.26, 25.139, 0.5, "stat+sys 90%")
    assert first.properties["far"] == 1e-05 and first.properties["most_likely_source"] == "GRB"
    assert retraction.is_retraction and not first.is_retraction


def test_gwcelery_guano_without_schema_is_legacy_and_unvalidated():
    n = parse(GCN / "json" / "gwcelery" / "kafka_alert_swift.json")
    assert n.event_id == "Swift-BAT-GUANO-694215995"
    assert n.properties["schema_validated"] is False
    assert circle(n) == (14.5, -40.1, 0.03, "stat+sys 90%")  # legacy ra_uncertainty


# --- SVOM, Fermi, Super-K, MAXI ----------------------------------------------------

def test_svom_eclairs_and_grm_test_triggers():
    eclairs = parse(NOTICES / "svom" / "eclairs" / "trigger.wakeup.example.json")
    grm = parse(NOTICES / "svom" / "grm" / "trigger.example.json")
    assert eclairs.event_id == grm.event_id == "SVOM-sb24022203"  # same as the VOEvent ids
    assert (eclairs.notice_type, grm.notice_type) == ("SVOM_ECLAIRS_TRIGGER", "SVOM_GRM_TRIGGER")
    assert eclairs.is_mock and grm.is_mock  # alert_tense "test"
    assert eclairs.time == dt.datetime(2024, 2, 22, 8, 51, 31, 320000, tzinfo=UTC)
    assert circle(eclairs) == (143.2478, -68.0289, 0.1, "stat 90%")


def test_gwcelery_svom_wakeup_legacy_schema():
    n = parse(GCN / "json" / "gwcelery" / "kafka_alert_svom_wakeup.json")
    assert n.event_id == "SVOM-sb24022203" and n.notice_type == "SVOM_ECLAIRS_WAKEUP"
    assert n.properties["schema_validated"] is False


def test_fermi_gbm_json_matches_voevent_conventions():
    alert = parse(NOTICES / "fermi" / "gbm" / "trigger.alert.example.json")
    ground = parse(NOTICES / "fermi" / "gbm" / "trigger.ground1.example.json")
    assert alert.event_id == ground.event_id == "Fermi-GBM-745121685"
    assert (alert.notice_type, ground.notice_type) == ("FERMI_GBM_ALERT", "FERMI_GBM_GND_POS")
    assert ground.time == dt.datetime(2024, 8, 24, 2, 14, 40, 430000, tzinfo=UTC)
    assert circle(ground) == (92.17, -66.98, 1.34, "stat 68%")
    assert ground.properties["skymap_url"] == (
        "http://heasarc.gsfc.nasa.gov/FTP/fermi/data/gbm/triggers/2024/bn240812094/quicklook/"
        "glg_healpix_all_bn240812094.fit")


def test_fermi_targeted_search_embedded_map():
    n = parse(GCN / "json" / "gwcelery" / "kafka_alert_fermi.json")
    raw = json.loads((GCN / "json" / "gwcelery" / "kafka_alert_fermi.json").read_text())
    assert n.event_id == "Fermi-GBM-Targeted-699554499710_20512"
    assert n.localization.skymap_bytes == base64.b64decode(raw["healpix_file"])
    assert n.localization.skymap_bytes.startswith(b"SIMPLE")
    assert (n.properties["ra"], n.properties["dec"], n.properties["error_radius"]) == (
        14.5, -40.1, 0.3)
    assert n.properties["superevent_id"] == "MS230303q"


def test_superk_supernova_alert():
    n = parse(NOTICES / "superk" / "sn_alert.real.example.json")
    assert (n.source, n.kind) == ("Super-Kamiokande", "supernova")
    assert n.event_id == "SuperK-SN-10070"
    assert circle(n) == (270.82, 31.46, 0.91, "stat 68%")
    assert n.properties["luminosity_distance"] == 0.0025  # Mpc


def test_maxi_ellipse_stays_an_ellipse():
    n = parse(NOTICES / "maxi" / "gsc.unknown.ellipse.example.json")
    assert circle(n) == (346.56, 18.61, 0.22, "stat 90%")
    assert (n.localization.error_minor, n.localization.error_angle) == (0.19, 153)
    assert n.localization.shape == "ellipse"
    assert n.properties["ra_dec_error"] == [0.22, 0.19, 153]


# --- SNEWS -------------------------------------------------------------------------

def test_snews2_coincidence_drafts():
    plain = parse(SNEWS / "gcn-schema-pr" / "coincidence.real_alert_no_triangulation.example.json")
    tri = parse(SNEWS / "gcn-schema-pr" / "coincidence.real_alert_triangulation.example.json")
    test = parse(SNEWS / "gcn-schema-pr" / "coincidence.test_alert.example.json")
    assert (plain.source, plain.kind, plain.notice_type) == (
        "SNEWS", "supernova", "SNEWS_COINCIDENCE")
    assert plain.event_id == tri.event_id == "SNEWS-20260618T162107"
    assert plain.time == dt.datetime(2026, 6, 18, 16, 21, 7, 312000, tzinfo=UTC)
    assert plain.localization is None
    assert tri.localization.url == (
        "https://snews2.org/skymaps/123e4567-e89b-12d3-a456-426614174000.fits")
    # Borexino is listed with status "normal": it is not part of the coincidence.
    assert tri.properties["detectors"] == ["IceCube", "KamLAND", "Super-K"]
    assert tri.properties["n_detectors"] == 3
    assert plain.properties["false_alarm_prob"] == 0.0001
    assert plain.properties["schema_validated"] is False
    assert not plain.is_mock and test.is_mock


def test_classic_snews_json_draft():
    n = parse(SNEWS / "gcn-schema-pr" / "classic_snews_alert.example.json")
    assert n.event_id == "SNEWS-1000128"  # same form as the SNEWS VOEvents
    assert n.is_mock and n.localization is None  # test notice, radius 360 degrees
    assert n.time == dt.datetime(2017, 6, 13, 16, 0, 1, tzinfo=UTC)
    assert n.issued is None and n.properties["alert_datetime"] == "2017-6-13T16:00:11Z"
    assert n.properties["detectors"] == ["Super-K", "LVD", "KamLAND", "Borexino", "Daya Bay"]


@pytest.mark.parametrize("name", ["example_coincidence_tier_message.json",
                                  "example_heartbeat_message.json"])
def test_snews_detector_messages_are_not_notices(name):
    with pytest.raises(NoticeRejected, match="SNEWS detector observation message"):
        parse(SNEWS / "snews_pt" / name)


# --- refusals ----------------------------------------------------------------------

def test_unknown_schema_is_refused():
    with pytest.raises(NoticeRejected, match="unknown JSON notice schema: .*boom/alert"):
        parse(NOTICES / "boom" / "alert.example.json")


def test_json_without_schema_is_refused():
    with pytest.raises(NoticeRejected, match=r"unknown JSON notice schema: no \$schema"):
        parse_notice(b'{"trigger_time": "2024-01-01T00:00:00Z", "ra": 1}')


def test_json_failing_its_schema_is_refused():
    obj = json.loads((GCN / "json" / "einstein_probe" / "alert_247.json").read_text())
    obj["ra"] = "184.664"
    with pytest.raises(NoticeRejected,
                       match=r"fails its schema einstein_probe/wxt/alert \(v4.1.0\): ra: "):
        parse_notice(json.dumps(obj).encode())


def test_json_with_unevaluated_property_is_refused():
    obj = json.loads((NOTICES / "swift" / "bat" / "Guano.example.json").read_text())
    obj["ra_uncertainty"] = [0.03]  # allowed only in the legacy, $schema-less form
    with pytest.raises(NoticeRejected, match="fails its schema swift/bat/Guano"):
        parse_notice(json.dumps(obj).encode())


def test_json_without_trigger_time_is_refused():
    obj = json.loads((GCN / "json" / "einstein_probe" / "alert_247.json").read_text())
    del obj["trigger_time"]
    with pytest.raises(NoticeRejected, match="has no trigger_time"):
        parse_notice(json.dumps(obj).encode())


def test_json_array_is_refused():
    payload = b"[" + (GCN / "json" / "einstein_probe" / "alert_247.json").read_bytes() + b"]"
    with pytest.raises(NoticeRejected, match="JSON notice is a list, not an object"):
        parse_notice(payload)


def test_malformed_json_is_refused():
    with pytest.raises(NoticeRejected, match="malformed JSON"):
        parse_notice((GCN / "json" / "einstein_probe" / "alert_247.json").read_bytes()[:100])


def test_oversize_json_is_refused():
    payload = (GCN / "json" / "einstein_probe" / "alert_247.json").read_bytes()
    huge = payload[:-1] + b', "pad": "' + b"x" * MAX_NOTICE_BYTES + b'"}'
    with pytest.raises(NoticeRejected, match="exceeds the"):
        parse_notice(huge)


def test_bad_embedded_map_is_reported_not_fatal():
    n = parse(NOTICES / "swift" / "bat" / "Guano.example.json")
    obj = json.loads((NOTICES / "swift" / "bat" / "Guano.example.json").read_text())
    obj["healpix_file"] = base64.b64encode(b"not a FITS file").decode()
    bad = parse_notice(json.dumps(obj).encode())
    assert bad.event_id == n.event_id and bad.localization is None
    assert bad.properties["skymap_error"] == "healpix_file is not a FITS (or gzipped FITS) file"


@pytest.mark.parametrize("path", [
    GCN / "json" / "einstein_probe" / "alert_247.json",
    NOTICES / "icecube" / "lvk_nu_track_search.example.json",
    NOTICES / "fermi" / "gbm" / "trigger.ground1.example.json",
    SNEWS / "gcn-schema-pr" / "coincidence.real_alert_triangulation.example.json",
    GCN / "json" / "gwcelery" / "kafka_alert_swift.json",
], ids=lambda p: p.name)
def test_missing_or_mistyped_fields_never_crash(path):
    obj = json.loads(path.read_text())
    outcomes = set()
    for key in obj:
        for value in (..., None, "x", 1.5, [], {}, [None], True):
            mutated = {k: v for k, v in obj.items() if k != key}
            if value is not ...:
                mutated[key] = value
            try:
                parse_notice(json.dumps(mutated).encode())
                outcomes.add("parsed")
            except NoticeRejected:
                outcomes.add("rejected")
    assert outcomes == {"parsed", "rejected"}
