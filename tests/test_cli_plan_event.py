"""``tooflow plan EVENT_ID``: plan a stored event's map as a program would."""

from __future__ import annotations

import json

from tooflow.cli import main
from tooflow.config import load_settings
from tooflow.intake.store import store_notice
from tooflow.stages.parse import parse_stored_notice

from .conftest import DATA


def test_plan_a_stored_event(sqlite_engine, tmp_path, capsys):
    payload = (DATA / "lvk" / "avro" / "MS181101ab-preliminary.avro").read_bytes()
    stored = store_notice(payload, "file", engine=sqlite_engine)
    parse_stored_notice(stored.notice_id, engine=sqlite_engine, settings=load_settings())
    out = tmp_path / "plan.json"
    # five months after the merger: the program's detection objective finds the kilonova
    # long faded, so coverage is asked for explicitly to test the program's strategy
    status = main(["plan", "MS181101ab", "--program", "GW kilonova search", "-t", "ZTF",
                   "--start", "2019-04-01T04:00", "--duration", "10", "--out", str(out),
                   "--objective", "coverage"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "MS181101ab (GW" in printed and "program GW kilonova search" in printed
    plan = json.loads(out.read_text())
    assert plan["telescopes"] == ["ZTF"]
    assert plan["objective"] > 0.3
    # The program's ZTF strategy: g then r visits of each field.
    assert {o["filter"] for o in plan["observations"]} == {"g", "r"}


def test_event_or_skymap_not_both(sqlite_engine, capsys):
    assert main(["plan"]) == 1
    assert "give either EVENT_ID or --skymap FILE" in capsys.readouterr().err
    assert main(["plan", "S000000x"]) == 1
    assert "no event 'S000000x'" in capsys.readouterr().err
