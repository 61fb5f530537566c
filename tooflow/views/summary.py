"""Short, readable text summaries of events for the terminal."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from ..runs.result import HandledNotice

__all__ = ["first_light_lines", "format_fields", "format_decisions", "format_followup",
           "not_observable_text", "plan_lines"]


def _num(value: Any, fmt: str) -> str:
    return format(value, fmt) if isinstance(value, int | float) else "?"


def format_fields(f: dict[str, Any]) -> list[str]:
    """The essentials of an event's fields as a few lines."""
    flags = []
    if f.get("is_mock"):
        flags.append("mock")
    if f.get("is_retraction"):
        flags.append("RETRACTED")
    for key in ("group", "search", "pipeline"):
        if f.get(key):
            flags.append(str(f[key]))
    lines = [f"{f.get('event_id')}  {f.get('kind')}  {f.get('notice_type')}  "
             f"{f.get('time', '?')}  [{', '.join(flags)}]"]
    if "area_90" in f:
        loc = (f"localization: 90% area {_num(f.get('area_90'), '.0f')} deg² "
               f"(50%: {_num(f.get('area_50'), '.0f')} deg²)")
        if f.get("localization_state") == "circle":
            loc = f"localization: circle of radius {_num(f.get('error_radius'), '.3g')}°"
        elif f.get("localization_state") in ("ellipse", "polygon"):
            shape = "error ellipse" if f["localization_state"] == "ellipse" else "error box"
            loc = f"localization: {shape}, 90% area {_num(f.get('area_90'), '.3g')} deg²"
        if "ra" in f:
            loc += f", most probable RA {_num(f['ra'], '.3f')}° Dec {_num(f['dec'], '+.3f')}°"
        lines.append(loc)
    elif f.get("localization_state"):
        lines.append(f"localization: {f['localization_state']}")
    if f.get("localization_warning"):
        lines.append(f"localization WARNING: {f['localization_warning']}")
    if "distance_mean" in f:
        lines.append(f"distance: {_num(f['distance_mean'], '.1f')} ± "
                     f"{_num(f.get('distance_std'), '.1f')} Mpc")
    extra = [f"{k}={_num(f[k], '.3g')}" for k in
             ("far", "HasNS", "HasRemnant", "p_BNS", "p_NSBH", "p_BBH", "p_Terrestrial",
              "signalness") if k in f]
    if extra:
        lines.append("properties: " + ", ".join(extra))
    return lines


def format_decisions(decisions: list[dict[str, Any]]) -> list[str]:
    """One line per program: ✔ triggered / ✘ not, and why."""
    return [f"  {'✔' if d['triggered'] else '✘'} {d['program']}: {d['reason']}"
            for d in decisions]


def idle_telescope_lines(plan) -> list[str]:
    """``TELESCOPE: why it got nothing[; next observable from …]`` for a stored plan."""
    from ..planning.result import idle_lines

    idle = plan.idle or {}
    reasons = {name: v.get("reason", "?") for name, v in idle.items()}
    times = {name: v["next_observable"] for name, v in idle.items() if "next_observable" in v}
    days = next((v["lookahead_days"] for v in idle.values() if "lookahead_days" in v), 14)
    return [f"{name}: {line}" for name, line in idle_lines(reasons, times, days)]


def not_observable_text(plan) -> str:
    """One sentence for a plan without exposures: the window and, per telescope, why."""
    text = (f"not observable in the window {plan.start:%Y-%m-%d %H:%M} – "
            f"{plan.end:%Y-%m-%d %H:%M} UTC")
    if not plan.telescopes:
        return text + ": the program names no telescope"
    lines = idle_telescope_lines(plan)
    return text + (": " + "; ".join(lines) if lines else "")


def per_telescope_text(plan) -> str:
    """Each busy telescope's own union and, with several, what it adds to the network.

    ``ZTF 1.6 % alone, adds 1.3 %; DECam 9.9 % alone, adds 9.9 %`` (a plan stored
    before the added figures were kept shows each telescope's own union only).
    """
    idle = set(plan.idle or {})
    added = getattr(plan, "per_telescope_added", None) or {}
    busy = [(t, p) for t, p in sorted(plan.per_telescope.items()) if t not in idle]
    if len(busy) < 2 or not added:
        return ", ".join(f"{t} {100 * p:.1f} %" for t, p in busy)
    return "; ".join(f"{t} {100 * p:.1f} % alone, adds {100 * added.get(t, 0.0):.1f} %"
                     for t, p in busy)


def objective_text(name: str | None) -> str:
    """What a stored plan's percentage is: ``of the probability`` (covered; also a plan
    stored without an objective name) or ``probability of detection under the model``."""
    from ..planning.result import objective_words

    return objective_words(name) if name == "detection" else "of the probability"


def plan_lines(plan, program: str) -> list[str]:
    """A stored plan in a few lines: coverage and solver, or "not observable in the window"."""
    from ..planning.result import describe_solver

    if not plan.observable:
        return [f"plan #{plan.id} ({program}): {not_observable_text(plan)}"]
    per = per_telescope_text(plan)
    name = getattr(plan, "objective_name", None) or "coverage"
    what = objective_text(name)
    solver = describe_solver(plan.solver_status, plan.gap, getattr(plan, "gap_thresholds", None),
                             name)
    lines = [f"plan #{plan.id} ({program}): {100 * plan.objective:.1f} % {what} "
             f"[{per}], bound {100 * (plan.upper_bound or 0):.1f} %, "
             f"gap {100 * (plan.gap or 0):.2f} %, solved in {plan.solve_time or 0:.1f} s",
             f"  solver: {solver}"]
    covered, detected = getattr(plan, "covered", None), getattr(plan, "detected", None)
    if covered is not None:
        lines.append(f"  objective {name}: probability covered {100 * covered:.1f} %"
                     + (f", of detection {100 * detected:.1f} % ({plan.counterpart})"
                        if detected is not None else ""))
    lines += [f"  nothing for {line}" for line in idle_telescope_lines(plan)]
    return lines


def first_light_lines(session: Session, event_pk: int,
                      plan_ids: set[int] | None = None) -> list[str]:
    """First light of an event: when each fast plan was queued, how many requests,
    and how the optimal plan replaced a first block (:mod:`tooflow.records.first_light`);
    for the whole event, also where the listener's first light failed."""
    from ..records.first_light import first_light_records, listener_warnings

    lines = [line for rec in first_light_records(session, event_pk, plan_ids)
             for line in rec.lines()]
    return lines + (listener_warnings(session, event_pk) if plan_ids is None else [])


def format_followup(flow_summary: HandledNotice, session: Session) -> list[str]:
    """First light, plans, submissions, observations and circular drafts of a flow run,
    a line each."""
    from ..models import CircularDraft, Plan

    lines = []
    fast = {sub["first_light"]["plan_id"] for sub in flow_summary.submitted.values()
            if (sub.get("first_light") or {}).get("plan_id") is not None}
    if fast:
        event_pk = session.get(Plan, next(iter(fast))).event_pk
        lines += first_light_lines(session, event_pk, fast)
    for program, plan_id in flow_summary.plans.items():
        if plan_id is None:
            lines.append(f"plan ({program}): nothing to plan (the event has no sky map)")
            continue
        plan = session.get(Plan, plan_id)
        lines += plan_lines(plan, program)
        if plan.png_path:
            lines.append(f"  picture: {plan.png_path}")
    for program, sub in flow_summary.submitted.items():
        queued = ", ".join(f"{t} {n}" for t, n in sorted(sub["submitted"].items())) or "nothing"
        again = sum(sub["already_queued"].values())
        unsent = sub.get("unsent") or {}
        errors = "; ".join(f"{t}: {e}" + (f" ({unsent[t]} request(s) kept unsent, retried by "
                                          "`tooflow reconcile`)" if unsent.get(t) else "")
                           for t, e in sub["errors"].items())
        held = "; ".join(f"{t}: {e}" for t, e in (sub.get("held") or {}).items())
        rerequested = sum((sub.get("rerequested") or {}).values())
        lines.append(f"submitted ({program}): {queued}"
                     + (f" ({rerequested} re-request(s) of failed ones)" if rerequested
                        else "")
                     + (f" ({again} already queued)" if again else "")
                     + (f"; errors: {errors}" if errors else "")
                     + (f"; held back: {held}" if held else ""))
    if flow_summary.monitor == "scheduled":
        lines.append("monitor: the monitor-events deployment polls the event on its schedule "
                     "and drafts the circulars once no request is open or the window closed "
                     f"(`tooflow show {flow_summary.event_id}`)")
    progress = flow_summary.progress
    if progress:
        per = ", ".join(f"{t} {100 * p:.1f} %" for t, p in sorted(progress["coverage"].items())
                        if t != "total")
        lines.append(f"observed: {progress['executed']} exposures, {progress['failed']} failed, "
                     f"{progress['open']} still queued; "
                     f"{100 * progress['coverage'].get('total', 0.0):.1f} % of the probability "
                     f"covered" + (f" [{per}]" if per else "")
                     + (f" ({flow_summary.polls} poll(s))" if flow_summary.polls else ""))
    for _program, draft_id in flow_summary.circulars.items():
        draft = session.get(CircularDraft, draft_id)
        event_id = flow_summary.event_id
        lines.append(f"circular draft #{draft.id}: \"{draft.subject}\" "
                     f"(`tooflow circular {event_id}`)")
    return lines
