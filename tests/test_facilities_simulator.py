"""The simulator adapter against the real simulator service over loopback HTTP.

Plans use the ZTF fields ZTF really observed for S190425z (SkyPortal's
``ZTF_GW190425_observation_data.csv``), with centres from the official ZTF
field list, simulated from the real start of those observations.
"""

from __future__ import annotations

import csv
import datetime as dt
import statistics
import time
from pathlib import Path

import httpx
import pytest

from tests.waiting import HANG
from tooflow.facilities import FacilityError, FacilityHTTPError, get_facility
from tooflow.observations import PlannedObservation
from tooflow.simulator import SimulatorServer
from tooflow.telescopes import load_telescope

DATA = Path(__file__).parent / "data" / "telescopes"
START = dt.datetime(2019, 4, 25, 8, 10, tzinfo=dt.UTC)  # ZTF began S190425z at 08:18


def ztf_fields() -> dict[int, tuple[float, float]]:
    out = {}
    for line in (DATA / "ztf" / "ZTF_Fields.txt").read_text().splitlines():
        if line.startswith("%") or not line.strip():
            continue
        cols = line.split()
        out[int(cols[0])] = (float(cols[1]), float(cols[2]))
    return out


def s190425z_ztf_log(n: int) -> list[dict]:
    """First ``n`` exposures ZTF took for S190425z."""
    path = DATA / "skyportal" / "observations" / "ZTF_GW190425_observation_data.csv"
    with path.open() as f:
        return list(csv.DictReader(f))[:n]


def plan(rows: list[dict], telescope: str = "ZTF") -> list[PlannedObservation]:
    fields = ztf_fields()
    out = []
    visits: dict[tuple[int, str], int] = {}
    for i, row in enumerate(rows):
        fid = int(row["field_id"])
        filt = row["filter"].removeprefix("ztf")
        visits[fid, filt] = visits.get((fid, filt), 0) + 1
        ra, dec = fields[fid]
        out.append(PlannedObservation(
            telescope=telescope, ra=ra, dec=dec, filter=filt,
            exposure_time=float(row["exposure_time"]),
            start_time=START + dt.timedelta(seconds=40 * i), field_id=fid,
            visit=visits[fid, filt]))
    return out


def wait_until(predicate, timeout: float = HANG, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def server():
    with SimulatorServer(speedup=3600, weather_loss=0.0, seed=7, start=START) as srv:
        yield srv


def test_submit_observes_and_reports_executed_with_depths_like_ztf(server):
    rows = s190425z_ztf_log(60)  # the first hour, all r band, some fields twice
    observations = plan(rows)
    with get_facility("Simulator", {"url": server.url}) as sim:
        queued = sim.submit(observations, event_id="S190425z", program="GW")
        assert [q.request_key for q in queued] == [o.request_key for o in observations]
        assert all(q.status in ("queued", "executing", "completed") for q in queued)
        assert all(q.telescope == "ZTF" and q.queue_id for q in queued)

        keys = [o.request_key for o in observations]
        wait_until(lambda: all(q.status == "completed" for q in sim.status(keys)))
        executed = sim.executed(START - dt.timedelta(hours=1))

    assert sorted(e.request_key for e in executed) == sorted(keys)
    by_key = {e.request_key: e for e in executed}
    times = [by_key[k].obs_time for k in keys]
    assert times == sorted(times)  # list queue: planned order
    gaps = [round((b - a).total_seconds(), 3) for a, b in zip(times, times[1:], strict=False)]
    # Planned at ZTF's real 40 s cadence, observed back to back at the catalogue's
    # timing, the planner's: 30 s + 10 s overhead + max(10 s readout, slew at 2.6°/s)
    # (ZTF's own log has 10 s, not 20 s, between adjacent fields: docs/facilities.md)
    timing = load_telescope("ZTF").timing
    o = observations
    assert gaps == [round(30 + timing.between((a.ra, a.dec, a.filter), b.ra, b.dec, b.filter), 3)
                    for a, b in zip(o, o[1:], strict=False)]
    assert min(gaps) == 50.0 and max(gaps) > 54  # a slew longer than the readout costs more
    # The depth model against what ZTF really reached on these fields (r, 30 s).
    diffs = [by_key[k].limiting_magnitude - float(r["limmag"]) for k, r in zip(keys, rows,
                                                                                strict=True)]
    assert abs(statistics.median(diffs)) < 0.15
    assert all(abs(d) < 1.0 for d in diffs)
    # Every exchange was recorded, without credentials.
    assert {t.method for t in sim.transactions} == {"POST", "GET"}
    assert all(t.status == 200 and t.elapsed >= 0 for t in sim.transactions)


def test_submitting_the_same_plan_twice_queues_each_observation_once(server):
    observations = plan(s190425z_ztf_log(6))
    with get_facility("simulator", {"url": server.url}) as sim:
        first = sim.submit(observations, event_id="S190425z")
        again = sim.submit(observations, event_id="S190425z")  # a retry / re-run
        assert [q.queue_id for q in again] == [q.queue_id for q in first]
        report = sim.health()
    assert report["ok"] is True
    assert sum(report["queues"]["ZTF"].values()) == len(observations)
    state = server.simulator.status([o.request_key for o in observations])
    assert len({s["queue_id"] for s in state}) == len(observations)


def test_unobservable_target_is_never_executed_and_reported_as_such(server):
    fields = ztf_fields()
    ra, dec = fields[1]  # ZTF field 1, at Dec -89: never above Palomar's horizon
    south = PlannedObservation("ZTF", ra, dec, "r", 30.0, START, field_id=1)
    north = plan(s190425z_ztf_log(1))[0]
    with get_facility("Simulator", {"url": server.url}) as sim:
        sim.submit([south, north], event_id="S190425z")
        done = wait_until(lambda: [q for q in sim.status([south.request_key, north.request_key])
                                   if q.status in ("completed", "failed")])
        wait_until(lambda: sim.status([north.request_key])[0].status == "completed")
        south_state = sim.status([south.request_key])[0]
        executed = sim.executed(START - dt.timedelta(days=1))
    assert done
    assert south_state.status == "failed"
    assert south_state.detail.startswith("unobservable")
    assert "Palomar" in south_state.detail
    assert [e.request_key for e in executed] == [north.request_key]


def test_cancel_withdraws_queued_requests_and_they_never_run(server):
    observations = plan(s190425z_ztf_log(3))
    later = (START + dt.timedelta(days=2), START + dt.timedelta(days=3))
    with get_facility("Simulator", {"url": server.url}) as sim:
        sim.submit(observations, event_id="S190425z", window=later)
        keys = [o.request_key for o in observations]
        assert {q.status for q in sim.status(keys)} == {"queued"}
        cancelled = sim.cancel(keys + ["ZTF:f99999:r:1"])
        assert [q.status for q in cancelled] == ["cancelled"] * 3 + ["unknown"]
        # A re-plan may submit a cancelled key again: it never ran, so it is re-queued.
        again = sim.submit(observations[:1], event_id="S190425z", window=later)
        assert again[0].status == "queued"
        assert {q.status for q in sim.status(keys[1:])} == {"cancelled"}
        assert sim.status(["never-submitted"])[0].status == "unknown"
        # keys it does not know (e.g. after a restart) still name their telescope
        [unknown] = sim.status(["S190425z:Gattini:f790:J:2"])
        assert (unknown.telescope, unknown.status) == ("Gattini", "unknown")
        assert sim.cancel(["S190425z:KPED:M101:r:1"])[0].telescope == "KPED"


def test_weather_loss_fails_some_exposures_reproducibly():
    observations = plan(s190425z_ztf_log(20))
    keys = [o.request_key for o in observations]
    outcomes = []

    def finished(sim):
        states = sim.status(keys)
        return states if all(q.status in ("completed", "failed") for q in states) else None

    for _ in range(2):
        with SimulatorServer(speedup=36000, weather_loss=0.5, seed=3, start=START) as srv, \
                get_facility("Simulator", {"url": srv.url}) as sim:
            sim.submit(observations, event_id="S190425z")
            states = wait_until(lambda sim=sim: finished(sim))
            outcomes.append({q.request_key: q.status for q in states})
            lost = [q for q in states if q.status == "failed"]
            assert all(q.detail.startswith("weather") for q in lost)
            assert len(sim.executed(START)) == 20 - len(lost)
    assert outcomes[0] == outcomes[1]
    assert 3 <= list(outcomes[0].values()).count("failed") <= 17


@pytest.mark.parametrize("name", ["KPED", "Gattini", "GROWTH-India", "DECam"])
def test_other_facilities_observe_from_their_own_site(name):
    fields = ztf_fields()
    filt = {"KPED": "r", "Gattini": "J", "GROWTH-India": "r", "DECam": "r"}[name]
    fid = 308 if name == "DECam" else 790  # a southern field for CTIO
    ra, dec = fields[fid]
    obs = PlannedObservation(name, ra, dec, filt, 60.0, START, field_id=fid,
                             target=f"ZTF{fid}")
    config = {"url": "", "extra": {"propid": "2019A-0205"} if name == "DECam" else {}}
    with SimulatorServer(speedup=36000, weather_loss=0.0, start=START) as srv:
        config["url"] = srv.url
        with get_facility("Simulator", {"url": srv.url}) as sim, \
                get_facility(name, config) as facility:
            queued = facility.submit([obs], event_id="S190425z", program="GW")
            assert queued[0].status in ("queued", "executing", "completed")
            wait_until(lambda: sim.status([obs.request_key])[0].status == "completed")
            [executed] = facility.executed(START)
    request = srv.simulator._by_key[obs.request_key]
    # Site, overhead and depth are the telescope catalogue's (DECam: 28 s, as planned).
    tel = load_telescope(name)
    assert request.extra["site"]["name"] == tel.site.name == facility.site_for(name).name
    assert request.overhead == tel.overhead_per_exposure
    assert (request.depth, request.reference_exposure) == (tel.zero_point(filt),
                                                           tel.reference_exposure)
    assert executed.telescope == name and executed.target == f"ZTF{fid}"
    assert executed.obs_time >= START


def test_observations_for_two_telescopes_in_one_call_are_refused(server):
    a = plan(s190425z_ztf_log(1))[0]
    b = plan(s190425z_ztf_log(1), telescope="Gattini")[0]
    with get_facility("Simulator", {"url": server.url}) as sim, \
            pytest.raises(FacilityError, match="one telescope per request"):
        sim.submit([a, b], event_id="S190425z")


def test_bad_requests_get_a_400_with_the_reason(server):
    bad = PlannedObservation("ZTF", 10.0, 95.0, "r", 30.0, START, field_id=1)
    with get_facility("Simulator", {"url": server.url}) as sim:
        with pytest.raises(FacilityHTTPError, match="answered 400.*position out of range") as e:
            sim.submit([bad], event_id="S190425z")
        assert e.value.status == 400 and len(sim.transactions) == 1  # not retried
    r = httpx.post(f"{server.url}/queues/ZTF/requests", content=b"{not json")
    assert (r.status_code, r.json()["detail"]) == (400, "request body is not valid JSON")
    r = httpx.get(f"{server.url}/executed", params={"since": "last tuesday"})
    assert r.status_code == 400 and "not an ISO 8601 time" in r.json()["detail"]
    assert httpx.delete(f"{server.url}/requests/ZTF:f1:r:1").status_code == 404


def test_a_configured_simulator_url_does_not_import_the_embedded_simulator(tmp_path):
    """A process that only talks to queues (a served flow run) does not load the
    in-process simulator (FastAPI, uvicorn, the engine) to route a telescope."""
    import os
    import subprocess
    import sys

    (tmp_path / "tooflow.yaml").write_text(
        "facilities:\n  simulator:\n    url: http://127.0.0.1:9\n")
    code = ("import sys\n"
            "from tooflow.config import load_settings\n"
            "from tooflow.facilities.routing import facility_for\n"
            "f = facility_for('ZTF', load_settings())\n"
            "print(type(f).__name__)\n"
            "print(sorted(m for m in sys.modules if m.startswith('tooflow.simulator')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=HANG, check=True,
                         env={**os.environ, "TOOFLOW_HOME": str(tmp_path),
                              "TOOFLOW_CONFIG": str(tmp_path / "tooflow.yaml")})
    kind, modules = out.stdout.splitlines()[-2:]
    assert kind == "SimulatorFacility" and modules == "[]", out.stdout


def test_a_rerequest_key_names_its_telescope():
    """A re-request's ``:rN`` (tooflow.stages.submit) is not read as part of the key's
    telescope:where:filter:visit, so a key the simulator forgot still names ZTF."""
    obs = PlannedObservation(telescope="ZTF", ra=10.0, dec=20.0, filter="g",
                             exposure_time=30.0, start_time=dt.datetime(2019, 4, 1, tzinfo=dt.UTC),
                             field_id=700, visit=2, event_id="S190425z", attempt=3)
    assert obs.request_key == "S190425z:ZTF:f700:g:2:r3"
    with get_facility("simulator", {"url": "http://127.0.0.1:9"}) as sim:
        assert sim.telescope_of(obs.request_key) == "ZTF"
        assert sim.telescope_of("S190425z:ZTF:f700:g:2") == "ZTF"
