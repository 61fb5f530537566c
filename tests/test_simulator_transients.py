"""The simulated sky: injections drawn from a real 3D map, detections per exposure, packets."""

from __future__ import annotations

import datetime as dt
import gzip
import io
from collections import Counter
from pathlib import Path

import fastavro
import numpy as np
import pytest
from astropy.io import fits

from tooflow.parsers import parse_notice
from tooflow.simulator.injection import Injection, draw_injection, load_injection
from tooflow.simulator.packets import alert_record, packet_bytes
from tooflow.simulator.transients import BackgroundRates, TransientSky, exposure_jd
from tooflow.skymap.read import read_skymap_bytes

DATA = Path(__file__).parent / "data"
T0 = dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def moc():
    """BAYESTAR's map of MS181101ab (UNIQ, PROBDENSITY, DISTMU, DISTSIGMA, DISTNORM)."""
    raw = (DATA / "lvk/avro/MS181101ab-preliminary.avro").read_bytes()
    return read_skymap_bytes(parse_notice(raw).localization.skymap_bytes)


def test_injection_is_reproducible_and_recorded(moc, tmp_path):
    a = draw_injection(moc, T0, event_id="MS181101ab", seed=7, spread=1.0)
    b = draw_injection(moc, T0, event_id="MS181101ab", seed=7, spread=1.0)
    c = draw_injection(moc, T0, event_id="MS181101ab", seed=8, spread=1.0)
    assert a == b and a != c
    assert a.object_id.startswith("ZTF26") and len(a.object_id) == 12
    assert a.params["spread"] == 1.0 and a.params["offset"] != 0.0
    assert load_injection(a.save(tmp_path / "inj.json")) == a
    assert load_injection(a.to_json()).t0_datetime == T0


def test_injections_follow_the_maps_3d_posterior(moc):
    """Calibration: 90 % of draws fall inside the 90 % region; distances follow the map."""
    draws = [draw_injection(moc, T0, event_id="x", seed=s) for s in range(300)]
    inside = np.mean([d.credible_level <= 0.9 for d in draws])
    assert 0.85 <= inside <= 0.95
    # the marginal distance posterior of the map: its mean and spread (header DISTMEAN/DISTSTD)
    dist = np.array([d.distance_mpc for d in draws])
    mean, std = moc.meta["distmean"], moc.meta["diststd"]
    assert abs(dist.mean() - mean) < 4 * std / np.sqrt(len(dist))
    assert 0.7 * std < dist.std() < 1.3 * std


def test_injection_refuses_a_map_without_distances(moc):
    flat2d = moc["UNIQ", "PROBDENSITY"]
    with pytest.raises(ValueError, match="no distance layers"):
        draw_injection(flat2d, T0, event_id="x")
    inj = draw_injection(flat2d, T0, event_id="x", distance_mpc=120.0)
    assert inj.distance_mpc == 120.0
    with pytest.raises(ValueError, match="unknown counterpart model"):
        draw_injection(moc, T0, event_id="x", model="supernova")


def _exposure(ra, dec, *, days, filt="r", maglim=20.5, expid=1):
    return {"telescope": "ZTF", "ra": ra, "dec": dec, "filter": filt, "field_id": 700,
            "obsjd": 2440587.5 + T0.timestamp() / 86400 + days,
            "limiting_magnitude": maglim, "expid": expid}


def _injection(ra=150.0, dec=30.0, distance=40.0):
    return Injection(event_id="drill", model="kilonova", ra=ra, dec=dec,
                     distance_mpc=distance, t0=T0.isoformat(), object_id="ZTF26drillaa", seed=1)


def test_counterpart_is_detected_only_on_the_footprint_and_above_the_limit():
    inj = _injection()
    sky = TransientSky(seed=1, epoch=T0, injection=inj)
    # AT2017gfo at 40 Mpc one day after: r ≈ 17.3
    dets = sky.observe(_exposure(150.0 + 0.3, 30.0 + 0.3, days=1.0, maglim=20.5))
    cp = [d for d in dets if d.kind == "counterpart"]
    assert len(cp) == 1 and cp[0].object_id == "ZTF26drillaa"
    assert abs(cp[0].mag - 17.3) < 0.2 and cp[0].magerr < 0.05
    assert abs(cp[0].ra - 150.0) * 3600 < 1 and abs(cp[0].dec - 30.0) * 3600 < 1
    assert cp[0].jdstarthist is None
    # too shallow an exposure, or a field 10 degrees away: nothing
    assert not [d for d in sky.observe(_exposure(150.3, 30.3, days=1.0, maglim=15.0, expid=2))
                if d.kind == "counterpart"]
    assert not [d for d in sky.observe(_exposure(160.0, 30.0, days=1.0, expid=3))
                if d.kind == "counterpart"]
    # before the merger: nothing
    assert not [d for d in sky.observe(_exposure(150.3, 30.3, days=-0.5, expid=4))
                if d.kind == "counterpart"]
    # the shallow exposures after the detection are upper limits in its history
    sky.observe(_exposure(150.3, 30.3, days=2.0, maglim=15.0, expid=5))
    hist = sky.history["ZTF26drillaa"]
    assert [(h["mag"] is None, h["maglim"]) for h in hist] == [
        (False, 20.5), (True, 15.0), (True, 15.0)]


def test_background_density_follows_depth_and_ecliptic():
    rates = BackgroundRates()
    sky = TransientSky(seed=3, epoch=T0, rates=rates)
    # a field on the ecliptic (RA 180, Dec ~0) and one near the ecliptic pole (RA 270, Dec 66)
    shallow = Counter(d.kind for d in sky.observe(_exposure(180.0, 0.0, days=1, maglim=19.0,
                                                            expid=10)))
    deep = Counter(d.kind for d in sky.observe(_exposure(180.0, 0.0, days=1, maglim=21.0,
                                                         expid=11)))
    pole = Counter(d.kind for d in sky.observe(_exposure(270.0, 66.0, days=1, maglim=21.0,
                                                         expid=12)))
    # bogus: 10^(0.3 * 2) ≈ 4 times more 2 mag deeper (Poisson: a few hundred each)
    assert 2.5 < deep["bogus"] / shallow["bogus"] < 6
    assert deep["asteroid"] > 10 * max(pole["asteroid"], 1)
    # ≈ 4 bogus per deg² at 21 mag on a 47 deg² footprint
    assert 120 < deep["bogus"] < 260
    assert deep["variable_star"] > 0 and deep["sn_ia"] + deep["sn_cc"] > 0


def test_persistent_sky_does_not_depend_on_the_order_of_exposures():
    a = TransientSky(seed=5, epoch=T0)
    b = TransientSky(seed=5, epoch=T0)
    e1, e2 = _exposure(40.0, 20.0, days=1, expid=1), _exposure(42.0, 21.0, days=1.1, expid=2)
    sn = {"sn_ia", "sn_cc", "variable_star"}
    ids_a = {d.object_id for d in a.observe(e1) + a.observe(e2) if d.kind in sn}
    ids_b = {d.object_id for d in b.observe(e2) + b.observe(e1) if d.kind in sn}
    assert ids_a and ids_a == ids_b
    # known variables carry their survey history: first detected long before the epoch
    var = [d for d in a.observe(_exposure(40.0, 20.0, days=1.2, expid=3))
           if d.kind == "variable_star"]
    assert var and all(d.jdstarthist < exposure_jd(e1) - 29 for d in var)


def test_packets_are_valid_ztf_alerts_with_history_and_cutouts():
    sky = TransientSky(seed=1, epoch=T0, injection=_injection())
    sky.observe(_exposure(150.3, 30.3, days=0.5, filt="g", expid=1))
    det = [d for d in sky.observe(_exposure(150.3, 30.3, days=1.5, expid=2))
           if d.kind == "counterpart"][0]
    raw = packet_bytes(alert_record(det, sky.previous(det)))
    reader = fastavro.reader(io.BytesIO(raw))
    assert reader.writer_schema["name"] == "ztf.alert"
    rec = next(reader)
    assert rec["schemavsn"] == "4.02" and rec["objectId"] == "ZTF26drillaa"
    c = rec["candidate"]
    assert c["fid"] == 2 and c["magpsf"] == pytest.approx(det.mag, abs=1e-4)
    assert c["diffmaglim"] == pytest.approx(20.5) and c["ndethist"] == 2
    assert c["jdstarthist"] < c["jd"]
    prv = rec["prv_candidates"]
    assert len(prv) == 1 and prv[0]["fid"] == 1 and prv[0]["magpsf"] is not None
    for key in ("cutoutScience", "cutoutTemplate", "cutoutDifference"):
        image = fits.open(io.BytesIO(gzip.decompress(rec[key]["stampData"])))[0].data
        assert image.shape == (63, 63)
    diff = fits.open(io.BytesIO(gzip.decompress(rec["cutoutDifference"]["stampData"])))[0].data
    assert diff[31, 31] > 10 * np.std(diff[:10, :10])  # the source is in the middle


def test_the_candidate_parser_reads_simulated_packets_as_it_reads_real_ones():
    from tooflow.candidates.association import candidate_from_parsed
    from tooflow.candidates.ztf import parse_ztf_alert

    real = parse_ztf_alert((DATA / "candidates/ztf/472263571115115000.avro").read_bytes())
    sky = TransientSky(seed=1, epoch=T0, injection=_injection())
    sky.observe(_exposure(150.3, 30.3, days=0.5, filt="g", expid=1))
    sky.observe(_exposure(150.3, 30.3, days=1.0, filt="g", maglim=15.0, expid=2))
    det = [d for d in sky.observe(_exposure(150.3, 30.3, days=1.5, expid=3))
           if d.kind == "counterpart"][0]
    now = T0 + dt.timedelta(days=2)
    sim = parse_ztf_alert(packet_bytes(alert_record(det, sky.previous(det))), now=now)
    assert sim.schema_version == "4.02" and sim.object_id == "ZTF26drillaa"
    assert sim.filter == "ztfr" and sim.magpsf == pytest.approx(det.mag, abs=1e-4)
    assert [p.mag is None for p in sim.photometry] == [False, True, False]
    assert set(sim.cutouts) == set(real.cutouts) and all(sim.cutouts.values())
    for alert in (real, sim):
        cand = candidate_from_parsed(alert)
        assert cand.name == alert.object_id and cand.detections
        assert cand.first_detected_jd <= alert.jd
    # the real ZTF17aaajnnn was seen long before its packet: never "new" for a later event
    assert candidate_from_parsed(real).first_detected_jd < real.jd - 30


def test_a_drill_on_given_exposures_ranks_the_injected_kilonova_first(moc):
    from tooflow.simulator.drill import run_drill

    inj = draw_injection(moc, T0, event_id="MS181101ab", seed=3)
    exposures = [_exposure(inj.ra + 0.5, inj.dec + 0.5, days=days, filt=f, maglim=20.8,
                           expid=k)
                 for k, (days, f) in enumerate([(0.3, "g"), (0.33, "r"), (1.3, "g"),
                                                (1.33, "r")], 1)]
    res = run_drill(moc, inj, exposures=exposures, seed=1)
    assert res.on_exposure and res.detected and res.n_counterpart_detections == 4
    assert res.rank == 1 and res.listed
    assert res.top5[0] == {"name": inj.object_id, "score": res.top5[0]["score"],
                           "kind": "counterpart"}
    assert res.n_candidates > 500  # the background of four ZTF exposures
    assert res.false_positives_top5 == len(res.top5) - 1


def test_an_afterglow_injection_uses_afterglowpy_through_the_counterpart_models():
    inj = Injection(event_id="GRB", model="afterglow", ra=150.0, dec=30.0, distance_mpc=200.0,
                    t0=T0.isoformat(), object_id="ZTF26grbaaaa", seed=1,
                    params={"spread": 1.0, "offset": 0.0, "event_time": T0.isoformat()})
    sky = TransientSky(seed=2, epoch=T0, injection=inj)
    early = [d for d in sky.observe(_exposure(150.3, 30.3, days=0.1, maglim=21.0, expid=1))
             if d.kind == "counterpart"]
    late = [d for d in sky.observe(_exposure(150.3, 30.3, days=3.0, maglim=21.0, expid=2))
            if d.kind == "counterpart"]
    assert early and early[0].mag < 21.0
    assert not late or late[0].mag > early[0].mag + 1.0  # a power-law decline


def test_only_the_alert_stream_telescopes_yield_alerts():
    sky = TransientSky(seed=1, epoch=T0, injection=_injection())
    decam = {**_exposure(150.3, 30.3, days=1.0, filt="z", maglim=22.5), "telescope": "DECam"}
    assert sky.observe(decam) == []
    assert sky.observe(_exposure(150.3, 30.3, days=1.0, expid=2))
