"""Tests of tooflow.notify.messages on the real S230518h notices."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from tooflow.notify.messages import REASONS, EventSummary, render_messages, slack_blocks

LVK = Path(__file__).parent / "data" / "lvk" / "json"
FLOW_RUN = "http://127.0.0.1:4200/runs/flow-run/0b7a3a5e-1111-4c6e-9d7e-2f3f7c1d2e10"


def s230518h_summary(**changes) -> EventSummary:
    alert = json.loads((LVK / "S230518h-initial.json").read_text())
    event = alert["event"]
    fields = {
        "event_id": alert["superevent_id"],
        "kind": "GW",
        "time": event["time"],
        "notice_type": alert["alert_type"],
        "area_90": 666.0,
        **{f"p_{k}": v for k, v in event["classification"].items()},
    }
    summary = EventSummary.from_fields(
        fields, programs=["ZTF GW NSBH"], urgent=True, flow_run_url=FLOW_RUN
    )
    return dataclasses.replace(summary, **changes)


def test_summary_from_stored_fields():
    s = s230518h_summary()
    assert s.event_id == "S230518h" and s.notice_type == "INITIAL"
    assert s.time.isoformat() == "2023-05-18T12:59:08.167000+00:00"
    assert s.top_class == ("NSBH", pytest.approx(0.8642645059209272))
    assert s.distance is None


@pytest.mark.parametrize("reason", list(REASONS))
def test_every_message_carries_the_essentials(reason):
    m = render_messages(s230518h_summary(), reason)
    for text in (m.short, m.long):
        assert "S230518h" in text
        assert FLOW_RUN in text
        assert "2023-05-18 12:59:08 UTC" in text
    assert m.subject == f"tooflow {REASONS[reason]}: S230518h"
    assert "\n" not in m.short and len(m.short) < 320
    assert "http" not in m.speech and "S 2 3 0 5 1 8 h" in m.speech


def test_trigger_message_names_the_program_area_and_class():
    m = render_messages(s230518h_summary(distance=204.0, distance_error=57.0), "program_triggered")
    assert "triggered ZTF GW NSBH" in m.short
    assert "90% area 666 deg2" in m.short
    assert "204+/-57 Mpc" in m.short
    assert "Classification: NSBH 86%, Terrestrial 10%, BBH 4%, BNS 0%" in m.long
    assert "Programs: ZTF GW NSBH (urgent)" in m.long
    assert "triggered ZTF GW NSBH" in m.speech


def test_retraction_message():
    m = render_messages(s230518h_summary(is_retraction=True, notice_type="RETRACTION"),
                        "retraction")
    assert "RETRACTION" in m.subject
    assert "cancelling what is queued" in m.short
    assert "666" not in m.short  # the area of a retracted event is noise
    assert "was retracted" in m.speech


def test_mock_events_are_marked():
    m = render_messages(s230518h_summary(is_mock=True, event_id="MS181101ab"), "plan_submitted")
    assert m.subject.startswith("[MOCK] ")
    assert m.short.startswith("[MOCK] ")
    assert "mock event" in m.speech


def test_slack_blocks_link_the_flow_run():
    s = s230518h_summary(detail="12 ZTF exposures queued (ToO queue ztf_S230518h)")
    blocks = slack_blocks(s, render_messages(s, "plan_submitted"))
    assert [b["type"] for b in blocks] == ["header", "section", "actions"]
    assert blocks[0]["text"]["text"] == "tooflow plan submitted: S230518h"
    assert "12 ZTF exposures queued" in blocks[1]["text"]["text"]
    assert blocks[2]["elements"][0]["url"] == FLOW_RUN
    no_link = dataclasses.replace(s, flow_run_url=None)
    assert [b["type"] for b in slack_blocks(no_link, render_messages(no_link, "retraction"))] == [
        "header", "section"]


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="unknown notification reason 'hello'"):
        render_messages(s230518h_summary(), "hello")
    naive = s230518h_summary()
    naive = dataclasses.replace(naive, time=naive.time.replace(tzinfo=None))
    with pytest.raises(ValueError, match="timezone-aware"):
        render_messages(naive, "program_triggered")


def test_summary_round_trips_through_json_and_fingerprints():
    s = s230518h_summary(distance=204.0)
    again = EventSummary.from_dict(json.loads(json.dumps(s.to_dict())))
    assert again == s
    assert again.fingerprint() == s.fingerprint()
    assert dataclasses.replace(s, flow_run_url=None, detail="x").fingerprint() == s.fingerprint()
    assert dataclasses.replace(s, notice_type="UPDATE").fingerprint() != s.fingerprint()
    assert dataclasses.replace(s, area90=700.0).fingerprint() != s.fingerprint()
