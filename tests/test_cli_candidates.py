"""``tooflow candidates ingest``, ``tooflow candidate``, ``tooflow vet`` on the real packets."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tooflow.cli import main

ZTF = Path(__file__).parent / "data" / "candidates" / "ztf"


def test_ingest_show_vet(sqlite_engine, tmp_path, capsys, monkeypatch):
    files = sorted(str(p) for p in ZTF.glob("*.avro"))
    assert main(["candidates", "ingest", *files]) == 0
    out = capsys.readouterr().out
    assert "ZTF18aaxjdyr: 24 new measurement(s)" in out  # 23 previous + its own
    assert "ZTF17aaacxxf: 29 new measurement(s)" in out
    assert main(["candidates", "ingest", files[0]]) == 0
    assert "(already stored)" in capsys.readouterr().out

    monkeypatch.setenv("TOOFLOW_USER", "mcoughlin")
    assert main(["vet", "ZTF17aaacxxf", "--state", "rejected", "--reason",
                 "variable star: sgscore1 0.99, 110 detections"]) == 0
    assert "ZTF17aaacxxf: rejected (vetting #1 by mcoughlin)" in capsys.readouterr().out
    assert main(["vet", "ZTF17aaacxxf", "--state", "classified"]) == 1
    assert "classifying needs a class" in capsys.readouterr().err

    assert main(["candidate", "ZTF17aaacxxf", "--png-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "ZTF17aaacxxf (ZTF)" in text and "state: rejected" in text
    assert "reason: variable star" in text and "mcoughlin" in text
    assert "> 20.41" in text  # an upper limit of the history
    for png in ("ZTF17aaacxxf-lightcurve.png", "ZTF17aaacxxf-cutouts.png"):
        with Image.open(tmp_path / png) as image:
            assert image.format == "PNG" and image.size[0] > 300


def test_bad_files_are_reported_and_recorded(sqlite_engine, tmp_path, capsys):
    truncated = tmp_path / "cut.avro"
    truncated.write_bytes((ZTF / "472263571115115000.avro").read_bytes()[:5000])
    assert main(["candidates", "ingest", str(truncated), str(tmp_path / "missing.avro")]) == 1
    captured = capsys.readouterr()
    assert "cut.avro: rejected: corrupt or truncated Avro container" in captured.out
    assert "missing.avro: cannot read" in captured.err


def test_unknown_event_and_candidate(sqlite_engine, capsys):
    assert main(["candidates", "S000000x"]) == 1
    assert "no event 'S000000x'" in capsys.readouterr().err
    assert main(["candidate", "ZTF00nothing"]) == 1
    assert "no candidate named 'ZTF00nothing'" in capsys.readouterr().err


def test_rank_an_event_and_print_the_factors(sqlite_engine, tmp_path, capsys):
    from tests.test_candidates_scoring import counterpart_upload, parsed_event_and_injection

    ev, injection = parsed_event_and_injection(sqlite_engine)
    upload = tmp_path / "decam.csv"
    upload.write_bytes(counterpart_upload(injection))
    assert main(["candidates", "ingest", str(upload), "--no-flow"]) == 0
    assert f"{injection.object_id}: 6 new measurement(s)" in capsys.readouterr().out
    assert main(["candidates", ev.event_id]) == 0
    assert "no candidates ranked (yet)" in capsys.readouterr().out
    assert main(["candidates", ev.event_id, "--rank"]) == 0
    out = capsys.readouterr().out
    assert f"  1 {injection.object_id}" in out
    assert "localization" in out and "light_curve" in out  # the factors, each with its why


def test_health_counts_unparsed_and_rejected_alerts(sqlite_engine, capsys):
    import datetime as dt

    from tooflow.candidates.store import store_alert, waiting_alerts

    packet = (ZTF / "472263571115115000.avro").read_bytes()
    stored = store_alert(packet, "kafka:ztf", engine=sqlite_engine)  # stored, not parsed
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    assert waiting_alerts(sqlite_engine, older_than=dt.timedelta(minutes=1), now=later) == [
        stored.alert_id]
    store_alert(packet[:100], "kafka:ztf", fmt="ztf-avro", engine=sqlite_engine,
                reject="truncated by the test")
    assert main(["health"]) == 0  # stored a moment ago: not yet late
    out = capsys.readouterr().out
    assert "1 candidate alert(s) rejected in the last 24 h" in out
    assert "truncated by the test" in out
    assert main(["candidates", "ingest", str(ZTF / "472263571115115000.avro")]) == 0
    assert "ZTF17aaajnnn: 12 new measurement(s) (already stored)" in capsys.readouterr().out
    assert waiting_alerts(sqlite_engine) == []
