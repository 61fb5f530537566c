"""Legacy LVK VOEvents (tooflow/parsers/lvk_voevent.py), on real O2/O3/O4 notices."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tooflow.errors import NoticeRejected
from tooflow.parsers import parse_notice
from tooflow.parsers.lvk import parse_lvk_voevent
from tooflow.parsers.xml import parse_xml

VOEVENT = Path(__file__).parent / "data" / "lvk" / "voevent"
UTC = dt.UTC


def read(name: str):
    return parse_notice((VOEVENT / name).read_bytes())


@pytest.mark.parametrize("name, notice_type", [
    ("MS181101ab-1-EarlyWarning.xml", "EARLYWARNING"),
    ("MS181101ab-2-Preliminary.xml", "PRELIMINARY"),
    ("MS181101ab-3-Initial.xml", "INITIAL"),
    ("MS181101ab-4-Update.xml", "UPDATE"),
    ("MS181101ab-5-Retraction.xml", "RETRACTION"),
    ("MS181101ab-6-Update.xml", "UPDATE"),
])
def test_o4_sample_sequence(name, notice_type):
    n = read(name)
    assert (n.source, n.format, n.kind, n.event_id) == ("LVK", "voevent", "GW", "MS181101ab")
    assert n.notice_type == notice_type
    assert n.is_mock  # role="test", id starting with M, search MDC
    assert n.time == dt.datetime(2018, 11, 1, 22, 22, 46, 654437, tzinfo=UTC)
    assert n.is_retraction == (notice_type == "RETRACTION")
    if n.is_retraction:
        assert n.localization is None
        assert "far" not in n.properties
    else:
        assert n.properties["significant"] is True
        assert n.properties["p_BNS"] == 0.95 and n.properties["HasMassGap"] == 0.01
        assert n.localization.url.startswith("https://emfollow.docs.ligo.org/userguide/_static/")
        assert n.localization.skymap_bytes is None


def test_raven_update_prefers_the_combined_map_url():
    n = read("MS181101ab-6-Update.xml")
    assert n.localization.url.endswith("/combined-ext.multiorder.fits")
    assert n.localization.filename == "combined-ext.multiorder.fits"
    ext = n.external_coincidence
    assert ext["gcn_notice_id"] == 524666471
    assert ext["observatory"] == "Fermi" and ext["search"] == "GRB"
    assert ext["ivorn"].startswith("ivo://nasa.gsfc.gcn/Fermi#GBM_Fin_Pos")
    assert ext["time_difference"] == 2.02
    assert ext["time_sky_position_coincidence_far"] == pytest.approx(6.410749524018777e-16)
    assert ext["combined_skymap"] is True
    assert ext["gw_skymap_url"].endswith("/bayestar.multiorder.fits,0")


def test_o4_mdc_raven_notice_without_external_ivorn():
    n = read("lvc_initial_15683.xml")
    assert (n.event_id, n.notice_type, n.is_mock) == ("MS260205v", "INITIAL", True)
    assert n.external_coincidence["observatory"] == "Fermi"
    assert n.external_coincidence["gcn_notice_id"] == 1454363456
    assert n.localization.filename == "combined-ext.multiorder.fits"


def test_real_o3_burst():
    n = read("S200114f-3-Initial_burst.xml")
    assert (n.event_id, n.notice_type) == ("S200114f", "INITIAL")
    assert not n.is_mock
    p = n.properties
    assert (p["group"], p["pipeline"], p["search"]) == ("Burst", "CWB", "IMBH")
    assert p["duration"] == pytest.approx(0.013534)
    assert p["central_frequency"] == pytest.approx(64.698303)
    assert not any(k.startswith("p_") for k in p)  # bursts have no CBC classification
    assert n.localization.url == "https://gracedb.ligo.org/api/superevents/S200114f/files/cWB.fits.gz,3"
    assert n.localization.filename == "cWB.fits.gz"
    assert n.time == dt.datetime(2020, 1, 14, 2, 8, 18, 239300, tzinfo=UTC)


def test_real_o3_retraction():
    n = read("S200308e-3-Retraction.xml")
    assert (n.event_id, n.notice_type, n.is_retraction, n.is_mock) == (
        "S200308e", "RETRACTION", True, False)
    assert n.localization is None
    assert n.issued == dt.datetime(2020, 3, 8, 1, 31, 38, tzinfo=UTC)


def test_real_o3_cbc_with_massgap_class():
    n = read("S190425z-1-Initial.xml")
    assert not n.is_mock
    assert n.properties["p_BNS"] == pytest.approx(0.999402567114)
    assert n.properties["p_MassGap"] == 0.0
    assert n.properties["instruments"] == ["L1", "V1"]
    assert "significant" not in n.properties  # O3 notices had no Significant flag


def test_o2_gw170817_initial():
    root = parse_xml((VOEVENT / "G298048-1-Initial.xml").read_bytes())
    n = parse_lvk_voevent(root)
    assert (n.event_id, n.notice_type, n.is_retraction) == ("G298048", "INITIAL", False)
    assert n.properties["HasNS"] == 1.0 and n.properties["HasRemnant"] == 1.0
    assert n.properties["search"] == "O2VirgoTest"
    assert n.localization.url.endswith("/G298048/files/bayestar.fits.gz")
    assert n.time == dt.datetime(2017, 8, 17, 12, 41, 4, 445710, tzinfo=UTC)


def test_voevent_without_time_is_rejected():
    text = (VOEVENT / "S200308e-3-Retraction.xml").read_text()
    start, end = text.index("<WhereWhen>"), text.index("</WhereWhen>") + len("</WhereWhen>")
    with pytest.raises(NoticeRejected, match="no event time"):
        parse_notice((text[:start] + text[end:]).encode())


def test_voevent_without_alert_type_is_rejected():
    text = (VOEVENT / "S200308e-3-Retraction.xml").read_text()
    text = text.replace('value="Retraction"', 'value="Superseded"')
    text = text.replace('name="Packet_Type" value="164"', 'name="Packet_Type" value="999"')
    text = text.replace("S200308e-3-Retraction", "S200308e-3")
    text = text.replace('cite="retraction"', 'cite="followup"')  # citations tell too
    with pytest.raises(NoticeRejected, match="no known alert type"):
        parse_notice(text.encode())


def test_early_sample_retraction_packet_type_and_citations_win(caplog):
    # The LVK user guide's early sample retraction says AlertType=Preliminary,
    # but Packet_Type=164 and cite="retraction": it is a retraction.
    with caplog.at_level("WARNING", logger="tooflow.parsers.lvk_voevent"):
        n = read("MS181101ab-4-Retraction-early.xml")
    assert (n.event_id, n.notice_type, n.is_retraction) == ("MS181101ab", "RETRACTION", True)
    assert n.localization is None
    said = n.properties["alert_type_disagreement"]
    assert "Packet_Type says RETRACTION" in said and "AlertType says PRELIMINARY" in said
    assert "citations says RETRACTION" in said
    assert "alert type signals disagree" in caplog.text and "MS181101ab-4-Retraction" in caplog.text


def test_agreeing_signals_record_no_disagreement():
    for name in ("MS181101ab-5-Retraction.xml", "MS181101ab-2-Preliminary.xml",
                 "S200308e-3-Retraction.xml"):
        assert "alert_type_disagreement" not in read(name).properties


def test_o2_notice_as_gcn_relayed_it_is_an_lvk_notice():
    # GW170817's Initial notice under GCN's own ivorn (nasa.gsfc.gcn/LVC#...).
    n = read("G298048-1-Initial.gcn.xml")
    assert (n.source, n.kind, n.event_id, n.notice_type) == ("LVK", "GW", "G298048", "INITIAL")
    assert not n.is_retraction and not n.is_mock
    assert n.time == dt.datetime(2017, 8, 17, 12, 41, 4, 445710, tzinfo=UTC)
    assert n.properties["far"] == 3.478e-12
    assert n.properties["HasNS"] == 1.0 and n.properties["HasRemnant"] == 1.0
    assert n.properties["group"] == "CBC" and n.properties["pipeline"] == "gstlal"
    assert n.localization.url == "https://gracedb.ligo.org/apibasic/events/G298048/files/bayestar.fits.gz"
    # the same event as LVK's own O2 notice of it
    own = read("G298048-1-Initial.xml")
    assert (own.event_id, own.notice_type, own.time) == (n.event_id, n.notice_type, n.time)
    assert own.localization.url == n.localization.url
