"""``tooflow circular`` refuses what it cannot draft, with the reason; monitor.mode is checked."""

from __future__ import annotations

import pytest

from tooflow.cli import main
from tooflow.config import load_settings
from tooflow.intake.store import store_notice
from tooflow.stages.parse import parse_stored_notice

from .conftest import DATA


def test_unknown_event_and_event_without_plans(sqlite_engine, capsys):
    assert main(["circular", "S000000x"]) == 1
    assert "no event 'S000000x'" in capsys.readouterr().err
    payload = (DATA / "lvk" / "avro" / "MS181101ab-retraction.avro").read_bytes()
    stored = store_notice(payload, "file", engine=sqlite_engine)
    parse_stored_notice(stored.notice_id, engine=sqlite_engine, settings=load_settings())
    assert main(["circular", "MS181101ab"]) == 1
    assert "no program planned observations; nothing to draft" in capsys.readouterr().err


def test_monitor_mode_must_be_known(tooflow_home):
    from tooflow.flows.monitor import monitor_mode

    assert monitor_mode() == "inline"
    (tooflow_home / "tooflow.yaml").write_text("monitor: {mode: background}\n")
    with pytest.raises(ValueError, match="monitor.mode = 'background': "
                                         "Input should be 'inline' or 'deployment'"):
        monitor_mode()
