"""Associate, rank, record and notify (candidates/scoring.py) and the handle-candidates flow.

The event is MS181101ab (the LVK user guide's preliminary notice, its BAYESTAR
map). The counterpart is injected by the simulator (:func:`draw_injection`: a
position and distance from the map's 3D posterior) with the kilonova model's
magnitudes (AT2017gfo scaled to that distance), uploaded as DECam photometry;
the real ZTF packets (2018-2021, elsewhere) must not be associated.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tooflow.candidates.scoring import notify_candidates, score_event_candidates
from tooflow.candidates.store import ingest_alert_bytes, store_alert
from tooflow.candidates.views import event_candidates, render_ranked_markdown
from tooflow.config import load_settings
from tooflow.counterparts import counterpart_model
from tooflow.intake.store import store_notice
from tooflow.models import Candidate, CandidateEvent, Event, NotificationRecord
from tooflow.parsers import parse_notice
from tooflow.simulator.injection import draw_injection
from tooflow.skymap.read import read_skymap_bytes
from tooflow.stages.parse import parse_stored_notice

DATA = Path(__file__).parent / "data"
PRELIMINARY = DATA / "lvk" / "avro" / "MS181101ab-preliminary.avro"


def counterpart_upload(injection, days=(0.4, 1.4, 2.4), *, name=None, offset_days=0.0) -> bytes:
    """The injected kilonova's g and r magnitudes as a DECam photometry upload."""
    model = counterpart_model("kilonova")
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["name", "facility", "ra", "dec", "jd", "filter", "mag", "magerr"])
    for d in days:
        for k, band in enumerate(("g", "r")):
            mag = float(model.apparent_magnitude(band, d, injection.distance_mpc))
            w.writerow([name or injection.object_id, "DECam", injection.ra, injection.dec,
                        injection.t0_jd + d + offset_days + k * 0.02, band, f"{mag:.3f}",
                        "0.05"])
    return out.getvalue().encode()


@pytest.fixture
def event(sqlite_engine):
    """MS181101ab parsed (its map in the store) and an injection inside its 50% region."""
    return parsed_event_and_injection(sqlite_engine)


def parsed_event_and_injection(sqlite_engine):
    """MS181101ab parsed (its map in the store) and an injection inside its 50% region."""
    stored = store_notice(PRELIMINARY.read_bytes(), "file", engine=sqlite_engine)
    outcome = parse_stored_notice(stored.notice_id, engine=sqlite_engine,
                                  settings=load_settings())
    with Session(sqlite_engine) as s:
        ev = s.get(Event, outcome.event_pk)
    moc = read_skymap_bytes(parse_notice(PRELIMINARY.read_bytes()).localization.skymap_bytes)
    injection = draw_injection(moc, ev.time, event_id=ev.event_id, seed=11)
    while injection.credible_level > 0.5:
        injection = draw_injection(moc, ev.time, event_id=ev.event_id, seed=injection.seed + 1)
    return ev, injection


def test_counterpart_ranked_first_recorded_and_notified_once(sqlite_engine, event, tooflow_home):
    ev, injection = event
    kn = ingest_alert_bytes(counterpart_upload(injection), "upload", engine=sqlite_engine)
    # the same position, but seen 5 days before the merger: an older transient
    old = ingest_alert_bytes(counterpart_upload(injection, name="DC18old", offset_days=-5.0),
                             "upload", engine=sqlite_engine)
    for packet in sorted((DATA / "candidates" / "ztf").glob("*.avro")):
        ingest_alert_bytes(packet.read_bytes(), str(packet), engine=sqlite_engine)
    assert kn.status == old.status == "parsed"
    settings = load_settings()
    ids = [*kn.candidate_ids, *old.candidate_ids]
    result = score_event_candidates(ev.id, engine=sqlite_engine, settings=settings,
                                    candidate_ids=ids, flow_run_id="run-1")
    assert (result.considered, result.associated) == (2, 1)
    assert result.top[0][0] == injection.object_id
    with Session(sqlite_engine) as s:
        (link,) = s.exec(select(CandidateEvent)).all()
    assert link.candidate_pk == kn.candidate_ids[0] and link.flow_run_id == "run-1"
    assert link.score == pytest.approx(result.top[0][1], abs=1e-3)
    factors = {f["name"]: f for f in link.factors["factors"]}
    assert factors["localization"]["term"] > 0 and factors["light_curve"]["value"]
    assert link.factors["association"]["associated"] is True

    ranked = event_candidates(ev.event_id, engine=sqlite_engine)
    assert [r.name for r in ranked] == [injection.object_id] and ranked[0].rank == 1
    table = render_ranked_markdown(ev.event_id, ranked, thumbnails={})
    assert f"| 1 | {injection.object_id} |" in table
    from tooflow.views.event import load_event_view, render_markdown, render_text

    with Session(sqlite_engine) as s:
        view = load_event_view(s, ev.event_id, coverage=False)
    assert f"candidates: {injection.object_id} {link.score:.2f} (new)" in render_text(view)
    assert "### Candidates" in render_markdown(view)

    # notify above the threshold: once, however often the flow runs
    (tooflow_home / "tooflow.yaml").write_text(
        f"candidates: {{notify_threshold: {link.score - 0.01}}}\n")
    settings = load_settings()
    assert notify_candidates(ev.id, engine=sqlite_engine, settings=settings) == [
        injection.object_id]
    assert notify_candidates(ev.id, engine=sqlite_engine, settings=settings) == []
    with Session(sqlite_engine) as s:
        records = s.exec(select(NotificationRecord).where(
            NotificationRecord.reason == "candidate_found")).all()
        assert s.get(CandidateEvent, link.id).notified_at is not None
    assert records and all(injection.object_id in (r.summary or {}).get("detail", "")
                           for r in records)


def test_event_without_a_map_is_skipped(sqlite_engine):
    retraction = DATA / "lvk" / "avro" / "MS181101ab-retraction.avro"
    stored = store_notice(retraction.read_bytes(), "file", engine=sqlite_engine)
    outcome = parse_stored_notice(stored.notice_id, engine=sqlite_engine,
                                  settings=load_settings())
    result = score_event_candidates(outcome.event_pk, engine=sqlite_engine,
                                    settings=load_settings())
    assert result.skipped == "the event has no sky map" and result.considered == 0


def test_handle_candidates_flow(prefect, sqlite_engine, event):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    from tooflow.flows.candidates import handle_candidates

    ev, injection = event
    ids = [store_alert(counterpart_upload(injection), "upload", engine=sqlite_engine).alert_id,
           store_alert((DATA / "candidates" / "ztf" / "472263571115115000.avro").read_bytes(),
                       "file", engine=sqlite_engine).alert_id,
           store_alert(b"Obj\x01 truncated", "file", fmt="ztf-avro",
                       engine=sqlite_engine).alert_id]
    state = handle_candidates(ids, return_state=True)
    summary = state.result()
    assert summary["candidates"] == 2 and list(summary["rejected"]) == [ids[2]]
    scored = summary["events"][ev.event_id]
    assert scored["associated"] == 1 and scored["top"][0][0] == injection.object_id
    # the artifact this flow run made (the session's Prefect server holds other tests')
    with get_client(sync_client=True) as client:
        mine = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=[f"candidates-{ev.event_id.lower()}"]),
            flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id])))
    assert len(mine) == 1 and injection.object_id in mine[0].data


def test_circular_reports_the_candidates_marked_for_it(sqlite_engine, event):
    from tooflow.candidates.vetting import vet
    from tooflow.models import CircularDraft
    from tooflow.stages.circular import draft_circular

    ev, injection = event
    kn = ingest_alert_bytes(counterpart_upload(injection), "upload", engine=sqlite_engine)
    settings = load_settings()
    score_event_candidates(ev.id, engine=sqlite_engine, settings=settings,
                           candidate_ids=kn.candidate_ids)

    def body() -> str:
        draft_id = draft_circular(ev.id, "ZTF kilonova", engine=sqlite_engine, settings=settings)
        with Session(sqlite_engine) as s:
            return s.get(CircularDraft, draft_id).body

    flat = " ".join(body().split())
    assert "candidate" not in flat.replace("gravitational-wave candidate", "")  # none marked
    vet(injection.object_id, author="kasliwal", state="interesting", report=True,
        comment="red and fading 0.6 mag/day", engine=sqlite_engine)
    text = body()
    assert "1 candidate passed our filtering criteria and human vetting" in " ".join(text.split())
    (row,) = [line for line in text.splitlines() if line.startswith(injection.object_id[:12])]
    with Session(sqlite_engine) as s:
        cand = s.exec(select(Candidate).where(Candidate.name == injection.object_id)).one()
    assert f"{cand.ra:.4f}" in row and f"{cand.first_mag:.2f} g" in row
    assert f"{injection.object_id}: red and fading 0.6 mag/day" in text
    vet(injection.object_id, author="kasliwal", state="rejected", reason="host is a star",
        engine=sqlite_engine)
    assert injection.object_id not in body()


def test_candidates_table_with_host_galaxy():
    import datetime as dt

    from tooflow.circulars import Candidate as Row
    from tooflow.circulars import CircularContext, render_circular

    t0 = dt.datetime(2019, 4, 25, 8, 18, 5, tzinfo=dt.UTC)
    ctx = CircularContext(event_id="S190425z", kind="GW", trigger_time=t0, candidates=[
        Row("ZTF19aarykkb", 255.7189, -20.4867, discovery_time=t0 + dt.timedelta(hours=20),
            magnitude=20.1, filter="r", host="GL171637-202851", host_distance_mpc=141.0,
            notes="classified SN II at z = 0.03 (SPRAT spectrum)")])
    text = render_circular(ctx).body
    header = next(line for line in text.splitlines() if line.startswith("Name"))
    assert header.split()[-4:] == ["Host", "galaxy", "D(Mpc)", 'Sep(")']
    row = next(line for line in text.splitlines() if line.startswith("ZTF19aarykkb"))
    assert row.split()[-3:] == ["GL171637-202851", "141", "--"]
    assert "ZTF19aarykkb: classified SN II at z = 0.03 (SPRAT spectrum)" in text


def test_handle_candidates_is_red_when_an_event_cannot_be_scored(prefect, sqlite_engine, event):
    from tooflow.flows.candidates import handle_candidates

    ev, injection = event
    for path in load_settings().resolved_skymap_dir.rglob("*"):
        if path.is_file():
            path.unlink()  # the event's map is gone from the store
    ids = [store_alert(counterpart_upload(injection), "upload", engine=sqlite_engine).alert_id]
    state = handle_candidates(ids, return_state=True)
    assert state.is_failed()
    assert "scoring failed for 1 event(s)" in state.message
    assert ingest_alert_bytes(counterpart_upload(injection), "again",
                              engine=sqlite_engine).status == "parsed"  # the batch was stored


def test_circular_reads_the_host_galaxy_the_ranking_stored(sqlite_engine):
    """S190425z's real LALInference map and a real GLADE+ galaxy inside its 90% region:
    the circular's host, distance and separation come from the stored ranking's
    structured ``host``, whatever its words say."""
    import datetime as dt

    import numpy as np

    from tooflow.candidates.association import (
        CandidateInfo,
        EventLocalization,
        Photometry,
        associate,
        jd_of,
    )
    from tooflow.candidates.ranking import host_match, rank_candidates
    from tooflow.candidates.report import circular_candidates
    from tooflow.candidates.vetting import vet
    from tooflow.circulars import CircularContext, render_circular
    from tooflow.planning.galaxies import read_galaxy_catalog
    from tooflow.skymap.read import read_skymap_bytes

    t0 = dt.datetime(2019, 4, 25, 8, 18, 5, tzinfo=dt.UTC)
    moc = read_skymap_bytes((DATA / "skymaps" / "S190425z_2_LALInference.fits.gz").read_bytes())
    where = EventLocalization.from_moc(moc, t0, "S190425z")
    galaxies = read_galaxy_catalog(DATA / "planning" / "GLADE.csv")
    g = galaxies[list(galaxies["name"]).index("NGC4736")]  # credible level 0.85 of S190425z
    ra, dec = float(g["ra"]), float(g["dec"]) + 8.0 / 3600  # 8 arcsec north of its centre
    t0_jd = jd_of(t0)
    cand = CandidateInfo("ZTF19aarzzzz", ra, dec, photometry=[
        Photometry(t0_jd + d, f, m, 0.05, 21.0)
        for d, f, m in ((0.8, "ztfg", 17.9), (0.82, "ztfr", 17.7), (1.8, "ztfr", 18.4))])
    (ranked,) = rank_candidates(associate([cand], where), where, galaxies=galaxies)
    match = host_match(cand, galaxies)
    assert ranked.host.name == "NGC4736"
    assert ranked.host.offset_arcsec == pytest.approx(8.0, abs=0.01)
    stored = ranked.as_dict()
    assert stored["host"] == {"name": "NGC4736", "distance_mpc": round(match["distmpc"], 1),
                              "offset_kpc": round(match["offset_kpc"], 2),
                              "offset_arcsec": round(match["offset_arcsec"], 2)}
    for f in stored["factors"]:  # the words are for people: the circular must not read them
        f["why"] = "reworded at 999 Mpc"
    with Session(sqlite_engine) as s:
        ev = Event(event_id="S190425z", kind="GW", source="test", time=t0)
        row = Candidate(facility="ZTF", name=cand.name, ra=ra, dec=dec,
                        first_detected=t0 + dt.timedelta(days=0.8), first_mag=17.9,
                        first_filter="ztfg", n_detections=3)
        s.add_all([ev, row])
        s.commit()
        s.add(CandidateEvent(candidate_pk=row.id, event_pk=ev.id, score=ranked.score,
                             factors=stored))
        s.commit()
        event_pk = ev.id
    vet(cand.name, author="kasliwal", state="interesting", report=True, engine=sqlite_engine)
    with Session(sqlite_engine) as s:
        (reported,) = circular_candidates(s, event_pk)
    assert (reported.host, reported.host_offset_arcsec) == ("NGC4736", 8.0)
    assert reported.host_distance_mpc == round(float(g["distmpc"]), 1) != 999
    text = render_circular(CircularContext(event_id="S190425z", kind="GW", trigger_time=t0,
                                           candidates=[reported])).body
    header = next(line for line in text.splitlines() if line.startswith("Name"))
    assert header.split()[-3:] == ["galaxy", "D(Mpc)", 'Sep(")']
    line = next(line for line in text.splitlines() if line.startswith(cand.name))
    assert line.split()[-3:] == ["NGC4736", f"{np.round(g['distmpc']):.0f}", "8.0"]


def test_circular_host_of_a_link_ranked_before_the_structured_host(sqlite_engine):
    """A link stored before ``host`` existed: name and distance from the factors' values."""
    import datetime as dt

    from tooflow.candidates.report import circular_candidates
    from tooflow.candidates.vetting import vet

    t0 = dt.datetime(2019, 4, 25, 8, 18, 5, tzinfo=dt.UTC)
    old = {"score": 2.1, "rank": 1, "listed": True, "association": {}, "factors": [
        {"name": "host", "value": "NGC4736", "why": "NGC4736 at 4 Mpc, offset 0.2 kpc (8.0″)"},
        {"name": "distance", "value": 4.4, "why": "host at 4 Mpc; ..."}]}
    with Session(sqlite_engine) as s:
        ev = Event(event_id="S190425z", kind="GW", source="test", time=t0)
        row = Candidate(facility="ZTF", name="ZTF19aarzzzz", ra=192.72, dec=41.12)
        s.add_all([ev, row])
        s.commit()
        s.add(CandidateEvent(candidate_pk=row.id, event_pk=ev.id, score=2.1, factors=old))
        s.commit()
        event_pk = ev.id
    vet("ZTF19aarzzzz", author="kasliwal", state="interesting", report=True,
        engine=sqlite_engine)
    with Session(sqlite_engine) as s:
        (reported,) = circular_candidates(s, event_pk)
    assert (reported.host, reported.host_distance_mpc, reported.host_offset_arcsec) == (
        "NGC4736", 4.4, None)


def test_show_names_the_best_five_by_stored_score_and_counts_the_rest(sqlite_engine, event):
    """Eight kilonovae drawn from MS181101ab's map, ranked; one rejected in vetting.

    ``tooflow show`` (load_event_view) reads the best five in SQL by the scores the
    ranking stored and counts the others, in the order ``tooflow candidates`` prints.
    """
    from tooflow.candidates.vetting import vet
    from tooflow.views.event import CANDIDATES_SHOWN, load_event_view, render_text

    ev, _ = event
    moc = read_skymap_bytes(parse_notice(PRELIMINARY.read_bytes()).localization.skymap_bytes)
    ids, seed = [], 100
    while len(ids) < 8:
        seed += 1
        inj = draw_injection(moc, ev.time, event_id=ev.event_id, seed=seed)
        if inj.credible_level < 0.8:
            ids += ingest_alert_bytes(counterpart_upload(inj, name=f"DC26kn{seed}"), "upload",
                                      engine=sqlite_engine).candidate_ids
    result = score_event_candidates(ev.id, engine=sqlite_engine, settings=load_settings(),
                                    candidate_ids=ids)
    assert result.associated == 8
    everyone = event_candidates(ev.event_id, engine=sqlite_engine)
    vet(everyone[1].name, author="kasliwal", state="rejected", reason="a known SN",
        engine=sqlite_engine)
    ranked = event_candidates(ev.event_id, engine=sqlite_engine)
    assert [r.name for r in ranked] == [r.name for r in everyone if r.name != everyone[1].name]
    scores = [r.score for r in ranked]
    assert scores == sorted(scores, reverse=True) and [r.rank for r in ranked] == [*range(1, 8)]
    assert [r.name for r in event_candidates(ev.event_id, limit=3, engine=sqlite_engine)] == [
        r.name for r in ranked[:3]]
    with Session(sqlite_engine) as s:
        view = load_event_view(s, ev.event_id, coverage=False)
    assert [c["name"] for c in view.candidates] == [r.name for r in ranked[:CANDIDATES_SHOWN]]
    assert view.candidates_total == len(ranked) == 7
    line = next(x for x in render_text(view).splitlines() if x.startswith("candidates:"))
    assert line.startswith(f"candidates: {ranked[0].name} {ranked[0].score:.2f} (new)")
    assert f"; {7 - CANDIDATES_SHOWN} more (`tooflow candidates" in line
    assert everyone[1].name not in line
