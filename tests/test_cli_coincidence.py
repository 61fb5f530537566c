"""``tooflow coincidence``: feed real SNEWS scenarios, status, and run --check."""

from __future__ import annotations

from pathlib import Path

from tooflow.cli import main

from .conftest import snews_file

DATA = Path(__file__).parent / "data" / "snews"


def test_feed_then_status(capsys, tooflow_home):
    code = main(["coincidence", "-l", "error", "feed", str(DATA / "scenarios.json"),
                 "--scenario", "two coincidences", "--no-inject"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("accepted") == 4
    assert "ALERT #1: XENONnT, DS-20K" in out and "ALERT #1: Baksan, JUNO" in out
    # snews-data-formats' copy, by id: the same messages are duplicates of what is cached
    main(["coincidence", "-l", "error", "feed", str(DATA / "coincidence_scenarios.json"),
          "--scenario", "simple-coincidence", "--no-inject"])
    capsys.readouterr()
    assert main(["coincidence", "-l", "error", "status"]) == 0
    out = capsys.readouterr().out
    assert "SNEWS-20300101T123052 [test] active: Baksan, JUNO (1 alert(s))" in out
    assert "SNEWS-20300101T123445 [test] active: XENONnT, DS-20K (1 alert(s))" in out


def test_feed_reports_rejections(capsys, tooflow_home):
    code = main(["coincidence", "-l", "critical", "feed",
                 str(snews_file("example_heartbeat_message.json")),
                 str(snews_file("coincidence.test_alert.example.json")), "--no-inject"])
    out = capsys.readouterr().out
    assert code == 1
    assert "example_heartbeat_message.json: ignored (heartbeat DS-20K OFF)" in out
    assert "coincidence.test_alert.example.json: rejected (SNEWS message has no known tier" in out


def test_run_check_needs_a_group_id(capsys, tooflow_home):
    (tooflow_home / "tooflow.yaml").write_text(
        "coincidence:\n  url: kafka://127.0.0.1:9/snews.obs\n  auth: false\n")
    assert main(["coincidence", "run", "--check"]) == 1
    assert "set `group_id`" in capsys.readouterr().err
