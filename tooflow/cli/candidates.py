"""Candidates: ingest alert packets and uploads, list an event's ranked candidates, vet them.

``tooflow candidates ingest FILE...`` stores ZTF alert packets (Avro) or photometry
uploads (CSV/JSON, docs/candidates.md) and parses them; ``tooflow candidates
EVENT_ID`` prints the event's ranked candidates with the factors of each score;
``tooflow candidate NAME`` a candidate's history and light curve (and saves the
light curve and cutouts as PNG); ``tooflow vet NAME --state ... --comment ...``
records a vetting action.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "candidates", help="ingest candidate alerts/uploads; list an event's ranked candidates",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  tooflow candidates ingest tests/data/candidates/ztf/*.avro\n"
               "  tooflow candidates S230518h --all")
    p.add_argument("what", metavar="EVENT_ID|ingest|listen",
                   help="an event id; 'ingest' followed by files; 'listen' to the alert "
                        "stream of candidates.kafka")
    p.add_argument("files", nargs="*", metavar="FILE",
                   help="(ingest) ZTF alert packets (.avro) or photometry uploads (.csv/.json)")
    p.add_argument("--all", action="store_true",
                   help="also candidates below the threshold and rejected ones")
    p.add_argument("--format", choices=["ztf-avro", "photometry-csv", "photometry-json"],
                   help="(ingest) the files' format (default: from their first bytes)")
    p.add_argument("--no-flow", action="store_true",
                   help="(ingest) store and parse only; do not run handle-candidates")
    p.add_argument("--rank", action="store_true",
                   help="(EVENT_ID) associate and rank every candidate of the event's "
                        "window now, then print")
    p.set_defaults(func=_candidates)

    c = sub.add_parser("candidate", help="a candidate's history, light curve and cutouts",
                       description="Print a candidate's detections, upper limits, vetting "
                                   "and follow-up; save its light curve and cutouts as PNG.")
    c.add_argument("name", metavar="NAME", help="e.g. ZTF18aaxjdyr")
    c.add_argument("--png-dir", type=Path, default=Path("."),
                   help="where to save NAME-lightcurve.png and NAME-cutouts.png (default: .)")
    c.add_argument("--no-png", action="store_true", help="print only")
    c.set_defaults(func=_candidate)

    v = sub.add_parser("vet", help="record a vetting action on a candidate",
                       description="States: new → interesting → follow-up requested → "
                                   "rejected (--reason) or classified (--class, --redshift, "
                                   "--reference). Every action is kept with its author and "
                                   "time.")
    v.add_argument("name", metavar="NAME")
    v.add_argument("--state", choices=["interesting", "follow-up requested", "rejected",
                                       "classified"],
                   help="the new state (none: a comment)")
    v.add_argument("--comment")
    v.add_argument("--reason", help="why rejected")
    v.add_argument("--class", dest="classification", help="e.g. 'SN Ia', kilonova, AGN")
    v.add_argument("--redshift", type=float)
    v.add_argument("--reference", help="spectrum, TNS/ATel/circular")
    v.add_argument("--report", action=argparse.BooleanOptionalAction, default=None,
                   help="mark (or --no-report unmark) for the circular's candidates table")
    v.add_argument("--event", dest="event_id", help="the event it is vetted for")
    v.add_argument("--followup", action="append", metavar="FACILITY",
                   help="request follow-up (KPED, GROWTH-India, ...); may repeat")
    v.add_argument("--author", default=None,
                   help="who vets (default: $TOOFLOW_USER, else the login name)")
    v.set_defaults(func=_vet)


def _candidates(args: argparse.Namespace) -> int:
    if args.what == "ingest":
        return _ingest(args)
    if args.what == "listen":
        return _listen(args)
    if args.files:
        raise ValueError(f"unexpected arguments {args.files}; to ingest files: "
                         "tooflow candidates ingest FILE...")
    from ..candidates.views import event_candidates, render_ranked_text

    if args.rank:
        _rank_now(args.what)
    ranked = event_candidates(args.what, include_all=args.all)
    print(render_ranked_text(args.what, ranked), end="")
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from ..candidates.config import CandidateConfig
    from ..candidates.store import ingest_alert_bytes
    from ..db import create_schema, get_engine

    if not args.files:
        raise ValueError("tooflow candidates ingest: give at least one FILE")
    config = CandidateConfig.from_settings()
    engine = get_engine()
    create_schema(engine)
    status = 0
    parsed: list[int] = []
    for name in args.files:
        path = Path(name)
        try:
            size = path.stat().st_size
            # a file far over the limit is not read whole: its head is kept, rejected
            with path.open("rb") as fh:
                payload = fh.read(config.max_alert_bytes + 1)
        except OSError as exc:
            print(f"{name}: cannot read: {exc.strerror or exc}", file=sys.stderr)
            status = 1
            continue
        out = ingest_alert_bytes(payload, str(path), fmt=args.format, engine=engine,
                                 max_bytes=config.max_alert_bytes, size=size)
        again = "" if out.created else " (already stored)"
        if out.status == "rejected":
            print(f"{name}: rejected{again}: {out.reason}")
            status = 1
        else:
            parsed.append(out.alert_id)
            print(f"{name}: {', '.join(out.names)}: {out.new_photometry} new "
                  f"measurement(s){again}")
    if parsed and not args.no_flow:
        _run_batch(parsed, engine)
    return status


def _run_batch(alert_ids: list[int], engine) -> None:
    """Run handle-candidates here when the batch may belong to an event."""
    from sqlmodel import Session

    from ..candidates.scoring import ACTIVE_DAYS, events_for_candidates
    from ..candidates.store import process_alert
    from ..config import load_settings
    from ..embedded.prefect_server import use_prefect_api

    ids = sorted({i for a in alert_ids for i in process_alert(a, engine=engine).candidate_ids})
    with Session(engine) as session:
        events = events_for_candidates(session, ids)
    if not events:
        print(f"no event with a sky map in the {ACTIVE_DAYS:g} days before these detections: "
              "nothing to rank")
        return
    with use_prefect_api(load_settings(), echo=print):
        from ..flows.candidates import handle_candidates

        state = handle_candidates(alert_ids, return_state=True)
    summary = state.result(raise_on_failure=False)
    if state.is_failed() or not isinstance(summary, dict):
        raise RuntimeError(f"handle-candidates failed: {state.message}")
    for event_id, scored in summary["events"].items():
        top = ", ".join(f"{n} {s:.2f}" for n, s in scored["top"][:5]) or "none"
        print(f"{event_id}: {scored['associated']} associated, {scored['listed']} listed; "
              f"top: {top}" + (f"; notified: {', '.join(scored['notified'])}"
                               if scored["notified"] else ""))


def _rank_now(event_id: str) -> None:
    from sqlmodel import Session, select

    from ..candidates.scoring import notify_candidates, score_event_candidates
    from ..config import load_settings
    from ..db import get_engine
    from ..models import Event

    settings = load_settings()
    engine = get_engine(settings)
    with Session(engine) as session:
        event = session.exec(select(Event).where(Event.event_id == event_id)).first()
    if event is None:
        raise LookupError(f"no event {event_id!r}; `tooflow events` lists them")
    result = score_event_candidates(event.id, engine=engine, settings=settings)
    if result.skipped:
        print(f"{event_id}: {result.skipped}")
    notify_candidates(event.id, engine=engine, settings=settings)


def _listen(args: argparse.Namespace) -> int:
    import signal
    import threading

    from ..candidates.config import CandidateConfig
    from ..candidates.listener import (
        CandidateBatcher,
        candidate_source,
        store_candidate_message,
    )
    from ..db import create_schema, get_engine
    from ..flows.candidates import handle_candidates
    from ..intake.listeners import run_source

    config = CandidateConfig.from_settings()
    if not config.kafka:
        raise ValueError("no alert stream configured: add `candidates: {kafka: {url: "
                         "kafka://host/topic, group_id: ...}}` to tooflow.yaml "
                         "(docs/candidates.md)")
    from ..config import load_settings
    from ..embedded.prefect_server import activate_prefect_api, ensure_prefect_api, is_embedded

    engine = get_engine()
    create_schema(engine)
    source = candidate_source(config.kafka)
    url = ensure_prefect_api(load_settings(), echo=print)
    if is_embedded():
        activate_prefect_api(url)  # the batches' flow runs start on the batcher's thread
    # each batch runs handle-candidates in this process (the embedded default)
    from ..candidates.store import waiting_alerts

    left = len(waiting_alerts(engine))  # stored by an earlier run that stopped before parsing
    if left:
        print(f"{left} alert(s) stored earlier but not parsed: parsing them, "
              f"{config.batch_size} per pass")
    # stored-but-unparsed alerts are parsed at start and every reparse_every seconds
    batcher = CandidateBatcher(engine, handle_candidates, batch_size=config.batch_size,
                               batch_seconds=config.batch_seconds,
                               reparse_every=config.reparse_every)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"listening to {config.kafka.get('url')} for candidate alerts (Ctrl-C stops)")
    try:
        run_source(source, engine=engine, trigger=batcher, stop=stop,
                   max_bytes=config.max_alert_bytes, store=store_candidate_message)
    finally:
        batcher.close()
    return 0


def _candidate(args: argparse.Namespace) -> int:
    from ..candidates.views import load_candidate_view, render_candidate_text

    view = load_candidate_view(args.name)
    print(render_candidate_text(view), end="")
    if not args.no_png:
        from ..candidates.plots import save_cutouts_png, save_light_curve_png

        args.png_dir.mkdir(parents=True, exist_ok=True)
        name = view.candidate.name
        lc = save_light_curve_png(view.photometry, args.png_dir / f"{name}-lightcurve.png",
                                  title=name)
        print(f"\nlight curve: {lc}")
        if view.cutouts:
            cut = save_cutouts_png(view.cutouts, args.png_dir / f"{name}-cutouts.png",
                                   title=name)
            print(f"cutouts: {cut}")
    return 0


def _vet(args: argparse.Namespace) -> int:
    from ..candidates.vetting import vet

    author = args.author or os.environ.get("TOOFLOW_USER") or getpass.getuser()
    result = vet(args.name, author=author, state=args.state, comment=args.comment,
                 reason=args.reason, classification=args.classification,
                 redshift=args.redshift, reference=args.reference, report=args.report,
                 event_id=args.event_id, followup=args.followup)
    print(f"{result.name}: {result.state} (vetting #{result.vetting_id} by {author})")
    status = 0
    for f in result.followups:
        what = "requested" if f.created else "already requested"
        print(f"  follow-up {f.facility}: {what}, {f.status} ({f.request_key})"
              f"{': ' + f.error if f.error else ''}")
        if f.status == "unsent":
            status = 1
    return status
