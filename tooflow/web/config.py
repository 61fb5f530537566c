"""The ``web`` section of the configuration, and the links to the pages.

The section itself is typed with the others (:class:`tooflow.config.sections.WebSection`):

.. code-block:: yaml

    web:
      url: https://marshal.example.org   # the address people open (links in notifications)
      host: 127.0.0.1                     # where `tooflow web serve` listens
      port: 8400
      session_hours: 12
      cookie_secure: true                 # behind TLS (production)
      login_attempts: 5                   # failed logins per user name ...
      login_window_minutes: 15            # ... within this window, then refused

No FastAPI here: the flow imports it for the links in its notifications.
"""

from __future__ import annotations

from urllib.parse import quote

from ..config.sections import WebSection

__all__ = ["WebConfig", "web_config", "event_url"]

#: The web section's type (the settings' ``web`` attribute).
WebConfig = WebSection


def web_config(settings) -> WebSection:
    """The ``web`` section of ``settings``."""
    return settings.web


def event_url(settings, event_id: str, anchor: str = "") -> str:
    """The web page of an event, for notifications (``.../events/S230518h#plan-3``).

    >>> from tooflow.config import Settings
    >>> event_url(Settings(), "MS181101ab", "plan-3")
    'http://127.0.0.1:8400/events/MS181101ab#plan-3'
    """
    url = f"{web_config(settings).base_url}/events/{quote(event_id, safe='')}"
    return f"{url}#{anchor}" if anchor else url
