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
import threading

from ._service import (
    add_service_options,
    connect_prefect,
    setup_service,
    start_local_runner,
    stop_on_signals,
)

__all__ = ["add_parser", "listen"]

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


def listen(settings, names: list[str] | None = None, *, stop: threading.Event | None = None,
           trigger=None) -> None:
    """Run the listeners ``names`` until ``stop`` is set.

    Parameters
    ----------
    settings : Settings
        tooflow settings (the ``listeners:`` section and the database).
    names : list of str, optional
        Sources to run (default: every configured one).
    stop : threading.Event, optional
        Set it to stop every source.
    trigger : callable, optional
        ``trigger(notice_id)``; default :func:`tooflow.intake.trigger.trigger_notice`.
    """
    from ..db import create_schema, get_engine
    from ..intake.listeners import build_sources, listeners_config, run_source
    from ..intake.trigger import DEFAULT_DEPLOYMENT, reconcile, trigger_notice, warm_up

    section = listeners_config(settings)
    sources = build_sources(settings, names)
    engine = get_engine(settings)
    create_schema(engine)
    stop = stop or threading.Event()
    runner = None
    if trigger is None:
        deployment = section.deployment or DEFAULT_DEPLOYMENT
        runner = connect_prefect(settings, log)
        warm_up(deployment)

        def trigger(notice_id: int) -> str:
            return trigger_notice(notice_id, deployment=deployment, engine=engine)

    threads = [threading.Thread(
        target=run_source, name=f"listen-{s.name}", daemon=True,
        kwargs=dict(source=s, engine=engine, trigger=trigger, stop=stop,
                    max_bytes=settings.max_notice_bytes,
                    status_interval=section.status_interval,
                    trigger_workers=section.trigger_workers))
        for s in sources]
    for t in threads:
        t.start()
    interval = section.reconcile_interval
    while True:
        if runner is not None and runner.poll() is not None:
            log.error("the local runner exited (status %s); starting it again", runner.returncode)
            runner = start_local_runner(settings, log)
        if interval > 0:  # at start (a crash may have left notices pending), then periodically
            n = reconcile(engine, trigger=trigger)
            if n:
                log.info("reconciler: triggered %d pending notice(s)", n)
        if stop.wait(interval if interval > 0 else 3600):
            break
    for t in threads:
        t.join(timeout=30)
    if runner is not None:
        from ..embedded.runner import stop_runner

        stop_runner(runner)


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
    listen(settings, args.source, stop=stop_on_signals(log))
    return 0
