"""``tooflow listen``: run the alert listeners configured in tooflow.yaml.

Each source (hop, gcn, igwn, voevent) runs in its own thread: every message is
stored in the database, then acknowledged (Kafka offset commit), then the
``handle-notice`` deployment is triggered. Notices that could not be triggered
(Prefect API down) stay pending and are retried every ``reconcile_interval``
seconds. SIGTERM or SIGINT stop the listener cleanly after the current message.
Without PREFECT_API_URL (the embedded default) it uses the local Prefect server
and serves the deployments on it, so the triggered runs run beside the listener.
Refuses to start when a configured source lacks credentials.
"""

from __future__ import annotations

import argparse
import logging

from ._service import add_service_options, setup_service, stop_on_signals

__all__ = ["add_parser"]

log = logging.getLogger("tooflow.listen")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("listen", help="listen to alert streams, store notices, trigger flows",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", action="append", choices=["hop", "gcn", "igwn", "voevent"],
                   help="listen to this source only (repeatable; default: all configured)")
    add_service_options(p)
    p.add_argument("--check", action="store_true",
                   help="connect for real to the Prefect API and every configured source "
                        "(credentials, topics), say what answered, then exit (1 on failure)")
    p.set_defaults(func=_listen)


def _check(settings, names: list[str] | None) -> int:
    """Connect for real to the Prefect API and every source; 0 only if all answer."""
    from ..intake.listeners import build_sources, listeners_config
    from ..intake.listeners.check import check_prefect, check_source
    from ..intake.trigger import DEFAULT_DEPLOYMENT

    section = listeners_config(settings)
    timeout = section.check_timeout
    sources = build_sources(settings, names)  # refuses a configuration without credentials
    results = [check_prefect(settings, section.deployment or DEFAULT_DEPLOYMENT)]
    for source in sources:
        try:
            results.append(check_source(source, timeout))
        finally:
            source.close()
    for r in results:
        print(f"{r.name}: {'OK' if r.ok else 'FAILED'}: {r.detail}")
    return 0 if all(r.ok for r in results) else 1


def _listen(args: argparse.Namespace) -> int:

    settings = setup_service(args)
    if args.check:
        return _check(settings, args.source)
    from ..intake.service import listen

    listen(settings, args.source, stop=stop_on_signals(log))
    return 0
