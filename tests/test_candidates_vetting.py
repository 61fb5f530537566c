"""Vetting (tooflow/candidates/vetting.py): a full history, follow-up through the adapters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tooflow.candidates.store import ingest_alert_bytes
from tooflow.candidates.vetting import VettingError, history, vet
from tooflow.config import load_settings
from tooflow.models import Candidate, CandidateFollowup, FacilityTransaction
from tooflow.simulator import free_port
from tooflow.simulator.server import SimulatorServer

ZTF_33 = Path(__file__).parent / "data" / "candidates" / "ztf" / "472263571115115000.avro"
NAME = "ZTF17aaajnnn"
NIGHT = dt.datetime(2018, 4, 19, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def candidate(engine):
    out = ingest_alert_bytes(ZTF_33.read_bytes(), "test", engine=engine)
    assert out.status == "parsed"
    return out.candidate_ids[0]


@pytest.fixture
def sqlite_candidate(sqlite_engine):
    """The same on SQLite only (the follow-up tests exercise the queue, not the backend)."""
    out = ingest_alert_bytes(ZTF_33.read_bytes(), "test", engine=sqlite_engine)
    return out.candidate_ids[0]


def configure(tmp_path, monkeypatch, url: str, extra: str = "") -> None:
    config = tmp_path / "tooflow.yaml"
    config.write_text(f"facilities:\n  simulator:\n    url: {url}\n{extra}")
    monkeypatch.setenv("TOOFLOW_CONFIG", str(config))


def test_states_and_history(engine, candidate):
    t0 = dt.datetime(2018, 4, 19, 5, 0, tzinfo=dt.UTC)
    vet(NAME, author="mcoughlin", state="interesting", comment="rising 0.3 mag/day in r",
        engine=engine, now=t0)
    vet(NAME, author="kasliwal", comment="no host in PS1 within 30\"", engine=engine,
        now=t0 + dt.timedelta(minutes=5))
    vet(NAME, author="anand", state="rejected", reason="stellar: sgscore1 0.99",
        engine=engine, now=t0 + dt.timedelta(minutes=9))
    done = vet(NAME, author="kasliwal", state="classified", classification="SN Ia",
               redshift=0.052, reference="SEDM spectrum, TNS AT2018abc", report=True,
               engine=engine, now=t0 + dt.timedelta(hours=2))
    assert done.state == "classified"
    rows = history(NAME, engine=engine)
    assert [(r.author, r.state) for r in rows] == [
        ("mcoughlin", "interesting"), ("kasliwal", "interesting"), ("anand", "rejected"),
        ("kasliwal", "classified")]
    assert rows[0].comment == "rising 0.3 mag/day in r" and rows[0].created == t0
    assert rows[2].reason == "stellar: sgscore1 0.99"  # kept: nothing overwritten
    assert (rows[3].classification, rows[3].redshift, rows[3].report) == ("SN Ia", 0.052, True)
    with Session(engine) as s:
        cand = s.get(Candidate, candidate)
    assert (cand.state, cand.classification, cand.redshift, cand.report) == (
        "classified", "SN Ia", 0.052, True)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"state": "rejected"}, "rejecting needs a reason"),
    ({"state": "classified"}, "classifying needs a class"),
    ({"state": "new"}, "cannot go back to 'new'"),
    ({"state": "promising"}, "unknown state 'promising'"),
    ({}, "nothing to record"),
    ({"state": "interesting", "author": " "}, "author is required"),
    ({"state": "interesting", "event_id": "S999999zz"}, "no event 'S999999zz'"),
    ({"followup": ["Keck"]}, r"no follow-up facility \['Keck'\] configured"),
])
def test_refused_actions_record_nothing(engine, candidate, kwargs, message):
    kwargs = {"author": "mcoughlin", **kwargs}
    with pytest.raises(VettingError, match=message):
        vet(NAME, engine=engine, **kwargs)
    assert history(NAME, engine=engine) == []


def test_unknown_candidate(engine, candidate):
    with pytest.raises(VettingError, match="no candidate named 'ZTF99zzzzzzz'"):
        vet("ZTF99zzzzzzz", author="x", state="interesting", engine=engine)
    # names are matched without regard to case
    assert vet(NAME.lower(), author="x", state="interesting", engine=engine).name == NAME


def test_followup_through_the_simulator_once(sqlite_engine, sqlite_candidate, tmp_path,
                                             monkeypatch):
    engine = sqlite_engine
    with SimulatorServer(port=free_port(), speedup=1, weather_loss=0.0, start=NIGHT) as server:
        configure(tmp_path, monkeypatch, server.url)
        settings = load_settings()
        first = vet(NAME, author="mcoughlin", followup=["KPED"], comment="colour?",
                    engine=engine, settings=settings, now=NIGHT)
        assert first.state == "follow-up requested"
        (fu,) = first.followups
        assert fu.created and fu.status == "queued" and fu.error is None
        assert fu.request_key == f"KPED:{NAME}:r:1"
        (state,) = server.simulator.status([fu.request_key])
        assert state["status"] in ("queued", "executing")  # KPED can see it at once
        # the same request again (another click, a re-run): not sent twice
        again = vet(NAME, author="kasliwal", followup=["KPED"], engine=engine,
                    settings=settings, now=NIGHT + dt.timedelta(minutes=3))
        assert not again.followups[0].created and again.followups[0].status == "queued"
    with Session(engine) as s:
        rows = s.exec(select(CandidateFollowup)).all()
        posts = s.exec(select(FacilityTransaction).where(
            FacilityTransaction.method == "POST")).all()
    assert len(rows) == 1 and rows[0].queue_id
    assert len(posts) == 1
    assert len(history(NAME, engine=engine)) == 2


def test_followup_to_a_closed_queue_is_kept_unsent_and_sent_later(sqlite_engine,
                                                                   sqlite_candidate, tmp_path,
                                                                   monkeypatch):
    engine = sqlite_engine
    port = free_port()
    configure(tmp_path, monkeypatch, f"http://127.0.0.1:{port}",
              "candidates:\n  followup:\n    GROWTH-India: {filter: i, exposure_time: 600}\n")
    settings = load_settings()
    down = vet(NAME, author="anand", followup=["GROWTH-India"], engine=engine,
               settings=settings, now=NIGHT)
    (fu,) = down.followups
    assert fu.status == "unsent" and fu.error and fu.request_key == f"GROWTH-India:{NAME}:i:1"
    with SimulatorServer(port=port, speedup=1, weather_loss=0.0, start=NIGHT):
        up = vet(NAME, author="anand", followup=["GROWTH-India"], engine=engine,
                 settings=settings, now=NIGHT)
    (fu2,) = up.followups
    assert fu2.followup_id == fu.followup_id and fu2.error is None
    assert fu2.status in ("queued", "executing")


def test_spectrograph_is_a_configured_facility(sqlite_engine, sqlite_candidate, tmp_path,
                                               monkeypatch):
    """SEDM (Palomar 60-inch) is no registered adapter: its site comes from `facilities`."""
    with SimulatorServer(port=free_port(), speedup=1, weather_loss=0.0, start=NIGHT) as server:
        configure(tmp_path, monkeypatch, server.url,
                  "  SEDM:\n    site: {name: Palomar, lat: 33.3563, lon: -116.8650, "
                  "elevation: 1712}\n"
                  "candidates:\n  followup:\n    SEDM: {kind: spectroscopy, "
                  "exposure_time: 1800}\n")
        result = vet(NAME, author="kasliwal", followup=["SEDM"], event_id=None,
                     comment="spectrum to classify", engine=sqlite_engine,
                     settings=load_settings(), now=NIGHT)
    (fu,) = result.followups
    assert fu.error is None and fu.status in ("queued", "executing")
    assert fu.request_key == f"SEDM:{NAME}:spec:1"
    with Session(sqlite_engine) as s:
        (row,) = s.exec(select(CandidateFollowup)).all()
    assert (row.kind, row.facility) == ("spectroscopy", "SEDM")
