"""tooflow.notify.twilio with the real Twilio SDK against a loopback REST API."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.notify_loopback import RecordingHTTPServer
from tests.test_notify_messages import s230518h_summary
from tooflow.notify.messages import render_messages
from tooflow.notify.twilio import make_client, place_call, say_twiml, send_sms

SID = "AC" + "0" * 31 + "1"
TOKEN = "twilio-auth-token-not-real-0001"


@pytest.fixture
def server():
    with RecordingHTTPServer() as s:
        yield s


def test_sms_goes_to_messages_json(server):
    m = render_messages(s230518h_summary(), "program_triggered")
    client = make_client(SID, TOKEN, base_url=server.url, timeout=5)
    sid = send_sms(client, "+15555550100", "+15005550006", m.short)
    [request] = server.to("/Messages.json")
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(
        f"{SID}:{TOKEN}".encode()).decode()
    form = request.form()
    assert (form["To"], form["From"]) == ("+15555550100", "+15005550006")
    assert form["Body"] == m.short and "S230518h" in form["Body"]
    assert sid.startswith("SM")


def test_call_reads_the_speech_with_twiml_say(server):
    m = render_messages(s230518h_summary(programs=("GW & GRB <fast>",)), "program_triggered")
    client = make_client(SID, TOKEN, base_url=server.url + "/", timeout=5)
    sid = place_call(client, "+15555550100", "+15005550006", m.speech)
    [request] = server.to("/Calls.json")
    twiml = ET.fromstring(request.form()["Twiml"])
    says = [e.text for e in twiml.iter("Say")]
    assert says == [m.speech, m.speech]
    assert "GW & GRB <fast>" in says[0]  # escaped on the wire, intact once parsed
    assert sid.startswith("CA")


def test_say_twiml_is_xml():
    root = ET.fromstring(say_twiml("S 2 3 0 5 1 8 h & more"))
    assert root.tag == "Response" and root.find("Pause") is not None


def test_twilio_errors_are_raised(server):
    server.fail["/Messages.json"] = (401, {"code": 20003, "message": "Authenticate",
                                           "status": 401})
    client = make_client(SID, TOKEN, base_url=server.url, timeout=5)
    with pytest.raises(TwilioRestException) as info:
        send_sms(client, "+15555550100", "+15005550006", "hello")
    assert info.value.status == 401
