"""Association with an event (credible region, first detection) and the explained ranking."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from tooflow.candidates.association import (
    Association,
    CandidateInfo,
    EventLocalization,
    Photometry,
    associate,
)
from tooflow.candidates.ranking import (
    explain,
    host_match,
    light_curve_rates,
    rank_candidates,
)
from tooflow.candidates.weights import RankingWeights
from tooflow.parsers import parse_notice
from tooflow.planning.galaxies import read_galaxy_catalog
from tooflow.simulator.injection import draw_injection
from tooflow.skymap.read import read_skymap_bytes

DATA = Path(__file__).parent / "data"
T0 = dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC)
T0_JD = 2440587.5 + T0.timestamp() / 86400


@pytest.fixture(scope="module")
def event():
    raw = (DATA / "lvk/avro/MS181101ab-preliminary.avro").read_bytes()
    moc = read_skymap_bytes(parse_notice(raw).localization.skymap_bytes)
    return EventLocalization.from_moc(moc, T0, "MS181101ab")


@pytest.fixture(scope="module")
def spots(event):
    """A position in the densest pixel, one at the 80 % level and one outside the 90 %."""
    inside = draw_injection(event.moc, T0, event_id="x", seed=11)
    while inside.credible_level > 0.5:
        inside = draw_injection(event.moc, T0, event_id="x", seed=inside.seed + 1)
    outside = draw_injection(event.moc, T0, event_id="x", seed=1)
    while outside.credible_level < 0.97:
        outside = draw_injection(event.moc, T0, event_id="x", seed=outside.seed + 1)
    return (inside.ra, inside.dec), (outside.ra, outside.dec)


def _cand(name, pos, mags, *, scores=None, jdstarthist=None, filters=("g", "r")):
    """Detections: ``mags`` is [(days after t0, mag)], each in every filter 30 min apart."""
    phot = []
    for days, mag in mags:
        for k, f in enumerate(filters):
            phot.append(Photometry(T0_JD + days + k * 0.021, f"ztf{f}", mag, 0.05, 20.8))
    base = {"rb": 0.8, "drb": 0.99, "sgscore1": 0.05, "distpsnr1": 0.8, "ssdistnr": -999.0}
    return CandidateInfo(name, pos[0], pos[1], phot, jdstarthist, {**base, **(scores or {})})


def test_association_needs_the_region_and_a_first_detection_after_the_event(event, spots):
    inside, outside = spots
    cands = [_cand("in", inside, [(0.3, 19.0)]),
             _cand("out", outside, [(0.3, 19.0)]),
             _cand("old", inside, [(0.3, 19.0)], jdstarthist=T0_JD - 2.0),
             _cand("before", inside, [(-0.5, 19.0), (0.3, 19.0)])]
    a = {x.candidate.name: x for x in associate(cands, event)}
    assert a["in"].associated and a["in"].searched_prob <= 0.5
    assert "first detected 0.30 d after the event" in a["in"].reason
    assert not a["out"].associated and "outside the 90% credible region" in a["out"].reason
    assert not a["old"].associated and "detected 2.00 d before the event" in a["old"].reason
    assert not a["before"].associated
    # a margin lets detections shortly before the event through; a wider region takes more
    assert associate([cands[2]], event, margin_days=3.0)[0].associated
    assert associate([cands[1]], event, level=0.999)[0].associated
    assert a["in"].probdensity > event.density_threshold(0.9) > a["out"].probdensity
    with pytest.raises(ValueError, match="credible level"):
        associate(cands, event, level=0)


def test_ranking_puts_the_fading_red_transient_first_and_explains_why(event, spots):
    inside, _ = spots
    kilonova = _cand("kn", inside, [(0.4, 18.0), (1.4, 18.6), (2.4, 19.3)])
    supernova = _cand("sn", inside, [(0.4, 19.5), (1.4, 19.45), (2.4, 19.4)])
    asteroid = _cand("ast", inside, [(0.4, 19.0)], filters=("r",),
                     scores={"ssdistnr": 1.2, "ssnamenr": "12345", "sgscore1": -999.0,
                             "distpsnr1": -999.0})
    star = _cand("star", inside, [(0.4, 19.0), (1.4, 19.1)],
                 scores={"sgscore1": 0.99, "distpsnr1": 0.2})
    bogus = _cand("bogus", inside, [(0.4, 20.6)], filters=("r",),
                  scores={"rb": 0.1, "drb": 0.02})
    ranked = rank_candidates(associate([supernova, asteroid, star, bogus, kilonova], event),
                             event)
    assert [r.candidate.name for r in ranked][:2] == ["kn", "sn"]
    # the slow supernova ranks second but, like the rest, below the listing threshold
    assert [r.listed for r in ranked] == [True, False, False, False, False]
    by = {r.candidate.name: {f.name: f for f in r.factors} for r in ranked}
    assert set(by["kn"]) == {"localization", "distance", "host", "light_curve", "colour",
                             "detections", "real_bogus", "star", "solar_system"}
    assert by["kn"]["light_curve"].value["g"] == pytest.approx(0.65, abs=0.01)
    assert by["kn"]["light_curve"].term == 2.0 and by["sn"]["light_curve"].term < -2
    assert by["ast"]["solar_system"].term == -5 and "12345" in by["ast"]["solar_system"].why
    assert by["star"]["star"].term == -3 and by["bogus"]["real_bogus"].term < -3
    assert by["ast"]["detections"].term == -5 and by["kn"]["detections"].term == 0
    text = explain(ranked[0])
    assert text.startswith("#1 kn") and "fade rate mag/day" in text
    assert ranked[0].as_dict()["factors"][0]["name"] == "localization"


def test_weights_come_from_configuration(event, spots):
    inside, _ = spots
    kn = _cand("kn", inside, [(0.4, 18.0), (1.4, 18.6)])
    sn = _cand("sn", inside, [(0.4, 19.5), (1.4, 19.45)], scores={"drb": 0.999})
    assoc = associate([kn, sn], event)
    assert rank_candidates(assoc, event)[0].candidate.name == "kn"
    flat = RankingWeights.from_config({"light_curve": 0, "colour": 0, "threshold": -10})
    assert rank_candidates(assoc, event, weights=flat)[0].candidate.name == "sn"
    with pytest.raises(ValueError, match="unknown key.*bogus"):
        RankingWeights.from_config({"bogus": 1})


def test_fade_rates_per_filter_and_from_a_deeper_limit():
    cand = CandidateInfo("x", 0, 0, [
        Photometry(T0_JD + 1.0, "ztfg", 19.0, 0.1, 20.5),
        Photometry(T0_JD + 1.0, "ztfr", 18.8, 0.1, 20.5),
        Photometry(T0_JD + 2.0, "ztfr", 19.3, 0.1, 20.5),
        Photometry(T0_JD + 2.0, "ztfg", None, None, 21.0),  # not seen, 2 mag deeper
        Photometry(T0_JD + 1.05, "ztfg", None, None, 18.0),  # too soon, too shallow
    ])
    rates = light_curve_rates(cand)
    assert rates["r"] == pytest.approx(0.5)
    assert rates["g"] == pytest.approx(2.0)  # at least 2 mag/day


def test_host_galaxy_and_its_distance_in_the_3d_posterior(event):
    """A galaxy of the GLADE+ test subset as host: offset in kpc, distance factor."""
    galaxies = read_galaxy_catalog(DATA / "planning/GLADE.csv")
    g = galaxies[int(np.argmin(np.abs(np.asarray(galaxies["distmpc"]) - 40)))]
    d = float(g["distmpc"])
    offset = 5.0 / 3600  # 5 arcsec north of the galaxy
    cand = _cand("h", (float(g["ra"]), float(g["dec"]) + offset), [(0.4, 18.0), (1.4, 18.6)])
    host = host_match(cand, galaxies)
    assert host["name"] == g["name"]
    assert host["offset_kpc"] == pytest.approx(np.radians(offset) * d * 1000, rel=1e-3)
    near = Association(cand, True, "", 0.3, 10.0, distmu=d, distsigma=0.2 * d, distnorm=1e-4)
    far = Association(cand, True, "", 0.3, 10.0, distmu=5 * d, distsigma=0.2 * d,
                      distnorm=1e-4)
    ranked = rank_candidates([near, far], event, galaxies=galaxies)
    terms = [{f.name: f for f in r.factors}["distance"].term for r in ranked]
    assert terms[0] > -0.5 and terms[1] == -5.0
    assert {f.name: f for f in ranked[0].factors}["host"].value == g["name"]
    assert ranked[0].host.name == g["name"] and ranked[0].host.distance_mpc == pytest.approx(d)
    assert ranked[0].as_dict()["host"]["offset_arcsec"] == pytest.approx(5.0, abs=0.01)
