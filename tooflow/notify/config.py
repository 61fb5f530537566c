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
from typing import Annotated, Any

from pydantic import ConfigDict, Field, NonNegativeInt, PositiveFloat, TypeAdapter
from pydantic.dataclasses import dataclass

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


#: Unknown keys are errors; numbers written where text is meant are text.
_STRICT_KEYS = ConfigDict(extra="forbid", coerce_numbers_to_str=True)
_Required = Annotated[str, Field(min_length=1)]


@dataclass(frozen=True, config=_STRICT_KEYS)
class SlackConfig:
    """Slack Web API settings; the bot token is in ``TOOFLOW_SLACK_TOKEN``."""

    channel: str | None = None
    base_url: str = "https://slack.com/api/"


@dataclass(frozen=True, config=_STRICT_KEYS)
class TwilioConfig:
    """Twilio settings; credentials are in ``TOOFLOW_TWILIO_ACCOUNT_SID``/``_AUTH_TOKEN``."""

    from_number: _Required
    base_url: str = "https://api.twilio.com"
    call_reasons: tuple[str, ...] = ("program_triggered",)


@dataclass(frozen=True, config=_STRICT_KEYS)
class EmailConfig:
    """SMTP settings; the password (if ``username`` is set) is in ``TOOFLOW_SMTP_PASSWORD``."""

    host: _Required
    sender: _Required
    port: NonNegativeInt = 25
    username: str | None = None
    starttls: bool = False


@dataclass(frozen=True, config=_STRICT_KEYS)
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
    timeout: PositiveFloat = 10.0
    deadline: PositiveFloat = 30.0

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> NotifyConfig:
        """Parse the ``notifications`` section (None or empty: console only).

        Raises
        ------
        pydantic.ValidationError
            (a ``ValueError``) naming the missing or malformed key, its value
            and what is allowed.
        """
        return _ADAPTER.validate_python(dict(data or {}))


_ADAPTER = TypeAdapter(NotifyConfig)
