"""Hostile inputs: real notices from tests/data, mutated here, each a recorded rejection.

Every case is a reproduction from issue 10 ("crashes that leave no reason",
"silently wrong"); the payloads are generated in the test, never stored.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os

import pytest
from sqlmodel import Session, select

from tooflow.config import load_settings
from tooflow.intake.store import store_notice
from tooflow.models import Event, Notice
from tooflow.stages.gate import gate_notice
from tooflow.stages.parse import parse_stored_notice

from .conftest import DATA

FERMI = DATA / "gcn" / "Fermi_GBM_Flt_Pos_2022-07-31T16_32_57.36_680977982_45-172.xml"
EP = DATA / "gcn" / "json" / "einstein_probe" / "alert_247.json"
LVK_AVRO = DATA / "lvk" / "avro" / "MS181101ab-preliminary.avro"
LVK_JSON = DATA / "lvk" / "json" / "S230518h-initial.json"


def _fermi(**replace: str) -> bytes:
    """The real Fermi GBM flight-position VOEvent with tags' contents replaced."""
    text = FERMI.read_text()
    real = {"ISOTime": "2022-07-31T16:32:57.36", "C1": "220.8667", "C2": "68.5833",
            "Error2Radius": "16.8500"}
    for tag, value in replace.items():
        old = f"<{tag}>{real[tag]}</{tag}>"
        assert old in text
        text = text.replace(old, f"<{tag}>{value}</{tag}>")
    return text.encode()


def _ep(**fields) -> bytes:
    """The real Einstein Probe WXT alert with fields replaced (non-strict JSON allowed)."""
    obj = json.loads(EP.read_text())
    obj.update(fields)
    return json.dumps(obj).encode()  # json.dumps writes NaN/Infinity, as careless senders do


def _parse(engine, payload: bytes):
    stored = store_notice(payload, "test:hostile", engine=engine)
    return parse_stored_notice(stored.notice_id, engine=engine, settings=load_settings())


def _rejected_with(engine, payload: bytes, *words: str) -> str:
    out = _parse(engine, payload)
    assert out.rejected, f"accepted: {out.summary}"
    for word in words:
        assert word in out.reason
    with Session(engine) as s:
        notice = s.get(Notice, out.notice_id)
        assert notice.status == "rejected" and notice.rejection_reason == out.reason
    return out.reason


# --- times out of range -----------------------------------------------------------

@pytest.mark.parametrize("iso_time, words", [
    ("9999-12-31T23:59:59.99", ["event time", "9999", "after the notice was received"]),
    ("9999-12-31T23:59:59.99-01:00", ["ISOTime", "out of the representable range"]),
    ("0001-01-01T00:00:00+01:00", ["ISOTime", "out of the representable range"]),
    ("1900-01-01T00:00:00", ["event time", "1900", "not a plausible event time"]),
])
def test_fermi_time_out_of_range_is_a_rejection(sqlite_engine, iso_time, words):
    _rejected_with(sqlite_engine, _fermi(ISOTime=iso_time), *words)


def test_einstein_probe_trigger_time_in_9999_is_a_rejection(sqlite_engine):
    _rejected_with(sqlite_engine, _ep(trigger_time="9999-06-01T00:00:00Z"), "9999")


def test_event_time_an_hour_after_receipt_is_refused_a_minute_is_not(sqlite_engine):
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    late = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
    assert not _parse(sqlite_engine, _ep(trigger_time=soon.isoformat())).rejected
    _rejected_with(sqlite_engine, _ep(trigger_time=late.isoformat(), id=["2"]),
                   "after the notice was received")


# --- positions --------------------------------------------------------------------

@pytest.mark.parametrize("replace, words", [
    ({"C1": "400"}, ["C1 (RA) = 400", "[0, 360]"]),
    ({"C1": "400", "C2": "-100"}, ["C1 (RA) = 400"]),
    ({"C2": "-100"}, ["C2 (Dec) = -100", "[-90, 90]"]),
    ({"C1": "NaN", "Error2Radius": "inf"}, ["C1 (RA)", "not a finite number"]),
    ({"Error2Radius": "inf"}, ["Error2Radius", "not a finite number"]),
])
def test_voevent_position_out_of_range_is_a_rejection_naming_the_field(sqlite_engine, replace,
                                                                         words):
    _rejected_with(sqlite_engine, _fermi(**replace), *words)


@pytest.mark.parametrize("fields, words", [
    ({"ra": 400.0}, ["ra = 400", "[0, 360]"]),
    ({"dec": -100.0}, ["dec = -100", "[-90, 90]"]),
    ({"ra": "east"}, ["ra", "'east'"]),
])
def test_json_position_out_of_range_is_a_rejection_naming_the_field(sqlite_engine, fields,
                                                                      words):
    _rejected_with(sqlite_engine, _ep(**fields), *words)


def test_placeholder_positions_still_mean_no_position(sqlite_engine):
    # A radius of 0 is GCN's "no position" (the real GBM alert sends 0, 0, 0): not an error.
    out = _parse(sqlite_engine, _fermi(Error2Radius="0.0000"))
    assert not out.rejected and "localization_state" not in out.summary


# --- NaN / Infinity ---------------------------------------------------------------

@pytest.mark.parametrize("fields, word", [
    ({"ra": float("nan")}, "NaN"),
    ({"net_count_rate": float("inf")}, "Infinity"),
    ({"image_snr": float("-inf")}, "-Infinity"),
])
def test_nan_and_infinity_in_json_are_a_rejection_on_both_databases(engine, fields, word):
    _rejected_with(engine, _ep(**fields), word, "not a JSON value")
    with Session(engine) as s:
        assert s.exec(select(Event)).first() is None


def _lvk_avro(**event_fields) -> bytes:
    import fastavro

    reader = fastavro.reader(io.BytesIO(LVK_AVRO.read_bytes()))
    schema = reader.writer_schema
    records = list(reader)
    records[0]["event"].update(event_fields)
    out = io.BytesIO()
    fastavro.writer(out, schema, records)
    return out.getvalue()


def test_nan_far_in_avro_is_a_rejection_on_both_databases(engine):
    reason = _rejected_with(engine, _lvk_avro(far=float("nan")), "far", "not a finite")
    assert "NaN" in reason


# --- nesting ----------------------------------------------------------------------

def test_json_nested_a_million_deep_is_a_rejection(sqlite_engine):
    _rejected_with(sqlite_engine, b"[" * 10**6 + b"]" * 10**6, "nested deeper")


def test_json_nested_1e5_deep_inside_a_real_notice_is_a_rejection(sqlite_engine):
    deep = json.loads(EP.read_text())
    deep["additional_info"] = "@DEEP@"
    payload = json.dumps(deep).replace('"@DEEP@"', "[" * 10**5 + "]" * 10**5).encode()
    _rejected_with(sqlite_engine, payload, "nested deeper")


def test_lvk_json_nested_100_deep_is_a_rejection(sqlite_engine):
    obj = json.loads(LVK_JSON.read_text())
    nest: object = 1
    for _ in range(100):
        nest = {"x": nest}
    obj["event"]["properties"] = nest
    _rejected_with(sqlite_engine, json.dumps(obj).encode(), "nested deeper than 64")


# --- file names -------------------------------------------------------------------

def test_file_name_that_is_not_utf8_is_stored_and_printed_escaped(sqlite_engine, tmp_path):
    from tooflow.cli.ingest import ingest_files

    name = os.fsdecode(b"ep\xff\xfe-alert.json")
    path = tmp_path / name
    path.write_bytes(EP.read_bytes())
    printed: list[str] = []
    [out] = ingest_files([path], run_flow=False, echo=printed.append)
    assert out["created"]
    "\n".join(printed).encode("utf-8")  # printable: no lone surrogates
    with Session(sqlite_engine) as s:
        notice = s.get(Notice, out["notice_id"])
        assert notice.source.endswith("ep\\xff\\xfe-alert.json")
        assert bytes(notice.payload) == EP.read_bytes()


# --- a valid notice still passes --------------------------------------------------

def test_the_real_notices_still_pass_and_gate(sqlite_engine):
    for path in (FERMI, EP, LVK_AVRO):
        out = _parse(sqlite_engine, path.read_bytes())
        assert not out.rejected, out.reason
        gate_notice(out.notice_id, engine=sqlite_engine)


# --- the safety net: any stage's exception is a recorded, visible failure ----------

def _flow_state(flow_run_id) -> str:
    import asyncio

    from prefect.client.orchestration import get_client

    async def read():
        async with get_client() as client:
            return (await client.read_flow_run(flow_run_id)).state.type.value

    return asyncio.run(read())


def test_a_stage_that_crashes_fails_the_run_and_says_why_everywhere(prefect, sqlite_engine,
                                                                      tmp_path, monkeypatch,
                                                                      capsys):
    from tooflow.cli import main as tooflow_main
    from tooflow.flows.handle_notice import handle_notice

    # A real operator error: the programs file is not a list of programs.
    bad = tmp_path / "programs.yaml"
    bad.write_text("programs: {GRB afterglow: oops}\n")
    monkeypatch.setenv("TOOFLOW_PROGRAMS_FILE", str(bad))
    stored = store_notice(FERMI.read_bytes(), str(FERMI), engine=sqlite_engine)
    state = handle_notice(stored.notice_id, return_state=True)
    assert state.is_failed()
    with Session(sqlite_engine) as s:
        notice = s.get(Notice, stored.notice_id)
        event = s.get(Event, notice.event_pk)
    assert notice.status == "failed"
    assert notice.error.startswith("gate failed: ValueError: ")
    assert "expected a list under 'programs'" in notice.error
    assert event.last_error == f"notice #{notice.id}: {notice.error}"

    capsys.readouterr()
    # The bad programs file stops the commands that run flows at start, but not the
    # ones the person on duty reads to find out what went wrong.
    assert tooflow_main(["ingest", str(FERMI)]) == 1
    assert "expected a list under 'programs'" in capsys.readouterr().err
    assert tooflow_main(["show", "Fermi-GBM-680977982"]) == 0
    out = capsys.readouterr()
    assert "LAST ERROR" in out.out and "FAILED: gate failed: ValueError" in out.out
    assert "warning" in out.err and "expected a list under 'programs'" in out.err
    assert tooflow_main(["health"]) == 1
    health = capsys.readouterr().out
    assert "1 notice(s) failed" in health and f"#{notice.id}" in health
    assert "programs: FAILED:" in health and "expected a list under 'programs'" in health

    # `tooflow ingest` says so and goes on with the next file.
    from tooflow.cli.ingest import ingest_files

    printed: list[str] = []
    [out] = ingest_files([EP], echo=printed.append)
    assert out["summary"].failed and out["summary"].reason.startswith("gate failed")
    assert any(line.startswith("  FAILED: gate failed: ValueError") for line in printed)

    # Fixed, run again: the failure is history.
    monkeypatch.delenv("TOOFLOW_PROGRAMS_FILE")
    assert not handle_notice(stored.notice_id).rejected
    with Session(sqlite_engine) as s:
        notice = s.get(Notice, stored.notice_id)
        assert notice.status == "done" and notice.error is None
        assert s.get(Event, notice.event_pk).last_error is None


# --- sky maps that are not probability maps ------------------------------------------

def _lvk_avro_with_map(transform) -> bytes:
    """The real MS181101ab preliminary with its embedded multi-order map transformed."""
    import fastavro
    from astropy.io import fits
    from astropy.table import Table

    reader = fastavro.reader(io.BytesIO(LVK_AVRO.read_bytes()))
    schema, records = reader.writer_schema, list(reader)
    with fits.open(io.BytesIO(records[0]["event"]["skymap"])) as hdus:
        table = Table(hdus[1].data)
        transform(table)
        hdus[1] = fits.BinTableHDU(table, header=hdus[1].header)
        buf = io.BytesIO()
        hdus.writeto(buf)
    records[0]["event"]["skymap"] = buf.getvalue()
    out = io.BytesIO()
    fastavro.writer(out, schema, records)
    return out.getvalue()


def _scale(factor):
    def transform(table):
        table["PROBDENSITY"] = table["PROBDENSITY"] * factor
    return transform


def test_sky_map_summing_to_a_million_is_renormalised_with_a_recorded_warning(sqlite_engine,
                                                                               capsys):
    import numpy as np
    from ligo.skymap.io.fits import read_sky_map

    from tooflow.cli import main as tooflow_main
    from tooflow.models import Localization
    from tooflow.skymap import SkymapStore

    real = _parse(sqlite_engine, LVK_AVRO.read_bytes())
    with Session(sqlite_engine) as s:  # a second database's worth: compare with the real map
        good = s.get(Localization, real.localization_id)
        s.delete(good)
        s.delete(s.get(Notice, real.notice_id))
        s.commit()
    out = _parse(sqlite_engine, _lvk_avro_with_map(_scale(1e6)))
    assert not out.rejected
    with Session(sqlite_engine) as s:
        loc = s.get(Localization, out.localization_id)
    assert loc.warning == "sky map probabilities summed to 1e+06, not 1: renormalised"
    assert loc.area_90 == pytest.approx(good.area_90, rel=1e-6)
    stored = read_sky_map(str(SkymapStore(load_settings().resolved_skymap_dir)
                              .path(loc.skymap_sha256)), moc=True)
    from astropy_healpix import uniq_to_level_ipix

    level, _ = uniq_to_level_ipix(stored["UNIQ"])
    total = float(np.sum(stored["PROBDENSITY"] * 4 * np.pi / (12 * 4.0 ** level)))
    assert total == pytest.approx(1.0, rel=1e-9)
    assert out.summary["localization_warning"] == loc.warning
    capsys.readouterr()
    tooflow_main(["show", "MS181101ab"])
    assert "localization WARNING: sky map probabilities summed to 1e+06" in \
        capsys.readouterr().out


def test_sky_map_within_tolerance_is_used_as_it_is(sqlite_engine):
    from tooflow.models import Localization

    out = _parse(sqlite_engine, _lvk_avro_with_map(_scale(1.0005)))
    with Session(sqlite_engine) as s:
        assert s.get(Localization, out.localization_id).warning is None


@pytest.mark.parametrize("transform, words", [
    (lambda t: t["PROBDENSITY"].__setitem__(0, -1.0), "negative, NaN or infinite"),
    (lambda t: t["PROBDENSITY"].__setitem__(3, float("nan")), "negative, NaN or infinite"),
    (_scale(0.0), "zero total probability"),
    (lambda t: t.insert_row(0, t[0]), "duplicate or overlapping UNIQ"),
])
def test_sky_map_that_is_no_probability_map_is_a_rejection(sqlite_engine, transform, words):
    _rejected_with(sqlite_engine, _lvk_avro_with_map(transform), words)


def test_flat_sky_map_summing_to_a_million_is_renormalised(sqlite_engine):
    import astropy_healpix as ah
    import numpy as np
    from astropy.table import Table

    from tooflow.skymap.read import WARNING_KEY, read_skymap_bytes

    nside = 64
    prob = np.zeros(ah.nside_to_npix(nside))
    prob[:100] = 1e4  # sums to 1e6
    flat = Table([prob], names=["PROB"])
    flat.meta.update(ORDERING="NESTED", NSIDE=nside, INDXSCHM="IMPLICIT", PIXTYPE="HEALPIX")
    buf = io.BytesIO()
    flat.write(buf, format="fits")
    moc = read_skymap_bytes(buf.getvalue())
    assert moc.meta[WARNING_KEY].startswith("sky map probabilities summed to 1e+06")


# --- order and concurrency ---------------------------------------------------------

LVK_UPDATE = DATA / "lvk" / "avro" / "MS181101ab-ext-update.avro"
GBM_FLT = DATA / "listeners" / "GRB180116A_Fermi_GBM_Flt_Pos.xml"
GBM_GND = DATA / "listeners" / "GRB180116A_Fermi_GBM_Gnd_Pos.xml"


def test_stale_preliminary_after_update_does_not_replace_it(engine):
    from tooflow.intake.rerun import rerun_notice_id
    from tooflow.models import Localization

    update = _parse(engine, LVK_UPDATE.read_bytes())
    stale = _parse(engine, LVK_AVRO.read_bytes())  # arrives second, issued 96 s earlier
    assert not update.rejected
    assert stale.rejected and stale.superseded
    assert stale.reason.startswith(f"superseded by notice #{update.notice_id} (UPDATE")
    with Session(engine) as s:
        event = s.get(Event, update.event_pk)
        assert event.latest_notice_type == "UPDATE"
        assert event.latest_notice_id == update.notice_id
        notice = s.get(Notice, stale.notice_id)
        assert notice.status == "superseded" and notice.event_pk == event.id
        # Its map is not recorded: planning reads the UPDATE's.
        locs = s.exec(select(Localization).where(Localization.event_pk == event.id)).all()
        assert [loc.notice_id for loc in locs] == [update.notice_id]
    # `tooflow rerun MS181101ab` runs the notice the event reads, not the last to arrive.
    assert rerun_notice_id("MS181101ab", engine=engine) == update.notice_id


def test_notices_in_order_each_apply(sqlite_engine):
    first = _parse(sqlite_engine, LVK_AVRO.read_bytes())
    second = _parse(sqlite_engine, LVK_UPDATE.read_bytes())
    assert not first.rejected and not second.rejected
    with Session(sqlite_engine) as s:
        assert s.get(Event, second.event_pk).latest_notice_type == "UPDATE"


def test_one_flow_per_event_at_a_time_and_the_later_notice_wins(prefect, sqlite_engine):
    import threading
    import time

    from tooflow.flows.event_lock import event_lock
    from tooflow.flows.handle_notice import handle_notice

    from .waiting import HANG, wait_for

    def status(notice_id):
        with Session(sqlite_engine) as s:
            return s.get(Notice, notice_id).status

    earlier = store_notice(GBM_FLT.read_bytes(), "kafka:gcn", engine=sqlite_engine).notice_id
    later = store_notice(GBM_GND.read_bytes(), "kafka:gcn", engine=sqlite_engine).notice_id
    results: dict[int, object] = {}

    def run(notice_id):
        results[notice_id] = handle_notice(notice_id, return_state=True)

    threads = [threading.Thread(target=run, args=(n,)) for n in (earlier, later)]
    with event_lock("Fermi-GBM-537755817"):  # another run holds the event
        for t in threads:
            t.start()
        # Whichever parses first, the earlier notice never goes further than parsed
        # (superseded at once if the later one was parsed before it).
        wait_for(lambda: status(later) == "parsed"
                 and status(earlier) in ("parsed", "superseded"), "both parsed")
        time.sleep(2.0)  # on a busy machine they would be later still: never a false pass
        assert status(later) == "parsed"  # waiting for the event: not gated
        assert status(earlier) in ("parsed", "superseded")
    for t in threads:
        t.join(timeout=HANG)
    assert all(results[n].is_completed() for n in (earlier, later))
    assert status(earlier) == "superseded" and status(later) == "done"
    with Session(sqlite_engine) as s:
        reason = s.get(Notice, earlier).rejection_reason
    assert reason.startswith(f"superseded by notice #{later} (FERMI_GBM_GND_POS")
    with Session(sqlite_engine) as s:
        event = s.get(Event, s.get(Notice, later).event_pk)
        assert event.latest_notice_type == "FERMI_GBM_GND_POS"


# --- secrets ------------------------------------------------------------------------

def test_log_records_are_redacted_once_installed(caplog):
    import logging

    from tooflow.guards.text import install_log_redaction

    install_log_redaction()
    with caplog.at_level(logging.INFO):
        logging.getLogger("tooflow.test").warning(
            "facility said: %s", "Authorization: Bearer abc.DEF-123 and password=hunter2")
    assert "abc.DEF-123" not in caplog.text and "hunter2" not in caplog.text
    assert "Bearer [redacted]" in caplog.text


def test_health_lists_a_run_that_died_without_a_word(sqlite_engine, capsys):
    from tooflow.cli import main as tooflow_main

    stored = store_notice(FERMI.read_bytes(), "kafka:gcn", engine=sqlite_engine)
    with Session(sqlite_engine) as s:  # its worker was killed 5 h ago, mid-run
        notice = s.get(Notice, stored.notice_id)
        notice.status = "triggered"
        notice.triggered_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
        s.add(notice)
        s.commit()
    capsys.readouterr()
    assert tooflow_main(["health"]) == 1
    out = capsys.readouterr().out
    assert "0 notice(s) waiting for a flow run" in out
    assert "1 notice(s) whose flow run started but never finished" in out
    assert f"#{stored.notice_id} (triggered)" in out


def test_a_failure_outside_any_notice_is_noted_on_its_event(sqlite_engine):
    # A monitor-event deployment run has an event, not a notice, of its own.
    from tooflow.runs.failures import record_event_failure

    out = _parse(sqlite_engine, FERMI.read_bytes())
    reason = record_event_failure(out.event_pk, "monitor", ConnectionError(
        "ZTF said: 401 {'Authorization': 'Bearer abc.def.ghi'}"), engine=sqlite_engine)
    assert reason == ("monitor failed: ConnectionError: ZTF said: 401 "
                      "{'Authorization': 'Bearer [redacted]'}")
    with Session(sqlite_engine) as s:
        assert s.get(Event, out.event_pk).last_error == reason


def test_an_earlier_monitor_hands_over_once_a_later_notice_has_submitted(sqlite_engine):
    from tooflow.models import Plan
    from tooflow.records.event import monitor_handed_over

    first = _parse(sqlite_engine, LVK_AVRO.read_bytes())
    assert monitor_handed_over(first.event_pk, first.notice_id, engine=sqlite_engine) is None
    update = _parse(sqlite_engine, LVK_UPDATE.read_bytes())
    # The update is parsed but has not re-planned yet: the first monitor goes on.
    assert monitor_handed_over(first.event_pk, first.notice_id, engine=sqlite_engine) is None
    now = dt.datetime.now(dt.UTC)
    with Session(sqlite_engine) as s:
        plan = Plan(event_pk=update.event_pk, notice_id=update.notice_id,
                    program="GW kilonova search", start=now, end=now + dt.timedelta(hours=8),
                    objective=0.4)
        s.add(plan)
        s.commit()
        assert monitor_handed_over(first.event_pk, first.notice_id,
                                   engine=sqlite_engine) is None  # planned, not submitted
        plan.status = "submitted"
        s.add(plan)
        s.commit()
    assert monitor_handed_over(first.event_pk, first.notice_id,
                               engine=sqlite_engine) == update.notice_id
    assert monitor_handed_over(first.event_pk, update.notice_id, engine=sqlite_engine) is None
