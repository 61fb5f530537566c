"""Picking the sky-map path of a localization (tooflow/skymap/__init__.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from astropy.time import Time

from tooflow.errors import NoticeRejected
from tooflow.notice import Localization
from tooflow.parsers import parse_notice
from tooflow.skymap import localization_to_moc, summarize

DATA = Path(__file__).parent / "data"


def test_embedded_map_of_a_real_alert():
    notice = parse_notice((DATA / "lvk" / "json" / "S230518h-initial.json").read_bytes())
    moc = localization_to_moc(notice.localization)
    assert moc.colnames == ["UNIQ", "PROBDENSITY", "DISTMU", "DISTSIGMA", "DISTNORM"]
    # The map's GPS time is the notice's event time (to the 13 ms between the
    # superevent t_0 and the time of the ligo-skymap-from-samples map).
    assert moc.meta["creator"] == "ligo-skymap-from-samples"
    map_time = Time(moc.meta["gps_time"], format="gps").utc.to_datetime(timezone=dt.UTC)
    assert abs((map_time - notice.time).total_seconds()) < 0.05


def test_ext_update_gives_the_combined_map():
    notice = parse_notice((DATA / "lvk" / "avro" / "MS181101ab-ext-update.avro").read_bytes())
    combined = summarize(localization_to_moc(notice.localization))
    gw = summarize(localization_to_moc(
        Localization(skymap_bytes=notice.external_coincidence["gw_skymap"])))
    assert combined.area_90 < gw.area_90  # the GRB narrows the GW localization


def test_circle():
    loc = Localization(ra=83.63, dec=22.01, error_radius=5.0, radius_kind="stat+sys 1-sigma")
    s = summarize(localization_to_moc(loc))
    assert s.area_90 == pytest.approx(4.605 * 3.14159 * 25, rel=0.03)


def test_url_without_fetch_and_nothing():
    notice = parse_notice((DATA / "lvk" / "voevent" / "S200114f-3-Initial_burst.xml").read_bytes())
    assert notice.localization.url
    assert localization_to_moc(notice.localization) is None  # no network unless asked
    assert localization_to_moc(None) is None
    assert localization_to_moc(Localization()) is None


def test_bad_bytes_are_rejected():
    with pytest.raises(NoticeRejected, match="not a FITS file"):
        localization_to_moc(Localization(skymap_bytes=b"GIF89a..."))
