"""Listeners: alert streams in, stored notices and triggered flows out.

One module per source (:mod:`.hop`, :mod:`.gcn_kafka`, :mod:`.igwn`,
:mod:`.voevent_tcp`), one loop for all (:mod:`.loop`). Sources are configured in
the ``listeners:`` section of tooflow.yaml, one sub-section per source::

    listeners:
      hop: {url: kafka://kafka.scimma.org/igwn.gwalert, group_id: tooflow-me}
      gcn: {topics: [gcn.notices.einstein_probe.wxt.alert], group_id: tooflow-me}
      igwn: {group: gracedb, topics: [superevent], consumer_group: tooflow-me}
      voevent: {host: 45.58.43.186, port: 8099}
      reconcile_interval: 30     # s between retries of pending notices (0: never)
      status_interval: 5         # s between health records
      trigger_workers: 4         # threads creating flow runs (storing never waits for them)
      deployment: handle-notice/handle-notice
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...config import Settings
from ...config.sections import ListenersSection
from .errors import ListenerConfigError, MissingCredentials
from .loop import Message, Source, handle_message, run_source

__all__ = ["SOURCE_NAMES", "ListenerConfigError", "Message", "MissingCredentials", "Source",
           "build_source", "build_sources", "handle_message", "listeners_config",
           "run_source"]

#: Source names, as used by ``tooflow listen --source``.
SOURCE_NAMES = ("hop", "gcn", "igwn", "voevent")


def listeners_config(settings: Settings) -> ListenersSection:
    """The ``listeners:`` section of the configuration (checked when it was loaded)."""
    return settings.listeners


def _builder(name: str) -> Callable[[dict[str, Any]], Source]:
    if name == "hop":
        from .hop import hop_source
        return hop_source
    if name == "gcn":
        from .gcn_kafka import gcn_source
        return gcn_source
    if name == "igwn":
        from .igwn import igwn_source
        return igwn_source
    if name == "voevent":
        from .voevent_tcp import voevent_source
        return voevent_source
    raise ListenerConfigError(f"unknown source {name!r}; known: {', '.join(SOURCE_NAMES)}")


def build_source(name: str, conf: dict[str, Any]) -> Source:
    """Build one source from its configuration section.

    Raises
    ------
    MissingCredentials, ListenerConfigError
        Before connecting anywhere, with a message saying what to fix.
    """
    return _builder(name)(dict(conf or {}))


def build_sources(settings: Settings, names: list[str] | None = None) -> list[Source]:
    """Build the sources ``names`` (default: every source configured in ``listeners:``).

    Every source is checked before any is returned, so that ``tooflow listen``
    refuses to start at all when one configured source lacks credentials.
    """
    section = listeners_config(settings).sources()
    configured = [n for n in SOURCE_NAMES if n in section]
    names = list(names or configured)
    if not names:
        raise ListenerConfigError(
            "no listener configured: add a `listeners:` section with hop, gcn, igwn or "
            "voevent to tooflow.yaml (see docs/operations.md)")
    missing = [n for n in names if n not in configured]
    if missing:
        raise ListenerConfigError(f"no `listeners: {missing[0]}:` section in the configuration")
    problems, sources = [], []
    for name in names:
        try:
            sources.append(build_source(name, section[name]))
        except ListenerConfigError as exc:
            problems.append(str(exc))
    if problems:
        for source in sources:
            source.close()
        raise (MissingCredentials if all("credential" in p or "TOOFLOW_GCN" in p
                                         for p in problems) else ListenerConfigError)(
            "refusing to start: " + "; ".join(problems))
    return sources
