"""``tooflow ingest FILE...``: store notices from files and run one flow per new notice.

This is the same path a listener takes (store first, then trigger), with the
flow run in this process against the local Prefect server.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..runs.result import HandledNotice

__all__ = ["add_parser", "ingest_files", "run_flow_here"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help="store notice files and run the handle-notice flow",
                       description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", metavar="FILE", type=Path,
                   help="notice files: LVK Avro/JSON/VOEvent, GCN VOEvent/JSON, SNEWS")
    p.add_argument("--no-flow", action="store_true",
                   help="only store; `tooflow reconcile` or a listener triggers later")
    p.set_defaults(func=_ingest)


def ingest_files(files: list[Path], *, run_flow: bool = True, echo=print) -> list[dict]:
    """Store each file's bytes and run ``handle-notice`` for each new notice.

    Returns
    -------
    list of dict
        Per file: ``notice_id``, ``created`` and, when a flow ran, ``summary``:
        its :class:`~tooflow.runs.result.HandledNotice`.
    """
    from ..config import load_settings
    from ..db import create_schema, get_engine
    from ..guards.text import printable
    from ..intake.store import store_notice

    settings = load_settings()
    engine = get_engine(settings)
    create_schema(engine)
    results = []
    for file in files:
        payload = file.read_bytes()
        path = printable(str(file))  # a name that is not UTF-8 prints and stores escaped
        stored = store_notice(payload, path, engine=engine,
                              max_bytes=settings.max_notice_bytes)
        out = {"file": path, "notice_id": stored.notice_id, "created": stored.created}
        if not stored.created:
            echo(f"{path}: already stored as notice #{stored.notice_id} ({stored.status}); "
                 "no new flow run (`tooflow rerun EVENT_ID` runs it again)")
            results.append(out)
            continue
        echo(f"{path}: stored as notice #{stored.notice_id} "
             f"({len(payload)} bytes, sha256 {stored.sha256[:12]}…)")
        if run_flow:
            out["summary"] = run_flow_here(stored.notice_id, settings, echo)
        results.append(out)
    return results


def run_flow_here(notice_id: int, settings, echo) -> HandledNotice:
    """Run ``handle-notice`` for ``notice_id`` in this process and print what it did.

    Returns
    -------
    HandledNotice
        The run's result (``failed`` with the reason when a stage raised).
    """
    from ..embedded.prefect_server import use_prefect_api
    from ..views.summary import format_decisions, format_fields

    with use_prefect_api(settings, echo=echo):
        from ..flows.handle_notice import handle_notice

        t0 = time.perf_counter()
        state = handle_notice(notice_id, return_state=True)
        elapsed = time.perf_counter() - t0
    summary = state.result(raise_on_failure=False)
    if not isinstance(summary, HandledNotice):  # a stage raised: recorded by the flow
        from ..runs.failures import failure_reason

        exc = summary if isinstance(summary, BaseException) else RuntimeError(state.message)
        reason = _recorded_error(notice_id, settings) or failure_reason("flow", exc)
        echo(f"  FAILED: {reason} (recorded on notice #{notice_id}; `tooflow show`, "
             "`tooflow rerun` after the fix)")
        return HandledNotice(notice_id, failed=True, reason=reason)
    if state.is_failed():  # e.g. a queue that did not take its requests; the rest ran
        summary.failed, summary.reason = True, state.message
    if summary.rejected:
        echo(f"  REJECTED: {summary.reason}")
        return summary
    echo(f"  flow run {summary.flow_run_name!r} (handle-notice) finished in {elapsed:.1f} s: "
         f"{summary.flow_run_url or ''}")
    if state.is_failed():
        echo(f"  FAILED: {state.message}")
    for line in format_fields(summary.fields):
        echo(f"  {line}")
    echo("  programs:")
    for line in format_decisions(summary.decisions):
        echo(f"  {line}")
    from sqlmodel import Session

    from ..db import get_engine
    from ..views.summary import format_followup

    with Session(get_engine(settings)) as session:
        for line in format_followup(summary, session):
            echo(f"  {line}")
        for draft_id in summary.circulars.values():
            from ..models import CircularDraft

            draft = session.get(CircularDraft, draft_id)
            echo(f"\n---- GCN Circular draft #{draft.id} (edit before sending) ----\n"
                 f"SUBJECT: {draft.subject}\n\n{draft.body}")
    return summary


def _recorded_error(notice_id: int, settings) -> str | None:
    from sqlmodel import Session

    from ..db import get_engine
    from ..models import Notice

    with Session(get_engine(settings)) as session:
        notice = session.get(Notice, notice_id)
        return notice.error if notice is not None else None


def _ingest(args: argparse.Namespace) -> int:
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"no such file: {', '.join(missing)}")
    results = ingest_files(args.files, run_flow=not args.no_flow)
    return 1 if any(r["summary"].failed for r in results if "summary" in r) else 0
