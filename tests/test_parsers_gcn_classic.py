"""GCN Classic notices: text (tooflow/parsers/gcn_classic_text.py) and JSON as
nasa-gcn/gcn-classic-to-json produces it (tooflow/parsers/gcn_classic_json.py),
on real files."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from tooflow.errors import NoticeRejected
from tooflow.parsers import parse_notice

GCN = Path(__file__).parent / "data" / "gcn"
TEXT = GCN / "text"
CLASSIC = GCN / "classic-json"
UTC = dt.UTC


def classic(name: str, source: str | None = "path"):
    path = CLASSIC / name / "example.json"
    return parse_notice(path.read_bytes(), source=str(path) if source == "path" else source)


# --- text ---------------------------------------------------------------------------

def test_icecube_text_notice_from_hop_client():
    n = parse_notice((TEXT / "hop-client_example_gcn.txt").read_bytes())
    assert (n.source, n.format, n.kind) == ("IceCube", "gcn-text", "neutrino")
    # the same event id as IceCube's VOEvents (IceCube-<run>_<event>)
    assert n.event_id == "IceCube-139279_10803235"
    assert n.notice_type == "ICECUBE_ASTROTRACK_BRONZE"
    assert n.time == dt.datetime(2024, 4, 12, 5, 33, 46, 890000, tzinfo=UTC)
    assert n.issued == dt.datetime(2024, 4, 12, 5, 34, 35, tzinfo=UTC)
    loc = n.localization
    assert (loc.ra, loc.dec) == (103.7861, 5.8716)  # J2000, not "current" or 1950
    assert loc.error_radius == pytest.approx(69.22 / 60) and loc.radius_kind == "stat 90%"
    assert n.properties["error_radius_50"] == pytest.approx(26.96 / 60)
    assert n.properties["energy"] == pytest.approx(121.26)
    assert n.properties["signalness"] == pytest.approx(0.3091)
    assert n.properties["far"] == pytest.approx(3.4096 / (365.25 * 86400))
    assert not n.is_mock and not n.is_retraction


def test_gcn_circular_is_not_a_notice():
    with pytest.raises(NoticeRejected, match="a GCN Circular .*S200129m"):
        parse_notice((TEXT / "hop-client_example.gcn3").read_bytes())


def test_text_notice_without_time_or_id_names_what_is_missing():
    text = (TEXT / "hop-client_example_gcn.txt").read_text()
    no_time = "\n".join(line for line in text.splitlines() if not line.startswith("DISCOVERY_"))
    with pytest.raises(NoticeRejected, match="has no event time .*DISCOVERY_DATE"):
        parse_notice(no_time.encode())
    no_id = text.replace("RUN_NUM:", "RUN:")
    with pytest.raises(NoticeRejected, match="has no RUN_NUM/EVENT_NUM"):
        parse_notice(no_id.encode())
    other = text.replace("GCN/AMON NOTICE", "GCN/HETE NOTICE")
    with pytest.raises(NoticeRejected, match="'GCN/HETE NOTICE' .*not a mission tooflow reads"):
        parse_notice(other.encode())


# --- JSON (gcn-classic-to-json) ---------------------------------------------------

def test_lvc_classic_json_is_an_lvk_notice():
    n = classic("LVC_PRELIMINARY")
    assert (n.source, n.kind, n.event_id, n.notice_type) == (
        "LVK", "GW", "MS240510f", "PRELIMINARY")
    assert n.is_mock and n.format == "gcn-classic-json"
    assert n.time == dt.datetime(2024, 5, 10, 5, 47, 17, 764000, tzinfo=UTC)
    assert n.properties["far"] == pytest.approx(9.31536765238572e-16)
    assert n.properties["p_BNS"] == 1.0 and n.properties["group"] == "CBC"
    assert n.localization.url.endswith("/MS240510f/files/bayestar.multiorder.fit")
    u = classic("LVC_UPDATE", source=None)  # alert_type "update" names it
    assert (u.event_id, u.notice_type, u.is_mock) == ("S240514x", "UPDATE", False)
    r = classic("LVC_RETRACTION", source=None)
    assert (r.notice_type, r.is_retraction, r.localization) == ("RETRACTION", True, None)


def test_lvc_preliminary_without_type_is_refused_by_name():
    with pytest.raises(NoticeRejected, match="without alert_type: cannot tell PRELIMINARY"):
        classic("LVC_PRELIMINARY", source=None)


def test_kafka_topic_names_the_type():
    n = classic("SWIFT_XRT_POSITION", source="gcn.classic.json.SWIFT_XRT_POSITION")
    assert (n.source, n.kind, n.event_id, n.notice_type) == (
        "Swift", "GRB", "Swift-1227767", "SWIFT_XRT_POSITION")
    assert n.localization.error_radius == pytest.approx(4.9 / 3600)
    assert n.localization.radius_kind == "stat+sys 90%"
    assert n.time == dt.datetime(2024, 5, 11, 18, 8, 36, 420000, tzinfo=UTC)  # observation_start


@pytest.mark.parametrize("name, source, kind, event_id, mock", [
    ("SWIFT_BAT_GRB_POS_ACK", "Swift", "GRB", "Swift-1227767", False),
    ("SWIFT_BAT_GRB_POS_TEST", "Swift", "GRB", "Swift-99999", True),
    ("SWIFT_UVOT_POS", "Swift", "GRB", "Swift-1231488", False),
    ("MAXI_UNKNOWN", "MAXI", "X-ray", "MAXI-4044849999", False),
    ("MAXI_TEST", "MAXI", "X-ray", "MAXI-20240511T170717", True),
    ("SK_SN", "Super-Kamiokande", "supernova", "SuperK-SN-10063", True),
    ("SNEWS", "SNEWS", "supernova", "SNEWS-1000464", True),
    ("INTEGRAL_SPIACS", "INTEGRAL", "GRB", "INTEGRAL-20240523T120323", True),
])
def test_known_missions(name, source, kind, event_id, mock):
    n = classic(name)
    assert (n.source, n.kind, n.notice_type, n.is_mock) == (source, kind, name, mock)
    assert n.event_id == event_id


def test_maxi_test_is_a_test_and_is_not_guessed_without_its_type():
    assert classic("MAXI_TEST").is_mock
    with pytest.raises(NoticeRejected, match="no \\$schema"):
        classic("MAXI_TEST", source=None)  # MAXI_TEST and MAXI_UNKNOWN share their keys


def test_swift_bat_position_circle():
    loc = classic("SWIFT_BAT_GRB_POS_ACK").localization
    assert (loc.ra, loc.dec, loc.error_radius) == pytest.approx((336.6645, 8.5135, 0.05))
    assert math.isclose(loc.error_radius, 0.05) and loc.radius_kind == "stat 90%"


def test_snews_classic_json_detectors():
    n = classic("SNEWS")
    assert n.localization is None  # RA/Dec null, error 360: no position
    assert set(n.properties["detectors"]) == {"Super-K", "LVD", "KamLAND", "Borexino",
                                              "Daya Bay"}


@pytest.mark.parametrize("name, reason", [
    ("INTEGRAL_WAKEUP", "INTEGRAL_WAKEUP has no trigger_time .*only alert_datetime"),
    ("SWIFT_POINTDIR", "pointing, slew or observation-request packet"),
    ("SWIFT_XRT_SPECTRUM", "a Swift data product \\(trigger 1227767\\)"),
    ("GRB_CNTRPART", "GRB_CNTRPART: a notice type tooflow does not read"),
])
def test_refused_types_say_why(name, reason):
    with pytest.raises(NoticeRejected, match=reason):
        classic(name)
