"""``tooflow coincidence``: the SNEWS 2.0 coincidence service.

``run`` consumes the SNEWS detector messages of the Kafka topic in the
``coincidence:`` section of tooflow.yaml, finds coincidences (10 s window by
default), stores them, publishes alerts to ``alert_url`` in the SNEWS alert format,
injects each alert into the ToO pipeline as a SNEWS GCN JSON notice and tells the
people on duty. SIGTERM or SIGINT stop it after the current message.

``feed`` runs files of detector messages through the same service without Kafka:
a JSON message, a list of messages, or a ``snews_pt`` scenarios file (``--scenario``).

``status`` lists the stored coincidences and their alerts.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from ._service import add_service_options, setup_service, stop_on_signals

__all__ = ["add_parser"]

log = logging.getLogger("tooflow.snews")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("coincidence", help="SNEWS coincidence service (run, feed, status)",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_service_options(p)
    actions = p.add_subparsers(title="actions", metavar="ACTION", required=True)
    run = actions.add_parser("run", help="consume the Kafka topic of detector messages")
    run.add_argument("--check", action="store_true",
                     help="check configuration and credentials, then exit")
    run.set_defaults(func=_run)
    feed = actions.add_parser("feed", help="run files of detector messages through the service")
    feed.add_argument("files", nargs="+", type=Path, metavar="FILE")
    feed.add_argument("--scenario", help="name of a scenario in a snews_pt scenarios file")
    feed.add_argument("--rules", choices=["tooflow", "snews_cs"],
                      help="coincidence rules (default: the configuration's, else tooflow)")
    feed.add_argument("--no-inject", action="store_true",
                      help="do not put alerts into the ToO pipeline")
    feed.set_defaults(func=_feed)
    status = actions.add_parser("status", help="list stored coincidences and alerts")
    status.add_argument("--mode", choices=["observation", "test", "firedrill"])
    status.set_defaults(func=_status)


def _run(args: argparse.Namespace) -> int:
    from ..intake.service import connect_prefect
    from ..snews.kafka import observation_source
    from ..snews.service import run_service
    from ..snews.wiring import build_service

    settings = setup_service(args)
    conf = settings.coincidence
    source = observation_source(conf.kafka_conf())
    if args.check:
        print(f"coincidence: consuming {', '.join(source.topics)}; alerts to "
              f"{conf.alert_url or '(no Kafka output)'}: configuration OK")
        source.close()
        return 0
    connect_prefect(settings, log)
    service = build_service(settings)
    run_service(service, source, stop=stop_on_signals(log))
    return 0


def _messages(path: Path, scenario: str | None) -> list[bytes]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if scenario is not None:
        if isinstance(data, dict) and scenario in data:
            data = data[scenario]
        elif isinstance(data, list):  # snews-data-formats: [{"id", "label", "events"}]
            found = [s for s in data if isinstance(s, dict)
                     and scenario in (s.get("id"), s.get("label"))]
            if not found:
                raise KeyError(f"no scenario {scenario!r} in {path}")
            data = found[0]["events"]
        else:
            raise KeyError(f"no scenario {scenario!r} in {path}")
    items = data if isinstance(data, list) else [data]
    return [json.dumps(item).encode() for item in items]


def _feed(args: argparse.Namespace) -> int:
    from ..intake.service import connect_prefect
    from ..snews.wiring import build_service

    settings = setup_service(args)
    service = build_service(settings, kafka=False, inject=not args.no_inject, rules=args.rules,
                            trigger=(lambda notice_id: None) if args.no_inject else None)
    if not args.no_inject:
        connect_prefect(settings, log, serve=False)
    service.restore()
    rejected = 0
    for path in args.files:
        for payload in _messages(path, args.scenario):
            result = service.handle(payload)
            rejected += result.status == "rejected"
            line = f"{path.name}: {result.status}"
            if result.reason:
                line += f" ({result.reason})"
            print(line)
            for alert in result.alerts:
                print(f"  {alert.alert_type} #{alert.record_number}: "
                      f"{', '.join(alert.detectors) or '-'} "
                      f"(snews_cs {alert.snews_cs_type}, sub list {alert.number})")
    service.deliver()
    return 1 if rejected else 0


def _status(args: argparse.Namespace) -> int:
    from sqlmodel import Session, select

    from ..db import get_engine
    from ..db.state import DatabaseNotReady, explained
    from ..models import SnewsAlert, SnewsCoincidence

    settings = setup_service(args)
    engine = get_engine(settings)
    with Session(engine) as session:  # a status reads: it neither creates nor upgrades
        query = select(SnewsCoincidence).order_by(SnewsCoincidence.first_neutrino_time)
        if args.mode:
            query = query.where(SnewsCoincidence.mode == args.mode)
        try:
            with explained(engine):
                coincidences = list(session.exec(query))
        except DatabaseNotReady as exc:
            if exc.state is None or exc.state.status != "empty":
                raise
            print(f"no coincidence stored ({exc.state.url}: {exc.state.reason})")
            return 0
        for c in coincidences:
            print(f"{c.event_id} [{c.mode}] {c.state}: {', '.join(c.detectors) or '-'} "
                  f"({c.n_alerts} alert(s))")
            for a in session.exec(select(SnewsAlert).where(SnewsAlert.coincidence_id == c.id)
                                  .order_by(SnewsAlert.record_number)):
                where = [w for w, done in (("kafka", a.kafka_published_at),
                                           (f"notice #{a.notice_id}", a.notice_id),
                                           ("notified", a.notified_at)) if done]
                print(f"  #{a.record_number} {a.alert_type}: {', '.join(a.detectors) or '-'}"
                      f" -> {', '.join(where) or 'not delivered'}")
    if not coincidences:
        print("no coincidence stored")
    return 0
