"""Plan observations for a triggered program and store the plan."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from ..config import Settings
from ..models import Event, Plan, PlannedObservationRow
from ..programs import Program, load_programs
from ..records.event import load_event_moc

__all__ = ["ProgramPlan", "idle_record", "plan_for_program", "plan_program", "program_by_name",
           "store_plan", "strategy_for", "targets_for", "unobservable_plans"]


def program_by_name(settings: Settings, name: str) -> Program:
    """The configured program called ``name``."""
    for program in load_programs(settings.resolved_programs_file):
        if program.name == name:
            return program
    raise LookupError(f"no science program named {name!r}")


def strategy_for(program: Program, settings: Settings | None = None) -> dict[str, Any]:
    """Per-telescope strategies from a program's ``strategy.telescopes`` section.

    A telescope's threshold (``min_marginal``) comes from the program, else from
    the settings' ``planning: {min_marginal_probability: {TELESCOPE: value}}``,
    else from the telescope's description.
    """
    from ..planning import Strategy, available_telescopes, default_strategy, load_telescope

    per = program.strategy.get("telescopes") or {}
    out = {name: Strategy(**spec) for name, spec in per.items()}
    overrides = settings.planning.min_marginal_probability if settings is not None else {}
    known = set(available_telescopes())
    for name, value in overrides.items():
        if name not in program.telescopes or name not in known:
            continue
        strategy = out.get(name) or default_strategy(load_telescope(name))
        if strategy.min_marginal is None:
            strategy.min_marginal = float(value)
        out[name] = strategy
    return out


def pointed_targets(strategies: dict, loc, event_id: str) -> dict[str, list]:
    """Targets of telescopes in ``pointed`` mode: one pointing on the source position.

    Telescopes in ``galaxies`` mode get targets from :func:`galaxy_targets` when a
    galaxy catalog is configured; others tile their field grid.
    """
    from ..planning import Target

    out = {}
    for name, strategy in strategies.items():
        if strategy.mode == "pointed" and loc is not None and loc.ra is not None:
            out[name] = [Target(name=event_id, ra=float(loc.ra), dec=float(loc.dec))]
    return out


def targets_for(strategies: dict, moc, loc, event_id: str,
                settings: Settings) -> dict[str, list]:
    """Pointed and galaxy targets of the telescopes whose strategy asks for them."""
    targets = pointed_targets(strategies, loc, event_id)
    targets.update(_galaxy_targets(strategies, moc, settings, exclude=targets))
    return targets


@dataclass
class ProgramPlan:
    """A program's plan of an event's map, not stored yet (:func:`plan_program`)."""

    #: The planner's plan (:class:`tooflow.planning.Plan`).
    plan: Any
    #: The multi-order map planned on, and the localization row it comes from.
    moc: Any
    loc: Any
    #: Telescopes the program names that tooflow has no description of: why nothing.
    unknown: dict[str, dict]
    #: Days searched for when the localization next becomes observable.
    lookahead_days: float


def plan_program(session: Session, event: Event, program: Program, settings: Settings, *,
                 notice_id: int | None = None, start: dt.datetime | None = None,
                 now: dt.datetime | None = None, time_limit: float | None = None,
                 telescopes: Sequence[str] | None = None, method: str = "optimal",
                 progress: Callable[[str], None] | None = None) -> ProgramPlan | None:
    """Plan ``program``'s observations of an event's map, as the flow does; store nothing.

    The one code path of the ``plan`` stage (:func:`plan_for_program`) and of
    ``tooflow plan EVENT_ID``: the window starts at ``start`` (default: now, or
    the event time if later) and lasts the program's ``strategy.window_hours``
    (default 24); the solver's limit is ``time_limit``, else the program's
    ``strategy.time_limit`` (default 20 s); the program's strategies, pointed
    and galaxy targets, objective and counterpart model are the planner's.

    Parameters
    ----------
    session : Session
        Open database session.
    event : Event
        The event.
    program : Program
        The science program (telescopes and strategy).
    settings : Settings
        Configuration (sky-map store, planning defaults).
    notice_id : int, optional
        Plan on this notice's map if it has one (else the event's latest).
    start, now : datetime, optional
        Window start; the present (default: the clock).
    time_limit : float, optional
        Solver time limit, s.
    telescopes : sequence of str, optional
        Plan for these of the program's telescopes only.
    method : str
        ``optimal`` (OR-Tools) or ``greedy``.
    progress : callable, optional
        Told what the planner is doing (a line at a time).

    Returns
    -------
    ProgramPlan or None
        None when the event has no map to plan on.
    """
    from ..planning import available_telescopes, plan_skymap

    moc, loc = load_event_moc(session, event.id, settings, notice_id)
    if moc is None:
        return None
    known = set(available_telescopes())
    wanted = list(telescopes) if telescopes else list(program.telescopes)
    names = [t for t in wanted if t in known]
    now = now or dt.datetime.now(dt.UTC)
    start = start or max(now, event.time)
    end = start + dt.timedelta(hours=float(program.strategy.get("window_hours", 24)))
    limit = time_limit or float(program.strategy.get("time_limit", 20))
    days = float(program.strategy.get("lookahead_days", 14))
    unknown = {t: {"reason": "tooflow has no description of this telescope "
                             "(tooflow/telescopes/data)"}
               for t in wanted if t not in known}
    if names:
        strategies = strategy_for(program, settings)
        if telescopes:
            strategies = {k: v for k, v in strategies.items() if k in names}
        targets = targets_for(strategies, moc, loc, event.event_id, settings)
        objective = str(program.strategy.get("objective", "coverage"))
        outlived = (model_outlived(program.strategy.get("counterpart"), event.time, start)
                    if objective == "detection" else None)
        if outlived:
            objective = "coverage"
            if progress:
                progress(outlived)
        plan = plan_skymap(moc, names, start, end, strategies or None,
                           time_limit=limit, targets=targets or None, lookahead_days=days,
                           objective=objective,
                           counterpart=program.strategy.get("counterpart"),
                           event_time=event.time, method=method, progress=progress)
        if outlived:
            plan.notes.insert(0, outlived)
            plan.counterpart = f"{plan.counterpart or 'counterpart model'}; {outlived}"
    else:
        plan = _no_telescope_plan(start, end)
    return ProgramPlan(plan, moc, loc, unknown, days)


def model_outlived(counterpart, event_time: dt.datetime, start: dt.datetime) -> str | None:
    """Why a detection plan would be meaningless: the window starts past the model's data.

    A replayed archival notice (the README's MS181101ab, a drill on an old event)
    is planned days or years after its merger time, where the counterpart model
    has no photometry and its extrapolated decline says nothing can be detected.
    Such a window is planned for coverage instead, and the plan says why.

    Parameters
    ----------
    counterpart : str, dict or None
        The program's ``strategy.counterpart`` (default: the kilonova model).
    event_time, start : datetime
        The merger time and the window's start.

    Returns
    -------
    str or None
        The reason, or None when the model covers the window's start.

    Examples
    --------
    >>> import datetime as dt
    >>> t0 = dt.datetime(2018, 11, 1, tzinfo=dt.UTC)
    >>> model_outlived("kilonova", t0, t0 + dt.timedelta(days=1)) is None
    True
    >>> model_outlived("kilonova", t0, t0 + dt.timedelta(days=400))[:40]
    'planned for coverage: the window starts '
    """
    from ..planning.detection import resolve_model

    model = resolve_model(counterpart)
    age = (start - event_time).total_seconds() / 86400.0
    if age <= model.span_days:
        return None
    return (f"planned for coverage: the window starts {age:.0f} days after the event, "
            f"beyond the {model.span_days:.1f} days the {model.name} model's photometry "
            f"spans (objective detection needs a window within them)")


def plan_for_program(notice_id: int, program_name: str, *, engine: Engine,
                     settings: Settings, start: dt.datetime | None = None,
                     now: dt.datetime | None = None, time_limit: float | None = None,
                     picture: bool = True) -> int | None:
    """Plan a program's observations of an event's latest map; store the plan.

    The window starts at ``start`` (default: now, or the event time if later)
    and lasts the program's ``strategy.window_hours`` (default 24). The program's
    ``strategy.objective`` (``coverage``, default, or ``detection``) is what the
    planner maximises, with ``strategy.counterpart`` (``{model: kilonova,
    spread: 1.0}``; docs/planning.md) as the counterpart model. Earlier
    plans of the same program for the event are marked ``superseded``.

    A plan with no exposure is stored too: it says, per telescope, why nothing
    was planned and when the localization next becomes observable (within the
    program's ``strategy.lookahead_days``, default 14), in ``Plan.idle``. A
    program naming no telescope tooflow knows gets an empty plan saying so.

    Returns
    -------
    int or None
        The new plan's id, or None when the event has no map to plan on.
    """
    program = program_by_name(settings, program_name)
    with Session(engine, expire_on_commit=False) as session:
        from ..models import Notice

        notice = session.get(Notice, notice_id)
        event = session.get(Event, notice.event_pk)
        planned = plan_program(session, event, program, settings, notice_id=notice_id,
                               start=start, now=now, time_limit=time_limit)
        if planned is None:
            return None
        plan, moc, loc = planned.plan, planned.moc, planned.loc
        unknown, days = planned.unknown, planned.lookahead_days
        row = store_plan(session, plan, event=event, notice_id=notice_id, loc=loc,
                         program=program.name, idle={**idle_record(plan, days), **unknown},
                         extra_telescopes=list(unknown))
        if picture:
            row.png_path = _draw(plan, moc, settings, event.event_id, row.id)
        session.add(row)
        session.commit()
        return row.id


def store_plan(session: Session, plan, *, event: Event, notice_id: int, loc, program: str,
               idle: dict, extra_telescopes: list[str] | None = None,
               supersede: bool = True) -> Plan:
    """Store a planner's :class:`~tooflow.planning.Plan` and its observations (not committed).

    With ``supersede``, the program's earlier plans of the event still
    ``planned`` or ``submitted`` become ``superseded``. Each observation's
    request key carries the event id.
    """
    if supersede:
        for old in session.exec(select(Plan).where(Plan.event_pk == event.id,
                                                   Plan.program == program,
                                                   Plan.status.in_(["planned", "submitted"]))
                                ).all():
            old.status = "superseded"
            session.add(old)
    row = Plan(event_pk=event.id, notice_id=notice_id, localization_id=loc.id,
               program=program, start=plan.start, end=plan.end,
               telescopes=list(plan.telescopes) + list(extra_telescopes or []),
               objective=plan.objective,
               upper_bound=plan.bound, gap=plan.gap, gap_thresholds=plan.gap_thresholds,
               solve_time=plan.solve_time,
               solver_status=plan.status,
               per_telescope={k: float(v) for k, v in plan.per_telescope.items()},
               idle=idle,
               objective_name=plan.objective_name, covered=plan.covered,
               detected=plan.detected, counterpart=plan.counterpart,
               per_telescope_added={k: float(v) for k, v in plan.per_telescope_added.items()})
    session.add(row)
    session.flush()
    session.add_all(PlannedObservationRow(
        plan_id=row.id, telescope=o.telescope, field_id=o.field_id, target=o.target,
        ra=o.ra, dec=o.dec, filter=o.filter, exposure_time=o.exposure_time,
        start_time=o.start_time, probability=o.probability, visit=o.visit,
        request_key=replace(o, event_id=event.event_id).request_key)
        for o in plan.observations)
    return row


def idle_record(plan, days: float) -> dict[str, dict]:
    """``Plan.idle`` for the database: reason and next observable time (ISO) per telescope."""
    out = {}
    for name, reason in plan.idle.items():
        out[name] = {"reason": reason, "lookahead_days": days}
        if name in plan.next_observable:
            t = plan.next_observable[name]
            out[name]["next_observable"] = t.isoformat() if t else None
    return out


def _no_telescope_plan(start: dt.datetime, end: dt.datetime):
    """The empty plan of a program without a telescope tooflow can plan for."""
    from ..planning import Plan

    return Plan(observations=[], objective=0.0, bound=0.0, gap=0.0, solve_time=0.0,
                status="EMPTY", per_telescope={}, start=start, end=end)


def unobservable_plans(plan_ids: dict[str, int | None], *, engine: Engine
                       ) -> dict[str, str]:
    """Programs whose plan has no exposure, each with a sentence saying why.

    The sentence ("not observable in the window …; ZTF: next observable from …")
    goes into the notification and the summary.
    """
    from ..views.summary import not_observable_text

    out = {}
    with Session(engine) as session:
        for program, plan_id in plan_ids.items():
            row = session.get(Plan, plan_id) if plan_id is not None else None
            if row is not None and not row.observable:
                out[program] = f"{program}: {not_observable_text(row)}"
    return out


def _galaxy_targets(strategies: dict, moc, settings: Settings, exclude) -> dict[str, list]:
    """Galaxy targets for telescopes in ``galaxies`` mode, if the planner provides them."""
    wanted = [n for n, s in strategies.items() if s.mode == "galaxies" and n not in exclude]
    if not wanted:
        return {}
    from ..planning.galaxies import targets_for_skymap

    out = {name: targets_for_skymap(moc, settings=settings, telescope=name) for name in wanted}
    # No catalogue configured (or no galaxy in the region): grid telescopes tile instead.
    return {name: targets for name, targets in out.items() if targets}


def _draw(plan, moc, settings: Settings, event_id: str, plan_id: int) -> str | None:
    import warnings

    from ..planning.plot import plot_plan

    path = settings.home / "plans" / f"{event_id}-plan{plan_id}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # ligo.skymap imports reproject's private healpix utilities (harmless here).
        warnings.filterwarnings("ignore", message=".*reproject.healpix.utils.*")
        plot_plan(plan, moc, path, title=f"{event_id}: plan {plan_id}")
    return str(path)
