"""Tell the people on duty about a SNEWS coincidence, through :mod:`tooflow.notify`.

The team Slack channel (``notifications: slack: channel``) and whoever the roster has
on duty get a message for every alert: ALERT and UPDATE as ``snews_coincidence``
(a galactic supernova concerns every program), RETRACTION as ``retraction``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from ..models import SnewsAlert

__all__ = ["alert_summary", "duty_notifier"]


def alert_summary(row: SnewsAlert, info: dict[str, Any]):
    """The :class:`~tooflow.notify.EventSummary` of a stored alert.

    ``info`` holds the coincidence's ``event_id``, ``mode``, ``time`` (first
    neutrino time, UTC) and ``detectors``.
    """
    from ..notify import EventSummary

    names = ", ".join(info.get("detectors") or []) or "no detector left"
    what = {"ALERT": "new coincidence", "UPDATE": "coincidence updated",
            "RETRACTION": "coincidence withdrawn"}[row.alert_type]
    return EventSummary(
        event_id=info["event_id"], kind="supernova", time=info["time"],
        notice_type=f"SNEWS_COINCIDENCE {row.alert_type}",
        is_retraction=row.alert_type == "RETRACTION", is_mock=info.get("mode") != "observation",
        detail=f"SNEWS {what} (#{row.record_number}): {names}")


def duty_notifier(settings, *, environ=None) -> Callable[[SnewsAlert, dict[str, Any]], list]:
    """``notify(alert_row, info)`` for the service, from the ``notifications`` and
    ``roster`` configuration sections (console only when neither is set)."""
    from ..notify import notify

    config, roster = settings.notifications, settings.roster

    def send(row: SnewsAlert, info: dict[str, Any]) -> list:
        reason = "retraction" if row.alert_type == "RETRACTION" else "snews_coincidence"
        return notify(alert_summary(row, info), reason, roster, config,
                      now=dt.datetime.now(dt.UTC), environ=environ)

    return send
