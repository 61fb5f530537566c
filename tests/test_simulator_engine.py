"""The simulator engine with a hand-driven clock (no HTTP)."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from astropy import units as u
from astropy.coordinates import AltAz, EarthLocation, SkyCoord, get_body
from astropy.time import Time

from tests.test_facilities_simulator import START, plan, s190425z_ztf_log
from tooflow.facilities import get_facility
from tooflow.simulator.engine import Simulator, parse_time
from tooflow.telescopes import load_telescope

PALOMAR = load_telescope("ZTF").site


def ztf_payload(n: int, **window) -> dict:
    facility = get_facility("Simulator")
    return facility.build_request(plan(s190425z_ztf_log(n)), event_id="S190425z",
                                  window=window.get("window"))


def driven(**kwargs) -> tuple[Simulator, list[float]]:
    wall = [0.0]
    sim = Simulator(speedup=1.0, start=kwargs.pop("start", START), clock=lambda: wall[0],
                    **kwargs)
    return sim, wall


@pytest.mark.slow  # waits on the simulated clock (~7 s)
def test_states_move_with_the_simulated_clock():
    sim, wall = driven(weather_loss=0.0)
    keys = [r["request_key"] for r in sim.submit("ZTF", ztf_payload(2))]
    assert [s["status"] for s in sim.status(keys)] == ["queued", "queued"]
    wall[0] = 10.0  # first exposure running (30 s)
    assert [s["status"] for s in sim.status(keys)] == ["executing", "queued"]
    wall[0] = 50.0
    assert [s["status"] for s in sim.status(keys)] == ["completed", "executing"]
    assert sim.cancel(keys[1])["detail"] == "exposure already running; not cancelled"
    wall[0] = 90.0
    assert [s["status"] for s in sim.status(keys)] == ["completed", "completed"]
    first, second = sim.executed()
    assert parse_time(first["obs_time"]) == START
    # 30 s exposure, then the catalogue's dead time as planned: 10 s overhead + the
    # longer of the 10 s readout and the slew to the next field (2.6 deg/s)
    ztf = load_telescope("ZTF")
    dead = ztf.timing.between((first["ra"], first["dec"], "r"), second["ra"], second["dec"], "r")
    assert dead == 20.0
    assert parse_time(second["obs_time"]) == START + dt.timedelta(seconds=30 + dead)
    assert sim.executed(since=START) == [second]
    assert sim.health()["queues"] == {"ZTF": {"completed": 2}}


def test_daytime_submission_waits_for_night_and_honours_visibility():
    noon = dt.datetime(2019, 4, 25, 20, 0, tzinfo=dt.UTC)  # 13:00 at Palomar
    sim, wall = driven(weather_loss=0.0, start=noon)
    payload = ztf_payload(3, window=(noon, noon + dt.timedelta(days=1)))
    sim.submit("ZTF", payload)
    wall[0] = 86400.0
    executed = sim.executed()
    assert len(executed) == 3
    site = EarthLocation.from_geodetic(PALOMAR.lon * u.deg, PALOMAR.lat * u.deg,
                                       PALOMAR.elevation * u.m)
    for e in executed:
        t = Time(parse_time(e["obs_time"]))
        frame = AltAz(obstime=t, location=site)
        sun_alt = get_body("sun", t, site).transform_to(frame).alt.deg
        alt = SkyCoord(e["ra"] * u.deg, e["dec"] * u.deg).transform_to(frame).alt.deg
        assert sun_alt < -12.0
        assert 1.0 / math.sin(math.radians(alt)) <= 2.5
        assert t > Time(noon) + 6 * u.hour  # not before dusk
        assert e["airmass"] == pytest.approx(1 / math.sin(
            math.radians(alt)), abs=0.1)  # grid is 5 min


def test_requests_that_cannot_run_before_their_window_ends_expire():
    sim, wall = driven(weather_loss=0.0)
    window = (START, START + dt.timedelta(minutes=2))  # room for about 3 exposures
    payload = ztf_payload(6, window=window)
    for target in payload["targets"]:  # all planned at the start: the window decides
        target["start_time"] = START.isoformat()
    results = sim.submit("ZTF", payload)
    wall[0] = 3600.0
    states = sim.status([r["request_key"] for r in results])
    done = [s for s in states if s["status"] == "completed"]
    expired = [s for s in states if s["status"] == "failed"]
    assert 2 <= len(done) <= 3 and len(done) + len(expired) == 6
    assert all(s["detail"].startswith("expired") for s in expired)


@pytest.mark.parametrize("mutate, message", [
    (lambda p: p.pop("targets"), "'targets' must be a non-empty list"),
    (lambda p: p.pop("site"), "'site' with 'lat' and 'lon'"),
    (lambda p: p["targets"][0].pop("ra"), "target 0: missing or invalid 'ra'"),
    (lambda p: p["targets"][1].update(dec=95.0), "position out of range"),
    (lambda p: p["targets"][0].update(exposure_time=0), "exposure_time must be positive"),
    (lambda p: p["targets"][1].update(request_key=p["targets"][0]["request_key"]),
     "repeated request_key"),
    (lambda p: p["validity_window"].update(end=p["validity_window"]["start"]),
     "validity window ends"),
    (lambda p: p["validity_window"].update(start="yesterday"), "not an ISO 8601 time"),
])
def test_malformed_payloads_are_rejected_with_the_reason(mutate, message):
    sim, _ = driven()
    payload = ztf_payload(2)
    mutate(payload)
    with pytest.raises(ValueError, match=message):
        sim.submit("ZTF", payload)
    assert sim.health()["queues"] == {}  # nothing was queued


def test_settings_are_checked():
    with pytest.raises(ValueError, match="speedup must be positive"):
        Simulator(speedup=0)
    with pytest.raises(ValueError, match="weather_loss must be within"):
        Simulator(weather_loss=1.5)


def test_warm_up_restarts_the_clock_only_before_the_first_submission():
    sim, wall = driven(weather_loss=0.0)
    wall[0] = 50.0  # wall time spent loading astropy before serving
    sim.warm_up()
    assert sim.now() == START
    sim.submit("ZTF", ztf_payload(1))
    wall[0] = 60.0
    sim.warm_up()
    assert sim.now() == START + dt.timedelta(seconds=10)


def test_no_exposure_before_its_planned_start():
    """The plan's timing is kept: a second visit planned 30 min later waits for it."""
    sim, wall = driven(weather_loss=0.0)
    payload = ztf_payload(2)
    later = START + dt.timedelta(minutes=30)
    payload["targets"][0]["start_time"] = START.isoformat()
    payload["targets"][1]["start_time"] = later.isoformat()
    keys = [r["request_key"] for r in sim.submit("ZTF", payload)]
    wall[0] = 600.0  # 10 min: the first is done, the second still waits
    assert [s["status"] for s in sim.status(keys)] == ["completed", "queued"]
    wall[0] = 3600.0
    first, second = sim.executed()
    assert parse_time(second["obs_time"]) >= later


def test_the_simulator_observes_with_the_catalogues_depth_model():
    """One depth model: an executed depth is the catalogue's for the exposure's sky
    (on the simulator's 5-minute grid) plus the seeded scatter."""
    import random

    from tooflow.telescopes import limiting_magnitude
    from tooflow.telescopes.conditions import observing_conditions

    sim, wall = driven(weather_loss=0.0, seed=5)
    sim.submit("ZTF", ztf_payload(30))  # 08:10-08:30 UTC, the Moon rising at Palomar
    wall[0] = 3600.0
    executed = sim.executed()
    assert len(executed) == 30
    ztf = load_telescope("ZTF")
    for e in executed:
        grid = sim._by_key[e["request_key"]].grid
        t = grid.start + dt.timedelta(seconds=grid.step * math.floor(
            (parse_time(e["obs_time"]) - grid.start).total_seconds() / grid.step + 1e-9))
        sky = observing_conditions(ztf, e["ra"], e["dec"], [t])
        rng = random.Random(f"5:{e['request_key']}")
        rng.random()
        jitter = rng.gauss(0.0, 0.15)
        expected = float(limiting_magnitude(
            ztf, e["filter"], e["exposure_time"], sky["airmass"][0],
            moon_illumination=sky["moon_illumination"][0],
            moon_separation=sky["moon_separation"][0], moon_altitude=sky["moon_altitude"][0],
            sun_altitude=sky["sun_altitude"][0])) + jitter
        assert e["limiting_magnitude"] == pytest.approx(expected, abs=0.01)
    assert any(sim._by_key[e["request_key"]].grid.conditions_at(
        parse_time(e["obs_time"]))["moon_altitude"] > 0 for e in executed)


def test_the_catalogues_moon_limit_holds_in_the_simulator_as_in_the_plan():
    """DECam keeps 10° from the Moon (tooflow/telescopes/data/DECam.yaml): a target
    next to the full Moon is never observed, one far from it is."""
    from astropy.coordinates import EarthLocation

    decam = load_telescope("DECam")
    start = dt.datetime(2019, 4, 19, 2, 0, tzinfo=dt.UTC)  # full Moon 11:12 UTC
    site = EarthLocation.from_geodetic(decam.longitude * u.deg, decam.latitude * u.deg,
                                       decam.elevation * u.m)
    moon = get_body("moon", Time(start + dt.timedelta(hours=2)), site).icrs
    near = (float(moon.ra.deg), float(moon.dec.deg) + 3.0)
    far = ((near[0] - 60.0) % 360.0, -30.0)
    payload = {"telescope": "DECam", "site": decam.site.as_dict(),
               "validity_window": {"start": start.isoformat(),
                                   "end": (start + dt.timedelta(hours=4)).isoformat()},
               "targets": [{"request_key": f"DECam:{name}:r:1", "ra": ra, "dec": dec,
                            "filter": "r", "exposure_time": 90.0}
                           for name, (ra, dec) in (("near", near), ("far", far))]}
    sim, wall = driven(weather_loss=0.0, start=start)
    sim.submit("DECam", payload)
    wall[0] = 5 * 3600.0
    near_state, far_state = sim.status(["DECam:near:r:1", "DECam:far:r:1"])
    assert far_state["status"] == "completed"
    assert near_state["status"] == "failed"
    assert "Moon at least 10 deg away" in near_state["detail"]
    assert "hour angle -5..5 h" in near_state["detail"]


def test_the_clock_restarts_only_when_nothing_is_open():
    sim, wall = driven(weather_loss=0.0)
    keys = [r["request_key"] for r in sim.submit("ZTF", ztf_payload(2))]
    later = START + dt.timedelta(days=400)
    assert not sim.restart_if_idle(later)  # queued: its timing depends on the clock
    wall[0] = 3 * 86400.0  # both observed (or failed) by now
    assert all(s["status"] not in ("queued", "executing") for s in sim.status(keys))
    before = sim.status(keys)
    assert sim.restart_if_idle(later) and sim.now() == later and sim.restarts == 1
    assert sim.status(keys) == before  # ended requests keep their states and times
    assert sim.submit("ZTF", ztf_payload(1, window=(later, later + dt.timedelta(days=1))))


def test_a_listeners_simulator_restarts_its_clock_at_an_idle_submission():
    """A long-lived process's simulator (restart_when_idle): its clock, days ahead of the
    present after a day at ×7200, is the present again at the next submission."""
    sim, wall = driven(weather_loss=0.0, restart_when_idle=True)
    wall[0] = 86400.0  # ×1 here; the clock reads START + 1 day, years in the past
    now = dt.datetime.now(dt.UTC)
    sim.submit("ZTF", ztf_payload(2, window=(now, now + dt.timedelta(days=1))))
    assert abs((sim.now() - now).total_seconds()) < 60 and sim.restarts == 1
    sim.submit("ZTF", ztf_payload(3, window=(now, now + dt.timedelta(days=1))))
    assert sim.restarts == 1  # requests open: the clock runs on
