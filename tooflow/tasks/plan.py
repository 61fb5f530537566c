"""Task: plan a triggered program's observations; publish the picture and table."""

from __future__ import annotations

import datetime as dt
import math

from prefect import task
from prefect.artifacts import create_markdown_artifact
from sqlmodel import Session, select

from ..db.retry import database_retries
from ..models import Plan, PlannedObservationRow
from ..runs.budgets import TASK_TIMEOUTS
from ..stages.plan import plan_for_program
from ._context import artifact_key, context

__all__ = ["plan", "plan_markdown"]


def plan_markdown(row: Plan, observations: list[PlannedObservationRow], event_id: str) -> str:
    """A markdown summary and table of a stored plan.

    A plan without exposures says "not observable in the window" and, per
    telescope, why and when it next could observe; a plan with exposures lists
    the telescopes that got nothing and why.
    """
    from ..planning.result import describe_solver, objective_words
    from ..views.summary import idle_telescope_lines, not_observable_text

    lines = [f"### Plan {row.id} for {event_id}: {row.program}", ""]
    if not row.observable:
        head = not_observable_text(row).split(": ", 1)[0]
        lines += [f"**{head[0].upper()}{head[1:]}.**", ""]
        lines += [f"* {line}" for line in idle_telescope_lines(row)]
        if not row.telescopes:
            lines.append("* the program names no telescope")
        if row.png_path:
            lines += ["", _embedded_png(row.png_path), "", f"Picture: `{row.png_path}`"]
        return "\n".join(lines)
    bound = row.upper_bound if row.upper_bound is not None else 0.0
    gap = (f"bound {100 * bound:.1f} %, gap {100 * (row.gap or 0):.2f} %: "
           if math.isfinite(bound) else "")  # no bound: greedy, first block, one pointing
    solver = describe_solver(row.solver_status, row.gap, row.gap_thresholds, row.objective_name)
    lines += [f"Window {row.start:%Y-%m-%d %H:%M} – {row.end:%Y-%m-%d %H:%M} UTC; "
              f"{objective_words(row.objective_name)} **{100 * row.objective:.1f} %** ({gap}"
              f"{solver}; "
              f"{row.solver_status}, solved in {row.solve_time or 0:.1f} s)", ""]
    added = row.per_telescope_added or {}
    busy = [t for t in row.per_telescope if any(o.telescope == t for o in observations)]
    for tel, p in sorted(row.per_telescope.items()):
        n = sum(1 for o in observations if o.telescope == tel)
        if n:
            adds = (f" alone, adds {100 * added[tel]:.1f} % to the network,"
                    if len(busy) > 1 and tel in added else "")
            lines.append(f"* {tel}: {100 * p:.1f} %{adds} in {n} exposures")
    lines += [f"* nothing for {line}" for line in idle_telescope_lines(row)]
    if row.png_path:
        lines += ["", _embedded_png(row.png_path), "", f"Picture: `{row.png_path}`"]
    lines += ["", "| telescope | field/target | RA | Dec | filter | exp (s) | start (UTC) "
              "| prob | visit |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for o in observations[:200]:
        where = o.field_id if o.field_id is not None else o.target
        lines.append(f"| {o.telescope} | {where} | {o.ra:.3f} | {o.dec:+.3f} | {o.filter} | "
                     f"{o.exposure_time:.0f} | {o.start_time:%m-%d %H:%M} | "
                     f"{o.probability:.4f} | {o.visit} |")
    if len(observations) > 200:
        lines.append(f"| … {len(observations) - 200} more | | | | | | | | |")
    return "\n".join(lines)


def _embedded_png(path: str, max_bytes: int = 1 << 20) -> str:
    """The picture inline (a data URI), so the Prefect UI shows it without a file server."""
    import base64
    from pathlib import Path

    data = Path(path).read_bytes()
    if len(data) > max_bytes:
        return ""
    return f"![plan](data:image/png;base64,{base64.b64encode(data).decode()})"


@task(name="plan", timeout_seconds=TASK_TIMEOUTS["plan"],
      task_run_name="plan-{program}")
@database_retries("plan")
def plan(notice_id: int, event_id: str, program: str,
         start: dt.datetime | None = None) -> int | None:
    """Plan ``program`` for the notice's event; returns the plan id (None: nothing to plan)."""
    settings, engine = context()
    plan_id = plan_for_program(notice_id, program, engine=engine, settings=settings,
                               start=start)
    if plan_id is not None:
        with Session(engine) as session:
            row = session.get(Plan, plan_id)
            obs = session.exec(select(PlannedObservationRow)
                               .where(PlannedObservationRow.plan_id == plan_id)
                               .order_by(PlannedObservationRow.start_time)).all()
            create_markdown_artifact(markdown=plan_markdown(row, obs, event_id),
                                     key=artifact_key("plan", event_id, program),
                                     description=f"Observation plan for {event_id}")
    return plan_id
