"""tooflow.notify.dispatch end to end: real slack-sdk, Twilio SDK and smtplib talking to
loopback servers; who is on duty; urgent calls; failures recorded; no secret in logs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import logging
import socket

import pytest
import yaml

from tests.notify_loopback import RecordingHTTPServer, SMTPSink
from tests.test_notify_messages import FLOW_RUN, s230518h_summary
from tests.test_notify_roster import ROSTER_YAML
from tooflow.notify import NotifyConfig, load_roster, notify, should_notify

SLACK_TOKEN = "xoxb-secret-slack-token-0001"
TWILIO_SID = "AC" + "1234abcd" * 4
TWILIO_TOKEN = "secret-twilio-auth-token-0002"
SMTP_PASSWORD = "secret-smtp-password-0003"
SECRETS = {
    "TOOFLOW_SLACK_TOKEN": SLACK_TOKEN,
    "TOOFLOW_TWILIO_ACCOUNT_SID": TWILIO_SID,
    "TOOFLOW_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
    "TOOFLOW_SMTP_PASSWORD": SMTP_PASSWORD,
}
#: S230518h's time: Alice (LA, overnight), Bob (Berlin, day) and Dana (always) are on duty.
NOW = dt.datetime(2023, 5, 18, 13, 1, tzinfo=dt.UTC)


@pytest.fixture
def roster():
    return load_roster(yaml.safe_load(ROSTER_YAML)["roster"])


@pytest.fixture
def services():
    with RecordingHTTPServer() as http, SMTPSink(password=SMTP_PASSWORD) as smtp:
        config = NotifyConfig.from_mapping(
            {
                "slack": {"channel": "#too-alerts", "base_url": http.url + "/api/"},
                "twilio": {"from_number": "+15005550006", "base_url": http.url},
                "email": {"host": "127.0.0.1", "port": smtp.port,
                          "sender": "tooflow@example.org", "username": "tooflow"},
                "timeout": 5,
            }
        )
        yield http, smtp, config


def table(deliveries):
    return [(d.channel, d.recipient, d.ok, d.skipped) for d in deliveries]


def test_urgent_trigger_reaches_everyone_on_duty(roster, services):
    http, smtp, config = services
    deliveries = notify(s230518h_summary(), "program_triggered", roster, config, now=NOW,
                        environ=SECRETS)
    assert table(deliveries) == [
        ("slack", "#too-alerts", True, False),
        ("slack", "Alice", True, False),
        ("sms", "Alice", True, False),
        ("call", "Alice", True, False),
        ("email", "Bob", True, False),
        ("email", "Dana", True, False),
    ]
    assert all(d.reason == "program_triggered" for d in deliveries)
    posts = http.to("/chat.postMessage")
    assert [p.json()["channel"] for p in posts] == ["#too-alerts", "U012ABCDEF"]
    for post in posts:
        assert "S230518h" in post.json()["text"] and FLOW_RUN in post.json()["text"]
    [sms] = http.to("/Messages.json")
    assert sms.form()["To"] == "+15555550100" and "S230518h" in sms.form()["Body"]
    assert FLOW_RUN in sms.form()["Body"]
    [call] = http.to("/Calls.json")
    assert "<Say>" in call.form()["Twiml"] and "S 2 3 0 5 1 8 h" in call.form()["Twiml"]
    assert [m.rcpt_to for m in smtp.messages] == [["bob@example.org"], ["dana@example.org"]]
    mail = email.message_from_bytes(smtp.messages[0].data, policy=email.policy.default)
    assert mail["Subject"] == "tooflow program triggered: S230518h"
    assert FLOW_RUN in mail.get_content()
    assert deliveries[1].detail.startswith("1700000000.")  # Slack's ts
    assert deliveries[2].detail.startswith("SM") and deliveries[3].detail.startswith("CA")


@pytest.mark.parametrize(
    ("urgent", "reason"),
    [(False, "program_triggered"), (True, "plan_submitted"), (True, "circular_ready")],
)
def test_calls_only_for_urgent_triggers(roster, services, urgent, reason):
    http, _, config = services
    deliveries = notify(s230518h_summary(urgent=urgent), reason, roster, config, now=NOW,
                        environ=SECRETS)
    assert "call" not in [d.channel for d in deliveries]
    assert http.to("/Calls.json") == []
    assert len(http.to("/Messages.json")) == 1


def test_failed_channel_is_recorded_and_the_others_continue(roster, services, caplog):
    http, smtp, config = services
    # Twilio's real 404 text names the resource, account SID included.
    http.fail["/Messages.json"] = (404, {
        "code": 20404, "status": 404, "more_info": "https://www.twilio.com/docs/errors/20404",
        "message": f"The requested resource /2010-04-01/Accounts/{TWILIO_SID}/Messages.json "
                   "was not found"})
    with caplog.at_level(logging.INFO):
        deliveries = notify(s230518h_summary(), "program_triggered", roster, config, now=NOW,
                            environ=SECRETS)
    by_channel = {(d.channel, d.recipient): d for d in deliveries}
    failed = by_channel[("sms", "Alice")]
    assert not failed.ok and "TwilioRestException" in failed.detail
    assert "/Accounts/***/Messages.json" in failed.detail and TWILIO_SID not in failed.detail
    assert by_channel[("call", "Alice")].ok and by_channel[("email", "Dana")].ok
    assert ("console", "Alice") not in by_channel  # Slack reached her
    assert len(smtp.messages) == 2
    assert "sms to Alice (+15555550100) failed" in caplog.text


def test_no_secret_in_logs_or_deliveries(roster, services, caplog):
    http, _, config = services
    http.fail["/Calls.json"] = (401, {"code": 20003, "status": 401, "message": "Authenticate"})
    with caplog.at_level(logging.DEBUG):
        deliveries = notify(s230518h_summary(), "program_triggered", roster, config, now=NOW,
                            environ=SECRETS)
    assert any(not d.ok for d in deliveries)
    assert "Request" in caplog.text  # the SDKs did log their requests...
    text = caplog.text + "".join(d.detail for d in deliveries)
    for secret in (SLACK_TOKEN, TWILIO_TOKEN, SMTP_PASSWORD):
        assert secret not in text  # ...without any secret
    info = "".join(r.getMessage() for r in caplog.records
                   if r.levelno >= logging.INFO and not r.name.startswith("urllib3"))
    assert TWILIO_SID not in info


def test_unconfigured_channels_fall_back_to_the_console(roster, capsys):
    deliveries = notify(s230518h_summary(), "program_triggered", roster, NotifyConfig(),
                        now=NOW, environ={})
    assert table(deliveries) == [
        ("slack", "Alice", False, True),
        ("sms", "Alice", False, True),
        ("call", "Alice", False, True),
        ("console", "Alice", True, False),
        ("email", "Bob", False, True),
        ("console", "Bob", True, False),
        ("email", "Dana", False, True),
        ("console", "Dana", True, False),
    ]
    assert deliveries[0].detail == "slack is not configured"
    err = capsys.readouterr().err
    assert err.count("[tooflow notify]") == 3
    assert "(for Alice) tooflow program triggered: GW S230518h" in err and FLOW_RUN in err


def test_missing_secrets_mean_not_configured(roster, services):
    http, smtp, config = services
    deliveries = notify(s230518h_summary(), "retraction", roster, config, now=NOW,
                        environ={"TOOFLOW_TWILIO_ACCOUNT_SID": TWILIO_SID})
    skipped = {d.channel: d.detail for d in deliveries if d.skipped}
    assert skipped == {
        "slack": "TOOFLOW_SLACK_TOKEN is not set",
        "sms": "TOOFLOW_TWILIO_ACCOUNT_SID or TOOFLOW_TWILIO_AUTH_TOKEN is not set",
        "email": "TOOFLOW_SMTP_PASSWORD is not set",
    }
    assert http.requests == [] and smtp.messages == []


def test_nobody_on_duty(services, capsys):
    _, _, config = services
    chandra = load_roster([{"name": "Chandra", "email": "c@example.org",
                            "hours": [{"days": "weekends", "start": "00:00", "end": "24:00"}]}])
    deliveries = notify(s230518h_summary(), "plan_submitted", chandra, config, now=NOW,
                        environ=SECRETS)
    assert table(deliveries) == [("slack", "#too-alerts", True, False),
                                 ("console", "nobody on duty", True, False)]
    assert "(nobody on duty) tooflow plan submitted" in capsys.readouterr().err


def test_never_raises(roster, services):
    _, _, config = services
    naive = notify(s230518h_summary(), "program_triggered", roster, config,
                   now=NOW.replace(tzinfo=None), environ=SECRETS)
    assert table(naive) == [("console", "", False, False)] and "timezone-aware" in naive[0].detail
    unknown = notify(s230518h_summary(), "party", roster, config, now=NOW, environ=SECRETS)
    assert "unknown notification reason" in unknown[0].detail

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    down = dataclasses.replace(config, email=dataclasses.replace(config.email, port=closed),
                               slack=dataclasses.replace(config.slack,
                                                         base_url=f"http://127.0.0.1:{closed}/"))
    deliveries = notify(s230518h_summary(), "program_triggered", roster, down, now=NOW,
                        environ=SECRETS)
    failed = [(d.channel, d.recipient) for d in deliveries if not d.ok]
    assert failed == [("slack", "#too-alerts"), ("slack", "Alice"), ("email", "Bob"),
                      ("email", "Dana")]
    assert all("Connection refused" in d.detail for d in deliveries if not d.ok)
    assert {d.recipient for d in deliveries if d.channel == "console"} == {"Bob", "Dana"}


# --- should_notify -------------------------------------------------------------------


def test_first_notice_and_real_update_notify():
    initial = s230518h_summary()
    assert should_notify(None, initial)
    # The real S230518h UPDATE notice changed the alert type (and HasNS slightly).
    assert should_notify(initial, dataclasses.replace(initial, notice_type="UPDATE"))


def test_a_notice_that_changes_nothing_is_quiet():
    initial = s230518h_summary()
    assert not should_notify(initial, initial)
    same_type = dataclasses.replace(initial, area90=initial.area90 * 1.05,
                                    flow_run_url="http://127.0.0.1:4200/runs/flow-run/other")
    assert not should_notify(initial, same_type)
    nudged = dict(initial.classification, NSBH=0.83, Terrestrial=0.13)
    assert not should_notify(initial, dataclasses.replace(initial, classification=nudged))


@pytest.mark.parametrize(
    "change",
    [
        {"area90": 666.0 * 1.3},
        {"area90": None},
        {"classification": {"BNS": 0.0, "NSBH": 0.3, "BBH": 0.6, "Terrestrial": 0.1}},
        {"programs": ("ZTF GW NSBH", "DECam GW")},
        {"is_retraction": True, "notice_type": "RETRACTION"},
        {"event_id": "S230520ae"},
    ],
)
def test_changes_that_matter_notify(change):
    initial = s230518h_summary()
    assert should_notify(initial, dataclasses.replace(initial, **change))


def test_urgency_and_repeated_retractions():
    calm = s230518h_summary(urgent=False)
    assert should_notify(calm, dataclasses.replace(calm, urgent=True))
    assert not should_notify(dataclasses.replace(calm, urgent=True), calm)
    retracted = dataclasses.replace(calm, is_retraction=True, notice_type="RETRACTION")
    assert not should_notify(retracted, retracted)


def test_deliveries_map_to_notification_records(roster, services):
    http, _, config = services
    http.fail["/Calls.json"] = (401, {"code": 20003, "status": 401, "message": "Authenticate"})
    deliveries = notify(s230518h_summary(), "program_triggered", roster, config, now=NOW,
                        environ=SECRETS)
    rows = {(r["channel"], r["recipient"]): r for r in (d.record_fields() for d in deliveries)}
    assert rows[("sms", "Alice")] == {"reason": "program_triggered", "channel": "sms",
                                      "recipient": "Alice", "ok": True, "error": None}
    assert not rows[("call", "Alice")]["ok"]
    assert "Authenticate" in rows[("call", "Alice")]["error"]


@pytest.mark.slow  # a hung delivery waits out its 2 s deadline (4.2 s at load ~14)
def test_a_trickling_service_costs_one_delivery_its_deadline_not_the_rest(roster, services):
    """Issue 10: each delivery has a total deadline; a hung Slack records a failure."""
    import time

    from tests.slow_http import trickling_server

    http, smtp, config = services
    with trickling_server() as slow:
        slow_config = dataclasses.replace(
            config, deadline=2, slack=dataclasses.replace(config.slack,
                                                          base_url=slow.url + "/api/"))
        start = time.monotonic()
        deliveries = notify(s230518h_summary(), "program_triggered", roster, slow_config,
                            now=NOW, environ=SECRETS)
        took = time.monotonic() - start
    by_channel = {(d.channel, d.recipient): d for d in deliveries}
    hung = by_channel[("slack", "#too-alerts")]
    assert not hung.ok and "slack to #too-alerts did not finish within its 2 s deadline" \
        in hung.detail
    assert by_channel[("email", "Dana")].ok and len(smtp.messages) == 2
    assert took < 2 + 30  # one deadline, not the SDK's own timeouts and retries
