"""Slack channel: post a message with blocks through the Web API (slack-sdk)."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

__all__ = ["post_message"]


def post_message(
    channel: str,
    text: str,
    blocks: list[dict[str, Any]] | None,
    *,
    token: str,
    base_url: str = "https://slack.com/api/",
    timeout: float = 10.0,
) -> str:
    """Post a message with ``chat.postMessage``.

    Parameters
    ----------
    channel : str
        Channel name or id (``#too-alerts``, ``C0123``) or a user id for a direct message.
    text : str
        Fallback text (notifications, clients without blocks).
    blocks : list of dict or None
        Block Kit blocks.
    token : str
        Bot token (``xoxb-...``); never logged.
    base_url : str
        Web API root, ending with ``/``.
    timeout : float
        Seconds.

    Returns
    -------
    str
        The message timestamp Slack returned (its id).

    Raises
    ------
    slack_sdk.errors.SlackApiError
        When Slack answers ``ok: false``.
    """
    if not base_url.endswith("/"):
        base_url += "/"
    client = WebClient(token=token, base_url=base_url, timeout=max(1, round(timeout)))
    response = client.chat_postMessage(
        channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
    )
    return str(response.get("ts", ""))
