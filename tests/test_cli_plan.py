"""``tooflow plan --skymap`` on a real map: summary, CSV/JSON, PNG, bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tooflow.cli import main

SKYMAP = Path(__file__).parent / "data" / "skymaps" / "rrt_small_area.fits"


@pytest.mark.slow  # plans a real map (~15 s)
def test_plan_cli_writes_json_csv_and_png(tmp_path, capsys):
    out_json = tmp_path / "plan.json"
    png = tmp_path / "plan.png"
    rc = main(["plan", "--skymap", str(SKYMAP), "-t", "ZTF", "-t", "Gattini",
               "--out", str(out_json), "--png", str(png), "--time-limit", "5"])
    assert rc == 0
    captured = capsys.readouterr()
    text = captured.out
    assert "ZTF" in text and "Gattini" in text and "network" in text and "gap" in text
    # progress on stderr while it works, step by step with the elapsed time
    steps = [line.split(" s] ", 1)[1] for line in captured.err.splitlines()
             if line.startswith("[") and " s] " in line]
    assert steps[0].startswith("rasterising the sky map")
    assert steps[1].startswith("nights, candidate fields and their visibility for ZTF, Gattini")
    assert any(step.startswith("solving (SCIP, time limit 5 s)") for step in steps)
    assert any(step.startswith("solver ") for step in steps)
    # the solver line says what the gap is, not only OPTIMAL
    assert "best possible plan has at most" in text
    plan = json.loads(out_json.read_text())
    assert plan["observations"] and 0 < plan["objective"] <= 1
    assert plan["start"].startswith("2023-04-27T20:10")  # the map's event time
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out_csv = tmp_path / "plan.csv"
    assert main(["plan", "--skymap", str(SKYMAP), "--start", "2023-04-28T00:00:00",
                 "--duration", "14", "--out", str(out_csv), "--greedy"]) == 0
    rows = list(csv.DictReader(out_csv.open()))
    assert rows and {r["telescope"] for r in rows} == {"ZTF"}
    assert all(r["start_time"] >= "2023-04-28" for r in rows)


@pytest.mark.slow  # plans a real map (~30 s)
def test_plan_cli_detection_objective(tmp_path, capsys):
    """--objective detection on S190814bv (267 Mpc): both numbers, long DECam exposures."""
    out_json = tmp_path / "plan.json"
    far = Path(__file__).parent / "data" / "skymaps" / "S190814bv_5_LALInference.v1.fits.gz"
    assert main(["plan", "--skymap", str(far), "-t", "DECam", "--objective", "detection",
                 "--spread", "0.5", "--time-limit", "10", "--out", str(out_json)]) == 0
    text = capsys.readouterr().out
    assert "probability covered" in text and "detection" in text and "spread σ = 0.5" in text
    plan = json.loads(out_json.read_text())
    assert plan["objective_name"] == "detection"
    assert plan["detected"] == pytest.approx(plan["objective"])
    assert max(o["exposure_time"] for o in plan["observations"]) >= 150


@pytest.mark.parametrize("argv, message", [
    (["--telescope", "Hubble"], "unknown telescope 'Hubble'"),
    (["--start", "yesterday"], "not an ISO time"),
    (["--out", "plan.txt"], ".json or .csv"),
])
def test_plan_cli_bad_input_is_one_line(argv, message, capsys):
    assert main(["plan", "--skymap", str(SKYMAP), *argv]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_plan_cli_missing_file(tmp_path, capsys):
    assert main(["plan", "--skymap", str(tmp_path / "none.fits")]) == 1
    assert "no such file" in capsys.readouterr().err


@pytest.mark.slow  # plans a real map (~15 s)
def test_plan_cli_says_why_kped_gets_nothing(tmp_path, capsys):
    """KPED with --skymap: a pointed instrument without a grid or targets gets no
    exposure, and the summary (and the JSON) say why, beside ZTF's plan."""
    out_json = tmp_path / "plan.json"
    assert main(["plan", "--skymap", str(SKYMAP), "-t", "ZTF", "-t", "KPED",
                 "--time-limit", "5", "--out", str(out_json)]) == 0
    text = capsys.readouterr().out
    kped = [line.strip() for line in text.splitlines() if line.strip().startswith("KPED")]
    assert kped[0].split()[1:3] == ["0.00", "%"] and "(0 exposures)" in kped[0]
    assert kped[1].startswith("KPED: no field grid and no targets: a pointed instrument "
                              "needs `mode: pointed`")
    plan = json.loads(out_json.read_text())
    assert plan["idle"]["KPED"].startswith("no field grid and no targets")
    assert {o["telescope"] for o in plan["observations"]} == {"ZTF"}
