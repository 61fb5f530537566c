"""Notifications to the on-duty astronomers: Slack, Twilio (SMS, calls), e-mail, console.

The flow calls :func:`notify` with an :class:`EventSummary`, a reason, the roster
(:func:`load_roster` of the ``roster`` configuration section) and the channels'
configuration (:meth:`NotifyConfig.from_mapping` of the ``notifications`` section);
:func:`should_notify` skips notices that change nothing.
"""

from tooflow.notify.config import NotifyConfig
from tooflow.notify.dispatch import Delivery, notify, should_notify
from tooflow.notify.messages import REASONS, EventSummary, Messages, render_messages
from tooflow.notify.roster import Channels, Person, RosterError, Shift, load_roster, on_duty

__all__ = [
    "REASONS",
    "Channels",
    "Delivery",
    "EventSummary",
    "Messages",
    "NotifyConfig",
    "Person",
    "RosterError",
    "Shift",
    "load_roster",
    "notify",
    "on_duty",
    "render_messages",
    "should_notify",
]
