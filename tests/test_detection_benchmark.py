"""benchmarks/detection.py: how a plan's exposures are scored, the paired noise test, merging."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import numpy as np

SPEC = importlib.util.spec_from_file_location(
    "detection_benchmark", Path(__file__).parent.parent / "benchmarks" / "detection.py")
bench = sys.modules[SPEC.name] = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bench)


def _zenith_exposure(exposure_time: float):
    """A ZTF r exposure at Palomar's zenith, two hours after midnight local time."""
    import astropy.units as u
    from astropy.coordinates import AltAz, EarthLocation, SkyCoord
    from astropy.time import Time

    from tooflow.iers import configure_iers
    from tooflow.observations import PlannedObservation
    from tooflow.telescopes import load_telescope

    configure_iers(offline=True)
    tel = load_telescope("ZTF")
    start = dt.datetime(2019, 8, 20, 9, 0, tzinfo=dt.UTC)
    site = EarthLocation.from_geodetic(tel.longitude * u.deg, tel.latitude * u.deg,
                                       tel.elevation * u.m)
    up = SkyCoord(alt=90 * u.deg, az=0 * u.deg,
                  frame=AltAz(obstime=Time(start), location=site)).icrs
    return PlannedObservation(telescope="ZTF", ra=float(up.ra.deg), dec=float(up.dec.deg),
                              filter="r", exposure_time=exposure_time, start_time=start)


def test_observe_needs_the_footprint_and_the_depth():
    from tooflow.counterparts import kilonova

    model = kilonova(spread=1.0)
    obs = _zenith_exposure(30.0)
    merger = (obs.start_time - dt.timedelta(days=1)).timestamp()
    # on a CCD (0.4° east and 1° north of the centre, off the chip-gap cross), 30° away
    east = obs.ra + 0.4 / np.cos(np.radians(obs.dec))
    src = {"ra": np.array([east, east, east]),
           "dec": np.array([obs.dec + 1.0, obs.dec + 1.0, obs.dec - 30.0]),
           "distance": np.array([40.0, 2000.0, 40.0]), "offset": np.zeros(3)}
    inside, hit = bench.observe([obs], src, model, merger)
    # AT2017gfo at 40 Mpc one day on is ~17.5 mag: a 30 s ZTF exposure sees it;
    # at 2 Gpc it is ~26 mag: covered, not detected; 30° away: neither
    assert inside.tolist() == [True, True, False]
    assert hit.tolist() == [True, False, False]
    # a deeper exposure reaches further: 300 s at 200 Mpc (~21 mag) vs 30 s
    src200 = dict(src, distance=np.array([200.0, 200.0, 200.0]))
    _, hit30 = bench.observe([obs], src200, model, merger)
    _, hit300 = bench.observe([_zenith_exposure(300.0)], src200, model, merger)
    assert hit300[0] >= hit30[0]


def test_paired_worse_counts_only_discordant_draws():
    same = {"hits": list(range(50))}
    # 50 shared detections, 10 more for a: 10 − 0 > 2√10 ≈ 6.3
    more = {"hits": list(range(60))}
    assert bench.paired_worse(more, same)
    assert not bench.paired_worse(same, more)
    # 6 vs 2 discordant: 4 < 2√8 ≈ 5.7, noise
    a = {"hits": list(range(50)) + [100, 101, 102, 103, 104, 105]}
    b = {"hits": list(range(50)) + [200, 201]}
    assert not bench.paired_worse(a, b)
    assert not bench.paired_worse(same, same)


def test_records_of_several_processes_merge(tmp_path):
    tooflow = {"event": "3.fits", "draws": 10, "load": [1.0, 2.0], "wall": 5.0,
               "sets": {"network": {"coverage": {"found": 1}}, "ZTF": {"coverage": {"found": 2}}}}
    external = {"event": "3.fits", "draws": 10, "load": [3.0, 4.0], "wall": 7.0,
                "sets": {"ZTF": {"gwemopt": {"found": 3}}}}
    path = tmp_path / "r.jsonl"
    import json

    path.write_text(json.dumps(tooflow) + "\n" + json.dumps(external) + "\n")
    r = bench.read_results(path)["3.fits"]
    assert r["sets"]["ZTF"] == {"coverage": {"found": 2}, "gwemopt": {"found": 3}}
    assert r["sets"]["network"] == {"coverage": {"found": 1}}
    assert r["load"] == [1.0, 2.0, 3.0, 4.0] and r["wall"] == 12.0


def test_shards_follow_the_map_id_not_the_list():
    assert bench.shard_of(Path("12.fits"), 0.0, [0.0]) % 2 == 0
    assert bench.shard_of(Path("13.fits"), 0.0, [0.0]) % 2 == 1
    assert bench.shard_of(Path("13.fits"), 37.0, [0.0, 37.0]) == 27
    a = bench.shard_of(Path("S190814bv.fits.gz"), 0.0, [0.0])
    assert a == bench.shard_of(Path("S190814bv.fits.gz"), 0.0, [0.0])


def test_coinc_id_ranges():
    assert bench._id_ranges("0-2,10,12-13") == [0, 1, 2, 10, 12, 13]
