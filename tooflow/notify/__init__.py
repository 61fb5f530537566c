"""Notifications to the on-duty astronomers: Slack, Twilio (SMS, calls), e-mail, console.

The flow calls :func:`notify` with an :class:`EventSummary`, a reason, the roster
(:func:`load_roster` of the ``roster`` configuration section) and the channels'
configuration (:meth:`NotifyConfig.from_mapping` of the ``notifications`` section);
:func:`should_notify` skips notices that change nothing.

The names below are imported when first used (:pep:`562`): the settings read
``notify.config`` and ``notify.roster`` when ``tooflow`` starts, without the
SDKs and templates of the senders.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tooflow.notify.config import NotifyConfig
    from tooflow.notify.dispatch import Delivery, notify, should_notify
    from tooflow.notify.messages import REASONS, EventSummary, Messages, render_messages
    from tooflow.notify.roster import Channels, Person, RosterError, Shift, load_roster, on_duty

_HOME = {
    "NotifyConfig": "config",
    "Delivery": "dispatch", "notify": "dispatch", "should_notify": "dispatch",
    "REASONS": "messages", "EventSummary": "messages", "Messages": "messages",
    "render_messages": "messages",
    "Channels": "roster", "Person": "roster", "RosterError": "roster", "Shift": "roster",
    "load_roster": "roster", "on_duty": "roster",
}

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


def __getattr__(name: str) -> Any:
    if name in _HOME:
        value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
