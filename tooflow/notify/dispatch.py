"""Send a notification to whoever is on duty, on every channel they use.

:func:`notify` never raises: each attempt becomes a :class:`Delivery` (sent, failed
with the error, or skipped because the channel is not configured), and a person no
channel reached gets the message on the console. Secrets (tokens, SIDs, passwords)
are read from the environment only when a message is sent, and are masked out of
every error message and log line.

:func:`should_notify` decides whether a new notice about an event is worth a new
message, like the GROWTH marshal did: the same alert type with unchanged
classification, area and programs is not.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from tooflow.guards.deadline import call_with_deadline
from tooflow.notify import console
from tooflow.notify.config import (
    SLACK_TOKEN_ENV,
    SMTP_PASSWORD_ENV,
    TWILIO_SID_ENV,
    TWILIO_TOKEN_ENV,
    NotifyConfig,
    TwilioConfig,
)
from tooflow.notify.messages import EventSummary, Messages, render_messages, slack_blocks
from tooflow.notify.roster import Person, on_duty

__all__ = ["Delivery", "notify", "should_notify"]

logger = logging.getLogger("tooflow.notify")


@dataclass(frozen=True)
class Delivery:
    """One attempt to tell someone.

    Attributes
    ----------
    channel : str
        ``slack``, ``sms``, ``call``, ``email`` or ``console``.
    recipient : str
        The person's name, or the Slack channel for the team post.
    address : str
        Slack channel/user id, phone number or e-mail address (empty for console).
    ok : bool
        The service accepted the message.
    detail : str
        The service's id for it (Slack ts, Twilio SID, Message-ID), or why it failed
        or was skipped. Never contains a secret.
    skipped : bool
        Not attempted because the channel is not configured.
    reason : str
        Why the notification was sent (see :data:`~tooflow.notify.messages.REASONS`).
    """

    channel: str
    recipient: str
    address: str
    ok: bool
    detail: str = ""
    skipped: bool = False
    reason: str = ""

    def record_fields(self) -> dict[str, object]:
        """Fields of a ``NotificationRecord`` row: reason, channel, recipient, ok, error."""
        return {
            "reason": self.reason,
            "channel": self.channel,
            "recipient": self.recipient,
            "ok": self.ok,
            "error": None if self.ok else self.detail,
        }


class _Secrets:
    """Secret values from the environment, and a masker for text that might hold them."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.values = {
            name: environ.get(name) or None
            for name in (SLACK_TOKEN_ENV, TWILIO_SID_ENV, TWILIO_TOKEN_ENV, SMTP_PASSWORD_ENV)
        }

    def get(self, name: str) -> str | None:
        return self.values[name]

    def mask(self, text: str) -> str:
        for value in self.values.values():
            if value and len(value) >= 4:
                text = text.replace(value, "***")
        return text


def _attempt(
    deliveries: list[Delivery],
    secrets: _Secrets,
    channel: str,
    recipient: str,
    address: str,
    reason: str,
    send: Callable[[], str],
    deadline: float = 30.0,
) -> None:
    try:
        detail = call_with_deadline(send, deadline, f"{channel} to {recipient}")
    except Exception as exc:  # noqa: BLE001 - a failed channel is recorded, never raised
        message = secrets.mask(f"{type(exc).__name__}: {exc}")
        logger.warning("%s to %s (%s) failed: %s", channel, recipient, address, message)
        deliveries.append(Delivery(channel, recipient, address, False, message, reason=reason))
    else:
        logger.info("%s to %s (%s) sent: %s", channel, recipient, address, detail)
        deliveries.append(Delivery(channel, recipient, address, True, detail, reason=reason))


def _unavailable(config: NotifyConfig, secrets: _Secrets) -> dict[str, str]:
    """Channel -> why it cannot be used (absent from the result when it can)."""
    why: dict[str, str] = {}
    if config.slack is None:
        why["slack"] = "slack is not configured"
    elif not secrets.get(SLACK_TOKEN_ENV):
        why["slack"] = f"{SLACK_TOKEN_ENV} is not set"
    if config.twilio is None:
        why["sms"] = why["call"] = "twilio is not configured"
    elif not (secrets.get(TWILIO_SID_ENV) and secrets.get(TWILIO_TOKEN_ENV)):
        why["sms"] = why["call"] = f"{TWILIO_SID_ENV} or {TWILIO_TOKEN_ENV} is not set"
    if config.email is None:
        why["email"] = "email is not configured"
    elif config.email.username and not secrets.get(SMTP_PASSWORD_ENV):
        why["email"] = f"{SMTP_PASSWORD_ENV} is not set"
    return why


def notify(
    event_summary: EventSummary,
    reason: str,
    roster: Iterable[Person],
    config: NotifyConfig,
    *,
    now: dt.datetime,
    environ: Mapping[str, str] | None = None,
) -> list[Delivery]:
    """Tell the people on duty about an event; never raises.

    Parameters
    ----------
    event_summary : EventSummary
        The event's essentials and the flow-run link.
    reason : str
        ``program_triggered``, ``plan_submitted``, ``retraction`` or ``circular_ready``.
    roster : iterable of Person
        The whole roster; :func:`~tooflow.notify.roster.on_duty` picks who is on at ``now``.
    config : NotifyConfig
        Channels and their services.
    now : datetime.datetime
        Timezone-aware time of the notification (decides who is on duty).
    environ : mapping, optional
        Where secrets are read (default :data:`os.environ`).

    Returns
    -------
    list of Delivery
        One per attempt, in order: the team Slack channel, then per person on duty
        Slack, SMS, call (urgent programs only), e-mail, and console when nothing
        reached them.
    """
    secrets = _Secrets(os.environ if environ is None else environ)
    deliveries: list[Delivery] = []
    try:
        messages = render_messages(event_summary, reason)
        people = on_duty(roster, now)
    except Exception as exc:  # noqa: BLE001 - bad input is recorded, never raised
        detail = secrets.mask(f"cannot notify: {type(exc).__name__}: {exc}")
        logger.error("%s", detail)
        console.print_notification(f"{reason} {event_summary.event_id}: {detail}")
        return [Delivery("console", "", "", False, detail, reason=reason)]

    unavailable = _unavailable(config, secrets)
    try:
        _send_all(deliveries, messages, event_summary, people, config, secrets, unavailable)
    except Exception as exc:  # noqa: BLE001 - a bug here must not break the flow
        detail = secrets.mask(f"{type(exc).__name__}: {exc}")
        logger.error("notification dispatch failed: %s", detail)
        deliveries.append(Delivery("console", "", "", False, detail, reason=reason))
    return deliveries


def _send_all(
    deliveries: list[Delivery],
    messages: Messages,
    summary: EventSummary,
    people: Sequence[Person],
    config: NotifyConfig,
    secrets: _Secrets,
    unavailable: Mapping[str, str],
) -> None:
    # The SDKs are imported only when a notification is sent.
    from tooflow.notify import email, slack, twilio

    reason = messages.reason
    blocks = slack_blocks(summary, messages)
    timeout = config.timeout

    def slack_send(address: str) -> Callable[[], str]:
        def send() -> str:
            assert config.slack is not None
            return slack.post_message(
                address,
                messages.short,
                blocks,
                token=secrets.get(SLACK_TOKEN_ENV) or "",
                base_url=config.slack.base_url,
                timeout=timeout,
            )

        return send

    twilio_client = None

    def client():
        nonlocal twilio_client
        assert config.twilio is not None
        if twilio_client is None:
            twilio_client = twilio.make_client(
                secrets.get(TWILIO_SID_ENV) or "",
                secrets.get(TWILIO_TOKEN_ENV) or "",
                base_url=config.twilio.base_url,
                timeout=timeout,
            )
        return twilio_client

    def sms_send(phone: str) -> Callable[[], str]:
        return lambda: twilio.send_sms(client(), phone, config.twilio.from_number, messages.short)

    def call_send(phone: str) -> Callable[[], str]:
        return lambda: twilio.place_call(
            client(), phone, config.twilio.from_number, messages.speech
        )

    def email_send(to: str) -> Callable[[], str]:
        def send() -> str:
            em = config.email
            assert em is not None
            return email.send_email(
                messages.subject, messages.long, to, host=em.host, sender=em.sender,
                port=em.port, username=em.username, password=secrets.get(SMTP_PASSWORD_ENV),
                starttls=em.starttls, timeout=timeout,
            )

        return send

    call_reasons = config.twilio.call_reasons if config.twilio else TwilioConfig.call_reasons

    if config.slack is not None and config.slack.channel and "slack" not in unavailable:
        _attempt(deliveries, secrets, "slack", config.slack.channel, config.slack.channel,
                 reason, slack_send(config.slack.channel), config.deadline)

    if not people:
        logger.warning("nobody is on duty for %s %s", reason, summary.event_id)
        line = console.print_notification(f"(nobody on duty) {messages.short}")
        deliveries.append(Delivery("console", "nobody on duty", "", True, line, reason=reason))
        return

    for person in people:
        ch = person.channels
        wanted: list[tuple[str, str, Callable[[], str]]] = []
        if ch.slack:
            wanted.append(("slack", ch.slack, slack_send(ch.slack)))
        if ch.phone:
            wanted.append(("sms", ch.phone, sms_send(ch.phone)))
            if summary.urgent and reason in call_reasons:
                wanted.append(("call", ch.phone, call_send(ch.phone)))
        if ch.email:
            wanted.append(("email", ch.email, email_send(ch.email)))

        reached = False
        for channel, address, send in wanted:
            if channel in unavailable:
                logger.info("%s to %s skipped: %s", channel, person.name, unavailable[channel])
                deliveries.append(Delivery(channel, person.name, address, False,
                                           unavailable[channel], skipped=True, reason=reason))
                continue
            _attempt(deliveries, secrets, channel, person.name, address, reason, send,
                     config.deadline)
            reached = reached or deliveries[-1].ok
        if not reached:
            line = console.print_notification(f"(for {person.name}) {messages.short}")
            deliveries.append(Delivery("console", person.name, "", True, line, reason=reason))


def should_notify(
    previous_summary: EventSummary | None,
    new_summary: EventSummary,
    *,
    area_tolerance: float = 0.1,
    probability_tolerance: float = 0.1,
) -> bool:
    """Whether a new notice about an event deserves a new message.

    Parameters
    ----------
    previous_summary : EventSummary or None
        What the people on duty were last told about this event (None: nothing yet).
    new_summary : EventSummary
        The event after the new notice.
    area_tolerance : float
        Relative change of the 90% area that counts as a change (0.1 = 10%).
    probability_tolerance : float
        Change of any class probability that counts as a change.

    Returns
    -------
    bool
        True for a first notice, a retraction, a new alert type, a new program, a
        program turning urgent, or a changed area or classification.
    """
    old, new = previous_summary, new_summary
    if old is None or old.event_id != new.event_id:
        return True
    if new.is_retraction or old.is_retraction:
        return new.is_retraction != old.is_retraction
    if new.notice_type != old.notice_type:
        return True
    if not set(new.programs) <= set(old.programs) or (new.urgent and not old.urgent):
        return True
    if (old.area90 is None) != (new.area90 is None):
        return True
    if old.area90 is not None and new.area90 is not None:
        if abs(new.area90 - old.area90) > area_tolerance * max(old.area90, 1e-9):
            return True
    if set(old.classification) != set(new.classification):
        return True
    if old.top_class and new.top_class and old.top_class[0] != new.top_class[0]:
        return True
    return any(
        abs(new.classification[k] - old.classification[k]) > probability_tolerance
        for k in new.classification
    )

