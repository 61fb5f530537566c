"""Twilio channel: SMS (``messages.create``) and voice calls with TwiML ``<Say>``."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

__all__ = ["BaseUrlHttpClient", "make_client", "send_sms", "place_call", "say_twiml"]

_DEFAULT_BASE = "https://api.twilio.com"
_ACCOUNT_SID = re.compile(r"\b(AC|SK)[0-9a-fA-F]{32}\b")


class _MaskAccountSid(logging.Filter):
    """Mask account/API-key SIDs in the SDK's request log lines (URLs contain them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _ACCOUNT_SID.sub(r"\1***", record.getMessage())
        record.args = None
        return True


#: The logger the Twilio SDK's HTTP client writes to (never the auth token, SIDs masked).
http_logger = logging.getLogger("tooflow.notify.twilio.http")
http_logger.addFilter(_MaskAccountSid())


class BaseUrlHttpClient(TwilioHttpClient):
    """Twilio's HTTP client, sending every request to another base URL.

    The SDK builds ``https://api.twilio.com/2010-04-01/...`` URLs; this client
    keeps their path and query and replaces scheme and host with ``base_url``
    (a regional edge, a proxy, or a local test server).
    """

    def __init__(self, base_url: str, timeout: float | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("logger", http_logger)
        super().__init__(timeout=timeout, **kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any):  # noqa: D102
        parts = urlsplit(url)
        target = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().request(method, target, *args, **kwargs)


def make_client(
    account_sid: str, auth_token: str, *, base_url: str = _DEFAULT_BASE, timeout: float = 10.0
) -> Client:
    """A Twilio REST client for ``base_url`` (default: Twilio's API).

    Parameters
    ----------
    account_sid, auth_token : str
        Credentials (from the environment; never logged).
    base_url : str
        API root.
    timeout : float
        Seconds per request.
    """
    if base_url.rstrip("/") == _DEFAULT_BASE:
        http = TwilioHttpClient(timeout=timeout, logger=http_logger)
    else:
        http = BaseUrlHttpClient(base_url, timeout=timeout)
    return Client(account_sid, auth_token, http_client=http)


def send_sms(client: Client, to: str, from_: str, body: str) -> str:
    """Send an SMS; returns the message SID.

    Parameters
    ----------
    client : twilio.rest.Client
    to, from_ : str
        E.164 phone numbers.
    body : str
        Text (Twilio splits long texts; keep it under 320 characters).
    """
    return str(client.messages.create(to=to, from_=from_, body=body).sid)


def say_twiml(speech: str) -> str:
    """TwiML that reads ``speech`` aloud twice (XML-escaped by the SDK)."""
    response = VoiceResponse()
    response.say(speech)
    response.pause(length=1)
    response.say(speech)
    return str(response)


def place_call(client: Client, to: str, from_: str, speech: str) -> str:
    """Place a voice call that reads ``speech``; returns the call SID."""
    return str(client.calls.create(to=to, from_=from_, twiml=say_twiml(speech)).sid)
