"""tooflow.notify.email with smtplib against a loopback SMTP server."""

from __future__ import annotations

import email
import email.policy
import smtplib

import pytest

from tests.notify_loopback import SMTPSink
from tests.test_notify_messages import FLOW_RUN, s230518h_summary
from tooflow.notify.email import send_email
from tooflow.notify.messages import render_messages

PASSWORD = "smtp-password-not-real-42"


def test_email_is_delivered_with_login():
    m = render_messages(s230518h_summary(), "circular_ready")
    with SMTPSink(password=PASSWORD) as sink:
        message_id = send_email(m.subject, m.long, "alice@example.org", host="127.0.0.1",
                                port=sink.port, sender="tooflow@example.org",
                                username="tooflow", password=PASSWORD, timeout=5)
    [record] = sink.messages
    assert record.auth == ("tooflow", PASSWORD)
    assert (record.mail_from, record.rcpt_to) == ("tooflow@example.org", ["alice@example.org"])
    parsed = email.message_from_bytes(record.data, policy=email.policy.default)
    assert parsed["Subject"] == "tooflow circular draft ready: S230518h"
    assert parsed["Message-ID"] == message_id
    body = parsed.get_content()
    assert "S230518h" in body and FLOW_RUN in body


def test_without_login():
    with SMTPSink() as sink:
        send_email("s", "b", "bob@example.org", host="127.0.0.1", port=sink.port,
                   sender="tooflow@example.org", timeout=5)
    assert sink.messages[0].auth is None


def test_wrong_password_and_missing_password_fail():
    with SMTPSink(password=PASSWORD) as sink:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            send_email("s", "b", "bob@example.org", host="127.0.0.1", port=sink.port,
                       sender="tooflow@example.org", username="tooflow", password="wrong",
                       timeout=5)
        with pytest.raises(smtplib.SMTPAuthenticationError, match="no SMTP password"):
            send_email("s", "b", "bob@example.org", host="127.0.0.1", port=sink.port,
                       sender="tooflow@example.org", username="tooflow", password=None,
                       timeout=5)
    assert sink.messages == []
