"""GCN VOEvent notices (tooflow/parsers/gcn_voevent.py and gcn_missions*.py), end to end
through :func:`tooflow.parsers.parse_notice` on real notices in tests/data/gcn/."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from tooflow.errors import NoticeRejected
from tooflow.parsers import parse_notice
from tooflow.parsers.gcn_common import SECONDS_PER_YEAR

GCN = Path(__file__).parent / "data" / "gcn"
VOE = GCN / "voevent"
UTC = dt.UTC
GBM_797497441 = VOE / "gcn-notice-parser" / "fermi_gbm_trig797497441"


def parse(path: Path):
    return parse_notice(path.read_bytes())


def circle(notice):
    loc = notice.localization
    assert loc is not None and loc.is_circle
    return loc.ra, loc.dec, loc.error_radius


# --- Fermi GBM ---------------------------------------------------------------------

def test_fermi_gbm_sequence_shares_one_event_id():
    files = ["fermi_gbm_alert_3946.xml", "fermi_gbm_flt_pos_8474.xml",
             "fermi_gbm_gnd_pos_1828.xml", "fermi_gbm_fin_pos_1031.xml"]
    notices = [parse(GBM_797497441 / f) for f in files]
    assert {n.event_id for n in notices} == {"Fermi-GBM-797497441"}
    assert [n.notice_type for n in notices] == [
        "FERMI_GBM_ALERT", "FERMI_GBM_FLT_POS", "FERMI_GBM_GND_POS", "FERMI_GBM_FIN_POS"]
    assert {n.time for n in notices} == {dt.datetime(2026, 4, 10, 7, 3, 57, tzinfo=UTC)}
    issued = [(3, 58), (4, 0), (4, 14), (13, 15)]  # Who/Date, minutes and seconds after 07:00
    assert [n.issued for n in notices] == [
        dt.datetime(2026, 4, 10, 7, m, s, tzinfo=UTC) for m, s in issued]
    for n in notices:
        assert (n.source, n.format, n.kind) == ("Fermi", "voevent", "GRB")
        assert not n.is_mock and not n.is_retraction
        assert n.properties["trigger_id"] == 797497441


def test_fermi_gbm_alert_has_no_position_but_significance():
    n = parse(GBM_797497441 / "fermi_gbm_alert_3946.xml")
    assert n.localization is None  # 0, 0, 0 "unavailable/inappropriate"
    assert n.properties["significance"] == 8.0
    assert n.properties["packet_type"] == 110
    assert n.properties["trigger_timescale"] == 0.016


def test_fermi_gbm_flight_position_classification():
    n = parse(GBM_797497441 / "fermi_gbm_flt_pos_8474.xml")
    assert circle(n) == (101.0667, -20.9333, 8.4167)
    assert n.localization.radius_kind == "stat 1-sigma"
    p = n.properties
    assert p["significance"] == 17.4
    assert p["most_likely_source"] == "GRB" and p["most_likely_prob"] == 0.96
    assert p["second_most_likely_source"] == "GENERIC_TRANSIENT"
    assert p["hardness_ratio"] == 0.31
    assert p["ground_generated"] is False
    assert "skymap_url" not in p


def test_fermi_gbm_ground_position_keeps_circle_and_map_url():
    n = parse(GBM_797497441 / "fermi_gbm_gnd_pos_1828.xml")
    assert circle(n) == (107.0, -26.01, 3.3)
    assert n.localization.url is None and n.localization.skymap_bytes is None
    p = n.properties
    assert p["significance"] == 19.4
    assert p["skymap_url"] == ("https://heasarc.gsfc.nasa.gov/FTP/fermi/data/gbm/triggers/2026/"
                               "bn260410294/quicklook/glg_healpix_all_bn260410294.fit")
    assert p["location_map_url"] == "http://gcn.gsfc.nasa.gov/notices_f/gbm_gnd_loc_map_797497441.fits"


def test_fermi_gbm_final_position_map_url_from_locplot():
    n = parse(GBM_797497441 / "fermi_gbm_fin_pos_1031.xml")
    assert circle(n) == (108.33, -28.85, 8.15)
    assert n.properties["long_short"] == "Short"
    assert n.properties["temporal_coincidence"] is True
    assert n.properties["skymap_url"].endswith(
        "/bn260410294/quicklook/glg_healpix_all_bn260410294.fit")
    # GRB180116A: the HEALPix file in tests/data/skymaps is glg_healpix_all_bn180116026.fit
    grb = parse(VOE / "growth-too-marshal" / "GRB180116A_Fermi_GBM_Fin_Pos.xml")
    assert grb.event_id == "Fermi-GBM-537755817"
    assert grb.properties["skymap_url"].endswith("/glg_healpix_all_bn180116026.fit")


def test_fermi_gbm_subthreshold_is_test_with_healpix_url():
    n = parse(VOE / "growth-too-marshal" / "GRB180422.913_Subthreshold.xml")
    assert n.event_id == "Fermi-GBM-SubThresh-546126856"
    assert n.notice_type == "FERMI_GBM_SUBTHRESH"
    assert n.is_mock  # role="test"
    assert n.time == dt.datetime(2018, 4, 22, 21, 54, 11, 50000, tzinfo=UTC)
    assert circle(n) == (262.97, 19.7399, 22.1299)
    assert n.properties["skymap_url"] == (
        "https://gcn.gsfc.nasa.gov/notices_gbm_sub/gbm_subthresh_546126856.048000_healpix.fits")
    assert n.properties["long_short"] == "short" and n.properties["reliability"] == 2


# --- Fermi LAT ---------------------------------------------------------------------

def test_fermi_lat_initial_and_update_share_id():
    ini = parse(VOE / "gcn-notice-parser/fermi/fermi_lat_pos_ini/fermi_lat_pos_ini_0.xml")
    upd = parse(VOE / "gcn-notice-parser/fermi/fermi_lat_pos_upd/fermi_lat_pos_upd_0.xml")
    assert ini.event_id == upd.event_id == "Fermi-LAT-793795104"
    assert (ini.notice_type, upd.notice_type) == ("FERMI_LAT_POS_INI", "FERMI_LAT_POS_UPD")
    assert upd.time == dt.datetime(2026, 2, 26, 10, 38, tzinfo=UTC)
    assert circle(upd) == (42.2166, 8.0333, 0.5)
    assert upd.properties["instrument"] == "LAT"
    assert upd.properties["test_statistic"] == 544.5


# --- Swift -------------------------------------------------------------------------

def test_swift_bat_and_xrt_of_one_trigger():
    bat = parse(VOE / "skyportal" / "SWIFT_1125809-092.xml")
    xrt = parse(VOE / "skyportal" / "SWIFT_1125809-104.xml")
    assert bat.event_id == xrt.event_id == "Swift-1125809"
    assert (bat.notice_type, xrt.notice_type) == ("SWIFT_BAT_GRB_POS_ACK", "SWIFT_XRT_POSITION")
    assert bat.source == "Swift" and bat.kind == "GRB"
    assert bat.time == dt.datetime(2022, 9, 30, 11, 11, 52, 120000, tzinfo=UTC)
    assert circle(bat) == (64.7373, 13.3517, 0.05)
    assert circle(xrt) == (64.7149, 13.35, 0.0013)
    assert bat.properties["instruments"] == ["BAT"] and xrt.properties["instruments"] == ["XRT"]
    assert bat.properties["grb_identified"] is True
    assert not bat.is_mock and not bat.is_retraction


def test_swift_bat_grb_pos_test_packet_is_mock():
    n = parse(VOE / "gcn-notice-parser/swift/swift_bat_grb_pos_test" /
              "swift_bat_grb_pos_test_9659.xml")
    assert n.is_mock
    assert n.notice_type == "SWIFT_BAT_GRB_POS_TEST"
    assert n.event_id == "Swift-99999"
    assert n.time == dt.datetime(2026, 4, 6, 15, 49, 2, tzinfo=UTC)
    assert circle(n) == (0.0, 35.0, 0.05)


def test_swift_lost_star_lock_is_a_property_not_a_retraction():
    n = parse(VOE / "mwa_trigger" / "SWIFT_Lost_starlock.xml")
    assert n.properties["startrack_lost_lock"] is True
    assert not n.is_retraction
    assert n.event_id == "Swift-948244"


# --- IceCube / AMON ----------------------------------------------------------------

def test_icecube_gold_track():
    n = parse(VOE / "fink-mm" /
              "AMON_ICECUBE_GOLD_Event2022-12-23T07_43_00.52_24_137467_064735045_0.xml")
    assert (n.source, n.kind) == ("IceCube", "neutrino")
    assert n.event_id == "IceCube-137467_64735045"
    assert n.notice_type == "ICECUBE_ASTROTRACK_GOLD"
    assert n.time == dt.datetime(2022, 12, 23, 7, 43, 0, 520000, tzinfo=UTC)
    assert circle(n) == (350.5486, 34.711, 0.6596)
    assert n.localization.radius_kind == "stat+sys 90%"
    p = n.properties
    assert p["signalness"] == 0.7949 and p["energy"] == 352.6956
    assert p["far_per_year"] == 0.2464
    assert p["far"] == pytest.approx(0.2464 / SECONDS_PER_YEAR)
    assert p["error_radius_50"] == 0.2569
    assert not n.is_mock and not n.is_retraction


def test_icecube_bronze_and_cascade():
    bronze = parse(VOE / "fink-mm" /
                   "AMON_ICECUBE_BRONZE_Event2022-08-08T07_59_57.26_25_136918_045252263_0.xml")
    assert bronze.event_id == "IceCube-136918_45252263"
    assert bronze.notice_type == "ICECUBE_ASTROTRACK_BRONZE"
    cascade = parse(VOE / "fink-mm" /
                    "AMON_ICECUBE_Cascade_Event2022-08-26T21_38_13.69_26_136985_060401984_0.xml")
    assert cascade.event_id == "IceCube-136985_60401984"
    assert cascade.notice_type == "ICECUBE_CASCADE"
    assert circle(cascade) == (81.9293, 29.7022, 20.7659)
    assert cascade.properties["event_name"] == "IceCubeCascade-220826a"
    assert cascade.properties["skymap_url"] == ("https://roc.icecube.wisc.edu/public/hese_cascades/"
                                                "hese_59817_run00136985.evt000060401984.fits")


def test_icecube_revisions_share_id_and_update_position():
    rev0 = parse(VOE / "mwa_trigger" / "IceCube_134191_017593623_0.xml")
    rev1 = parse(VOE / "mwa_trigger" / "IceCube_134191_017593623_1.xml")
    assert rev0.event_id == rev1.event_id == "IceCube-134191_17593623"
    assert (rev0.properties["revision"], rev1.properties["revision"]) == (0, 1)
    assert circle(rev0) == (143.4519, 3.7891, 0.9201)
    assert circle(rev1) == (142.9499, 3.66, 1.2199)


def test_icecube_hese_with_placeholder_trigid_is_named_by_time():
    n = parse(VOE / "growth-too-marshal" / "AMON_151115.xml")
    assert n.notice_type == "AMON_ICECUBE_HESE"
    assert n.event_id == "IceCube-20151115T115344"
    assert n.properties["charge"] == 1510.0


# --- INTEGRAL, MAXI ----------------------------------------------------------------

def test_integral_wakeup_and_refined_share_id():
    wake = parse(VOE / "fink-mm" / "INTEGRAL_Wakeup_Pos_010042-0-941.xml")
    ref = parse(VOE / "fink-mm" / "INTEGRAL_Refined_Pos_010042-1-942.xml")
    # TrigID 10042 and 75578 = 10042 + 65536: one burst, refinement 1
    assert wake.event_id == ref.event_id == "INTEGRAL-10042"
    assert (wake.notice_type, ref.notice_type) == ("INTEGRAL_WAKEUP", "INTEGRAL_REFINED")
    assert ref.time == dt.datetime(2022, 9, 26, 10, 38, 25, 750000, tzinfo=UTC)
    assert circle(ref) == (273.9546, -37.2428, 0.0431)
    assert ref.properties["significance"] == 24.58


def test_integral_test_notice_is_mock():
    n = parse(VOE / "gwcelery" / "integral_test_gcn.xml")
    assert n.is_mock and n.notice_type == "INTEGRAL_REFINED"


def test_maxi_known_source():
    n = parse(VOE / "mwa_trigger" / "MAXI_ATMic.xml")
    assert (n.source, n.kind, n.notice_type) == ("MAXI", "X-ray", "MAXI_KNOWN")
    assert n.event_id == "MAXI-3468898070"
    assert n.properties["source_name"] == "AT Mic"
    assert circle(n) == (310.463, -32.435, 0.5)


# --- SVOM --------------------------------------------------------------------------

def test_svom_eclairs_catalog():
    n = parse(VOE / "gcn-notice-parser/svom/eclairs/svom_voevent_sb25082402_eclairs-catalog.xml")
    assert n.source == "SVOM"
    assert n.event_id == "SVOM-sb25082402"
    assert n.notice_type == "SVOM_ECLAIRS_CATALOG"
    assert n.time == dt.datetime(2025, 8, 24, 17, 3, 6, 989000, tzinfo=UTC)
    assert circle(n) == (256.5632, -43.0365, 0.0778)
    assert n.properties["instrument"] == "ECLAIRs" and n.properties["significance"] == 18.26
    # the trigger matched ECLAIRs' on-board catalogue: a known X-ray source, not a GRB
    assert n.kind == "X-ray" and n.properties["source_name"] == "GX 340-00"


def test_svom_grm_trigger_then_retraction():
    trigger = parse(VOE / "gcn-notice-parser/svom/grm/grm_285.xml")
    retraction = parse(VOE / "gcn-notice-parser/svom/grm/grm_286.xml")
    assert trigger.event_id == retraction.event_id == "SVOM-sb26020402"
    assert trigger.notice_type == "SVOM_GRM_TRIGGER" and trigger.localization is None
    assert not trigger.is_retraction
    assert retraction.is_retraction and retraction.notice_type == "SVOM_RETRACTION"
    assert retraction.issued == dt.datetime(2026, 2, 4, 12, 18, 14, tzinfo=UTC)


def test_svom_mxt_initial_and_update():
    ini = parse(VOE / "gcn-notice-parser/svom/mxt/mxt_41.xml")
    upd = parse(VOE / "gcn-notice-parser/svom/mxt/mxt_42.xml")
    assert ini.event_id == upd.event_id == "SVOM-sb26022802"
    assert (ini.notice_type, upd.notice_type) == ("SVOM_MXT_INITIAL", "SVOM_MXT_UPDATE")
    assert (ini.properties["quality_flag"], upd.properties["quality_flag"]) == (1, 2)
    assert circle(upd) == (237.4077, 26.0255, 0.034)


# --- SNEWS -------------------------------------------------------------------------

def test_snews_real_and_test_notices():
    real = parse(GCN / "snews" / "voevent" / "snews_gcn.xml")
    test = parse(GCN / "snews" / "voevent" / "snews_gcn_test.xml")
    assert real.event_id == test.event_id == "SNEWS-1000194"
    assert (real.source, real.kind, real.notice_type) == ("SNEWS", "supernova", "SNEWS")
    assert real.time == dt.datetime(2018, 9, 18, 16, 0, 1, tzinfo=UTC)
    assert not real.is_mock and test.is_mock
    assert real.localization is None  # RADec_valid false, radius 360 degrees
    assert real.properties["detectors"] == ["A", "B", "D", "E", "F"]
    assert real.properties["n_detectors_good"] == 3


# --- refusals ----------------------------------------------------------------------

@pytest.mark.parametrize("path, reason", [
    (VOE / "pygcn" / "kill_socket.xml", "control or pointing packet"),
    (VOE / "mwa_trigger" / "test1.xml", "role='utility'"),
    (VOE / "voevent-parse" / "Gaia16aac.xml", "unsupported VOEvent stream gaia.cam.uk/alerts"),
])
def test_non_event_voevents_are_refused(path, reason):
    with pytest.raises(NoticeRejected, match=re.escape(reason)):
        parse(path)


def test_malformed_xml_is_refused():
    payload = (GBM_797497441 / "fermi_gbm_gnd_pos_1828.xml").read_bytes()[:1500]
    with pytest.raises(NoticeRejected, match="malformed XML"):
        parse_notice(payload)


def test_billion_laughs_is_refused_not_expanded():
    lols = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    bomb = (f'<?xml version="1.0"?><!DOCTYPE VOEvent [<!ENTITY lol0 "lol">{lols}]>'
            '<VOEvent ivorn="ivo://nasa.gsfc.gcn/Fermi#x"><What>&lol9;</What></VOEvent>')
    with pytest.raises(NoticeRejected, match="unsafe XML refused"):
        parse_notice(bomb.encode())


def test_external_entity_is_refused():
    xxe = ('<?xml version="1.0"?><!DOCTYPE VOEvent [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<VOEvent ivorn="ivo://nasa.gsfc.gcn/Fermi#x"><What>&x;</What></VOEvent>')
    with pytest.raises(NoticeRejected, match="unsafe XML refused"):
        parse_notice(xxe.encode())


def test_voevent_without_time_is_refused():
    text = (GBM_797497441 / "fermi_gbm_gnd_pos_1828.xml").read_text()
    no_time = re.sub(r"<Time unit=\"s\">.*?</Time>", "", text, flags=re.S)
    assert "ISOTime" not in no_time
    with pytest.raises(NoticeRejected, match="has no WhereWhen ISOTime"):
        parse_notice(no_time.encode())


def test_voevent_with_bad_time_is_refused():
    text = (GBM_797497441 / "fermi_gbm_gnd_pos_1828.xml").read_text()
    bad = text.replace("<ISOTime>2026-04-10T07:03:57.00</ISOTime>", "<ISOTime>yesterday</ISOTime>")
    with pytest.raises(NoticeRejected, match="'yesterday' is not an ISO 8601 time"):
        parse_notice(bad.encode())


def test_oversize_voevent_is_refused():
    payload = (GBM_797497441 / "fermi_gbm_gnd_pos_1828.xml").read_bytes()
    padded = payload.replace(b"<Description>\n  </Description>",
                             b"<Description>" + b" " * (2 << 20) + b"</Description>")
    assert len(padded) > 2 << 20
    with pytest.raises(NoticeRejected, match="exceeds the"):
        parse_notice(padded)


@pytest.mark.parametrize("path", [
    GBM_797497441 / "fermi_gbm_gnd_pos_1828.xml",
    VOE / "fink-mm" / "AMON_ICECUBE_GOLD_Event2022-12-23T07_43_00.52_24_137467_064735045_0.xml",
    VOE / "gcn-notice-parser" / "svom" / "mxt" / "mxt_42.xml",
    GCN / "snews" / "voevent" / "snews_gcn.xml",
], ids=lambda p: p.name)
def test_damaged_params_and_elements_never_crash(path):
    text = path.read_text()
    variants = []
    for param in re.findall(r'<Param name="[^"]*"\s+value="[^"]*"', text):
        name = param.split(" value=")[0]
        variants += [text.replace(param, f'{name} value=""'),
                     text.replace(param, f'{name} value="abc"'), text.replace(param, name)]
    for tag in ("C1", "C2", "Error2Radius", "ISOTime", "Date", "Position2D", "What", "Citations"):
        variants.append(re.sub(rf"<{tag}[ >].*?</{tag}>", "", text, flags=re.S))
        variants.append(re.sub(rf"(<{tag}>)[^<]*(</{tag}>)", r"\1zz\2", text))
    outcomes = set()
    for variant in variants:
        try:
            parse_notice(variant.encode())
            outcomes.add("parsed")
        except NoticeRejected:
            outcomes.add("rejected")
    assert outcomes == {"parsed", "rejected"}


# --- retraction flags (real notices with one flag set) ----------------------------

def _flagged(path: Path, name: str) -> bytes:
    text = path.read_text()
    flag = re.compile(rf'(<Param name="{name}"\s+value=")false(")')
    assert flag.search(text), f"{name} not in {path.name}"
    return flag.sub(r"\1true\2", text).encode()


@pytest.mark.parametrize("path, flag, retraction", [
    (GBM_797497441 / "fermi_gbm_gnd_pos_1828.xml", "Def_NOT_a_GRB", True),
    (GBM_797497441 / "fermi_gbm_fin_pos_1031.xml", "Def_NOT_a_GRB", True),
    # on a flight notice it is the on-board classifier's opinion, not a retraction
    (GBM_797497441 / "fermi_gbm_flt_pos_8474.xml", "Def_NOT_a_GRB", False),
    (VOE / "skyportal" / "SWIFT_1125809-092.xml", "Def_NOT_a_GRB", True),
    (VOE / "fink-mm" / "AMON_ICECUBE_GOLD_Event2022-12-23T07_43_00.52_24_137467_064735045_0.xml",
     "Retraction", True),
    (GCN / "snews" / "voevent" / "snews_gcn.xml", "Retraction", True),
], ids=lambda v: v.name if isinstance(v, Path) else str(v))
def test_retraction_flags(path, flag, retraction):
    assert not parse(path).is_retraction
    n = parse_notice(_flagged(path, flag))
    assert n.is_retraction is retraction
    if flag == "Def_NOT_a_GRB":
        assert n.properties["def_not_a_grb"] is True


def test_test_submission_flag_makes_a_mock():
    n = parse_notice(_flagged(GBM_797497441 / "fermi_gbm_gnd_pos_1828.xml", "Test_Submission"))
    assert n.is_mock and n.event_id == "Fermi-GBM-797497441"
