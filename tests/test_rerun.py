"""Re-running an event: the notice chosen, the new flow run, ``tooflow rerun`` and the flow."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import prefect_fixtures
from tooflow.cli import main as tooflow_main
from tooflow.intake.rerun import rerun_event, rerun_notice_id
from tooflow.intake.store import store_notice
from tooflow.stages.parse import parse_stored_notice

from .conftest import listener_notice

deployment = prefect_fixtures.deployment
DATA = Path(__file__).parent / "data" / "listeners"
GBM = "Fermi-GBM-537755817"  # GRB 180116A


@pytest.fixture
def stored(sqlite_engine):
    ids = {}
    for name in ("GRB180116A_Fermi_GBM_Alert.xml", "GRB180116A_Fermi_GBM_Flt_Pos.xml",
                 "alert_247.json"):
        nid = store_notice(listener_notice(name).read_bytes(), name, engine=sqlite_engine).notice_id
        parse_stored_notice(nid, engine=sqlite_engine)
        ids[name] = nid
    return ids


def test_latest_notice_of_the_event_by_default(sqlite_engine, stored):
    assert rerun_notice_id(GBM, engine=sqlite_engine) == stored[
        "GRB180116A_Fermi_GBM_Flt_Pos.xml"]
    first = stored["GRB180116A_Fermi_GBM_Alert.xml"]
    assert rerun_notice_id(GBM, first, engine=sqlite_engine) == first


def test_wrong_event_or_notice_is_a_clear_error(sqlite_engine, stored):
    with pytest.raises(LookupError, match="no event 'S000000xx'"):
        rerun_notice_id("S000000xx", engine=sqlite_engine)
    with pytest.raises(LookupError, match="is not a notice of Fermi-GBM-537755817"):
        rerun_notice_id(GBM, stored["alert_247.json"], engine=sqlite_engine)


def test_rerun_creates_a_new_run_each_time(deployment, sqlite_engine, stored, monkeypatch,
                                           capsys):
    from prefect.settings import PREFECT_API_URL

    nid, run_a = rerun_event(GBM, engine=sqlite_engine)
    _, run_b = rerun_event(GBM, engine=sqlite_engine)
    assert run_a != run_b
    run = prefect_fixtures.flow_run(run_b)
    assert run.parameters == {"notice_id": nid} and "rerun" in run.tags

    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    assert tooflow_main(["rerun", GBM, "--notice",
                         str(stored["GRB180116A_Fermi_GBM_Alert.xml"])]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "connecting to Prefect" in captured.err
    assert out.startswith(f"{GBM}: notice #{stored['GRB180116A_Fermi_GBM_Alert.xml']} → flow run")
    assert tooflow_main(["rerun", "S000000xx"]) == 1


def test_rerun_flow_runs_handle_notice_as_a_subflow(prefect, sqlite_engine, stored):
    from tooflow.flows.rerun import rerun

    summary = rerun(GBM)
    assert summary.notice_id == stored["GRB180116A_Fermi_GBM_Flt_Pos.xml"]
    assert not summary.rejected
