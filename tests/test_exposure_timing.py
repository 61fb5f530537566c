"""One model of an exposure's duration: a plan observed by the simulator ends when the
plan says it does, for every telescope of the catalogue.

The planner times exposures with the catalogue's dead time between them
(overhead + max(readout, slew) + filter change, :class:`tooflow.telescopes.ExposureTiming`);
the simulator observes with the same, so its timeline is the plan's: on time when
the plan is queued on time, and exposure for exposure when a queue runs the plan
as fast as it can (a plan queued late: no planned start holds it back).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from ligo.skymap.io import read_sky_map

from tooflow.facilities import get_facility
from tooflow.iers import configure_iers
from tooflow.planning import plan_skymap
from tooflow.planning.galaxies import plan_galaxies, read_galaxy_catalog
from tooflow.simulator.engine import Simulator, parse_time
from tooflow.skymap import circle_to_moc
from tooflow.telescopes import ExposureTiming, load_telescope

from .conftest import DATA

S190425Z = DATA / "planning" / "bayestar.fits.gz"
GRIDS = ["ZTF", "DECam", "Gattini", "GROWTH-India"]


#: A night of each site (2019-04-26, last quarter Moon): a 90 % circle of 6° near its
#: zenith at local midnight (RA ≈ the local sidereal time, 215°), planned from 22:00.
NIGHTS = {"ZTF": (33.0, 5.5), "Gattini": (33.0, 5.5), "DECam": (-30.0, 2.5),
          "GROWTH-India": (32.0, 16.5)}  # (dec, UTC hour of local 22:00)


@pytest.fixture(scope="module")
def plans():
    """Each telescope's exposures in the optimiser's plan (KPED: of GLADE galaxies)."""
    configure_iers(offline=True)
    out = {}
    for name, (dec, hour) in NIGHTS.items():
        start = dt.datetime(2019, 4, 26, tzinfo=dt.UTC) + dt.timedelta(hours=hour)
        moc = circle_to_moc(215.0, dec, 6.0, kind="90%")
        plan = plan_skymap(moc, [name], start, start + dt.timedelta(hours=4), time_limit=5)
        out[name] = sorted(plan.observations, key=lambda o: o.start_time)
    bayestar = read_sky_map(str(S190425Z), moc=True)
    night = dt.datetime(2019, 4, 26, 4, 0, tzinfo=dt.UTC)  # 21:00 at Kitt Peak
    galaxies = read_galaxy_catalog(DATA / "planning" / "GLADE.csv")
    kped = plan_galaxies(bayestar, galaxies, ["KPED"], night, night + dt.timedelta(hours=3),
                         top=40, time_limit=5)
    out["KPED"] = sorted(kped.observations, key=lambda o: o.start_time)
    return out


def _contiguous(observations, timing: ExposureTiming):
    """The plan's first run of exposures each starting right after the dead time."""
    run = observations[:1]
    for a, b in zip(observations, observations[1:], strict=False):
        free = (b.start_time - a.start_time).total_seconds() - a.exposure_time
        if abs(free - timing.between((a.ra, a.dec, a.filter), b.ra, b.dec, b.filter)) > 1e-3:
            break
        run.append(b)
    return run


def _observe(observations, *, start: dt.datetime) -> list[dict]:
    """Queue ``observations`` on a simulator whose clock starts at ``start``; run it out."""
    wall = [0.0]
    sim = Simulator(speedup=1.0, weather_loss=0.0, start=start, clock=lambda: wall[0])
    payload = get_facility("Simulator").build_request(
        observations, event_id="timing", window=(start, start + dt.timedelta(days=1)))
    sim.submit(observations[0].telescope, payload)
    wall[0] = 86400.0
    executed = {e["request_key"]: e for e in sim.executed()}
    assert set(executed) == {o.request_key for o in observations}  # every one observed
    return [executed[o.request_key] for o in observations]


def _offsets(seen: list[dict], planned) -> list[float]:
    """Observed minus planned start of each exposure, s (to the ms: times travel as ISO text)."""
    return [round((parse_time(e["obs_time"]) - o.start_time).total_seconds(), 3) + 0.0
            for e, o in zip(seen, planned, strict=True)]


@pytest.mark.parametrize("name", [*GRIDS, "KPED"])
def test_the_simulator_observes_a_plan_on_the_plans_timeline(plans, name):
    timing = load_telescope(name).timing
    planned = plans[name]
    assert len(planned) >= 3, f"{name}: nothing planned"
    # Queued on time: each exposure starts when planned; the last ends when the plan ends.
    seen = _observe(planned, start=planned[0].start_time)
    assert _offsets(seen, planned) == [0.0] * len(planned)
    sim_end = parse_time(seen[-1]["obs_time"]) + dt.timedelta(seconds=seen[-1]["exposure_time"])
    plan_end = planned[-1].start_time + dt.timedelta(seconds=planned[-1].exposure_time)
    assert abs((sim_end - plan_end).total_seconds()) < 1e-3
    run = _contiguous(planned, timing)
    assert len(run) >= 2, f"{name}: no two exposures back to back in the plan"
    # Queued without its start times (as fast as the telescope can): the same timeline,
    # so the dead time the simulator charges is the planner's, exposure for exposure.
    asap = [dataclasses.replace(o, start_time=run[0].start_time) for o in run]
    seen = _observe(asap, start=run[0].start_time)
    assert _offsets(seen, run) == [0.0] * len(run)


def test_the_dead_time_is_the_catalogues():
    """overhead + max(readout, slew / slew rate) + filter change, from the YAML."""
    decam = load_telescope("DECam")
    assert (decam.overhead_per_exposure, decam.readout, decam.slew_rate,
            decam.filter_change_time) == (28.0, 28.0, 0.3, 8.0)
    timing = decam.timing
    assert timing.dead_time(1.0) == 28.0 + 28.0  # readout longer than a 3.3 s slew
    assert timing.dead_time(30.0) == pytest.approx(28.0 + 100.0)  # a 100 s slew
    assert timing.dead_time(30.0, filter_changed=True) == pytest.approx(28.0 + 100.0 + 8.0)
    assert timing.between(None, 10.0, -30.0, "r") == 0.0  # nothing before: no dead time
