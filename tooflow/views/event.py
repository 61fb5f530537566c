"""One view of an event: everything stored about it, for the terminal and the Prefect UI.

:func:`load_event_view` reads an event's rows into an :class:`EventView` (plain
data); :func:`render_text` prints it for ``tooflow show EVENT_ID`` and
:func:`render_markdown` writes the same for the event's Prefect artifact
(key ``event-<event id>``, updated by every flow run that changes the event).
Neither rendering needs Prefect.

Sections: the event's essentials; what needs attention (requests no queue
accepted, failed notices); every notice with its status and flow run; the gate
decisions; first light (when the fast plan was queued, how many requests, how
the optimal plan replaced it); the plans (coverage, bound); the queue requests per telescope with
their states and errors; the executed observations and the achieved coverage;
the circular drafts.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from ..models import (
    CircularDraft,
    Event,
    EventMonitor,
    ExecutedObservationRow,
    GateDecision,
    Notice,
    Plan,
    PlannedObservationRow,
    QueueRequestRow,
)

__all__ = ["CANDIDATES_SHOWN", "EventView", "NoticeLine", "PlanLine", "RequestGroup",
           "load_event_view", "render_text", "render_markdown", "flow_run_link",
           "describe_monitor"]

#: Candidates ``tooflow show`` and the event artifact name (the best by stored
#: score); the rest are counted ("N more").
CANDIDATES_SHOWN = 5

#: Request states a person must know about, with their error.
PROBLEM_STATUSES = ("unsent", "expired", "failed", "rejected")

#: How a failed request that a later plan requested again (``KEY:r2``…) is counted:
#: not a problem any more, its re-request is counted by its own state.
REREQUESTED = "failed (re-requested)"


@dataclass
class NoticeLine:
    """One notice of the event."""

    id: int
    notice_type: str | None
    format: str | None
    received: dt.datetime
    status: str
    source: str
    reason: str | None = None  #: why it was rejected
    error: str | None = None  #: why a stage failed
    flow_run_name: str | None = None
    flow_run_url: str | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PlanLine:
    """One plan of the event."""

    id: int
    program: str
    status: str
    objective: float
    upper_bound: float | None
    gap: float | None
    start: dt.datetime
    end: dt.datetime
    per_telescope: dict[str, float]
    exposures: int
    notice_id: int
    png_path: str | None = None
    lines: list[str] = field(default_factory=list)  #: coverage, solver, idle telescopes
    #: what ``objective`` is: ``of the probability`` (covered) or ``probability of
    #: detection under the model`` (:func:`~tooflow.views.summary.objective_text`)
    what: str = "of the probability"


@dataclass
class RequestGroup:
    """The event's queue requests at one telescope: counts by state, latest errors."""

    telescope: str
    counts: dict[str, int]
    errors: dict[str, str] = field(default_factory=dict)  #: problem state → latest detail
    updated: dt.datetime | None = None


@dataclass
class EventView:
    """Everything stored about one event (see :func:`load_event_view`)."""

    event_id: str
    fields: dict[str, Any]
    retracted: bool
    notices: list[NoticeLine]
    plans: list[PlanLine]
    requests: list[RequestGroup]
    executed: dict[str, int]
    coverage: dict[str, float]
    area: dict[str, float]
    circulars: list[tuple[int, str, dt.datetime]]
    coverage_error: str | None = None
    last_error: str | None = None
    latest_notice_id: int | None = None  #: the notice the event reads (its own order)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    """The best :data:`CANDIDATES_SHOWN` candidates by stored score, best first
    (``name``, ``score``, ``state``, ``report``); the full table: ``tooflow
    candidates EVENT_ID``."""
    candidates_total: int = 0  #: how many listed candidates the event has
    monitor: str | None = None  #: where the event's monitor stands, one line
    coverage_added: dict[str, float] = field(default_factory=dict)
    """Per telescope, the probability its executed exposures alone cover (no other
    telescope's): what it adds to the network."""
    first_light: list[str] = field(default_factory=list)
    """When each fast plan reached the queues and what replaced it, a line each
    (:func:`tooflow.views.summary.first_light_lines`)."""

    @property
    def gate_notice(self) -> NoticeLine | None:
        """The notice whose gate decisions stand: the one the event reads, else the last."""
        gated = [n for n in self.notices if n.decisions]
        return next((n for n in gated if n.id == self.latest_notice_id),
                    gated[-1] if gated else None)

    @property
    def attention(self) -> list[str]:
        """What a person on duty must look at, one sentence each (empty: nothing)."""
        out = []
        for group in self.requests:
            for status in PROBLEM_STATUSES:
                n = group.counts.get(status, 0)
                if n:
                    what = {"unsent": "not accepted by the queue yet (retried until the "
                                      "window closes)",
                            "expired": "never accepted before the window closed",
                            "failed": "failed at the telescope",
                            "rejected": "rejected by the queue"}[status]
                    out.append(f"{group.telescope}: {n} request(s) {what}: "
                               f"{group.errors.get(status, '')}".rstrip(": "))
        for n in self.notices:
            if n.status == "failed":
                out.append(f"notice #{n.id}: {n.error or 'a stage failed'} (flow run "
                           f"{n.flow_run_name or n.flow_run_url or '?'})")
        return out


def flow_run_link(ui_base: str | None, run_id: str | None) -> str | None:
    """The Prefect UI page of a flow run (None without a UI URL or a run)."""
    if not ui_base or not run_id:
        return None
    return f"{ui_base.rstrip('/')}/runs/flow-run/{run_id}"


def describe_monitor(row: EventMonitor) -> str:
    """One line on an event's monitor, for ``tooflow show`` and the event's page."""
    polls = f"{row.polls} poll(s)" + (f", last {row.last_poll:%Y-%m-%d %H:%M} UTC"
                                      if row.last_poll else "")
    if row.status == "watching":
        return (f"watching for {', '.join(row.programs or [])}: {polls}; "
                f"window closes {row.closes:%Y-%m-%d %H:%M} UTC")
    drafted = f"drafted {row.drafted:%Y-%m-%d %H:%M} UTC" if row.drafted else "drafted"
    return f"done, {drafted} after {polls}"


def load_event_view(session: Session, event_id: str, *, ui_base: str | None = None,
                    settings=None, coverage: bool = True,
                    candidates: bool = True) -> EventView:
    """Read everything stored about ``event_id``.

    Parameters
    ----------
    session : Session
        Database session.
    event_id : str
        ``S230518h``, ``MS181101ab``, ``Fermi-GBM-680977982``...
    ui_base : str, optional
        Prefect UI base URL (``http://127.0.0.1:4200``) for the flow-run links.
    settings : Settings, optional
        Configuration (sky map store), for the achieved coverage.
    coverage : bool
        Compute the probability the executed exposures cover (reads the sky map).
    candidates : bool
        Read the best :data:`CANDIDATES_SHOWN` candidates by their stored
        scores and count the others, in SQL (the web page pages them itself,
        :mod:`tooflow.web.candidates`, and passes False).

    Raises
    ------
    LookupError
        No such event.
    """
    from ..records.event import event_fields, latest_localization
    from ..stages.submit import latest_requests
    from .summary import first_light_lines, objective_text, plan_lines

    event = session.exec(select(Event).where(Event.event_id == event_id)).first()
    if event is None:
        raise LookupError(f"no event {event_id!r}; `tooflow events` lists them")
    fields = event_fields(event, latest_localization(session, event.id))
    notices = []
    for n in session.exec(select(Notice).where(Notice.event_pk == event.id)
                          .order_by(Notice.id)):
        decisions = session.exec(select(GateDecision).where(GateDecision.notice_id == n.id)
                                 .order_by(GateDecision.id)).all()
        notices.append(NoticeLine(
            id=n.id, notice_type=n.notice_type, format=n.format, received=n.received,
            status=n.status, source=n.source, reason=n.rejection_reason, error=n.error,
            flow_run_name=n.flow_run_name, flow_run_url=flow_run_link(ui_base, n.flow_run_id),
            decisions=[{"program": d.program, "triggered": d.triggered, "reason": d.reason}
                       for d in decisions]))
    plans = []
    for p in session.exec(select(Plan).where(Plan.event_pk == event.id).order_by(Plan.id)):
        n_obs = len(session.exec(select(PlannedObservationRow.id)
                                 .where(PlannedObservationRow.plan_id == p.id)).all())
        plans.append(PlanLine(id=p.id, program=p.program, status=p.status,
                              objective=p.objective, upper_bound=p.upper_bound, gap=p.gap,
                              start=p.start, end=p.end, per_telescope=dict(p.per_telescope),
                              exposures=n_obs, notice_id=p.notice_id, png_path=p.png_path,
                              lines=plan_lines(p, p.program),
                              what=objective_text(p.objective_name)))
    by_tel: dict[str, list[QueueRequestRow]] = defaultdict(list)
    for q in session.exec(select(QueueRequestRow).where(QueueRequestRow.event_pk == event.id)
                          .order_by(QueueRequestRow.updated)):
        by_tel[q.telescope].append(q)
    requests = []
    for tel, rows in sorted(by_tel.items()):
        latest = {id(q) for q in latest_requests(rows).values()}
        states = [REREQUESTED if q.status == "failed" and id(q) not in latest else q.status
                  for q in rows]
        errors = {st: q.detail for q, st in zip(rows, states, strict=True)
                  if st in PROBLEM_STATUSES and q.detail}
        requests.append(RequestGroup(tel, dict(Counter(states)), errors,
                                     max(q.updated for q in rows)))
    executed_rows = session.exec(select(ExecutedObservationRow)
                                 .where(ExecutedObservationRow.event_pk == event.id)).all()
    cov: dict[str, float] = {}
    area: dict[str, float] = {}
    cov_added: dict[str, float] = {}
    cov_error = None
    if executed_rows and coverage:
        try:
            from ..config import load_settings
            from ..records.coverage import event_coverage

            cov, area, cov_added = event_coverage(session, event.id, executed_rows,
                                                  settings or load_settings(), with_added=True)
        except Exception as exc:  # noqa: BLE001 - the rest of the view still helps
            cov_error = f"{type(exc).__name__}: {exc}"
    watcher = session.exec(select(EventMonitor).where(EventMonitor.event_pk == event.id)).first()
    circulars = [(c.id, c.subject, c.created) for c in session.exec(
        select(CircularDraft).where(CircularDraft.event_pk == event.id)
        .order_by(CircularDraft.id))]
    ranked, n_candidates = [], 0
    if candidates:
        from ..candidates.views import count_ranked, ranked_links

        n_candidates = count_ranked(session, event.id)
        ranked = [{"name": c.name, "score": link.score, "state": c.state, "report": c.report}
                  for link, c in ranked_links(session, event.id, limit=CANDIDATES_SHOWN)]
    return EventView(event_id=event.event_id, fields=fields, retracted=event.retracted,
                     notices=notices, plans=plans, requests=requests,
                     executed=dict(Counter(e.telescope for e in executed_rows)),
                     coverage=cov, area=area, circulars=circulars, coverage_error=cov_error,
                     coverage_added=cov_added,
                     last_error=event.last_error, latest_notice_id=event.latest_notice_id,
                     candidates=ranked, candidates_total=n_candidates,
                     monitor=describe_monitor(watcher) if watcher is not None else None,
                     first_light=first_light_lines(session, event.id))


def _pct(x: float | None) -> str:
    return f"{100 * (x or 0.0):.1f} %"


def _per_tel(values: dict[str, float]) -> str:
    return ", ".join(f"{t} {_pct(p)}" for t, p in sorted(values.items()) if t != "total")


def _plan_status(p: PlanLine) -> str:
    return (f"[{p.status}] {p.exposures} exposure(s), window {p.start:%Y-%m-%d %H:%M} – "
            f"{p.end:%Y-%m-%d %H:%M} UTC, from notice #{p.notice_id}")


def _request_line(g: RequestGroup) -> str:
    return ", ".join(f"{n} {s}" for s, n in sorted(g.counts.items()))


def _observed_line(v: EventView) -> str:
    total = sum(v.executed.values())
    per = ", ".join(f"{t} {n}" for t, n in sorted(v.executed.items()))
    line = f"{total} exposure(s) [{per}]"
    if v.coverage:
        line += (f"; {_pct(v.coverage.get('total'))} of the probability covered"
                 f" ({v.area.get('total', 0.0):.0f} deg²)")
        tels = [t for t in sorted(v.coverage) if t != "total"]
        if len(tels) > 1 and v.coverage_added:
            line += " [" + "; ".join(
                f"{t} {_pct(v.coverage[t])} alone, adds {_pct(v.coverage_added.get(t))}"
                for t in tels) + "]"
        elif _per_tel(v.coverage):
            line += f" [{_per_tel(v.coverage)}]"
    elif v.coverage_error:
        line += f"; coverage not computed: {v.coverage_error}"
    return line


def render_text(view: EventView) -> str:
    """The event's page for the terminal (``tooflow show EVENT_ID``)."""
    from .summary import format_decisions, format_fields

    lines = format_fields(view.fields)
    if view.last_error:
        lines.append(f"LAST ERROR: {view.last_error} (`tooflow rerun {view.event_id}`)")
    if view.attention:
        lines.append("ATTENTION:")
        lines += [f"  ! {a}" for a in view.attention]
    lines.append(f"notices ({len(view.notices)}):")
    for n in view.notices:
        lines.append(f"  #{n.id:<5} {n.notice_type or '?':<13} {n.format or '?':<8} "
                     f"{n.received:%Y-%m-%d %H:%M:%S} {n.status:<9} {n.source}")
        if n.error or n.reason:
            label = 'FAILED' if n.status == 'failed' else n.status
            lines.append(f"         {label}: {n.error or n.reason}")
        if n.flow_run_url or n.flow_run_name:
            lines.append(f"         flow run {n.flow_run_name or ''}: {n.flow_run_url or '-'}")
    reads = view.gate_notice
    for n in view.notices:
        if n.decisions and n is not reads:
            on = [d["program"] for d in n.decisions if d["triggered"]]
            lines.append(f"gate (notice #{n.id}): triggered {', '.join(on) or 'no program'}")
    if reads is not None:
        lines.append(f"gate (notice #{reads.id}):")
        lines += format_decisions(reads.decisions)
    lines += view.first_light
    if view.plans:
        lines.append(f"plans ({len(view.plans)}):")
        for p in view.plans:
            lines += [f"  {line}" for line in p.lines]
            lines.append(f"    {_plan_status(p)}")
            if p.png_path:
                lines.append(f"    picture: {p.png_path}")
    if view.requests:
        lines.append(f"queue requests ({sum(sum(g.counts.values()) for g in view.requests)}):")
        for g in view.requests:
            lines.append(f"  {g.telescope}: {_request_line(g)}")
            for status, detail in sorted(g.errors.items()):
                lines.append(f"         {status}: {detail}")
    if view.monitor:
        lines.append(f"monitor: {view.monitor}")
    if view.executed:
        lines.append(f"observed: {_observed_line(view)}")
    if view.candidates:
        lines.append(f"candidates: {_candidates_line(view)} "
                     f"(`tooflow candidates {view.event_id}`)")
    if view.circulars:
        lines.append(f"circular drafts ({len(view.circulars)}):")
        for cid, subject, created in view.circulars:
            lines.append(f"  #{cid} {created:%Y-%m-%d %H:%M} \"{subject}\"")
        lines.append(f"  (`tooflow circular {view.event_id}` prints the latest)")
    return "\n".join(lines)


def _candidates_line(view: EventView) -> str:
    shown = [f"{c['name']} {c['score']:.2f}" if c["score"] is not None else c["name"]
             for c in view.candidates]
    shown = [f"{text} ({c['state']}{', report' if c['report'] else ''})"
             for text, c in zip(shown, view.candidates, strict=False)]
    more = max(view.candidates_total, len(view.candidates)) - len(view.candidates)
    return "; ".join(shown) + (f"; {more} more" if more > 0 else "")


def _md(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(view: EventView) -> str:
    """The event's page as markdown (its Prefect artifact)."""
    from .summary import format_fields

    head = format_fields(view.fields)
    lines = [f"## {view.event_id}", "", *[f"{line}  " for line in head], ""]
    if view.last_error:
        lines += [f"**Last error:** {_md(view.last_error)}", ""]
    if view.attention:
        lines += ["### ⚠ Attention", ""] + [f"* **{_md(a)}**" for a in view.attention] + [""]
    lines += ["### Notices", "", "| # | type | format | received (UTC) | status | flow run |",
              "| --- | --- | --- | --- | --- | --- |"]
    for n in view.notices:
        run = (f"[{_md(n.flow_run_name or 'run')}]({n.flow_run_url})" if n.flow_run_url
               else _md(n.flow_run_name or ""))
        status = n.status + (f": {_md(n.error or n.reason)}" if n.error or n.reason else "")
        lines.append(f"| {n.id} | {_md(n.notice_type or '?')} | {n.format or '?'} | "
                     f"{n.received:%Y-%m-%d %H:%M:%S} | {status} | {run} |")
    last = view.gate_notice
    if last is not None:
        lines += ["", f"### Gate (notice #{last.id})", "", "| program | triggered | why |",
                  "| --- | --- | --- |"]
        lines += [f"| {_md(d['program'])} | {'**yes**' if d['triggered'] else 'no'} | "
                  f"{_md(d['reason'])} |" for d in last.decisions]
    if view.first_light:
        lines += ["", "### First light", ""]
        lines += [f"  * {_md(line.strip())}" if line.startswith(" ") else f"* {_md(line)}"
                  for line in view.first_light]
    if view.plans:
        lines += ["", "### Plans", ""]
        for p in view.plans:
            first, *rest = p.lines or [f"plan #{p.id} ({p.program})"]
            lines.append(f"* {_md(first)}")
            lines += [f"  * {_md(line.strip())}" for line in rest]
            lines.append(f"  * {_md(_plan_status(p))}")
    if view.requests:
        lines += ["", "### Queue requests", "", "| telescope | states | errors |",
                  "| --- | --- | --- |"]
        lines += [f"| {g.telescope} | {_request_line(g)} | "
                  f"{_md('; '.join(f'{s}: {d}' for s, d in sorted(g.errors.items())))} |"
                  for g in view.requests]
    if view.monitor:
        lines += ["", f"**Monitor:** {_md(view.monitor)}"]
    if view.executed:
        lines += ["", "### Observed", "", _md(_observed_line(view))]
    if view.candidates:
        lines += ["", "### Candidates", "", _md(_candidates_line(view))]
    if view.circulars:
        lines += ["", "### Circular drafts", ""]
        lines += [f"* #{cid} {created:%Y-%m-%d %H:%M} UTC: {_md(subject)}"
                  for cid, subject, created in view.circulars]
    return "\n".join(lines)
