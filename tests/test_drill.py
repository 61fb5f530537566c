"""A whole drill, from the replayed notice to the counterpart ranked in `tooflow candidates`.

The event is MS181101ab's preliminary notice replayed as a mock event ten
hours before the night of 2019-04-25 (its region transits Palomar around
06:30 UTC); the
counterpart is drawn from its map; the simulator service observes two nights
of ZTF exposures over it; the alerts a broker filter for the event passes
(fetched over HTTP as ZTF packets) go through the handle-candidates flow.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlmodel import Session

from tests.simulated_clock import simulator_from_first_request
from tests.waiting import wait_for
from tooflow.candidates.association import EventLocalization
from tooflow.candidates.store import store_alert
from tooflow.candidates.views import event_candidates
from tooflow.cli.drill import score_drill
from tooflow.config import load_settings
from tooflow.facilities import get_facility
from tooflow.intake.store import store_notice
from tooflow.models import Event
from tooflow.observations import PlannedObservation
from tooflow.parsers import parse_notice
from tooflow.simulator.feed import (
    fetch_event_packets,
    injection_for_notice,
    post_injection,
    save_drill,
)
from tooflow.simulator.replay import replay_notice
from tooflow.skymap.read import read_skymap_bytes
from tooflow.stages.parse import parse_stored_notice

PRELIMINARY = Path(__file__).parent / "data" / "lvk" / "avro" / "MS181101ab-preliminary.avro"
START = dt.datetime(2019, 4, 25, 6, 30, tzinfo=dt.UTC)


def test_replayed_notice_is_a_fresh_mock_event_on_the_same_map():
    raw = PRELIMINARY.read_bytes()
    payload, sid = replay_notice(raw, now=START)
    replayed, original = parse_notice(payload), parse_notice(raw)
    assert sid.startswith("MS190425") and replayed.event_id == sid and replayed.is_mock
    assert replayed.time == START - dt.timedelta(minutes=1)
    assert replayed.localization.skymap_bytes == original.localization.skymap_bytes
    assert replayed.notice_type == original.notice_type
    # another map: a simulated event on it
    flat = (Path(__file__).parent / "data/skymaps/rrt_small_area.fits").read_bytes()
    other = parse_notice(replay_notice(raw, now=START, skymap=flat)[0])
    carried = read_skymap_bytes(other.localization.skymap_bytes)
    expected = read_skymap_bytes(flat)
    assert list(carried["UNIQ"]) == list(expected["UNIQ"])
    assert list(carried["PROBDENSITY"]) == list(expected["PROBDENSITY"])


def _observations(inj, nights=2):
    obs = []
    for night in range(nights):
        for k, f in enumerate(("g", "r")):
            obs.append(PlannedObservation(
                telescope="ZTF", ra=inj.ra + 0.5, dec=inj.dec + 0.5, filter=f,
                exposure_time=30.0, target="drill field", visit=night + 1,
                start_time=START + dt.timedelta(days=night, minutes=35 * k)))
    return obs


def test_a_drill_ends_with_the_counterpart_ranked_first(sqlite_engine, prefect, tmp_path,
                                                         monkeypatch):
    from tooflow.flows.candidates import handle_candidates

    monkeypatch.setenv("TOOFLOW_HOME", str(tmp_path / "home"))
    settings = load_settings()
    # the event ten hours before the night: the kilonova is fading by then
    payload, sid = replay_notice(PRELIMINARY.read_bytes(), now=START - dt.timedelta(hours=10))
    stored = store_notice(payload, "drill", engine=sqlite_engine)
    parse_stored_notice(stored.notice_id, engine=sqlite_engine, settings=settings)
    with Session(sqlite_engine) as s:
        event_time = s.get(Event, 1).time
    seed = 11
    inj = injection_for_notice(payload, seed=seed, t0=event_time)
    while inj.credible_level > 0.5:  # well inside the region, as a counterpart usually is
        seed += 1
        inj = injection_for_notice(payload, seed=seed, t0=event_time)
    save_drill(settings.home, inj)
    moc = read_skymap_bytes(parse_notice(payload).localization.skymap_bytes)
    # the simulated clock starts at the first submission (a busy machine costs no night)
    with simulator_from_first_request(speedup=20000, weather_loss=0.0, seed=5,
                                      start=START) as srv:
        post_injection(srv.url, inj)
        observations = _observations(inj)
        keys = [o.request_key for o in observations]
        with get_facility("simulator", {"url": srv.url}) as facility:
            facility.submit(observations, event_id=sid, program="drill")
            wait_for(lambda: all(q.status in ("completed", "failed")
                                 for q in facility.status(keys)), "the drill's exposures")
            assert all(q.status == "completed" for q in facility.status(keys))
        packets = fetch_event_packets(srv.url, EventLocalization.from_moc(moc, event_time, sid))
    ids = [store_alert(p, f"simulator:{sid}", engine=sqlite_engine).alert_id for p in packets]
    assert len(ids) > 10  # the background inside the region, and the counterpart
    summary = handle_candidates(ids, event_ids=[sid])
    assert summary["events"][sid]["associated"] == len(ids)
    ranked = event_candidates(sid, engine=sqlite_engine)
    assert ranked[0].name == inj.object_id
    factors = {f["name"]: f for f in ranked[0].factors["factors"]}
    assert "fade rate" in factors["light_curve"]["why"]
    assert all(rate > 0.3 for rate in factors["light_curve"]["value"].values())
    assert score_drill(sid, settings)[0].startswith(
        f"drill {sid}: the injected kilonova {inj.object_id}")
    assert "ranked #1 of" in score_drill(sid, settings)[0]
