"""tooflow.notify.slack with the real slack-sdk against a loopback Web API."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from tests.notify_loopback import RecordingHTTPServer
from tests.test_notify_messages import FLOW_RUN, s230518h_summary
from tooflow.notify.messages import render_messages, slack_blocks
from tooflow.notify.slack import post_message

TOKEN = "xoxb-test-0000-not-a-real-token"


@pytest.fixture
def server():
    with RecordingHTTPServer() as s:
        yield s


def test_post_message_sends_text_and_blocks(server):
    s = s230518h_summary()
    m = render_messages(s, "program_triggered")
    ts = post_message("#too-alerts", m.short, slack_blocks(s, m), token=TOKEN,
                      base_url=server.url + "/api", timeout=5)
    [request] = server.to("/chat.postMessage")
    assert request.path == "/api/chat.postMessage"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    body = request.json()
    assert body["channel"] == "#too-alerts"
    assert "S230518h" in body["text"] and FLOW_RUN in body["text"]
    assert body["blocks"][-1]["elements"][0]["url"] == FLOW_RUN
    assert body["unfurl_links"] is False
    assert ts == "1700000000.000001"


def test_slack_error_is_raised_with_its_code(server):
    server.fail["/chat.postMessage"] = (200, {"ok": False, "error": "channel_not_found"})
    with pytest.raises(SlackApiError, match="channel_not_found"):
        post_message("#nowhere", "hello", None, token=TOKEN, base_url=server.url + "/api/")
