"""First light fast: store the plan queued before the optimal one.

:func:`plan_first_light` runs before :func:`~tooflow.stages.plan.plan_for_program`
in ``handle-notice``. For a localization that fits inside one field of every
telescope of the program it stores the single-pointing plan, which is final (the
optimiser is skipped). For a sky map it stores the greedy baseline's first
block, submitted at once without cancelling anything
(:func:`~tooflow.stages.submit.submit_plan` reads :data:`FIRST_BLOCK`); the
optimal plan then supersedes it, and its submission cancels only what it no
longer wants and has not started, never sending a key the event has queued.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session

from ..config import Settings
from ..models import Event, Notice
from ..records.event import load_event_moc
from ..records.first_light import Replacement, replacement_in
from .plan import idle_record, program_by_name, store_plan, strategy_for, targets_for

__all__ = ["FirstLight", "Replacement", "listener_plan", "plan_first_light", "replacement"]


@dataclass
class FirstLight:
    """What :func:`plan_first_light` stored.

    Attributes
    ----------
    plan_id : int or None
        The fast plan (None: nothing to queue early, e.g. no telescope has a
        night in the first block, or the event has no map).
    kind : str
        ``single pointing`` (final), ``first block`` (the optimal plan
        follows) or ``none``.
    seconds : float
        Wall time of the fast planning.
    by : str
        ``flow``, or ``listener``: planned and queued by the listener before the
        flow was triggered (:mod:`tooflow.stages.warm_first_light`), reused here.
    queued_after : float or None
        For ``by == "listener"``: seconds from the notice's arrival to its first
        request queued.
    why : str or None
        Why there is no fast plan when a sky map's first block has nothing to
        observe (per telescope; the optimal plan follows).
    """

    plan_id: int | None
    kind: str
    seconds: float = 0.0
    by: str = "flow"
    queued_after: float | None = None
    why: str | None = None

    @property
    def final(self) -> bool:
        """No optimal plan follows (a single pointing)."""
        return self.kind == "single pointing"


def plan_first_light(notice_id: int, program_name: str, *, engine: Engine, settings: Settings,
                     start: dt.datetime | None = None, now: dt.datetime | None = None
                     ) -> FirstLight:
    """Plan and store what to queue at once for a triggered program.

    The window is the one :func:`~tooflow.stages.plan.plan_for_program` uses
    (``start``, default now or the event time if later; the program's
    ``strategy.window_hours``). A single pointing is chosen when the
    localization's 90 % region (a circle of its 90 % area) fits inside one field
    of every telescope of the program that is not already pointed
    (:func:`~tooflow.planning.first_light.fits_one_field`); its plan supersedes
    the program's earlier plans, as an optimal plan does. A first-block plan
    supersedes nothing: the optimal plan that follows does.

    A fast plan the listener already stored and queued for this notice and
    program (:func:`listener_plan`) is returned as it is (``by="listener"``),
    not planned again.
    """
    from ..planning import available_telescopes
    from ..planning.first_light import (
        first_block_plan,
        fits_one_field,
        radius_90,
        single_pointing_plan,
    )

    t0 = time.perf_counter()
    warm = listener_plan(notice_id, program_name, engine=engine)
    if warm is not None:
        return warm
    program = program_by_name(settings, program_name)
    known = set(available_telescopes())
    telescopes = [t for t in program.telescopes if t in known]
    if not telescopes or not settings.planning.first_light:
        return FirstLight(None, "none")
    with Session(engine, expire_on_commit=False) as session:
        notice = session.get(Notice, notice_id)
        event = session.get(Event, notice.event_pk)
        moc, loc = load_event_moc(session, event.id, settings, notice_id)
        if moc is None:
            return FirstLight(None, "none")
        now = now or dt.datetime.now(dt.UTC)
        start = start or max(now, event.time)
        end = start + dt.timedelta(hours=float(program.strategy.get("window_hours", 24)))
        days = float(program.strategy.get("lookahead_days", 14))
        strategies = strategy_for(program, settings)
        radius = radius_90(loc.area_90, loc.error_radius)
        single = loc.ra is not None and loc.dec is not None and all(
            (strategies.get(t) is not None and strategies[t].mode == "pointed")
            or fits_one_field(radius, t) for t in telescopes)
        if single:
            plan = single_pointing_plan(moc, telescopes, start, end, loc.ra, loc.dec,
                                        event.event_id, strategies or None,
                                        lookahead_days=days)
            kind = "single pointing"
        else:
            targets = targets_for(strategies, moc, loc, event.event_id, settings)
            plan = first_block_plan(moc, telescopes, start, strategies or None,
                                    minutes=settings.planning.first_block_minutes,
                                    targets=targets or None, window_end=end)
            if not plan.observations:
                why = "; ".join(f"{t}: {r}" for t, r in sorted(plan.idle.items()))
                return FirstLight(None, "none", time.perf_counter() - t0,
                                  why=why or "nothing to observe in the first block")
            kind = "first block"
        unknown = {t: {"reason": "tooflow has no description of this telescope "
                                 "(tooflow/telescopes/data)"}
                   for t in program.telescopes if t not in known}
        row = store_plan(session, plan, event=event, notice_id=notice_id, loc=loc,
                         program=program.name, idle={**idle_record(plan, days), **unknown},
                         extra_telescopes=list(unknown), supersede=single)
        session.commit()
        return FirstLight(row.id, kind, time.perf_counter() - t0)


def listener_plan(notice_id: int, program_name: str, *, engine: Engine) -> FirstLight | None:
    """The fast plan the listener queued for (notice, program), if it is still the latest.

    Read from ``notice.first_light`` (written by
    :func:`tooflow.stages.warm_first_light.warm_first_light`). None when the
    listener did not plan it, or a later plan of the program for this notice
    exists (a re-run plans afresh).
    """
    from sqlmodel import select

    from ..models import Plan

    with Session(engine) as session:
        notice = session.get(Notice, notice_id)
        record = (notice.first_light or {}) if notice is not None else {}
        plan_id = (record.get("plans") or {}).get(program_name)
        if plan_id is None:
            return None
        later = session.exec(select(Plan.id).where(
            Plan.notice_id == notice_id, Plan.program == program_name,
            Plan.id > plan_id)).first()
        row = session.get(Plan, plan_id)
        if later is not None or row is None:
            return None
        kind = (record.get("kinds") or {}).get(program_name) or (
            "single pointing" if row.solver_status == "SINGLE-POINTING" else "first block")
        sent = (record.get("submitted") or {}).get(program_name)
        queued = sent is None or bool(sum(sent.values()))  # else stored there, left to the flow
        return FirstLight(plan_id, kind, float(record.get("seconds") or 0.0), by="listener",
                          queued_after=record.get("queued_after") if queued else None)


def replacement(first_plan_id: int, optimal_plan_id: int, *, engine: Engine) -> Replacement:
    """Compare the first-block plan's requests with the optimal plan that replaced it."""
    with Session(engine) as session:
        return replacement_in(session, first_plan_id, optimal_plan_id)
