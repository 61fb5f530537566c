"""Notification channels' configuration (the ``notifications`` section).

::

    notifications:
      slack:
        channel: "#too-alerts"          # also post every notification here (optional)
        base_url: https://slack.com/api/  # default
      twilio:
        from_number: "+15005550006"
        base_url: https://api.twilio.com  # default
        call_reasons: [program_triggered] # reasons that place a call for urgent programs
      email:
        host: smtp.example.org
        port: 587
        sender: tooflow@example.org
        username: tooflow               # log in with TOOFLOW_SMTP_PASSWORD
        starttls: true
      timeout: 10                       # seconds, per request
      deadline: 30                      # seconds, total per delivery

Secrets are never in this section: they come from the environment —
``TOOFLOW_SLACK_TOKEN``, ``TOOFLOW_TWILIO_ACCOUNT_SID``, ``TOOFLOW_TWILIO_AUTH_TOKEN``,
``TOOFLOW_SMTP_PASSWORD``. A channel whose section or secret is missing is "not
configured", and what it would have sent goes to the console instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SLACK_TOKEN_ENV",
    "TWILIO_SID_ENV",
    "TWILIO_TOKEN_ENV",
    "SMTP_PASSWORD_ENV",
    "SlackConfig",
    "TwilioConfig",
    "EmailConfig",
    "NotifyConfig",
]

SLACK_TOKEN_ENV = "TOOFLOW_SLACK_TOKEN"
TWILIO_SID_ENV = "TOOFLOW_TWILIO_ACCOUNT_SID"
TWILIO_TOKEN_ENV = "TOOFLOW_TWILIO_AUTH_TOKEN"
SMTP_PASSWORD_ENV = "TOOFLOW_SMTP_PASSWORD"


@dataclass(frozen=True)
class SlackConfig:
    """Slack Web API settings; the bot token is in ``TOOFLOW_SLACK_TOKEN``."""

    channel: str | None = None
    base_url: str = "https://slack.com/api/"


@dataclass(frozen=True)
class TwilioConfig:
    """Twilio settings; credentials are in ``TOOFLOW_TWILIO_ACCOUNT_SID``/``_AUTH_TOKEN``."""

    from_number: str
    base_url: str = "https://api.twilio.com"
    call_reasons: tuple[str, ...] = ("program_triggered",)


@dataclass(frozen=True)
class EmailConfig:
    """SMTP settings; the password (if ``username`` is set) is in ``TOOFLOW_SMTP_PASSWORD``."""

    host: str
    sender: str
    port: int = 25
    username: str | None = None
    starttls: bool = False


@dataclass(frozen=True)
class NotifyConfig:
    """Which channels exist and how to reach their services.

    Attributes
    ----------
    slack, twilio, email : config or None
        None when the section is absent.
    timeout : float
        Seconds allowed per request to a service.
    deadline : float
        Total seconds for one delivery (SDK retries included); past it the
        delivery is recorded as failed with the reason.
    """

    slack: SlackConfig | None = None
    twilio: TwilioConfig | None = None
    email: EmailConfig | None = None
    timeout: float = 10.0
    deadline: float = 30.0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> NotifyConfig:
        """Parse the ``notifications`` section (None or empty: console only).

        Raises
        ------
        ValueError
            Naming the missing or malformed key.
        """
        data = dict(data or {})
        slack = twilio = email = None
        if data.get("slack") is not None:
            s = _section(data, "slack")
            slack = SlackConfig(
                channel=s.get("channel") or None,
                base_url=str(s.get("base_url") or SlackConfig.base_url),
            )
        if data.get("twilio") is not None:
            t = _section(data, "twilio")
            if not t.get("from_number"):
                raise ValueError("notifications.twilio: from_number is required")
            reasons = t.get("call_reasons", TwilioConfig.call_reasons)
            twilio = TwilioConfig(
                from_number=str(t["from_number"]),
                base_url=str(t.get("base_url") or TwilioConfig.base_url),
                call_reasons=tuple(str(r) for r in reasons),
            )
        if data.get("email") is not None:
            e = _section(data, "email")
            for key in ("host", "sender"):
                if not e.get(key):
                    raise ValueError(f"notifications.email: {key} is required")
            email = EmailConfig(
                host=str(e["host"]),
                sender=str(e["sender"]),
                port=int(e.get("port", 25)),
                username=e.get("username") or None,
                starttls=bool(e.get("starttls", False)),
            )
        known = {"slack", "twilio", "email", "timeout", "deadline"}
        return cls(
            slack=slack,
            twilio=twilio,
            email=email,
            timeout=float(data.get("timeout", 10.0)),
            deadline=float(data.get("deadline", 30.0)),
            extra={k: v for k, v in data.items() if k not in known},
        )


def _section(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    section = data[name]
    if not isinstance(section, Mapping):
        raise ValueError(f"notifications.{name} must be a mapping")
    return section
